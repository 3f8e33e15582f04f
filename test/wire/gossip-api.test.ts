import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  type ApiMessage,
  type ApiReader,
  decodeApi,
  encodeApi,
  GOSSIP_ANNOUNCE,
  GOSSIP_NOTIFICATION,
  GOSSIP_NOTIFY,
  GOSSIP_VALIDATION,
  SizeFramer,
} from '../../src/wire/gossip-api.js';

interface Vectors {
  valid: { name: string; hex: string; reader: ApiReader; message: Record<string, unknown> }[];
  invalid: { name: string; hex: string; reader: ApiReader; code: string }[];
}
const vectors = JSON.parse(readFileSync('test/vectors/gossip-api.json', 'utf8')) as Vectors;
const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));

function plain(msg: ApiMessage): Record<string, unknown> {
  const out: Record<string, unknown> = { ...msg };
  if ('data' in msg) {
    delete out.data;
    out.dataAscii = Buffer.from(msg.data).toString('latin1');
  }
  return out;
}

for (const v of vectors.valid) {
  test(`API vector decodes and re-encodes: ${v.name}`, () => {
    const verdict = decodeApi(bytes(v.hex), v.reader);
    assert.ok(verdict.ok, JSON.stringify(verdict));
    assert.deepEqual(plain(verdict.value), v.message);
    assert.equal(Buffer.from(encodeApi(verdict.value)).toString('hex'), v.hex);
  });
}

for (const v of vectors.invalid) {
  test(`API vector is refused: ${v.name}`, () => {
    const verdict = decodeApi(bytes(v.hex), v.reader);
    assert.equal(verdict.ok, false);
    assert.equal(!verdict.ok && verdict.code, v.code);
  });
}

test('the spec byte example for ANNOUNCE is what encodeApi writes', () => {
  const out = encodeApi({ type: GOSSIP_ANNOUNCE, ttl: 4, dataType: 1337, data: Buffer.from('deadbeef') });
  assert.equal(Buffer.from(out).toString('hex'), '001001f4040005396465616462656566');
});

test('VALIDATION reads V as (u16 at 6) & 1 and ignores the reserved bits', () => {
  const verdict = decodeApi(bytes('000801f70001fffe'), 'gossip');
  assert.ok(verdict.ok && verdict.value.type === GOSSIP_VALIDATION && verdict.value.valid === false);
  const ok = decodeApi(bytes('000801f70001ffff'), 'gossip');
  assert.ok(ok.ok && ok.value.type === GOSSIP_VALIDATION && ok.value.valid === true);
});

test('a module reading requests from Gossip is refused (direction)', () => {
  const verdict = decodeApi(bytes('000801f500000539'), 'module');
  assert.equal(!verdict.ok && verdict.code, 'ERR_GOSSIP_API_WRONG_DIRECTION');
});

test('encodeApi names the bad argument', () => {
  assert.throws(
    () => encodeApi({ type: GOSSIP_ANNOUNCE, ttl: 256, dataType: 1, data: new Uint8Array() }),
    /msg\.ttl/,
  );
  assert.throws(
    () => encodeApi({ type: GOSSIP_ANNOUNCE, ttl: 1, dataType: 1, data: new Uint8Array(65535 - 8 + 1) }),
    /msg\.data/,
  );
  assert.doesNotThrow(() =>
    encodeApi({ type: GOSSIP_ANNOUNCE, ttl: 1, dataType: 1, data: new Uint8Array(65535 - 8) }),
  );
});

const arbRequest: fc.Arbitrary<ApiMessage> = fc.oneof(
  fc.record({
    type: fc.constant(GOSSIP_ANNOUNCE),
    ttl: fc.integer({ min: 0, max: 255 }),
    dataType: fc.integer({ min: 0, max: 0xffff }),
    data: fc.uint8Array({ maxLength: 64 }),
  }),
  fc.record({ type: fc.constant(GOSSIP_NOTIFY), dataType: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({
    type: fc.constant(GOSSIP_VALIDATION),
    messageId: fc.integer({ min: 0, max: 0xffff }),
    valid: fc.boolean(),
  }),
) as fc.Arbitrary<ApiMessage>;

test('property: decode(encode(m)) = m for every request', () => {
  fc.assert(
    fc.property(arbRequest, (m) => {
      const verdict = decodeApi(encodeApi(m), 'gossip');
      assert.ok(verdict.ok);
      assert.deepEqual(plain(verdict.value), plain(m));
    }),
  );
});

test('property: NOTIFICATION round-trips for a module', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.uint8Array({ maxLength: 64 }),
      (messageId, dataType, data) => {
        const m = { type: GOSSIP_NOTIFICATION, messageId, dataType, data } as const;
        const verdict = decodeApi(encodeApi(m), 'module');
        assert.ok(verdict.ok);
        assert.deepEqual(plain(verdict.value), plain(m));
      },
    ),
  );
});

function frameAll(chunks: Uint8Array[]): string[] {
  const framer = new SizeFramer();
  const out: string[] = [];
  for (const c of chunks) {
    const v = framer.push(c);
    assert.ok(v.ok);
    for (const f of v.value) out.push(Buffer.from(f).toString('hex'));
  }
  assert.equal(framer.buffered, 0);
  return out;
}

test('framer: the same messages whatever the split (every position, one byte per segment, pipelined)', () => {
  const messages = vectors.valid.filter((v) => v.reader === 'gossip').map((v) => bytes(v.hex));
  const stream = Buffer.concat(messages);
  const expected = messages.map((m) => Buffer.from(m).toString('hex'));
  assert.deepEqual(frameAll([stream]), expected, 'pipelined in one segment');
  for (let cut = 0; cut <= stream.length; cut++) {
    assert.deepEqual(frameAll([stream.subarray(0, cut), stream.subarray(cut)]), expected, `split at ${cut}`);
  }
  const single = [...stream].map((b) => Uint8Array.of(b));
  assert.deepEqual(frameAll(single), expected, 'one byte per segment');
});

test('property: framer output does not depend on chunking', () => {
  fc.assert(
    fc.property(
      fc.array(arbRequest, { minLength: 1, maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      (ms, cuts) => {
        const encoded = ms.map(encodeApi);
        const stream = Buffer.concat(encoded);
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const chunks: Uint8Array[] = [];
        let prev = 0;
        for (const p of points) {
          chunks.push(stream.subarray(prev, p));
          prev = p;
        }
        chunks.push(stream.subarray(prev));
        assert.deepEqual(
          frameAll(chunks),
          encoded.map((e) => Buffer.from(e).toString('hex')),
        );
      },
    ),
  );
});

test('framer: a size below the header ends the stream, and it stays ended', () => {
  const framer = new SizeFramer();
  const first = framer.push(bytes('000801f500000539'));
  assert.ok(first.ok && first.value.length === 1);
  const bad = framer.push(bytes('0002'));
  assert.equal(!bad.ok && bad.code, 'ERR_GOSSIP_API_SHORT_SIZE');
  const after = framer.push(bytes('000801f500000539'));
  assert.equal(after.ok, false);
});

test('framer: a 65535-byte message one byte at a time is framed in linear time', () => {
  const big = encodeApi({
    type: GOSSIP_ANNOUNCE,
    ttl: 0,
    dataType: 9,
    data: new Uint8Array(65535 - 8).fill(7),
  });
  const framer = new SizeFramer();
  let frames = 0;
  for (let i = 0; i < big.length; i++) {
    const v = framer.push(big.subarray(i, i + 1));
    assert.ok(v.ok);
    frames += v.value.length;
  }
  assert.equal(frames, 1);
});
