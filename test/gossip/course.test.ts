import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { startPeer } from '../helpers/gossip-procs.js';
import { CliProcess } from '../helpers/procs.js';

// Issue 10 item 6: the course's manual test with nothing but the spec page's example INI
// (hostkey, [gossip] cache_size, degree, bootstrapper, p2p_address, api_address; [onion]):
// no trusted keys, default PoW (24 bits), a bootstrapper and three peers on API ports 7001,
// 7003, 7005 (or free ports where those are taken), two notify clients, one announce; then
// the same announce again, and both are notified again.

function specIni(dir: string, name: string, bootstrapper: string, p2p: string, api: string): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = join(dir, `${name}.pem`);
  writeFileSync(key, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
  const ini = join(dir, `${name}.ini`);
  writeFileSync(
    ini,
    `hostkey = ${key}\n\n[gossip]\ncache_size = 50\ndegree = 30\nbootstrapper = ${bootstrapper}\np2p_address = ${p2p}\napi_address = ${api}\n\n[onion]\nhops = 2\n`,
  );
  return ini;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port }, () => server.close(() => resolve(true)));
  });
}

test('the course manual test with the spec example INI only: notified, and notified again on a repeat', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-course-'));
  const procs: CliProcess[] = [];
  try {
    // The bootstrapper's own spec-shaped INI: it listens on p2p_address (port 0, read back).
    const boot = new CliProcess([
      'bootstrap',
      '--config',
      specIni(dir, 'boot', '127.0.0.1:6001', '127.0.0.1:0', '127.0.0.1:0'),
    ]);
    procs.push(boot);
    const bootAt = (await boot.waitFor(/listening on (\S+)/, 60_000))[1]!;
    assert.match(boot.stdout, /membership open/);
    const peers = [];
    for (const [i, wanted] of [7001, 7003, 7005].entries()) {
      const api = `127.0.0.1:${(await portFree(wanted)) ? wanted : 0}`;
      peers.push(await startPeer(specIni(dir, `peer${i + 1}`, bootAt, '127.0.0.1:0', api)));
    }
    procs.push(...peers.map((p) => p.proc));
    // degree 30 on three peers: each links to both others.
    await Promise.all(peers.map((p) => p.proc.waitFor(/neighbours 2/, 120_000)));
    const [a, b, c] = peers.map((p) => p.apiPort) as [number, number, number];
    const notify = [a, b].map(
      (port) =>
        new CliProcess(['gossip-client', '--api', `127.0.0.1:${port}`, 'notify', '1337', '--count', '2']),
    );
    procs.push(...notify);
    await Promise.all(notify.map((n) => n.waitFor(/subscribed to type 1337/)));
    const announce = () =>
      runCli(['gossip-client', '--api', `127.0.0.1:${c}`, 'announce', '1337', 'deadbeef', '--ttl', '4']);
    assert.equal((await announce()).code, 0);
    await Promise.all(notify.map((n) => n.waitFor(/notification id=\d+ type=1337 data="deadbeef"/, 30_000)));
    assert.equal((await announce()).code, 0);
    // Bounded: a lost notification fails here instead of holding the file until its timeout.
    await Promise.all(
      notify.map((n) => n.waitFor(/(?:notification id=\d+ type=1337 data="deadbeef"[\s\S]*){2}/, 60_000)),
    );
    for (const n of notify) {
      assert.equal(await n.exited, 0, 'the second notification came: --count 2 reached');
      assert.equal(n.stdout.match(/notification id=\d+ type=1337 data="deadbeef"/g)?.length, 2);
    }
    for (const p of [...peers.map((x) => x.proc), boot]) assert.equal(await p.stop(), 0, p.stderr);
  } finally {
    await Promise.all(procs.map((p) => p.stop(2_000)));
    rmSync(dir, { recursive: true, force: true });
  }
});
