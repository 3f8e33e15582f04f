import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { test } from 'node:test';
import {
  HandshakeError,
  memoryPair,
  SecureContext,
  secureAccept,
  secureConnect,
  TrustStore,
} from '../../src/secure/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { subscribe } from '../../src/util/observe.js';
import { captureHello, connectPair, ed25519Key, peers, readAll, refusal, rsaKey } from './helpers.js';

const text = (s: string) => new TextEncoder().encode(s);

test('Ed25519 peers complete the handshake and see each other’s identity', async () => {
  const { client, server, a, b } = peers();
  const [c, s] = await connectPair(client, server);
  assert.equal(c.peer.identity, b.identity);
  assert.equal(s.peer.identity, a.identity);
  assert.deepEqual(c.transcript, s.transcript);
  c.end(text('ping'));
  s.end(text('pong'));
  const [fromC, fromS] = await Promise.all([readAll(s), readAll(c)]);
  assert.deepEqual(
    fromC.map((m) => Buffer.from(m).toString()),
    ['ping'],
  );
  assert.deepEqual(
    fromS.map((m) => Buffer.from(m).toString()),
    ['pong'],
  );
});

test('RSA-PSS/SHA3-256 and Ed25519 identities can talk to each other', async () => {
  const { client, server, a, b } = peers({}, rsaKey(), ed25519Key());
  const [c, s] = await connectPair(client, server);
  assert.equal(c.peer.identity, b.identity);
  assert.equal(s.peer.identity, a.identity);
  c.end(text('x'));
  s.end();
  assert.equal((await readAll(s)).length, 1);
  await readAll(c);
});

test('a handshake over real loopback TCP sockets', async () => {
  const { client, server, a } = peers();
  const srv = createServer();
  const accepted = new Promise<string>((resolve, reject) => {
    srv.on('connection', (sock: Socket) => {
      secureAccept(sock, server).then((ch) => {
        // An echo server; `for await` would destroy the channel at its end, before our close frame.
        ch.on('data', (m: Uint8Array) => ch.write(m));
        ch.on('end', () => {
          ch.end();
          resolve(ch.peer.identity);
        });
      }, reject);
    });
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as { port: number };
  const sock = tcpConnect(port, '127.0.0.1');
  await once(sock, 'connect');
  const ch = await secureConnect(sock, client);
  const sizes = [0, 1, 1000, 64 * 1024];
  for (const n of sizes) ch.write(new Uint8Array(n).fill(n & 0xff));
  ch.end();
  const echoed = await readAll(ch);
  assert.deepEqual(
    echoed.map((m) => m.length),
    sizes,
  );
  assert.equal(await accepted, a.identity);
  srv.close();
});

// ---- one negative test per check, in the order the responder runs them ----

test('check 1: a handshake of another version is refused (ERR_HS_VERSION)', async () => {
  const { client, server } = peers();
  const hello = await captureHello(client);
  hello[0] = 2;
  assert.deepEqual(await refusal(server, hello), { code: 'ERR_HS_VERSION', alert: 'ERR_HS_VERSION' });
});

test('check 1: an oversized handshake header is refused before its body arrives (ERR_HS_TOO_LARGE)', async () => {
  const { server } = peers();
  assert.equal((await refusal(server, Uint8Array.of(1, 1, 0xff, 0xff))).code, 'ERR_HS_TOO_LARGE');
});

test('check 2: an old timestamp is refused (ERR_HS_EXPIRED)', async () => {
  const clock = new ManualClock(1_700_000_000_000);
  const { client, server } = peers();
  const hello = await captureHello({ ...client, clock: new ManualClock(clock.now() - 61_000) });
  assert.equal((await refusal({ ...server, clock }, hello)).code, 'ERR_HS_EXPIRED');
  // Exactly t_max old is still accepted by this check (|now - T| <= t_max).
  const ok = await captureHello({ ...client, clock: new ManualClock(clock.now() - 60_000) });
  assert.notEqual(
    (await refusal({ ...server, clock, trust: TrustStore.fromKeys([]) }, ok)).code,
    'ERR_HS_EXPIRED',
  );
});

test('check 2: a future timestamp is refused (ERR_HS_FUTURE)', async () => {
  const clock = new ManualClock(1_700_000_000_000);
  const { client, server } = peers();
  const hello = await captureHello({ ...client, clock: new ManualClock(clock.now() + 61_000) });
  assert.equal((await refusal({ ...server, clock }, hello)).code, 'ERR_HS_FUTURE');
});

test('check 3: a HELLO for another address is refused (ERR_HS_WRONG_ADDRESS)', async () => {
  const { client, server } = peers();
  const hello = await captureHello({ ...client, remoteAddress: { host: '127.0.0.1', port: 7001 } });
  assert.equal((await refusal(server, hello)).code, 'ERR_HS_WRONG_ADDRESS');
  const v6 = await captureHello({ ...client, remoteAddress: { host: '::1', port: 7000 } });
  assert.equal((await refusal(server, v6)).code, 'ERR_HS_WRONG_ADDRESS');
});

test('check 3: the initiator refuses a REPLY naming another client address', async () => {
  const { client, server } = peers();
  const [x, y] = memoryPair();
  const [c, s] = await Promise.allSettled([
    secureConnect(x, client),
    secureAccept(y, { ...server, remoteAddress: { host: '127.0.0.1', port: 40001 } }),
  ]);
  assert.equal(c.status, 'rejected');
  assert.equal((c.reason as HandshakeError).code, 'ERR_HS_WRONG_ADDRESS');
  assert.equal(s.status, 'rejected');
  assert.equal((s.reason as HandshakeError).code, 'ERR_HS_PEER_ALERT');
});

test('check 4: an untrusted key is refused (ERR_HS_UNTRUSTED), and the initiator learns why', async () => {
  const { client, server, b } = peers();
  const stranger = TrustStore.fromKeys([b]);
  const [x, y] = memoryPair();
  const [c, s] = await Promise.allSettled([
    secureConnect(x, client),
    secureAccept(y, { ...server, trust: stranger }),
  ]);
  assert.equal((s as PromiseRejectedResult).reason.code, 'ERR_HS_UNTRUSTED');
  const err = (c as PromiseRejectedResult).reason as HandshakeError;
  assert.equal(err.code, 'ERR_HS_PEER_ALERT');
  assert.equal(err.detail, 'ERR_HS_UNTRUSTED');
});

test('check 4: the initiator refuses an untrusted responder and a trusted but unexpected one', async () => {
  const { client, server } = peers();
  const [x, y] = memoryPair();
  const [c] = await Promise.allSettled([
    secureConnect(x, { ...client, trust: TrustStore.fromKeys([]) }),
    secureAccept(y, server),
  ]);
  assert.equal((c as PromiseRejectedResult).reason.code, 'ERR_HS_UNTRUSTED');
  const [x2, y2] = memoryPair();
  const [c2] = await Promise.allSettled([
    secureConnect(x2, { ...client, expectIdentity: '00'.repeat(32) }),
    secureAccept(y2, server),
  ]);
  assert.equal((c2 as PromiseRejectedResult).reason.code, 'ERR_HS_WRONG_PEER');
});

test('check 5: a replayed HELLO is refused within t_max (ERR_HS_REPLAY)', async () => {
  const { client, server } = peers();
  const context = new SecureContext(server);
  const [x, y] = memoryPair();
  const sent: Buffer[] = [];
  const write = x.write.bind(x);
  x.write = ((chunk: Buffer, ...rest: never[]) => {
    sent.push(Buffer.from(chunk));
    return write(chunk, ...rest);
  }) as typeof x.write;
  const [c, s] = await Promise.all([secureConnect(x, client), secureAccept(y, { ...server, context })]);
  c.destroy();
  s.destroy();
  const hello = new Uint8Array(sent[0]!);
  assert.equal((await refusal({ ...server, context }, hello)).code, 'ERR_HS_REPLAY');
});

test('check 5: a peer whose timestamp goes back is refused (ERR_HS_TIME_REGRESSED)', async () => {
  const clock = new ManualClock(1_700_000_000_000 - 10_000);
  const { client, server } = peers({ clock });
  // Started before both HELLOs, so that neither is refused as older than the responder.
  const context = new SecureContext(server);
  clock.advance(10_000);
  const older = await captureHello({ ...client, clock: new ManualClock(clock.now() - 5000) });
  await connectPair(client, { ...server, context }).then(([c, s]) => {
    c.destroy();
    s.destroy();
  });
  assert.equal((await refusal({ ...server, context }, older)).code, 'ERR_HS_TIME_REGRESSED');
});

test('check 7: a HELLO with a bad signature is refused (ERR_HS_BAD_SIGNATURE)', async () => {
  const { client, server } = peers();
  const hello = await captureHello(client);
  hello[hello.length - 1]! ^= 1;
  assert.equal((await refusal(server, hello)).code, 'ERR_HS_BAD_SIGNATURE');
  // The same signature moved onto other fields (a changed nonce) fails too.
  const other = await captureHello(client);
  other[60]! ^= 0x80;
  assert.equal((await refusal(server, other)).code, 'ERR_HS_BAD_SIGNATURE');
});

test('a failed check does not burn the nonce: the genuine HELLO is accepted afterwards', async () => {
  const { client, server } = peers();
  const context = new SecureContext(server);
  const hello = await captureHello(client);
  const forged = Uint8Array.from(hello);
  forged[forged.length - 1]! ^= 1;
  assert.equal((await refusal({ ...server, context }, forged)).code, 'ERR_HS_BAD_SIGNATURE');
  // The real one now gets past the replay check (and fails only at FINISH, which it cannot send).
  const [x, y] = memoryPair();
  const accepting = secureAccept(y, { ...server, context });
  const reply = once(x, 'data');
  x.write(hello);
  const [bytes] = (await reply) as [Buffer];
  assert.equal(bytes[1], 2, 'a REPLY came back');
  x.destroy();
  await assert.rejects(accepting, { code: 'ERR_HS_CLOSED' });
});

test('a handshake that does not finish in time is closed (ERR_HS_TIMEOUT)', async () => {
  const { server } = peers({ limits: { handshakeTimeoutMs: 30 } });
  const [x, y] = memoryPair();
  await assert.rejects(
    secureAccept(y, server),
    (e: unknown) => e instanceof HandshakeError && e.code === 'ERR_HS_TIMEOUT',
  );
  x.destroy();
});

test('a wrong message type during the handshake is refused (ERR_HS_UNEXPECTED)', async () => {
  const { server } = peers();
  assert.equal((await refusal(server, Uint8Array.of(1, 3, 0, 0))).code, 'ERR_HS_UNEXPECTED');
});

test('a connection closed in the middle of a HELLO ends with ERR_HS_CLOSED', async () => {
  const { client, server } = peers();
  const hello = await captureHello(client);
  const [x, y] = memoryPair();
  const accepting = secureAccept(y, server);
  x.end(hello.subarray(0, 50));
  await assert.rejects(accepting, { code: 'ERR_HS_CLOSED' });
});

test('every refusal is published on the observability channel with its reason code', async () => {
  const { client, server } = peers();
  const seen: string[] = [];
  const unsubscribe = subscribe((m) => {
    if (m.kind === 'count' && m.service === 'secure' && m.reason !== undefined)
      seen.push(`${m.event}:${m.reason}`);
  });
  const hello = await captureHello(client);
  hello[0] = 9;
  await refusal(server, hello);
  unsubscribe();
  // The channel is process-wide: other tests' handshakes may publish in between.
  assert.equal(seen.filter((e) => e === 'rejections:ERR_HS_VERSION').length, 1, seen.join());
});
