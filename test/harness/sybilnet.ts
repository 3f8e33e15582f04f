/**
 * The Sybil and eclipse simulation (issue 10 item 5): honest peers spread over address groups
 * and an attacker with k machines, stepped under a fake clock. It models the membership layer
 * (who holds a link to whom, and what each link and identity cost), not each message: an item
 * reaches every honest peer connected to its origin through honest links (the many-peer tests
 * show the engine's push + IHAVE/IWANT repair delivering around peers that drop everything),
 * so delivery is measured as honest reachability while every attacker identity drops what it
 * relays.
 *
 * Hash power is accounted as a rate of attempts per simulated second rather than by solving
 * puzzles: one honest machine does `hashRate` sha256-bits attempts per second (measured by the
 * benchmark on the native solver), the attacker k times that. A puzzle of b bits costs 2^b
 * attempts on average. The neighbour choice and the inbound admission of honest peers are the
 * product's own functions (`diversity.ts`); the connection difficulty comes from seed 003's
 * controller of the admission core, one per honest listener.
 */
import { QueueDifficultyController } from '../../src/admission/difficulty.js';
import { admissionLimits } from '../../src/admission/limits.js';
import {
  admitInbound,
  chooseAnchors,
  type DiversityLimits,
  diversityLimits,
  type GroupKey,
  type InboundLink,
  type OutboundTable,
  outboundTable,
  outboundTarget,
  pickOutbound,
} from '../../src/protocol/gossip/diversity.js';
import { GOSSIP_DEFAULTS } from '../../src/protocol/gossip/limits.js';
import { seededRandom } from '../../src/protocol/gossip/random.js';

/** The admission PoW in force: none; seed 002's verification PoW; + CONN (seed 000); + KEEP (seed 000). */
export type Setting = 'none' | 'verify' | 'conn' | 'keep';
export const SETTINGS: readonly Setting[] = ['none', 'verify', 'conn', 'keep'];

/**
 * What the attacker tries: (a) as many identities as it can keep alive (one link each, the
 * least that keeps an identity in the network) or as many links as it can hold (packed onto
 * few identities); (b) to eclipse one chosen peer. In every strategy its identities drop every
 * item they relay (c).
 */
export type Strategy = 'identities' | 'links' | 'eclipse';

/**
 * Keep-alive parameters of seed 000's KEEP_CHALL/KEEP_POW rounds as the engine runs them
 * (src/protocol/gossip/keep.ts, its defaults): one PoW per identity per round whatever its
 * degree (per `keepMaxChalls` links), over challenges that are not known before the round
 * starts. The attacker solves from the round's KEEP_CHALLs (t0) to the checkers' deadline
 * (t0 + window + skew); an honest peer collects until t0 + `keepCollectMs`, then solves, and
 * must be done by its own t0 + window.
 */
export const KEEP_DEFAULTS = {
  keepBits: GOSSIP_DEFAULTS.keepBits,
  keepPeriodMs: GOSSIP_DEFAULTS.keepPeriodMs,
  /** The attacker's solving time in a round: from the KEEP_CHALLs to the deadline. */
  keepWindowMs: GOSSIP_DEFAULTS.keepWindowMs + GOSSIP_DEFAULTS.keepSkewMs,
  /** An honest peer's solving time in a round: after collecting, before its own window ends. */
  honestSolveMs: GOSSIP_DEFAULTS.keepWindowMs - GOSSIP_DEFAULTS.keepCollectMs,
  /** KEEP_CHALLs one KEEP_POW may carry (one per link). */
  maxKeepChalls: GOSSIP_DEFAULTS.keepMaxChalls,
} as const;

export interface SybilCosts {
  /** sha256-bits attempts per second of one machine (one core). */
  readonly hashRate: number;
  /** A handshake (key pair, signature, key agreement) in attempt-equivalents of CPU. */
  readonly handshakeAttempts: number;
  readonly powBits: number;
  readonly verifiedTtlMs: number;
  readonly keepBits: number;
  readonly keepPeriodMs: number;
  readonly keepWindowMs: number;
  readonly honestSolveMs: number;
  readonly maxKeepChalls: number;
  /** Seed 003 controller over the listener's pending connections: queue size and drain rate. */
  readonly connQueueSize: number;
  readonly connServicePerSec: number;
  readonly connMaxDifficulty: number;
}

export function defaultCosts(hashRate: number, handshakeAttempts: number): SybilCosts {
  return {
    hashRate,
    handshakeAttempts,
    powBits: GOSSIP_DEFAULTS.powBits,
    verifiedTtlMs: GOSSIP_DEFAULTS.verifiedTtlMs,
    ...KEEP_DEFAULTS,
    connQueueSize: admissionLimits.defaults.queueSize,
    connServicePerSec: 50,
    connMaxDifficulty: admissionLimits.defaults.maxDifficulty,
  };
}

export interface SybilOptions {
  readonly honest: number;
  readonly groups: number;
  readonly k: number;
  readonly setting: Setting;
  readonly strategy: Strategy;
  /** The structural defences of diversity.ts; off = first come, first served, uniform choice. */
  readonly structure: boolean;
  readonly costs: SybilCosts;
  readonly degree?: number;
  readonly maxLinks?: number;
  readonly limits?: DiversityLimits;
  readonly seed?: number;
  /** Honest-only operation before the attack starts (anchors form). */
  readonly warmupMs?: number;
  readonly attackMs?: number;
  readonly stepMs?: number;
  /** Mean time between restarts of an honest peer (exponential); a restart drops its links. */
  readonly meanUptimeMs?: number;
  readonly sampleMs?: number;
  /** Eclipse: the victim restarts this long after the attack started (the attacker waits for it). */
  readonly victimRestartMs?: number;
  /** Honest origins per delivery measurement. */
  readonly origins?: number;
}

export interface SybilSample {
  /** Since the attack started (ms). */
  readonly at: number;
  readonly identities: number;
  readonly links: number;
  /** Online honest peers (up at least one step) with no honest neighbour. */
  readonly eclipsed: number;
  readonly delivery: number;
}

export interface SybilResult {
  readonly options: Omit<SybilOptions, 'costs' | 'limits'>;
  readonly samples: SybilSample[];
  readonly maxIdentities: number;
  readonly maxLinks: number;
  readonly maxEclipsed: number;
  readonly minDelivery: number;
  /** Eclipse strategy: the victim had no honest neighbour at some step after its restart. */
  readonly victimEclipsed: boolean;
  /** Attacker links the victim held at most, and honest neighbours it had at least, after its restart. */
  readonly victimMaxAttackerLinks: number;
  readonly victimMinHonest: number;
  /** Fraction of one core an honest peer spends on KEEP (expected). */
  readonly honestKeepCpu: number;
  /** Fraction of one core an honest peer spent on verification and CONN solves during the attack (mean; churn included). */
  readonly honestAdmissionCpu: number;
  /** Honest links lost because a KEEP was not solved within the window. */
  readonly honestKeepFailures: number;
  /** Links (to anyone) per online honest peer at the end. */
  readonly honestLinksPerPeer: number;
  /** Attacker attempts spent per held link per hour (mean over the attack's second half). */
  readonly attackerAttemptsPerLinkHour: number;
  readonly steps: number;
}

interface Peer {
  readonly group: number;
  online: boolean;
  since: number;
  nextRestart: number;
  /** Neighbour node -> when it was verified by us (dialled by us). */
  readonly out: Map<number, number>;
  /** Neighbour node -> when the link opened (dialled by it). */
  readonly inb: Map<number, number>;
  anchors: number[];
  readonly ctrl: QueueDifficultyController;
  queueLevel: number;
}

interface Identity {
  readonly machine: number;
  readonly links: Set<number>;
}

export function runSybil(opts: SybilOptions): SybilResult {
  return new SybilNet(opts).run();
}

class SybilNet {
  private readonly N: number;
  private readonly c: SybilCosts;
  private readonly lim: DiversityLimits;
  private readonly degree: number;
  private readonly maxLinks: number;
  private readonly stepMs: number;
  private readonly rand;
  private readonly peers: Peer[] = [];
  private readonly ids: Identity[] = [];
  /** Identities per machine, for reuse. */
  private readonly byMachine: number[][];
  private readonly attackerGroups: number;
  private now = 0;
  private attackStart: number;
  private budget = 0;
  private readonly pairVerified = new Map<number, number>();
  private honestAdmissionAttempts = 0;
  private honestKeepFailures = 0;
  private attackerSpent = 0;
  private linkSeconds = 0;
  private victim = -1;
  private victimRestarted = false;
  private victimEclipsed = false;
  private victimMaxAttacker = 0;
  private victimMinHonest = Number.POSITIVE_INFINITY;
  private cursor = 0;
  /** Attacker identities with at least one link, and their links. */
  private alive = 0;
  private links = 0;

  constructor(private readonly o: SybilOptions) {
    this.N = o.honest;
    this.c = o.costs;
    this.lim = o.limits ?? diversityLimits.defaults;
    this.degree = o.degree ?? GOSSIP_DEFAULTS.degree;
    this.maxLinks = o.maxLinks ?? GOSSIP_DEFAULTS.maxLinks;
    this.stepMs = o.stepMs ?? 10_000;
    this.rand = seededRandom(o.seed ?? 1);
    this.attackStart = o.warmupMs ?? 40 * 60_000;
    this.attackerGroups = Math.max(1, Math.ceil(o.k / 4));
    this.byMachine = Array.from({ length: o.k }, () => []);
    const uptime = o.meanUptimeMs ?? 2 * 3_600_000;
    for (let i = 0; i < this.N; i++) {
      this.peers.push({
        group: i % o.groups,
        online: true,
        since: 0,
        nextRestart: this.expo(uptime),
        out: new Map(),
        inb: new Map(),
        anchors: [],
        ctrl: new QueueDifficultyController({
          queueSize: this.c.connQueueSize,
          maxDifficulty: this.c.connMaxDifficulty,
        }),
        queueLevel: 0,
      });
    }
    if (o.strategy === 'eclipse') this.victim = this.rand.int(this.N);
  }

  private expo(mean: number): number {
    return -Math.log(1 - (this.rand.next32() + 0.5) / 2 ** 32) * mean;
  }

  // Nodes: 0..N-1 honest peers, N + i attacker identity i.
  private isHonest(node: number): boolean {
    return node < this.N;
  }
  private addressOf(node: number): number {
    return node < this.N ? node : this.N + this.ids[node - this.N]!.machine;
  }
  private groupOf(node: number): number {
    return node < this.N
      ? this.peers[node]!.group
      : this.o.groups + this.machineGroup(this.ids[node - this.N]!.machine);
  }
  private machineGroup(machine: number): number {
    return machine % this.attackerGroups;
  }

  private linked(a: number, b: number): boolean {
    if (this.isHonest(a)) {
      const p = this.peers[a]!;
      return p.out.has(b) || p.inb.has(b);
    }
    return this.ids[a - this.N]!.links.has(b);
  }

  private unlink(a: number, b: number): void {
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      if (this.isHonest(x)) {
        const p = this.peers[x]!;
        p.out.delete(y);
        p.inb.delete(y);
      } else {
        const links = this.ids[x - this.N]!.links;
        if (links.delete(y)) {
          this.links--;
          if (links.size === 0) this.alive--;
        }
      }
    }
  }

  private dropAll(node: number): void {
    const neighbours = this.isHonest(node)
      ? [...this.peers[node]!.out.keys(), ...this.peers[node]!.inb.keys()]
      : [...this.ids[node - this.N]!.links];
    for (const other of neighbours) this.unlink(node, other);
  }

  /** Verification PoW for a new pairing (both directions), if not remembered; returns true if paid. */
  private verify(honest: number, other: number, attackerPays: boolean): boolean {
    if (this.o.setting === 'none') return true;
    const key = honest * 1e7 + other;
    const until = this.pairVerified.get(key);
    if (until !== undefined && until > this.now) return true;
    const cost = 2 ** this.c.powBits;
    if (attackerPays) {
      if (this.budget < cost) return false;
      this.spend(cost);
    }
    // The honest peer proves itself to the other side as well (after a stranger proved first).
    if (this.now >= this.attackStart) this.honestAdmissionAttempts += this.isHonest(other) ? 2 * cost : cost;
    this.pairVerified.set(key, this.now + this.c.verifiedTtlMs);
    return true;
  }

  private spend(attempts: number): void {
    this.budget -= attempts;
    this.attackerSpent += attempts;
  }

  /** CONN difficulty the listener asks of a new connection now (seed 003 controller over its queue). */
  private connCost(listener: number): number {
    if (this.o.setting !== 'conn' && this.o.setting !== 'keep') return 0;
    const p = this.peers[listener]!;
    const full = p.queueLevel >= this.c.connQueueSize;
    if (!full) p.queueLevel++;
    const bits = p.ctrl.arrive({ queueFull: full });
    return bits === 0 ? 0 : 2 ** bits;
  }

  /** Inbound places: `maxLinks` less the outbound links a peer with no inbound link dials. */
  private maxInbound(): number {
    return this.maxLinks - outboundTarget(this.degree, 0, this.lim);
  }

  private inboundList(p: Peer): InboundLink<number>[] {
    const out: InboundLink<number>[] = [];
    // Honest neighbours relay items to us; attacker identities drop them (strategy c).
    for (const [node, openedAt] of p.inb)
      out.push({
        key: node,
        address: this.addressOf(node),
        group: this.groupOf(node),
        openedAt,
        useful: this.isHonest(node),
      });
    return out;
  }

  /** Admission of an inbound link at honest `to` from `address` in `group`; evicts if the policy says so. */
  private admit(to: number, address: number, group: number): boolean {
    const p = this.peers[to]!;
    if (!p.online) return false;
    if (!this.o.structure) return p.out.size + p.inb.size < this.maxLinks;
    const verdict = admitInbound(this.inboundList(p), address, group, this.maxInbound(), this.lim);
    if (!verdict.ok) return false;
    if (verdict.evict !== undefined) this.unlink(to, verdict.evict);
    return true;
  }

  run(): SybilResult {
    const attackMs = this.o.attackMs ?? 60 * 60_000;
    const end = this.attackStart + attackMs;
    const sampleMs = this.o.sampleMs ?? 5 * 60_000;
    const samples: SybilSample[] = [];
    let steps = 0;
    let nextSample = this.attackStart;
    let nextKeep = this.c.keepPeriodMs;
    let spentAt = 0;
    let linkSecondsAt = 0;
    for (this.now = 0; this.now <= end; this.now += this.stepMs) {
      steps++;
      const attacking = this.now >= this.attackStart;
      this.churn();
      if (attacking) this.budget = this.o.k * this.c.hashRate * (this.stepMs / 1000);
      if (this.o.setting === 'keep' && this.now >= nextKeep) {
        nextKeep += this.c.keepPeriodMs;
        this.keepRound();
      }
      // The attacker watches and moves first: a peer that just restarted meets it before it
      // dialled anyone (the moment an eclipse attack waits for).
      if (attacking) this.attack();
      this.honestUpkeep();
      for (const p of this.peers)
        p.queueLevel = Math.max(0, p.queueLevel - this.c.connServicePerSec * (this.stepMs / 1000));
      if (attacking) {
        const links = this.attackerLinks();
        this.linkSeconds += links * (this.stepMs / 1000);
        this.watchVictim();
        if (this.now - this.attackStart === Math.floor(attackMs / 2 / this.stepMs) * this.stepMs) {
          spentAt = this.attackerSpent;
          linkSecondsAt = this.linkSeconds;
        }
      }
      if (this.now >= nextSample) {
        nextSample += sampleMs;
        samples.push(this.sample());
      }
    }
    const heldHours = (this.linkSeconds - linkSecondsAt) / 3600;
    const honestSeconds = this.N * (attackMs / 1000);
    return {
      options: {
        honest: this.N,
        groups: this.o.groups,
        k: this.o.k,
        setting: this.o.setting,
        strategy: this.o.strategy,
        structure: this.o.structure,
      },
      samples,
      maxIdentities: Math.max(...samples.map((s) => s.identities)),
      maxLinks: Math.max(...samples.map((s) => s.links)),
      maxEclipsed: Math.max(...samples.map((s) => s.eclipsed)),
      minDelivery: Math.min(...samples.map((s) => s.delivery)),
      victimEclipsed: this.victimEclipsed,
      victimMaxAttackerLinks: this.victimMaxAttacker,
      victimMinHonest: Number.isFinite(this.victimMinHonest) ? this.victimMinHonest : 0,
      honestKeepCpu:
        this.o.setting === 'keep'
          ? 2 ** this.c.keepBits / (this.c.hashRate * (this.c.keepPeriodMs / 1000))
          : 0,
      honestAdmissionCpu: this.honestAdmissionAttempts / this.c.hashRate / honestSeconds,
      honestKeepFailures: this.honestKeepFailures,
      honestLinksPerPeer: this.peers.reduce((n, p) => n + p.out.size + p.inb.size, 0) / this.N,
      attackerAttemptsPerLinkHour: heldHours > 0 ? (this.attackerSpent - spentAt) / heldHours : 0,
      steps,
    };
  }

  private churn(): void {
    for (let i = 0; i < this.N; i++) {
      const p = this.peers[i]!;
      const forced =
        i === this.victim &&
        !this.victimRestarted &&
        this.now >= this.attackStart + (this.o.victimRestartMs ?? 10 * 60_000);
      if (p.nextRestart > this.now && !forced) continue;
      if (forced) this.victimRestarted = true;
      this.restart(i);
      p.nextRestart = this.now + this.expo(this.o.meanUptimeMs ?? 2 * 3_600_000);
    }
  }

  /** A restart drops every link; anchors are remembered (structure) and dialled first. */
  private restart(i: number): void {
    const p = this.peers[i]!;
    if (this.o.structure) {
      const outbound = [...p.out].map(([key, verifiedSince]) => ({ key, verifiedSince }));
      const fresh = chooseAnchors(outbound, this.now, this.lim);
      p.anchors = fresh.length > 0 ? fresh : p.anchors;
    }
    this.dropAll(i);
    p.since = this.now;
  }

  private keepRound(): void {
    // Honest peers: one PoW per round; a peer that did not finish within the window loses its links.
    const miss = Math.exp((-this.c.hashRate * (this.c.honestSolveMs / 1000)) / 2 ** this.c.keepBits);
    for (let i = 0; i < this.N; i++) {
      if (this.rand.next32() / 2 ** 32 < miss) {
        this.honestKeepFailures += this.peers[i]!.out.size + this.peers[i]!.inb.size;
        this.dropAll(i);
      }
    }
    if (this.now < this.attackStart) return;
    // The attacker keeps alive what its machines solve within one window, most-linked first.
    const capacity = Math.floor(
      (this.o.k * this.c.hashRate * (this.c.keepWindowMs / 1000)) / 2 ** this.c.keepBits,
    );
    const alive = this.ids.map((id, i) => ({ i, n: id.links.size })).filter((x) => x.n > 0);
    alive.sort((a, b) => b.n - a.n);
    for (const { i } of alive.slice(capacity)) this.dropAll(this.N + i);
    const kept = Math.min(capacity, alive.length);
    this.spend(kept * 2 ** this.c.keepBits);
  }

  /** Identities the attacker can still keep alive this round (KEEP capacity minus those alive). */
  private keepRoom(): number {
    if (this.o.setting !== 'keep') return Number.POSITIVE_INFINITY;
    const capacity = Math.floor(
      (this.o.k * this.c.hashRate * (this.c.keepWindowMs / 1000)) / 2 ** this.c.keepBits,
    );
    return capacity - this.alive;
  }

  /** The candidate table honest peers choose outbound neighbours from. */
  private candidates(): { table: OutboundTable<number>; online: number[]; attackerListed: number } {
    const online: number[] = [];
    for (let i = 0; i < this.N; i++) if (this.peers[i]!.online) online.push(i);
    // Every attacker group is listed once the attack runs (worst case: its addresses answered
    // our dial-back and reached every table), marked by -1 - group.
    const entries = [...online];
    if (this.now >= this.attackStart) for (let g = 0; g < this.attackerGroups; g++) entries.push(-1 - g);
    const table = outboundTable(entries, (e) => (e >= 0 ? this.peers[e]!.group : this.o.groups - 1 - e));
    const attackerListed = this.now >= this.attackStart ? Math.max(this.o.k, this.ids.length) : 0;
    return { table, online, attackerListed };
  }

  private honestUpkeep(): void {
    const { table, online, attackerListed } = this.candidates();
    for (let i = 0; i < this.N; i++) {
      const p = this.peers[i]!;
      if (!p.online) continue;
      const target = this.o.structure
        ? outboundTarget(this.degree, p.inb.size, this.lim)
        : this.degree - p.inb.size;
      let tries = 0;
      if (p.out.size >= target) continue;
      if (this.o.structure) {
        for (const a of p.anchors) {
          if (p.out.size >= target) break;
          if (this.isHonest(a)) this.dialHonest(i, a);
          else if (this.ids[a - this.N] !== undefined && this.ids[a - this.N]!.links.size > 0)
            this.dialAttacker(i, this.ids[a - this.N]!.machine, a);
        }
      }
      const used = new Set<GroupKey>();
      for (const n of p.out.keys()) used.add(this.groupOf(n));
      while (p.out.size < target && p.out.size + p.inb.size < this.maxLinks && tries++ < 2 * this.degree) {
        if (this.o.structure) {
          const before = p.out.size;
          const pick = pickOutbound(table, used, this.rand);
          if (pick === undefined) break;
          if (pick >= 0) this.dialHonest(i, pick);
          else this.dialAttacker(i, this.machineInGroup(-1 - pick), undefined);
          if (p.out.size > before) used.add(pick >= 0 ? this.peers[pick]!.group : this.o.groups - 1 - pick);
        } else {
          // Without the structure the known list is keyed by address with no caps: the victim's
          // fills with attacker addresses (the HELLO hole of issue 10 item 4), up to maxKnownPeers.
          const listed =
            i === this.victim ? Math.max(attackerListed, GOSSIP_DEFAULTS.maxKnownPeers) : attackerListed;
          const r = this.rand.int(online.length + listed);
          if (r < online.length) this.dialHonest(i, online[r]!);
          else this.dialAttacker(i, this.rand.int(this.o.k), undefined);
        }
      }
    }
  }

  private machineInGroup(g: number): number {
    const count = Math.ceil((this.o.k - g) / this.attackerGroups);
    return g + this.attackerGroups * this.rand.int(count);
  }

  private dialHonest(from: number, to: number): void {
    if (from === to || this.linked(from, to)) return;
    const cost = this.connCost(to);
    if (this.now >= this.attackStart) this.honestAdmissionAttempts += cost;
    if (!this.admit(to, this.addressOf(from), this.groupOf(from))) return;
    this.verify(from, to, false);
    this.peers[from]!.out.set(to, this.now);
    this.peers[to]!.inb.set(from, this.now);
  }

  /** An honest peer dialled an attacker address: the attacker answers with an identity it can pay for. */
  private dialAttacker(from: number, machine: number, wanted: number | undefined): void {
    if (this.now < this.attackStart) return;
    const node = wanted ?? this.identityFor(machine, from);
    if (node === undefined || this.linked(from, node)) return;
    if (!this.verify(from, node, true)) return;
    this.peers[from]!.out.set(node, this.now);
    this.linkAttacker(node, from);
  }

  /** An identity on `machine` for a new link to honest `to`, new or reused per strategy, or none if unaffordable. */
  private identityFor(machine: number, to: number): number | undefined {
    if (this.o.strategy !== 'identities') {
      for (const i of this.byMachine[machine]!) {
        const id = this.ids[i]!;
        if (id.links.size > 0 && id.links.size < this.c.maxKeepChalls && !id.links.has(to)) return this.N + i;
      }
    }
    if (this.keepRoom() <= 0) return undefined;
    if (this.budget < this.c.handshakeAttempts) return undefined;
    this.spend(this.c.handshakeAttempts);
    this.ids.push({ machine, links: new Set() });
    this.byMachine[machine]!.push(this.ids.length - 1);
    return this.N + this.ids.length - 1;
  }

  private attack(): void {
    if (this.o.k === 0) return;
    const targets = this.o.strategy === 'eclipse' ? [this.victim] : undefined;
    const n = targets?.length ?? this.N;
    let idle = 0;
    // Round-robin over honest peers (or the victim), until a whole pass gains nothing or the
    // step's hash power is spent.
    while (idle < n && this.budget > this.c.handshakeAttempts) {
      const to = targets === undefined ? this.cursor++ % this.N : targets[0]!;
      if (this.dialFromAttacker(to)) idle = 0;
      else idle++;
      if (targets !== undefined && idle > 0) break;
    }
  }

  /** One attacker dial to honest `to` from the machine with most room there; true if a link was made. */
  private dialFromAttacker(to: number): boolean {
    const p = this.peers[to]!;
    if (!p.online) return false;
    // It dials only into free places: a full peer's eviction falls on the most crowded group,
    // which is the attacker's own (diversity.ts), so displacing there gains it nothing.
    if (this.o.structure ? p.inb.size >= this.maxInbound() : p.out.size + p.inb.size >= this.maxLinks)
      return false;
    // The attacker knows its own links, so it dials from a machine under the caps at `to`.
    const perAddress = new Map<number, number>();
    const perGroup = new Map<number, number>();
    for (const node of p.inb.keys()) {
      if (this.isHonest(node)) continue;
      const m = this.ids[node - this.N]!.machine;
      perAddress.set(m, (perAddress.get(m) ?? 0) + 1);
      perGroup.set(this.machineGroup(m), (perGroup.get(this.machineGroup(m)) ?? 0) + 1);
    }
    const start = this.rand.int(this.o.k);
    let machine = -1;
    for (let j = 0; j < this.o.k; j++) {
      const m = (start + j) % this.o.k;
      if (
        !this.o.structure ||
        ((perAddress.get(m) ?? 0) < this.lim.maxInboundPerAddress &&
          (perGroup.get(this.machineGroup(m)) ?? 0) < this.lim.maxInboundPerGroup)
      ) {
        machine = m;
        break;
      }
    }
    if (machine < 0) return false;
    const conn = this.connCost(to);
    if (this.budget < conn + this.c.handshakeAttempts + 2 ** this.c.powBits) return false;
    this.spend(conn + this.c.handshakeAttempts);
    if (!this.admit(to, this.N + machine, this.o.groups + this.machineGroup(machine))) return false;
    const node = this.identityFor(machine, to);
    if (node === undefined) return false;
    if (!this.verify(to, node, true)) return false;
    p.inb.set(node, this.now);
    this.linkAttacker(node, to);
    return true;
  }

  private linkAttacker(node: number, honest: number): void {
    const links = this.ids[node - this.N]!.links;
    if (links.size === 0) this.alive++;
    links.add(honest);
    this.links++;
  }

  private attackerLinks(): number {
    return this.links;
  }

  private honestNeighbours(i: number): number {
    const p = this.peers[i]!;
    let n = 0;
    for (const x of p.out.keys()) if (this.isHonest(x)) n++;
    for (const x of p.inb.keys()) if (this.isHonest(x)) n++;
    return n;
  }

  private watchVictim(): void {
    if (this.victim < 0 || !this.victimRestarted) return;
    const p = this.peers[this.victim]!;
    if (this.now - p.since < this.stepMs) return;
    const honest = this.honestNeighbours(this.victim);
    const total = p.out.size + p.inb.size;
    this.victimMaxAttacker = Math.max(this.victimMaxAttacker, total - honest);
    this.victimMinHonest = Math.min(this.victimMinHonest, honest);
    if (honest === 0) this.victimEclipsed = true;
  }

  private sample(): SybilSample {
    const identities = this.alive;
    let eclipsed = 0;
    const online: number[] = [];
    for (let i = 0; i < this.N; i++) {
      const p = this.peers[i]!;
      if (!p.online) continue;
      online.push(i);
      if (this.now - p.since >= this.stepMs && this.honestNeighbours(i) === 0) eclipsed++;
    }
    // Delivery: every attacker identity drops what it relays, so an item reaches the honest
    // peers connected to its origin through honest links.
    const origins = this.o.origins ?? 10;
    let reached = 0;
    let wanted = 0;
    for (let o = 0; o < origins; o++) {
      const origin = online[this.rand.int(online.length)]!;
      const seen = new Uint8Array(this.N);
      seen[origin] = 1;
      const queue = [origin];
      while (queue.length > 0) {
        const x = queue.pop()!;
        const p = this.peers[x]!;
        for (const map of [p.out, p.inb])
          for (const y of map.keys()) {
            if (y >= this.N || seen[y] === 1) continue;
            seen[y] = 1;
            reached++;
            queue.push(y);
          }
      }
      wanted += online.length - 1;
    }
    return {
      at: this.now - this.attackStart,
      identities,
      links: this.attackerLinks(),
      eclipsed,
      delivery: wanted === 0 ? 1 : reached / wanted,
    };
  }
}
