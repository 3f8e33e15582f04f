// The powtcp price (src/protocol/powtcp/pricing.ts) on the fake clock: only verified solves are
// seed 003's load, the price moves one step per drain time at most, and under a steady attacker
// it settles where solves arrive at about the service rate instead of at the ceiling.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PowtcpPricing } from '../../src/protocol/powtcp/pricing.js';

const LIMITS = {
  queueSize: 64,
  serviceRatePerSec: 40,
  minDifficulty: 1,
  maxDifficulty: 6,
  loadShareIdentities: 16,
  maxLoadShareIdentities: 65_536,
};

test('unsolved requests never raise the global price, however many identities send them', () => {
  const p = new PowtcpPricing(LIMITS, 0);
  for (let i = 0; i < 10_000; i++) p.arrive(`10.0.${i >> 8}.${i & 255}`, i * 0.01);
  assert.equal(p.price(100), 1);
  // The identity that asks beyond its share pays one digit more, nobody else.
  for (let i = 0; i < 10; i++) p.arrive('10.9.9.9', 100);
  assert.equal(p.arrive('10.9.9.9', 100), 2);
  assert.equal(p.arrive('10.9.9.10', 100), 1);
});

test('a burst of verified solves raises the price by one step per drain time, not one per solve', () => {
  const p = new PowtcpPricing(LIMITS, 0);
  assert.equal(p.drainMs, 1_600);
  // 1,000 solves in the same millisecond: the 65th finds the queue full.
  for (let i = 0; i < 1_000; i++) p.solved(`10.0.${i >> 8}.${i & 255}`, 1);
  assert.equal(p.price(1), 2);
  // Still full just before a drain time has passed since the increment: no second step.
  for (let i = 0; i < 1_000; i++) p.solved(`10.1.${i >> 8}.${i & 255}`, 1_600);
  assert.equal(p.price(1_600), 2);
  for (let i = 0; i < 10; i++) p.solved('10.2.0.1', 1_610);
  assert.equal(p.price(1_610), 3);
  // Idle capacity lowers it again, one step per drain time: the queue (64) drains in 1.6 s, the
  // next 1.6 s of unused capacity are q quiet arrivals.
  assert.equal(p.price(1_610 + 3_200), 2);
  assert.equal(p.price(1_610 + 4_800), 1);
});

/**
 * A solver attacker with `hashRate` attempts a second, as a steady stream: at a price of p hex
 * digits it sends hashRate / 16^p verified solves a second (and asks for as many puzzles).
 * Returns the global price every 100 ms and the solves in each simulated second.
 */
function simulate(hashRate: number, seconds: number, pricing: PowtcpPricing) {
  const tickMs = 5;
  const prices: number[] = [];
  const solvesPerSec: number[] = [];
  let due = 0;
  let solves = 0;
  for (let now = tickMs; now <= seconds * 1000; now += tickMs) {
    due += (hashRate / 16 ** pricing.price(now)) * (tickMs / 1000);
    for (; due >= 1; due--) {
      const id = `10.0.0.${solves % 16}`;
      pricing.arrive(id, now);
      pricing.arrive(id, now);
      pricing.solved(id, now);
      solves++;
    }
    if (now % 100 === 0) prices.push(pricing.price(now));
    if (now % 1000 === 0) {
      solvesPerSec.push(solves);
      solves = 0;
    }
  }
  return { prices, solvesPerSec };
}

// The capacity attack of the lab: with every full arrival raising d, the price went to the
// ceiling (6 digits, 84 s for an honest client) within milliseconds. Now it never goes above
// the level at which the attacker's solves fit the service rate, and the solves average about
// the service rate (seed 003's rule still lowers after q quiet solves, so it dips below).
test('under a steady solver attacker the price settles where solves arrive at about the service rate', () => {
  for (const k of [1, 10, 100]) {
    const hashRate = k * 200_000;
    const pricing = new PowtcpPricing(LIMITS, 0);
    const { prices, solvesPerSec } = simulate(hashRate, 60, pricing);
    // The fewest digits at which the attacker's solves fit the service rate.
    let fits = 1;
    while (hashRate / 16 ** fits > LIMITS.serviceRatePerSec) fits++;
    assert.ok(Math.max(...prices) <= fits, `k=${k}: price above ${fits}: ${Math.max(...prices)}`);
    const tail = solvesPerSec.slice(10);
    const mean = tail.reduce((a, b) => a + b, 0) / tail.length;
    assert.ok(
      mean >= LIMITS.serviceRatePerSec / 2 && mean <= 2 * LIMITS.serviceRatePerSec,
      `k=${k}: ${mean} solves/s against a service rate of ${LIMITS.serviceRatePerSec}`,
    );
  }
});
