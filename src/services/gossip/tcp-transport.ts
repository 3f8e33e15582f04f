/**
 * The real P2P transport: TCP, then the secure channel (seed 004: signed handshake, AEAD
 * frames), whose authenticated peer identity is the Gossip peer identity. Each P2P message is
 * one channel message. See transport.ts for where the admission steps of seeds 000/003 go.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { canonicalHost } from '../../admission/endpoint.js';
import { GOSSIP_SERVICE_LIMITS } from '../../protocol/gossip/limits.js';
import {
  type IdentityKey,
  type SecureChannel,
  SecureContext,
  secureAccept,
  secureConnect,
  type TrustPolicy,
} from '../../secure/index.js';
import type { HostPort } from './config.js';
import type { LinkHandlers, P2PLink, P2PTransport } from './transport.js';

export interface TcpSecureOptions {
  readonly key: IdentityKey;
  readonly trust: TrustPolicy;
  /**
   * Addresses peers may have dialled to reach us besides the socket's own local address: the
   * advertised one (`advertise_address`), which differs from it behind a port-forwarding NAT.
   */
  readonly acceptAddresses?: () => readonly HostPort[];
  /**
   * Check the address the responder names for us in its REPLY (seed 004 §4; default true). A
   * peer behind NAT turns it off: NAT rewrites its source address and port, so the check could
   * only fail; the REPLY is still bound to this connection by its signature over our HELLO.
   */
  readonly checkOwnAddress?: boolean;
  readonly onReason?: (code: string) => void;
}

class ChannelLink implements P2PLink {
  private handlers: LinkHandlers | undefined;
  private held: Uint8Array[] = [];
  private ended: boolean | undefined;

  constructor(private readonly channel: SecureChannel) {
    channel.on('data', (frame: Uint8Array) => {
      if (this.handlers === undefined) this.held.push(frame);
      else this.handlers.onMessage(frame);
    });
    channel.on('error', () => this.finish(true));
    channel.on('close', () => this.finish(false));
  }

  get identity(): string {
    return this.channel.peer.identity;
  }

  start(handlers: LinkHandlers): void {
    this.handlers = handlers;
    for (const frame of this.held) handlers.onMessage(frame);
    this.held = [];
    if (this.ended !== undefined) handlers.onClose(this.ended);
  }

  send(frame: Uint8Array): boolean {
    if (this.channel.destroyed || this.channel.writableEnded) return false;
    // A peer that does not read is cut off rather than buffered without bound.
    if (this.channel.writableLength > GOSSIP_SERVICE_LIMITS.maxLinkBufferedBytes) {
      this.channel.destroy();
      return false;
    }
    this.channel.write(frame);
    return true;
  }

  close(): void {
    if (!this.channel.destroyed) this.channel.end();
    setTimeout(() => this.channel.destroy(), GOSSIP_SERVICE_LIMITS.closeGraceMs).unref();
  }

  private finish(failed: boolean): void {
    if (this.ended !== undefined) return;
    this.ended = failed;
    this.handlers?.onClose(failed);
  }
}

export class TcpSecureTransport implements P2PTransport {
  private readonly context: SecureContext;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly options: TcpSecureOptions) {
    this.context = new SecureContext({
      key: options.key,
      trust: options.trust,
    });
  }

  listen(address: HostPort, onLink: (link: P2PLink) => void): Promise<HostPort> {
    const server = createServer((socket) => {
      this.track(socket);
      const extra = this.options.acceptAddresses?.() ?? [];
      const local =
        socket.localAddress === undefined || socket.localPort === undefined
          ? []
          : [{ host: canonicalHost(socket.localAddress), port: socket.localPort }];
      secureAccept(socket, {
        key: this.options.key,
        trust: this.options.trust,
        context: this.context,
        ...(extra.length > 0 ? { acceptAddresses: [...local, ...extra] } : {}),
      }).then(
        (channel) => onLink(new ChannelLink(channel)),
        () => socket.destroy(),
      );
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: address.host, port: address.port }, () => {
        server.off('error', reject);
        const bound = server.address();
        if (bound === null || typeof bound === 'string') {
          reject(new Error('unexpected server address'));
          return;
        }
        resolve({ host: address.host, port: bound.port });
      });
    });
  }

  dial(address: HostPort, signal?: AbortSignal): Promise<P2PLink> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: address.host, port: address.port });
      this.track(socket);
      const fail = (error: Error) => {
        socket.destroy();
        reject(error);
      };
      signal?.addEventListener('abort', () => fail(new Error('dial aborted')), { once: true });
      socket.once('error', fail);
      socket.once('connect', () => {
        socket.off('error', fail);
        socket.on('error', () => socket.destroy());
        secureConnect(socket, {
          key: this.options.key,
          trust: this.options.trust,
          context: this.context,
          remoteAddress: address,
          ...(this.options.checkOwnAddress === false ? { checkAddress: false } : {}),
          ...(signal ? { signal } : {}),
        }).then((channel) => resolve(new ChannelLink(channel)), fail);
      });
    });
  }

  private track(socket: Socket): void {
    // Items are small and latency matters more than packet count (no Nagle delay).
    socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    if (server !== undefined) await new Promise<void>((r) => server.close(() => r()));
  }
}
