/**
 * An in-process P2P transport: a hub of named listeners, links as pairs of queues with a
 * latency, optional drop rules. Each side has a fixed identity. For tests of the node and its
 * API server without sockets, and for the demo's fallback.
 */
import type { HostPort } from './config.js';
import type { LinkHandlers, P2PLink, P2PTransport } from './transport.js';

export class MemoryHub {
  readonly listeners = new Map<string, { identity: string; onLink: (link: P2PLink) => void }>();
  constructor(
    readonly latencyMs = 1,
    readonly drop: (from: string, to: string, frame: Uint8Array) => boolean = () => false,
  ) {}

  transport(identity: string): P2PTransport {
    return new MemoryTransport(this, identity);
  }
}

const key = (a: HostPort) => `${a.host}:${a.port}`;
let nextPort = 40_000;

class MemoryLink implements P2PLink {
  other: MemoryLink | undefined;
  private handlers: LinkHandlers | undefined;
  private held: Uint8Array[] = [];
  private closed = false;

  remote: HostPort | undefined;

  constructor(
    private readonly hub: MemoryHub,
    readonly identity: string,
    private readonly self: string,
  ) {}

  start(handlers: LinkHandlers): void {
    this.handlers = handlers;
    for (const frame of this.held) handlers.onMessage(frame);
    this.held = [];
    if (this.closed) handlers.onClose(false);
  }

  send(frame: Uint8Array): boolean {
    const other = this.other;
    if (this.closed || other === undefined || other.closed) return false;
    if (this.hub.drop(this.self, this.identity, frame)) return true;
    const copy = frame.slice();
    setTimeout(() => other.receive(copy), this.hub.latencyMs).unref();
    return true;
  }

  private receive(frame: Uint8Array): void {
    if (this.closed) return;
    if (this.handlers === undefined) this.held.push(frame);
    else this.handlers.onMessage(frame);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const other = this.other;
    if (other !== undefined) setTimeout(() => other.remoteClosed(), this.hub.latencyMs).unref();
  }

  private remoteClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers?.onClose(false);
  }
}

class MemoryTransport implements P2PTransport {
  private bound: string | undefined;

  constructor(
    private readonly hub: MemoryHub,
    private readonly identity: string,
  ) {}

  async listen(address: HostPort, onLink: (link: P2PLink) => void): Promise<HostPort> {
    const actual = address.port === 0 ? { host: address.host, port: nextPort++ } : address;
    if (this.hub.listeners.has(key(actual))) throw new Error(`address in use: ${key(actual)}`);
    this.bound = key(actual);
    this.hub.listeners.set(this.bound, { identity: this.identity, onLink });
    return actual;
  }

  async dial(address: HostPort): Promise<P2PLink> {
    const target = this.hub.listeners.get(key(address));
    if (target === undefined) throw new Error(`connection refused: ${key(address)}`);
    await new Promise((r) => setTimeout(r, 2 * this.hub.latencyMs).unref());
    const mine = new MemoryLink(this.hub, target.identity, this.identity);
    const theirs = new MemoryLink(this.hub, this.identity, target.identity);
    mine.other = theirs;
    theirs.other = mine;
    mine.remote = address;
    // The listener sees the dialler's host (its listen host) from an ephemeral port.
    const from = this.bound?.slice(0, this.bound.lastIndexOf(':'));
    if (from !== undefined) theirs.remote = { host: from, port: nextPort++ };
    target.onLink(theirs);
    return mine;
  }

  async close(): Promise<void> {
    if (this.bound !== undefined) this.hub.listeners.delete(this.bound);
  }
}
