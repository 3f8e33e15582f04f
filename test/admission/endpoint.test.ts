import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  canonicalHost,
  decodeEndpoint,
  encodeEndpoint,
  endpoint,
  formatEndpoint,
  isCanonicalHost,
  parseEndpoint,
  sameEndpoint,
} from '../../src/admission/endpoint.js';
import { ArgumentError } from '../../src/util/errors.js';

test('canonical hosts: IPv4 dotted, IPv6 RFC 5952, IPv4-mapped to IPv4', () => {
  const cases: [string, string][] = [
    ['1.2.3.4', '1.2.3.4'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['::1', '::1'],
    ['::', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['fe80::', 'fe80::'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::FFFF:0102:0304', '1.2.3.4'],
    ['0:0:0:0:0:ffff:7f00:1', '127.0.0.1'],
    ['64:ff9b::1.2.3.4', '64:ff9b::102:304'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['fe80::1%eth0', 'fe80::1'],
    ['FE80::1%25', 'fe80::1'],
  ];
  for (const [input, want] of cases) {
    assert.equal(canonicalHost(input), want, input);
    assert.ok(isCanonicalHost(want), want);
  }
});

test('non-addresses and non-canonical IPv4 spellings are refused with the argument named', () => {
  for (const bad of [
    '',
    'localhost',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '1.2.3.04',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7::8',
    'fe80::1%',
    'fe80::1%a b',
    '1.2.3.4%eth0',
    '::ffff:1.2.3.4%eth0',
    '[::1]',
    '12345::',
    'g::1',
    '::ffff:1.2.3.256',
  ]) {
    assert.throws(
      () => canonicalHost(bad, 'peer'),
      (err: unknown) => err instanceof ArgumentError && err.argument === 'peer',
      bad,
    );
  }
});

test('parseEndpoint and formatEndpoint', () => {
  assert.deepEqual(parseEndpoint('1.2.3.4:5'), { host: '1.2.3.4', port: 5 });
  assert.deepEqual(parseEndpoint('[::1]:5'), { host: '::1', port: 5 });
  assert.deepEqual(parseEndpoint('[::ffff:10.0.0.1]:65535'), { host: '10.0.0.1', port: 65535 });
  assert.deepEqual(parseEndpoint('[2001:DB8::0:1]:0'), { host: '2001:db8::1', port: 0 });
  assert.deepEqual(parseEndpoint('[fe80::1%eth0]:7'), { host: 'fe80::1', port: 7 });
  assert.equal(formatEndpoint({ host: '::1', port: 5 }), '[::1]:5');
  assert.equal(formatEndpoint({ host: '::ffff:1.2.3.4', port: 80 }), '1.2.3.4:80');
  for (const bad of [
    '1.2.3.4',
    '1.2.3.4:',
    '1.2.3.4:65536',
    '1.2.3.4:01',
    '::1:5',
    '[::1]5',
    '[::1',
    'a:1',
    '[1.2.3.4]:5',
    '1.2.3.4:-1',
    '1.2.3.4:1e3',
  ]) {
    assert.throws(() => parseEndpoint(bad), ArgumentError, bad);
  }
  assert.throws(() => endpoint('1.2.3.4', 65536), /endpoint\.port/);
  assert.throws(() => endpoint('1.2.3.4', 1.5), /endpoint\.port/);
  assert.ok(sameEndpoint({ host: '::ffff:1.2.3.4', port: 1 }, { host: '1.2.3.4', port: 1 }));
  assert.ok(!sameEndpoint({ host: '1.2.3.4', port: 1 }, { host: '1.2.3.4', port: 2 }));
});

test('binary form: 7 or 19 bytes, canonical decode only', () => {
  assert.deepEqual([...encodeEndpoint({ host: '1.2.3.4', port: 0x1234 })], [4, 1, 2, 3, 4, 0x12, 0x34]);
  const v6 = encodeEndpoint({ host: '::1', port: 443 });
  assert.equal(v6.length, 19);
  assert.equal(v6[0], 6);
  assert.deepEqual(decodeEndpoint(v6), { endpoint: { host: '::1', port: 443 }, next: 19 });
  // IPv4-mapped under family 6 is not canonical.
  const mapped = Uint8Array.from([6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4, 0, 80]);
  assert.equal(decodeEndpoint(mapped), undefined);
  assert.equal(decodeEndpoint(Uint8Array.from([5, 1, 2, 3, 4, 0, 1])), undefined);
  assert.equal(decodeEndpoint(Uint8Array.from([4, 1, 2, 3, 4, 0])), undefined);
});

const arbV4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
const arbV6 = fc.ipV6();
const arbHost = fc.oneof(
  arbV4,
  arbV6,
  fc.ipV4Extended().filter((h) => isIP(h) === 4),
);

test('property: canonical form is a fixed point, agrees with node:net, and round-trips through bytes and text', () => {
  fc.assert(
    fc.property(arbHost, fc.nat(65535), (host, port) => {
      const c = canonicalHost(host);
      assert.equal(canonicalHost(c), c);
      assert.ok(isIP(c) !== 0);
      const e = endpoint(host, port);
      assert.deepEqual(parseEndpoint(formatEndpoint(e)), e);
      const bytes = encodeEndpoint(e);
      assert.deepEqual(decodeEndpoint(bytes), { endpoint: e, next: bytes.length });
    }),
    { numRuns: 500 },
  );
});

test('property: upper-case and expanded spellings of IPv6 give the same canonical form', () => {
  fc.assert(
    fc.property(fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }), (groups) => {
      const full = groups.map((g) => g.toString(16).padStart(4, '0').toUpperCase()).join(':');
      const short = groups.map((g) => g.toString(16)).join(':');
      assert.equal(canonicalHost(full), canonicalHost(short));
    }),
    { numRuns: 300 },
  );
});
