import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { GossipApiClient } from '../../src/services/gossip/api-client.js';
import type { GossipNode } from '../../src/services/gossip/node.js';
import { encodeApi, type Notification } from '../../src/wire/gossip-api.js';
import { memoryNodes, until } from '../helpers/gossip-nodes.js';

let net: Awaited<ReturnType<typeof memoryNodes>>;
let node: GossipNode;
before(async () => {
  net = await memoryNodes(1);
  node = net.peers[0]!;
});
after(() => net.close());

const hex = (h: string) => Buffer.from(h.replace(/ /g, ''), 'hex');

async function subscriber(dataType: number) {
  const c = await GossipApiClient.connect(node.apiAddress!);
  const got: Notification[] = [];
  c.onNotification((n) => {
    got.push(n);
    c.validate(n.messageId, true);
  });
  c.notify(dataType);
  return { c, got };
}

async function closedWith(bytes: Buffer, code: string): Promise<void> {
  const before = node.counts()[code] ?? 0;
  const bystander = await subscriber(77);
  const c = await GossipApiClient.connect(node.apiAddress!);
  await c.raw(bytes);
  await c.closed;
  assert.equal((node.counts()[code] ?? 0) - before, 1, code);
  // "Nothing else is affected": another connection still works.
  const announcer = await GossipApiClient.connect(node.apiAddress!);
  announcer.announce(77, Buffer.from(`still here ${code} ${before}`));
  await until('bystander notified', () => bystander.got.length === 1);
  assert.ok(!bystander.c.socket.destroyed);
  await Promise.all([bystander.c.close(), announcer.close()]);
}

test('size below the header closes the connection', () =>
  closedWith(hex('0003 01f5'), 'ERR_GOSSIP_API_SHORT_SIZE'));
test('size 0 closes the connection', () => closedWith(hex('0000 0000'), 'ERR_GOSSIP_API_SHORT_SIZE'));
test('NOTIFY of 9 bytes closes the connection', () =>
  closedWith(hex('0009 01f5 0000 0539 00'), 'ERR_GOSSIP_API_BAD_SIZE'));
test('VALIDATION of 10 bytes closes the connection', () =>
  closedWith(hex('000a 01f7 0001 0001 0000'), 'ERR_GOSSIP_API_BAD_SIZE'));
test('ANNOUNCE of 6 bytes closes the connection', () =>
  closedWith(hex('0006 01f4 0400'), 'ERR_GOSSIP_API_BAD_SIZE'));
test('unknown type 504 closes the connection', () =>
  closedWith(hex('0008 01f8 0000 0539'), 'ERR_GOSSIP_API_UNKNOWN_TYPE'));
test('an NSE message (520) closes the connection', () =>
  closedWith(hex('0008 0208 0000 0539'), 'ERR_GOSSIP_API_UNKNOWN_TYPE'));
test('a client sending NOTIFICATION (502) is closed', () =>
  closedWith(hex('000c 01f6 0007 0539 6465 6164'), 'ERR_GOSSIP_API_WRONG_DIRECTION'));
test('a bad message after good ones in the same segment still closes', () =>
  closedWith(
    Buffer.concat([hex('0008 01f5 0000 0539'), hex('0008 01f6 0000 0539')]),
    'ERR_GOSSIP_API_WRONG_DIRECTION',
  ));

test('pipelined: NOTIFY and ANNOUNCE in one segment, and a VALIDATION for an unknown id is only counted', async () => {
  const sub = await subscriber(1337);
  const c = await GossipApiClient.connect(node.apiAddress!);
  const before = node.counts().ERR_GOSSIP_API_UNKNOWN_ID ?? 0;
  await c.raw(
    Buffer.concat([
      encodeApi({ type: 501, dataType: 1337 }),
      encodeApi({ type: 503, messageId: 4242, valid: true }),
      encodeApi({ type: 500, ttl: 4, dataType: 1337, data: Buffer.from('pipelined') }),
    ]),
  );
  await until('notified', () => sub.got.length === 1);
  assert.equal(Buffer.from(sub.got[0]!.data).toString(), 'pipelined');
  assert.equal((node.counts().ERR_GOSSIP_API_UNKNOWN_ID ?? 0) - before, 1);
  assert.ok(!c.socket.destroyed);
  await Promise.all([sub.c.close(), c.close()]);
});

test('one byte per TCP segment: the same messages arrive', async () => {
  const sub = await subscriber(1338);
  const c = await GossipApiClient.connect(node.apiAddress!);
  const bytes = Buffer.concat([
    encodeApi({ type: 501, dataType: 1338 }),
    encodeApi({ type: 500, ttl: 4, dataType: 1338, data: Buffer.from('deadbeef') }),
  ]);
  for (const b of bytes) {
    await c.raw(Uint8Array.of(b));
    await new Promise((r) => setTimeout(r, 2));
  }
  await until('notified', () => sub.got.length === 1);
  assert.equal(Buffer.from(sub.got[0]!.data).toString(), 'deadbeef');
  assert.equal(sub.got[0]!.dataType, 1338);
  await Promise.all([sub.c.close(), c.close()]);
});

test('closing an API connection drops its subscriptions', async () => {
  const sub = await subscriber(1400);
  await until('subscribed', () => node.view().subscribedTypes.includes(1400));
  await sub.c.close();
  await until('unsubscribed', () => !node.view().subscribedTypes.includes(1400));
});
