import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ADMISSION_LIMITS } from '../../src/admission/limits.js';
import { identityOf, RateLimiter } from '../../src/admission/rate-limit.js';
import { MemoryStore } from '../../src/admission/store.js';
import { ManualClock } from '../../src/util/clock.js';
import { ArgumentError } from '../../src/util/errors.js';

const T0 = 1_800_000_000_000;

test('identityOf: IPv4 /32, IPv6 /64, IPv4-mapped as IPv4', () => {
  const table: [string, string][] = [
    ['1.2.3.4', 'v4:1.2.3.4'],
    ['::ffff:1.2.3.4', 'v4:1.2.3.4'],
    ['2001:db8:1:2:3:4:5:6', 'v6:2001:db8:1:2::/64'],
    ['2001:DB8:1:2::1', 'v6:2001:db8:1:2::/64'],
    ['2001:db8::1', 'v6:2001:db8::/64'],
    ['2001:0:0:1:ffff:ffff:ffff:ffff', 'v6:2001:0:0:1::/64'],
    ['::1', 'v6:::/64'],
    ['fe80::1', 'v6:fe80::/64'],
  ];
  for (const [ip, id] of table) assert.equal(identityOf(ip), id, ip);
  assert.throws(
    () => identityOf('nope'),
    (e: unknown) => e instanceof ArgumentError && e.argument === 'ip',
  );
});

test('property: all addresses of one /64 share an identity; different /64s do not', () => {
  fc.assert(
    fc.property(
      fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }),
      fc.array(fc.nat(0xffff), { minLength: 4, maxLength: 4 }),
      (a, tail) => {
        const b = [...a.slice(0, 4), ...tail];
        const text = (g: number[]) => g.map((x) => x.toString(16)).join(':');
        const isMapped = (g: number[]) => g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
        fc.pre(!isMapped(a) && !isMapped(b));
        assert.equal(identityOf(text(a)), identityOf(text(b)));
        const c = [...a];
        c[3] = (c[3]! + 1) & 0xffff;
        fc.pre(!isMapped(c));
        assert.notEqual(identityOf(text(a)), identityOf(text(c)));
      },
    ),
  );
});

test('take: burst then ERR_RATE_LIMITED with retry-after; refills; identities are separate', async () => {
  const clock = new ManualClock(T0);
  const limiter = new RateLimiter({ store: new MemoryStore({ clock }), ratePerSec: 1, burst: 3, clock });
  for (let i = 0; i < 3; i++) assert.ok((await limiter.take('10.0.0.1')).ok);
  const v = await limiter.take('10.0.0.1');
  assert.ok(!v.ok);
  assert.equal(v.code, 'ERR_RATE_LIMITED');
  assert.equal(v.retryAfterMs, 1000);
  assert.equal(v.identity, 'v4:10.0.0.1');
  assert.ok((await limiter.take('10.0.0.2')).ok);
  // Another address in the same /64 is the same identity.
  for (let i = 0; i < 3; i++) assert.ok((await limiter.take(`2001:db8::${i + 1}`)).ok);
  assert.ok(!(await limiter.take('2001:db8::ffff')).ok);
  clock.advance(1000);
  assert.ok((await limiter.take('10.0.0.1')).ok);
  assert.ok(!(await limiter.take('10.0.0.1')).ok);
  const big = await limiter.take('10.0.0.3', 3);
  assert.ok(big.ok);
  await assert.rejects(limiter.take('10.0.0.3', 4), ArgumentError);
});

test('NAT fallback: a client behind an exhausted shared address earns a token with a redeemed PoW', async () => {
  const clock = new ManualClock(T0);
  const limiter = new RateLimiter({ store: new MemoryStore({ clock }), ratePerSec: 0.1, burst: 2, clock });
  const nat = '203.0.113.50';
  assert.ok((await limiter.take(nat)).ok);
  assert.ok((await limiter.take(nat)).ok);
  assert.ok(!(await limiter.take(nat)).ok);
  // After a verified, redeemed solve: credit one token, then spend it.
  assert.equal(await limiter.credit(nat, 1), 1);
  assert.ok((await limiter.take(nat)).ok);
  assert.ok(!(await limiter.take(nat)).ok);
  // Credit cannot be banked beyond the burst.
  assert.equal(await limiter.credit(nat, 2), 2);
  assert.equal(await limiter.credit(nat, 2), 2);
  assert.ok((await limiter.take(nat)).ok);
  assert.ok((await limiter.take(nat)).ok);
  assert.ok(!(await limiter.take(nat)).ok);
});

test('a full bucket store refuses new identities (ERR_STORE_FULL) and keeps the old ones', async () => {
  const clock = new ManualClock(T0);
  const store = new MemoryStore({ clock, maxBuckets: 2 });
  const limiter = new RateLimiter({ store, ratePerSec: 1, burst: 5, clock });
  assert.ok((await limiter.take('10.0.0.1')).ok);
  assert.ok((await limiter.take('10.0.0.2')).ok);
  const v = await limiter.take('10.0.0.3');
  assert.ok(!v.ok && v.code === 'ERR_STORE_FULL');
  assert.ok((await limiter.take('10.0.0.1')).ok);
  // Idle buckets refill and are dropped, which makes room again.
  clock.advance(10_000);
  assert.ok((await limiter.take('10.0.0.3')).ok);
  assert.equal(store.stats().tokenBuckets, 1);
});

test('limiter limits: rate and burst at limit + 1', () => {
  const store = new MemoryStore();
  assert.throws(() => new RateLimiter({ store, burst: ADMISSION_LIMITS.maxBurst + 1 }), ArgumentError);
  assert.throws(
    () => new RateLimiter({ store, ratePerSec: ADMISSION_LIMITS.maxRatePerSec + 1 }),
    ArgumentError,
  );
  assert.ok(
    new RateLimiter({ store, burst: ADMISSION_LIMITS.maxBurst, ratePerSec: ADMISSION_LIMITS.maxRatePerSec }),
  );
  assert.throws(() => new RateLimiter({ store: {} as MemoryStore }), ArgumentError);
  const d = new RateLimiter({ store });
  assert.equal(d.ratePerSec, ADMISSION_LIMITS.ratePerSec);
  assert.equal(d.burst, ADMISSION_LIMITS.burst);
});
