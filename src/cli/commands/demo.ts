/**
 * `tollgate demo` (what `npm start` runs): a list of steps, each showing one part of tollgate
 * at work, ending with a table of what was done. New services add their steps to `demoSteps`.
 * The demo stops by itself within about 20 s: the puzzle solves share SOLVES_BUDGET_MS, and
 * steps with their own timing (the powtcp service) bound themselves.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { backendChoice } from '../../pow/backend.js';
import {
  formatHashcash,
  expectedAttempts as hashcashExpected,
  newHashcash,
  solveHashcash,
  verifyHashcash,
} from '../../pow/hashcash.js';
import { POW_LIMITS } from '../../pow/limits.js';
import { closePools } from '../../pow/pool.js';
import {
  DEFAULT_SCRYPT_PARAMS,
  expectedAttempts as scryptExpected,
  solveScrypt,
  targetForBits,
  verifyScrypt,
} from '../../pow/scrypt.js';
import {
  expectedAttempts as sha256Expected,
  solveSha256Bits,
  verifySha256Bits,
} from '../../pow/sha256-bits.js';
import type { SolveOptions, SolveResult } from '../../pow/types.js';
import { runGossipDemo } from '../../services/gossip/demo.js';
import { runPowtcpDemo } from '../../services/powtcp/demo.js';
import { runSkyDemo } from '../../services/sky/demo.js';
import { TollgateError } from '../../util/errors.js';
import { type Command, parseCommandArgs } from '../command.js';
import { parseIntegerFlag } from '../flags.js';
import { createProgress, formatCount, formatMs } from '../progress.js';

/** Time all puzzle solves of the demo share (ms); a solve past it is reported, not run. */
export const SOLVES_BUDGET_MS = 6_000;
/** No single solve in the demo runs longer than this. */
const STEP_BUDGET_MS = 3_000;

export interface DemoRow {
  readonly kind: string;
  readonly difficulty: string;
  readonly attempts: number | undefined;
  readonly ms: number | undefined;
  readonly backend: string;
  readonly verified: string;
}

export interface DemoContext {
  readonly workers: number;
  /** Solve options for one solve: all cores, a progress display and the remaining budget. */
  solveOptions(label: string, expected: number): { opts: SolveOptions; done: () => void };
}

export interface DemoStep {
  readonly title: string;
  run(ctx: DemoContext): Promise<DemoRow[]>;
}

/** Solves, then verifies with the independent verifier; a spent budget becomes a row too. */
async function attempt(
  ctx: DemoContext,
  kind: string,
  difficulty: string,
  expected: number,
  solve: (opts: SolveOptions) => Promise<SolveResult>,
  verify: (result: SolveResult) => Promise<boolean> | boolean,
): Promise<DemoRow> {
  const { opts, done } = ctx.solveOptions(`${kind} ${difficulty}`, expected);
  try {
    const result = await solve(opts).finally(done);
    const ok = await verify(result);
    return {
      kind,
      difficulty,
      attempts: result.attempts,
      ms: result.ms,
      backend: result.backend,
      verified: ok ? 'yes' : 'NO',
    };
  } catch (error) {
    if (error instanceof TollgateError && error.code === 'ERR_POW_BUDGET') {
      return { kind, difficulty, attempts: undefined, ms: undefined, backend: '-', verified: 'out of time' };
    }
    throw error;
  }
}

export const demoSteps: DemoStep[] = [
  {
    title: 'sha256-bits: SHA-256(challenge || nonce) with d leading zero bits (seed 000)',
    async run(ctx) {
      const rows: DemoRow[] = [];
      for (const difficulty of [12, 16, 20, 22]) {
        const challenge = new Uint8Array(randomBytes(16));
        rows.push(
          await attempt(
            ctx,
            'sha256-bits',
            `${difficulty} bits`,
            sha256Expected(difficulty),
            (opts) => solveSha256Bits({ challenge, difficulty }, opts),
            (r) => verifySha256Bits({ challenge, difficulty }, r.nonce),
          ),
        );
      }
      return rows;
    },
  },
  {
    title: 'hashcash-sha1: the powtcp puzzle (seed 001, spec/powtcp.md)',
    async run(ctx) {
      const rows: DemoRow[] = [];
      for (const bits of [3, 4, 5]) {
        const header = newHashcash({
          bits,
          resource: '127.0.0.1:53422',
          nowMs: Date.now(),
          rand: randomBytes(4),
        });
        let solved = '';
        rows.push(
          await attempt(
            ctx,
            'hashcash-sha1',
            `${bits} hex`,
            hashcashExpected(bits),
            async (opts) => {
              const r = await solveHashcash(formatHashcash(header), opts);
              solved = r.header;
              return r;
            },
            () => verifyHashcash(solved),
          ),
        );
      }
      return rows;
    },
  },
  {
    title: `scrypt: scrypt_C(m) < k (seed 004), C = {N: ${DEFAULT_SCRYPT_PARAMS.N}, r: ${DEFAULT_SCRYPT_PARAMS.r}, p: ${DEFAULT_SCRYPT_PARAMS.p}}`,
    async run(ctx) {
      const rows: DemoRow[] = [];
      for (const bits of [2, 4, 6]) {
        const message = new Uint8Array(randomBytes(32));
        const params = { ...DEFAULT_SCRYPT_PARAMS, target: targetForBits(bits) };
        rows.push(
          await attempt(
            ctx,
            'scrypt',
            `${bits} bits`,
            scryptExpected(params.target),
            (opts) => solveScrypt(message, params, opts),
            (r) => verifyScrypt(message, r.nonce, params),
          ),
        );
      }
      return rows;
    },
  },
  {
    title:
      'powtcp: quote server on loopback; honest gets, then a 4 s flood of 1: from 48 addresses, then calm',
    async run(ctx) {
      const w = (line: string) => process.stdout.write(`${line}\n`);
      w('  second  phase  difficulty  quotes  mean get  flood answered  flood refused');
      const r = await runPowtcpDemo({
        workers: ctx.workers,
        onTick: (t) =>
          w(
            `  ${String(t.t).padStart(6)}  ${t.phase.padEnd(5)}  ${`${t.difficulty} hex`.padStart(10)}  ${String(t.quotes).padStart(6)}  ${(t.meanGetMs === undefined ? '-' : formatMs(t.meanGetMs)).padStart(8)}  ${String(t.floodAnswered).padStart(14)}  ${String(t.floodRefused).padStart(13)}`,
          ),
      });
      w(
        `  difficulty peaked at ${r.peakDifficulty} hex digits (unsolved 1: are not load) and ended at ${r.finalDifficulty}; ${r.honest.ok} quotes served to honest clients, ${r.honest.failed} failed`,
      );
      const rows: DemoRow[] = [];
      let prev = { quotes: 0, attempts: 0 };
      for (const phase of ['idle', 'flood', 'calm'] as const) {
        const ticks = r.ticks.filter((t) => t.phase === phase);
        const last = ticks.at(-1);
        if (last === undefined) continue;
        const diffs = ticks.map((t) => t.difficulty);
        const quotes = last.quotes - prev.quotes;
        rows.push({
          kind: `powtcp get (${phase})`,
          difficulty: `${Math.min(...diffs)}-${Math.max(...diffs)} hex`,
          attempts: last.attempts - prev.attempts,
          ms: ticks.length * 1000,
          backend: '-',
          verified: `${quotes} quotes`,
        });
        prev = { quotes: last.quotes, attempts: last.attempts };
      }
      return rows;
    },
  },
  {
    title:
      'gossip: a bootstrapper and 5 peers on loopback (secure channel, PoW-verified links); items from one API client reach every subscriber',
    async run() {
      const r = await runGossipDemo({ onLine: (line) => process.stdout.write(`${line}\n`) });
      const sorted = [...r.latenciesMs].sort((a, b) => a - b);
      const p50 = sorted[Math.floor(sorted.length / 2)];
      return [
        {
          kind: 'gossip spread',
          difficulty: `${r.powBits}-bit peer PoW`,
          attempts: undefined,
          ms: p50,
          backend: `${r.peers} peers`,
          verified: r.delivered === r.expected ? `${r.delivered}/${r.expected} delivered` : 'NO',
        },
      ];
    },
  },
  {
    title:
      'sky and earth (seed 003): a sky node and three earth nodes; a message delivered, one stored until its recipient is back, a look-up without a lease refused',
    async run() {
      const r = await runSkyDemo({ onLine: (line) => process.stdout.write(`${line}\n`) });
      return r.steps.map((s) => ({
        kind: `sky/earth: ${s.what}`,
        difficulty: '-',
        attempts: undefined,
        ms: s.ms,
        backend: '-',
        verified: s.ok ? s.detail.split(',')[0]!.split(';')[0]! : 'NO',
      }));
    },
  },
];

export function formatTable(rows: readonly DemoRow[]): string {
  const header = ['kind', 'difficulty', 'attempts', 'time', 'backend', 'verified'];
  const cells = rows.map((r) => [
    r.kind,
    r.difficulty,
    r.attempts === undefined ? '-' : formatCount(r.attempts),
    r.ms === undefined ? '-' : formatMs(r.ms),
    r.backend,
    r.verified,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((x, i) => x.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

const HELP = `Usage: tollgate demo [--workers <n>]

Solves and verifies a few puzzles of each kind on all cores with a progress display, then
prints a table of what was done. Stops by itself within about 40 s.

Options:
  --workers <n>   worker threads (default: all cores, ${availableParallelism()} here)
`;

const command: Command = {
  async run(argv) {
    const parsed = parseCommandArgs(argv, { workers: { type: 'string' } }, HELP);
    if (parsed === null) return 0;
    const text = parsed.values.workers;
    const workers =
      text === undefined
        ? availableParallelism()
        : parseIntegerFlag('--workers', text, 1, POW_LIMITS.maxSolveWorkers);
    const deadline = performance.now() + SOLVES_BUDGET_MS;
    const ctx: DemoContext = {
      workers,
      solveOptions(label, expected) {
        const progress = createProgress(label, expected);
        const left = Math.max(0, Math.floor(deadline - performance.now()));
        return {
          opts: {
            workers,
            onProgress: (p) => progress.update(p),
            timeoutMs: Math.min(STEP_BUDGET_MS, left),
          },
          done: () => progress.done(),
        };
      },
    };
    process.stdout.write(`tollgate demo: ${workers} worker${workers === 1 ? '' : 's'}\n`);
    const rows: DemoRow[] = [];
    try {
      for (const step of demoSteps) {
        process.stdout.write(`\n${step.title}\n`);
        const stepRows = await step.run(ctx);
        for (const r of stepRows) {
          process.stdout.write(
            `  ${r.kind} ${r.difficulty}: ${r.attempts === undefined ? '-' : formatCount(r.attempts)} attempts in ${r.ms === undefined ? '-' : formatMs(r.ms)}, verified ${r.verified}\n`,
          );
        }
        rows.push(...stepRows);
      }
    } finally {
      await closePools();
    }
    const choice = backendChoice();
    process.stdout.write(
      `\n${formatTable(rows)}\n\nhash backend: ${choice?.name ?? 'ts'}${choice?.fallbackReason === undefined ? '' : ` (native: ${choice.fallbackReason})`}\n`,
    );
    return rows.every((r) => r.verified !== 'NO') ? 0 : 1;
  },
};

export default command;
