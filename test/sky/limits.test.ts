import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InboxRing, priceBits } from '../../src/protocol/sky/inbox.js';
import { LeaseTable } from '../../src/protocol/sky/lease.js';
import { EARTH_LIMITS, SKY_LIMITS } from '../../src/protocol/sky/limits.js';
import { ArgumentError } from '../../src/util/errors.js';

test('every sky and earth limit takes its max and refuses max + 1, naming the option', () => {
  for (const reg of [SKY_LIMITS, EARTH_LIMITS]) {
    for (const [name, spec] of Object.entries(reg.specs)) {
      assert.equal((reg.resolve({ [name]: spec.max } as never) as Record<string, number>)[name], spec.max);
      assert.throws(
        () => reg.resolve({ [name]: spec.max + 1 } as never, { prefix: 'limits' }),
        (e: ArgumentError) => e instanceof ArgumentError && e.message.includes(`limits.${name}`),
      );
    }
  }
});

const rec = (identity: string, group: string, time = 1, expiresAt = 1000) => ({
  identity,
  key: new Uint8Array(32),
  observed: { host: '127.0.0.1', port: 1 },
  listenPort: 0,
  inboxBytes: 0,
  holder: new Uint8Array(32),
  time,
  expiresAt,
  group,
});

test('lease table: maxLeasesPerGroup and maxLeases hold at limit + 1; renewals need a newer time; expiry forgets', () => {
  const t = new LeaseTable({ maxLeases: 3, maxLeasesPerGroup: 2 });
  assert.ok(t.put(rec('a', 'g1'), 0).ok);
  assert.ok(t.put(rec('b', 'g1'), 0).ok);
  const third = t.put(rec('c', 'g1'), 0);
  assert.equal(third.ok ? 'ok' : third.code, 'ERR_SKY_LEASES_FULL');
  assert.ok(t.put(rec('c', 'g2'), 0).ok);
  // Full, every group at one lease or more: a newcomer would only trade places.
  assert.ok(t.put(rec('d', 'g3'), 0).ok, 'g1 holds 2: its oldest makes room');
  assert.equal(t.get('a', 0), undefined, "g1's oldest lease was the one taken");
  assert.equal(t.evicted, 1);
  const fifth = t.put(rec('e', 'g4'), 0);
  assert.equal(fifth.ok ? 'ok' : fifth.code, 'ERR_SKY_LEASES_FULL');
  const stale = t.put(rec('b', 'g1', 1), 0);
  assert.equal(stale.ok ? 'ok' : stale.code, 'ERR_SKY_STALE_LEASE');
  assert.ok(t.put(rec('b', 'g1', 2, 2000), 0).ok);
  assert.equal(t.get('c', 1000), undefined);
  assert.ok(t.get('b', 1000));
  assert.ok(t.put(rec('e', 'g4', 1, 3000), 1000).ok, 'room again once a lease expired');
});

// Regression (issue 11 item 5, the lease-grabbing flood): 25 or more flooding address groups,
// each within maxLeasesPerGroup, used to fill the table, and every honest lease after that
// was refused with ERR_SKY_LEASES_FULL (0 of 20 in the attack lab). At the cap the heaviest
// group now gives up its oldest lease to a lighter newcomer.
test("lease table at maxLeases: a newcomer from a light group takes the heaviest group's oldest lease", () => {
  const t = new LeaseTable({ maxLeases: 1000, maxLeasesPerGroup: 100 });
  let refused = 0;
  for (let i = 0; i < 50 * 100; i++) {
    const g = `flood${i % 50}`;
    if (!t.put(rec(`f${i}`, g, 1, 1e9), 0).ok) refused++;
  }
  assert.equal(t.size, 1000);
  assert.equal(t.heaviestCount, 20, 'the flooders end with equal shares');
  assert.ok(refused > 0, 'a flooder at the heaviest share is refused');
  for (let h = 0; h < 20; h++) {
    const r = t.put(rec(`honest${h}`, `home${h}`, 1, 1e9), 0);
    assert.ok(r.ok, `honest lease ${h}`);
  }
  for (let h = 0; h < 20; h++) assert.ok(t.get(`honest${h}`, 0), `honest lease ${h} kept`);
  assert.equal(t.size, 1000);
  // Flooding on does not take the honest leases back: their groups are the lightest.
  for (let i = 0; i < 5000; i++) t.put(rec(`g${i}`, `flood${i % 50}`, 1, 1e9), 0);
  for (let h = 0; h < 20; h++) assert.ok(t.get(`honest${h}`, 0), `honest lease ${h} kept under the flood`);
  assert.ok(t.heaviestCount <= 20);
});

test('inbox: the declared size holds at size + 1; FIFO evicts the oldest; pricing refuses instead of evicting paid messages', () => {
  const from = new Uint8Array(32);
  const fifo = new InboxRing(10, false);
  assert.ok(fifo.push(from, new Uint8Array(4).fill(1), 60, 0).ok);
  assert.ok(fifo.push(from, new Uint8Array(6).fill(2), 60, 0).ok);
  const over = fifo.push(from, new Uint8Array(11), 60, 0);
  assert.equal(over.ok ? 'ok' : over.code, 'ERR_EARTH_TOO_LARGE');
  const r = fifo.push(from, new Uint8Array(1).fill(3), 60, 0);
  assert.deepEqual(r.ok && r.value, { evicted: 1 });
  assert.deepEqual(
    fifo.drain(0).map((h) => h.data[0]),
    [2, 3],
  );
  const priced = new InboxRing(10, true);
  assert.ok(priced.push(from, new Uint8Array(10), 60, 0).ok);
  const full = priced.push(from, new Uint8Array(1), 60, 1000);
  assert.equal(full.ok ? 'ok' : full.code, 'ERR_EARTH_INBOX_FULL');
  assert.ok(priced.push(from, new Uint8Array(1), 60, 60_000).ok, 'an expired paid message makes room');
  const limits = { priceBitsPerUnit: 4, priceUnit: 1024 };
  assert.equal(priceBits(1024, 1, limits), 4);
  assert.equal(priceBits(2048, 1, limits), 5);
  assert.equal(priceBits(1024, 2, limits), 5);
  assert.equal(priceBits(1024, 1, { priceBitsPerUnit: 0, priceUnit: 1024 }), 0);
});
