import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { test } from 'node:test';
import { identityKey } from '../../src/secure/keys.js';
import { SkyClient, type SkyRefusedError } from '../../src/services/sky/client.js';
import { SkyNode } from '../../src/services/sky/server.js';
import { ManualClock } from '../../src/util/clock.js';
import {
  decodeSky,
  encodeLeaseBody,
  encodeLookup,
  type SkyMessage,
  SkySplitter,
  SkyType,
  withSignature,
} from '../../src/wire/sky.js';

const T = { timeout: 30_000 };
const key = () => identityKey(generateKeyPairSync('ed25519').privateKey);
const idBytes = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));

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

test('a lease makes its holder visible to look-ups; no lease gets the constant-size refusal', T, () =>
  withSky({}, async (sky, at) => {
    const a = await SkyClient.connect(at, { key: key() });
    const b = await SkyClient.connect(at, { key: key() });
    try {
      const leased = await a.lease({ durationSec: 60, listenPort: 4242, inboxBytes: 1000 });
      assert.equal(leased.observed.host, '127.0.0.1');
      assert.equal(leased.observed.port, a.localPort);
      const found = await b.lookup(idBytes(a.key.identity));
      assert.equal(found.listenPort, 4242);
      assert.equal(found.inboxBytes, 1000);
      assert.deepEqual(found.key, a.rawKey);
      const other = key();
      await assert.rejects(
        b.lookup(idBytes(other.identity)),
        (e: SkyRefusedError) => e.code === 'ERR_SKY_NO_LEASE',
      );
      assert.equal(sky.counts.get('lookup:ERR_SKY_NO_LEASE'), 1);
    } finally {
      a.close();
      b.close();
    }
  }),
);

const clock = new ManualClock(Date.now());
test('a bucket that runs dry asks for PoW, and the solve pays for further requests', T, () =>
  withSky(
    { limits: { burst: 2, ratePerSec: 1, fallbackBits: 4, creditPerSolve: 3 }, clock },
    async (sky, at) => {
      const a = await SkyClient.connect(at, { key: key(), clock });
      try {
        await a.lease({ durationSec: 60, listenPort: 1, inboxBytes: 0 });
        const target = idBytes(a.key.identity);
        for (let i = 0; i < 6; i++) await a.lookup(target);
        // 2 from the bucket (lease + 1 look-up), then 5 look-ups paid by 2 solves of 3 credits.
        assert.deepEqual(a.solvedBits, [4, 4]);
        assert.equal(sky.counts.get('solved'), 2);
        assert.equal(sky.counts.get('paid'), 5);
      } finally {
        a.close();
      }
    },
  ),
);

test('renewals within one millisecond are each newer than the last (no ERR_SKY_STALE_LEASE)', T, () => {
  const frozen = new ManualClock(Date.now());
  return withSky({ clock: frozen }, async (_sky, at) => {
    const a = await SkyClient.connect(at, { key: key(), clock: frozen });
    try {
      for (let port = 1; port <= 3; port++) {
        await a.lease({ durationSec: 60, listenPort: port, inboxBytes: 0 });
      }
    } finally {
      a.close();
    }
  });
});

// Cheapest check first (issue 11 item 5, lease grabbing): once an address group holds its
// maxLeasesPerGroup, a further LEASE from it is refused before its signature is checked.
test('a group at its lease cap is refused before the signature check', T, () =>
  withSky({ limits: { maxLeasesPerGroup: 1 } }, async (sky, at) => {
    const a = await SkyClient.connect(at, { key: key() });
    const b = await SkyClient.connect(at, { key: key() });
    try {
      await a.lease({ durationSec: 60, listenPort: 1, inboxBytes: 0 });
      await a.lease({ durationSec: 60, listenPort: 2, inboxBytes: 0 }); // a renewal passes
      const forged = encodeLeaseBody({
        key: b.rawKey,
        time: Date.now(),
        durationSec: 60,
        listenPort: 1,
        inboxBytes: 0,
        holder: new Uint8Array(32),
      });
      const answer = await rawAnswer(at, withSignature(forged, new Uint8Array(64)));
      assert.equal(answer.type, SkyType.refused);
      if (answer.type === SkyType.refused) assert.equal(answer.code, 'ERR_SKY_LEASES_FULL');
      assert.equal(sky.counts.get('refused:ERR_SKY_BAD_SIGNATURE'), undefined, 'never verified');
    } finally {
      a.close();
      b.close();
    }
  }),
);

/** Sends one message on a fresh connection and resolves with the first answer. */
async function rawAnswer(at: { host: string; port: number }, bytes: Uint8Array): Promise<SkyMessage> {
  const s = connect({ host: at.host, port: at.port });
  try {
    await once(s, 'connect');
    const splitter = new SkySplitter();
    const got = new Promise<SkyMessage>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no answer')), 10_000);
      s.on('data', (chunk: Buffer) =>
        splitter.push(chunk, (m) => {
          clearTimeout(t);
          const d = decodeSky(m);
          if (d.ok) resolve(d.value);
          else reject(new Error(d.code));
        }),
      );
    });
    s.write(bytes);
    return await got;
  } finally {
    s.destroy();
  }
}

test('bad bytes close the connection with ERR_SKY_MALFORMED and never throw', T, () =>
  withSky({}, async (sky, at) => {
    const s = connect(at.port, at.host);
    await once(s, 'connect');
    s.write(Uint8Array.from([1, 0x42, 0, 0]));
    await once(s, 'close');
    assert.equal(sky.counts.get('rejected:ERR_SKY_MALFORMED'), 1);
    // An answer type sent by a client is refused the same way.
    const s2 = connect(at.port, at.host);
    await once(s2, 'connect');
    s2.write(Uint8Array.from([1, 0x86, 0, 0, 0, 0]));
    await once(s2, 'close');
    assert.equal(sky.counts.get('rejected:ERR_SKY_MALFORMED'), 2);
  }),
);

test('look-ups split at every byte boundary get the same answers', T, () =>
  withSky({ limits: { burst: 1000, ratePerSec: 1000 } }, async (_sky, at) => {
    const s = connect(at.port, at.host);
    await once(s, 'connect');
    const msg = encodeLookup(SkyType.lookup, 7, new Uint8Array(32));
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    for (let i = 0; i < msg.length; i++) s.write(msg.subarray(i, i + 1));
    const all = Buffer.concat([msg, msg]);
    s.write(all.subarray(0, 50));
    s.write(all.subarray(50));
    await new Promise<void>((resolve) => {
      const check = () => {
        if (Buffer.concat(chunks).length >= 33) resolve();
        else s.once('data', check);
      };
      check();
    });
    const bytes = Buffer.concat(chunks);
    for (let i = 0; i < 3; i++) {
      const d = decodeSky(bytes.subarray(i * 11, i * 11 + 11));
      assert.ok(
        d.ok &&
          d.value.type === SkyType.refused &&
          d.value.reqId === 7 &&
          d.value.code === 'ERR_SKY_NO_LEASE',
      );
    }
    s.destroy();
  }),
);
