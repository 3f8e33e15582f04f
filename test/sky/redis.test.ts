/**
 * Two sky nodes sharing state through Redis (issue 11: "Several sky nodes can share state
 * through the Redis store"): a lease taken at one is answered by the other, a solved
 * challenge redeemed at one is refused as a replay at the other, and the shared lease table
 * keeps LeaseTable's caps (the heaviest group gives way at the cap). The test starts its own
 * redis-server on a random port.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { RedisStore } from '../../src/admission/redis-store.js';
import { readSealedHeader } from '../../src/admission/sealed.js';
import { solveSha256Bits } from '../../src/pow/sha256-bits.js';
import { identityOfRaw, rawOfPublicKey } from '../../src/protocol/sky/lease.js';
import { SKY_LIMITS } from '../../src/protocol/sky/limits.js';
import { identityKey } from '../../src/secure/keys.js';
import { SkyClient } from '../../src/services/sky/client.js';
import { RedisLeaseStore } from '../../src/services/sky/lease-store.js';
import { SkyNode } from '../../src/services/sky/server.js';
import {
  decodeSky,
  encodeLookup,
  encodeSolve,
  type SkyMessage,
  SkySplitter,
  SkyType,
} from '../../src/wire/sky.js';
import { startRedis } from '../helpers/redis.js';

const T = { timeout: 60_000 };
const newKey = () => identityKey(generateKeyPairSync('ed25519').privateKey);

/** A raw sky connection from a fixed local address and port, reading one answer at a time. */
async function raw(at: { host: string; port: number }, localAddress: string, localPort: number) {
  const s: Socket = connect({ host: at.host, port: at.port, localAddress, localPort });
  await once(s, 'connect');
  const splitter = new SkySplitter();
  const queue: SkyMessage[] = [];
  const waiters: ((m: SkyMessage) => void)[] = [];
  s.on('data', (chunk: Buffer) =>
    splitter.push(chunk, (bytes) => {
      const d = decodeSky(bytes);
      assert.ok(d.ok, 'answers decode');
      const w = waiters.shift();
      if (w !== undefined) w(d.value);
      else queue.push(d.value);
    }),
  );
  s.on('error', () => {});
  const ask = (bytes: Uint8Array): Promise<SkyMessage> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer from the sky node')), 10_000);
      const m = queue.shift();
      const done = (v: SkyMessage) => {
        clearTimeout(timer);
        resolve(v);
      };
      if (m !== undefined) done(m);
      else waiters.push(done);
      s.write(bytes);
    });
  return { socket: s, ask };
}

test(
  'two sky nodes on one Redis: a lease taken at one is found at the other; a redeemed challenge is a replay at both',
  T,
  async (t) => {
    let redis: Awaited<ReturnType<typeof startRedis>>;
    try {
      redis = await startRedis();
    } catch (e) {
      t.skip(String(e));
      return;
    }
    const secret = new Uint8Array(randomBytes(32));
    const limits = { burst: 1, ratePerSec: 1, fallbackBits: 4 };
    // Behind one name: both seal the same public address, so a challenge is valid at either.
    const publicAddress = { host: '127.0.0.1', port: 7000 };
    const stores = [0, 1].map(() => new RedisStore(redis.url, { prefix: 'sky-test:' }));
    const skies = stores.map(
      (store) =>
        new SkyNode({
          limits,
          store,
          leases: new RedisLeaseStore(redis.url, SKY_LIMITS.resolve(limits), { prefix: 'sky-test:sky:' }),
          secret,
          publicAddress,
        }),
    );
    const clients: SkyClient[] = [];
    const sockets: Socket[] = [];
    try {
      const [at1, at2] = await Promise.all(skies.map((s) => s.listen(0, '127.0.0.1')));
      const a = await SkyClient.connect(at1!, { key: newKey(), localAddress: '127.0.0.31' });
      const b = await SkyClient.connect(at2!, { key: newKey(), localAddress: '127.0.0.32' });
      clients.push(a, b);
      await a.lease({ durationSec: 60, listenPort: 4242, inboxBytes: 512 });
      const found = await b.lookup(new Uint8Array(Buffer.from(a.key.identity, 'hex')));
      assert.deepEqual(found.key, a.rawKey, 'the other node answers with the lease taken at the first');
      assert.equal(found.listenPort, 4242);
      assert.equal(found.inboxBytes, 512);

      // One client endpoint (address and port) at both nodes; the bucket (burst 1) is shared.
      const port = 20_000 + Math.floor(Math.random() * 20_000);
      const c1 = await raw(at1!, '127.0.0.33', port);
      sockets.push(c1.socket);
      const lookup = encodeLookup(SkyType.lookup, 7, new Uint8Array(32).fill(9));
      // The bucket refills at 1/s: ask until it is dry (bounded) and the node challenges.
      const untilChallenged = async (c: typeof c1): Promise<SkyMessage> => {
        for (let i = 0; i < 10; i++) {
          const m = await c.ask(lookup);
          if (m.type === SkyType.challenge) return m;
          assert.equal(m.type, SkyType.refused, 'a token pays: ERR_SKY_NO_LEASE');
        }
        throw new Error('never challenged');
      };
      const challenge = await untilChallenged(c1);
      assert.equal(challenge.type, SkyType.challenge);
      if (challenge.type !== SkyType.challenge) return;
      const header = readSealedHeader(challenge.sealed);
      assert.ok(header.ok);
      const { nonce } = await solveSha256Bits({
        challenge: header.value.challenge,
        difficulty: header.value.difficulty,
      });
      const solve = encodeSolve(nonce, challenge.sealed);
      assert.equal((await c1.ask(solve)).type, SkyType.solved);
      c1.socket.destroy();
      await once(c1.socket, 'close');

      const c2 = await raw(at2!, '127.0.0.33', port);
      sockets.push(c2.socket);
      assert.equal((await untilChallenged(c2)).type, SkyType.challenge);
      const replayed = await c2.ask(solve);
      assert.equal(replayed.type, SkyType.refused);
      if (replayed.type === SkyType.refused) assert.equal(replayed.code, 'ERR_CHALLENGE_REPLAYED');
      assert.equal(skies[1]!.counts.get('refused:ERR_CHALLENGE_REPLAYED'), 1);
    } finally {
      for (const c of clients) c.close();
      for (const s of sockets) s.destroy();
      await Promise.all(skies.map((s) => s.close()));
      await Promise.all(stores.map((s) => s.close()));
      await redis.stop();
    }
  },
);

test(
  'the shared lease table keeps the caps: group cap, and at the table cap the heaviest group gives way',
  T,
  async (t) => {
    let redis: Awaited<ReturnType<typeof startRedis>>;
    try {
      redis = await startRedis();
    } catch (e) {
      t.skip(String(e));
      return;
    }
    const store = new RedisLeaseStore(redis.url, { maxLeases: 3, maxLeasesPerGroup: 2 }, { prefix: 'cap:' });
    const evicted: string[] = [];
    store.onEvict = (id) => evicted.push(id);
    const keys = new Map<string, Uint8Array>();
    const id = (name: string) => {
      const raw = rawOfPublicKey(newKey().publicKey);
      const identity = identityOfRaw(raw);
      keys.set(identity, raw);
      ids.set(name, identity);
      return identity;
    };
    const ids = new Map<string, string>();
    for (const n of ['a', 'b', 'c', 'd', 'e']) id(n);
    const rec = (name: string, group: string, expiresAt: number) => ({
      identity: ids.get(name)!,
      key: keys.get(ids.get(name)!)!,
      observed: { host: '127.0.0.1', port: 1 },
      listenPort: 0,
      inboxBytes: 0,
      holder: new Uint8Array(32),
      time: 1,
      expiresAt,
      group,
    });
    const code = (v: { ok: boolean; code?: string }) => (v.ok ? 'ok' : v.code);
    const far = Date.now() + 60_000;
    try {
      const now = Date.now();
      assert.equal(code(await store.put(rec('a', 'g1', far), now)), 'ok');
      assert.equal(code(await store.put(rec('b', 'g1', far + 1), now)), 'ok');
      assert.equal(code(await store.put(rec('c', 'g1', far), now)), 'ERR_SKY_LEASES_FULL');
      assert.equal(code(await store.put(rec('c', 'g2', far), now)), 'ok');
      assert.equal(code(await store.put(rec('d', 'g3', far), now)), 'ok', 'g1 gives way');
      assert.deepEqual(evicted, [ids.get('a')], "g1's lease that ends soonest");
      assert.equal(await store.get(ids.get('a')!, now), undefined);
      assert.ok(await store.get(ids.get('b')!, now));
      assert.ok(await store.get(ids.get('d')!, now));
      assert.equal(code(await store.put(rec('e', 'g4', far), now)), 'ERR_SKY_LEASES_FULL');
    } finally {
      await store.close();
      await redis.stop();
    }
  },
);
