/**
 * The native solver backend: loads the Node-API addon built at install
 * (`build/Release/tollgate_native.node`, sources in `native/`) and exposes it as a
 * `HashBackend`. The addon runs a whole nonce range in one call with the midstate of the
 * fixed prefix precomputed, using the CPU's SHA extensions when present (DESIGN "Speed rules").
 * This module never prints: `backend.ts` decides what to tell the user.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ArgumentError } from '../util/errors.js';
import type { BackendName, HashBackend, SearchResult } from './types.js';

/** Which compression the addon uses: the SHA extensions when the CPU has them, or portable C. */
export type NativeImpl = 'auto' | 'portable';

/** The addon's own exports (see native/addon.c). */
export interface NativeAddon {
  sha256(data: Uint8Array, impl?: 'auto' | 'portable' | 'shani'): Buffer;
  sha1(data: Uint8Array, impl?: 'auto' | 'portable' | 'shani'): Buffer;
  searchSha256Bits(
    challenge: Uint8Array,
    bits: number,
    start: bigint,
    count: number,
    stop?: Int32Array | null,
    impl?: 'auto' | 'portable' | 'shani',
  ): SearchResult;
  searchHashcash(
    prefix: Uint8Array,
    hexZeros: number,
    start: bigint,
    count: number,
    stop?: Int32Array | null,
    impl?: 'auto' | 'portable' | 'shani',
  ): SearchResult;
  features(): { shani: boolean; aead?: boolean };
  /** SHA-256(challenge || u64be(nonce)) has at least `bits` leading zero bits. */
  checkSha256Bits?(challenge: Uint8Array, bits: number, nonce: bigint): boolean;
  /** An AES-256-GCM context for one key and direction, or null without OpenSSL in the process. */
  aeadNew?(key: Uint8Array, encrypt: boolean): object | null;
  /** Decrypts `buf` (ciphertext || 16-byte tag) in place; false when the tag does not verify. */
  aeadOpen?(context: object, iv: Uint8Array, aad: Uint8Array, buf: Uint8Array): boolean;
  /** Encrypts `buf` (plaintext || 16 spare bytes) in place and writes the tag into the spare bytes. */
  aeadSeal?(context: object, iv: Uint8Array, aad: Uint8Array, buf: Uint8Array): void;
  /** Longest challenge or hashcash prefix a search accepts. */
  readonly maxFixedBytes: number;
  /** Attempts between two polls of the stop flag. */
  readonly pollInterval: number;
}

/** Same path from `src/pow/` (tsx) and from `dist/pow/` (compiled): two levels below the package root. */
export const nativeAddonPath = fileURLToPath(
  new URL('../../build/Release/tollgate_native.node', import.meta.url),
);

let loaded: NativeAddon | null | undefined;
let loadError: string | undefined;

/** The raw addon, or null when it is not built or does not load (see `nativeLoadError()`). */
export function loadNativeAddon(): NativeAddon | null {
  if (loaded !== undefined) return loaded;
  if (!existsSync(nativeAddonPath)) {
    loaded = null;
    loadError = 'not built (npm install builds it when a C compiler is present)';
    return loaded;
  }
  try {
    const require = createRequire(import.meta.url);
    const addon = require(nativeAddonPath) as NativeAddon;
    if (typeof addon.searchSha256Bits !== 'function' || typeof addon.features !== 'function') {
      throw new Error('unexpected exports');
    }
    loaded = addon;
  } catch (error) {
    loaded = null;
    const message = error instanceof Error ? error.message : String(error);
    loadError = message.split('\n')[0];
  }
  return loaded;
}

/** Why the addon could not be loaded, once `loadNativeBackend()` has returned null. */
export function nativeLoadError(): string | undefined {
  loadNativeAddon();
  return loadError;
}

/** The addon throws TypeError/RangeError with code ERR_INVALID_ARG and "argument: problem". */
function rethrow(error: unknown): never {
  if (error instanceof Error && (error as { code?: unknown }).code === 'ERR_INVALID_ARG') {
    const at = error.message.indexOf(': ');
    if (at > 0) throw new ArgumentError(error.message.slice(0, at), error.message.slice(at + 2));
  }
  throw error;
}

/**
 * A `HashBackend` running on the addon, or null when it is unavailable. `impl: 'portable'`
 * forces the portable C compression even on a CPU with SHA extensions (tests, benchmarks).
 */
export function loadNativeBackend(options: { impl?: NativeImpl } = {}): HashBackend | null {
  const addon = loadNativeAddon();
  if (addon === null) return null;
  const impl = options.impl ?? 'auto';
  if (impl !== 'auto' && impl !== 'portable')
    throw new ArgumentError('impl', "expected 'auto' or 'portable'");
  const shani = impl === 'auto' && addon.features().shani;
  const which = shani ? 'shani' : 'portable';
  const name: BackendName = shani ? 'native-shani' : 'native-portable';
  return {
    name,
    searchSha256Bits(challenge, bits, start, count, stop) {
      try {
        return notFoundAsNext(
          addon.searchSha256Bits(challenge, bits, start, count, stop ?? null, which),
          start,
        );
      } catch (error) {
        rethrow(error);
      }
    },
    searchHashcash(prefix, hexZeros, start, count, stop) {
      try {
        return notFoundAsNext(
          addon.searchHashcash(prefix, hexZeros, start, count, stop ?? null, which),
          start,
        );
      } catch (error) {
        rethrow(error);
      }
    },
  };
}

/**
 * The addon speaks u64, but a range may end exactly at 2^64, whose "first nonce not tried"
 * does not fit. The contract (SearchResult.nonce) is start + attempts when nothing was found,
 * so derive it here, where BigInt has no such limit.
 */
function notFoundAsNext(result: SearchResult, start: bigint): SearchResult {
  return result.found
    ? result
    : { found: false, nonce: start + BigInt(result.attempts), attempts: result.attempts };
}

/**
 * AES-256-GCM with a context kept per key and direction (native/aead.c): the key schedule is
 * done once, each call only sets the IV, where node:crypto builds a cipher per call (issue
 * 12). Both functions work in place; see `NativeAddon.aeadOpen` and `aeadSeal`.
 */
export interface NativeGcm {
  open(iv: Uint8Array, aad: Uint8Array, buf: Uint8Array): boolean;
  seal(iv: Uint8Array, aad: Uint8Array, buf: Uint8Array): void;
}

/**
 * A native AES-256-GCM context for `key` (32 bytes), or null when the addon or the OpenSSL
 * symbols it looks up in the running Node are missing; callers then use node:crypto.
 * A context made with `encrypt` false only opens, one made with true only seals.
 */
export function nativeGcm(key: Uint8Array, encrypt: boolean): NativeGcm | null {
  if (!gcmEnabled || !nativeGcmAvailable()) return null;
  const addon = loadNativeAddon()!;
  const context = addon.aeadNew!(key, encrypt);
  if (context === null) return null;
  const open = addon.aeadOpen!;
  const seal = addon.aeadSeal!;
  return {
    open: (iv, aad, buf) => open(context, iv, aad, buf),
    seal: (iv, aad, buf) => seal(context, iv, aad, buf),
  };
}

let gcmAvailable: boolean | undefined;
let gcmEnabled = true;

/**
 * Turns the native AES-256-GCM off (or on again) for this process: `nativeGcm` then returns
 * null and every caller takes its node:crypto path. For tests that run a whole suite on the
 * fallback, and for benchmarks that measure it.
 */
export function setNativeGcmEnabled(enabled: boolean): void {
  if (typeof enabled !== 'boolean') throw new ArgumentError('enabled', 'expected a boolean');
  gcmEnabled = enabled;
}

/** Whether `nativeGcm` can return contexts in this process. */
export function nativeGcmAvailable(): boolean {
  if (gcmAvailable === undefined) {
    const addon = loadNativeAddon();
    gcmAvailable = addon !== null && addon.aeadNew !== undefined && addon.features().aead === true;
  }
  return gcmAvailable;
}
