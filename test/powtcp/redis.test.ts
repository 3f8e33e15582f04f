// Issue 3 item 4: two server processes behind one address share a real redis-server; a
// solution accepted by one is refused by the other, and per-address limits are shared.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { solveHashcash } from '../../src/pow/hashcash.js';
import { closePools } from '../../src/pow/pool.js';
import { RawClient, type ServeProcess, startServe } from '../helpers/powtcp.js';
import { type RedisProcess, startRedis } from '../helpers/redis.js';

let redis: RedisProcess;
let a: ServeProcess;
let b: ServeProcess;

before(async () => {
  redis = await startRedis();
  // One key secret and one public address: the two instances stand behind one address.
  const env = { TOLLGATE_POWTCP_SECRET: randomBytes(32).toString('hex') };
  const args = ['--listen', '127.0.0.1:0', '--store', redis.url, '--public-address', '127.0.0.1:8765'];
  [a, b] = await Promise.all([
    startServe([...args, '--rate', '2', '--burst', '3'], env),
    startServe([...args, '--rate', '2', '--burst', '3'], env),
  ]);
});
after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await redis?.stop();
  await closePools();
});

test('a solution accepted by one instance is refused by the other (shared replay guard)', async () => {
  const c = await RawClient.open(a.port, { localAddress: '127.0.0.4' });
  const localPort = c.localPort;
  const puzzle = (await c.request('1:\n')).slice(2);
  const { header } = await solveHashcash(puzzle);
  assert.match(await c.request(`3:${header}\n`), /^4:/);
  await c.end();
  // Same client ip:port, other instance: the sealed puzzle opens there (shared secret), so
  // only the shared replay mark can refuse it.
  const again = await RawClient.open(b.port, { localAddress: '127.0.0.4', localPort });
  assert.equal(await again.request(`3:${header}\n`), '0:ERR_CHALLENGE_REPLAYED');
  await again.end();
});

test('per-address rate limits are shared: a burst spent on one instance is spent on the other', async () => {
  const c = await RawClient.open(a.port, { localAddress: '127.0.0.5' });
  for (let i = 0; i < 3; i++) assert.match(await c.request('1:\n'), /^2:/);
  c.destroy();
  const d = await RawClient.open(b.port, { localAddress: '127.0.0.5' });
  assert.equal(await d.request('1:\n'), '0:ERR_RATE_LIMITED');
  await d.end();
});

test('a Redis that does not answer fails closed: 0:ERR_STORE_UNAVAILABLE, never a quote', async () => {
  const { startPowtcpService } = await import('../../src/services/powtcp/index.js');
  const { closedPort } = await import('../helpers/redis.js');
  const svc = await startPowtcpService({
    listen: { host: '127.0.0.1', port: 0 },
    store: `redis://127.0.0.1:${await closedPort()}`,
  });
  try {
    const c = await RawClient.open(svc.address.port);
    assert.equal(await c.request('1:\n'), '0:ERR_STORE_UNAVAILABLE');
    await c.end();
  } finally {
    await svc.close();
  }
});
