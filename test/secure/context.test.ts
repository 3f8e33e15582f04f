import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memoryPair, SecureContext, secureAccept, TrustStore } from '../../src/secure/index.js';
import { peers } from './helpers.js';

// Issue 8, item 5: the context is shared only when the caller passes it; the options object's
// identity no longer decides anything.

test('a shared context caps connections whose options are built per call', async () => {
  const { server } = peers({ limits: { maxPendingHandshakes: 2 } });
  const context = new SecureContext(server);
  const pairs = [memoryPair(), memoryPair(), memoryPair()];
  // A fresh options object per connection, as a listener adding per-connection fields builds.
  const results = pairs.map(([, y]) =>
    secureAccept(y, { context, acceptAddresses: [{ host: '127.0.0.1', port: 7000 }] }).catch(
      (e: { code: string }) => e.code,
    ),
  );
  assert.equal(context.pending, 2);
  assert.equal(await results[2], 'ERR_HS_BUSY');
  for (const [x] of pairs) x.destroy();
  assert.deepEqual(await Promise.all(results), ['ERR_HS_CLOSED', 'ERR_HS_CLOSED', 'ERR_HS_BUSY']);
});

test('reusing one options object without a context shares nothing (a context per call)', async () => {
  const { server } = peers({ limits: { maxPendingHandshakes: 1 } });
  // Before, the options object's identity found a shared context and the second was ERR_HS_BUSY;
  // now a call without a context has its own, as documented.
  const pairs = [memoryPair(), memoryPair()];
  const results = pairs.map(([, y]) => secureAccept(y, server).catch((e: { code: string }) => e.code));
  for (const [x] of pairs) x.destroy();
  assert.deepEqual(await Promise.all(results), ['ERR_HS_CLOSED', 'ERR_HS_CLOSED']);
});

test('key and trust are given once: with a context, a different one is a caller mistake', async () => {
  const { server } = peers();
  const context = new SecureContext(server);
  const [, y] = memoryPair();
  await assert.rejects(
    secureAccept(y, { context, trust: TrustStore.fromKeys([]) }),
    (e: Error & { argument?: string }) => /options\.trust/.test(e.message),
  );
  // The very values the context was made from may be repeated.
  const [x2, y2] = memoryPair();
  const accepting = secureAccept(y2, { ...server, context }).catch((e: { code: string }) => e.code);
  x2.destroy();
  assert.equal(await accepting, 'ERR_HS_CLOSED');
});
