import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { test } from 'node:test';
import fc from 'fast-check';
import { type SecureChannel, SecureChannelError } from '../../src/secure/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { decodeBatch, FrameReader } from '../../src/wire/frame.js';
import { closedWith, connectPair, peers, readAll } from './helpers.js';

/** Diverts what a channel writes to its transport, so a test can tamper before delivering. */
function intercept(transport: Duplex): { frames: Buffer[]; deliver: (bytes: Uint8Array) => void } {
  const frames: Buffer[] = [];
  const original = transport.write.bind(transport);
  transport.write = ((chunk: Buffer, ...rest: unknown[]) => {
    frames.push(Buffer.from(chunk));
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  }) as typeof transport.write;
  return { frames, deliver: (bytes) => original(bytes) };
}

async function tampered(
  mutate: (frames: Buffer[]) => Uint8Array,
  count = 2,
  options = {},
): Promise<{ error: Error | undefined; received: number }> {
  const { client, server } = peers(options);
  const [c, s, x] = await connectPair(client, server);
  c.on('error', () => {});
  const tap = intercept(x);
  for (let i = 0; i < count; i++) {
    c.write(new Uint8Array([i, i, i]));
    await new Promise((r) => setImmediate(r));
  }
  let received = 0;
  s.on('data', () => received++);
  const closed = closedWith(s);
  tap.deliver(mutate(tap.frames));
  const error = await closed;
  c.destroy();
  return { error, received };
}

const codeOf = (e: Error | undefined) => (e instanceof SecureChannelError ? e.code : String(e));

test('messages of every size up to the limit arrive intact and in order, both ways', async () => {
  const { client, server } = peers();
  const [c, s] = await connectPair(client, server);
  const sizes = [0, 1, 63, 64, 1024, 16 * 1024, 64 * 1024];
  for (const n of sizes) c.write(new Uint8Array(n).fill(n % 251));
  c.end();
  s.end(new Uint8Array([7]));
  const got = await readAll(s);
  assert.deepEqual(
    got.map((m) => m.length),
    sizes,
  );
  for (const m of got) assert.ok(m.every((b) => b === m.length % 251));
  assert.deepEqual(
    (await readAll(c)).map((m) => [...m]),
    [[7]],
  );
});

test('a flipped bit in a frame closes the channel (ERR_SC_AUTH)', async () => {
  const { error, received } = await tampered((f) => {
    const frame = Buffer.from(f[0]!);
    frame[6]! ^= 0x01;
    return frame;
  });
  assert.equal(codeOf(error), 'ERR_SC_AUTH');
  assert.equal(received, 0);
});

test('a flipped bit in the length field closes the channel', async () => {
  const { error } = await tampered((f) => {
    const frame = Buffer.from(f[0]!);
    frame[3]! ^= 0x01; // the length is AEAD data: a shorter one cuts the tag, a longer one waits
    return Buffer.concat([frame, Buffer.alloc(8)]);
  });
  assert.equal(codeOf(error), 'ERR_SC_AUTH');
});

test('a reordered frame closes the channel (ERR_SC_AUTH)', async () => {
  const { error, received } = await tampered((f) => Buffer.concat([f[1]!, f[0]!]));
  assert.equal(codeOf(error), 'ERR_SC_AUTH');
  assert.equal(received, 0);
});

test('a replayed frame closes the channel (ERR_SC_AUTH)', async () => {
  const { error, received } = await tampered((f) => Buffer.concat([f[0]!, f[0]!]));
  assert.equal(codeOf(error), 'ERR_SC_AUTH');
  assert.equal(received, 1);
});

test('a dropped frame closes the channel (ERR_SC_AUTH)', async () => {
  const { error } = await tampered((f) => f[1]!);
  assert.equal(codeOf(error), 'ERR_SC_AUTH');
});

test('a frame truncated by the end of the stream closes the channel (ERR_SC_TRUNCATED)', async () => {
  const { client, server } = peers();
  const [c, s, x] = await connectPair(client, server);
  c.on('error', () => {});
  const tap = intercept(x);
  c.write(new Uint8Array(100));
  await new Promise((r) => setImmediate(r));
  const closed = closedWith(s);
  tap.deliver(tap.frames[0]!.subarray(0, 50));
  x.end();
  assert.equal(codeOf(await closed), 'ERR_SC_TRUNCATED');
});

test('a stream cut at a frame boundary, without the close frame, is truncation', async () => {
  const { client, server } = peers();
  const [c, s, x] = await connectPair(client, server);
  c.on('error', () => {});
  const tap = intercept(x);
  c.write(new Uint8Array(10));
  await new Promise((r) => setImmediate(r));
  const closed = closedWith(s);
  let received = 0;
  s.on('data', () => received++);
  tap.deliver(tap.frames[0]!);
  x.end();
  assert.equal(codeOf(await closed), 'ERR_SC_TRUNCATED');
  assert.equal(received, 1);
});

test('an oversized frame is refused from its length field (ERR_SC_FRAME_TOO_LARGE)', async () => {
  const { error } = await tampered(() => Uint8Array.of(0, 1, 0, 18), 1, {
    limits: { maxMessageBytes: 65536 },
  });
  assert.equal(codeOf(error), 'ERR_SC_FRAME_TOO_LARGE');
});

test('a frame shorter than its overhead is malformed (ERR_SC_MALFORMED)', async () => {
  const { error } = await tampered(() => Uint8Array.of(0, 0, 0, 16, ...new Uint8Array(16)), 1);
  assert.equal(codeOf(error), 'ERR_SC_MALFORMED');
});

test('writing a message over the limit throws a caller error, and the channel stays usable', async () => {
  const { client, server } = peers({ limits: { maxMessageBytes: 100 } });
  const [c, s] = await connectPair(client, server);
  assert.throws(() => c.write(new Uint8Array(101)), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => c.write('text' as unknown as Uint8Array), { code: 'ERR_INVALID_ARG' });
  const got = await exchange(c, s, 1);
  assert.equal(got.length, 1);
});

async function exchange(c: SecureChannel, s: SecureChannel, n: number): Promise<Uint8Array[]> {
  for (let i = 0; i < n; i++) c.write(Uint8Array.of(i));
  c.end();
  s.end();
  const got = await readAll(s);
  await readAll(c);
  return got;
}

test('the sender rekeys after rekeyAfterMessages and the receiver follows', async () => {
  const { client, server } = peers({ limits: { rekeyAfterMessages: 3, maxMessagesPerKey: 4 } });
  const [c, s] = await connectPair(client, server);
  const got = await exchange(c, s, 20);
  assert.deepEqual(
    got.map((m) => m[0]),
    [...Array(20).keys()],
  );
});

test('the sender rekeys after rekeyAfterSec', async () => {
  const clock = new ManualClock(Date.now());
  const { client, server } = peers({
    clock,
    limits: { rekeyAfterSec: 10, rekeyAfterMessages: 1000, maxMessagesPerKey: 1000 },
  });
  const [c, s, x] = await connectPair(client, server);
  const seen: Buffer[] = [];
  x.on('data', () => {});
  const write = x.write.bind(x);
  x.write = ((chunk: Buffer, ...rest: never[]) => {
    seen.push(Buffer.from(chunk));
    return write(chunk, ...rest);
  }) as typeof x.write;
  c.write(Uint8Array.of(1));
  await new Promise((r) => setImmediate(r));
  clock.advance(10_000);
  c.write(Uint8Array.of(2));
  await new Promise((r) => setImmediate(r));
  // The second write carried a rekey frame (17 + 4 bytes) before the data frame.
  const second = Buffer.concat(seen.slice(1));
  assert.equal(second.length, 21 + 22);
  const got = await exchange(c, s, 0);
  assert.deepEqual(
    got.map((m) => m[0]),
    [1, 2],
  );
});

test('a peer that never rekeys is closed after maxMessagesPerKey (ERR_SC_REKEY_OVERDUE)', async () => {
  const sender = peers({ limits: { rekeyAfterMessages: 1000, maxMessagesPerKey: 1000 } });
  const { client, server } = peers({ limits: { rekeyAfterMessages: 5, maxMessagesPerKey: 5 } }, sender.a);
  const [c, s] = await connectPair({ ...client, limits: sender.client.limits! }, server);
  c.on('error', () => {});
  const closed = closedWith(s);
  s.resume();
  for (let i = 0; i < 6; i++) {
    c.write(Uint8Array.of(i));
    await new Promise((r) => setImmediate(r)); // one frame each (written together they share one)
  }
  assert.equal(codeOf(await closed), 'ERR_SC_REKEY_OVERDUE');
  c.destroy();
});

test('property: any chunking of the transport gives the same messages', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 }),
      fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 8 }),
      async (messages, sizes) => {
        const { client, server } = peers();
        const split = () => sizes;
        const [c, s] = await connectPair(client, server, { split });
        for (const m of messages) c.write(m);
        c.end();
        s.end();
        const got = await readAll(s);
        await readAll(c);
        assert.deepEqual(
          got.map((m) => Buffer.from(m).toString('hex')),
          messages.map((m) => Buffer.from(m).toString('hex')),
        );
      },
    ),
    { numRuns: 25 },
  );
});

test('property: the frame reader cuts the same frames at every split position', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 6 }),
      fc.nat(),
      (lens, cut) => {
        const frames = lens.map((n) => {
          const f = Buffer.alloc(4 + 17 + n, n & 0xff);
          f.writeUInt32BE(17 + n, 0);
          return f;
        });
        const all = Buffer.concat(frames);
        const at = cut % (all.length + 1);
        const reader = new FrameReader(1000);
        const out: number[] = [];
        for (const part of [all.subarray(0, at), all.subarray(at)]) {
          reader.push(part);
          for (let v = reader.next(); v !== undefined; v = reader.next()) {
            assert.ok(v.ok);
            out.push(v.value.body.length - 17);
          }
        }
        assert.deepEqual(out, lens);
        assert.equal(reader.pending, 0);
      },
    ),
    { numRuns: 300 },
  );
});

test('destroying one side makes the other side see a truncated stream, not a clean end', async () => {
  const { client, server } = peers();
  const [c, s] = await connectPair(client, server);
  const closed = closedWith(c);
  s.destroy();
  assert.equal(codeOf(await closed), 'ERR_SC_TRUNCATED');
  assert.ok(s.destroyed);
});

test('messages written together share batch frames and arrive one by one', async () => {
  const { client, server } = peers({ limits: { maxMessageBytes: 1000 } });
  const [c, s, x] = await connectPair(client, server);
  let wire = 0;
  x.on('data', () => {});
  const write = x.write.bind(x);
  x.write = ((chunk: Buffer, ...rest: never[]) => {
    wire += chunk.length;
    return write(chunk, ...rest);
  }) as typeof x.write;
  const messages = Array.from({ length: 300 }, (_, i) => new Uint8Array(i % 50).fill(i & 0xff));
  for (const m of messages) c.write(m);
  c.end();
  s.end();
  const got = await readAll(s);
  await readAll(c);
  assert.deepEqual(
    got.map((m) => Buffer.from(m).toString('hex')),
    messages.map((m) => Buffer.from(m).toString('hex')),
  );
  // 300 frames of their own would cost 300 * 21 bytes of overhead; batches cost 4 per message.
  const payload = messages.reduce((n, m) => n + m.length, 0);
  assert.ok(wire < payload + 300 * 21, `${wire} bytes on the wire`);
});

test('batch payloads decode canonically: two or more messages, exact lengths', () => {
  const ok = decodeBatch(Uint8Array.of(0, 0, 0, 1, 7, 0, 0, 0, 0));
  assert.ok(ok.ok);
  assert.deepEqual(
    ok.value.map((m) => [...m]),
    [[7], []],
  );
  for (const bad of [
    Uint8Array.of(),
    Uint8Array.of(0, 0, 0, 1, 7),
    Uint8Array.of(0, 0, 0, 1, 7, 0, 0, 0, 2, 1),
    Uint8Array.of(0, 0, 0, 1, 7, 0, 0, 0, 0, 9),
  ]) {
    const v = decodeBatch(bad);
    assert.ok(!v.ok && v.code === 'ERR_SC_MALFORMED');
  }
});
