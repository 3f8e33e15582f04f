/**
 * Shared state of admission control: the replay guard's "redeemed" marks and the rate
 * limiter's token buckets. One interface, so that many server instances can share a Redis
 * store while a single process uses the bounded in-memory store below.
 */
import type { Clock } from '../util/clock.js';
import { systemClock } from '../util/clock.js';
import { ArgumentError, TollgateError } from '../util/errors.js';
import { ADMISSION_LIMITS } from './limits.js';

/**
 * The contract every store implements (MemoryStore here, RedisStore in the services).
 *
 * - **Atomicity.** Each method is one atomic step with respect to every other call on the
 *   same store, from any process sharing it: two concurrent `setIfAbsent` of one key give
 *   exactly one `true`; `takeTokens` refills and takes as one step, so concurrent takes never
 *   spend the same token twice. (Redis: one Lua script or `SET NX PXAT` per call.)
 * - **Absolute expiry.** `expiresAtMs` is milliseconds since the Unix epoch, not a duration,
 *   so that a retried or delayed call cannot stretch a lifetime. A key whose expiry has passed
 *   is absent: `setIfAbsent` on it returns true again. A store may drop expired keys later
 *   than their expiry (MemoryStore drops them a whole time bucket at a time) but never earlier.
 * - **Clock.** Expiry of `setIfAbsent` keys is judged on the store's clock (MemoryStore: the
 *   injected `Clock`; Redis: the server's clock). Token buckets are judged on the caller's
 *   `nowMs`, so instances sharing a store must keep their clocks within
 *   `ADMISSION_LIMITS.clockSkewMs`; a `nowMs` older than a bucket's last update counts as no
 *   time passed (a lagging clock never earns tokens).
 * - **Buckets.** A bucket never seen, or idle long enough to be full again, holds `burst`
 *   tokens; a store may drop a bucket once it is full, since it then equals an absent one.
 * - **Capacity.** A bounded store that cannot record a new key or bucket rejects with
 *   `StoreFullError` (`ERR_STORE_FULL`) rather than forget live entries: forgetting a
 *   redeemed challenge would let it be replayed, forgetting a bucket would hand out a burst.
 * - **Caller mistakes** (bad key, cost above burst, expiry beyond the store's horizon) throw
 *   `ArgumentError` synchronously or reject with it.
 */
export interface Store {
  /** Atomically sets `key` if absent, expiring at `expiresAtMs` (absolute ms). true = this call set it. */
  setIfAbsent(key: string, expiresAtMs: number): Promise<boolean>;
  /** Atomically refills then takes `cost` tokens from bucket `key` (rate tokens/s, capacity `burst`). */
  takeTokens(
    key: string,
    cost: number,
    ratePerSec: number,
    burst: number,
    nowMs: number,
  ): Promise<{ allowed: boolean; tokens: number; retryAfterMs: number }>;
  /** Adds tokens (PoW-earned credit), capped at `burst`. */
  addTokens(key: string, amount: number, ratePerSec: number, burst: number, nowMs: number): Promise<number>;
  close(): Promise<void>;
}

export type TakeResult = Awaited<ReturnType<Store['takeTokens']>>;

/** A bounded store is at its cap: it refuses new keys instead of forgetting live ones. */
export class StoreFullError extends TollgateError {
  constructor(what: string, cap: number) {
    super('ERR_STORE_FULL', `${what} is full (${cap} entries)`);
  }
}

/** A store was used after close(). */
export class StoreClosedError extends TollgateError {
  constructor() {
    super('ERR_STORE_CLOSED', 'store is closed');
  }
}

/** Argument checks shared by store implementations (the powtcp team's RedisStore uses them too). */
export function checkStoreKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > ADMISSION_LIMITS.maxStoreKeyLength) {
    throw new ArgumentError(
      'key',
      `expected a string of 1..${ADMISSION_LIMITS.maxStoreKeyLength} characters`,
    );
  }
}

export function checkBucketArgs(
  cost: number,
  ratePerSec: number,
  burst: number,
  nowMs: number,
  costName = 'cost',
): void {
  if (typeof burst !== 'number' || !(burst > 0) || burst > ADMISSION_LIMITS.maxBurst) {
    throw new ArgumentError(
      'burst',
      `expected a number in (0, ${ADMISSION_LIMITS.maxBurst}], got ${String(burst)}`,
    );
  }
  if (typeof ratePerSec !== 'number' || !(ratePerSec > 0) || ratePerSec > ADMISSION_LIMITS.maxRatePerSec) {
    throw new ArgumentError(
      'ratePerSec',
      `expected a number in (0, ${ADMISSION_LIMITS.maxRatePerSec}], got ${String(ratePerSec)}`,
    );
  }
  if (typeof cost !== 'number' || !(cost > 0) || cost > burst) {
    throw new ArgumentError(costName, `expected a number in (0, burst = ${burst}], got ${String(cost)}`);
  }
  if (typeof nowMs !== 'number' || !Number.isFinite(nowMs)) {
    throw new ArgumentError('nowMs', `expected a finite number, got ${String(nowMs)}`);
  }
}

/**
 * A ring of time buckets ("timing wheel"): each key sits in the slot of the bucket where its
 * deadline falls, and a sweep handles whole slots whose time has passed, so that cleanup
 * costs O(bucket) and no entry needs its own timer. Deadlines beyond the ring's span go to
 * its last slot and are re-filed when that slot comes round.
 */
class ExpiryWheel {
  private readonly slots: string[][];
  /** Every bucket index <= swept has been handled. */
  private swept: number;

  constructor(
    private readonly bucketMs: number,
    spanMs: number,
    nowMs: number,
  ) {
    this.slots = Array.from({ length: Math.ceil(spanMs / bucketMs) + 1 }, () => []);
    this.swept = Math.floor(nowMs / bucketMs) - 1;
  }

  add(key: string, deadlineMs: number): void {
    const n = this.slots.length;
    let idx = Math.floor(deadlineMs / this.bucketMs);
    if (idx <= this.swept) idx = this.swept + 1;
    else if (idx > this.swept + n) idx = this.swept + n;
    this.slots[idx % n]!.push(key);
  }

  /**
   * Handles every bucket that ended at or before `nowMs`: for each key, `deadlineOf` gives
   * its current deadline (undefined if gone); due keys go to `drop`, the others are re-filed.
   */
  sweep(nowMs: number, deadlineOf: (key: string) => number | undefined, drop: (key: string) => void): void {
    const last = Math.floor(nowMs / this.bucketMs) - 1;
    if (last <= this.swept) return;
    const n = this.slots.length;
    const from = Math.max(this.swept + 1, last - n + 1);
    const due: string[][] = [];
    for (let i = from; i <= last; i++) {
      const slot = this.slots[i % n]!;
      if (slot.length > 0) {
        due.push(slot);
        this.slots[i % n] = [];
      }
    }
    this.swept = last;
    for (const slot of due) {
      for (const key of slot) {
        const deadline = deadlineOf(key);
        if (deadline === undefined) continue;
        if (deadline <= nowMs) drop(key);
        else this.add(key, deadline);
      }
    }
  }
}

interface Bucket {
  tokens: number;
  /** Time of the last refill (ms). */
  at: number;
  /** When the bucket will be full again and may be dropped (ms). */
  fullAt: number;
}

export interface MemoryStoreOptions {
  /** The clock that judges replay expiry; default the system clock. */
  readonly clock?: Clock;
  /** Cap on replay entries; default ADMISSION_LIMITS.maxReplayEntries. */
  readonly maxEntries?: number;
  /** Cap on token buckets; default ADMISSION_LIMITS.maxTokenBuckets. */
  readonly maxBuckets?: number;
  /** Width of one time bucket (ms); default ADMISSION_LIMITS.storeBucketMs. */
  readonly bucketMs?: number;
  /** Farthest expiry accepted, in ms from now; default ADMISSION_LIMITS.maxStoreTtlMs. */
  readonly maxTtlMs?: number;
}

export interface MemoryStoreStats {
  readonly replayEntries: number;
  readonly tokenBuckets: number;
}

/**
 * The default store: one process, bounded memory.
 *
 * Replay entries live until their expiry and are dropped a whole time bucket at a time, so
 * memory is bounded by (accept rate x lifetime) and by `maxEntries`. At `maxEntries` live
 * entries a new key is refused with `StoreFullError` (fail closed) instead of forgetting a
 * live one. Token buckets are dropped once idle long enough to be full again; at
 * `maxBuckets` a new identity is refused the same way.
 *
 * Every method runs synchronously inside the returned promise, so each is atomic in one
 * process (Node runs one call at a time).
 */
export class MemoryStore implements Store {
  private readonly clock: Clock;
  private readonly maxEntries: number;
  private readonly maxBuckets: number;
  private readonly maxTtlMs: number;
  private readonly entries = new Map<string, number>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly entryWheel: ExpiryWheel;
  private readonly bucketWheel: ExpiryWheel;
  private bucketNow = Number.NEGATIVE_INFINITY;
  private closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.maxEntries = positiveInt('maxEntries', options.maxEntries ?? ADMISSION_LIMITS.maxReplayEntries);
    this.maxBuckets = positiveInt('maxBuckets', options.maxBuckets ?? ADMISSION_LIMITS.maxTokenBuckets);
    const bucketMs = positiveInt('bucketMs', options.bucketMs ?? ADMISSION_LIMITS.storeBucketMs);
    this.maxTtlMs = positiveInt('maxTtlMs', options.maxTtlMs ?? ADMISSION_LIMITS.maxStoreTtlMs);
    if (this.maxTtlMs / bucketMs > 1_000_000) throw new ArgumentError('bucketMs', 'too small for maxTtlMs');
    const now = this.clock.now();
    this.entryWheel = new ExpiryWheel(bucketMs, this.maxTtlMs, now);
    // Buckets may take long to refill; their deadlines beyond the span are re-filed.
    this.bucketWheel = new ExpiryWheel(bucketMs, this.maxTtlMs, now);
  }

  private readonly entryDeadline = (key: string) => this.entries.get(key);
  private readonly dropEntry = (key: string) => {
    this.entries.delete(key);
  };
  private readonly bucketDeadline = (key: string) => this.buckets.get(key)?.fullAt;
  private readonly dropBucket = (key: string) => {
    this.buckets.delete(key);
  };

  /** Synchronous core of setIfAbsent, for callers in the same process that want no promise. */
  setIfAbsentSync(key: string, expiresAtMs: number): boolean {
    if (this.closed) throw new StoreClosedError();
    checkStoreKey(key);
    const now = this.clock.now();
    if (
      typeof expiresAtMs !== 'number' ||
      !Number.isFinite(expiresAtMs) ||
      expiresAtMs > now + this.maxTtlMs
    ) {
      throw new ArgumentError(
        'expiresAtMs',
        `expected an absolute time (ms) at most ${this.maxTtlMs} ms ahead`,
      );
    }
    this.entryWheel.sweep(now, this.entryDeadline, this.dropEntry);
    const current = this.entries.get(key);
    if (current !== undefined && current > now) return false;
    // Already expired: set and gone at once; nothing to remember.
    if (expiresAtMs <= now) return true;
    if (current === undefined) {
      if (this.entries.size >= this.maxEntries) throw new StoreFullError('replay store', this.maxEntries);
      this.entries.set(key, expiresAtMs);
      this.entryWheel.add(key, expiresAtMs);
    } else {
      // Expired but not yet swept: the key still sits in a wheel slot, which re-files it.
      this.entries.set(key, expiresAtMs);
    }
    return true;
  }

  setIfAbsent(key: string, expiresAtMs: number): Promise<boolean> {
    try {
      return Promise.resolve(this.setIfAbsentSync(key, expiresAtMs));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private bucket(
    key: string,
    ratePerSec: number,
    burst: number,
    nowMs: number,
    create: boolean,
  ): Bucket | undefined {
    if (nowMs > this.bucketNow) this.bucketNow = nowMs;
    this.bucketWheel.sweep(this.bucketNow, this.bucketDeadline, this.dropBucket);
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (!create) return undefined;
      if (this.buckets.size >= this.maxBuckets)
        throw new StoreFullError('token bucket store', this.maxBuckets);
      b = { tokens: burst, at: nowMs, fullAt: nowMs };
      return b;
    }
    // A clock that lags the last update earns nothing (contract: "Clock").
    const elapsed = nowMs > b.at ? nowMs - b.at : 0;
    b.tokens = Math.min(burst, b.tokens + (elapsed * ratePerSec) / 1000);
    if (nowMs > b.at) b.at = nowMs;
    return b;
  }

  private file(key: string, b: Bucket, ratePerSec: number, burst: number): void {
    // A full bucket is left for the sweep to drop (fullAt <= now): deleting it here could file
    // one key in two wheel slots if it came back before its old slot was swept.
    b.fullAt = b.at + Math.ceil(((burst - b.tokens) * 1000) / ratePerSec);
    if (!this.buckets.has(key)) {
      this.buckets.set(key, b);
      this.bucketWheel.add(key, b.fullAt);
    }
  }

  takeTokensSync(key: string, cost: number, ratePerSec: number, burst: number, nowMs: number): TakeResult {
    if (this.closed) throw new StoreClosedError();
    checkStoreKey(key);
    checkBucketArgs(cost, ratePerSec, burst, nowMs);
    const b = this.bucket(key, ratePerSec, burst, nowMs, true)!;
    if (b.tokens >= cost) {
      b.tokens -= cost;
      this.file(key, b, ratePerSec, burst);
      return { allowed: true, tokens: b.tokens, retryAfterMs: 0 };
    }
    const retryAfterMs = Math.ceil(((cost - b.tokens) * 1000) / ratePerSec);
    return { allowed: false, tokens: b.tokens, retryAfterMs };
  }

  takeTokens(
    key: string,
    cost: number,
    ratePerSec: number,
    burst: number,
    nowMs: number,
  ): Promise<TakeResult> {
    try {
      return Promise.resolve(this.takeTokensSync(key, cost, ratePerSec, burst, nowMs));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  addTokensSync(key: string, amount: number, ratePerSec: number, burst: number, nowMs: number): number {
    if (this.closed) throw new StoreClosedError();
    checkStoreKey(key);
    checkBucketArgs(amount, ratePerSec, burst, nowMs, 'amount');
    // An absent bucket is full: credit cannot raise it above burst, so nothing to store.
    const b = this.bucket(key, ratePerSec, burst, nowMs, false);
    if (b === undefined) return burst;
    b.tokens = Math.min(burst, b.tokens + amount);
    this.file(key, b, ratePerSec, burst);
    return b.tokens;
  }

  addTokens(key: string, amount: number, ratePerSec: number, burst: number, nowMs: number): Promise<number> {
    try {
      return Promise.resolve(this.addTokensSync(key, amount, ratePerSec, burst, nowMs));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Live sizes, after dropping whatever has expired by now (for metrics and tests). */
  stats(): MemoryStoreStats {
    this.entryWheel.sweep(this.clock.now(), this.entryDeadline, this.dropEntry);
    this.bucketWheel.sweep(this.bucketNow, this.bucketDeadline, this.dropBucket);
    return { replayEntries: this.entries.size, tokenBuckets: this.buckets.size };
  }

  close(): Promise<void> {
    this.closed = true;
    this.entries.clear();
    this.buckets.clear();
    return Promise.resolve();
  }
}

function positiveInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new ArgumentError(name, `expected a positive integer, got ${String(value)}`);
  return value;
}
