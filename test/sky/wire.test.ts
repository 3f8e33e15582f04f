import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { checkLease, identityOfRaw } from '../../src/protocol/sky/lease.js';
import { SKY_LIMITS } from '../../src/protocol/sky/limits.js';
import { decodeSky, SKY_SIZES, SkySplitter, SkyType } from '../../src/wire/sky.js';

const V = JSON.parse(readFileSync('test/vectors/sky-messages.json', 'utf8')) as {
  identity: string;
  good: Record<string, string>;
  bad: { name: string; hex: string; code: string }[];
};

test('every committed message decodes at its fixed size; the committed lease signature verifies', () => {
  for (const [name, hex] of Object.entries(V.good)) {
    const d = decodeSky(Buffer.from(hex, 'hex'));
    assert.ok(d.ok, name);
    assert.equal(Buffer.from(hex, 'hex').length, SKY_SIZES[d.value.type], name);
  }
  const lease = decodeSky(Buffer.from(V.good.lease!, 'hex'));
  assert.ok(lease.ok && lease.value.type === SkyType.lease);
  assert.equal(identityOfRaw(lease.value.key), V.identity);
  // The committed signature verifies at the committed time and not after a byte changed.
  const ctx = { now: lease.value.time, observed: { host: '198.18.0.11', port: 1 }, group: 'v4:198.18.0.11' };
  assert.ok(checkLease(lease.value, ctx, SKY_LIMITS.defaults).ok);
  const tampered = Buffer.from(V.good.lease!, 'hex');
  tampered[47]! ^= 1;
  const t = decodeSky(tampered);
  assert.ok(t.ok && t.value.type === SkyType.lease);
  const v = checkLease(t.value, ctx, SKY_LIMITS.defaults);
  assert.deepEqual(v.ok ? 'ok' : v.code, 'ERR_SKY_BAD_SIGNATURE');
});

test('every committed bad input gets its code, never a throw', () => {
  for (const b of V.bad) {
    const d = decodeSky(Buffer.from(b.hex, 'hex'));
    assert.equal(d.ok, false, b.name);
    if (!d.ok) assert.equal(d.code, b.code, b.name);
  }
});

test('decodeSky never throws and accepts only the fixed sizes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const d = decodeSky(bytes);
      if (d.ok) assert.equal(bytes.length, SKY_SIZES[bytes[1]!]);
    }),
    { numRuns: 2000 },
  );
});

test('the splitter yields the same messages at every split position', () => {
  const all = Buffer.concat(Object.values(V.good).map((h) => Buffer.from(h, 'hex')));
  const whole: string[] = [];
  new SkySplitter().push(all, (m) => whole.push(Buffer.from(m).toString('hex')));
  assert.deepEqual(whole, Object.values(V.good));
  for (let i = 0; i <= all.length; i++) {
    const got: string[] = [];
    const s = new SkySplitter();
    assert.ok(s.push(all.subarray(0, i), (m) => got.push(Buffer.from(m).toString('hex'))));
    assert.ok(s.push(all.subarray(i), (m) => got.push(Buffer.from(m).toString('hex'))));
    assert.deepEqual(got, whole, `split at ${i}`);
  }
  assert.equal(
    new SkySplitter().push(Uint8Array.from([1, 0x42]), () => {}),
    false,
  );
});
