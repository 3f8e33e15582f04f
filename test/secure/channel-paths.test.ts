import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { nativeGcmAvailable } from '../../src/pow/native.js';
import { Opener, Sealer } from '../../src/secure/channel.js';
import { defaultLimits } from '../../src/secure/limits.js';
import { FrameReader, FrameType } from '../../src/wire/frame.js';

const skip = !nativeGcmAvailable() && 'native AES-GCM unavailable';

/** One step of a sender: a data frame, a batch of messages, or a rekey. */
const stepArb = fc.oneof(
  fc.record({ kind: fc.constant('data' as const), payload: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({
    kind: fc.constant('batch' as const),
    messages: fc.array(fc.uint8Array({ maxLength: 80 }), { minLength: 2, maxLength: 6 }),
  }),
  fc.record({ kind: fc.constant('rekey' as const) }),
);

type Step =
  | { kind: 'data'; payload: Uint8Array }
  | { kind: 'batch'; messages: Uint8Array[] }
  | { kind: 'rekey' };

function frames(native: boolean, key: Uint8Array, steps: Step[]): Buffer[] {
  const sealer = new Sealer(key, 0, native);
  const out: Buffer[] = [];
  for (const step of steps) {
    if (step.kind === 'data') out.push(sealer.seal(FrameType.data, step.payload));
    else if (step.kind === 'batch') {
      const length = step.messages.reduce((n, m) => n + 4 + m.length, 0);
      out.push(sealer.sealBatch(step.messages, length));
    } else {
      out.push(sealer.seal(FrameType.rekey, new Uint8Array(0)));
      sealer.rekey(0);
    }
  }
  return out;
}

function openAll(native: boolean, key: Uint8Array, bytes: Uint8Array) {
  const limits = defaultLimits;
  const reader = new FrameReader(limits.maxMessageBytes);
  const opener = new Opener(key, native);
  reader.push(bytes);
  const got: Array<{ type: number; payload: Uint8Array } | string> = [];
  for (let next = reader.next(); next !== undefined; next = reader.next()) {
    if (!next.ok) return [...got, next.code];
    const v = opener.open(next.value, limits);
    if (!v.ok) return [...got, v.code];
    got.push({ type: v.value.type, payload: Uint8Array.from(v.value.payload) });
  }
  return got;
}

test("property: native and node:crypto sealers write the same frames, and each opener opens the other's", {
  skip,
}, () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.array(stepArb, { maxLength: 12 }),
      (key, steps) => {
        const a = frames(true, key, steps);
        const b = frames(false, key, steps);
        assert.deepEqual(a, b);
        const stream = Buffer.concat(a);
        const x = openAll(true, key, stream);
        const y = openAll(false, key, stream);
        assert.deepEqual(x, y);
        assert.equal(x.length, steps.length);
        assert.ok(x.every((f) => typeof f !== 'string'));
      },
    ),
    { numRuns: 300 },
  );
});

test('property: a flipped bit anywhere in a frame is refused the same way by both openers', { skip }, () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.nat(), (payload, at) => {
      const key = randomBytes(32);
      const frame = Buffer.from(new Sealer(key, 0, true).seal(FrameType.data, payload));
      const bit = at % (frame.length * 8);
      frame[bit >> 3]! ^= 1 << (bit & 7);
      const x = openAll(true, key, frame);
      const y = openAll(false, key, frame);
      assert.deepEqual(x, y);
      // Either the length field now asks for more bytes (nothing decided yet) or the frame is refused.
      assert.ok(x.length === 0 || typeof x[0] === 'string');
    }),
    { numRuns: 300 },
  );
});

test('the native opener does not write into the received bytes', { skip }, () => {
  const key = randomBytes(32);
  const frame = new Sealer(key, 0, true).seal(FrameType.data, randomBytes(100));
  const copy = Buffer.from(frame);
  openAll(true, key, frame);
  assert.deepEqual(frame, copy);
});
