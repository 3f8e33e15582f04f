/**
 * `tollgate/pow`: puzzles, solvers and verification. Solving runs in a persistent worker
 * pool whose idle workers do not keep the process alive; `closePools()` ends them at once.
 */
export { type BackendPreference, backendChoice, getBackend, nativeStatus } from './backend.js';
export {
  checkHashcash,
  decodeCounter,
  encodeCounter,
  expectedAttempts as hashcashExpectedAttempts,
  formatHashcash,
  formatHashcashDate,
  type HashcashHeader,
  type HashcashReason,
  hashcashDigest,
  leadingHexZeros,
  newHashcash,
  parseHashcash,
  parseHashcashDate,
  solveHashcash,
  verifyHashcash,
} from './hashcash.js';
export * as limits from './limits.js';
export { closePools, getSolvePool, getVerifyPool, WorkerPool, type WorkerPoolOptions } from './pool.js';
export {
  checkScryptParams,
  DEFAULT_SCRYPT_PARAMS,
  expectedAttempts as scryptExpectedAttempts,
  SCRYPT_DKLEN,
  SCRYPT_SALT,
  type ScryptCost,
  type ScryptParams,
  scryptPowHash,
  solveScrypt,
  targetForBits,
  verifyScrypt,
} from './scrypt.js';
export {
  expectedAttempts as sha256BitsExpectedAttempts,
  leadingZeroBits,
  type Sha256BitsPuzzle,
  sha256BitsHash,
  solveSha256Bits,
  verifySha256Bits,
} from './sha256-bits.js';
export { tsBackend } from './ts-backend.js';
export type {
  BackendName,
  HashBackend,
  SearchResult,
  SolveOptions,
  SolveProgress,
  SolveResult,
} from './types.js';
