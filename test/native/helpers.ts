import { createHash } from 'node:crypto';
import { loadNativeAddon, nativeLoadError } from '../../src/pow/native.js';

/** The addon, or null; native tests skip with this message when it is absent. */
export const addon = loadNativeAddon();
export const skipNative: string | false =
  addon === null ? `native addon unavailable: ${nativeLoadError() ?? 'unknown reason'}` : false;

/** The implementations this CPU can run: portable always, SHA extensions when present. */
export const impls: ReadonlyArray<'portable' | 'shani'> =
  addon?.features().shani === true ? ['portable', 'shani'] : ['portable'];

export function leadingZeroBits(digest: Uint8Array): number {
  let bits = 0;
  for (const byte of digest) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

/** Reference sha256-bits hash with node:crypto. */
export function refSha256Bits(challenge: Uint8Array, nonce: bigint): Buffer {
  const n = Buffer.alloc(8);
  n.writeBigUInt64BE(nonce);
  return createHash('sha256').update(challenge).update(n).digest();
}

/** The powtcp counter field: standard base64 (with padding) of the decimal counter. */
export function counterField(counter: bigint): string {
  return Buffer.from(counter.toString(10), 'latin1').toString('base64');
}

/** Reference hashcash hash with node:crypto. */
export function refHashcash(prefix: Uint8Array, counter: bigint): Buffer {
  return createHash('sha1').update(prefix).update(counterField(counter), 'latin1').digest();
}

/** Every nonce in [start, start + count) whose digest has >= bits leading zero bits. */
export function refHits(
  hash: (nonce: bigint) => Buffer,
  bits: number,
  start: bigint,
  count: number,
): bigint[] {
  const hits: bigint[] = [];
  for (let i = 0n; i < BigInt(count); i++) {
    if (leadingZeroBits(hash(start + i)) >= bits) hits.push(start + i);
  }
  return hits;
}

type Search = (start: bigint, count: number) => { found: boolean; nonce: bigint; attempts: number };

/**
 * Every hit the native search reports in [start, start + count): one call per hit,
 * each resuming after the previous one. Also checks the attempt counts add up.
 */
export function nativeHits(search: Search, start: bigint, count: number): bigint[] {
  const end = start + BigInt(count);
  const hits: bigint[] = [];
  let at = start;
  while (at < end) {
    const r = search(at, Number(end - at));
    if (!r.found) {
      if (r.nonce !== end || r.attempts !== Number(end - at)) {
        throw new Error(`miss from ${at}: nonce ${r.nonce}, attempts ${r.attempts}`);
      }
      break;
    }
    if (r.attempts !== Number(r.nonce - at) + 1)
      throw new Error(`attempts ${r.attempts} for ${at}..${r.nonce}`);
    hits.push(r.nonce);
    at = r.nonce + 1n;
  }
  return hits;
}
