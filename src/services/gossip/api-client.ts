/** How long `connect` waits for the API server by default. */
export const CONNECT_TIMEOUT_MS = 5_000;

/**
 * A client of the Gossip API, as a local module would be one: used by `tollgate gossip-client`,
 * the tests, the demo and the benchmark.
 */
import { connect, type Socket } from 'node:net';
import { TollgateError } from '../../util/errors.js';
import {
  decodeApi,
  encodeApi,
  GOSSIP_ANNOUNCE,
  GOSSIP_NOTIFY,
  GOSSIP_VALIDATION,
  type Notification,
  SizeFramer,
} from '../../wire/gossip-api.js';
import type { HostPort } from './config.js';

export class GossipApiClient {
  private readonly framer = new SizeFramer();
  private listeners: ((n: Notification) => void)[] = [];
  /** Set when the server closed the connection or sent something we could not read. */
  closedReason: string | undefined;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      const frames = this.framer.push(chunk);
      if (!frames.ok) {
        this.closedReason = frames.code;
        socket.destroy();
        return;
      }
      for (const frame of frames.value) {
        const verdict = decodeApi(frame, 'module');
        if (!verdict.ok || verdict.value.type !== 502) {
          this.closedReason = verdict.ok ? 'unexpected message' : verdict.code;
          socket.destroy();
          return;
        }
        for (const l of this.listeners) l(verdict.value);
      }
    });
    socket.on('error', (error) => {
      this.closedReason ??= error.message;
    });
  }

  static connect(address: HostPort, timeoutMs = CONNECT_TIMEOUT_MS): Promise<GossipApiClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: address.host, port: address.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new TollgateError('ERR_GOSSIP_CLIENT', `no connection to ${address.host}:${address.port}`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new GossipApiClient(socket));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(
          new TollgateError(
            'ERR_GOSSIP_CLIENT',
            `cannot reach ${address.host}:${address.port}: ${error.message}`,
          ),
        );
      });
    });
  }

  onNotification(listener: (n: Notification) => void): void {
    this.listeners.push(listener);
  }

  notify(dataType: number): void {
    this.send(encodeApi({ type: GOSSIP_NOTIFY, dataType }));
  }

  announce(dataType: number, data: Uint8Array, ttl = 0): void {
    this.send(encodeApi({ type: GOSSIP_ANNOUNCE, ttl, dataType, data }));
  }

  validate(messageId: number, valid: boolean): void {
    this.send(encodeApi({ type: GOSSIP_VALIDATION, messageId, valid }));
  }

  /** Messages written in one tick leave in one socket write (a VALIDATION per item adds up). */
  private send(bytes: Uint8Array): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(bytes);
  }

  private corked = false;

  /** Sends raw bytes (tests of malformed input). */
  raw(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve) => this.socket.write(bytes, () => resolve()));
  }

  close(): Promise<void> {
    this.socket.end();
    return this.closed;
  }
}
