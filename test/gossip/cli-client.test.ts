import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { memoryNodes, neighbours, until } from '../helpers/gossip-nodes.js';

test('gossip-client: notify prints and validates what announce sends through two peers', async () => {
  const net = await memoryNodes(2);
  try {
    await until('linked', () => net.peers.every((p) => neighbours(p) >= 1));
    const a = net.peers[0]!.apiAddress!;
    const b = net.peers[1]!.apiAddress!;
    const notify = runCli([
      'gossip-client',
      '--api',
      `127.0.0.1:${b.port}`,
      'notify',
      '1337',
      '--count',
      '1',
    ]);
    await until('subscribed', () => net.peers[1]!.view().subscribedTypes.includes(1337), 20_000);
    const announce = await runCli([
      'gossip-client',
      '--api',
      `127.0.0.1:${a.port}`,
      'announce',
      '1337',
      'deadbeef',
      '--ttl',
      '4',
    ]);
    assert.equal(announce.code, 0, announce.stderr);
    assert.match(announce.stdout, /announced 8 bytes of type 1337 \(ttl 4\)/);
    const result = await notify;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /notification id=\d+ type=1337 data="deadbeef"/);
    await until('validated', () => net.peers[1]!.counts().gossip_validated === 1);
  } finally {
    await net.close();
  }
});

test('gossip-client: bad arguments name the argument', async () => {
  const r = await runCli(['gossip-client', '--api', '127.0.0.1:1', 'notify', '70000']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /TYPE: expected an integer in 0\.\.65535/);
  const noApi = await runCli(['gossip-client', 'notify', '1']);
  assert.match(noApi.stderr, /--api: required/);
  const unreachable = await runCli(['gossip-client', '--api', '127.0.0.1:1', 'notify', '1']);
  assert.match(unreachable.stderr, /ERR_GOSSIP_CLIENT/);
});
