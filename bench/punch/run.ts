/**
 * Runs hole punching between two earth nodes behind NATs of the given kinds, in the
 * namespaces of netns.ts (issue 11 item 3), and reports each try. Used by bench/punch.ts and
 * test/sky/punch.test.ts. Every process is bounded (tries x punch timeout) and killed at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { B_HOST, HOLDER_ADDR, type NatKind, type NatLab, SKY_ADDR } from './netns.js';

const agent = fileURLToPath(new URL('./agent.ts', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));

interface Agent {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[];
  next(pred: (l: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>>;
}

function start(ns: string, args: string[]): Agent {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', agent, ...args], {
    cwd: root,
    // stdin is a pipe only so that the agent sees it close and exits if we die (agent.ts).
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  let err = '';
  const waiters: (() => void)[] = [];
  child.stdout!.setEncoding('utf8').on('data', (c: string) => {
    buf += c;
    let i = buf.indexOf('\n');
    while (i >= 0) {
      try {
        lines.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
      } catch {}
      buf = buf.slice(i + 1);
      i = buf.indexOf('\n');
    }
    for (const w of waiters.splice(0)) w();
  });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => {
    err += c;
  });
  return {
    child,
    lines,
    next(pred, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`agent ${args[0]} timed out: ${err.slice(-2000)}`)),
          timeoutMs,
        );
        const check = () => {
          const hit = lines.find(pred);
          if (hit) {
            clearTimeout(timer);
            resolve(hit);
          } else if (child.exitCode !== null) {
            clearTimeout(timer);
            reject(new Error(`agent ${args[0]} exited: ${err.slice(-2000)}`));
          } else waiters.push(check);
        };
        child.once('exit', () => {
          for (const w of waiters.splice(0)) w();
        });
        check();
      });
    },
  };
}

export interface PunchTry {
  readonly ok: boolean;
  readonly ms?: number;
  readonly via?: string;
  readonly status?: string;
  readonly code?: string;
  /** The requester's event counts, on a failed try. */
  readonly counts?: Record<string, number>;
}

/**
 * One pair: A behind a NAT of kind `a`, B behind `b`. B subscribes to a public holder, so
 * that with `fallback` a failed punch falls back to a relay through that earth node (never
 * through the sky node).
 */
export async function punchPair(
  lab: NatLab,
  a: NatKind,
  b: NatKind,
  tries: number,
  punchMs: number,
  fallback: boolean,
): Promise<PunchTry[]> {
  lab.nat('a', a);
  lab.nat('b', b);
  const sky = `${SKY_ADDR}:7000`;
  const procs: Agent[] = [];
  try {
    const s = start(lab.ns.pub, ['sky', '--listen', sky]);
    procs.push(s);
    await s.next((l) => l.ready === true, 60_000);
    const h = start(lab.ns.pub, ['holder', '--sky', sky, '--listen', `${HOLDER_ADDR}:7001`]);
    procs.push(h);
    const hid = String((await h.next((l) => l.ready === true, 60_000)).identity);
    const r = start(lab.ns.hb, ['responder', '--sky', sky, '--holder', hid, '--punch-ms', String(punchMs)]);
    procs.push(r);
    const rid = String((await r.next((l) => l.ready === true, 60_000)).identity);
    const i = start(lab.ns.ha, [
      'initiator',
      '--sky',
      sky,
      '--to',
      rid,
      '--tries',
      String(tries),
      '--punch-ms',
      String(punchMs),
      ...(fallback ? ['--fallback'] : []),
    ]);
    procs.push(i);
    await i.next((l) => l.done === true, tries * (punchMs + 15_000) + 60_000);
    return i.lines.filter((l) => typeof l.try === 'number') as unknown as PunchTry[];
  } finally {
    for (const p of procs) p.child.kill('SIGKILL');
  }
}

export { B_HOST };
