/**
 * The real P2P transport: TCP, then seed 000's connection PoW (CONN_INIT / CONN_CHALL /
 * CONN_OK, in the clear, before any expensive work of the listener), then the secure channel
 * (seed 004: signed handshake, AEAD frames), whose authenticated peer identity is the Gossip
 * peer identity. Each P2P message is one channel message. The CONN decisions are
 * src/protocol/gossip/conn.ts; this file reads and writes the bytes and keeps the deadlines.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { BoundedQueue, QueueDifficultyController } from '../../admission/difficulty.js';
import { canonicalHost, type Endpoint } from '../../admission/endpoint.js';
import { capGroupOf } from '../../admission/rate-limit.js';
import { ReplayGuard } from '../../admission/replay.js';
import { ChallengeSealer, KeyRing, readSealedHeader } from '../../admission/sealed.js';
import { MemoryStore } from '../../admission/store.js';
import { solveSha256Bits } from '../../pow/sha256-bits.js';
import { type ConnEndpoints, ConnGate, type ConnLimits, connLimits } from '../../protocol/gossip/conn.js';
import { GOSSIP_SERVICE_LIMITS } from '../../protocol/gossip/limits.js';
import {
  type IdentityKey,
  type SecureChannel,
  SecureContext,
  secureAccept,
  secureConnect,
  type TrustPolicy,
} from '../../secure/index.js';
import { readU16 } from '../../util/bytes.js';
import type { Clock } from '../../util/clock.js';
import { systemClock } from '../../util/clock.js';
import type { ReasonCode } from '../../util/codes.js';
import { observer } from '../../util/observe.js';
import {
  CONN_CHALL,
  CONN_INIT,
  CONN_MAX_BYTES,
  CONN_OK,
  type ConnMessage,
  connPowPrefix,
  decodeConn,
  encodeConn,
} from '../../wire/gossip-conn.js';
import { ConnectionTable } from '../conn-table.js';
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
  /** CONN limits (src/protocol/gossip/conn.ts); defaults from its table. */
  readonly conn?: Partial<ConnLimits>;
  /** Clock of the CONN cookies (issue and expiry times); default the system clock. */
  readonly clock?: Clock;
}

/**
 * A CONN-phase failure: the code says why the connection closed without a channel. It carries
 * no stack: it is a verdict on the peer's bytes, and capturing one was the largest single cost
 * of refusing a bad CONN_INIT (issue 12, item 1).
 */
export class ConnError extends Error {
  readonly code: ReasonCode;
  constructor(code: ReasonCode, detail?: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(detail === undefined ? code : `${code}: ${detail}`);
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.code = code;
  }
}

/**
 * Reads whole CONN messages from a socket before the channel starts. At most CONN_MAX_BYTES
 * are buffered; the sender must wait for each answer (seed 000's exchange is lock-step), so
 * bytes beyond the one message read are a protocol error, never silently dropped or passed on.
 */
/** The socket's reader, for the listeners shared by every connection. */
const READER = Symbol('connReader');
type ReadingSocket = Socket & { [READER]?: ConnReader | undefined };
const EMPTY = Buffer.alloc(0);

/**
 * One 'data' and one 'end'/'close' listener for all connections (no closures per connection:
 * issue 12 item 1, a stranger refused at its first message should cost little more than
 * node:net's own accept and read); `this` is the socket.
 */
function onReaderData(this: ReadingSocket, chunk: Buffer): void {
  this[READER]?.data(chunk);
}
function onReaderEnd(this: ReadingSocket): void {
  this[READER]?.fail(new ConnError('ERR_GOSSIP_CONN_REFUSED', 'closed'));
}

class ConnReader {
  private buf: Buffer = EMPTY;
  private waiter: ((r: { frame?: Uint8Array; error?: ConnError }) => void) | undefined;
  private failed: ConnError | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly socket: ReadingSocket) {
    socket[READER] = this;
    socket.on('data', onReaderData);
    socket.on('end', onReaderEnd);
    socket.on('close', onReaderEnd);
  }

  data(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.buf.length > CONN_MAX_BYTES)
      this.fail(new ConnError('ERR_GOSSIP_CONN_MALFORMED', 'too many bytes'));
    else this.check();
  }

  /** The next whole message; rejects (and stays failed) on a deadline, a close or surplus bytes. */
  next(timeoutMs: number, timeoutCode: ReasonCode = 'ERR_GOSSIP_CONN_TIMEOUT'): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      this.waiter = (r) => {
        clearTimeout(this.timer);
        this.waiter = undefined;
        if (r.frame !== undefined) resolve(r.frame);
        else reject(r.error);
      };
      if (this.failed !== undefined) {
        this.waiter({ error: this.failed });
        return;
      }
      this.timer = setTimeout(() => this.fail(new ConnError(timeoutCode)), timeoutMs);
      this.socket.resume();
      this.check();
    });
  }

  /** Ends the CONN phase: no byte may be pending (the peer waits for our answer before it speaks on). */
  detach(): boolean {
    clearTimeout(this.timer);
    this.socket.pause();
    this.socket.off('data', onReaderData);
    this.socket.off('end', onReaderEnd);
    this.socket.off('close', onReaderEnd);
    if (this.socket[READER] === this) this.socket[READER] = undefined;
    return this.buf.length === 0 && this.socket.readableLength === 0 && this.failed === undefined;
  }

  private check(): void {
    if (this.waiter === undefined || this.buf.length < 4) return;
    const size = readU16(this.buf, 0);
    if (size < 4 || size > CONN_MAX_BYTES) {
      this.fail(new ConnError('ERR_GOSSIP_CONN_MALFORMED', `size ${size}`));
      return;
    }
    if (this.buf.length < size) return;
    if (this.buf.length > size) {
      this.fail(new ConnError('ERR_GOSSIP_CONN_MALFORMED', 'bytes before the answer'));
      return;
    }
    const frame = new Uint8Array(this.buf);
    this.buf = EMPTY;
    // No reads while the answer is being worked out: bytes sent meanwhile wait in the kernel.
    this.socket.pause();
    this.waiter({ frame });
  }

  fail(error: ConnError): void {
    if (this.failed !== undefined) return;
    this.failed = error;
    this.waiter?.({ error });
  }
}

function decoded(frame: Uint8Array, want: ConnMessage['type']): ConnMessage {
  const v = decodeConn(frame);
  if (!v.ok) throw new ConnError(v.code, v.detail);
  if (v.value.type !== want) throw new ConnError('ERR_GOSSIP_CONN_MALFORMED', `type ${v.value.type}`);
  return v.value;
}

/** The dialler's endpoint: enough for the unpaid caps at accept. */
function clientOf(socket: Socket): Endpoint | undefined {
  if (socket.remoteAddress === undefined || socket.remotePort === undefined) return undefined;
  return { host: canonicalHost(socket.remoteAddress), port: socket.remotePort };
}

/**
 * Both endpoints, for the cookie. The local address is a system call (getsockname) asked of the
 * kernel only once a well-formed challenge request is in: a stranger refused at its first
 * message never needs it.
 */
function endpointsOf(socket: Socket, client: Endpoint): ConnEndpoints | undefined {
  if (socket.localAddress === undefined || socket.localPort === undefined) return undefined;
  return { client, server: { host: canonicalHost(socket.localAddress), port: socket.localPort } };
}

class ChannelLink implements P2PLink {
  private handlers: LinkHandlers | undefined;
  private held: Uint8Array[] = [];
  private ended: boolean | undefined;

  constructor(
    private readonly channel: SecureChannel,
    readonly remote?: HostPort,
  ) {
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
  readonly conn: ConnLimits;
  private readonly gate: ConnGate;
  private readonly replayStore: MemoryStore;
  private readonly controller: QueueDifficultyController;
  /**
   * Unpaid connections by address group (DESIGN's admission pipeline, step 2): capped per group,
   * and at the global cap the heaviest group gives way, never the newcomer.
   */
  private readonly unpaidTable = new ConnectionTable<Socket>();
  private readonly obs = observer('gossip');
  /** CONN-phase refusals by code (both sides), for tests and the operator. */
  readonly connReasons = new Map<string, number>();

  constructor(private readonly options: TcpSecureOptions) {
    this.context = new SecureContext({
      key: options.key,
      trust: options.trust,
    });
    this.conn = connLimits.resolve(options.conn ?? {}, { prefix: 'conn' });
    const clock = options.clock ?? systemClock;
    // A key of our own, never shared: only this process opens its cookies.
    const sealer = new ChallengeSealer(new KeyRing({ clock }), {
      clock,
      defaultTtlMs: this.conn.connChallengeTtlMs,
    });
    this.replayStore = new MemoryStore({ clock });
    this.controller = new QueueDifficultyController({
      queueSize: this.conn.connQueueSize,
      maxDifficulty: this.conn.connMaxDifficulty,
    });
    this.gate = new ConnGate({
      sealer,
      guard: new ReplayGuard(this.replayStore, 'gossip-conn:'),
      controller: this.controller,
      queue: new BoundedQueue(this.conn.connQueueSize),
      limits: this.conn,
    });
  }

  /** The CONN difficulty a challenge request gets now (seed 003's external difficulty). */
  get connDifficulty(): number {
    return this.gate.difficulty;
  }

  /** Connections accepted that have not paid yet. */
  get unpaidConnections(): number {
    return this.unpaidTable.size;
  }

  private refused(code: ReasonCode, detail?: string): void {
    this.connReasons.set(code, (this.connReasons.get(code) ?? 0) + 1);
    this.options.onReason?.(code);
    this.obs.reject(code, detail === undefined ? {} : { detail });
  }

  /**
   * The listener's CONN phase. Until the solution is accepted the connection holds a socket,
   * a deadline and nothing else: the cookie carries the challenge state (seed 000).
   */
  private async admit(socket: Socket): Promise<boolean> {
    const client = clientOf(socket);
    if (client === undefined) {
      this.refused('ERR_GOSSIP_CONN_BUSY', 'no address');
      socket.destroy();
      return false;
    }
    const group = capGroupOf(client.host);
    if (this.unpaidTable.countOf(group) >= this.conn.maxUnpaidConnsPerAddress) {
      this.refused('ERR_GOSSIP_CONN_BUSY', 'unpaid connections from this address');
      socket.destroy();
      return false;
    }
    if (this.unpaidTable.size >= this.conn.maxUnpaidConns) {
      const heaviest = this.unpaidTable.heaviest();
      const victim = heaviest?.items.values().next().value;
      if (
        heaviest === undefined ||
        victim === undefined ||
        heaviest.items.size <= this.unpaidTable.countOf(group) + 1
      ) {
        this.refused('ERR_GOSSIP_CONN_BUSY', 'unpaid connections');
        socket.destroy();
        return false;
      }
      // The victim's own admit() sees the close, fails its wait and leaves the table.
      this.unpaidTable.delete(heaviest.group, victim);
      this.refused('ERR_GOSSIP_CONN_BUSY', 'evicted: its address group holds the most unpaid connections');
      victim.destroy();
    }
    this.unpaidTable.add(group, socket);
    const reader = new ConnReader(socket);
    try {
      // 1. The challenge request, within the first-message deadline.
      const init = decoded(await reader.next(this.conn.connInitTimeoutMs), CONN_INIT);
      if (init.type !== CONN_INIT || !init.challReq) {
        // A solution cannot come first: its cookie would name another connection.
        throw new ConnError('ERR_GOSSIP_CONN_MALFORMED', 'a solution before any CONN_CHALL');
      }
      const at = endpointsOf(socket, client);
      if (at === undefined) throw new ConnError('ERR_GOSSIP_CONN_BUSY', 'no address');
      // Items are small and latency matters more than packet count (no Nagle delay); set once
      // the dialler has sent a well-formed request, not for a stranger refused at its first.
      socket.setNoDelay(true);
      const chall = this.gate.request(at);
      if (chall.kind !== 'challenge' || socket.destroyed) return false;
      socket.write(chall.reply);
      // 2. The solution, before the cookie expires (a second request is malformed).
      const solution = decoded(await reader.next(this.conn.connChallengeTtlMs), CONN_INIT);
      if (solution.type !== CONN_INIT || solution.challReq) {
        throw new ConnError('ERR_GOSSIP_CONN_MALFORMED', 'a second challenge request');
      }
      const decision = await this.gate.solve(solution, at);
      if (decision.kind === 'refuse') throw new ConnError(decision.code as ReasonCode, decision.detail);
      if (decision.kind !== 'admit') throw new ConnError('ERR_GOSSIP_CONN_MALFORMED');
      if (!reader.detach() || socket.destroyed) {
        this.gate.done();
        throw new ConnError('ERR_GOSSIP_CONN_MALFORMED', 'bytes before CONN_OK');
      }
      socket.write(decision.reply);
      return true;
    } catch (error) {
      reader.detach();
      if (error instanceof ConnError) {
        // A dialler that just went away is not a refusal worth counting.
        if (error.code !== 'ERR_GOSSIP_CONN_REFUSED') this.refused(error.code, error.message);
      } else {
        this.refused('ERR_GOSSIP_CONN_MALFORMED', String(error));
      }
      socket.destroy();
      return false;
    } finally {
      this.unpaidTable.delete(group, socket);
    }
  }

  /**
   * The dialler's CONN phase: ask, solve in the core's worker pool (difficulty 0 needs no
   * search: any nonce meets it), answer, and wait for CONN_OK. A listener that names more than
   * `connMaxSolveBits` is not obeyed. Public for callers that open the socket themselves (from
   * a chosen source address, as the attack lab's clients do); `dial` uses it too.
   */
  async pay(socket: Socket, signal?: AbortSignal): Promise<void> {
    const reader = new ConnReader(socket);
    try {
      socket.write(encodeConn({ type: CONN_INIT, challReq: true }));
      const chall = decoded(await reader.next(this.conn.connOkTimeoutMs), CONN_CHALL);
      if (chall.type !== CONN_CHALL) throw new ConnError('ERR_GOSSIP_CONN_MALFORMED');
      const header = readSealedHeader(chall.cookie);
      if (!header.ok) throw new ConnError('ERR_GOSSIP_CONN_MALFORMED', 'cookie');
      const bits = header.value.difficulty;
      if (bits > this.conn.connMaxSolveBits) throw new ConnError('ERR_GOSSIP_CONN_TOO_HARD', `${bits} bits`);
      const nonce =
        bits === 0
          ? 0n
          : (
              await solveSha256Bits(
                { challenge: connPowPrefix(header.value.challenge), difficulty: bits },
                signal === undefined ? {} : { signal },
              )
            ).nonce;
      socket.write(encodeConn({ type: CONN_INIT, challReq: false, nonce, cookie: chall.cookie }));
      decoded(await reader.next(this.conn.connOkTimeoutMs), CONN_OK);
      if (!reader.detach()) throw new ConnError('ERR_GOSSIP_CONN_MALFORMED', 'bytes after CONN_OK');
    } catch (error) {
      reader.detach();
      if (error instanceof ConnError) this.refused(error.code, error.message);
      throw error;
    }
  }

  listen(address: HostPort, onLink: (link: P2PLink) => void): Promise<HostPort> {
    const server = createServer((socket) => {
      this.track(socket, false);
      // Nothing is read until the CONN phase asks for it.
      socket.pause();
      this.admit(socket).then((ok) => {
        if (!ok) return;
        const extra = this.options.acceptAddresses?.() ?? [];
        const local =
          socket.localAddress === undefined || socket.localPort === undefined
            ? []
            : [{ host: canonicalHost(socket.localAddress), port: socket.localPort }];
        secureAccept(socket, {
          context: this.context,
          ...(extra.length > 0 ? { acceptAddresses: [...local, ...extra] } : {}),
        })
          .then(
            (channel) =>
              onLink(
                new ChannelLink(
                  channel,
                  socket.remoteAddress === undefined || socket.remotePort === undefined
                    ? undefined
                    : { host: canonicalHost(socket.remoteAddress), port: socket.remotePort },
                ),
              ),
            () => socket.destroy(),
          )
          .finally(() => this.gate.done());
        // The CONN phase paused the socket; the handshake's listener is attached now.
        socket.resume();
      });
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
      // The signal bounds the dial only. Its listener must go once the dial is settled: left
      // in place, the node's dial timeout (10 s) destroyed every link it had dialled 10 s
      // after it was made, whenever the timer outlived the dial (issue 10 item 4: links that
      // dropped "for 0.1 to 1.8 s about every 10 s").
      const onAbort = () => fail(new Error('dial aborted'));
      const fail = (error: Error) => {
        signal?.removeEventListener('abort', onAbort);
        socket.destroy();
        reject(error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('error', fail);
      socket.once('connect', () => {
        socket.off('error', fail);
        socket.on('error', () => socket.destroy());
        this.pay(socket, signal).then(
          () =>
            this.handshake(socket, address, signal).then((channel) => {
              signal?.removeEventListener('abort', onAbort);
              resolve(new ChannelLink(channel, address));
            }, fail),
          fail,
        );
      });
    });
  }

  private handshake(socket: Socket, address: HostPort, signal?: AbortSignal): Promise<SecureChannel> {
    return secureConnect(socket, {
      context: this.context,
      remoteAddress: address,
      ...(this.options.checkOwnAddress === false ? { checkAddress: false } : {}),
      ...(signal ? { signal } : {}),
    });
  }

  private track(socket: Socket, noDelay = true): void {
    // Items are small and latency matters more than packet count (no Nagle delay); the
    // listener sets it in admit(), once a well-formed CONN_INIT is in.
    if (noDelay) socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    if (server !== undefined) await new Promise<void>((r) => server.close(() => r()));
    await this.replayStore.close();
  }
}
