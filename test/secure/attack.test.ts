// Regression tests for the secure-channel attacks of issue 9 (findings 1 to 4; finding 5 is
// in test/cli/secure.test.ts), over real loopback sockets. 127.0.0.0/8 is all loopback on
// Linux, so 127.0.0.2 stands for an attacker's address and 127.0.0.1 for honest peers.
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { test } from 'node:test';
import { RedisStore } from '../../src/admission/redis-store.js';
import {
  HandshakeError,
  type PowEngine,
  SecureContext,
  type SecureOptions,
  secureAccept,
  secureConnect,
} from '../../src/secure/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { HEADER_BYTES, MessageType } from '../../src/wire/handshake.js';
import { startRedis } from '../helpers/redis.js';
import { peers } from './helpers.js';

const LIMIT = { timeout: 60_000 };

interface Responder {
  readonly port: number;
  readonly outcomes: string[];
  readonly events: EventEmitter;
  /** The bytes each accepted connection sent, in accept order. */
  readonly received: Buffer[][];
  readonly sockets: Socket[];
  /** Resolves once `n` connections were accepted. */
  accepted(n: number): Promise<void>;
  /** Resolves once `predicate` holds over the outcomes (bounded by the test's timeout). */
  until(predicate: (outcomes: string[]) => boolean): Promise<void>;
  close(): Promise<void>;
}

/** A TCP responder running secureAccept on every connection with `options(socket)`. */
async function responder(options: (socket: Socket) => SecureOptions): Promise<Responder> {
  const outcomes: string[] = [];
  const events = new EventEmitter();
  const received: Buffer[][] = [];
  const sockets: Socket[] = [];
  const record = (outcome: string) => {
    outcomes.push(outcome);
    events.emit('outcome');
  };
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    events.emit('accepted');
    const chunks: Buffer[] = [];
    received.push(chunks);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {});
    secureAccept(socket, options(socket)).then(
      (channel) => {
        record('ok');
        channel.on('error', () => {});
        channel.end();
      },
      (error: unknown) => record(error instanceof HandshakeError ? error.code : `thrown: ${String(error)}`),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    port,
    outcomes,
    events,
    received,
    sockets,
    accepted: (n) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (sockets.length < n) return;
          events.off('accepted', check);
          resolve();
        };
        events.on('accepted', check);
        check();
      }),
    until: (predicate) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (!predicate(outcomes)) return;
          events.off('outcome', check);
          resolve();
        };
        events.on('outcome', check);
        check();
      }),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function dial(port: number, localAddress: string): Promise<Socket> {
  const socket = tcpConnect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => {});
  await once(socket, 'connect');
  return socket;
}

/** An honest handshake from `localAddress`; resolves with 'ok' or the refusal code. */
async function honest(port: number, options: SecureOptions, localAddress = '127.0.0.1'): Promise<string> {
  const socket = await dial(port, localAddress);
  try {
    const channel = await secureConnect(socket, options);
    channel.destroy();
    return 'ok';
  } catch (error) {
    return error instanceof HandshakeError
      ? `${error.code}${error.detail ? `:${error.detail}` : ''}`
      : String(error);
  } finally {
    socket.destroy();
  }
}

const count = (outcomes: string[], what: string) => outcomes.filter((o) => o === what).length;

test(
  'finding 1: 256 idle connections from one address do not stop honest handshakes from another',
  LIMIT,
  async () => {
    const { client, server } = peers();
    // Only the per-address cap is under test: the HELLO deadline is pushed out of the way.
    const context = new SecureContext({
      ...server,
      limits: { helloTimeoutMs: 60_000, handshakeTimeoutMs: 60_000 },
    });
    const r = await responder(() => ({ ...server, context }));
    const idle: Socket[] = [];
    for (let i = 0; i < 256; i++) idle.push(await dial(r.port, '127.0.0.2'));
    const capped = 256 - context.limits.maxPendingPerIdentity;
    await r.until((o) => count(o, 'ERR_HS_BUSY') >= capped);
    assert.equal(context.pending, context.limits.maxPendingPerIdentity);
    const results: string[] = [];
    for (let i = 0; i < 8; i++) results.push(await honest(r.port, client));
    assert.deepEqual(results, Array(8).fill('ok'));
    assert.equal(count(r.outcomes, 'ERR_HS_BUSY'), capped);
    for (const s of idle) s.destroy();
    await r.until((o) => o.length === 256 + 8);
    assert.equal(context.pending, 0);
    await r.close();
  },
);

test(
  'finding 1: at the global cap the oldest handshake of the heaviest address is evicted, never the newcomer',
  LIMIT,
  async () => {
    const { client, server } = peers();
    const context = new SecureContext({
      ...server,
      limits: {
        maxPendingHandshakes: 32,
        maxPendingPerIdentity: 8,
        helloTimeoutMs: 60_000,
        handshakeTimeoutMs: 60_000,
      },
    });
    const r = await responder(() => ({ ...server, context }));
    const fill: Array<[string, number]> = [
      ['127.0.0.2', 8],
      ['127.0.0.3', 8],
      ['127.0.0.4', 8],
      ['127.0.0.5', 7],
      ['127.0.0.6', 1],
    ];
    const idle: Array<{ from: string; socket: Socket }> = [];
    // Each reads what it is sent, so that the responder's close reaches 'close'.
    for (const [from, n] of fill)
      for (let i = 0; i < n; i++) idle.push({ from, socket: (await dial(r.port, from)).resume() });
    // Every connection is accepted by the server before the honest one arrives.
    await r.accepted(32);
    assert.equal(context.pending, 32);
    const closed = idle.map(({ socket }) => once(socket, 'close').then(() => socket));
    const evicted = Promise.race(closed);
    assert.equal(await honest(r.port, client), 'ok');
    const first = await evicted;
    assert.equal(
      idle.find((i) => i.socket === first)?.from,
      '127.0.0.2',
      'the heaviest address loses its oldest',
    );
    assert.equal(idle[0]!.socket, first);
    assert.equal(count(r.outcomes, 'ERR_HS_EVICTED'), 1);
    assert.equal(count(r.outcomes, 'ERR_HS_BUSY'), 0);
    for (const { socket } of idle) socket.destroy();
    await r.until((o) => o.length === 33);
    await r.close();
  },
);

test(
  'finding 1: a connection that sends no HELLO within helloTimeoutMs is closed (ERR_HS_TIMEOUT)',
  LIMIT,
  async () => {
    const { client, server } = peers();
    const context = new SecureContext({
      ...server,
      limits: { helloTimeoutMs: 200, handshakeTimeoutMs: 60_000 },
    });
    const r = await responder(() => ({ ...server, context }));
    const idle = await dial(r.port, '127.0.0.2');
    const alert: Buffer[] = [];
    idle.on('data', (c: Buffer) => alert.push(c));
    await once(idle, 'close');
    assert.deepEqual(r.outcomes, ['ERR_HS_TIMEOUT']);
    assert.match(Buffer.concat(alert).toString('latin1'), /ERR_HS_TIMEOUT$/);
    // A HELLO that arrives in time switches the slot to the whole-handshake deadline.
    assert.equal(await honest(r.port, client), 'ok');
    await r.close();
  },
);

/** A server engine whose scrypt verification waits until released (a busy verify pool). */
function stalledEngine(): { engine: PowEngine; called: Promise<void>; release: () => void } {
  let release = () => {};
  let onCall = () => {};
  const called = new Promise<void>((r) => {
    onCall = r;
  });
  const engine: PowEngine = {
    solve: async () => 0n,
    verify: () => {
      onCall();
      return new Promise<boolean>((r) => {
        release = () => r(false);
      });
    },
  };
  return { engine, called, release: () => release() };
}

test(
  'finding 2: bytes sent while a HELLO waits for the verify pool are bounded (ERR_HS_OVERRUN)',
  LIMIT,
  async () => {
    const pow = { kind: 'scrypt', bits: 1, N: 16, r: 1, p: 1 } as const;
    const { client, server } = peers({ pow });
    const stalled = stalledEngine();
    const context = new SecureContext({ ...server, powEngine: stalled.engine });
    const r = await responder(() => ({ ...server, context }));
    // A valid HELLO (the attacker is, or replays, a trusted peer), then a flood.
    const socket = await dial(r.port, '127.0.0.2');
    const handshake = secureConnect(socket, client).catch(() => undefined);
    await stalled.called;
    const flood = new Uint8Array(32 * 1024 * 1024);
    const written = new Promise<string>((resolve) =>
      socket.write(flood, (e) => resolve(e ? 'reset' : 'all read')),
    );
    const refused = r.until((o) => o.length === 1).then(() => 'refused');
    assert.equal(await Promise.race([refused, written]), 'refused');
    assert.deepEqual(r.outcomes, ['ERR_HS_OVERRUN']);
    const read = r.sockets[0]!.bytesRead;
    assert.ok(read < 1024 * 1024, `the responder read ${read} bytes of a 32 MiB flood`);
    stalled.release();
    socket.destroy();
    await handshake;
    await r.close();
  },
);

/** The first HELLO an accepted connection sent, from the bytes the responder saw. */
function helloOf(chunks: Buffer[]): Uint8Array {
  const all = Buffer.concat(chunks);
  assert.equal(all[1], MessageType.hello);
  return new Uint8Array(all.subarray(0, HEADER_BYTES + all.readUInt16BE(2)));
}

/** Sends raw bytes and resolves with the type of the first message that comes back (and its text). */
async function firstAnswer(port: number, bytes: Uint8Array): Promise<{ type: number; text: string }> {
  const socket = await dial(port, '127.0.0.1');
  socket.write(bytes);
  const [chunk] = (await once(socket, 'data')) as [Buffer];
  socket.destroy();
  return { type: chunk[1]!, text: chunk.subarray(HEADER_BYTES).toString('latin1') };
}

test(
  'finding 4: a HELLO captured before a restart is refused by the restarted responder (ERR_HS_STALE)',
  LIMIT,
  async () => {
    const clock = new ManualClock(1_800_000_000_000);
    const { client, server } = peers({ clock });
    let context = new SecureContext(server);
    const r = await responder(() => ({ ...server, context }));
    assert.equal(await honest(r.port, client), 'ok');
    const hello = helloOf(r.received[0]!);
    // The restart: all in-memory state is gone; 2 s later, well within t_max.
    clock.advance(2000);
    context = new SecureContext(server);
    const answer = await firstAnswer(r.port, hello);
    assert.equal(answer.type, MessageType.alert, 'no REPLY to a replayed HELLO');
    assert.match(answer.text, /ERR_HS_STALE$/);
    // Honest peers, whose HELLO is newer than the restart, are served.
    assert.equal(await honest(r.port, client), 'ok');
    await r.close();
  },
);

test(
  'finding 4: two responders sharing keys and one Redis refuse a HELLO replayed across them',
  LIMIT,
  async (t) => {
    let redis: Awaited<ReturnType<typeof startRedis>>;
    try {
      redis = await startRedis();
    } catch (error) {
      throw new Error(
        `redis-server is needed for this test (apt-get install redis-server): ${String(error)}`,
      );
    }
    t.after(() => redis.stop());
    const { client, server } = peers();
    const stores = [new RedisStore(redis.url), new RedisStore(redis.url)];
    t.after(() => Promise.all(stores.map((s) => s.close())));
    // Behind one name: each responder accepts HELLOs addressed to either.
    const ports: number[] = [];
    const contexts = stores.map((replayStore) => new SecureContext({ ...server, replayStore }));
    const both = () => ports.map((port) => ({ host: '127.0.0.1', port }));
    const a = await responder(() => ({ ...server, context: contexts[0]!, acceptAddresses: both() }));
    const b = await responder(() => ({ ...server, context: contexts[1]!, acceptAddresses: both() }));
    ports.push(a.port, b.port);
    assert.equal(await honest(a.port, client), 'ok');
    const hello = helloOf(a.received[0]!);
    const answer = await firstAnswer(b.port, hello);
    assert.equal(answer.type, MessageType.alert, 'no REPLY from the second responder');
    assert.match(answer.text, /ERR_HS_REPLAY$/);
    await b.until((o) => o.length === 1);
    assert.deepEqual(b.outcomes, ['ERR_HS_REPLAY']);
    // Fresh handshakes go through either responder.
    assert.equal(await honest(b.port, client), 'ok');
    await a.close();
    await b.close();
  },
);

test(
  'finding 4: an unreachable replay store refuses the handshake (fail closed), it does not throw',
  LIMIT,
  async () => {
    const { client, server } = peers();
    const down = new RedisStore('redis://127.0.0.1:1', { commandTimeoutMs: 200 });
    const context = new SecureContext({ ...server, replayStore: down });
    const r = await responder(() => ({ ...server, context }));
    assert.match(await honest(r.port, client), /^ERR_HS_PEER_ALERT:ERR_HS_BUSY/);
    await r.until((o) => o.length === 1);
    assert.deepEqual(r.outcomes, ['ERR_HS_BUSY']);
    await down.close();
    await r.close();
  },
);
