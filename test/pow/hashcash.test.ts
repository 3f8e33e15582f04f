import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, test } from 'node:test';
import fc from 'fast-check';
import {
  checkHashcash,
  decodeCounter,
  encodeCounter,
  expectedAttempts,
  formatHashcash,
  HASHCASH_COUNTER_END,
  type HashcashHeader,
  hashcashStart,
  leadingHexZeros,
  newHashcash,
  parseHashcash,
  parseHashcashDate,
  puzzleText,
  solveHashcash,
  verifyHashcash,
} from '../../src/pow/hashcash.js';
import { POW_LIMITS } from '../../src/pow/limits.js';
import { closePools } from '../../src/pow/pool.js';
import { ArgumentError } from '../../src/util/errors.js';

after(() => closePools());

const EXAMPLE = '1:5:20261121093000:127.0.0.1:53422::Vmh0Yw==:MA==';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const resourceArb = fc.oneof(
  fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 })).map(([ip, port]) => `${ip}:${port}`),
  fc.tuple(fc.ipV6(), fc.integer({ min: 1, max: 65535 })).map(([ip, port]) => `[${ip}]:${port}`),
);
const headerArb: fc.Arbitrary<HashcashHeader> = fc.record({
  version: fc.constant(1 as const),
  bits: fc.integer({ min: 0, max: POW_LIMITS.maxHashcashHexZeros }),
  date: fc
    .date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true })
    .map((d) => d.toISOString().replace(/[-:T]/g, '').slice(0, 14)),
  resource: resourceArb,
  ext: fc.stringMatching(/^[a-z0-9=;,.]{0,12}$/),
  rand: fc.uint8Array({ maxLength: 12 }).map(b64),
  counter: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map(encodeCounter),
});

test('the powtcp example header parses, with the ip:port resource re-joined', () => {
  const parsed = parseHashcash(EXAMPLE);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value, {
    version: 1,
    bits: 5,
    date: '20261121093000',
    resource: '127.0.0.1:53422',
    ext: '',
    rand: 'Vmh0Yw==',
    counter: 'MA==',
  });
  assert.equal(formatHashcash(parsed.value), EXAMPLE);
  // Its verdict, computed by node:crypto: the unsolved example does not meet 5 hex zeros.
  const hex = createHash('sha1').update(EXAMPLE).digest('hex');
  const zeros = /^0*/.exec(hex)![0].length;
  assert.equal(verifyHashcash(EXAMPLE), zeros >= 5);
  assert.equal(verifyHashcash(EXAMPLE), false);
});

test('an IPv6 resource keeps its colons', () => {
  const text = '1:3:20261121093000:[2001:db8::1]:40000::AAECAw==:MA==';
  const parsed = parseHashcash(text);
  assert.ok(parsed.ok);
  assert.equal(parsed.value.resource, '[2001:db8::1]:40000');
  assert.equal(formatHashcash(parsed.value), text);
});

test('format then parse is the identity, and parse then format gives the text back (property)', () => {
  fc.assert(
    fc.property(headerArb, (h) => {
      const text = formatHashcash(h);
      const parsed = parseHashcash(text);
      assert.ok(parsed.ok, text);
      assert.deepEqual(parsed.value, { ...h });
      assert.equal(formatHashcash(parsed.value), text);
    }),
  );
});

test('parse is canonical: any text it accepts formats back to itself (property)', () => {
  const chars = fc.constantFrom(...'1:0aMA=Z/+9.[]x'.split(''));
  fc.assert(
    fc.property(fc.string({ unit: chars, maxLength: 40 }), (text) => {
      const parsed = parseHashcash(text);
      if (parsed.ok) assert.equal(formatHashcash(parsed.value), text);
    }),
    { numRuns: 2000 },
  );
});

test('malformed headers are verdicts naming the field, never exceptions', () => {
  const cases: [string, RegExp][] = [
    ['1:5:20261121093000:127.0.0.1::MA==', /7 fields/],
    ['2:5:20261121093000:1.2.3.4:5::Vmh0Yw==:MA==', /version/],
    ['1:05:20261121093000:1.2.3.4:5::Vmh0Yw==:MA==', /bits/],
    ['1:x:20261121093000:1.2.3.4:5::Vmh0Yw==:MA==', /bits/],
    [`1:${POW_LIMITS.maxHashcashHexZeros + 1}:20261121093000:1.2.3.4:5::Vmh0Yw==:MA==`, /bits/],
    ['1:5:2026112109300:1.2.3.4:5::Vmh0Yw==:MA==', /date/],
    ['1:5:20261121093000:1.2.3.4:5::Vmh0Yw=:MA==', /rand/],
    ['1:5:20261121093000:1.2.3.4:5::Vmh0Yx==:MA==', /rand/],
    ['1:5:20261121093000:1.2.3.4:5::Vmh0Yw==:MA', /counter/],
    ['1:5:20261121093000:1.2.3.4:5::Vmh0Yw==:MDE=', /counter/],
    ['1:5:20261121093000:1.2.3.4:5::Vmh0Yw==:LTE=', /counter/],
    ['1:5:20261121093000:1.2.3.4:5 ::Vmh0Yw==:MA==', /ASCII/],
    ['1:5:20261121093000:1.2.3.4:5::Vmh0Yw==:MA==\n', /ASCII/],
  ];
  for (const [text, detail] of cases) {
    const parsed = parseHashcash(text);
    assert.equal(parsed.ok, false, text);
    if (!parsed.ok) {
      assert.equal(parsed.code, 'ERR_HASHCASH_MALFORMED');
      assert.match(parsed.detail ?? '', detail, text);
    }
    assert.equal(verifyHashcash(text), false);
  }
});

test('limit: a header of POW_LIMITS.maxHashcashHeaderLength parses, one longer does not', () => {
  const base = '1:0:20261121093000:::AAAA:MA==';
  const at = base.replace('::', `:${'r'.repeat(POW_LIMITS.maxHashcashHeaderLength - base.length)}:`);
  assert.equal(at.length, POW_LIMITS.maxHashcashHeaderLength);
  assert.equal(parseHashcash(at).ok, true);
  const over = parseHashcash(at.replace(':r', ':rr'));
  assert.equal(over.ok ? 'ok' : over.detail, `longer than ${POW_LIMITS.maxHashcashHeaderLength}`);
  assert.throws(() => expectedAttempts(POW_LIMITS.maxHashcashHexZeros + 1), /hexDigits/);
});

test('counter and date helpers', () => {
  assert.equal(encodeCounter(0n), 'MA==');
  assert.equal(encodeCounter(1025153n), 'MTAyNTE1Mw==');
  assert.equal(decodeCounter('MTAyNTE1Mw=='), 1025153n);
  assert.equal(decodeCounter(encodeCounter((1n << 64n) - 1n)), (1n << 64n) - 1n);
  assert.equal(decodeCounter(Buffer.from((1n << 64n).toString()).toString('base64')), undefined);
  assert.equal(parseHashcashDate('20261121093000'), Date.UTC(2026, 10, 21, 9, 30, 0));
  assert.equal(parseHashcashDate('20261321093000'), undefined);
  assert.equal(leadingHexZeros(Uint8Array.from([0, 0x0f, 0xff])), 3);
  assert.equal(expectedAttempts(5), 16 ** 5);
});

test('puzzleText is formatHashcash(newHashcash(...)) without the re-parse', () => {
  for (const [bits, resource, nowMs] of [
    [1, '127.0.0.1:5', 0],
    [6, '[2001:db8::1]:443', 1_800_000_000_999],
    [8, '10.0.0.1:65535', 1_800_000_001_000],
    [3, '10.0.0.1:65535', 1_800_000_001_000],
  ] as const) {
    for (const rand of [Uint8Array.of(), Uint8Array.of(9, 8, 7, 6), new Uint8Array(83).fill(255)]) {
      const want = formatHashcash(newHashcash({ bits, resource, nowMs, rand }));
      assert.equal(puzzleText({ bits, resource, nowMs, rand }), want);
      // A view into a larger buffer encodes only its own bytes.
      const big = new Uint8Array(rand.length + 8);
      big.set(rand, 4);
      assert.equal(puzzleText({ bits, resource, nowMs, rand: big.subarray(4, 4 + rand.length) }), want);
    }
  }
});

test('newHashcash builds a header from the time and random bytes it is given', () => {
  const h = newHashcash({
    bits: 5,
    resource: '127.0.0.1:53422',
    nowMs: Date.UTC(2026, 10, 21, 9, 30),
    rand: Buffer.from('Vhtc'),
  });
  assert.equal(formatHashcash(h), EXAMPLE);
});

test('solve then verify; the solved header keeps every field but the counter', async () => {
  for (const bits of [0, 1, 2, 3]) {
    const h = newHashcash({ bits, resource: '[::1]:9', nowMs: 0, rand: Uint8Array.of(bits, 1, 2) });
    const r = await solveHashcash(formatHashcash(h), { backend: 'ts' });
    assert.equal(verifyHashcash(r.header), true);
    const parsed = parseHashcash(r.header);
    assert.ok(parsed.ok);
    assert.deepEqual({ ...parsed.value, counter: h.counter }, h);
    assert.equal(parsed.value.counter, encodeCounter(r.nonce));
    assert.equal(checkHashcash(r.header).ok, true);
  }
  await assert.rejects(
    solveHashcash('1:5:bad'),
    (e: Error & { code?: string }) => e.code === 'ERR_INVALID_ARG',
  );
});

test('verify rejects a solved header at one more hex digit', async () => {
  const r = await solveHashcash(EXAMPLE.replace('1:5:', '1:2:'), { backend: 'ts' });
  const zeros = leadingHexZeros(createHash('sha1').update(r.header).digest());
  assert.equal(verifyHashcash(r.header), true);
  const harder = r.header.replace('1:2:', `1:${zeros + 1}:`);
  const checked = checkHashcash(harder);
  assert.equal(checked.ok ? 'ok' : checked.code, 'ERR_POW_INSUFFICIENT');
});

/** The reference client's check of a solved header: SHA-1 of the text, hex, leading '0's. */
function referenceAccepts(header: string): boolean {
  const fields = header.split(':');
  const bits = Number(fields[1]);
  return createHash('sha1').update(header).digest('hex').startsWith('0'.repeat(bits));
}

test("hashcashStart: for every prefix length the counter's changing bytes, 0x80 and the length lie in the last block", () => {
  for (let p = 0; p <= POW_LIMITS.maxHashcashHeaderLength; p++) {
    const start = hashcashStart(p);
    assert.ok(start >= 0n && start < HASHCASH_COUNTER_END, `prefix ${p}`);
    // Independent of the implementation: lay the message out for the first counters and
    // for the last one before the low six digits carry, and compare the blocks.
    for (const counter of [start, start + 1n, start + 999n, start + 999_999n]) {
      const field = encodeCounter(counter);
      if (field.length !== encodeCounter(start).length) continue;
      const total = p + field.length;
      const lastBlock = 64 * (Math.ceil((total + 9) / 64) - 1);
      // The native window: the last two base64 groups (8 bytes), or the whole field if shorter.
      const window = Math.min(8, field.length);
      if (start > 0n) assert.ok(total - window >= lastBlock, `prefix ${p}, counter ${counter}`);
    }
    assert.throws(() => hashcashStart(-1), ArgumentError);
  }
  // The powtcp prefix (46 bytes): 19 digits, from 10^18.
  assert.equal(hashcashStart(46), 10n ** 18n);
});

test('solutions found from hashcashStart are canonical, below 2^63 and accepted as the reference checks them', async () => {
  for (const resource of ['127.0.0.1:53422', '[2001:db8::1]:40000', '10.0.0.1:1']) {
    for (const bits of [1, 2, 3]) {
      const h = newHashcash({ bits, resource, nowMs: 1_800_000_000_000, rand: Uint8Array.of(9, 8, 7, 6) });
      const text = formatHashcash(h);
      const prefixLength = text.length - h.counter.length;
      for (const backend of ['ts', 'auto'] as const) {
        const r = await solveHashcash(text, { backend });
        assert.ok(r.nonce >= hashcashStart(prefixLength) && r.nonce < HASHCASH_COUNTER_END);
        assert.equal(checkHashcash(r.header).ok, true);
        assert.equal(referenceAccepts(r.header), true);
        const counter = parseHashcash(r.header);
        assert.ok(counter.ok);
        assert.equal(decodeCounter(counter.value.counter), r.nonce);
        // A signed 64-bit parse of the decimal, as a Go reference server would do.
        const digits = Buffer.from(counter.value.counter, 'base64').toString('latin1');
        assert.ok(BigInt(digits) <= 2n ** 63n - 1n && String(BigInt(digits)) === digits);
      }
    }
  }
});
