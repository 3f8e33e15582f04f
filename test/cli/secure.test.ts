import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cliEntry, runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-secure-'));

async function keygen(name: string): Promise<{ key: string; pem: string; identity: string }> {
  const key = join(dir, `${name}.key`);
  const r = await runCli(['keygen', '--type', 'ed25519', '--out', key]);
  assert.equal(r.code, 0, r.stderr);
  const identity = /identity: ([0-9a-f]{64})/.exec(r.stdout)?.[1];
  assert.ok(identity);
  return { key, pem: r.stdout.slice(0, r.stdout.indexOf('identity:')), identity };
}

test('keygen writes a 0600 key, prints the public PEM and identity, and never overwrites', async () => {
  const a = await keygen('solo');
  assert.equal(statSync(a.key).mode & 0o777, 0o600);
  assert.match(a.pem, /^-----BEGIN PUBLIC KEY-----\n/);
  const before = readFileSync(a.key, 'utf8');
  const again = await runCli(['keygen', '--type', 'ed25519', '--out', a.key]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /exists; not overwriting/);
  assert.equal(readFileSync(a.key, 'utf8'), before);
});

test('secure listen and connect pipe stdin/stdout both ways and print the peer identity', async () => {
  const [a, b] = [await keygen('alice'), await keygen('bob')];
  const trust = join(dir, 'trust');
  mkdirSync(trust);
  writeFileSync(join(trust, 'alice.pem'), a.pem);
  writeFileSync(join(trust, 'bob.pem'), b.pem);
  const listener = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      cliEntry,
      'secure',
      'listen',
      '--key',
      b.key,
      '--trust',
      trust,
      '--listen',
      '127.0.0.1:0',
      '--pow',
      'sha256-bits:6',
      // A loaded machine may take seconds to start the initiator's solver.
      '--hello-timeout',
      '30000',
      '--timeout',
      '30000',
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const timer = setTimeout(() => listener.kill('SIGKILL'), 60_000);
  let lout = '';
  let lerr = '';
  listener.stdout.setEncoding('utf8').on('data', (c: string) => {
    lout += c;
  });
  const port = await new Promise<number>((resolve, reject) => {
    listener.stderr.setEncoding('utf8').on('data', (c: string) => {
      lerr += c;
      const m = /secure listening on 127\.0\.0\.1:(\d+)/.exec(lerr);
      if (m) resolve(Number(m[1]));
    });
    listener.on('exit', () => reject(new Error(`listener exited: ${lerr}`)));
  });
  listener.stdin.end('hello from bob\n');
  const exited = new Promise<number | null>((resolve) => listener.on('close', resolve));
  const client = await runCli(
    [
      'secure',
      'connect',
      '--key',
      a.key,
      '--trust',
      trust,
      '--expect',
      b.identity,
      '--pow',
      'sha256-bits:6',
      `127.0.0.1:${port}`,
    ],
    { input: 'hello from alice\n' },
  );
  assert.equal(client.code, 0, client.stderr);
  assert.equal(client.stdout, 'hello from bob\n');
  assert.match(client.stderr, new RegExp(`peer ${b.identity}`));
  assert.equal(await exited, 0);
  clearTimeout(timer);
  assert.equal(lout, 'hello from alice\n');
  assert.match(lerr, new RegExp(`peer ${a.identity}`));
});

test('issue 9 finding 5: secure listen handshakes concurrently, so an idle connection does not stop it', {
  timeout: 60_000,
}, async () => {
  const [a, b] = [await keygen('erin'), await keygen('frank')];
  const trust = join(dir, 'trust-erin-frank');
  mkdirSync(trust);
  writeFileSync(join(trust, 'erin.pem'), a.pem);
  writeFileSync(join(trust, 'frank.pem'), b.pem);
  const listener = spawn(
    process.execPath,
    // A long handshake timeout: only the HELLO deadline (5 s) would drop the idle socket.
    [...['--import', 'tsx', cliEntry, 'secure', 'listen', '--key', b.key, '--trust', trust]].concat([
      '--listen',
      '127.0.0.1:0',
      '--timeout',
      '60000',
    ]),
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const timer = setTimeout(() => listener.kill('SIGKILL'), 50_000);
  let lerr = '';
  let lout = '';
  listener.stdout.setEncoding('utf8').on('data', (c: string) => {
    lout += c;
  });
  const port = await new Promise<number>((resolve, reject) => {
    listener.stderr.setEncoding('utf8').on('data', (c: string) => {
      lerr += c;
      const m = /secure listening on 127\.0\.0\.1:(\d+)/.exec(lerr);
      if (m) resolve(Number(m[1]));
    });
    listener.on('exit', () => reject(new Error(`listener exited: ${lerr}`)));
  });
  const exited = new Promise<number | null>((resolve) => listener.on('close', resolve));
  listener.stdin.end('hi erin\n');
  // The idle connection is accepted first and sends nothing.
  const idle = tcpConnect(port, '127.0.0.1');
  idle.on('error', () => {});
  await once(idle, 'connect');
  // The honest peer gives up after 2 s, well before the idle socket's HELLO deadline.
  const client = await runCli(
    ['secure', 'connect', '--key', a.key, '--trust', trust, '--timeout', '2000', `127.0.0.1:${port}`],
    { input: 'hi frank\n', timeoutMs: 30_000 },
  );
  idle.destroy();
  assert.equal(client.code, 0, client.stderr);
  assert.equal(client.stdout, 'hi erin\n');
  assert.equal(await exited, 0);
  clearTimeout(timer);
  assert.equal(lout, 'hi frank\n');
});

test('secure connect to an untrusted listener fails with the reason on stderr', async () => {
  const [a, b] = [await keygen('carol'), await keygen('dave')];
  const trustA = join(dir, 'trust-carol');
  const trustB = join(dir, 'trust-dave');
  mkdirSync(trustA);
  mkdirSync(trustB);
  writeFileSync(join(trustB, 'carol.pem'), a.pem); // dave trusts carol, carol trusts nobody
  const listener = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      cliEntry,
      'secure',
      'listen',
      '--key',
      b.key,
      '--trust',
      trustB,
      '--listen',
      '127.0.0.1:0',
      '--json-logs',
      '--log-level',
      'debug',
      '--metrics',
      '127.0.0.1:0',
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const timer = setTimeout(() => listener.kill('SIGKILL'), 60_000);
  let lerr = '';
  const port = await new Promise<number>((resolve) => {
    listener.stderr.setEncoding('utf8').on('data', (c: string) => {
      lerr += c;
      const m = /secure listening on 127\.0\.0\.1:(\d+)/.exec(lerr);
      if (m) resolve(Number(m[1]));
    });
  });
  const client = await runCli(['secure', 'connect', '--key', a.key, '--trust', trustA, `127.0.0.1:${port}`]);
  assert.equal(client.code, 1);
  assert.match(client.stderr, /handshake refused: ERR_HS_UNTRUSTED/);
  // The listener's refusal reaches its metrics and its JSON log (issue 8: shared flags).
  await new Promise<void>((resolve) => {
    const check = () => {
      if (/handshake refused/.test(lerr)) resolve();
    };
    listener.stderr.on('data', check);
    check();
  });
  const metricsUrl = /metrics on (http:\/\/\S+\/metrics)/.exec(lerr)?.[1];
  assert.ok(metricsUrl, lerr);
  const metrics = await (await fetch(metricsUrl)).text();
  assert.match(metrics, /tollgate_secure_rejections_total\{reason="ERR_HS_(PEER_ALERT|CLOSED)"\} 1/);
  const logged = lerr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { service?: string; reason?: string });
  assert.ok(
    logged.some((l) => l.service === 'secure' && /^ERR_HS_/.test(l.reason ?? '')),
    lerr,
  );
  listener.kill('SIGTERM');
  await new Promise((r) => listener.on('close', r));
  clearTimeout(timer);
  assert.match(lerr, /ERR_HS_PEER_ALERT|ERR_HS_CLOSED/);
  rmSync(dir, { recursive: true, force: true });
});
