import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeTestbed } from '../../src/services/gossip/testbed.js';
import { runCli } from '../helpers/cli.js';
import { startPeer } from '../helpers/gossip-procs.js';
import { CliProcess } from '../helpers/procs.js';

// The course's manual test with real processes: a bootstrapper and three peers from INI files,
// API ports 7001/7003/7005, two notify clients, one announce client, both notified.
test('loopback: a closed network of 3 peers + bootstrapper as processes; two notify clients, one announce, both notified', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-gossip-'));
  const bed = await writeTestbed(dir, {
    peers: 3,
    apiPorts: [7001, 7003, 7005],
    powBits: 16,
    degree: 4,
    closed: true,
  });
  for (const r of bed.replaced) console.log(`API port ${r.wanted} is taken; using a free one instead`);
  const procs: CliProcess[] = [];
  try {
    const boot = new CliProcess(['bootstrap', '--config', bed.bootstrapIni]);
    procs.push(boot);
    const [, at] = await boot.waitFor(/bootstrap \w+ listening on (\S+)/);
    const started = await Promise.all(bed.writePeers(at!).map((ini) => startPeer(ini)));
    const peers = started.map((p) => p.proc);
    procs.push(...peers);
    // Three peers of degree 4: each ends up linked to both others.
    await Promise.all(peers.map((p) => p.waitFor(/neighbours 2/, 90_000)));
    const [a, b, c] = started.map((p) => p.apiPort) as [number, number, number];
    const notify = [a, b].map(
      (port) =>
        new CliProcess(['gossip-client', '--api', `127.0.0.1:${port}`, 'notify', '1337', '--count', '1']),
    );
    procs.push(...notify);
    await Promise.all(notify.map((n) => n.waitFor(/subscribed to type 1337/)));
    const announce = await runCli([
      'gossip-client',
      '--api',
      `127.0.0.1:${c}`,
      'announce',
      '1337',
      'deadbeef',
      '--ttl',
      '4',
    ]);
    assert.equal(announce.code, 0, announce.stderr);
    for (const n of notify) {
      await n.waitFor(/notification id=\d+ type=1337 data="deadbeef"/, 30_000);
      assert.equal(await n.exited, 0);
    }
    // SIGTERM closes every peer cleanly.
    for (const p of [...peers, boot]) {
      assert.equal(await p.stop(), 0, p.stderr);
      assert.match(p.stdout, /stopped/);
    }
  } finally {
    await Promise.all(procs.map((p) => p.stop(2_000)));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('gossip: a missing hostkey names the keygen command; an unknown key is a warning', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-gossip-'));
  try {
    const bed = await writeTestbed(dir, { peers: 1, powBits: 8, extra: 'fanout = 3' });
    rmSync(join(dir, 'peer1.pem'));
    // Discard address: the run stops at the missing hostkey before any dial.
    const r = await runCli(['gossip', '--config', bed.writePeers('127.0.0.1:9')[0]!]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /peer1\.ini: hostkey: .*peer1\.pem does not exist\. Create it with `tollgate keygen/,
    );
    const boot = new CliProcess(['bootstrap', '--config', bed.bootstrapIni]);
    try {
      await boot.waitFor(/listening on/);
      assert.match(boot.stderr, /warning: .*bootstrap\.ini:\d+: unknown key "fanout"/);
    } finally {
      assert.equal(await boot.stop(), 0);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('gossip: a busy listen port is a configuration error naming the key, exit 2, no stack (issue 8)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-gossip-'));
  // Held by the test itself: bound on port 0 and read back, so the port is certainly taken.
  const holder = createServer();
  await new Promise<void>((r) => holder.listen({ host: '127.0.0.1', port: 0 }, r));
  const port = (holder.address() as AddressInfo).port;
  try {
    const bed = await writeTestbed(dir, { peers: 1, powBits: 8 });
    const ini = bed.writePeers('127.0.0.1:9')[0]!;
    writeFileSync(
      ini,
      readFileSync(ini, 'utf8').replace(/api_address = .*/, `api_address = 127.0.0.1:${port}`),
    );
    const r = await runCli(['gossip', '--config', ini]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `peer1\\.ini: api_address: cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use`,
      ),
    );
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
    const boot = bed.bootstrapIni;
    writeFileSync(
      boot,
      // A bootstrapper without p2p_address listens on its bootstrapper line; the error names that key.
      readFileSync(boot, 'utf8').replace(/p2p_address = .*/, `bootstrapper = 127.0.0.1:${port}`),
    );
    const b = await runCli(['bootstrap', '--config', boot]);
    assert.equal(b.code, 2, b.stderr);
    assert.match(b.stderr, /bootstrap\.ini: bootstrapper: cannot listen on .*already in use \(EADDRINUSE\)/);
  } finally {
    holder.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
