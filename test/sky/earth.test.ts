import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { identityKey } from '../../src/secure/keys.js';
import { EarthNode, type EarthNodeOptions } from '../../src/services/earth/node.js';
import { SkyNode } from '../../src/services/sky/server.js';

const T = { timeout: 60_000 };
const key = () => identityKey(generateKeyPairSync('ed25519').privateKey);
const local = { host: '127.0.0.1', port: 0 };

/** Resolves with the next message `node` receives (bounded). */
function inbox(): {
  push: (from: string, data: Uint8Array) => void;
  next: (ms?: number) => Promise<{ from: string; text: string }>;
} {
  const queue: { from: string; text: string }[] = [];
  const waiters: ((m: { from: string; text: string }) => void)[] = [];
  return {
    push(from, data) {
      const m = { from, text: Buffer.from(data).toString() };
      const w = waiters.shift();
      if (w) w(m);
      else queue.push(m);
    },
    next(ms = 10_000) {
      const q = queue.shift();
      if (q) return Promise.resolve(q);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no message in time')), ms);
        waiters.push((m) => {
          clearTimeout(t);
          resolve(m);
        });
      });
    },
  };
}

async function earth(
  opts: Omit<EarthNodeOptions, 'key'> & { key?: EarthNodeOptions['key'] },
): Promise<EarthNode> {
  const node = new EarthNode({ key: key(), ...opts });
  await node.start();
  return node;
}

test('direct delivery, stored-then-delivered through a holder, and a refused look-up', T, async () => {
  const sky = new SkyNode();
  const at = await sky.listen(0, '127.0.0.1');
  const nodes: EarthNode[] = [];
  try {
    const holder = await earth({ skies: [at], listen: local, limits: { inboxBytes: 0 } });
    nodes.push(holder);
    const bobKey = key();
    const bobBox = inbox();
    let bob = await earth({
      key: bobKey,
      skies: [at],
      listen: local,
      holder: holder.identity,
      limits: { inboxBytes: 4096 },
      onMessage: bobBox.push,
    });
    nodes.push(bob);
    const alice = await earth({ skies: [at] });
    nodes.push(alice);

    // 1. Bob listens: straight to him over the secure channel.
    assert.deepEqual(await alice.send(bob.identity, Buffer.from('hello bob')), {
      status: 'delivered',
      via: 'direct',
    });
    assert.deepEqual(await bobBox.next(), { from: alice.identity, text: 'hello bob' });

    // 2. Bob goes away (his lease lives on): the holder keeps the message for him.
    await bob.close();
    const r = await alice.send(bob.identity, Buffer.from('while you were out'));
    assert.deepEqual(r, { status: 'stored', via: 'holder' });
    assert.equal(holder.held.get(bob.identity)?.count, 1);

    // 3. Bob comes back with the same key: the holder hands him what it kept.
    bob = await earth({
      key: bobKey,
      skies: [at],
      listen: local,
      holder: holder.identity,
      limits: { inboxBytes: 4096 },
      onMessage: bobBox.push,
    });
    nodes.push(bob);
    assert.deepEqual(await bobBox.next(), { from: alice.identity, text: 'while you were out' });

    // 4. An identity without a lease: the sky node refuses, constant size.
    await assert.rejects(
      alice.send(key().identity, Buffer.from('x')),
      (e: Error & { code: string }) => e.code === 'ERR_SKY_NO_LEASE',
    );
  } finally {
    for (const n of nodes) await n.close();
    await sky.close();
  }
});
