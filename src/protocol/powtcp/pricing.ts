/**
 * The price of a powtcp puzzle: seed 003's queue controller on a virtual queue of the protected
 * resource, plus a per-identity surcharge for identities that ask for more puzzles than they
 * solve (issue 9 item 6, the difficulty inflation of Tor's proposal 362). No clock and no IO:
 * every call takes `now`.
 *
 * - **Only verified solves are load.** Seed 003's queue is the queue of work the service does;
 *   what reaches it is a request with a verified, redeemed solution. A `1:` costs the server a
 *   sealed challenge and nothing else, and an unsolved `3:` one SHA-1: neither enters the
 *   protected queue, so neither raises the price for everyone (they are bounded by the
 *   per-address bucket and priced by the surcharge below). Counting them let 16 addresses
 *   starting 256 loops drive the price to the ceiling in milliseconds (docs/powtcp.md).
 * - **Global queue.** A leaky bucket of q places draining at the service rate (verified solves
 *   a second the resource can serve); a solve that finds it full raises seed 003's d by one,
 *   at most once per drain time q / service rate: a burst of solves that were all priced before
 *   the last increment cannot stack several steps before the queue could react. Lowering waits
 *   a drain time after any change too, so the price settles where solves arrive at about the
 *   service rate (moving one 16x step each way around it).
 * - **Shares.** An identity's requests (`1:` and `3:`) are counted in a leaky counter that
 *   drains at serviceRate / loadShareIdentities and holds ceil(q / loadShareIdentities); a
 *   verified solve takes its two requests off again, so clients that solve never use up a
 *   share, even many behind one NAT address (seed 003's fallback identity).
 * - **Per-identity price.** A request beyond its identity's share gets a puzzle one digit above
 *   the global price (16x the work): the identity that asks without solving pays, nobody else.
 * - **Idle capacity lowers d.** Seed 003 lowers d after q arrivals in a row without an
 *   increment; with no arrivals d would stay up for ever. Capacity the service had and nobody
 *   used counts as quiet arrivals (q of them, one drain time, lower d by one), so d returns to
 *   idle within q / serviceRate seconds per step once the load stops (0.32 s with the defaults).
 */
import { QueueDifficultyController } from '../../admission/difficulty.js';

export interface PricingLimits {
  /** Seed 003's q: places in the virtual queue. */
  readonly queueSize: number;
  /** Verified solves per second the virtual queue drains at (the planned capacity). */
  readonly serviceRatePerSec: number;
  /** Floor and ceiling of the price in hex digits. */
  readonly minDifficulty: number;
  readonly maxDifficulty: number;
  /** The fewest identities that together can fill the queue. */
  readonly loadShareIdentities: number;
  /** Identities whose share counters are kept; beyond it the least recently seen is forgotten. */
  readonly maxLoadShareIdentities: number;
}

interface Share {
  level: number;
  at: number;
}

export class PowtcpPricing {
  readonly controller: QueueDifficultyController;
  private readonly shareSize: number;
  private readonly shareRatePerMs: number;
  private readonly queueRatePerMs: number;
  /** q / service rate: the time the queue takes to empty, and the least time between steps. */
  readonly drainMs: number;
  /** Least recently seen first: a Map keeps insertion order and each arrival re-inserts. */
  private readonly shares = new Map<string, Share>();
  private level = 0;
  private at: number;
  /** Fractional quiet arrivals not yet fed to the controller. */
  private quiet = 0;

  constructor(
    private readonly limits: PricingLimits,
    now: number,
  ) {
    // External = d + 1 digits at most maxDifficulty, so d stops at maxDifficulty - 1.
    this.drainMs = (limits.queueSize * 1000) / limits.serviceRatePerSec;
    this.controller = new QueueDifficultyController({
      queueSize: limits.queueSize,
      maxDifficulty: Math.max(0, limits.maxDifficulty - 1),
      stepIntervalMs: this.drainMs,
    });
    this.shareSize = Math.ceil(limits.queueSize / limits.loadShareIdentities);
    this.shareRatePerMs = limits.serviceRatePerSec / limits.loadShareIdentities / 1000;
    this.queueRatePerMs = limits.serviceRatePerSec / 1000;
    this.at = now;
  }

  private clamp(digits: number): number {
    return Math.min(this.limits.maxDifficulty, Math.max(this.limits.minDifficulty, digits));
  }

  /** Drains the global queue to `now`; unused capacity counts as quiet arrivals. */
  private drain(now: number): void {
    if (!(now > this.at)) return;
    const from = this.at;
    const capacity = (now - this.at) * this.queueRatePerMs;
    const spare = capacity - this.level;
    this.level = Math.max(0, this.level - capacity);
    this.at = now;
    if (spare <= 0) return;
    if (this.controller.internal === 0) {
      this.quiet = 0;
      return;
    }
    // The quiet arrivals are spread over the idle part of the interval, one per 1 / rate, so
    // the controller's one-step-per-drain-time rule sees them when they would have come.
    const idleFrom = Math.max(from, now - spare / this.queueRatePerMs);
    const carried = this.quiet;
    this.quiet += spare;
    // More than q * (d + 1) quiet arrivals bring d to 0 whatever the controller's run.
    const whole = Math.floor(this.quiet);
    const n = Math.min(whole, this.limits.queueSize * (this.controller.internal + 1));
    this.quiet -= whole;
    const skip = whole - n;
    for (let i = 0; i < n && this.controller.internal > 0; i++) {
      const t = idleFrom + (skip + i + 1 - carried) / this.queueRatePerMs;
      this.controller.arrive({ queueFull: false, nowMs: Math.min(now, t) });
    }
  }

  /** The global price in hex digits: what a newcomer's puzzle costs now. */
  price(now: number): number {
    this.drain(now);
    return this.clamp(Math.max(1, this.controller.external));
  }

  private share(identity: string, now: number): Share {
    let s = this.shares.get(identity);
    if (s === undefined) {
      s = { level: 0, at: now };
      if (this.shares.size >= this.limits.maxLoadShareIdentities) {
        // Forgetting the least recently seen identity gives it a fresh share: an attacker
        // needs more identities than this cap for that, which is many identities loading.
        const oldest = this.shares.keys().next().value;
        if (oldest !== undefined) this.shares.delete(oldest);
      }
    } else {
      this.shares.delete(identity);
      if (now > s.at) {
        s.level = Math.max(0, s.level - (now - s.at) * this.shareRatePerMs);
        s.at = now;
      }
    }
    this.shares.set(identity, s);
    return s;
  }

  /**
   * One request (`1:` or `3:`) from `identity` passed the rate limit; returns the price in hex
   * digits of a puzzle issued for it. It does not enter the global queue: only a verified solve
   * does (`solved`).
   */
  arrive(identity: string, now: number): number {
    this.drain(now);
    const s = this.share(identity, now);
    if (s.level + 1 > this.shareSize) return this.clamp(Math.max(1, this.controller.external) + 1);
    s.level += 1;
    return this.clamp(Math.max(1, this.controller.external));
  }

  /**
   * A verified, redeemed solve from `identity`: its `1:` and `3:` leave its share, and it enters
   * the protected queue, the load seed 003's rule counts.
   */
  solved(identity: string, now: number): void {
    this.drain(now);
    if (this.shares.has(identity)) {
      const s = this.share(identity, now);
      s.level = Math.max(0, s.level - 2);
    }
    const full = this.level > this.limits.queueSize - 1;
    this.controller.arrive({ queueFull: full, nowMs: now });
    if (!full) this.level += 1;
  }

  /** Identities whose share counters are kept (for tests and metrics). */
  get trackedIdentities(): number {
    return this.shares.size;
  }
}
