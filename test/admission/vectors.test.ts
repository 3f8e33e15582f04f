import assert from 'node:assert/strict';
import { createDecipheriv, hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Endpoint } from '../../src/admission/endpoint.js';
import { decodeEndpoint, encodeEndpoint } from '../../src/admission/endpoint.js';
import type { SealRequest } from '../../src/admission/sealed.js';
import { ChallengeSealer, KeyRing } from '../../src/admission/sealed.js';
import { ManualClock } from '../../src/util/clock.js';

interface Vectors {
  secretHex: string;
  rotationMs: number;
  now: number;
  randomHex: string;
  sealed: { request: SealRequest & { ttlMs: number }; sealed: string }[];
  endpoints: { endpoint: Endpoint; hex: string }[];
}
const v = JSON.parse(readFileSync('test/vectors/admission-sealed.json', 'utf8')) as Vectors;
const random = Buffer.from(v.randomHex, 'hex');

function sealer() {
  const clock = new ManualClock(v.now);
  const keys = new KeyRing({ clock, rotationMs: v.rotationMs, secret: Buffer.from(v.secretHex, 'hex') });
  return new ChallengeSealer(keys, { random: (out) => out.set(random.subarray(0, out.length)) });
}

test('vectors: sealing reproduces the committed bytes, and they open to the request', () => {
  const s = sealer();
  for (const { request, sealed } of v.sealed) {
    const bytes = s.seal(request);
    assert.equal(Buffer.from(bytes).toString('hex'), sealed);
    const opened = s.open(Buffer.from(sealed, 'hex'), { client: request.client, server: request.server });
    assert.ok(opened.ok);
    assert.equal(opened.value.kind, request.kind);
    assert.equal(opened.value.difficulty, request.difficulty);
    assert.equal(opened.value.expiresAt, v.now + request.ttlMs);
  }
});

// An independent reading of the documented layout with plain node:crypto: key = HKDF-SHA256
// (secret, salt "tollgate sealed challenge v1", info = period as u64 big-endian, 32 bytes);
// AAD = bytes 0..37; IV = bytes 9..21; tag = the last 16 bytes.
test('vectors: the layout as documented decrypts with plain node:crypto', () => {
  const kinds = ['', 'sha256-bits', 'hashcash-sha1', 'scrypt'];
  for (const { request, sealed } of v.sealed) {
    const b = Buffer.from(sealed, 'hex');
    assert.equal(b[0], 1);
    assert.equal(b.readUInt16BE(1), b.length);
    const period = Math.floor(v.now / v.rotationMs);
    assert.equal(b.readUInt32BE(3), period % 2 ** 32);
    assert.equal(kinds[b[7]!], request.kind);
    assert.equal(b[8], request.difficulty);
    const info = Buffer.alloc(8);
    info.writeBigUInt64BE(BigInt(period));
    const key = Buffer.from(
      hkdfSync('sha256', Buffer.from(v.secretHex, 'hex'), 'tollgate sealed challenge v1', info, 32),
    );
    const d = createDecipheriv('aes-256-gcm', key, b.subarray(9, 21));
    d.setAAD(b.subarray(0, 37));
    d.setAuthTag(b.subarray(b.length - 16));
    const plain = Buffer.concat([d.update(b.subarray(37, b.length - 16)), d.final()]);
    assert.equal(Number(plain.readBigUInt64BE(0)), v.now);
    assert.equal(Number(plain.readBigUInt64BE(8)), v.now + request.ttlMs);
    const c = decodeEndpoint(plain, 16);
    assert.ok(c);
    assert.deepEqual(c.endpoint, request.client);
    const s = decodeEndpoint(plain, c.next);
    assert.ok(s);
    assert.deepEqual(s.endpoint, request.server);
    assert.equal(s.next, plain.length);
  }
});

test('vectors: binary endpoints', () => {
  for (const { endpoint, hex } of v.endpoints) {
    assert.equal(Buffer.from(encodeEndpoint(endpoint)).toString('hex'), hex);
    assert.deepEqual(decodeEndpoint(Buffer.from(hex, 'hex'))?.endpoint, endpoint);
  }
});
