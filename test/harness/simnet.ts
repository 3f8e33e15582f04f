/**
 * The in-memory P2P transport for many-peer tests and the benchmark: every peer is a
 * engine (`step` of src/protocol/gossip/engine.ts held by `enginePeer`), links are pairs of queues with a fixed latency each (so that a link keeps
 * its order, as TCP does), frames can be dropped by a rule, and one fake clock drives it all
 * as a discrete-event simulation. Local modules are simulated API connections that answer
 * every NOTIFICATION with a VALIDATION after a delay, or never, or leave.
 *
 * PoW solving is injected like everything else, so a simulation can run at a low difficulty.
 */
import type { Endpoint } from '../../src/admission/endpoint.js';
import type { GossipParams } from '../../src/protocol/gossip/limits.js';
import { seededRandom } from '../../src/protocol/gossip/random.js';
import { addressKey, type Effect, type EngineEvent, keyOf } from '../../src/protocol/gossip/state.js';
import type { SimPow } from '../../src/services/gossip/pow.js';
import {
  decodeApi,
  GOSSIP_ANNOUNCE,
  GOSSIP_NOTIFICATION,
  GOSSIP_NOTIFY,
  GOSSIP_VALIDATION,
  readU16,
} from '../../src/wire/gossip-api.js';
import { GOSSIP_PUSH } from '../../src/wire/gossip-p2p.js';
import { type EnginePeer, enginePeer } from './engine-peer.js';

export type { SimPow } from '../../src/services/gossip/pow.js';

export interface SimOptions {
  readonly peers: number;
  readonly params: GossipParams;
  readonly pow: SimPow;
  readonly seed?: number;
  /** One-way latency of the link between two peers (ms), fixed per link. Default 5..25 ms. */
  readonly latency?: (a: number, b: number) => number;
  /** Drops a frame sent from `from` to `to` (peer indices; -1 is the bootstrapper). */
  readonly drop?: (from: number, to: number, frame: Uint8Array) => boolean;
  /** Peers that drop every item message (PUSH/IHAVE/IWANT) they receive. */
  readonly droppers?: ReadonlySet<number>;
  /** Simulated time for a peer to solve a PoW (ms). */
  readonly solveMs?: number;
}

export interface Delivery {
  readonly peer: number;
  readonly conn: number;
  readonly key: string;
  readonly at: number;
  readonly hops: number;
}

interface Conn {
  readonly peer: number;
  readonly id: number;
  /** 'valid' answers V=1, 'invalid' V=0, 'silent' never answers. */
  mode: 'valid' | 'invalid' | 'silent';
  readonly delayMs: number;
  open: boolean;
}

interface LinkEnd {
  readonly peer: number;
  readonly remote: number;
  readonly remoteLink: number;
  readonly latency: number;
}

const BOOT = -1;

export class SimNet {
  now = 0;
  readonly engines: EnginePeer[] = [];
  readonly bootstrapper: EnginePeer;
  readonly deliveries: Delivery[] = [];
  readonly stats = { pushes: 0, ihaves: 0, iwants: 0, frames: 0, dropped: 0, bytes: 0 };
  private readonly queue = new EventHeap();
  private readonly links = new Map<number, LinkEnd>();
  private readonly conns = new Map<string, Conn>();
  private nextLink = 1;
  private nextConn = 1;
  private readonly rand;
  private readonly addresses: Endpoint[] = [];
  private readonly byAddress = new Map<string, number>();
  /** Hop count at which each peer first received each item (origin: 0). */
  private readonly hops = new Map<string, number>();
  private readonly latencyOf: (a: number, b: number) => number;
  private readonly linkLatency = new Map<string, number>();

  constructor(private readonly opts: SimOptions) {
    this.rand = seededRandom(opts.seed ?? 1);
    this.latencyOf =
      opts.latency ??
      ((a, b) => {
        const k = a < b ? `${a},${b}` : `${b},${a}`;
        let l = this.linkLatency.get(k);
        if (l === undefined) {
          l = 5 + this.rand.int(21);
          this.linkLatency.set(k, l);
        }
        return l;
      });
    const bootAddress = { host: '10.255.255.254', port: 6001 };
    this.byAddress.set(addressKey(bootAddress), BOOT);
    this.bootstrapper = this.makeEngine(BOOT, bootAddress, undefined, true);
    for (let i = 0; i < opts.peers; i++) {
      // Spread over 250 /16 groups, as peers of a real network are.
      const address = { host: `10.${i % 250}.${Math.floor(i / 250) & 0xff}.1`, port: 6001 };
      this.addresses.push(address);
      this.byAddress.set(addressKey(address), i);
      this.engines.push(this.makeEngine(i, address, bootAddress, false));
    }
    // Staggered heartbeats, as independent processes would have.
    for (let i = BOOT; i < opts.peers; i++) this.scheduleTick(i, this.rand.int(opts.params.heartbeatMs) + 1);
  }

  private makeEngine(index: number, listen: Endpoint, bootstrapper: Endpoint | undefined, isBoot: boolean) {
    const r = seededRandom((this.opts.seed ?? 1) * 7919 + index + 2);
    return enginePeer({
      params: this.opts.params,
      random: r,
      verifyPow: (c, n, b) => this.opts.pow.verify(c, n, b),
      identity: `peer-${index}`,
      listen,
      ...(bootstrapper === undefined ? {} : { bootstrapper }),
      isBootstrapper: isBoot,
    });
  }

  engine(peer: number): EnginePeer {
    return peer === BOOT ? this.bootstrapper : this.engines[peer]!;
  }

  private scheduleTick(peer: number, at: number): void {
    this.queue.push(at, () => {
      this.apply(peer, { kind: 'tick' });
      this.scheduleTick(peer, this.now + this.opts.params.heartbeatMs);
    });
  }

  /** Opens a simulated API connection at `peer` subscribed to `dataTypes`. */
  subscribe(peer: number, dataTypes: number[], mode: Conn['mode'] = 'valid', delayMs = 1): number {
    const id = this.nextConn++;
    this.conns.set(`${peer}/${id}`, { peer, id, mode, delayMs, open: true });
    this.apply(peer, { kind: 'api-open', conn: id });
    for (const dataType of dataTypes) {
      this.apply(peer, { kind: 'api-message', conn: id, msg: { type: GOSSIP_NOTIFY, dataType } });
    }
    return id;
  }

  setMode(peer: number, conn: number, mode: Conn['mode']): void {
    this.conns.get(`${peer}/${conn}`)!.mode = mode;
  }

  closeApi(peer: number, conn: number): void {
    const c = this.conns.get(`${peer}/${conn}`);
    if (c === undefined || !c.open) return;
    c.open = false;
    this.apply(peer, { kind: 'api-close', conn });
  }

  /** A local module at `peer` announces an item; returns the item key. */
  announce(peer: number, conn: number, dataType: number, data: Uint8Array, ttl = 0): string {
    // The id is salted inside the engine; the announced item is the newest one it cached.
    const engine = this.engine(peer);
    this.announcing = peer;
    this.apply(peer, { kind: 'api-message', conn, msg: { type: GOSSIP_ANNOUNCE, ttl, dataType, data } });
    let key: string | undefined;
    for (const item of engine.state.cache.values()) key = item.key;
    this.announcing = undefined;
    if (key === undefined) throw new Error('the announcement was not accepted');
    this.hops.set(`${peer}/${key}`, 0);
    return key;
  }

  /** The peer whose ANNOUNCE is being applied: its first pushes are hop 0 -> 1. */
  private announcing: number | undefined;

  /** Runs the simulation until `untilMs` of simulated time. */
  run(untilMs: number): void {
    for (;;) {
      const next = this.queue.peekTime();
      if (next === undefined || next > untilMs) break;
      const ev = this.queue.pop()!;
      this.now = ev.at;
      ev.run();
    }
    this.now = Math.max(this.now, untilMs);
  }

  /** Verified neighbours of `peer` right now. */
  neighbourCount(peer: number): number {
    let n = 0;
    for (const l of this.engine(peer).state.links.values()) if (l.verified && !l.bootstrap) n++;
    return n;
  }

  hopsOf(peer: number, key: string): number | undefined {
    return this.hops.get(`${peer}/${key}`);
  }

  private apply(peer: number, event: EngineEvent): void {
    const effects = this.engine(peer).step(event, this.now);
    for (const effect of effects) this.carry(peer, effect);
  }

  private carry(peer: number, e: Effect): void {
    switch (e.kind) {
      case 'peer-send': {
        const end = this.links.get(e.link);
        if (end === undefined) return;
        this.stats.frames++;
        this.stats.bytes += e.frame.length;
        const type = readU16(e.frame, 2);
        if (type === GOSSIP_PUSH) this.stats.pushes++;
        else if (type === 505) this.stats.ihaves++;
        else if (type === 506) this.stats.iwants++;
        if (this.opts.drop?.(peer, end.remote, e.frame) === true) {
          this.stats.dropped++;
          return;
        }
        if (this.opts.droppers?.has(end.remote) === true && type >= GOSSIP_PUSH && type <= 506) return;
        if (type === GOSSIP_PUSH) {
          // The first PUSH to arrive is the one the receiver accepts: hop = sender's + 1.
          const key = keyOf(e.frame.subarray(8, 24));
          const from = this.hops.get(`${peer}/${key}`) ?? (this.announcing === peer ? 0 : undefined);
          this.queue.push(this.now + end.latency, () => {
            const hk = `${end.remote}/${key}`;
            if (from !== undefined && !this.hops.has(hk)) this.hops.set(hk, from + 1);
          });
        }
        this.queue.push(this.now + end.latency, () => {
          if (this.links.has(end.remoteLink)) {
            this.apply(end.remote, { kind: 'peer-message', link: end.remoteLink, frame: e.frame });
          }
        });
        return;
      }
      case 'peer-close': {
        const end = this.links.get(e.link);
        if (end === undefined) return;
        this.links.delete(e.link);
        this.queue.push(this.now + end.latency, () => {
          if (this.links.delete(end.remoteLink)) {
            this.apply(end.remote, { kind: 'peer-close', link: end.remoteLink, failed: false });
          }
        });
        return;
      }
      case 'dial': {
        const target = this.byAddress.get(addressKey(e.address));
        const latency = target === undefined ? 50 : this.latencyOf(peer, target);
        this.queue.push(this.now + 2 * latency, () => {
          if (target === undefined) {
            this.apply(peer, { kind: 'dial-failed', address: e.address, bootstrap: e.bootstrap });
            return;
          }
          const mine = this.nextLink++;
          const theirs = this.nextLink++;
          this.links.set(mine, { peer, remote: target, remoteLink: theirs, latency });
          this.links.set(theirs, { peer: target, remote: peer, remoteLink: mine, latency });
          this.apply(target, { kind: 'peer-open', link: theirs, identity: `peer-${peer}` });
          this.apply(peer, {
            kind: 'peer-open',
            link: mine,
            identity: `peer-${target}`,
            dialled: e.address,
            bootstrap: e.bootstrap,
          });
        });
        return;
      }
      case 'probe': {
        // The dial-back answers with the identity listening there (no link is kept).
        const target = this.byAddress.get(addressKey(e.address));
        const latency = target === undefined ? 50 : this.latencyOf(peer, target);
        const ok = target !== undefined && `peer-${target}` === e.identity;
        this.queue.push(this.now + 2 * latency, () =>
          this.apply(peer, { kind: 'probe-result', address: e.address, identity: e.identity, ok }),
        );
        return;
      }
      case 'keep-solve': {
        // One KEEP PoW per round (seed 000 step 3), solved at once, delivered after solveMs.
        const nonce = this.opts.pow.solve(e.challenge, e.bits);
        this.queue.push(this.now + (this.opts.solveMs ?? 10), () =>
          this.apply(peer, { kind: 'keep-solved', pow: e.pow, nonce, links: e.links }),
        );
        return;
      }
      case 'solve': {
        const solution = this.opts.pow.solve(e.prefix, e.bits);
        this.queue.push(this.now + (this.opts.solveMs ?? 10), () =>
          this.apply(peer, { kind: 'solved', link: e.link, nonce: e.nonce, solution }),
        );
        return;
      }
      case 'api-send': {
        const conn = this.conns.get(`${peer}/${e.conn}`);
        if (conn === undefined || !conn.open) return;
        const verdict = decodeApi(e.frame, 'module');
        if (!verdict.ok || verdict.value.type !== GOSSIP_NOTIFICATION) return;
        const msg = verdict.value;
        const key = this.engine(peer).state.api.get(e.conn)?.pending.get(msg.messageId)?.key ?? '?';
        this.deliveries.push({
          peer,
          conn: e.conn,
          key,
          at: this.now,
          hops: this.hops.get(`${peer}/${key}`) ?? -1,
        });
        if (conn.mode === 'silent') return;
        const valid = conn.mode === 'valid';
        this.queue.push(this.now + conn.delayMs, () => {
          if (!conn.open) return;
          this.apply(peer, {
            kind: 'api-message',
            conn: e.conn,
            msg: { type: GOSSIP_VALIDATION, messageId: msg.messageId, valid },
          });
        });
        return;
      }
      case 'api-close':
        this.closeApi(peer, e.conn);
        return;
    }
  }
}

/** A binary min-heap of timed callbacks; ties run in insertion order. */
class EventHeap {
  private readonly items: { at: number; seq: number; run: () => void }[] = [];
  private seq = 0;

  push(at: number, run: () => void): void {
    const items = this.items;
    items.push({ at, seq: this.seq++, run });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  peekTime(): number | undefined {
    return this.items[0]?.at;
  }

  pop(): { at: number; run: () => void } | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined) return undefined;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && this.less(l, m)) m = l;
        if (r < items.length && this.less(r, m)) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m]!, items[i]!];
        i = m;
      }
    }
    return top;
  }

  private less(a: number, b: number): boolean {
    const x = this.items[a]!;
    const y = this.items[b]!;
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }
}
