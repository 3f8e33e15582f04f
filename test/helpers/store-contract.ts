/**
 * The Store contract (src/admission/store.ts) as a reusable suite: every Store implementation
 * runs it (MemoryStore in test/admission/store-contract.test.ts; a Redis store against a real
 * redis-server). Expiry of setIfAbsent is judged on the store's own clock, so those cases use
 * short real lifetimes; token buckets take the caller's time and are checked exactly.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Store } from '../../src/admission/store.js';

export interface StoreContractOptions {
  /** Creates a fresh, empty store; `close()` is called by the suite. */
  readonly make: () => Promise<Store> | Store;
  /** Key prefix so that runs against a shared server do not collide. */
  readonly prefix?: string;
}

export function storeContract(name: string, options: StoreContractOptions): void {
  const p = options.prefix ?? `contract:${process.pid}:${Date.now()}:`;
  let n = 0;
  const key = (k: string) => `${p}${n++}:${k}`;
  const withStore = async (fn: (store: Store) => Promise<void>) => {
    const store = await options.make();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };

  test(`${name}: setIfAbsent is true once, false while the key lives`, () =>
    withStore(async (store) => {
      const k = key('once');
      assert.equal(await store.setIfAbsent(k, Date.now() + 60_000), true);
      assert.equal(await store.setIfAbsent(k, Date.now() + 60_000), false);
      assert.equal(await store.setIfAbsent(key('other'), Date.now() + 60_000), true);
    }));

  test(`${name}: concurrent setIfAbsent of one key gives exactly one true`, () =>
    withStore(async (store) => {
      const k = key('race');
      const exp = Date.now() + 60_000;
      const results = await Promise.all(Array.from({ length: 64 }, () => store.setIfAbsent(k, exp)));
      assert.equal(results.filter(Boolean).length, 1);
    }));

  test(`${name}: a key is absent again after its absolute expiry`, () =>
    withStore(async (store) => {
      const k = key('expiry');
      assert.equal(await store.setIfAbsent(k, Date.now() + 50), true);
      // Stores may drop late, never early; poll until it is gone (bounded).
      let again = false;
      for (let i = 0; i < 60 && !again; i++) {
        await sleep(50);
        again = await store.setIfAbsent(k, Date.now() + 60_000);
      }
      assert.equal(again, true);
    }));

  test(`${name}: takeTokens spends the burst, then refuses with the exact retry-after`, () =>
    withStore(async (store) => {
      const k = key('bucket');
      const t = Date.now();
      for (let i = 0; i < 4; i++) assert.equal((await store.takeTokens(k, 1, 2, 4, t)).allowed, true);
      const denied = await store.takeTokens(k, 1, 2, 4, t);
      assert.equal(denied.allowed, false);
      assert.equal(denied.retryAfterMs, 500);
      assert.equal((await store.takeTokens(k, 1, 2, 4, t + 500)).allowed, true);
      // A caller clock behind the last update earns nothing.
      assert.equal((await store.takeTokens(k, 1, 2, 4, t - 60_000)).allowed, false);
    }));

  test(`${name}: concurrent takes never spend one token twice`, () =>
    withStore(async (store) => {
      const k = key('race-bucket');
      const t = Date.now();
      const results = await Promise.all(Array.from({ length: 40 }, () => store.takeTokens(k, 1, 1, 10, t)));
      assert.equal(results.filter((r) => r.allowed).length, 10);
    }));

  test(`${name}: addTokens credits up to burst`, () =>
    withStore(async (store) => {
      const k = key('credit');
      const t = Date.now();
      assert.equal(await store.addTokens(k, 1, 1, 3, t), 3);
      for (let i = 0; i < 3; i++) await store.takeTokens(k, 1, 1, 3, t);
      assert.equal(await store.addTokens(k, 2, 1, 3, t), 2);
      assert.equal(await store.addTokens(k, 2, 1, 3, t), 3);
      assert.equal((await store.takeTokens(k, 3, 1, 3, t)).allowed, true);
    }));
}
