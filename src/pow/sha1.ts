/**
 * SHA-1 compression (FIPS 180-4 section 6.1) on 32-bit words, for the TypeScript hashcash
 * solver. SHA-1 is used only because the powtcp wire format (spec/powtcp.md) fixes it.
 */
import { loadBlock } from './sha256.js';

export const SHA1_IV = Int32Array.from([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0]);

/** Expands w[0..15] into w[16..79] in place. */
export function sha1Schedule(w: Int32Array): void {
  for (let t = 16; t < 80; t++) {
    const x = w[t - 3]! ^ w[t - 8]! ^ w[t - 14]! ^ w[t - 16]!;
    w[t] = (x << 1) | (x >>> 31);
  }
}

/**
 * Runs rounds [from, to) on the working variables `v` (a..e) with the expanded schedule `w`.
 */
export function sha1Rounds(v: Int32Array, w: Int32Array, from: number, to: number): void {
  let a = v[0]!;
  let b = v[1]!;
  let c = v[2]!;
  let d = v[3]!;
  let e = v[4]!;
  for (let t = from; t < to; t++) {
    let f: number;
    let k: number;
    if (t < 20) {
      f = d ^ (b & (c ^ d));
      k = 0x5a827999;
    } else if (t < 40) {
      f = b ^ c ^ d;
      k = 0x6ed9eba1;
    } else if (t < 60) {
      f = (b & c) | (d & (b | c));
      k = 0x8f1bbcdc;
    } else {
      f = b ^ c ^ d;
      k = 0xca62c1d6;
    }
    const tmp = (((a << 5) | (a >>> 27)) + f + e + k + w[t]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = tmp;
  }
  v[0] = a;
  v[1] = b;
  v[2] = c;
  v[3] = d;
  v[4] = e;
}

/** Compresses one block (w[0..15] filled; w must hold 80 words) into `state`. */
export function sha1Compress(state: Int32Array, w: Int32Array): void {
  sha1Schedule(w);
  const v = state.slice();
  sha1Rounds(v, w, 0, 80);
  for (let i = 0; i < 5; i++) state[i] = (state[i]! + v[i]!) | 0;
}

/** State after compressing `blocks` whole 64-byte blocks of `bytes`. */
export function sha1Midstate(bytes: Uint8Array, blocks: number): Int32Array {
  const state = SHA1_IV.slice();
  const w = new Int32Array(80);
  for (let i = 0; i < blocks; i++) {
    loadBlock(w, bytes, 64 * i);
    sha1Compress(state, w);
  }
  return state;
}
