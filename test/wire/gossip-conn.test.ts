import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  CONN_CHALL,
  CONN_INIT,
  CONN_MAX_BYTES,
  CONN_REQUEST_BYTES,
  COOKIE_SIZES,
  type ConnMessage,
  connPowPrefix,
  decodeConn,
  encodeConn,
} from '../../src/wire/gossip-conn.js';

interface Vectors {
  valid: {
    name: string;
    hex: string;
    message: Record<string, unknown>;
    powPrefixHex?: string;
    sha256?: string;
  }[];
  invalid: { name: string; hex: string; code: string }[];
}
const vectors = JSON.parse(readFileSync('test/vectors/gossip-conn.json', 'utf8')) as Vectors;
const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function plain(m: ConnMessage): Record<string, unknown> {
  if (m.type === CONN_INIT) {
    return m.challReq
      ? { type: m.type, challReq: true }
      : { type: m.type, challReq: false, nonce: `0x${m.nonce.toString(16)}`, cookieHex: hex(m.cookie) };
  }
  if (m.type === CONN_CHALL) return { type: m.type, cookieHex: hex(m.cookie) };
  return { type: m.type };
}

for (const v of vectors.valid) {
  test(`CONN vector decodes and re-encodes: ${v.name}`, () => {
    const verdict = decodeConn(bytes(v.hex));
    assert.ok(verdict.ok, verdict.ok ? '' : verdict.code);
    assert.deepEqual(plain(verdict.value), v.message);
    assert.equal(hex(encodeConn(verdict.value)), v.hex);
  });
}

for (const v of vectors.invalid) {
  test(`CONN vector is refused: ${v.name}`, () => {
    const verdict = decodeConn(bytes(v.hex));
    assert.equal(verdict.ok, false);
    assert.equal(!verdict.ok && verdict.code, v.code);
  });
}

test('the CONN solution vector is sha256-bits over tag || Chall with the nonce last', () => {
  const v = vectors.valid.find((x) => x.powPrefixHex !== undefined)!;
  const m = decodeConn(bytes(v.hex));
  assert.ok(m.ok && m.value.type === CONN_INIT && !m.value.challReq);
  if (!m.ok || m.value.type !== CONN_INIT || m.value.challReq) return;
  const chall = m.value.cookie.subarray(21, 37);
  assert.equal(hex(connPowPrefix(chall)), v.powPrefixHex);
  const nonce = Buffer.alloc(8);
  nonce.writeBigUInt64BE(m.value.nonce);
  const digest = createHash('sha256').update(connPowPrefix(chall)).update(nonce).digest();
  assert.equal(digest.toString('hex'), v.sha256);
  assert.equal(digest[0], 0, '8 leading zero bits');
});

test('a challenge request is never smaller than the CONN_CHALL it gets (no amplification)', () => {
  const cookie = bytes(vectors.valid[1]!.hex).subarray(4);
  assert.equal(encodeConn({ type: CONN_CHALL, cookie }).length, 4 + COOKIE_SIZES[0]);
  // The largest CONN_CHALL (both endpoints IPv6) against the one size of a request.
  assert.ok(4 + Math.max(...COOKIE_SIZES) <= CONN_REQUEST_BYTES);
  assert.equal(encodeConn({ type: CONN_INIT, challReq: true }).length, CONN_REQUEST_BYTES);
  assert.equal(CONN_MAX_BYTES, CONN_REQUEST_BYTES);
});
