/**
 * Every limit of the pow layer, with its default (DESIGN "Limits, errors, logs").
 * Each has a line in docs/architecture.md ("Proof of work") and a test at limit + 1.
 */
import { availableParallelism } from 'node:os';

/** Highest sha256-bits difficulty accepted by solve and verify (2^64 expected attempts). */
export const MAX_SHA256_BITS = 64;

/** Longest sha256-bits challenge accepted (sealed challenges carry 16 bytes). */
export const MAX_CHALLENGE_BYTES = 1024;

/** Highest hashcash difficulty in hex digits (16 = 64 bits; the reference uses 5). */
export const MAX_HASHCASH_HEX_ZEROS = 16;

/** Longest hashcash header parsed (a powtcp header with an IPv6 resource is under 120). */
export const MAX_HASHCASH_HEADER_LENGTH = 512;

/** Largest scrypt message (seed 004's handshake message m, before the nonce). */
export const MAX_SCRYPT_MESSAGE_BYTES = 4096;

/** scrypt cost limits: a peer's parameters must never make us allocate or spin unbounded. */
export const MAX_SCRYPT_N = 2 ** 20;
export const MAX_SCRYPT_R = 32;
export const MAX_SCRYPT_P = 16;
/** scrypt needs 128 * N * r bytes; above this the parameters are refused. */
export const MAX_SCRYPT_MEMORY_BYTES = 64 * 1024 * 1024;

/** Default scrypt configuration C of seed 004: N = 2^12, r = 8, p = 1 (4 MiB, a few ms). */
export const DEFAULT_SCRYPT_N = 2 ** 12;
export const DEFAULT_SCRYPT_R = 8;
export const DEFAULT_SCRYPT_P = 1;
/** Default scrypt target k = 2^(256 - 6): one hash in 64 meets it. */
export const DEFAULT_SCRYPT_TARGET_BITS = 6;

/** Worker threads in the pool that verifies scrypt proofs. */
export const VERIFY_POOL_SIZE = Math.max(1, Math.min(2, availableParallelism()));

/** Verifications waiting for a worker; past this, ERR_POOL_BUSY. */
export const VERIFY_QUEUE_LIMIT = 256;

/** Most worker threads one solve may use. */
export const MAX_SOLVE_WORKERS = 256;

/** Nonces handed to a worker at a time when solving on several cores. */
export const CHUNK_ATTEMPTS = 2 ** 22;

/** Nonces per backend call inside a worker; progress is published between calls. */
export const SLICE_ATTEMPTS = 2 ** 17;

/** Interval of progress reports while solving. */
export const PROGRESS_INTERVAL_MS = 100;
