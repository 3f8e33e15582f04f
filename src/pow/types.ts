/**
 * The contracts of the pow layer. Puzzle modules, the native addon loader and the
 * TypeScript fallback all code against these; services use only the puzzle modules.
 */

/** Which implementation runs the search loop. */
export type BackendName = 'native-shani' | 'native-portable' | 'ts';

export interface SearchResult {
  /** true when a nonce meeting the difficulty was found in the range. */
  readonly found: boolean;
  /** The winning nonce when found; otherwise the first nonce not tried. */
  readonly nonce: bigint;
  /** Attempts made in this call (hash compressions of the nonce block). */
  readonly attempts: number;
}

/**
 * A hash backend runs one range of the nonce search in one synchronous call
 * (DESIGN "Speed rules": per-call hash APIs cost more than the hash itself).
 * `stop`, when given, is a shared flag polled inside the loop: a non-zero value
 * ends the call early with found = false (multi-core cancellation without killing workers).
 */
export interface HashBackend {
  readonly name: BackendName;
  /** sha256-bits: SHA-256(challenge || nonce as u64 big-endian) has >= `bits` leading zero bits. */
  searchSha256Bits(
    challenge: Uint8Array,
    bits: number,
    start: bigint,
    count: number,
    stop?: Int32Array,
  ): SearchResult;
  /**
   * hashcash-sha1: SHA-1(prefix || base64(decimal(counter))) has >= `hexZeros` leading
   * zero hex digits; `prefix` is the header up to and including the last ':'.
   */
  searchHashcash(
    prefix: Uint8Array,
    hexZeros: number,
    start: bigint,
    count: number,
    stop?: Int32Array,
  ): SearchResult;
}

export interface SolveProgress {
  readonly attempts: number;
  readonly elapsedMs: number;
  /** Attempts per second so far. */
  readonly rate: number;
  /** Expected attempts still to go (geometric distribution: the mean does not shrink). */
  readonly expectedRemaining: number;
}

export interface SolveOptions {
  readonly signal?: AbortSignal;
  /** Give up after this many attempts (budget); rejects with ERR_POW_BUDGET. */
  readonly maxAttempts?: number;
  /** Give up after this many milliseconds (budget); rejects with ERR_POW_BUDGET. */
  readonly timeoutMs?: number;
  /** Called about every 100 ms while solving. */
  readonly onProgress?: (progress: SolveProgress) => void;
  /** Worker threads to use; default 1 (the calling thread's pool worker). */
  readonly workers?: number;
  readonly backend?: 'native' | 'ts' | 'auto';
}

export interface SolveResult {
  readonly nonce: bigint;
  readonly attempts: number;
  readonly ms: number;
  /** The hash backend, or node:crypto for scrypt (one library call per attempt). */
  readonly backend: BackendName | 'node-crypto';
  readonly workers: number;
}
