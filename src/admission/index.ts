/**
 * `tollgate/admission`: sealed stateless challenges, the replay guard, load-driven
 * difficulty and per-identity rate limits, over a pluggable Store (DESIGN "The admission
 * pipeline"). Nothing here does IO: time, randomness and storage are injected.
 */
export type {
  ArrivalEvent,
  DifficultyController,
  LeakyQueueOptions,
  LoadQueue,
  QueueDifficultyOptions,
} from './difficulty.js';
export {
  arrive,
  BoundedQueue,
  externalDifficulty,
  FixedDifficultyController,
  LeakyQueue,
  QueueDifficultyController,
} from './difficulty.js';
export type { Endpoint } from './endpoint.js';
export {
  canonicalEndpoint,
  canonicalHost,
  decodeEndpoint,
  encodedEndpointLength,
  encodeEndpoint,
  encodeEndpointInto,
  endpoint,
  formatAddressBytes,
  formatEndpoint,
  hostBytes,
  isCanonicalHost,
  parseEndpoint,
  sameEndpoint,
} from './endpoint.js';
export type { AdmissionLimits } from './limits.js';
export { ADMISSION_LIMITS } from './limits.js';
export type { RateCode, RateLimiterOptions, RateVerdict } from './rate-limit.js';
export { identityOf, RateLimiter } from './rate-limit.js';
export type { AdmitCode, AdmitRequest, SyncReplayStore } from './replay.js';
export { admitSolved, REPLAY_KEY_PREFIX, ReplayGuard } from './replay.js';
export type {
  ChallengeSealerOptions,
  ChallengeState,
  KeyRingOptions,
  PuzzleKind,
  RandomFill,
  SealedCode,
  SealedHeader,
  SealRequest,
} from './sealed.js';
export {
  CHALLENGE_BYTES,
  ChallengeSealer,
  isPuzzleKind,
  KeyRing,
  PUZZLE_KINDS,
  readSealedHeader,
  SEALED_VERSION,
} from './sealed.js';
export type { MemoryStoreOptions, MemoryStoreStats, Store, TakeResult } from './store.js';
export { checkBucketArgs, checkStoreKey, MemoryStore, StoreClosedError, StoreFullError } from './store.js';
