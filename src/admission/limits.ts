/**
 * Every limit of the admission layer, with its default (DESIGN "Limits, errors, logs": each
 * limit has a name, a default, a doc line and a test at limit + 1). Constructors take these
 * as options; the defaults below apply when an option is left out. Documented in
 * docs/architecture.md ("Admission control: limits").
 */
export const ADMISSION_LIMITS = {
  /** Default lifetime of a sealed challenge (ms); the powtcp reference uses 60 s. */
  challengeTtlMs: 60_000,
  /** Longest lifetime a sealed challenge may be given (ms); bounds replay memory (rate x lifetime). */
  maxChallengeTtlMs: 10 * 60_000,
  /**
   * How far in the future an issue time may lie and still be accepted (ms): clocks of
   * instances that share a key secret or a store drift a little; more than this is refused.
   */
  clockSkewMs: 2_000,
  /** Key rotation period (ms): a key seals for one period and is accepted for one more. */
  keyRotationMs: 10 * 60_000,
  /** Shortest allowed rotation period (ms): a period shorter than a challenge's TTL would reject live challenges. */
  minKeyRotationMs: 1_000,
  /** Size of a sealed challenge in bytes, smallest (two IPv4 endpoints) and largest (two IPv6). */
  minSealedBytes: 83,
  maxSealedBytes: 107,
  /** Highest difficulty a sealed challenge can carry (one byte on the wire; sha256-bits counts bits). */
  maxSealedDifficulty: 255,
  /** Hard cap on replay entries in a MemoryStore; beyond it new redemptions are refused (fail closed). */
  maxReplayEntries: 1_000_000,
  /** Hard cap on token buckets in a MemoryStore; beyond it new identities are refused (fail closed). */
  maxTokenBuckets: 1_000_000,
  /** Width of one time bucket of the MemoryStore's expiry wheel (ms): entries are dropped a bucket at a time. */
  storeBucketMs: 1_000,
  /** Farthest expiry (ms from now) a MemoryStore accepts: longest TTL + skew for a future issue time + skew kept after expiry. */
  maxStoreTtlMs: 10 * 60_000 + 2 * 2_000,
  /** Longest key a store accepts (characters); keys are short prefixed identifiers. */
  maxStoreKeyLength: 128,
  /** Default queue size q of seed 003's controller. */
  queueSize: 64,
  /** Largest queue size q accepted. */
  maxQueueSize: 1_000_000,
  /** Default cap on the internal difficulty d (sha256-bits: leading zero bits). */
  maxDifficulty: 32,
  /** Rate limit defaults: tokens per second and bucket capacity per identity. */
  ratePerSec: 10,
  burst: 20,
  /** Highest rate and burst accepted (per identity). */
  maxRatePerSec: 1_000_000,
  maxBurst: 1_000_000,
} as const;

export type AdmissionLimits = typeof ADMISSION_LIMITS;
