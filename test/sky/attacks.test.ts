/**
 * Regression tests of the sky node's defences (issue 11 item 5), each at a small scale on
 * loopback, the attacker in a child process of its own. Each asserts counts that the
 * defence bounds, so that removing it fails the test; none asserts a timing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runScenario } from '../../bench/sky/scenarios.js';
import { SkyNode } from '../../src/services/sky/server.js';

const T = { timeout: 120_000 };
const DURATION = 1_500;

async function withSky<R>(
  limits: ConstructorParameters<typeof SkyNode>[0],
  fn: (sky: SkyNode, at: { host: string; port: number }) => Promise<R>,
): Promise<R> {
  const sky = new SkyNode(limits);
  const at = await sky.listen(0, '127.0.0.1');
  try {
    return await fn(sky, at);
  } finally {
    await sky.close();
  }
}

const all = (o: { sent: number; ok: number }) => o.sent > 0 && o.ok === o.sent;

test('a look-up flood from one address is held to its bucket; honest look-ups all succeed', T, () =>
  withSky({ limits: { burst: 40, ratePerSec: 20 } }, async (sky, at) => {
    const r = await runScenario('lookup-flood-1', { sky: at, durationMs: DURATION, honestClients: 4 });
    assert.ok(all(r.lookups), JSON.stringify(r));
    assert.ok(all(r.leases), JSON.stringify(r));
    assert.ok(r.attackerAnswers > 100, 'the flood ran');
    // Every look-up that reached the lease table came out of a bucket or a solve: the
    // flooder (who never solves) got at most its burst plus the refill, the rest refusals.
    const served = (sky.counts.get('lookup:ERR_SKY_NO_LEASE') ?? 0) - 0;
    assert.ok(served < 40 + 20 * 120, `flooder served ${served}`);
    assert.ok((sky.counts.get('refused:ERR_RATE_LIMITED') ?? 0) > 0);
  }),
);

test('a look-up flood from 100 addresses leaves honest look-ups and leases whole', T, () =>
  withSky({}, async (_sky, at) => {
    const r = await runScenario('lookup-flood-1000', {
      sky: at,
      durationMs: DURATION,
      honestClients: 4,
      attackerAddresses: 100,
    });
    assert.ok(all(r.lookups), JSON.stringify(r));
    assert.ok(all(r.leases), JSON.stringify(r));
    assert.equal(r.attackerConnections >= 100, true);
  }),
);

// Regression (issue 11 item 5): 6 flooding address groups within maxLeasesPerGroup (40 each)
// filled a 100-lease table, and every honest lease after it was refused (ERR_SKY_LEASES_FULL).
test('a lease-grabbing flood fills the table only to equal shares: honest leases still get in', T, () =>
  withSky(
    { limits: { maxLeases: 100, maxLeasesPerGroup: 40, burst: 100_000, ratePerSec: 100_000 } },
    async (sky, at) => {
      const r = await runScenario('lease-flood', {
        sky: at,
        durationMs: DURATION,
        honestClients: 4,
        attackerAddresses: 5,
      });
      assert.ok(all(r.leases), JSON.stringify(r));
      assert.ok(all(r.lookups), JSON.stringify(r));
      assert.ok((sky.counts.get('leases_evicted') ?? 0) > 0, 'the table was full and flooders gave way');
      assert.ok((sky.counts.get('refused:ERR_SKY_LEASES_FULL') ?? 0) > 0, 'flooders at their share');
      assert.ok((sky.leases.size ?? 0) <= 100);
    },
  ),
);

test('behind a flooded shared address, honest clients pay PoW and get through', T, () =>
  withSky({ limits: { burst: 40, ratePerSec: 20, fallbackBits: 8 } }, async (sky, at) => {
    const r = await runScenario('shared-address', {
      sky: at,
      durationMs: DURATION,
      honestClients: 4,
      honestIntervalMs: 50,
    });
    assert.ok(all(r.lookups), JSON.stringify(r));
    assert.ok(all(r.leases), JSON.stringify(r));
    assert.ok(r.honestSolves > 0, 'honest clients earned credit by PoW');
    assert.ok((sky.counts.get('paid') ?? 0) > 0);
  }),
);

test('slowloris connections are closed at the first-message deadline and capped per address', T, () =>
  withSky({ limits: { firstMessageMs: 200, maxConnectionsPerGroup: 2 } }, async (sky, at) => {
    const r = await runScenario('slowloris', {
      sky: at,
      durationMs: DURATION,
      honestClients: 4,
      attackerAddresses: 20,
    });
    assert.ok(all(r.lookups), JSON.stringify(r));
    assert.ok(all(r.leases), JSON.stringify(r));
    assert.ok((sky.counts.get('rejected:ERR_SKY_FIRST_MESSAGE_TIMEOUT') ?? 0) > 0);
    assert.ok((sky.counts.get('refused:ERR_SKY_TOO_MANY_CONNECTIONS') ?? 0) > 0);
    assert.ok(sky.connections <= 20 * 2 + 4);
  }),
);
