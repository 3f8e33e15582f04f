/**
 * Every limit of the admission layer, in its one registry (DESIGN "Limits, errors, logs": each
 * limit has a name, a default, bounds, a doc line and a test at limit + 1). Constructors take
 * these as options; the defaults apply when an option is left out; the `fixed` ones are
 * ceilings and format sizes. The table in docs/architecture.md ("Admission control: limits")
 * is generated from this registry.
 */
import { defineLimits } from '../util/limits.js';

const MINUTE = 60_000;

export const admissionLimits = defineLimits('admission', {
  challengeTtlMs: {
    default: MINUTE,
    min: 1,
    max: 10 * MINUTE,
    unit: 'ms',
    doc: 'default lifetime of a sealed challenge; the powtcp reference uses 60 s',
  },
  maxChallengeTtlMs: {
    default: 10 * MINUTE,
    min: 1,
    max: 10 * MINUTE,
    unit: 'ms',
    fixed: true,
    doc: 'longest lifetime a sealed challenge may be given: bounds replay memory (rate x lifetime)',
  },
  clockSkewMs: {
    default: 2_000,
    min: 0,
    max: 2_000,
    unit: 'ms',
    fixed: true,
    doc: 'how far in the future an issue time may lie (instances sharing a key drift a little); also kept after expiry for replay marks',
  },
  keyRotationMs: {
    default: 10 * MINUTE,
    min: 1_000,
    max: 24 * 60 * MINUTE,
    unit: 'ms',
    doc: 'key period: a key seals for one period and is accepted for one more',
  },
  minKeyRotationMs: {
    default: 1_000,
    min: 1_000,
    max: 1_000,
    unit: 'ms',
    fixed: true,
    doc: "shortest rotation period: a period shorter than a challenge's TTL would reject live challenges",
  },
  minSealedBytes: {
    default: 83,
    min: 83,
    max: 83,
    unit: 'bytes',
    fixed: true,
    doc: 'size of a sealed challenge with two IPv4 endpoints',
  },
  maxSealedBytes: {
    default: 107,
    min: 107,
    max: 107,
    unit: 'bytes',
    fixed: true,
    doc: 'size of a sealed challenge with two IPv6 endpoints',
  },
  maxSealedDifficulty: {
    default: 255,
    min: 255,
    max: 255,
    unit: 'count',
    fixed: true,
    doc: 'highest difficulty a sealed challenge can carry (one byte; sha256-bits counts bits)',
  },
  maxReplayEntries: {
    default: 1_000_000,
    min: 1,
    max: 100_000_000,
    unit: 'count',
    doc: 'cap on live replay marks in a MemoryStore; beyond it new redemptions are refused (fail closed)',
  },
  maxTokenBuckets: {
    default: 1_000_000,
    min: 1,
    max: 100_000_000,
    unit: 'count',
    doc: 'cap on token buckets in a MemoryStore; beyond it new identities are refused (fail closed)',
  },
  storeBucketMs: {
    default: 1_000,
    min: 1_000,
    max: 1_000,
    unit: 'ms',
    fixed: true,
    doc: "width of one time bucket of the MemoryStore's expiry wheel: entries are dropped a bucket at a time",
  },
  maxStoreTtlMs: {
    default: 10 * MINUTE + 2 * 2_000,
    min: 1,
    max: 10 * MINUTE + 2 * 2_000,
    unit: 'ms',
    fixed: true,
    doc: 'farthest expiry a MemoryStore accepts: longest TTL + skew for a future issue time + skew kept after expiry',
  },
  maxStoreKeyLength: {
    default: 128,
    min: 128,
    max: 128,
    unit: 'count',
    fixed: true,
    doc: 'longest key a store accepts (characters); keys are short prefixed identifiers',
  },
  queueSize: {
    default: 64,
    min: 1,
    max: 1_000_000,
    unit: 'count',
    doc: "default queue size q of seed 003's controller",
  },
  maxQueueSize: {
    default: 1_000_000,
    min: 1_000_000,
    max: 1_000_000,
    unit: 'count',
    fixed: true,
    doc: 'largest queue size q accepted',
  },
  maxDifficulty: {
    default: 32,
    min: 0,
    max: 255,
    unit: 'bits',
    doc: 'default cap on the internal difficulty d (sha256-bits: leading zero bits)',
  },
  ratePerSec: {
    default: 10,
    min: 0,
    max: 1_000_000,
    unit: 'per second',
    real: true,
    doc: 'token bucket refill per identity (IPv4 /32, IPv6 /64)',
  },
  burst: { default: 20, min: 1, max: 1_000_000, unit: 'count', doc: 'token bucket capacity per identity' },
  maxRatePerSec: {
    default: 1_000_000,
    min: 1_000_000,
    max: 1_000_000,
    unit: 'per second',
    fixed: true,
    doc: 'highest rate accepted per identity',
  },
  maxBurst: {
    default: 1_000_000,
    min: 1_000_000,
    max: 1_000_000,
    unit: 'count',
    fixed: true,
    doc: 'highest burst accepted per identity',
  },
});

export const ADMISSION_LIMITS = admissionLimits.defaults;

export type AdmissionLimits = typeof ADMISSION_LIMITS;
