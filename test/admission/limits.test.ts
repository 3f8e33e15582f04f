import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedQueue, LeakyQueue, QueueDifficultyController } from '../../src/admission/difficulty.js';
import { ADMISSION_LIMITS as L } from '../../src/admission/limits.js';
import { RateLimiter } from '../../src/admission/rate-limit.js';
import { ChallengeSealer, KeyRing } from '../../src/admission/sealed.js';
import { MemoryStore } from '../../src/admission/store.js';
import { ManualClock } from '../../src/util/clock.js';
import { ArgumentError } from '../../src/util/errors.js';

// One test per limit of src/admission/limits.ts: the limit itself is accepted, limit + 1 is not.
const T0 = 1_800_000_000_000;
const client = { host: '192.0.2.1', port: 1 };
const server = { host: '192.0.2.2', port: 2 };
const v6 = { host: '2001:db8::1', port: 3 };

function sealer(clock = new ManualClock(T0)) {
  return new ChallengeSealer(new KeyRing({ clock }), { clock });
}

test('challengeTtlMs: the default lifetime; a default above maxChallengeTtlMs is refused', () => {
  const clock = new ManualClock(T0);
  const s = sealer(clock);
  const v = s.open(s.seal({ kind: 'sha256-bits', difficulty: 1, client, server }), { client, server });
  assert.ok(v.ok);
  assert.equal(v.value.expiresAt - v.value.issuedAt, L.challengeTtlMs);
  assert.ok(new ChallengeSealer(new KeyRing(), { defaultTtlMs: L.maxChallengeTtlMs }));
  assert.throws(
    () => new ChallengeSealer(new KeyRing(), { defaultTtlMs: L.maxChallengeTtlMs + 1 }),
    ArgumentError,
  );
});

test('maxChallengeTtlMs: ttl at the limit seals, limit + 1 throws', () => {
  const s = sealer();
  assert.ok(s.seal({ kind: 'sha256-bits', difficulty: 1, client, server, ttlMs: L.maxChallengeTtlMs }));
  assert.throws(
    () => s.seal({ kind: 'sha256-bits', difficulty: 1, client, server, ttlMs: L.maxChallengeTtlMs + 1 }),
    ArgumentError,
  );
});

test('clockSkewMs: issue time skew ahead opens, skew + 1 ms is expired; a larger configured skew is refused', () => {
  const secret = new Uint8Array(32).fill(5);
  const here = new ManualClock(T0);
  const ahead = new ManualClock(T0 + L.clockSkewMs);
  const local = new ChallengeSealer(new KeyRing({ clock: here, secret }));
  const remote = new ChallengeSealer(new KeyRing({ clock: ahead, secret }));
  assert.ok(
    local.open(remote.seal({ kind: 'sha256-bits', difficulty: 1, client, server }), { client, server }).ok,
  );
  ahead.set(T0 + L.clockSkewMs + 1);
  const v = local.open(remote.seal({ kind: 'sha256-bits', difficulty: 1, client, server }), {
    client,
    server,
  });
  assert.ok(!v.ok && v.code === 'ERR_CHALLENGE_EXPIRED');
  assert.throws(() => new ChallengeSealer(new KeyRing(), { skewMs: L.clockSkewMs + 1 }), ArgumentError);
});

test('keyRotationMs / minKeyRotationMs: default period; below the minimum is refused', () => {
  assert.equal(new KeyRing().rotationMs, L.keyRotationMs);
  assert.ok(new KeyRing({ rotationMs: L.minKeyRotationMs }));
  assert.throws(() => new KeyRing({ rotationMs: L.minKeyRotationMs - 1 }), ArgumentError);
});

test('minSealedBytes / maxSealedBytes: the real extremes; one byte beyond is malformed', () => {
  const s = sealer();
  const small = s.seal({ kind: 'sha256-bits', difficulty: 1, client, server });
  const large = s.seal({ kind: 'sha256-bits', difficulty: 1, client: v6, server: v6 });
  assert.equal(small.length, L.minSealedBytes);
  assert.equal(large.length, L.maxSealedBytes);
  for (const [blob, n] of [
    [small, L.minSealedBytes - 1],
    [large, L.maxSealedBytes + 1],
  ] as const) {
    const bad = new Uint8Array(n);
    bad.set(blob.subarray(0, Math.min(n, blob.length)));
    bad[1] = n >> 8;
    bad[2] = n & 0xff;
    const v = s.open(bad, { client, server });
    assert.ok(!v.ok && v.code === 'ERR_CHALLENGE_MALFORMED');
  }
});

test('maxSealedDifficulty: seals at the limit, limit + 1 throws', () => {
  const s = sealer();
  const v = s.open(s.seal({ kind: 'sha256-bits', difficulty: L.maxSealedDifficulty, client, server }), {
    client,
    server,
  });
  assert.ok(v.ok && v.value.difficulty === L.maxSealedDifficulty);
  assert.throws(
    () => s.seal({ kind: 'sha256-bits', difficulty: L.maxSealedDifficulty + 1, client, server }),
    ArgumentError,
  );
});

test('maxReplayEntries: a store of the default cap is created; the cap + 1st live entry is refused', async () => {
  assert.ok(new MemoryStore());
  const clock = new ManualClock(T0);
  const store = new MemoryStore({ clock, maxEntries: 10 });
  for (let i = 0; i < 10; i++) assert.ok(await store.setIfAbsent(`k${i}`, T0 + 1000));
  await assert.rejects(store.setIfAbsent('k10', T0 + 1000), { code: 'ERR_STORE_FULL' });
});

test('maxTokenBuckets: the cap + 1st identity is refused', async () => {
  const store = new MemoryStore({ clock: new ManualClock(T0), maxBuckets: 10 });
  for (let i = 0; i < 10; i++) assert.ok((await store.takeTokens(`b${i}`, 1, 1, 5, T0)).allowed);
  await assert.rejects(store.takeTokens('b10', 1, 1, 5, T0), { code: 'ERR_STORE_FULL' });
});

test('storeBucketMs: an entry is gone at most one bucket after its expiry, not before', async () => {
  const clock = new ManualClock(T0);
  const store = new MemoryStore({ clock });
  await store.setIfAbsent('k', T0 + 10);
  clock.set(T0 + 9);
  assert.equal(store.stats().replayEntries, 1);
  clock.set(T0 + 10 + L.storeBucketMs);
  assert.equal(store.stats().replayEntries, 0);
});

test('maxStoreTtlMs: expiry at the horizon accepted, horizon + 1 refused', async () => {
  const store = new MemoryStore({ clock: new ManualClock(T0) });
  assert.ok(await store.setIfAbsent('a', T0 + L.maxStoreTtlMs));
  await assert.rejects(store.setIfAbsent('b', T0 + L.maxStoreTtlMs + 1), ArgumentError);
});

test('maxStoreKeyLength: key of the limit accepted, limit + 1 refused', async () => {
  const store = new MemoryStore({ clock: new ManualClock(T0) });
  assert.ok(await store.setIfAbsent('k'.repeat(L.maxStoreKeyLength), T0 + 1));
  await assert.rejects(store.setIfAbsent('k'.repeat(L.maxStoreKeyLength + 1), T0 + 1), ArgumentError);
});

test('queueSize / maxQueueSize: default q; q = max accepted, max + 1 refused (controller and queues)', () => {
  assert.equal(new QueueDifficultyController().queueSize, L.queueSize);
  assert.equal(new BoundedQueue().size, L.queueSize);
  assert.ok(new BoundedQueue(L.maxQueueSize));
  assert.throws(() => new BoundedQueue(L.maxQueueSize + 1), ArgumentError);
  assert.throws(() => new LeakyQueue({ size: L.maxQueueSize + 1, serviceRatePerSec: 1 }), ArgumentError);
  assert.throws(() => new QueueDifficultyController({ queueSize: L.maxQueueSize + 1 }), ArgumentError);
});

test('maxDifficulty: d stops at the cap; external is cap + 1', () => {
  const c = new QueueDifficultyController({ queueSize: 2 });
  for (let i = 0; i < L.maxDifficulty + 5; i++) c.arrive({ queueFull: true });
  assert.equal(c.internal, L.maxDifficulty);
  assert.equal(c.external, L.maxDifficulty + 1);
  assert.throws(() => new QueueDifficultyController({ initial: L.maxDifficulty + 1 }), ArgumentError);
});

test('ratePerSec / burst / maxRatePerSec / maxBurst: defaults, limits and limit + 1', () => {
  const store = new MemoryStore();
  const d = new RateLimiter({ store });
  assert.equal(d.ratePerSec, L.ratePerSec);
  assert.equal(d.burst, L.burst);
  assert.ok(new RateLimiter({ store, ratePerSec: L.maxRatePerSec, burst: L.maxBurst }));
  assert.throws(() => new RateLimiter({ store, ratePerSec: L.maxRatePerSec + 1 }), ArgumentError);
  assert.throws(() => new RateLimiter({ store, burst: L.maxBurst + 1 }), ArgumentError);
});
