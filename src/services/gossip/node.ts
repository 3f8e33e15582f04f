/**
 * A Gossip node: the IO shell around the pure engine step (protocol/gossip/engine.ts). It
 * holds the engine's state between steps, owns the API server, the P2P transport, the
 * heartbeat timer, the receive queue (VALIDATIONs first, seed 002) and the PoW solver, and
 * carries out the engine's effects. Its public surface is read-only: bound addresses, counts
 * and a snapshot of the engine's tables; the engine state itself is never handed out. The same class runs a bootstrapper
 * (`isBootstrapper`: no API, no spreading; it hands out verified peers).
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { debuglog } from 'node:util';
import { canonicalHost, type Endpoint } from '../../admission/endpoint.js';
import { diversityLimits } from '../../protocol/gossip/diversity.js';
import {
  type Effect,
  type EngineDeps,
  type EngineEvent,
  type EngineState,
  initialState,
  step,
} from '../../protocol/gossip/engine.js';
import { GOSSIP_SERVICE_LIMITS, type GossipParams } from '../../protocol/gossip/limits.js';
import { currentAnchors } from '../../protocol/gossip/peers.js';
import type { Random } from '../../protocol/gossip/state.js';
import { readU16 } from '../../util/bytes.js';
import { type Clock, systemClock } from '../../util/clock.js';
import { EVENTS, type EventName, type GaugeName, isReasonCode, type ReasonCode } from '../../util/codes.js';
import { TollgateError } from '../../util/errors.js';
import { type Observer, observer } from '../../util/observe.js';
import { cryptoRandom } from '../../util/random.js';
import { GOSSIP_VALIDATION } from '../../wire/gossip-api.js';
import { GOSSIP_PUSH } from '../../wire/gossip-p2p.js';
import { ApiServer } from './api-server.js';
import type { HostPort } from './config.js';
import { solveVerification, verifyVerification } from './pow.js';
import { PriorityEventQueue } from './queue.js';
import type { P2PLink, P2PTransport } from './transport.js';

const debug = debuglog('tollgate:gossip');

/** True for a P2P frame that carries an item (a PUSH): losing it is an item dropped. */
function isPush(frame: Uint8Array): boolean {
  return frame.length >= 4 && readU16(frame, 2) === GOSSIP_PUSH;
}

export interface GossipNodeOptions {
  readonly params: GossipParams;
  /** Our identity (hex SHA-256 of our public key), as the transport authenticates us. */
  readonly identity: string;
  readonly transport: P2PTransport;
  readonly p2pAddress: HostPort;
  /** Omitted for a bootstrapper. */
  readonly apiAddress?: HostPort | undefined;
  /** Address to advertise in HELLO; default the bound P2P address (must then be an IP). */
  readonly advertise?: HostPort | undefined;
  readonly bootstrapper?: HostPort | undefined;
  readonly isBootstrapper?: boolean;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly solve?: (prefix: Uint8Array, bits: number, signal: AbortSignal) => Promise<bigint>;
  /** Called when the number of verified neighbours changes. */
  readonly onNeighbours?: (count: number) => void;
  /** Anchors saved before a restart (`anchors()`): dialled first (diversity.ts). */
  readonly anchors?: readonly Endpoint[];
}

/** A read-only snapshot of the engine's tables (`GossipNode.view()`), for tests and tools. */
export interface GossipNodeView {
  readonly links: readonly {
    readonly identity: string;
    readonly verified: boolean;
    readonly bootstrap: boolean;
    /** A verification solve for this link is queued or running. */
    readonly solving: boolean;
  }[];
  /** Known (verified) peers: identity and the address proven its own. */
  readonly known: readonly { readonly identity: string; readonly address: Endpoint }[];
  /** Identities that proved a PoW recently. */
  readonly verifiedIds: readonly string[];
  /** Data types some local module is subscribed to. */
  readonly subscribedTypes: readonly number[];
  /** Items waiting for their validations. */
  readonly pendingItems: number;
}

/** The OS generator (src/util/random.ts), the default randomness of a node. */
export { cryptoRandom };

export class GossipNode {
  /** The engine's state and deps, once started; held here between steps, never exposed. */
  private engine: { state: EngineState; readonly deps: EngineDeps } | undefined;
  private api: ApiServer | undefined;
  private readonly queue = new PriorityEventQueue<EngineEvent>(GOSSIP_SERVICE_LIMITS.maxQueuedEvents);
  private readonly links = new Map<number, P2PLink>();
  /** Running solves by link, to cancel them when their link closes. */
  private readonly solves = new Map<number, AbortController>();
  private nextLink = 1;
  private scheduled = false;
  private lastNeighbours = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private closed = false;
  private readonly clock: Clock;
  private readonly obs: Observer<'gossip' | 'bootstrap'>;
  private readonly unsample: (() => void)[] = [];
  /** Reason codes counted outside the engine (API framing, queue). */
  private readonly nodeCounts: Record<string, number> = {};
  /** Items dropped, by reason, in the engine and here (`itemsDropped()`). */
  private readonly drops: Record<string, number> = {};
  /**
   * Counts and drops made since the last drain ended, published then: one publish per code per
   * batch instead of several per message (each publish reaches the metrics subscriber).
   */
  private readonly unpublished = new Map<string, number>();
  private readonly undropped = new Map<ReasonCode, number>();
  private boundApi: HostPort | undefined;
  private boundP2p: HostPort | undefined;
  private advertisedAt: Endpoint | undefined;

  constructor(private readonly options: GossipNodeOptions) {
    this.clock = options.clock ?? systemClock;
    this.obs = observer(options.isBootstrapper === true ? 'bootstrap' : 'gossip');
  }

  /** The bound API address, once started (undefined for a bootstrapper). */
  get apiAddress(): HostPort | undefined {
    return this.boundApi;
  }

  /** The bound P2P address, once started. */
  get p2pAddress(): HostPort | undefined {
    return this.boundP2p;
  }

  /** The address put in HELLO, once started. */
  get advertised(): Endpoint | undefined {
    return this.advertisedAt;
  }

  /** Starts the servers and joins; returns the bound addresses. */
  async start(): Promise<{ p2p: HostPort; api: HostPort | undefined }> {
    const o = this.options;
    const p2p = await listening('p2p_address', o.p2pAddress, () =>
      o.transport.listen(o.p2pAddress, (link) => this.adopt(link, undefined, false)),
    );
    this.boundP2p = p2p;
    const advertise = await resolveEndpoint(o.advertise ?? p2p, 'advertise_address');
    if (advertise.host === '0.0.0.0' || advertise.host === '::') {
      throw new TollgateError(
        'ERR_CONFIG',
        `p2p_address ${advertise.host} is a wildcard; set [gossip] advertise_address to the address peers should dial`,
      );
    }
    this.advertisedAt = advertise;
    const bootstrapper =
      o.bootstrapper === undefined ? undefined : await resolveEndpoint(o.bootstrapper, 'bootstrapper');
    const deps: EngineDeps = {
      onCount: (code, n) => this.unpublished.set(code, (this.unpublished.get(code) ?? 0) + n),
      onItemDropped: (code, n) => this.dropped(code, n),
      params: o.params,
      random: o.random ?? cryptoRandom,
      verifyPow: verifyVerification,
      identity: o.identity,
      listen: advertise,
      ...(bootstrapper === undefined ? {} : { bootstrapper }),
      isBootstrapper: o.isBootstrapper === true,
      ...(o.anchors === undefined ? {} : { anchors: o.anchors }),
    };
    const engine = { state: initialState(o.params), deps };
    this.engine = engine;
    if (o.apiAddress !== undefined) {
      this.api = new ApiServer({
        open: (conn) => this.enqueue({ kind: 'api-open', conn }, false, true),
        message: (conn, msg) =>
          this.enqueue({ kind: 'api-message', conn, msg }, msg.type === GOSSIP_VALIDATION, true),
        close: (conn) => this.enqueue({ kind: 'api-close', conn }, false, true),
        count: (code) => this.count(code),
      });
      const api = this.api;
      this.boundApi = await listening('api_address', o.apiAddress, () => api.listen(o.apiAddress!));
    }
    const sample = (name: GaugeName<'gossip'> & GaugeName<'bootstrap'>, read: () => number) =>
      this.unsample.push(this.obs.sample(name, read));
    sample('links', () => engine.state.links.size);
    sample('queue_depth', () => this.queue.length);
    sample('known_peers', () => engine.state.known.size);
    if (o.isBootstrapper !== true) {
      const gossip = this.obs as Observer<'gossip'>;
      this.unsample.push(
        gossip.sample('neighbours', () => this.neighbours()),
        gossip.sample('pending_validations', () => engine.state.pending.size),
        gossip.sample('seen_ids', () => engine.state.seen.size),
      );
    }
    this.timer = setInterval(() => this.enqueue({ kind: 'tick' }, false, true), o.params.heartbeatMs);
    this.timer.unref();
    this.enqueue({ kind: 'tick' }, false, true);
    return { p2p, api: this.boundApi };
  }

  /** A snapshot of the engine and node counters together (reason codes and gossip_* events). */
  counts(): Readonly<Record<string, number>> {
    return { ...this.engine?.state.counters, ...this.nodeCounts, gossip_queue_dropped: this.queue.dropped };
  }

  /**
   * A snapshot of the items dropped so far, by reason: in the engine (queue, pending, seen
   * set, validation) and in this shell (receive queue, closed links and API connections). The
   * same counts go out as `items_dropped{reason}` on the observe channel.
   */
  itemsDropped(): Readonly<Record<string, number>> {
    return { ...this.drops };
  }

  /** The anchors to keep across a restart: the longest-verified outbound peers (diversity.ts). */
  anchors(): Endpoint[] {
    const engine = this.engine;
    if (engine === undefined) return [];
    return currentAnchors(engine.state, this.clock.now(), engine.deps.diversity ?? diversityLimits.defaults);
  }

  /** A snapshot of the engine's tables (empty before start). */
  view(): GossipNodeView {
    const state = this.engine?.state;
    if (state === undefined) {
      return { links: [], known: [], verifiedIds: [], subscribedTypes: [], pendingItems: 0 };
    }
    return {
      links: [...state.links.values()].map((l) => ({
        identity: l.identity,
        verified: l.verified,
        bootstrap: l.bootstrap,
        solving: l.solving,
      })),
      known: [...state.known.values()].map((k) => ({ identity: k.identity, address: { ...k.address } })),
      verifiedIds: [...state.verifiedIds.keys()],
      subscribedTypes: [...state.subscribers.entries()].filter(([, c]) => c.size > 0).map(([t]) => t),
      pendingItems: state.pending.size,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.flushCounts();
    this.abort.abort();
    for (const stop of this.unsample) stop();
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const link of this.links.values()) link.close();
    this.links.clear();
    await this.api?.close();
    await this.options.transport.close();
  }

  private count(code: string): void {
    this.nodeCounts[code] = (this.nodeCounts[code] ?? 0) + 1;
    debug('%s', code);
    this.publish(code, 1);
  }

  /** An item dropped (engine or node), published as `items_dropped{reason}`. */
  private dropped(code: ReasonCode, n = 1): void {
    this.drops[code] = (this.drops[code] ?? 0) + n;
    this.undropped.set(code, (this.undropped.get(code) ?? 0) + n);
  }

  private flushCounts(): void {
    for (const [code, n] of this.unpublished) this.publish(code, n);
    this.unpublished.clear();
    for (const [code, n] of this.undropped) this.obs.count('items_dropped', code, n);
    this.undropped.clear();
  }

  /**
   * Publishes an engine or node count on the one observability channel (src/util/observe.ts):
   * `gossip_<event>` names become events and reason codes `rejections{reason}`. Dropped items
   * are published by `dropped` as `items_dropped{reason}`, so that a peer that drops items
   * says so in its metrics (issues 8 and 12).
   */
  private publish(code: string, n: number): void {
    const obs = this.obs;
    if (code.startsWith('ERR_')) {
      if (!isReasonCode(code)) return;
      obs.count('rejections', code, n);
      return;
    }
    const event = code.startsWith('gossip_') ? code.slice('gossip_'.length) : code;
    if (Object.hasOwn(EVENTS.gossip, event)) obs.count(event as EventName<'gossip'>, undefined, n);
  }

  private enqueue(event: EngineEvent, urgent: boolean, keep = false): void {
    if (this.closed) return;
    if (!this.queue.push(event, urgent, keep)) {
      this.count('ERR_GOSSIP_QUEUE_FULL');
      if (event.kind === 'peer-message' && isPush(event.frame)) this.dropped('ERR_GOSSIP_QUEUE_FULL');
    }
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    this.scheduled = false;
    const engine = this.engine;
    if (engine === undefined || this.closed) return;
    // Bounded batches keep timers and sockets served while a burst is worked off.
    for (let n = 0; n < GOSSIP_SERVICE_LIMITS.drainBatch; n++) {
      const event = this.queue.shift();
      if (event === undefined) {
        this.flushCounts();
        this.reportNeighbours();
        return;
      }
      const result = step(engine.state, event, this.clock.now(), engine.deps);
      engine.state = result.state;
      for (const effect of result.effects) this.carry(effect);
    }
    this.flushCounts();
    this.reportNeighbours();
    this.scheduled = true;
    setImmediate(() => this.drain());
  }

  /** Verified neighbour links right now. */
  neighbours(): number {
    let n = 0;
    for (const link of this.engine?.state.links.values() ?? []) if (link.verified && !link.bootstrap) n++;
    return n;
  }

  private reportNeighbours(): void {
    if (this.options.onNeighbours === undefined) return;
    const n = this.neighbours();
    if (n !== this.lastNeighbours) {
      this.lastNeighbours = n;
      this.options.onNeighbours(n);
    }
  }

  private adopt(link: P2PLink, dialled: Endpoint | undefined, bootstrap: boolean): void {
    if (this.closed) {
      link.close();
      return;
    }
    const id = this.nextLink++;
    this.links.set(id, link);
    this.enqueue(
      {
        kind: 'peer-open',
        link: id,
        identity: link.identity,
        ...(dialled === undefined ? {} : { dialled }),
        ...(link.remote === undefined ? {} : { remote: link.remote }),
        bootstrap,
      },
      false,
      true,
    );
    link.start({
      onMessage: (frame) => this.enqueue({ kind: 'peer-message', link: id, frame }, false),
      onClose: (failed) => {
        this.cancelSolve(id);
        if (this.links.delete(id)) this.enqueue({ kind: 'peer-close', link: id, failed }, false, true);
      },
    });
  }

  /** A KEEP PoW found after the round's window is worth nothing: stop searching by then. */
  private keepSolveBudgetMs(): number {
    const p = this.options.params;
    return Math.max(1, p.keepWindowMs + p.keepSkewMs - p.keepCollectMs);
  }

  private cancelSolve(link: number): void {
    this.solves.get(link)?.abort();
    this.solves.delete(link);
  }

  private carry(effect: Effect): void {
    switch (effect.kind) {
      case 'api-send': {
        const sent = this.api?.send(effect.conn, effect.frame);
        if (sent === 'gone') this.dropped('ERR_GOSSIP_SUBSCRIBER_GONE');
        else if (sent === 'slow') this.dropped('ERR_GOSSIP_API_SLOW');
        return;
      }
      case 'api-close':
        this.api?.closeConn(effect.conn, effect.code);
        return;
      case 'peer-send': {
        const link = this.links.get(effect.link);
        if (link === undefined) {
          if (isPush(effect.frame)) this.dropped('ERR_GOSSIP_LINK_CLOSED');
          return;
        }
        if (!link.send(effect.frame)) {
          if (isPush(effect.frame)) this.dropped('ERR_GOSSIP_SEND_FAILED');
          this.links.delete(effect.link);
          link.close();
          this.enqueue({ kind: 'peer-close', link: effect.link, failed: true }, false, true);
        }
        return;
      }
      case 'peer-close': {
        const link = this.links.get(effect.link);
        this.links.delete(effect.link);
        this.cancelSolve(effect.link);
        link?.close();
        debug('closed link %d: %s', effect.link, effect.code);
        return;
      }
      case 'dial': {
        const { address, bootstrap } = effect;
        const signal = AbortSignal.any([
          this.abort.signal,
          AbortSignal.timeout(GOSSIP_SERVICE_LIMITS.dialTimeoutMs),
        ]);
        this.options.transport.dial(address, signal).then(
          (link) => this.adopt(link, address, bootstrap),
          (error: unknown) => {
            debug('dial %s:%d failed: %s', address.host, address.port, (error as Error).message);
            this.enqueue({ kind: 'dial-failed', address, bootstrap }, false, true);
          },
        );
        return;
      }
      case 'probe': {
        // A dial back to a HELLO's address: listed only if the same identity answers there.
        const { address, identity } = effect;
        const signal = AbortSignal.any([
          this.abort.signal,
          AbortSignal.timeout(GOSSIP_SERVICE_LIMITS.dialTimeoutMs),
        ]);
        this.options.transport.dial(address, signal).then(
          (link) => {
            link.close();
            this.enqueue(
              { kind: 'probe-result', address, identity, ok: link.identity === identity },
              false,
              true,
            );
          },
          () => this.enqueue({ kind: 'probe-result', address, identity, ok: false }, false, true),
        );
        return;
      }
      case 'solve': {
        const solve = this.options.solve ?? solveVerification;
        const { link, nonce } = effect;
        // Cancelled when the link closes: a peer that hangs up gets no more of our CPU.
        const cancel = new AbortController();
        this.solves.set(link, cancel);
        solve(effect.prefix, effect.bits, AbortSignal.any([this.abort.signal, cancel.signal])).then(
          (solution) => {
            this.solves.delete(link);
            this.enqueue({ kind: 'solved', link, nonce, solution }, false, true);
          },
          (error: unknown) => {
            this.solves.delete(link);
            if (this.closed) return;
            debug('solve failed: %s', (error as Error).message);
            this.enqueue({ kind: 'solve-failed', link, nonce }, false, true);
          },
        );
        return;
      }
      case 'keep-solve': {
        // One PoW per round for every link (seed 000 step 3), in the core's worker pool. A
        // failed solve sends nothing: the neighbours tear their links down at the deadline.
        const solve = this.options.solve ?? solveVerification;
        const { pow, links } = effect;
        const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.keepSolveBudgetMs())]);
        solve(effect.challenge, effect.bits, signal).then(
          (nonce) => this.enqueue({ kind: 'keep-solved', pow, nonce, links }, false, true),
          (error: unknown) => {
            if (this.closed) return;
            debug('KEEP solve failed: %s', (error as Error).message);
            this.count('ERR_GOSSIP_SOLVE_FAILED');
          },
        );
        return;
      }
    }
  }
}

/**
 * A listen address that cannot be bound (taken, not ours, privileged) is the operator's to fix:
 * it is reported as such, naming the configuration key, not as an internal error.
 */
export class ListenError extends TollgateError {
  constructor(
    readonly key: 'p2p_address' | 'api_address',
    readonly address: HostPort,
    readonly reason: string,
  ) {
    super('ERR_CONFIG', `${key}: cannot listen on ${formatHostPort(address)}: ${reason}`);
  }
}

const LISTEN_FAILURES: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the address is already in use',
  EADDRNOTAVAIL: 'the address is not one of this machine',
  EACCES: 'permission denied (ports below 1024 need privileges)',
};

async function listening<T>(
  key: 'p2p_address' | 'api_address',
  address: HostPort,
  listen: () => Promise<T>,
): Promise<T> {
  try {
    return await listen();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === undefined ? undefined : LISTEN_FAILURES[code];
    if (reason === undefined) throw error;
    throw new ListenError(key, address, `${reason} (${code})`);
  }
}

function formatHostPort(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** A configured address as an IP endpoint (host names resolved once, at start). */
export async function resolveEndpoint(address: HostPort, what: string): Promise<Endpoint> {
  if (isIP(address.host) !== 0) return { host: canonicalHost(address.host), port: address.port };
  try {
    const found = await lookup(address.host);
    return { host: canonicalHost(found.address), port: address.port };
  } catch (error) {
    throw new TollgateError(
      'ERR_CONFIG',
      `${what}: cannot resolve ${address.host}: ${(error as Error).message}`,
    );
  }
}
