import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { parseIntegerFlag } from '../../src/cli/flags.js';
import { startObservability } from '../../src/services/observability.js';
import {
  readU16,
  readU32,
  readU48,
  readU64,
  writeU16,
  writeU32,
  writeU48,
  writeU64,
} from '../../src/util/bytes.js';
import { ArgumentError } from '../../src/util/errors.js';
import { defineLimits } from '../../src/util/limits.js';
import { observer, subscribe } from '../../src/util/observe.js';
import { shuffleInPlace } from '../../src/util/random.js';

const example = defineLimits(
  'test-example',
  {
    soft: { default: 10, min: 1, max: 100, unit: 'count', doc: 'soft cap' },
    hard: { default: 20, min: 1, max: 1000, unit: 'count', doc: 'hard cap' },
  },
  (v) => (v.hard < v.soft ? { key: 'hard', message: 'must be >= soft' } : undefined),
);

test('defineLimits: defaults, bounds at limit and limit + 1, names as the caller spells them', () => {
  assert.deepEqual({ ...example.defaults }, { soft: 10, hard: 20 });
  assert.equal(example.resolve({ soft: 100, hard: 100 }).soft, 100);
  assert.throws(
    () => example.resolve({ soft: 101 }),
    (e: unknown) => e instanceof ArgumentError && e.argument === 'soft',
  );
  assert.throws(
    () => example.resolve({ soft: 0 }, { prefix: 'limits' }),
    (e: unknown) => e instanceof ArgumentError && e.argument === 'limits.soft',
  );
  assert.throws(
    () => example.resolve({ soft: 1.5 }, { names: { soft: '--soft-cap' } }),
    (e: unknown) => e instanceof ArgumentError && e.argument === '--soft-cap',
  );
  assert.throws(() => example.resolve({ soft: 50, hard: 40 }), /hard: must be >= soft/);
  assert.throws(() => example.resolve({ nope: 1 } as never), /nope: is not a known limit/);
  assert.match(example.table(), /^\| limit \| default \| range \| unit \| meaning \|/);
  assert.match(example.table(), /\| `hard` \| 20 \| 1 to 1,000 \| count \| hard cap \|/);
});

test('observe: nothing is published without subscribers; subscribers see counts, gauges and logs', () => {
  const obs = observer('powtcp');
  const seen: unknown[] = [];
  obs.count('connections');
  const stop = subscribe((m) => seen.push(m));
  obs.count('connections');
  obs.reject('ERR_RATE_LIMITED', { peer: '1.2.3.4' });
  obs.gauge('difficulty', 3);
  stop();
  obs.count('connections');
  assert.deepEqual(seen, [
    { kind: 'count', service: 'powtcp', event: 'connections', n: 1 },
    { kind: 'count', service: 'powtcp', event: 'rejections', reason: 'ERR_RATE_LIMITED', n: 1 },
    {
      kind: 'log',
      service: 'powtcp',
      level: 'debug',
      msg: 'rejected',
      fields: { reason: 'ERR_RATE_LIMITED', peer: '1.2.3.4' },
    },
    { kind: 'gauge', service: 'powtcp', gauge: 'difficulty', value: 3 },
  ]);
});

test('observability edge: Prometheus text over HTTP and JSON log lines', { timeout: 20_000 }, async () => {
  const lines: string[] = [];
  const edge = await startObservability({
    services: ['powtcp'],
    jsonLogs: true,
    logLevel: 'debug',
    metrics: { host: '127.0.0.1', port: 0 },
    write: (line) => lines.push(line),
    now: () => 0,
  });
  try {
    const obs = observer('powtcp');
    obs.count('connections');
    obs.reject('ERR_RATE_LIMITED');
    obs.reject('ERR_RATE_LIMITED');
    const stopSample = obs.sample('open_connections', () => 7);
    const port = edge.metricsAddress!.port;
    const body = await new Promise<string>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve(text));
      })
        .on('error', reject)
        .end();
    });
    stopSample();
    assert.match(body, /^tollgate_powtcp_connections_total 1$/m);
    assert.match(body, /^tollgate_powtcp_rejections_total\{reason="ERR_RATE_LIMITED"\} 2$/m);
    assert.match(body, /^tollgate_powtcp_open_connections 7$/m);
    assert.match(body, /^process_resident_memory_bytes \d+/m);
    const first = JSON.parse(lines[0]!);
    assert.deepEqual(first, {
      time: '1970-01-01T00:00:00.000Z',
      level: 'debug',
      service: 'powtcp',
      msg: 'rejected',
      reason: 'ERR_RATE_LIMITED',
    });
  } finally {
    await edge.close();
  }
});

test('one CLI number parser names the flag', () => {
  assert.equal(parseIntegerFlag('--n', '42', 0, 100), 42);
  assert.throws(
    () => parseIntegerFlag('--n', '101', 0, 100),
    (e: unknown) => e instanceof ArgumentError && e.argument === '--n',
  );
  assert.throws(() => parseIntegerFlag('--n', '1e3', 0, 10_000), /expected an integer/);
  assert.throws(() => parseIntegerFlag('--n', '', 0, 1), /expected an integer/);
});

test('byte-order helpers round-trip at the edges', () => {
  const b = new Uint8Array(8);
  for (const v of [0, 1, 0xffff, 0x1234]) {
    writeU16(b, 1, v);
    assert.equal(readU16(b, 1), v);
  }
  for (const v of [0, 0xffffffff, 0x80000000, 0x01020304]) {
    writeU32(b, 2, v);
    assert.equal(readU32(b, 2), v);
  }
  for (const v of [0, 2 ** 48 - 1, 2 ** 32, 12345678901]) {
    writeU48(b, 1, v);
    assert.equal(readU48(b, 1), v);
  }
  for (const v of [0n, 2n ** 64n - 1n, 2n ** 63n]) {
    writeU64(b, 0, v);
    assert.equal(readU64(b, 0), v);
  }
});

test('shuffleInPlace is a permutation', () => {
  let x = 1;
  const int = (n: number) => {
    x = (x * 48271) % 2147483647;
    return x % n;
  };
  const random = { int, u64: () => 0n };
  const list = Array.from({ length: 50 }, (_, i) => i);
  shuffleInPlace(list, random);
  assert.deepEqual(
    [...list].sort((a, b) => a - b),
    Array.from({ length: 50 }, (_, i) => i),
  );
});
