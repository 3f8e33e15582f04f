import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { getBackend, nativeStatus } from '../../src/pow/backend.js';
import { checkHashcash, parseHashcash, verifyHashcash } from '../../src/pow/hashcash.js';
import { verifySha256Bits } from '../../src/pow/sha256-bits.js';
import { tsBackend } from '../../src/pow/ts-backend.js';

interface Vectors {
  sha256Bits: { challenge: string; nonce: string; difficulty: number; valid: boolean }[];
  hashcash: { header: string; hexZeros: number; valid: boolean }[];
}

const vectors = JSON.parse(readFileSync(new URL('../vectors/pow.json', import.meta.url), 'utf8')) as Vectors;

test('sha256-bits vectors: verifier and TS search give the committed verdicts', () => {
  assert.ok(vectors.sha256Bits.length >= 30);
  for (const v of vectors.sha256Bits) {
    const challenge = Uint8Array.from(Buffer.from(v.challenge, 'hex'));
    const nonce = BigInt(`0x${v.nonce}`);
    assert.equal(
      verifySha256Bits({ challenge, difficulty: v.difficulty }, nonce),
      v.valid,
      JSON.stringify(v),
    );
    const r = tsBackend.searchSha256Bits(challenge, v.difficulty, nonce, 1);
    assert.equal(r.found, v.valid, JSON.stringify(v));
  }
});

test('sha256-bits vectors include exact boundaries: valid at d, invalid at d + 1', () => {
  const valid = vectors.sha256Bits.filter((v) => v.valid && v.difficulty > 0);
  for (const v of valid) {
    const next = vectors.sha256Bits.find(
      (w) => w.challenge === v.challenge && w.nonce === v.nonce && w.difficulty === v.difficulty + 1,
    );
    assert.equal(next?.valid, false);
  }
});

test('hashcash vectors, including the powtcp example header', () => {
  const example = vectors.hashcash.find(
    (v) => v.header === '1:5:20261121093000:127.0.0.1:53422::Vmh0Yw==:MA==',
  );
  assert.ok(example);
  for (const v of vectors.hashcash) {
    assert.equal(verifyHashcash(v.header), v.valid, v.header);
    const parsed = parseHashcash(v.header);
    assert.ok(parsed.ok);
    const checked = checkHashcash(v.header);
    if (!v.valid) assert.equal(checked.ok ? undefined : checked.code, 'ERR_POW_INSUFFICIENT');
    const prefix = v.header.slice(0, v.header.lastIndexOf(':') + 1);
    const counter = BigInt(Buffer.from(parsed.value.counter, 'base64').toString());
    assert.equal(tsBackend.searchHashcash(Buffer.from(prefix), parsed.value.bits, counter, 1).found, v.valid);
  }
});

test('native backend gives the committed verdicts', (t) => {
  if (!nativeStatus().available) {
    t.skip('native addon not available');
    return;
  }
  const native = getBackend('native');
  for (const v of vectors.sha256Bits) {
    const challenge = Uint8Array.from(Buffer.from(v.challenge, 'hex'));
    const r = native.searchSha256Bits(challenge, v.difficulty, BigInt(`0x${v.nonce}`), 1);
    assert.equal(r.found, v.valid, JSON.stringify(v));
  }
  for (const v of vectors.hashcash) {
    const parsed = parseHashcash(v.header);
    assert.ok(parsed.ok);
    const prefix = v.header.slice(0, v.header.lastIndexOf(':') + 1);
    const counter = BigInt(Buffer.from(parsed.value.counter, 'base64').toString());
    assert.equal(native.searchHashcash(Buffer.from(prefix), parsed.value.bits, counter, 1).found, v.valid);
  }
});
