/**
 * The sky node's IO shell: a TCP server whose connections run protocol/sky/connection.ts.
 * Sockets, timers, the stores, the sealer and the clock live here; every decision about a
 * peer's bytes is made by the pure code it calls.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { canonicalHost } from '../../admission/endpoint.js';
import {
  admitSolved,
  arrive,
  ChallengeSealer,
  type Endpoint,
  identityOf,
  KeyRing,
  LeakyQueue,
  MemoryStore,
  QueueDifficultyController,
  ReplayGuard,
  type Store,
} from '../../admission/index.js';
import { StoreFullError } from '../../admission/store.js';
import { verifySha256Bits } from '../../pow/sha256-bits.js';
import {
  type ConnEffect,
  type ConnEvent,
  type ConnState,
  decide,
  initialConn,
  spend,
  stepConn,
} from '../../protocol/sky/connection.js';
import { checkLease, identityOfRaw, type LeaseRecord } from '../../protocol/sky/lease.js';
import { SKY_LIMITS, type SkyLimits } from '../../protocol/sky/limits.js';
import { type Clock, systemClock } from '../../util/clock.js';
import { type EventName, isReasonCode } from '../../util/codes.js';
import { observer } from '../../util/observe.js';
import {
  decodeSky,
  encodeChallenge,
  encodeFound,
  encodeLeased,
  encodePunchAt,
  encodeRefused,
  encodeSolved,
  isRefusalCode,
  type LeaseMsg,
  type LookupMsg,
  type RefusalCode,
  type SkyMessage,
  SkySplitter,
  SkyType,
  SOLVE_REQ_ID,
  type SolveMsg,
} from '../../wire/sky.js';
import { destroyLater } from '../socket.js';
import { type LeaseStore, MemoryLeaseStore } from './lease-store.js';

export interface SkyNodeOptions {
  readonly limits?: Partial<SkyLimits>;
  /** Buckets and redeemed challenges (memory by default; a RedisStore to share them). */
  readonly store?: Store;
  /** Leases (memory by default; a RedisLeaseStore to share them). */
  readonly leases?: LeaseStore;
  readonly clock?: Clock;
  /** Shared secret of the challenge keys, so that sky nodes sharing a store open each other's. */
  readonly secret?: Uint8Array;
  /**
   * The address clients dial, sealed into challenges as the server's endpoint. Sky nodes
   * behind one name (a load balancer) set the same one, so that a challenge one issued is
   * the same challenge at the others, and the shared replay guard refuses it there once
   * redeemed; default: the address each connection arrived at.
   */
  readonly publicAddress?: Endpoint;
  /**
   * false: no PoW fallback, a request beyond its address group's bucket is refused
   * (`ERR_RATE_LIMITED`). Only for comparisons (the attack lab's "no PoW" mode): behind a
   * shared address, honest clients then share the flooder's bucket. Default true.
   */
  readonly pow?: boolean;
  /** Called for each counted event (metrics and logs at the edge). */
  readonly onEvent?: (event: string, reason?: string) => void;
}

/** Where a socket's connection is kept, so that every socket shares the node's listeners. */
const kConn = Symbol('skyConn');
type ConnSocket = Socket & { [kConn]?: Conn };

/**
 * One connection. The endpoints in canonical form and the message splitter are made when
 * first needed (a challenge, a lease, a punch; the first byte): a stranger refused at its
 * first look-up costs this object, the state and one timer (issue 12 item 1).
 */
class Conn {
  state: ConnState;
  #splitter: SkySplitter | undefined;
  queue: SkyMessage[] = [];
  busy = false;
  timer: NodeJS.Timeout | undefined = undefined;
  timerAt = Number.POSITIVE_INFINITY;
  lease: LeaseRecord | undefined = undefined;
  closed = false;
  /** Answers written; the second turns TCP_NODELAY on (see #send). */
  writes = 0;
  #client: Endpoint | undefined;
  #server: Endpoint | undefined;

  constructor(
    readonly socket: ConnSocket,
    readonly group: string,
    readonly openedAt: number,
    readonly ip: string,
    readonly port: number,
    server: Endpoint | undefined,
  ) {
    this.state = initialConn(openedAt);
    this.#server = server;
  }

  get splitter(): SkySplitter {
    this.#splitter ??= new SkySplitter();
    return this.#splitter;
  }

  get client(): Endpoint {
    this.#client ??= { host: canonicalHost(this.ip), port: this.port };
    return this.#client;
  }

  /** The address this connection arrived at (or the node's public one). */
  get server(): Endpoint {
    if (this.#server === undefined) {
      const host = this.socket.localAddress;
      const port = this.socket.localPort;
      // Asked while the connection is open (a request on it is being answered), so the
      // kernel knows it; a socket already gone binds its challenge to no address.
      if (host === undefined || port === undefined) return { host: '0.0.0.0', port: 0 };
      this.#server = { host: canonicalHost(host), port };
    }
    return this.#server;
  }
}

function ignore(): void {}

const CLOSE_GRACE_MS = 1_000;

const obs = observer('sky');

/** The node's own event names, as published on the one channel (util/observe.ts). */
const PUBLISHED: Record<string, EventName<'sky'>> = {
  connections: 'connections',
  leased: 'leased',
  lookup: 'lookups',
  challenged: 'challenged',
  solved: 'solved',
  paid: 'paid',
  punch: 'punches',
  leases_evicted: 'leases_evicted',
  store_failed: 'store_failed',
};
const SWEEP_MS = 5_000;

/** A sky node: leases, look-ups and hole-punch coordination behind the admission pipeline. */
export class SkyNode {
  readonly limits: SkyLimits;
  readonly counts = new Map<string, number>();
  readonly controller: QueueDifficultyController;
  readonly #queue: LeakyQueue;
  readonly #store: Store;
  readonly #ownStore: boolean;
  readonly leases: LeaseStore;
  readonly #clock: Clock;
  readonly #sealer: ChallengeSealer;
  readonly #guard: ReplayGuard;
  readonly #onEvent: ((event: string, reason?: string) => void) | undefined;
  readonly #publicAddress: Endpoint | undefined;
  readonly #pow: boolean;
  readonly #conns = new Set<Conn>();
  readonly #groupConns = new Map<string, Set<Conn>>();
  readonly #byIdentity = new Map<string, Conn>();
  readonly #server: Server;
  /** The listeners every socket shares (`this` is the socket); no closures per connection. */
  readonly #onData: (this: ConnSocket, chunk: Buffer) => void;
  readonly #onEnd: (this: ConnSocket) => void;
  readonly #onClose: (this: ConnSocket) => void;
  #sweeper: NodeJS.Timeout | undefined;
  #unsample: (() => void)[] = [];
  readonly #takeSync:
    | ((
        key: string,
        cost: number,
        rate: number,
        burst: number,
        now: number,
      ) => { allowed: boolean; retryAfterMs: number })
    | undefined;

  constructor(options: SkyNodeOptions = {}) {
    this.limits = SKY_LIMITS.resolve(options.limits ?? {}, { prefix: 'limits' });
    this.#clock = options.clock ?? systemClock;
    this.#ownStore = options.store === undefined;
    this.#store = options.store ?? new MemoryStore({ clock: this.#clock });
    const sync = (this.#store as Partial<MemoryStore>).takeTokensSync;
    this.#takeSync = typeof sync === 'function' ? sync.bind(this.#store) : undefined;
    this.leases = options.leases ?? new MemoryLeaseStore(this.limits);
    this.leases.onEvict = (identity) => {
      this.count('leases_evicted');
      // Its holder can no longer be punched to through this node.
      const holder = this.#byIdentity.get(identity);
      if (holder !== undefined) {
        this.#byIdentity.delete(identity);
        holder.lease = undefined;
      }
    };
    this.controller = new QueueDifficultyController({
      queueSize: this.limits.queueSize,
      maxDifficulty: this.limits.maxDifficulty,
    });
    this.#queue = new LeakyQueue({
      size: this.limits.queueSize,
      serviceRatePerSec: this.limits.capacityPerSec,
      clock: this.#clock,
    });
    const ring = new KeyRing({ clock: this.#clock, ...(options.secret ? { secret: options.secret } : {}) });
    this.#sealer = new ChallengeSealer(ring, {
      clock: this.#clock,
      defaultTtlMs: this.limits.challengeTtlMs,
    });
    this.#guard = new ReplayGuard(this.#store, 'sky-replay:');
    this.#onEvent = options.onEvent;
    this.#pow = options.pow ?? true;
    this.#publicAddress =
      options.publicAddress === undefined
        ? undefined
        : { host: canonicalHost(options.publicAddress.host), port: options.publicAddress.port };
    const node = this;
    this.#onData = function (chunk) {
      const conn = this[kConn];
      if (conn !== undefined) node.#read(conn, chunk);
    };
    this.#onEnd = function () {
      const conn = this[kConn];
      if (conn !== undefined) node.#step(conn, { type: 'end' });
    };
    this.#onClose = function () {
      const conn = this[kConn];
      if (conn !== undefined) node.#forget(conn);
    };
    // No TCP_NODELAY at accept: a connection's first answer leaves at once under Nagle's
    // algorithm too (nothing of ours is unacknowledged yet), so only a connection that gets a
    // second answer pays the system call (#send).
    this.#server = createServer((socket) => this.#accept(socket));
    this.#server.on('error', () => {});
  }

  count(event: string, reason?: string): void {
    const k = reason === undefined ? event : `${event}:${reason}`;
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    this.#onEvent?.(event, reason);
    // Every refusal, whatever step made it, is one `rejections{reason}`; the rest by name.
    if (reason !== undefined && isReasonCode(reason)) obs.reject(reason);
    else {
      const name = PUBLISHED[event];
      if (name !== undefined) obs.count(name);
    }
  }

  get connections(): number {
    return this.#conns.size;
  }

  /** Listens; resolves with the bound address. */
  listen(port: number, host: string): Promise<Endpoint> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        const a = this.#server.address() as { address: string; port: number };
        this.#sweeper = setInterval(() => this.leases.sweep(this.#clock.now()), SWEEP_MS);
        this.#sweeper.unref();
        this.#unsample = [
          obs.sample('open_connections', () => this.#conns.size),
          obs.sample('leases', () => this.leases.size ?? 0),
          obs.sample('difficulty', () => this.controller.internal),
        ];
        resolve({ host: canonicalHost(a.address), port: a.port });
      });
    });
  }

  async close(): Promise<void> {
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    for (const stop of this.#unsample) stop();
    this.#unsample = [];
    for (const c of this.#conns) c.socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await this.leases.close();
    if (this.#ownStore) await this.#store.close();
  }

  // --- connections ---------------------------------------------------------------------

  #accept(socket: ConnSocket): void {
    socket.on('error', ignore);
    const ip = socket.remoteAddress;
    const port = socket.remotePort;
    // The local address is asked of the kernel (getsockname) only when a challenge needs it.
    if (ip === undefined || port === undefined) {
      socket.destroy();
      return;
    }
    const group = identityOf(ip);
    const mates = this.#groupConns.get(group);
    if (mates !== undefined && mates.size >= this.limits.maxConnectionsPerGroup) {
      // The cheapest refusal: no timer, no state, before the first byte is read.
      this.count('refused', 'ERR_SKY_TOO_MANY_CONNECTIONS');
      socket.destroy();
      return;
    }
    if (this.#conns.size >= this.limits.maxConnections) this.#evictHeaviest();
    const conn = new Conn(socket, group, this.#clock.now(), ip, port, this.#publicAddress);
    this.#conns.add(conn);
    if (mates === undefined) this.#groupConns.set(group, new Set([conn]));
    else mates.add(conn);
    this.count('connections');
    socket[kConn] = conn;
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onClose);
    this.#step(conn, { type: 'timer' });
  }

  /** At the global cap: the group holding most connections loses its oldest (DESIGN, step 2). */
  #evictHeaviest(): void {
    let heaviest: Set<Conn> | undefined;
    for (const set of this.#groupConns.values())
      if (heaviest === undefined || set.size > heaviest.size) heaviest = set;
    const victim = heaviest?.values().next().value as Conn | undefined;
    if (victim === undefined) return;
    this.count('refused', 'ERR_SKY_EVICTED');
    victim.socket.destroy();
    this.#forget(victim);
  }

  #forget(conn: Conn): void {
    if (conn.closed) return;
    conn.closed = true;
    if (conn.timer !== undefined) clearTimeout(conn.timer);
    this.#conns.delete(conn);
    const set = this.#groupConns.get(conn.group);
    set?.delete(conn);
    if (set?.size === 0) this.#groupConns.delete(conn.group);
    if (conn.lease !== undefined && this.#byIdentity.get(conn.lease.identity) === conn) {
      this.#byIdentity.delete(conn.lease.identity);
    }
    conn.queue.length = 0;
  }

  #read(conn: Conn, chunk: Buffer): void {
    const messages: SkyMessage[] = [];
    let malformed = false;
    const ok = conn.splitter.push(chunk, (bytes) => {
      if (malformed) return;
      const d = decodeSky(bytes);
      if (d.ok) messages.push(d.value);
      else malformed = true;
    });
    this.#step(conn, {
      type: 'read',
      messages,
      partial: conn.splitter.pending > 0,
      malformed: malformed || !ok,
    });
  }

  #step(conn: Conn, event: ConnEvent): void {
    if (conn.closed) return;
    const now = this.#clock.now();
    const r = stepConn(conn.state, event, now, this.limits);
    conn.state = r.state;
    for (const e of r.effects) this.#effect(conn, e, now);
  }

  #effect(conn: Conn, e: ConnEffect, now: number): void {
    switch (e.type) {
      case 'serve':
        conn.queue.push(e.message);
        this.#pump(conn);
        return;
      case 'rejected':
        this.count('rejected', e.code);
        return;
      case 'close': {
        const s = conn.socket;
        this.#forget(conn);
        // The peer has closed its side and the kernel has taken every answer: nothing can
        // arrive or is left to flush, so the socket goes now, without a grace timer (the
        // kernel still delivers what it holds, then its FIN).
        if (s.readableEnded && s.writableLength === 0) {
          s.destroy();
          return;
        }
        s.end();
        destroyLater(s, CLOSE_GRACE_MS);
        return;
      }
      case 'deadline': {
        // One timer per connection, moved only earlier; a late firing re-steps and re-arms.
        if (e.at >= conn.timerAt && conn.timer !== undefined) return;
        if (conn.timer !== undefined) clearTimeout(conn.timer);
        conn.timerAt = e.at;
        conn.timer = setTimeout(
          () => {
            conn.timer = undefined;
            conn.timerAt = Number.POSITIVE_INFINITY;
            this.#step(conn, { type: 'timer' });
          },
          Math.max(0, e.at - now),
        );
        conn.timer.unref();
        return;
      }
    }
  }

  #send(conn: Conn, bytes: Uint8Array): void {
    if (conn.closed) return;
    // From the second answer on, Nagle's algorithm could hold a small answer back until the
    // previous one is acknowledged: TCP_NODELAY then, once per connection.
    if (conn.writes++ === 1) conn.socket.setNoDelay(true);
    conn.socket.write(bytes);
    if (conn.socket.writableLength > this.limits.maxWriteBufferBytes) {
      this.count('rejected', 'ERR_SKY_SLOW_READER');
      conn.socket.destroy();
      this.#forget(conn);
    }
  }

  #refuse(conn: Conn, reqId: number, code: RefusalCode, retryAfterMs = 0): void {
    this.count('refused', code);
    this.#send(conn, encodeRefused(reqId, code, retryAfterMs));
  }

  /** Answers a connection's requests in order; runs synchronously while the stores do. */
  #pump(conn: Conn): void {
    while (!conn.busy && !conn.closed && conn.queue.length > 0) {
      const m = conn.queue.shift()!;
      let r: void | Promise<void>;
      try {
        r = this.#handle(conn, m);
      } catch (err) {
        r = Promise.reject(err);
      }
      if (r instanceof Promise) {
        conn.busy = true;
        r.catch((err: unknown) => this.#storeFailed(conn, m, err)).finally(() => {
          conn.busy = false;
          this.#step(conn, { type: 'answered' });
          this.#pump(conn);
        });
        return;
      }
      this.#step(conn, { type: 'answered' });
    }
  }

  #storeFailed(conn: Conn, m: SkyMessage, err: unknown): void {
    const reqId = m.type === SkyType.solve ? SOLVE_REQ_ID : 'reqId' in m ? m.reqId : 0;
    if (err instanceof StoreFullError) this.#refuse(conn, reqId, 'ERR_STORE_FULL');
    else {
      // A store that does not answer (Redis down): refuse this request, keep the node up.
      this.count('store_failed');
      this.#refuse(conn, reqId, 'ERR_SKY_BUSY', 1000);
    }
  }

  #handle(conn: Conn, m: SkyMessage): void | Promise<void> {
    const now = this.#clock.now();
    if (m.type === SkyType.solve) return this.#solve(conn, m);
    const spent = spend(conn.state);
    conn.state = spent.state;
    if (spent.paid) {
      // Requests that reach the work (paid, or within their bucket while d = 0) enter seed
      // 003's fixed-size queue; when it is full, d rises.
      arrive(this.#queue, this.controller, now);
      this.count('paid');
      return this.#serve(conn, m as LeaseMsg | LookupMsg, now);
    }
    const key = `sky-rate:${conn.group}`;
    const { ratePerSec, burst } = this.limits;
    if (this.#takeSync !== undefined) {
      let take: { allowed: boolean; retryAfterMs: number };
      try {
        take = this.#takeSync(key, 1, ratePerSec, burst, now);
      } catch (err) {
        if (err instanceof StoreFullError)
          return this.#refuse(conn, 'reqId' in m ? m.reqId : 0, 'ERR_STORE_FULL');
        throw err;
      }
      return this.#afterBucket(conn, m as LeaseMsg | LookupMsg, take.allowed, take.retryAfterMs, now);
    }
    return this.#store
      .takeTokens(key, 1, ratePerSec, burst, now)
      .then((take) =>
        this.#afterBucket(conn, m as LeaseMsg | LookupMsg, take.allowed, take.retryAfterMs, now),
      );
  }

  #afterBucket(
    conn: Conn,
    m: LeaseMsg | LookupMsg,
    allowed: boolean,
    retryAfterMs: number,
    now: number,
  ): void | Promise<void> {
    const d = decide(
      {
        bucketOk: allowed,
        internal: this.controller.internal,
        external: this.controller.external,
        challenged: conn.state.challenged,
      },
      this.limits,
    );
    const reqId = m.type === SkyType.lease ? 0 : m.reqId;
    if (d.action === 'serve') {
      arrive(this.#queue, this.controller, now);
      return this.#serve(conn, m, now);
    }
    // Seed 003 counts "client requests in a row" that did not raise d; one that is
    // challenged or refused adds no work to the queue, so it counts as an arrival that found
    // room. A burst that passes many buckets at once thus raises d by the work it brings,
    // not by one for every request behind it.
    this.controller.arrive({ queueFull: false, nowMs: now });
    if (d.action === 'refuse' || !this.#pow)
      return this.#refuse(conn, reqId, 'ERR_RATE_LIMITED', retryAfterMs);
    const sealed = this.#sealer.seal({
      kind: 'sha256-bits',
      difficulty: d.bits,
      client: conn.client,
      server: conn.server,
    });
    this.count('challenged');
    this.#send(conn, encodeChallenge(reqId, sealed));
    this.#step(conn, { type: 'challenged' });
  }

  #solve(conn: Conn, m: SolveMsg): void | Promise<void> {
    if (!conn.state.challenged) return this.#refuse(conn, SOLVE_REQ_ID, 'ERR_SKY_UNSOLICITED_SOLVE');
    return admitSolved({
      sealer: this.#sealer,
      guard: this.#guard,
      sealed: m.sealed,
      client: conn.client,
      server: conn.server,
      verify: (state, difficulty) =>
        state.kind === 'sha256-bits' && verifySha256Bits({ challenge: state.challenge, difficulty }, m.nonce),
      minDifficulty: this.controller.internal,
    }).then((v) => {
      if (v.ok) {
        this.count('solved');
        this.#step(conn, { type: 'solved' });
        this.#send(conn, encodeSolved(this.limits.creditPerSolve));
        return;
      }
      this.#step(conn, { type: 'solveFailed' });
      this.#refuse(conn, SOLVE_REQ_ID, isRefusalCode(v.code) ? v.code : 'ERR_POW_INSUFFICIENT');
    });
  }

  #serve(conn: Conn, m: LeaseMsg | LookupMsg, now: number): void | Promise<void> {
    if (m.type === SkyType.lease) return this.#lease(conn, m, now);
    if (m.type === SkyType.punch) return this.#punch(conn, m, now);
    const id = Buffer.from(m.target.buffer, m.target.byteOffset, m.target.length).toString('hex');
    const getSync = this.leases.getSync;
    if (getSync !== undefined) return this.#found(conn, m.reqId, getSync(id, now));
    return this.leases.get(id, now).then((rec) => this.#found(conn, m.reqId, rec));
  }

  #found(conn: Conn, reqId: number, rec: LeaseRecord | undefined): void {
    if (rec === undefined) {
      // Seed 003: "block all lookup queries which do not correspond to a node's lease".
      this.count('lookup', 'ERR_SKY_NO_LEASE');
      this.#send(conn, encodeRefused(reqId, 'ERR_SKY_NO_LEASE'));
      return;
    }
    this.count('lookup');
    this.#send(conn, encodeFound({ reqId, ...rec }));
  }

  #lease(conn: Conn, m: LeaseMsg, now: number): void | Promise<void> {
    // Cheapest check first: a group at its lease cap is refused for one SHA-256 (the
    // identity), not an Ed25519 verification, so a lease-grabbing flood from an address that
    // filled its share costs the node little.
    if (this.leases.groupFullSync?.(conn.group, identityOfRaw(m.key), now) === true)
      return this.#refuse(conn, 0, 'ERR_SKY_LEASES_FULL');
    const checked = checkLease(m, { now, observed: conn.client, group: conn.group }, this.limits);
    if (!checked.ok) return this.#refuse(conn, 0, checked.code);
    const done = (v: Awaited<ReturnType<LeaseStore['put']>>) => {
      if (!v.ok) return this.#refuse(conn, 0, v.code);
      const rec = v.value;
      this.count('leased');
      if (
        conn.lease !== undefined &&
        conn.lease.identity !== rec.identity &&
        this.#byIdentity.get(conn.lease.identity) === conn
      ) {
        this.#byIdentity.delete(conn.lease.identity);
      }
      conn.lease = rec;
      this.#byIdentity.set(rec.identity, conn);
      this.#send(conn, encodeLeased(m.time, rec.expiresAt, conn.client));
      this.#step(conn, { type: 'leased', identity: rec.identity, expiresAt: rec.expiresAt });
    };
    const putSync = this.leases.putSync;
    if (putSync !== undefined) return done(putSync(checked.value, now));
    return this.leases.put(checked.value, now).then(done);
  }

  /**
   * DCUtR's pattern with the sky node as the relay of the two small messages: both sides
   * learn the other's observed address (the NAT mapping the sky node sees) and dial it
   * `punchDelayMs` after receipt; TCP simultaneous open then joins the two SYNs.
   */
  #punch(conn: Conn, m: LookupMsg, now: number): void {
    const me = conn.lease;
    if (me === undefined || me.expiresAt <= now) {
      this.#refuse(conn, m.reqId, 'ERR_SKY_NOT_LEASED');
      return;
    }
    const id = Buffer.from(m.target.buffer, m.target.byteOffset, m.target.length).toString('hex');
    const peer = this.#byIdentity.get(id);
    const rec = peer?.lease;
    if (peer === undefined || peer.closed || rec === undefined || rec.expiresAt <= now) {
      this.#refuse(conn, m.reqId, 'ERR_SKY_PEER_OFFLINE');
      return;
    }
    this.count('punch');
    const delayMs = this.limits.punchDelayMs;
    this.#send(
      peer,
      encodePunchAt({
        reqId: 0,
        peer: hexBytes(me.identity),
        peerKey: me.key,
        observed: conn.client,
        delayMs,
      }),
    );
    this.#send(
      conn,
      encodePunchAt({ reqId: m.reqId, peer: m.target, peerKey: rec.key, observed: peer.client, delayMs }),
    );
  }
}

function hexBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
