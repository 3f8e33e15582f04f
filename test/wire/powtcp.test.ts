import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  decodeMessage,
  encodeMessage,
  formatMessage,
  LineSplitter,
  type SplitItem,
  trimSpace,
} from '../../src/wire/powtcp.js';

interface Vector {
  name: string;
  hex: string;
  command?: number;
  payload?: string;
  code?: string;
}
const { vectors } = JSON.parse(readFileSync('test/vectors/powtcp-messages.json', 'utf8')) as {
  vectors: Vector[];
};

test('decode matches every committed vector', () => {
  for (const v of vectors) {
    const verdict = decodeMessage(Buffer.from(v.hex, 'hex'));
    if (v.code !== undefined) {
      assert.equal(verdict.ok, false, v.name);
      if (!verdict.ok) assert.equal(verdict.code, v.code, v.name);
    } else {
      assert.ok(verdict.ok, v.name);
      assert.deepEqual(verdict.value, { command: v.command, payload: v.payload }, v.name);
    }
  }
});

test('encode writes <digit>:<payload>\\n and refuses payloads that would not round-trip', () => {
  assert.equal(Buffer.from(encodeMessage({ command: 1, payload: '' })).toString('latin1'), '1:\n');
  assert.equal(formatMessage({ command: 0, payload: 'ERR_X' }), '0:ERR_X\n');
  assert.throws(() => formatMessage({ command: 4, payload: 'a\nb' }), /message.payload/);
  assert.throws(() => formatMessage({ command: 4, payload: ' a' }), /message.payload/);
  assert.throws(() => formatMessage({ command: 4, payload: 'a\r' }), /message.payload/);
  assert.throws(() => formatMessage({ command: 7 as 1, payload: '' }), /message.command/);
});

const payloadArb = fc
  .string({ unit: 'grapheme', maxLength: 40 })
  .map((s) => trimSpace(s.replaceAll('\n', '')))
  .filter((s) => !s.includes('\n'));

test('decode(encode(m)) is m for every encodable message', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 4 }), payloadArb, (command, payload) => {
      const msg = { command: command as 0, payload };
      const verdict = decodeMessage(encodeMessage(msg));
      assert.ok(verdict.ok);
      assert.deepEqual(verdict.value, msg);
    }),
  );
});

test('decode never throws on arbitrary bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const verdict = decodeMessage(bytes);
      if (verdict.ok) {
        // A decoded message re-encodes to the trimmed line.
        assert.ok(verdict.value.command >= 0 && verdict.value.command <= 4);
      } else {
        assert.match(verdict.code, /^ERR_POWTCP_/);
      }
    }),
  );
});

function splitAll(max: number, chunks: Uint8Array[]): string[] {
  const s = new LineSplitter(max);
  const out: SplitItem[] = [];
  for (const c of chunks) out.push(...s.push(c));
  return out.map((i) => (i.kind === 'line' ? `L:${Buffer.from(i.line).toString('hex')}` : 'OVERLONG'));
}

test('the splitter gives the same items when the stream is cut at every position', () => {
  const stream = Buffer.from(`1:\n3:${'a'.repeat(29)}\r\n\n${'b'.repeat(50)}\n4:ok\n2:tail-without-newline`);
  const whole = splitAll(32, [stream]);
  assert.deepEqual(whole, [
    `L:${Buffer.from('1:').toString('hex')}`,
    `L:${Buffer.from(`3:${'a'.repeat(29)}\r`).toString('hex')}`,
    'L:',
    'OVERLONG',
    `L:${Buffer.from('4:ok').toString('hex')}`,
  ]);
  for (let i = 0; i <= stream.length; i++) {
    assert.deepEqual(splitAll(32, [stream.subarray(0, i), stream.subarray(i)]), whole, `cut at ${i}`);
  }
  // And byte by byte.
  assert.deepEqual(
    splitAll(
      32,
      [...stream].map((b) => Uint8Array.of(b)),
    ),
    whole,
  );
});

test('the splitter is chunking-independent for random streams and chunkings', () => {
  const byteArb = fc.oneof(fc.constant(0x0a), fc.constant(0x3a), fc.integer({ min: 0, max: 255 }));
  fc.assert(
    fc.property(
      fc.array(byteArb, { maxLength: 200 }),
      fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 10 }),
      fc.integer({ min: 1, max: 20 }),
      (bytes, cuts, max) => {
        const stream = Uint8Array.from(bytes);
        const points = [...new Set(cuts.map((c) => Math.min(c, stream.length)))].sort((a, b) => a - b);
        const chunks: Uint8Array[] = [];
        let prev = 0;
        for (const p of points) {
          chunks.push(stream.subarray(prev, p));
          prev = p;
        }
        chunks.push(stream.subarray(prev));
        assert.deepEqual(splitAll(max, chunks), splitAll(max, [stream]));
      },
    ),
  );
});

test('a line of exactly maxLineBytes passes; maxLineBytes + 1 is overlong and never buffered', () => {
  const max = 1024;
  const s = new LineSplitter(max);
  const ok = s.push(Buffer.from(`${'x'.repeat(max)}\n`));
  assert.equal(ok.length, 1);
  assert.equal(ok[0]?.kind, 'line');
  const over = new LineSplitter(max);
  assert.deepEqual(over.push(Buffer.from('y'.repeat(max + 1))), [{ kind: 'overlong' }]);
  assert.equal(over.buffered, 0);
  // A megabyte more of the same line is dropped as it arrives, not held.
  for (let i = 0; i < 1024; i++) assert.deepEqual(over.push(Buffer.alloc(1024, 0x79)), []);
  assert.equal(over.buffered, 0);
  const after = over.push(Buffer.from('\n1:\n'));
  assert.equal(after.length, 1);
  assert.equal(after[0]?.kind, 'line');
});

test('the splitter refuses a bad limit, naming the argument', () => {
  assert.throws(() => new LineSplitter(0), /maxLineBytes/);
});
