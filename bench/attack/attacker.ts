/**
 * The attacker process of the attack benchmark: one scenario, from one source address, as
 * fast as `concurrency` parallel loops allow, until the parent says stop. Reports requests
 * per second (a request = one line sent that the server had to judge, or one connection for
 * the connection-level floods) over IPC.
 */
import { connect, type Socket } from 'node:net';
import { powtcpGet } from '../../src/services/powtcp/client.js';

export type Scenario = 'baseline' | 'invalid' | 'replay' | 'puzzle-flood' | 'slowloris' | 'oversized';

interface Args {
  scenario: Scenario;
  host: string;
  port: number;
  source: string;
  concurrency: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
let stopping = false;
let requests = 0;
let accepted = 0;
let errors = 0;
const perSecond: { t: number; requests: number }[] = [];
const started = Date.now();
let lastCount = 0;
const tick = setInterval(() => {
  perSecond.push({ t: (Date.now() - started) / 1000, requests: requests - lastCount });
  lastCount = requests;
}, 1000);

function open(localPort?: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({
      host: args.host,
      port: args.port,
      localAddress: args.source,
      noDelay: true,
      ...(localPort === undefined ? {} : { localPort }),
    });
    s.once('connect', () => {
      s.removeAllListeners('error');
      s.on('error', () => {});
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Sends one line and waits for one reply line (or the close). */
function exchange(s: Socket, line: string, timeoutMs = 5000): Promise<string | undefined> {
  return new Promise((resolve) => {
    let buf = '';
    const done = (v: string | undefined) => {
      clearTimeout(t);
      s.off('data', onData);
      s.off('close', onClose);
      resolve(v);
    };
    const onData = (d: Buffer) => {
      buf += d.toString('latin1');
      const nl = buf.indexOf('\n');
      if (nl !== -1) done(buf.slice(0, nl));
    };
    const onClose = () => done(undefined);
    const t = setTimeout(() => done(undefined), timeoutMs);
    s.on('data', onData);
    s.on('close', onClose);
    s.write(line);
  });
}

function closed(s: Socket, timeoutMs = 2000): Promise<void> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve();
    const t = setTimeout(() => {
      s.destroy();
      resolve();
    }, timeoutMs);
    s.once('close', () => {
      clearTimeout(t);
      resolve();
    });
    s.resume();
  });
}

async function puzzle(): Promise<string> {
  const s = await open();
  const reply = await exchange(s, '1:\n');
  s.destroy();
  if (reply === undefined || !reply.startsWith('2:')) throw new Error(`no puzzle: ${reply}`);
  return reply.slice(2);
}

async function loop(body: () => Promise<void>): Promise<void> {
  while (!stopping) {
    try {
      await body();
    } catch {
      errors++;
      // A refused connect (e.g. the server is at its cap) is retried after a breath, so the
      // loop measures the server, not a spin on ECONNREFUSED.
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

async function invalidFlood(): Promise<void> {
  // A real puzzle, sent back unsolved with random counters: each one must be judged.
  const p = await puzzle();
  const prefix = p.slice(0, p.lastIndexOf(':') + 1);
  await Promise.all(
    Array.from({ length: args.concurrency }, () =>
      loop(async () => {
        const s = await open();
        const counter = Buffer.from(String(Math.floor(Math.random() * 1e12))).toString('base64');
        const reply = await exchange(s, `3:${prefix}${counter}\n`);
        requests++;
        if (reply?.startsWith('4:')) accepted++;
        s.destroy();
      }),
    ),
  );
}

async function replayFlood(): Promise<void> {
  // Solve one puzzle honestly from a fixed source port, redeem it once, then present the same
  // solution again and again: from the same ip:port (serially, the only way its binding could
  // match) and from fresh ports in parallel.
  const probe = await open();
  const localPort = probe.localPort!;
  probe.destroy();
  await new Promise((r) => setTimeout(r, 50));
  let solved: string | undefined;
  {
    const s = await open(localPort);
    const reply = await exchange(s, '1:\n', 10_000);
    if (reply === undefined || !reply.startsWith('2:')) throw new Error(`no puzzle: ${reply}`);
    const { solveHashcash } = await import('../../src/pow/hashcash.js');
    solved = (await solveHashcash(reply.slice(2))).header;
    const first = await exchange(s, `3:${solved}\n`, 10_000);
    if (first?.startsWith('4:')) accepted++;
    requests++;
    await closed(s);
  }
  const line = `3:${solved}\n`;
  await Promise.all([
    loop(async () => {
      const s = await open(localPort);
      const reply = await exchange(s, line);
      requests++;
      if (reply?.startsWith('4:')) accepted++;
      await closed(s);
    }),
    ...Array.from({ length: args.concurrency - 1 }, () =>
      loop(async () => {
        const s = await open();
        const reply = await exchange(s, line);
        requests++;
        if (reply?.startsWith('4:')) accepted++;
        s.destroy();
      }),
    ),
  ]);
}

async function puzzleFlood(): Promise<void> {
  await Promise.all(
    Array.from({ length: args.concurrency }, () =>
      loop(async () => {
        const s = await open();
        // Ask for puzzles on the connection until the server ends it; never solve.
        for (;;) {
          const reply = await exchange(s, '1:\n');
          requests++;
          if (reply === undefined || !reply.startsWith('2:') || stopping) break;
        }
        s.destroy();
      }),
    ),
  );
}

async function slowloris(): Promise<void> {
  // Hold as many connections as the server lets us, each dribbling one byte now and then.
  const held = new Set<Socket>();
  await Promise.all(
    Array.from({ length: args.concurrency * 8 }, () =>
      loop(async () => {
        const s = await open();
        requests++;
        held.add(s);
        s.write('1');
        await new Promise<void>((resolve) => {
          const drip = setInterval(() => {
            if (stopping) s.destroy();
            else s.write(' ');
          }, 1000);
          s.on('data', () => {});
          s.once('close', () => {
            clearInterval(drip);
            held.delete(s);
            resolve();
          });
        });
      }),
    ),
  );
  for (const s of held) s.destroy();
}

async function oversized(): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024, 0x78);
  await Promise.all(
    Array.from({ length: args.concurrency }, () =>
      loop(async () => {
        const s = await open();
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
      }),
    ),
  );
}

const runners: Record<Scenario, () => Promise<void>> = {
  baseline: async () => {
    while (!stopping) await new Promise((r) => setTimeout(r, 100));
  },
  invalid: invalidFlood,
  replay: replayFlood,
  'puzzle-flood': puzzleFlood,
  slowloris,
  oversized,
};

process.on('message', (msg: { type: string }) => {
  if (msg.type === 'stop') {
    stopping = true;
    clearInterval(tick);
    const seconds = (Date.now() - started) / 1000;
    process.send?.({ type: 'result', requests, accepted, errors, seconds, perSecond }, () => process.exit(0));
  }
});

// Keep powtcpGet referenced so the attacker imports the same client stack as honest clients.
void powtcpGet;
process.send?.({ type: 'ready' });
runners[args.scenario]().catch((err: unknown) => {
  process.send?.({ type: 'error', error: String(err) });
});
