import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type { Endpoint } from '../../src/admission/endpoint.js';
import { ADMISSION_LIMITS } from '../../src/admission/limits.js';
import { admitSolved, ReplayGuard } from '../../src/admission/replay.js';
import type { ChallengeState } from '../../src/admission/sealed.js';
import { ChallengeSealer, KeyRing } from '../../src/admission/sealed.js';
import { MemoryStore, StoreFullError } from '../../src/admission/store.js';
import { ManualClock } from '../../src/util/clock.js';
import { ArgumentError, TollgateError } from '../../src/util/errors.js';

const T0 = 1_800_000_000_000;
const client: Endpoint = { host: '192.0.2.10', port: 5555 };
const server: Endpoint = { host: '192.0.2.1', port: 7000 };

function leadingZeroBits(h: Uint8Array): number {
  let n = 0;
  for (const b of h) {
    if (b === 0) {
      n += 8;
      continue;
    }
    return n + Math.clz32(b) - 24;
  }
  return n;
}

function hashOf(challenge: Uint8Array, nonce: bigint): Uint8Array {
  const buf = Buffer.alloc(challenge.length + 8);
  buf.set(challenge);
  buf.writeBigUInt64BE(nonce, challenge.length);
  return createHash('sha256').update(buf).digest();
}

function solve(challenge: Uint8Array, bits: number): bigint {
  for (let n = 0n; ; n++) if (leadingZeroBits(hashOf(challenge, n)) >= bits) return n;
}

function setup() {
  const clock = new ManualClock(T0);
  const sealer = new ChallengeSealer(new KeyRing({ clock }));
  const store = new MemoryStore({ clock });
  const guard = new ReplayGuard(store);
  return { clock, sealer, store, guard };
}

test('redeem: true exactly once per id, again after expiry', async () => {
  const { guard, clock } = setup();
  const id = new Uint8Array(16).fill(3);
  assert.equal(await guard.redeem(id, T0 + 1000), true);
  assert.equal(await guard.redeem(Uint8Array.from(id), T0 + 1000), false);
  assert.equal(await guard.redeem(new Uint8Array(16).fill(4), T0 + 1000), true);
  clock.set(T0 + 1000);
  assert.equal(await guard.redeem(id, T0 + 2000), true);
  await assert.rejects(guard.redeem(new Uint8Array(0), T0 + 1), ArgumentError);
  await assert.rejects(guard.redeem('x' as unknown as Uint8Array, T0 + 1), ArgumentError);
});

test('admitSolved: open -> verify -> redeem; a replay is refused; the verdict carries the state', async () => {
  const { sealer, guard } = setup();
  const sealed = sealer.seal({ kind: 'sha256-bits', difficulty: 6, client, server });
  const verify = (s: ChallengeState, d: number) => leadingZeroBits(hashOf(s.challenge, nonce)) >= d;
  const header = sealer.open(sealed, { client, server });
  assert.ok(header.ok);
  const nonce = solve(header.value.challenge, 6);
  const first = await admitSolved({ sealer, guard, sealed, client, server, verify });
  assert.ok(first.ok);
  assert.equal(first.value.difficulty, 6);
  const second = await admitSolved({ sealer, guard, sealed, client, server, verify });
  assert.ok(!second.ok && second.code === 'ERR_CHALLENGE_REPLAYED');
});

test('order contract: a bad PoW does not burn the challenge for its rightful solver', async () => {
  const { sealer, guard } = setup();
  const sealed = sealer.seal({ kind: 'sha256-bits', difficulty: 8, client, server });
  const calls: string[] = [];
  const junk = await admitSolved({
    sealer,
    guard,
    sealed,
    client,
    server,
    verify: () => {
      calls.push('verify');
      return false;
    },
  });
  assert.ok(!junk.ok && junk.code === 'ERR_POW_INSUFFICIENT');
  const good = await admitSolved({ sealer, guard, sealed, client, server, verify: () => true });
  assert.ok(good.ok);
  assert.deepEqual(calls, ['verify']);
});

test('a challenge that fails to open is neither verified nor redeemed', async () => {
  const { sealer, guard, clock } = setup();
  const sealed = sealer.seal({ kind: 'sha256-bits', difficulty: 1, client, server, ttlMs: 1000 });
  let verified = 0;
  const verify = () => {
    verified++;
    return true;
  };
  const other = await admitSolved({ sealer, guard, sealed, client: { ...client, port: 1 }, server, verify });
  assert.ok(!other.ok && other.code === 'ERR_CHALLENGE_ENDPOINT');
  clock.advance(1000);
  const late = await admitSolved({ sealer, guard, sealed, client, server, verify });
  assert.ok(!late.ok && late.code === 'ERR_CHALLENGE_EXPIRED');
  assert.equal(verified, 0);
});

test('minDifficulty: the PoW must meet the current internal difficulty when it exceeds the sealed one', async () => {
  const { sealer, guard } = setup();
  const sealed = sealer.seal({ kind: 'sha256-bits', difficulty: 2, client, server });
  const asked: number[] = [];
  await admitSolved({
    sealer,
    guard,
    sealed,
    client,
    server,
    minDifficulty: 5,
    verify: (_s, d) => {
      asked.push(d);
      return false;
    },
  });
  await admitSolved({
    sealer,
    guard,
    sealed,
    client,
    server,
    minDifficulty: 1,
    verify: (_s, d) => {
      asked.push(d);
      return false;
    },
  });
  assert.deepEqual(asked, [5, 2]);
});

test('a full store fails closed: ERR_STORE_FULL, and the challenge is still redeemable later', async () => {
  const clock = new ManualClock(T0);
  const sealer = new ChallengeSealer(new KeyRing({ clock }));
  const store = new MemoryStore({ clock, maxEntries: 1 });
  const guard = new ReplayGuard(store);
  const a = sealer.seal({ kind: 'sha256-bits', difficulty: 0, client, server, ttlMs: 1000 });
  const b = sealer.seal({ kind: 'sha256-bits', difficulty: 0, client, server, ttlMs: 5000 });
  assert.ok((await admitSolved({ sealer, guard, sealed: a, client, server, verify: () => true })).ok);
  const full = await admitSolved({ sealer, guard, sealed: b, client, server, verify: () => true });
  assert.ok(!full.ok && full.code === 'ERR_STORE_FULL');
  clock.advance(1000 + ADMISSION_LIMITS.clockSkewMs + ADMISSION_LIMITS.storeBucketMs);
  assert.ok((await admitSolved({ sealer, guard, sealed: b, client, server, verify: () => true })).ok);
});

test('a verifier failing with a TollgateError becomes a verdict with its code; other errors propagate', async () => {
  const { sealer, guard } = setup();
  const sealed = sealer.seal({ kind: 'scrypt', difficulty: 1, client, server });
  const busy = await admitSolved({
    sealer,
    guard,
    sealed,
    client,
    server,
    verify: () => {
      throw new TollgateError('ERR_POOL_BUSY', 'busy');
    },
  });
  assert.ok(!busy.ok && busy.code === 'ERR_POOL_BUSY');
  await assert.rejects(
    admitSolved({
      sealer,
      guard,
      sealed,
      client,
      server,
      verify: () => {
        throw new TypeError('bug');
      },
    }),
    TypeError,
  );
});

test('the mark outlives the challenge by the clock skew', async () => {
  const { sealer, guard, store, clock } = setup();
  const sealed = sealer.seal({ kind: 'sha256-bits', difficulty: 0, client, server, ttlMs: 1000 });
  assert.ok((await admitSolved({ sealer, guard, sealed, client, server, verify: () => true })).ok);
  clock.advance(1000 + ADMISSION_LIMITS.clockSkewMs - 1);
  assert.equal(store.stats().replayEntries, 1);
  clock.advance(1 + ADMISSION_LIMITS.storeBucketMs);
  assert.equal(store.stats().replayEntries, 0);
});

test('admitSolved works the same over an async-only store and with an async verifier', async () => {
  const clock = new ManualClock(T0);
  const sealer = new ChallengeSealer(new KeyRing({ clock }));
  const inner = new MemoryStore({ clock });
  // Only the Store interface: no synchronous fast path.
  const store = {
    setIfAbsent: (k: string, e: number) => inner.setIfAbsent(k, e),
    takeTokens: inner.takeTokens.bind(inner),
    addTokens: inner.addTokens.bind(inner),
    close: () => inner.close(),
  };
  const guard = new ReplayGuard(store);
  assert.equal(guard.redeemSync, undefined);
  const sealed = sealer.seal({ kind: 'scrypt', difficulty: 3, client, server });
  const verify = async () => true;
  const first = await admitSolved({ sealer, guard, sealed, client, server, verify });
  assert.ok(first.ok);
  const again = await admitSolved({ sealer, guard, sealed, client, server, verify });
  assert.ok(!again.ok && again.code === 'ERR_CHALLENGE_REPLAYED');
  const failing = await admitSolved({
    sealer,
    guard,
    sealed: sealer.seal({ kind: 'scrypt', difficulty: 3, client, server }),
    client,
    server,
    verify: async () => {
      throw new TollgateError('ERR_POOL_BUSY', 'busy');
    },
  });
  assert.ok(!failing.ok && failing.code === 'ERR_POOL_BUSY');
  const full = new ReplayGuard({
    ...store,
    setIfAbsent: () => Promise.reject(new StoreFullError('replay store', 1)),
  });
  const refused = await admitSolved({
    sealer,
    guard: full,
    sealed: sealer.seal({ kind: 'scrypt', difficulty: 3, client, server }),
    client,
    server,
    verify,
  });
  assert.ok(!refused.ok && refused.code === 'ERR_STORE_FULL');
});
