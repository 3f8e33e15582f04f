import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { memoryPair, publicPem, SecureContext, secureAccept, TrustStore } from '../../src/secure/index.js';
import { defaultLimits, resolveLimits } from '../../src/secure/limits.js';
import { ReplayWindow } from '../../src/secure/replay.js';
import { ManualClock } from '../../src/util/clock.js';
import { captureHello, closedWith, connectPair, ed25519Key, peers, readAll, refusal } from './helpers.js';

// One test at limit + 1 for every limit of src/secure/limits.ts (those not here are in the
// test named beside them).

test('limits: every default is valid and a bad override names the limit', () => {
  assert.deepEqual(resolveLimits(), defaultLimits);
  assert.equal(defaultLimits.maxMessageBytes, 65536);
  assert.throws(() => resolveLimits({ maxMessageBytes: 0 }), /limits\.maxMessageBytes/);
  assert.throws(
    () => resolveLimits({ rekeyAfterMessages: 10, maxMessagesPerKey: 9 }),
    /limits\.maxMessagesPerKey/,
  );
});

test('maxClockSkewSec: t_max seconds old passes, t_max + 1 is refused', async () => {
  const clock = new ManualClock(1_800_000_000_000);
  const { client, server } = peers({ limits: { maxClockSkewSec: 5 } });
  const at = (ms: number) => captureHello({ ...client, clock: new ManualClock(clock.now() + ms) });
  const strangers = { ...server, clock, trust: TrustStore.fromKeys([]) };
  // Within the skew the next check (trust) is what refuses it.
  assert.equal((await refusal(strangers, await at(-5000))).code, 'ERR_HS_UNTRUSTED');
  assert.equal((await refusal(strangers, await at(5000))).code, 'ERR_HS_UNTRUSTED');
  assert.equal((await refusal(strangers, await at(-6000))).code, 'ERR_HS_EXPIRED');
  assert.equal((await refusal(strangers, await at(6000))).code, 'ERR_HS_FUTURE');
});

test('maxMessageBytes: a message of the limit passes; a frame of limit + 1 closes the receiver', async () => {
  const small = peers({ limits: { maxMessageBytes: 100 } });
  const [c, s] = await connectPair({ ...small.client, limits: { maxMessageBytes: 101 } }, small.server);
  c.on('error', () => {});
  const closed = closedWith(s);
  const got: number[] = [];
  s.on('data', (m: Uint8Array) => got.push(m.length));
  c.write(new Uint8Array(100));
  c.write(new Uint8Array(101));
  const error = await closed;
  assert.equal((error as { code?: string }).code, 'ERR_SC_FRAME_TOO_LARGE');
  assert.deepEqual(got, [100]);
});

test('rekeyAfterMessages: the (N + 1)th message is preceded by a rekey frame', async () => {
  const { client, server } = peers({ limits: { rekeyAfterMessages: 2, maxMessagesPerKey: 2 } });
  const [c, s, x] = await connectPair(client, server);
  const sizes: number[] = [];
  const write = x.write.bind(x);
  x.write = ((chunk: Buffer, ...rest: never[]) => {
    sizes.push(chunk.length);
    return write(chunk, ...rest);
  }) as typeof x.write;
  for (let i = 0; i < 3; i++) {
    c.write(Uint8Array.of(i));
    await new Promise((r) => setImmediate(r));
  }
  // data frame = 4 + 1 + 1 + 16 = 22 bytes; rekey frame = 21 bytes.
  assert.deepEqual(sizes, [22, 22, 21 + 22]);
  c.end();
  s.end();
  assert.equal((await readAll(s)).length, 3);
  await readAll(c);
});

test('maxPendingHandshakes: limit + 1 concurrent handshakes, the last is refused at once (ERR_HS_BUSY)', async () => {
  const { server } = peers({ limits: { maxPendingHandshakes: 2 } });
  const context = new SecureContext(server);
  const pairs = [memoryPair(), memoryPair(), memoryPair()];
  const results = pairs.map(([, y]) =>
    secureAccept(y, { ...server, context }).catch((e: { code: string }) => e.code),
  );
  assert.equal(context.pending, 2);
  assert.equal(await results[2], 'ERR_HS_BUSY');
  for (const [x] of pairs) x.destroy();
  assert.deepEqual(await Promise.all(results), ['ERR_HS_CLOSED', 'ERR_HS_CLOSED', 'ERR_HS_BUSY']);
  assert.equal(context.pending, 0);
});

test('maxReplayNonces: a full window of live nonces refuses the next handshake (fail closed)', async () => {
  const w = new ReplayWindow({ maxSkewSec: 60, maxPeers: 10, maxNonces: 2 });
  const n = (i: number) => new Uint8Array(16).fill(i);
  assert.ok((await w.commit('a', n(1), 1000, 1000)).ok);
  assert.ok((await w.commit('a', n(2), 1000, 1000)).ok);
  assert.equal((await w.commit('a', n(3), 1000, 1000)).ok, false);
  // Once the first two left t_max they are forgotten and room is made.
  assert.ok((await w.commit('a', n(3), 1000, 1062)).ok);
});

test('maxReplayPeers: limit + 1 identities forget the oldest last-timestamp', async () => {
  const w = new ReplayWindow({ maxSkewSec: 60, maxPeers: 2, maxNonces: 100 });
  const n = (i: number) => new Uint8Array(16).fill(i);
  await w.commit('a', n(1), 1000, 1000);
  await w.commit('b', n(2), 1000, 1000);
  assert.equal(w.check('a', n(9), 999, 1000).ok, false);
  await w.commit('c', n(3), 1000, 1000);
  assert.equal(w.size.peers, 2);
  assert.equal(w.check('a', n(9), 999, 1000).ok, true);
  assert.equal(w.check('b', n(9), 999, 1000).ok, false);
});

test('maxTrustedKeys and maxTrustFileBytes: files past either limit are reported and ignored', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-trust-'));
  const keys = [ed25519Key(), ed25519Key(), ed25519Key()];
  for (const [i, k] of keys.entries()) writeFileSync(join(dir, `${i}.pem`), publicPem(k));
  const errors: string[] = [];
  const store = TrustStore.open(dir, {
    maxKeys: 2,
    watch: false,
    onError: (f, e) => errors.push(`${f}: ${e.message}`),
  });
  assert.equal(store.size, 2);
  assert.equal(errors.length, 1);
  store.close();
  const pem = publicPem(keys[0]!);
  writeFileSync(join(dir, 'big.pem'), `${pem}${' '.repeat(200)}`);
  const sized = TrustStore.open(dir, {
    maxFileBytes: pem.length + 199,
    watch: false,
    onError: (f) => errors.push(f),
  });
  assert.ok(errors.at(-1)!.endsWith('big.pem'));
  assert.equal(sized.size, 3);
  sized.close();
});
