import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { DifficultyController } from '../../src/admission/difficulty.js';
import {
  arrive,
  BoundedQueue,
  externalDifficulty,
  FixedDifficultyController,
  LeakyQueue,
  QueueDifficultyController,
} from '../../src/admission/difficulty.js';
import { ADMISSION_LIMITS } from '../../src/admission/limits.js';
import { ManualClock } from '../../src/util/clock.js';
import { ArgumentError } from '../../src/util/errors.js';

test('external mapping: 0 -> 0, d -> d + 1 (seed 003)', () => {
  const table: [number, number][] = [
    [0, 0],
    [1, 2],
    [2, 3],
    [31, 32],
  ];
  for (const [d, ext] of table) assert.equal(externalDifficulty(d), ext);
});

// Each row: queue size q, cap, starting d, arrivals ('F' = queue full at arrival, '.' = not),
// then the expected (d, external, streak) after the last arrival.
const transitions: {
  name: string;
  q: number;
  max: number;
  d0: number;
  arrivals: string;
  d: number;
  external: number;
  streak: number;
}[] = [
  { name: 'full at arrival grows d by 1', q: 4, max: 10, d0: 0, arrivals: 'F', d: 1, external: 2, streak: 0 },
  { name: 'each full arrival grows d', q: 4, max: 10, d0: 0, arrivals: 'FFF', d: 3, external: 4, streak: 0 },
  {
    name: 'q - 1 quiet arrivals keep d',
    q: 4,
    max: 10,
    d0: 2,
    arrivals: '...',
    d: 2,
    external: 3,
    streak: 3,
  },
  {
    name: 'streak reaching q shrinks d by 1',
    q: 4,
    max: 10,
    d0: 2,
    arrivals: '....',
    d: 1,
    external: 2,
    streak: 0,
  },
  {
    name: 'streak restarts after a decrement',
    q: 4,
    max: 10,
    d0: 2,
    arrivals: '.......',
    d: 1,
    external: 2,
    streak: 3,
  },
  {
    name: 'two full runs of q shrink twice',
    q: 4,
    max: 10,
    d0: 2,
    arrivals: '........',
    d: 0,
    external: 0,
    streak: 0,
  },
  {
    name: 'a full arrival resets the streak',
    q: 4,
    max: 10,
    d0: 2,
    arrivals: '...F...',
    d: 3,
    external: 4,
    streak: 3,
  },
  { name: 'floor at 0', q: 2, max: 10, d0: 0, arrivals: '......', d: 0, external: 0, streak: 0 },
  {
    name: 'from 1 down to 0: external 0',
    q: 2,
    max: 10,
    d0: 1,
    arrivals: '..',
    d: 0,
    external: 0,
    streak: 0,
  },
  { name: 'cap at max', q: 4, max: 3, d0: 2, arrivals: 'FFFF', d: 3, external: 4, streak: 0 },
  {
    name: 'full at the cap still resets the streak',
    q: 4,
    max: 3,
    d0: 3,
    arrivals: '...F...',
    d: 3,
    external: 4,
    streak: 3,
  },
  {
    name: 'q = 1: every quiet arrival shrinks',
    q: 1,
    max: 10,
    d0: 3,
    arrivals: '..',
    d: 1,
    external: 2,
    streak: 0,
  },
  { name: 'max 0: never grows', q: 4, max: 0, d0: 0, arrivals: 'FFF', d: 0, external: 0, streak: 0 },
];

for (const row of transitions) {
  test(`queue controller: ${row.name}`, () => {
    const c = new QueueDifficultyController({ queueSize: row.q, maxDifficulty: row.max, initial: row.d0 });
    let last = c.external;
    for (const a of row.arrivals) last = c.arrive({ queueFull: a === 'F' });
    assert.equal(c.internal, row.d);
    assert.equal(c.external, row.external);
    assert.equal(last, row.external);
    assert.equal(c.streak, row.streak);
  });
}

test('controller limits: queue size and max difficulty at limit + 1', () => {
  assert.throws(() => new QueueDifficultyController({ queueSize: 0 }), ArgumentError);
  assert.throws(
    () => new QueueDifficultyController({ queueSize: ADMISSION_LIMITS.maxQueueSize + 1 }),
    ArgumentError,
  );
  assert.ok(new QueueDifficultyController({ queueSize: ADMISSION_LIMITS.maxQueueSize }));
  assert.throws(
    () => new QueueDifficultyController({ maxDifficulty: ADMISSION_LIMITS.maxSealedDifficulty }),
    ArgumentError,
  );
  assert.ok(new QueueDifficultyController({ maxDifficulty: ADMISSION_LIMITS.maxSealedDifficulty - 1 }));
  assert.throws(() => new QueueDifficultyController({ maxDifficulty: 3, initial: 4 }), ArgumentError);
  const c = new QueueDifficultyController();
  assert.equal(c.queueSize, ADMISSION_LIMITS.queueSize);
  assert.equal(c.maxDifficulty, ADMISSION_LIMITS.maxDifficulty);
});

test('BoundedQueue: enter until full, leave frees a place; leave on empty is a caller bug', () => {
  const q = new BoundedQueue(2);
  assert.equal(q.enter(), true);
  assert.equal(q.enter(), true);
  assert.equal(q.full, true);
  assert.equal(q.enter(), false);
  assert.equal(q.length, 2);
  q.leave();
  assert.equal(q.full, false);
  q.leave();
  assert.throws(() => q.leave(), ArgumentError);
  assert.throws(() => new BoundedQueue(ADMISSION_LIMITS.maxQueueSize + 1), ArgumentError);
});

test('LeakyQueue drains at the service rate on the injected clock', () => {
  const clock = new ManualClock(0);
  const q = new LeakyQueue({ size: 3, serviceRatePerSec: 10, clock });
  assert.ok(q.enter() && q.enter() && q.enter());
  assert.equal(q.full, true);
  assert.equal(q.enter(), false);
  clock.advance(99);
  assert.equal(q.full, true);
  clock.advance(1);
  assert.equal(q.full, false);
  assert.equal(q.enter(), true);
  clock.advance(10_000);
  assert.equal(q.length, 0);
  assert.throws(() => new LeakyQueue({ serviceRatePerSec: 0 }), ArgumentError);
});

test('arrive(): a burst above the service rate drives d up, quiet time brings it back to 0', () => {
  const clock = new ManualClock(0);
  const queue = new LeakyQueue({ size: 4, serviceRatePerSec: 100, clock });
  const c = new QueueDifficultyController({ queueSize: 4, maxDifficulty: 8 });
  const seen: number[] = [];
  // 1000 requests/s for 50 ms: the queue overflows.
  for (let i = 0; i < 50; i++) {
    const r = arrive(queue, c, clock.now());
    seen.push(r.internal);
    clock.advance(1);
  }
  assert.equal(Math.max(...seen), 8);
  // Two arrivals in the same instant: the second finds the queue full.
  arrive(queue, c);
  assert.equal(arrive(queue, c).admitted, false);
  // 10 requests/s: never full, d decays by one per q arrivals.
  for (let i = 0; i < 8 * 4; i++) {
    clock.advance(100);
    arrive(queue, c);
  }
  assert.equal(c.internal, 0);
  assert.equal(c.external, 0);
});

/** Seed 003's rule written out once more, as plainly as the seed states it, to compare against. */
function reference(q: number, max: number, arrivals: boolean[]): number[] {
  let d = 0;
  let sinceIncrement = 0;
  const out: number[] = [];
  for (const full of arrivals) {
    if (full) {
      d = Math.min(max, d + 1);
      sinceIncrement = 0;
    } else {
      sinceIncrement++;
      if (sinceIncrement === q) {
        d = Math.max(0, d - 1);
        sinceIncrement = 0;
      }
    }
    out.push(d === 0 ? 0 : d + 1);
  }
  return out;
}

test('property: the controller follows the rule on any arrival trace, stays in [0, max], external is 0 or d + 1', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 0, max: 40 }),
      fc.array(fc.boolean(), { maxLength: 400 }),
      (q, max, trace) => {
        const c = new QueueDifficultyController({ queueSize: q, maxDifficulty: max });
        const got = trace.map((full) => {
          const ext = c.arrive({ queueFull: full });
          assert.ok(c.internal >= 0 && c.internal <= max);
          assert.equal(ext, c.internal === 0 ? 0 : c.internal + 1);
          return ext;
        });
        assert.deepEqual(got, reference(q, max, trace));
      },
    ),
    { numRuns: 300 },
  );
});

test('property: after the load stops, d returns to 0 within q x d arrivals', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 0, max: 32 }), (q, d0) => {
      const c = new QueueDifficultyController({ queueSize: q, maxDifficulty: 32, initial: d0 });
      for (let i = 0; i < q * d0; i++) c.arrive({ queueFull: false });
      assert.equal(c.internal, 0);
      assert.equal(c.external, 0);
    }),
  );
});

test('controllers compare on one trace through the interface: fixed stays put, queue follows load', () => {
  const trace = [...'FFFFFFFF', ...'.'.repeat(40)].map((c) => ({ queueFull: c === 'F' }));
  const controllers: DifficultyController[] = [
    new FixedDifficultyController(5),
    new QueueDifficultyController({ queueSize: 4, maxDifficulty: 6 }),
  ];
  const seen = controllers.map((c) => trace.map((e) => c.arrive(e)));
  assert.ok(seen[0]!.every((d) => d === 5));
  assert.equal(Math.max(...seen[1]!), 7);
  assert.equal(seen[1]!.at(-1), 0);
  assert.throws(() => new FixedDifficultyController(ADMISSION_LIMITS.maxSealedDifficulty + 1), ArgumentError);
});

// The capacity attack of issue 9 (the attack lab): every arrival that found the queue full
// raised d, so 256 loops started at once lifted it to the ceiling within milliseconds. With a
// step interval (the queue's drain time) a burst moves d by one step per interval at most.
test('stepIntervalMs: a burst of full arrivals raises d once per interval, however many arrive', () => {
  const c = new QueueDifficultyController({ queueSize: 4, maxDifficulty: 8, stepIntervalMs: 100 });
  for (let i = 0; i < 1_000; i++) c.arrive({ queueFull: true, nowMs: 5 + (i % 100) * 0.99 });
  assert.equal(c.internal, 1);
  // One interval after the first increment, the next full arrival may raise again.
  c.arrive({ queueFull: true, nowMs: 104 });
  assert.equal(c.internal, 1);
  c.arrive({ queueFull: true, nowMs: 105 });
  assert.equal(c.internal, 2);
  assert.throws(() => c.arrive({ queueFull: true }), ArgumentError);
  assert.throws(() => new QueueDifficultyController({ stepIntervalMs: -1 }), ArgumentError);
});

test('stepIntervalMs: q quiet arrivals lower d, but not within an interval of the last change', () => {
  const c = new QueueDifficultyController({
    queueSize: 4,
    maxDifficulty: 8,
    stepIntervalMs: 100,
    initial: 2,
  });
  c.arrive({ queueFull: true, nowMs: 0 });
  assert.equal(c.internal, 3);
  // Twelve quiet arrivals right after the raise: the run is complete, the interval is not.
  for (let i = 1; i <= 12; i++) c.arrive({ queueFull: false, nowMs: i });
  assert.equal(c.internal, 3);
  // The next quiet arrival past the interval lowers by one, and only one.
  c.arrive({ queueFull: false, nowMs: 100 });
  assert.equal(c.internal, 2);
  for (let i = 0; i < 12; i++) c.arrive({ queueFull: false, nowMs: 150 });
  assert.equal(c.internal, 2);
  // A raise after a lowering is only gated by the last raise (an interval ago here): a price
  // lowered too far is corrected at the first full arrival.
  c.arrive({ queueFull: true, nowMs: 151 });
  assert.equal(c.internal, 3);
});

test('property: with a step interval, d changes at most once per interval in each direction', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 500 }),
      fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 50 })), { maxLength: 400 }),
      (q, interval, trace) => {
        const c = new QueueDifficultyController({
          queueSize: q,
          maxDifficulty: 16,
          stepIntervalMs: interval,
        });
        let now = 0;
        let lastUp = Number.NEGATIVE_INFINITY;
        let lastDown = Number.NEGATIVE_INFINITY;
        for (const [full, dt] of trace) {
          now += dt;
          const before = c.internal;
          c.arrive({ queueFull: full, nowMs: now });
          if (c.internal > before) {
            assert.equal(c.internal, before + 1);
            assert.ok(now - lastUp >= interval);
            lastUp = now;
          } else if (c.internal < before) {
            assert.equal(c.internal, before - 1);
            assert.ok(now - Math.max(lastUp, lastDown) >= interval);
            lastDown = now;
          }
        }
      },
    ),
    { numRuns: 200 },
  );
});
