/**
 * The attacker process of the attack lab: one scenario against one service, from `sources`
 * (loopback addresses, used round-robin so per-address limits see several identities), in
 * `concurrency` parallel loops, until the parent says stop. Two kinds of attacker:
 *
 * - with a solver (`solver`): it does what an honest client does, as often as a hash power of
 *   `hashRate` attempts a second pays for (a HashMeter shared by all loops; the attempts made
 *   are reported, so a host with too few cores shows up as a lower accounted rate);
 * - without one: junk, idle connections, floods and difficulty inflation (issue 9's findings
 *   and the earlier six powtcp scenarios).
 *
 * Reports requests per second (a request = one message the server had to judge, or one
 * connection for connection-level attacks), requests served, and hash attempts over IPC.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { encodeEndpoint } from '../../src/admission/endpoint.js';
import { solveHashcash } from '../../src/pow/hashcash.js';
import { sealHello, startInitiator } from '../../src/protocol/secure/messages.js';
import {
  type HandshakePow,
  identityKey,
  parsePublicKey,
  SecureContext,
  secureConnect,
} from '../../src/secure/index.js';
import { resolveLimits } from '../../src/secure/limits.js';
import { defaultPowEngine } from '../../src/secure/pow-engine.js';
import { HashMeter, meteredEngine, solveHashcashMetered } from './hashpower.js';
import { closed, exchange, open, secureRequest, sleep } from './lib.js';

export type PowtcpScenario =
  | 'baseline'
  | 'solver'
  | 'invalid'
  | 'replay'
  | 'puzzle-flood'
  | 'slowloris'
  | 'oversized'
  | 'conn-cap'
  | 'inflate'
  | 'close-read';
export type SecureScenario = 'baseline' | 'solver' | 'idle' | 'buffer' | 'junk-hello';

export interface AttackerArgs {
  kind: 'powtcp' | 'secure' | 'handshake';
  scenario: string;
  port: number;
  sources: string[];
  concurrency: number;
  hashRate: number;
  pow?: HandshakePow;
  /** The attacker's own key (an insider, or a paying stranger in an open network). */
  key?: string;
  /** A trusted key the attacker names without owning it (junk HELLOs). */
  claimedPublic?: string;
  /**
   * powtcp `solver` against a server that checks no proof (no PoW): the attacker knows any
   * header that parses is served, so it skips `1:` and the solve, sends `3:` at once and loops
   * without pause: the no-PoW attacker at full strength, not one pacing itself like a payer.
   */
  priceFree?: boolean;
  serverPublic?: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as AttackerArgs;
const meter = new HashMeter(args.hashRate);
let stopping = false;
let requests = 0;
let served = 0;
let errors = 0;
const perSecond: { t: number; requests: number; served: number }[] = [];
const started = Date.now();
let lastCount = 0;
let lastServed = 0;
const tick = setInterval(() => {
  perSecond.push({
    t: (Date.now() - started) / 1000,
    requests: requests - lastCount,
    served: served - lastServed,
  });
  lastCount = requests;
  lastServed = served;
}, 1000);
let nextSource = 0;
const source = () => args.sources[nextSource++ % args.sources.length]!;
const held = new Set<Socket>();

async function loop(body: () => Promise<void>): Promise<void> {
  while (!stopping) {
    try {
      await body();
    } catch {
      errors++;
      // A refused connect (e.g. the server is at its cap) is retried after a breath, so the
      // loop measures the server, not a spin on ECONNREFUSED.
      await sleep(5);
    }
  }
}

const loops = (n: number, body: () => Promise<void>) =>
  Promise.all(Array.from({ length: n }, () => loop(body)));

/** Holds one connection until the server closes it (or the attack stops). */
async function hold(s: Socket): Promise<void> {
  held.add(s);
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (stopping) s.destroy();
    }, 200);
    s.on('data', () => {});
    s.once('close', () => {
      clearInterval(check);
      held.delete(s);
      resolve();
    });
  });
}

// ---------------------------------------------------------------------------------------
// powtcp

async function puzzle(): Promise<string> {
  const s = await open(args.port, source());
  const reply = await exchange(s, '1:\n');
  s.destroy();
  if (reply === undefined || !reply.startsWith('2:')) throw new Error(`no puzzle: ${reply}`);
  return reply.slice(2);
}

/** `solver` with no price to pay: a parseable `3:` per connection, as fast as it is answered. */
function priceFreeSolver(): Promise<unknown> {
  const header = `1:1:20260101000000:127.0.0.1:1::${Buffer.from(randomBytes(4)).toString('base64')}:MA==`;
  return loops(args.concurrency, async () => {
    const s = await open(args.port, source());
    try {
      const quote = await exchange(s, `3:${header}\n`);
      requests++;
      if (quote?.startsWith('4:')) served++;
    } finally {
      s.destroy();
    }
  });
}

const powtcp: Record<PowtcpScenario, () => Promise<unknown>> = {
  baseline: async () => {
    while (!stopping) await sleep(100);
  },
  // Real quotes, solved with the meter's hash power: what PoW prices.
  solver: () =>
    args.priceFree === true
      ? priceFreeSolver()
      : loops(args.concurrency, async () => {
          const s = await open(args.port, source());
          try {
            const reply = await exchange(s, '1:\n');
            requests++;
            if (reply === undefined || !reply.startsWith('2:')) {
              await sleep(20);
              return;
            }
            const solved = await solveHashcashMetered(reply.slice(2), meter);
            if (solved === undefined || stopping) return;
            const quote = await exchange(s, `3:${solved}\n`, 10_000);
            requests++;
            if (quote?.startsWith('4:')) served++;
          } finally {
            s.destroy();
          }
          // A little jitter keeps the loops from marching in step (a real flood is spread out).
          await sleep(Math.random() * 20);
        }),
  // A real puzzle, sent back unsolved with random counters: each one must be judged.
  invalid: async () => {
    const p = await puzzle();
    const prefix = p.slice(0, p.lastIndexOf(':') + 1);
    await loops(args.concurrency, async () => {
      const s = await open(args.port, source());
      const counter = Buffer.from(String(Math.floor(Math.random() * 1e12))).toString('base64');
      const reply = await exchange(s, `3:${prefix}${counter}\n`);
      requests++;
      if (reply?.startsWith('4:')) served++;
      s.destroy();
    });
  },
  // One puzzle solved honestly from a fixed ip:port, redeemed once, then presented again and
  // again: from the same ip:port (serially, the only way its binding could match) and from
  // fresh ports in parallel.
  replay: async () => {
    const from = args.sources[0]!;
    const probe = await open(args.port, from);
    const localPort = probe.localPort!;
    probe.destroy();
    await sleep(50);
    const s = await open(args.port, from, { localPort });
    const reply = await exchange(s, '1:\n', 10_000);
    if (reply === undefined || !reply.startsWith('2:')) throw new Error(`no puzzle: ${reply}`);
    const solved = (await solveHashcash(reply.slice(2))).header;
    const first = await exchange(s, `3:${solved}\n`, 10_000);
    if (first?.startsWith('4:')) served++;
    requests++;
    await closed(s);
    const line = `3:${solved}\n`;
    await Promise.all([
      loop(async () => {
        const c = await open(args.port, from, { localPort });
        const r = await exchange(c, line);
        requests++;
        if (r?.startsWith('4:')) served++;
        await closed(c);
      }),
      loops(args.concurrency - 1, async () => {
        const c = await open(args.port, source());
        const r = await exchange(c, line);
        requests++;
        if (r?.startsWith('4:')) served++;
        c.destroy();
      }),
    ]);
  },
  // Ask for puzzles on the connection until the server ends it; never solve.
  'puzzle-flood': () =>
    loops(args.concurrency, async () => {
      const s = await open(args.port, source());
      for (;;) {
        const reply = await exchange(s, '1:\n');
        requests++;
        if (reply === undefined || !reply.startsWith('2:') || stopping) break;
      }
      s.destroy();
    }),
  // Hold as many connections as the server lets us, each dribbling one byte now and then.
  slowloris: () =>
    loops(args.concurrency * 8, async () => {
      const s = await open(args.port, source());
      requests++;
      s.write('1');
      const drip = setInterval(() => {
        if (!s.destroyed) s.write(' ');
      }, 1000);
      await hold(s);
      clearInterval(drip);
    }),
  oversized: () => {
    const chunk = Buffer.alloc(64 * 1024, 0x78);
    return loops(args.concurrency, async () => {
      const s = await open(args.port, source());
      requests++;
      await new Promise<void>((resolve) => {
        const pump = () => {
          while (!s.destroyed && !stopping && s.write(chunk)) {}
        };
        s.on('drain', pump);
        s.on('data', () => {});
        s.once('close', () => resolve());
        pump();
        setTimeout(() => s.destroy(), 5000);
      });
    });
  },
  // Finding 7: every source holds `concurrency` idle connections (64 x 64 fill the default cap).
  'conn-cap': () =>
    Promise.all(
      args.sources.map((from) =>
        loops(args.concurrency, async () => {
          const s = await open(args.port, from, { timeoutMs: 3000 });
          requests++;
          await hold(s);
        }),
      ),
    ),
  // Finding 6: bursts of unsolved `1:` (4 pipelined per connection), about 11 a second per
  // source on average, each source within its bucket's burst, never solving.
  inflate: () =>
    loops(1, async () => {
      const socks = await Promise.all(
        Array.from({ length: args.concurrency }, () => open(args.port, source()).catch(() => undefined)),
      );
      await Promise.all(
        socks.map(async (s) => {
          if (s === undefined) return;
          await exchange(s, '1:\n1:\n1:\n1:\n', 3000);
          requests += 4;
          s.destroy();
        }),
      );
      await sleep(Math.max(100, (args.concurrency * 4 * 1000) / (11 * args.sources.length)));
    }),
  // Finding 8: a verdict, then as many bytes as the server keeps reading, on fresh connections.
  'close-read': () => {
    const chunk = Buffer.alloc(1 << 20, 0x41);
    return loops(args.concurrency, async () => {
      const s = await open(args.port, source(), { allowHalfOpen: true });
      await exchange(s, '3:not-a-solution\n', 3000);
      requests++;
      await new Promise<void>((resolve) => {
        const until = Date.now() + 3000;
        const pump = () => {
          while (!s.destroyed && !stopping && Date.now() < until && s.write(chunk)) {}
          if (s.destroyed || stopping || Date.now() >= until) resolve();
        };
        s.on('drain', pump);
        s.on('error', () => resolve());
        s.once('close', () => resolve());
        pump();
        setTimeout(resolve, 3500);
      });
      s.destroy();
    });
  },
};

// ---------------------------------------------------------------------------------------
// secure channel (and the P2P port of gossip peers and the bootstrapper)

function context(): SecureContext | undefined {
  if (args.key === undefined || args.serverPublic === undefined) return undefined;
  const server = parsePublicKey(args.serverPublic);
  return new SecureContext({
    key: identityKey(args.key),
    trust: { lookup: (id) => (id === server.identity ? server : undefined) },
    pow: args.pow ?? { kind: 'none' },
    powEngine: meteredEngine(meter, defaultPowEngine(resolveLimits())),
  });
}

/** A HELLO to 127.0.0.1:port naming `claimed` (a trusted key the attacker cannot sign for), junk PoW. */
function junkHello(pow: HandshakePow): Uint8Array {
  const me = identityKey(args.key!);
  const identity = args.claimedPublic === undefined ? me : { ...me, ...parsePublicKey(args.claimedPublic) };
  const config = { identity, trust: { lookup: () => undefined }, pow, limits: resolveLimits() };
  const start = startInitiator(config, {
    nowSec: Math.floor(Date.now() / 1000),
    random: (n) => new Uint8Array(randomBytes(n)),
    responderAddress: encodeEndpoint({ host: '127.0.0.1', port: args.port }),
  });
  return sealHello(config, start, BigInt(Math.floor(Math.random() * 2 ** 48)));
}

const secure: Record<SecureScenario, () => Promise<unknown>> = {
  baseline: powtcp.baseline,
  // Handshakes and requests as fast as the attacker's hash power pays for (as an insider: its
  // key is trusted, as any paying stranger's is in an open network).
  solver: () => {
    const ctx = context()!;
    return loops(args.concurrency, async () => {
      const o = await secureRequest(args.port, source(), ctx, 15_000);
      requests++;
      if (o.ok) served++;
      else await sleep(10);
    });
  },
  // Finding 1: idle connections that never send a byte, reconnected as soon as they drop.
  idle: () =>
    loops(args.concurrency, async () => {
      const s = await open(args.port, source(), { timeoutMs: 3000 });
      requests++;
      await hold(s);
    }),
  // Finding 2: a valid HELLO (solved), then junk as fast as the socket takes it.
  buffer: () => {
    const ctx = context()!;
    const chunk = Buffer.alloc(1 << 20, 0x41);
    return loops(Math.min(args.concurrency, 4), async () => {
      const s = await open(args.port, source());
      requests++;
      let first = true;
      // secureConnect writes HELLO; every later write is junk, pumped while the responder works.
      const write = s.write.bind(s);
      const pump = () => {
        while (!s.destroyed && !stopping && write(chunk)) {}
      };
      s.on('drain', pump);
      s.write = ((data: Uint8Array, ...rest: never[]) => {
        const ok = write(data, ...rest);
        if (first) {
          first = false;
          setImmediate(pump);
        }
        return ok;
      }) as typeof s.write;
      await secureConnect(s, { key: ctx.config.identity, trust: ctx.config.trust, context: ctx }).then(
        (channel) => {
          channel.on('error', () => {});
          channel.destroy();
        },
        () => undefined,
      );
      s.destroy();
    });
  },
  // Finding 3: HELLOs naming a trusted key with junk PoW and a signature the attacker cannot make.
  'junk-hello': () =>
    loops(args.concurrency, async () => {
      const s = await open(args.port, source(), { timeoutMs: 3000 });
      s.write(junkHello(args.pow ?? { kind: 'none' }));
      requests++;
      await closed(s, 2000);
    }),
};

process.on('message', (msg: { type: string }) => {
  if (msg.type === 'stop') {
    stopping = true;
    clearInterval(tick);
    for (const s of held) s.destroy();
    const seconds = (Date.now() - started) / 1000;
    process.send?.(
      { type: 'result', requests, served, errors, seconds, perSecond, hashes: meter.spent },
      () => process.exit(0),
    );
  }
});

// A channel can fail in its constructor (junk right behind the handshake) and emit its error
// before a listener is attached: one connection's failure is counted, never the attacker's end.
process.on('uncaughtException', () => {
  errors++;
});
process.send?.({ type: 'ready' });
const table = (args.kind === 'powtcp' ? powtcp : secure) as Record<string, () => Promise<unknown>>;
const run = table[args.scenario];
if (run === undefined) {
  process.send?.({ type: 'error', error: `no scenario ${args.scenario} for ${args.kind}` });
} else {
  run().catch((err: unknown) => {
    process.send?.({ type: 'error', error: String(err) });
  });
}
