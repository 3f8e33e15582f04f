/**
 * The price of a powtcp puzzle: seed 003's queue controller on a virtual queue, where each
 * costly identity may hold only its share of the queue (issue 9 item 6, the difficulty
 * inflation of Tor's proposal 362). No clock and no IO: every call takes `now`.
 *
 * - **Global queue.** A leaky bucket of q places draining at the planned service rate; an
 *   arrival that finds it full raises seed 003's d by one (docs/powtcp.md, "Difficulty").
 * - **Shares.** An identity's unsolved requests are counted in a leaky counter that drains at
 *   serviceRate / loadShareIdentities and holds at most ceil(q / loadShareIdentities). Only
 *   arrivals within that share enter the global queue, so fewer than `loadShareIdentities`
 *   identities can never fill it: load that few identities create cannot raise the price for
 *   everyone, and many distinct identities loading the server still do (real load).
 * - **Per-identity price.** An arrival beyond its identity's share gets a puzzle one digit
 *   above the global price (16x the work): the identity that loads pays, nobody else.
 * - **Solves give the share back.** A verified solve takes its two arrivals (`1:` and `3:`)
 *   off its identity's counter, so clients that solve never use up a share, even many of them
 *   behind one NAT address (seed 003's fallback identity); only requests that never solve do.
 * - **Idle capacity lowers d.** Seed 003 lowers d after q arrivals in a row without an
 *   increment; with no arrivals d would stay up for ever. Capacity the service had and nobody
 *   used counts as quiet arrivals (q of them lower d by one), so d returns to idle within
 *   q / serviceRate seconds per step once the load stops (0.32 s with the defaults).
 */
import { QueueDifficultyController } from '../../admission/difficulty.js';

export interface PricingLimits {
  /** Seed 003's q: places in the virtual queue. */
  readonly queueSize: number;
  /** Requests per second the virtual queue drains at (the planned capacity). */
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
    this.controller = new QueueDifficultyController({
      queueSize: limits.queueSize,
      maxDifficulty: Math.max(0, limits.maxDifficulty - 1),
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
    const capacity = (now - this.at) * this.queueRatePerMs;
    const spare = capacity - this.level;
    this.level = Math.max(0, this.level - capacity);
    this.at = now;
    if (spare <= 0) return;
    if (this.controller.internal === 0) {
      this.quiet = 0;
      return;
    }
    this.quiet += spare;
    // More than q * (d + 1) quiet arrivals bring d to 0 whatever the controller's run.
    let n = Math.min(Math.floor(this.quiet), this.limits.queueSize * (this.controller.internal + 1));
    this.quiet -= Math.floor(this.quiet);
    while (n-- > 0 && this.controller.internal > 0) this.controller.arrive({ queueFull: false });
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
   * digits of a puzzle issued for it.
   */
  arrive(identity: string, now: number): number {
    this.drain(now);
    const s = this.share(identity, now);
    if (s.level + 1 > this.shareSize) return this.clamp(Math.max(1, this.controller.external) + 1);
    s.level += 1;
    const full = this.level > this.limits.queueSize - 1;
    this.controller.arrive({ queueFull: full });
    if (!full) this.level += 1;
    return this.clamp(Math.max(1, this.controller.external));
  }

  /** A verified, redeemed solve from `identity`: its `1:` and `3:` leave its share. */
  solved(identity: string, now: number): void {
    if (!this.shares.has(identity)) return;
    const s = this.share(identity, now);
    s.level = Math.max(0, s.level - 2);
  }

  /** Identities whose share counters are kept (for tests and metrics). */
  get trackedIdentities(): number {
    return this.shares.size;
  }
}
