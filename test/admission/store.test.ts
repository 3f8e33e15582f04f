import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ADMISSION_LIMITS } from '../../src/admission/limits.js';
import { MemoryStore, StoreClosedError, StoreFullError } from '../../src/admission/store.js';
import { ManualClock } from '../../src/util/clock.js';
import { ArgumentError } from '../../src/util/errors.js';

const T0 = 1_800_000_000_000;

test('setIfAbsent: true once until the absolute expiry, then true again', async () => {
  const clock = new ManualClock(T0);
  const store = new MemoryStore({ clock });
  assert.equal(await store.setIfAbsent('a', T0 + 5000), true);
  assert.equal(await store.setIfAbsent('a', T0 + 9000), false);
  clock.set(T0 + 4999);
  assert.equal(await store.setIfAbsent('a', T0 + 9000), false);
  clock.set(T0 + 5000);
  assert.equal(await store.setIfAbsent('a', T0 + 9000), true);
  assert.equal(await store.setIfAbsent('a', T0 + 9000), false);
  // An expiry already passed: set and gone at once.
  assert.equal(await store.setIfAbsent('b', T0), true);
  assert.equal(await store.setIfAbsent('b', T0 + 6000), true);
});

test('concurrent setIfAbsent of one key: exactly one true', async () => {
  const store = new MemoryStore({ clock: new ManualClock(T0) });
  const results = await Promise.all(Array.from({ length: 50 }, () => store.setIfAbsent('k', T0 + 1000)));
  assert.equal(results.filter(Boolean).length, 1);
});

test('entries are dropped a whole bucket at a time; memory returns to zero', async () => {
  const clock = new ManualClock(T0);
  const store = new MemoryStore({ clock, bucketMs: 1000 });
  for (let i = 0; i < 3000; i++) await store.setIfAbsent(`k${i}`, T0 + 1000 + (i % 3) * 1000);
  assert.equal(store.stats().replayEntries, 3000);
  clock.set(T0 + 2000);
  assert.equal(store.stats().replayEntries, 2000);
  clock.set(T0 + 3999);
  assert.equal(store.stats().replayEntries, 1000);
  clock.set(T0 + 4000);
  assert.equal(store.stats().replayEntries, 0);
});

test('a clock jump past the whole wheel still drops everything due, and keeps what is not', async () => {
  const clock = new ManualClock(T0);
  const store = new MemoryStore({ clock, bucketMs: 1000, maxTtlMs: 10_000 });
  await store.setIfAbsent('short', T0 + 1500);
  await store.setIfAbsent('long', T0 + 10_000);
  clock.set(T0 + 9_000);
  assert.equal(store.stats().replayEntries, 1);
  assert.equal(await store.setIfAbsent('long', T0 + 12_000), false);
  clock.set(T0 + 1_000_000);
  assert.equal(store.stats().replayEntries, 0);
});

test('replay cap: at maxEntries new keys are refused (fail closed), live ones are kept', async () => {
  const clock = new ManualClock(T0);
  const store = new MemoryStore({ clock, maxEntries: 3 });
  for (const k of ['a', 'b', 'c']) assert.equal(await store.setIfAbsent(k, T0 + 1000), true);
  await assert.rejects(store.setIfAbsent('d', T0 + 1000), StoreFullError);
  await assert.rejects(store.setIfAbsent('d', T0 + 1000), { code: 'ERR_STORE_FULL' });
  assert.equal(await store.setIfAbsent('a', T0 + 1000), false);
  clock.set(T0 + 2000);
  assert.equal(await store.setIfAbsent('d', T0 + 3000), true);
});

test('expiry beyond the horizon (limit + 1) and bad keys are caller mistakes', async () => {
  const clock = new ManualClock(T0);
  const store = new MemoryStore({ clock });
  assert.equal(await store.setIfAbsent('x', T0 + ADMISSION_LIMITS.maxStoreTtlMs), true);
  await assert.rejects(store.setIfAbsent('y', T0 + ADMISSION_LIMITS.maxStoreTtlMs + 1), ArgumentError);
  await assert.rejects(store.setIfAbsent('', T0 + 1), ArgumentError);
  await assert.rejects(
    store.setIfAbsent('k'.repeat(ADMISSION_LIMITS.maxStoreKeyLength + 1), T0 + 1),
    ArgumentError,
  );
  assert.equal(await store.setIfAbsent('k'.repeat(ADMISSION_LIMITS.maxStoreKeyLength), T0 + 1), true);
  await assert.rejects(store.setIfAbsent('z', Number.NaN), ArgumentError);
});

test('token bucket: burst, refill at rate, retry-after, cost above burst refused', async () => {
  const store = new MemoryStore({ clock: new ManualClock(T0) });
  let now = T0;
  for (let i = 0; i < 5; i++) assert.equal((await store.takeTokens('ip', 1, 2, 5, now)).allowed, true);
  const denied = await store.takeTokens('ip', 1, 2, 5, now);
  assert.deepEqual(denied, { allowed: false, tokens: 0, retryAfterMs: 500 });
  now += 499;
  assert.equal((await store.takeTokens('ip', 1, 2, 5, now)).allowed, false);
  now += 1;
  assert.equal((await store.takeTokens('ip', 1, 2, 5, now)).allowed, true);
  // A clock that goes back earns nothing.
  assert.equal((await store.takeTokens('ip', 1, 2, 5, now - 10_000)).allowed, false);
  await assert.rejects(store.takeTokens('ip', 6, 2, 5, now), ArgumentError);
  await assert.rejects(store.takeTokens('ip', 0, 2, 5, now), ArgumentError);
  await assert.rejects(store.takeTokens('ip', 1, 0, 5, now), ArgumentError);
  await assert.rejects(store.takeTokens('ip', 1, 2, ADMISSION_LIMITS.maxBurst + 1, now), ArgumentError);
  await assert.rejects(store.takeTokens('ip', 1, ADMISSION_LIMITS.maxRatePerSec + 1, 5, now), ArgumentError);
});

test('addTokens: credit is capped at burst; an absent bucket is full', async () => {
  const store = new MemoryStore({ clock: new ManualClock(T0) });
  assert.equal(await store.addTokens('n', 3, 1, 4, T0), 4);
  assert.equal(store.stats().tokenBuckets, 0);
  for (let i = 0; i < 4; i++) await store.takeTokens('n', 1, 1, 4, T0);
  assert.equal(await store.addTokens('n', 2, 1, 4, T0), 2);
  assert.equal(await store.addTokens('n', 3, 1, 4, T0), 4);
});

test('idle buckets are dropped once full again; bucket cap refuses new identities', async () => {
  const store = new MemoryStore({ clock: new ManualClock(T0), maxBuckets: 2, bucketMs: 1000 });
  await store.takeTokens('a', 1, 1, 10, T0);
  await store.takeTokens('b', 5, 1, 10, T0);
  assert.equal(store.stats().tokenBuckets, 2);
  await assert.rejects(store.takeTokens('c', 1, 1, 10, T0), StoreFullError);
  // 'a' is full after 1 s, 'b' after 5 s; drops happen a bucket later at most.
  await store.takeTokens('a', 1, 1, 10, T0 + 500);
  assert.equal((await store.takeTokens('c', 1, 1, 10, T0 + 3000)).allowed, true);
  assert.equal(store.stats().tokenBuckets, 2);
  await assert.rejects(store.takeTokens('d', 1, 1, 10, T0 + 3000), StoreFullError);
  await store.takeTokens('b', 1, 1, 10, T0 + 20_000);
  assert.equal(store.stats().tokenBuckets, 1);
});

test('property: a bucket never allows more than burst + rate x time', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 1, max: 50 }),
      fc.array(fc.tuple(fc.nat(400), fc.integer({ min: 1, max: 3 })), { maxLength: 200 }),
      async (rate, burst, steps) => {
        const store = new MemoryStore({ clock: new ManualClock(T0), bucketMs: 100 });
        let now = T0;
        let granted = 0;
        for (const [dt, c] of steps) {
          now += dt;
          const cost = Math.min(c, burst);
          if ((await store.takeTokens('k', cost, rate, burst, now)).allowed) granted += cost;
        }
        assert.ok(granted <= burst + (rate * (now - T0)) / 1000 + 1e-9);
      },
    ),
    { numRuns: 200 },
  );
});

test('close: later calls reject with ERR_STORE_CLOSED', async () => {
  const store = new MemoryStore();
  await store.close();
  await assert.rejects(store.setIfAbsent('a', Date.now() + 10), StoreClosedError);
  await assert.rejects(store.takeTokens('a', 1, 1, 1, Date.now()), { code: 'ERR_STORE_CLOSED' });
});

test('limit + 1 on store options', () => {
  assert.throws(() => new MemoryStore({ maxEntries: 0 }), ArgumentError);
  assert.throws(() => new MemoryStore({ bucketMs: 1, maxTtlMs: 1_000_001 }), ArgumentError);
});

test('replay memory stays within accept rate x lifetime under a sustained stream', async () => {
  const clock = new ManualClock(T0);
  const store = new MemoryStore({ clock, bucketMs: 1000 });
  const ratePerSec = 500;
  const lifetimeMs = 10_000;
  let peak = 0;
  let n = 0;
  // 120 s of accepts, 500 per second, each mark kept for its lifetime.
  for (let ms = 0; ms < 120_000; ms += 10) {
    clock.set(T0 + ms);
    for (let i = 0; i < ratePerSec / 100; i++)
      assert.ok(store.setIfAbsentSync(`m${n++}`, T0 + ms + lifetimeMs));
    if (ms % 1000 === 0) peak = Math.max(peak, store.stats().replayEntries);
  }
  // Dropped a whole bucket at a time: at most one bucket's worth of accepts beyond rate x lifetime.
  assert.ok(peak <= (ratePerSec * (lifetimeMs + 1000)) / 1000, `peak ${peak}`);
  assert.ok(peak >= (ratePerSec * lifetimeMs) / 1000);
  clock.advance(lifetimeMs + 1000);
  assert.equal(store.stats().replayEntries, 0);
});

test('token buckets of many idle identities are all dropped', async () => {
  const clock = new ManualClock(T0);
  const store = new MemoryStore({ clock, bucketMs: 1000 });
  for (let i = 0; i < 5000; i++) await store.takeTokens(`id${i}`, 1, 10, 20, T0 + (i % 100));
  assert.equal(store.stats().tokenBuckets, 5000);
  // One token refills in 100 ms; all are full and dropped a bucket later.
  await store.takeTokens('probe', 1, 10, 20, T0 + 2100);
  assert.equal(store.stats().tokenBuckets, 1);
});
