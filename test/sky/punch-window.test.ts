/**
 * The ports a hole punch dials (src/protocol/sky/punch.ts; docs/sky-earth.md "Hole
 * punching"): the observed port first, then the rest of its aligned block, upward first.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { punchCandidates } from '../../src/protocol/sky/punch.js';

test('the observed port comes first, then the block above it, then below', () => {
  assert.deepEqual(punchCandidates(41000, 8), [41000, 41001, 41002, 41003, 41004, 41005, 41006, 41007]);
  assert.deepEqual(punchCandidates(41003, 8), [41003, 41004, 41005, 41006, 41007, 41002, 41001, 41000]);
  assert.deepEqual(punchCandidates(41007, 4), [41007, 41006, 41005, 41004]);
});

test('the window is an aligned block of a power of two, each port once', () => {
  for (const [port, window] of [
    [40999, 256],
    [65535, 256],
    [1, 1024],
    [12345, 300],
  ] as const) {
    const c = punchCandidates(port, window);
    const size = window === 300 ? 256 : window;
    assert.equal(new Set(c).size, c.length);
    assert.equal(c[0], port);
    const base = port - (port % size);
    for (const p of c) assert.ok(p >= base && p < base + size && p >= 1 && p <= 65535, `${p}`);
    assert.equal(c.length, base === 0 ? size - 1 : size);
  }
});

test('a window of 1 dials only the observed port (the endpoint-independent punch)', () => {
  assert.deepEqual(punchCandidates(50000, 1), [50000]);
});

test('a port that is not one is refused', () => {
  for (const bad of [0, -1, 65536, 1.5, Number.NaN])
    assert.throws(() => punchCandidates(bad, 256), RangeError);
});
