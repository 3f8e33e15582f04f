// End to end: the real CLI, `powtcp get` against `powtcp serve`, in separate processes.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { startServe } from '../helpers/powtcp.js';

test('powtcp get --json prints the quote and the figures; JSON logs and metrics from serve', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-powtcp-'));
  const quotes = join(dir, 'quotes.txt');
  writeFileSync(quotes, '  The one and only quote.  \n\n');
  const serve = await startServe([
    '--listen',
    '127.0.0.1:0',
    '--quotes',
    quotes,
    '--json-logs',
    '--metrics',
    '127.0.0.1:0',
  ]);
  try {
    const r = await runCli(['powtcp', 'get', `127.0.0.1:${serve.port}`, '--json', '--workers', '2']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    assert.equal(out.quote, 'The one and only quote.');
    assert.equal(out.difficulty, 1);
    assert.deepEqual(Object.keys(out).sort(), ['attempts', 'difficulty', 'quote', 'solve_ms', 'total_ms']);
    const plain = await runCli(['powtcp', 'get', `127.0.0.1:${serve.port}`]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout, 'The one and only quote.\n');

    const metrics = await (await fetch(serve.metricsUrl!)).text();
    assert.match(metrics, /^tollgate_powtcp_puzzles_issued_total 2$/m);
    assert.match(metrics, /^tollgate_powtcp_solutions_accepted_total 2$/m);
    assert.match(metrics, /^tollgate_powtcp_difficulty 1$/m);
    assert.match(metrics, /^tollgate_powtcp_open_connections \d+$/m);
    assert.match(metrics, /^tollgate_powtcp_rate_limited_total 0$/m);
    assert.match(metrics, /^process_resident_memory_bytes \d+$/m);
  } finally {
    assert.equal(await serve.stop(), 0);
  }
  const logs = serve
    .stderr()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { msg: string; level: string });
  assert.ok(logs.some((l) => l.msg === 'powtcp listening' && l.level === 'info'));
});

test("powtcp get shows the server's 0: reason as the error", async () => {
  const serve = await startServe(['--listen', '127.0.0.1:0', '--rate', '0.001', '--burst', '2']);
  try {
    assert.equal((await runCli(['powtcp', 'get', `127.0.0.1:${serve.port}`])).code, 0);
    const refused = await runCli(['powtcp', 'get', `127.0.0.1:${serve.port}`]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /server refused: ERR_RATE_LIMITED/);
  } finally {
    await serve.stop();
  }
});

test('powtcp serve and get name bad arguments', async () => {
  const bad = await runCli(['powtcp', 'serve', '--difficulty-max', '9']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--difficulty-max/);
  const mode = await runCli(['powtcp', 'serve', '--mode', 'fast']);
  assert.match(mode.stderr, /--mode/);
  const floor = await runCli(['powtcp', 'serve', '--difficulty-min', '5', '--difficulty-max', '3']);
  assert.equal(floor.code, 2);
  assert.match(floor.stderr, /--difficulty-min: must be at most/);
  const store = await runCli(['powtcp', 'serve', '--listen', '127.0.0.1:0', '--store', 'bogus']);
  assert.equal(store.code, 2);
  assert.match(store.stderr, /--store: expected memory or redis/);
  const target = await runCli(['powtcp', 'get', 'localhost']);
  assert.equal(target.code, 2);
  assert.match(target.stderr, /HOST:PORT/);
  const help = await runCli(['powtcp', 'serve', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--store memory\|URL/);
});

// Issue 9 item 9: with the memory store each instance keeps its own replay marks, so a
// shared key would let one solution be redeemed once per instance.
test('serve refuses a shared key secret without a shared store, naming both options', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-secret-'));
  const file = join(dir, 'secret');
  writeFileSync(file, Buffer.alloc(32, 7));
  const r = await runCli(['powtcp', 'serve', '--listen', '127.0.0.1:0', '--secret-file', file]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--secret-file: .*--store redis:\/\//);
  const env = await runCli(['powtcp', 'serve', '--listen', '127.0.0.1:0', '--store', 'memory'], {
    env: { TOLLGATE_POWTCP_SECRET: '11'.repeat(32) },
  });
  assert.equal(env.code, 2, env.stderr);
  assert.match(env.stderr, /TOLLGATE_POWTCP_SECRET: .*--store/);
});

test('serve on an address in use fails with ERR_LISTEN_FAILED, not an internal error', async () => {
  const serve = await startServe(['--listen', '127.0.0.1:0']);
  try {
    const again = await runCli(['powtcp', 'serve', '--listen', `127.0.0.1:${serve.port}`]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE.*\(ERR_LISTEN_FAILED\)/);
  } finally {
    await serve.stop();
  }
});
