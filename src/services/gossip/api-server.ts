/**
 * The Gossip API server: TCP on `api_address`, framing by `size` over any chunking
 * (spec "API framing"). Malformed input closes only that connection, with its reason code
 * counted. Decoded requests go to the node's queue; VALIDATIONs jump it (seed 002).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { GOSSIP_SERVICE_LIMITS } from '../../protocol/gossip/limits.js';
import { type ApiRequest, decodeApi, SizeFramer } from '../../wire/gossip-api.js';
import type { HostPort } from './config.js';

export interface ApiSink {
  open(conn: number): void;
  message(conn: number, msg: ApiRequest): void;
  close(conn: number): void;
  count(code: string): void;
}

export class ApiServer {
  private readonly server: Server;
  private readonly sockets = new Map<number, Socket>();
  private nextId = 1;

  constructor(private readonly sink: ApiSink) {
    this.server = createServer((socket) => this.accept(socket));
  }

  listen(address: HostPort): Promise<HostPort> {
    return new Promise((resolvePromise, rejectPromise) => {
      this.server.once('error', rejectPromise);
      this.server.listen({ host: address.host, port: address.port }, () => {
        this.server.off('error', rejectPromise);
        const bound = this.server.address();
        if (bound === null || typeof bound === 'string') throw new Error('unexpected server address');
        resolvePromise({ host: address.host, port: bound.port });
      });
    });
  }

  private accept(socket: Socket): void {
    if (this.sockets.size >= GOSSIP_SERVICE_LIMITS.maxApiConnections) {
      this.sink.count('ERR_GOSSIP_API_TOO_MANY');
      socket.destroy();
      return;
    }
    const id = this.nextId++;
    this.sockets.set(id, socket);
    socket.setNoDelay(true);
    const framer = new SizeFramer();
    this.sink.open(id);
    socket.on('data', (chunk: Buffer) => {
      const frames = framer.push(chunk);
      if (!frames.ok) {
        this.reject(id, frames.code);
        return;
      }
      for (const frame of frames.value) {
        const verdict = decodeApi(frame, 'gossip');
        if (!verdict.ok) {
          // Spec: "Anything malformed ... closes that API connection. Nothing else is affected."
          this.reject(id, verdict.code);
          return;
        }
        this.sink.message(id, verdict.value as ApiRequest);
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      if (this.sockets.delete(id)) this.sink.close(id);
    });
  }

  private reject(id: number, code: string): void {
    this.sink.count(code);
    this.sockets.get(id)?.destroy();
  }

  /**
   * Writes one frame: 'sent'; 'gone' when the connection had closed (the frame is dropped);
   * 'slow' when the module left too much unread and its connection was closed for it.
   */
  send(conn: number, frame: Uint8Array): 'sent' | 'gone' | 'slow' {
    const socket = this.sockets.get(conn);
    if (socket === undefined || socket.destroyed) return 'gone';
    this.corkUntilTick(socket);
    socket.write(frame);
    // A module that does not read its notifications is cut off rather than buffered forever.
    if (socket.writableLength > GOSSIP_SERVICE_LIMITS.maxApiBufferedBytes) {
      this.reject(conn, 'ERR_GOSSIP_API_SLOW');
      return 'slow';
    }
    return 'sent';
  }

  /**
   * NOTIFICATIONs written in one tick (a drained batch of the node) leave in one socket write,
   * not one system call each (issue 12 item 5: a syscall per item bounded the rate).
   */
  private corkUntilTick(socket: Socket): void {
    if (this.corked.has(socket)) return;
    socket.cork();
    this.corked.add(socket);
    if (this.corked.size === 1) process.nextTick(this.uncorkAll);
  }

  private readonly corked = new Set<Socket>();
  private readonly uncorkAll = (): void => {
    for (const socket of this.corked) socket.uncork();
    this.corked.clear();
  };

  closeConn(conn: number, code: string): void {
    this.reject(conn, code);
  }

  get connections(): number {
    return this.sockets.size;
  }

  close(): Promise<void> {
    for (const socket of this.sockets.values()) socket.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}
