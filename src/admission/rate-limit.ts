/**
 * Rate limits per costly identity (seed 003, "Sky Node Attacks": "requiring a fixed cost to a
 * specific identity and imposing a local per-node rate limit based on that fixed cost
 * identity (which allows for bursting)"). The identity is the public address: an IPv4
 * address (/32) or an IPv6 /64, the smallest block a residential or mobile IPv6 user gets,
 * so that rotating through the addresses of one /64 buys nothing.
 *
 * **PoW as the fallback identity.** Seed 003: "one public IP address can be shared by up to
 * tens of thousands of honest clients through NAT. In these cases we can use proof of work
 * to provide a secondary costly identity as a fallback". Here the fallback is *credit*: a
 * client whose shared address ran out of tokens solves a sealed challenge, and after the
 * pipeline verified and redeemed it the server calls `credit(ip, creditPerSolve)` and then
 * `take(ip)`. Chosen over a separate PoW-keyed bucket per client because:
 * - it adds no new kind of state: a PoW-keyed bucket per client is exactly the per-stranger
 *   state an attacker could mint in bulk to fill memory, while credit only refills buckets
 *   that already exist (an absent bucket is full and stays absent);
 * - each credited token was paid for by one redeemed solve (the replay guard makes every
 *   solve count once), so an attacker behind the same NAT gains nothing he did not pay for,
 *   and credit is capped at `burst`, so nobody can bank work for later floods;
 * - the client stays anonymous: no identifier links its requests to each other.
 */
import type { Clock } from '../util/clock.js';
import { systemClock } from '../util/clock.js';
import { ArgumentError } from '../util/errors.js';
import { formatAddressBytes, hostBytes } from './endpoint.js';
import { ADMISSION_LIMITS } from './limits.js';
import type { Store } from './store.js';
import { checkBucketArgs, StoreFullError } from './store.js';

/**
 * The costly identity of an address: "v4:1.2.3.4" (/32) or "v6:2001:db8:1:2::/64" (/64).
 * An IPv4-mapped IPv6 address is its IPv4 address. Throws ArgumentError for a non-address.
 */
export function identityOf(ip: string): string {
  const bytes = hostBytes(ip, 'ip');
  if (bytes.length === 4) return `v4:${formatAddressBytes(bytes)}`;
  const prefix = new Uint8Array(16);
  prefix.set(bytes.subarray(0, 8));
  return `v6:${formatAddressBytes(prefix)}/64`;
}

/**
 * The group an address's caps count against (DESIGN admission pipeline step 2, issue 9):
 * "v4:1.2.3.4" (/32) or "v6:2001:db8:1::/48". A /64 is the rate identity, but a site gets a
 * /48 as easily as a home gets a /64, so what a stranger may hold (connections, queue places)
 * is capped per /48. Throws ArgumentError for a non-address.
 */
export function capGroupOf(ip: string): string {
  const bytes = hostBytes(ip, 'ip');
  if (bytes.length === 4) return `v4:${formatAddressBytes(bytes)}`;
  const prefix = new Uint8Array(16);
  prefix.set(bytes.subarray(0, 6));
  return `v6:${formatAddressBytes(prefix)}/48`;
}

export interface RateLimiterOptions {
  readonly store: Store;
  /** Tokens added per second per identity; default ADMISSION_LIMITS.ratePerSec. */
  readonly ratePerSec?: number;
  /** Bucket capacity: the burst an identity may spend at once; default ADMISSION_LIMITS.burst. */
  readonly burst?: number;
  readonly clock?: Clock;
  /** Prefix of store keys, so that several limiters can share one store; default "rate:". */
  readonly prefix?: string;
}

export type RateCode = 'ERR_RATE_LIMITED' | 'ERR_STORE_FULL';

/** The verdict of `take`: a Verdict with the wait before a retry can succeed. */
export type RateVerdict =
  | { readonly ok: true; readonly value: { readonly identity: string; readonly tokens: number } }
  | {
      readonly ok: false;
      readonly code: RateCode;
      readonly detail?: string;
      readonly identity: string;
      /** How long until the bucket holds enough tokens (ms). */
      readonly retryAfterMs: number;
    };

/** Token buckets per costly identity over a Store (DESIGN "The admission pipeline", step 2). */
export class RateLimiter {
  readonly ratePerSec: number;
  readonly burst: number;
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly prefix: string;

  constructor(options: RateLimiterOptions) {
    if (typeof options?.store?.takeTokens !== 'function')
      throw new ArgumentError('store', 'expected a Store');
    this.store = options.store;
    this.ratePerSec = options.ratePerSec ?? ADMISSION_LIMITS.ratePerSec;
    this.burst = options.burst ?? ADMISSION_LIMITS.burst;
    checkBucketArgs(1, this.ratePerSec, this.burst, 0, 'burst');
    this.clock = options.clock ?? systemClock;
    this.prefix = options.prefix ?? 'rate:';
  }

  /**
   * Takes `cost` tokens (default 1) from the bucket of `ip`'s identity. A full store refuses
   * new identities (`ERR_STORE_FULL`, fail closed) rather than forget existing buckets.
   */
  async take(ip: string, cost = 1): Promise<RateVerdict> {
    const identity = identityOf(ip);
    try {
      const r = await this.store.takeTokens(
        this.prefix + identity,
        cost,
        this.ratePerSec,
        this.burst,
        this.clock.now(),
      );
      if (r.allowed) return { ok: true, value: { identity, tokens: r.tokens } };
      return { ok: false, code: 'ERR_RATE_LIMITED', identity, retryAfterMs: r.retryAfterMs };
    } catch (err) {
      if (err instanceof StoreFullError) {
        return { ok: false, code: 'ERR_STORE_FULL', identity, retryAfterMs: ADMISSION_LIMITS.storeBucketMs };
      }
      throw err;
    }
  }

  /**
   * Adds `tokens` earned by a verified, redeemed PoW to the bucket of `ip`'s identity (capped
   * at burst); returns the tokens now in it. Call only after the pipeline admitted the solve.
   */
  credit(ip: string, tokens: number): Promise<number> {
    const identity = identityOf(ip);
    return this.store.addTokens(
      this.prefix + identity,
      tokens,
      this.ratePerSec,
      this.burst,
      this.clock.now(),
    );
  }
}
