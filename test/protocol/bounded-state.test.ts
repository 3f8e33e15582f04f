// The bounded structures strangers fill (gossip knowledge cache and seen set, sky lease
// table) against naive models of their rules, on random operation sequences. Their
// bookkeeping was changed so that one operation no longer costs time in proportion to the
// entries held (bench:scale, issue 12 item 6); the observable behaviour must not change.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type CachedItem, KnowledgeCache } from '../../src/protocol/gossip/cache.js';
import { type LeaseRecord, LeaseTable } from '../../src/protocol/sky/lease.js';

function item(key: string, bytes: number): CachedItem {
  return {
    key,
    id: new Uint8Array(0),
    dataType: 1,
    salt: 0n,
    data: new Uint8Array(bytes),
    ttl: 0,
    acceptedAt: 0,
    ihaveRounds: 1,
    told: new Set(),
    sentTo: new Set(),
    served: new Map(),
  };
}

test('property: the knowledge cache keeps the newest items within both bounds, oldest dropped first', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 6 }),
      fc.integer({ min: 0, max: 300 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 120 })), {
        maxLength: 3000,
      }),
      (maxItems, maxBytes, adds) => {
        const cache = new KnowledgeCache(maxItems, maxBytes);
        let model: { key: string; bytes: number }[] = [];
        for (const [k, bytes] of adds) {
          const key = `k${k}`;
          const got = cache.add(item(key, bytes));
          let want: boolean;
          if (model.some((m) => m.key === key)) want = true;
          else if (bytes > maxBytes || maxItems === 0) want = false;
          else {
            model.push({ key, bytes });
            while (model.length > maxItems || model.reduce((n, m) => n + m.bytes, 0) > maxBytes)
              model = model.slice(1);
            want = true;
          }
          assert.equal(got, want);
          assert.deepEqual(
            [...cache.values()].map((v) => v.key),
            model.map((m) => m.key),
          );
          assert.equal(
            cache.byteSize,
            model.reduce((n, m) => n + m.bytes, 0),
          );
        }
      },
    ),
    { numRuns: 200 },
  );
});

function lease(identity: string, group: string, time: number, expiresAt: number): LeaseRecord {
  return {
    identity,
    key: new Uint8Array(0),
    observed: { host: '192.0.2.1', port: 1 },
    listenPort: 1,
    inboxBytes: 1,
    holder: new Uint8Array(0),
    time,
    expiresAt,
    group,
  };
}

test('property: the lease table refuses and admits at its caps exactly as a full sweep would', () => {
  const op = fc.oneof(
    fc.record({
      t: fc.constant('put' as const),
      id: fc.integer({ min: 0, max: 15 }),
      g: fc.integer({ min: 0, max: 3 }),
      life: fc.integer({ min: 1, max: 60 }),
    }),
    fc.record({ t: fc.constant('get' as const), id: fc.integer({ min: 0, max: 15 }) }),
    fc.record({ t: fc.constant('sweep' as const) }),
    fc.record({ t: fc.constant('tick' as const), dt: fc.integer({ min: 0, max: 30 }) }),
  );
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 8 }),
      fc.array(op, { maxLength: 2000 }),
      (maxLeases, perGroup, ops) => {
        const table = new LeaseTable({ maxLeases, maxLeasesPerGroup: perGroup });
        // The model: the rules of LeaseTable with a full sweep on every full-table put, and at
        // the cap the heaviest group's oldest lease giving way to a lighter group's newcomer.
        const model = new Map<string, LeaseRecord>();
        const groupCount = (g: string) => [...model.values()].filter((r) => r.group === g).length;
        const live = (id: string, now: number) => {
          const r = model.get(id);
          if (r !== undefined && r.expiresAt <= now) model.delete(id);
          return r !== undefined && r.expiresAt > now ? r : undefined;
        };
        let now = 0;
        let time = 0;
        for (const o of ops) {
          if (o.t === 'tick') {
            now += o.dt;
            continue;
          }
          if (o.t === 'sweep') {
            let n = 0;
            for (const [id, r] of model) {
              if (r.expiresAt <= now) {
                model.delete(id);
                n++;
              }
            }
            assert.equal(table.sweep(now), n);
            continue;
          }
          const id = `id${o.id}`;
          if (o.t === 'get') {
            assert.equal(table.get(id, now)?.expiresAt, live(id, now)?.expiresAt);
            continue;
          }
          const rec = lease(id, `g${o.g}`, ++time, now + o.life);
          const old = live(id, now);
          let want: string = 'ok';
          let maxBefore = 0;
          if (old !== undefined) {
            if (old.group !== rec.group && groupCount(rec.group) >= perGroup) want = 'ERR_SKY_LEASES_FULL';
            else model.delete(id);
          } else if (groupCount(rec.group) >= perGroup) {
            // The group cap first: it refuses without touching anyone else's lease.
            want = 'ERR_SKY_LEASES_FULL';
          } else {
            if (model.size >= maxLeases) for (const [k, r] of model) if (r.expiresAt <= now) model.delete(k);
            if (model.size >= maxLeases) {
              // At the cap, a newcomer from a group lighter than the heaviest minus one takes
              // the place of a heaviest group's oldest lease; else it is refused.
              const counts = new Map<string, number>();
              for (const r of model.values()) counts.set(r.group, (counts.get(r.group) ?? 0) + 1);
              const max = Math.max(0, ...counts.values());
              if (groupCount(rec.group) + 1 < max) want = 'evict';
              else want = 'ERR_SKY_LEASES_FULL';
              maxBefore = max;
            }
          }
          let evicted: LeaseRecord | undefined;
          const got = table.put(rec, now, (v) => {
            evicted = v;
          });
          if (want === 'evict') {
            assert.ok(evicted !== undefined, 'a lease gave way');
            const victim = evicted;
            assert.equal(groupCount(victim.group), maxBefore, 'from a heaviest group');
            const oldest = Math.min(
              ...[...model.values()].filter((r) => r.group === victim.group).map((r) => r.time),
            );
            assert.equal(victim.time, oldest, "that group's oldest");
            model.delete(victim.identity);
            want = 'ok';
          } else assert.equal(evicted, undefined);
          if (want === 'ok') model.set(id, rec);
          assert.equal(got.ok ? 'ok' : got.code, want);
          assert.equal(table.size, model.size);
        }
      },
    ),
    { numRuns: 200 },
  );
});
