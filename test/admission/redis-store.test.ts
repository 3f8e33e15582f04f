import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RedisStore, StoreUnavailableError } from '../../src/admission/redis-store.js';
import { closedPort, type RedisProcess, startRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

let redis: RedisProcess;
let store: RedisStore;
let other: RedisStore;

before(async () => {
  redis = await startRedis();
  store = new RedisStore(redis.url, { prefix: 'test:' });
  other = new RedisStore(redis.url, { prefix: 'test:' });
  await store.ping();
});
after(async () => {
  await store.close();
  await other.close();
  await redis.stop();
});

test('setIfAbsent: exactly one true, also across two clients, even when concurrent', async () => {
  const exp = Date.now() + 60_000;
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? store : other).setIfAbsent('k1', exp)),
  );
  assert.equal(results.filter(Boolean).length, 1);
  assert.equal(await other.setIfAbsent('k1', exp), false);
  assert.equal(await store.setIfAbsent('k2', exp), true);
});

test('setIfAbsent: an expired key is absent again (Redis judges expiry)', async () => {
  assert.equal(await store.setIfAbsent('short', Date.now() + 50), true);
  // Redis drops a key at its expiry, never before: what is awaited is time passing (bounded).
  await waitFor('the key to expire', () => store.setIfAbsent('short', Date.now() + 60_000), {
    intervalMs: 20,
  });
  // An expiry already past sets and forgets, as MemoryStore does.
  assert.equal(await store.setIfAbsent('past', Date.now() - 1000), true);
  assert.equal(await store.setIfAbsent('past', Date.now() + 60_000), true);
});

test('takeTokens: burst, then refused with retryAfter, refilled at the rate; fractions kept', async () => {
  const now = 1_000_000;
  for (let i = 0; i < 5; i++) {
    const r = await store.takeTokens('b1', 1, 10, 5, now);
    assert.equal(r.allowed, true, `take ${i}`);
  }
  const refused = await store.takeTokens('b1', 1, 10, 5, now);
  assert.deepEqual(refused, { allowed: false, tokens: 0, retryAfterMs: 100 });
  const half = await other.takeTokens('b1', 1, 10, 5, now + 50);
  assert.equal(half.allowed, false);
  assert.equal(half.tokens, 0.5);
  assert.equal(half.retryAfterMs, 50);
  const ok = await other.takeTokens('b1', 1, 10, 5, now + 100);
  assert.equal(ok.allowed, true);
  // A clock that lags the last refill earns nothing.
  const lag = await store.takeTokens('b1', 1, 10, 5, now);
  assert.equal(lag.allowed, false);
});

test('takeTokens is atomic: concurrent takes never spend one token twice', async () => {
  const now = 2_000_000;
  const results = await Promise.all(
    Array.from({ length: 40 }, (_, i) => (i % 2 ? store : other).takeTokens('b2', 1, 1, 10, now)),
  );
  assert.equal(results.filter((r) => r.allowed).length, 10);
});

test('addTokens: credit up to burst; an absent bucket is full', async () => {
  const now = 3_000_000;
  assert.equal(await store.addTokens('b3', 2, 1, 4, now), 4);
  for (let i = 0; i < 4; i++) await store.takeTokens('b3', 1, 1, 4, now);
  assert.equal(await store.addTokens('b3', 3, 1, 4, now), 3);
  assert.equal(await store.addTokens('b3', 3, 1, 4, now), 4);
});

test('caller mistakes throw ArgumentError naming the argument', async () => {
  await assert.rejects(store.takeTokens('', 1, 1, 1, 0), /key/);
  await assert.rejects(store.takeTokens('x', 2, 1, 1, 0), /cost/);
  await assert.rejects(store.setIfAbsent('x', Number.NaN), /expiresAtMs/);
  assert.throws(() => new RedisStore('localhost:6379'), /url/);
});

test('a Redis that is not there fails fast with ERR_STORE_UNAVAILABLE', async () => {
  const port = await closedPort();
  const dead = new RedisStore(`redis://127.0.0.1:${port}`, {
    commandTimeoutMs: 200,
    redis: { retryStrategy: () => null, enableOfflineQueue: false },
  });
  await assert.rejects(dead.setIfAbsent('x', Date.now() + 1000), (err: unknown) => {
    assert.ok(err instanceof StoreUnavailableError);
    assert.equal(err.code, 'ERR_STORE_UNAVAILABLE');
    return true;
  });
  await dead.close();
});
