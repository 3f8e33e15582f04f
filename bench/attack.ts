/**
 * `npm run bench:attack [-- --json] [-- --quick]`: the powtcp attack benchmark (issue 3,
 * item 7). For every scenario x mode it starts three processes on loopback: the server
 * (`tollgate powtcp serve`, measured from inside through its Prometheus endpoint: RSS, CPU,
 * difficulty), a steady stream of honest clients from 127.0.0.2, and an attacker from
 * 127.0.0.3 (so per-address limits tell them apart). Each run is bounded in time.
 *
 * Prints one table with the three modes side by side, the targets marked met / not met, and
 * writes a self-contained HTML report with SVG charts to bench/out/attack-report.html.
 */
import { type ChildProcess, fork, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Scenario } from './attack/attacker.js';
import { renderReport } from './attack/report.js';

const MODES = ['stateless', 'reference', 'nopow'] as const;
type Mode = (typeof MODES)[number];
const SCENARIOS: Scenario[] = ['baseline', 'invalid', 'replay', 'puzzle-flood', 'slowloris', 'oversized'];
const MODE_LABEL: Record<Mode, string> = {
  stateless: '(a) ours',
  reference: '(b) reference',
  nopow: '(c) no PoW',
};

const argv = process.argv.slice(2);
const json = argv.includes('--json');
const quick = argv.includes('--quick');
const durationMs = quick ? 3_000 : 12_000;
const HONEST_RATE = 4;
const ATTACK_CONCURRENCY = 32;
const HONEST_SOURCE = '127.0.0.2';
const ATTACK_SOURCE = '127.0.0.3';

const root = fileURLToPath(new URL('..', import.meta.url));
// The server runs from the compiled build, as it would be deployed: its RSS is then the
// service's own, without the TypeScript loader of the source tree.
const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const log = (line: string) => {
  if (!json) process.stderr.write(`${line}\n`);
};

export interface Sample {
  t: number;
  rssMb: number;
  cpuS: number;
  difficulty: number;
  held: number;
  open: number;
}

export interface RunResult {
  mode: Mode;
  scenario: Scenario;
  honest: {
    sent: number;
    ok: number;
    successRate: number;
    p50Ms: number;
    p99Ms: number;
    reasons: Record<string, number>;
  };
  attacker: { requests: number; rps: number; accepted: number; errors: number };
  server: {
    peakRssMb: number;
    rssGrowthMb: number;
    /** Growth of the V8 heap still in use after a full GC over the second half of the attack. */
    retainedGrowthMb: number;
    cpuPct: number;
    peakDifficulty: number;
    peakHeld: number;
  };
  series: {
    samples: Sample[];
    honest: { t: number; ms: number; ok: boolean }[];
    attacker: { t: number; requests: number }[];
  };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

function startServer(mode: Mode): Promise<{ child: ChildProcess; port: number; metricsUrl: string }> {
  const child = spawn(
    process.execPath,
    [
      // Lets the benchmark read retained memory after a full collection (metrics?gc=1).
      '--expose-gc',
      cli,
      'powtcp',
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--metrics',
      '127.0.0.1:0',
      '--mode',
      mode,
      '--log-level',
      'error',
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 20_000);
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const port = /powtcp listening on [\d.]+:(\d+)/.exec(out)?.[1];
      const metrics = /metrics on (http:\/\/\S+)/.exec(out)?.[1];
      if (port !== undefined && metrics !== undefined) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ child, port: Number(port), metricsUrl: metrics });
      }
    });
  });
}

function forkChild(script: string, args: object): Promise<ChildProcess> {
  const child = fork(fileURLToPath(new URL(script, import.meta.url)), [JSON.stringify(args)], {
    cwd: root,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start`)), 20_000);
    child.once('message', (msg: { type: string }) => {
      if (msg.type === 'ready') {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

function stopChild<T>(child: ChildProcess, timeoutMs: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(undefined);
    }, timeoutMs);
    child.on('message', (msg: { type: string }) => {
      if (msg.type === 'result') {
        clearTimeout(timer);
        resolve(msg as T);
      }
    });
    child.removeAllListeners('exit');
    child.send({ type: 'stop' });
  });
}

async function run(mode: Mode, scenario: Scenario): Promise<RunResult> {
  const server = await startServer(mode);
  const samples: Sample[] = [];
  const t0 = Date.now();
  let polling = true;
  const poll = (async () => {
    while (polling) {
      try {
        const m = parseMetrics(await (await fetch(server.metricsUrl)).text());
        samples.push({
          t: (Date.now() - t0) / 1000,
          rssMb: (m.get('process_resident_memory_bytes') ?? 0) / 2 ** 20,
          cpuS: m.get('process_cpu_seconds_total') ?? 0,
          difficulty: m.get('tollgate_powtcp_difficulty') ?? 0,
          held: m.get('tollgate_powtcp_puzzles_held') ?? 0,
          open: m.get('tollgate_powtcp_open_connections') ?? 0,
        });
      } catch {
        // a missed poll under load is a gap in the chart, not a failure
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  const retained = async (): Promise<number> => {
    const m = parseMetrics(await (await fetch(`${server.metricsUrl}?gc=1`)).text());
    return (m.get('nodejs_heap_size_used_bytes') ?? 0) / 2 ** 20;
  };
  const target = { host: '127.0.0.1', port: server.port };
  const [honest, attacker] = await Promise.all([
    forkChild('./attack/honest.ts', {
      ...target,
      source: HONEST_SOURCE,
      ratePerSec: HONEST_RATE,
      maxInFlight: 32,
      timeoutMs: 15_000,
      drainMs: 3_000,
    }),
    forkChild('./attack/attacker.ts', {
      ...target,
      scenario,
      source: ATTACK_SOURCE,
      concurrency: ATTACK_CONCURRENCY,
    }),
  ]);
  const startAt = (Date.now() - t0) / 1000;
  // Retained heap (after a full GC) halfway through the attack and at its end: the first half
  // is warm-up (JIT code, caches, buffers); memory that grows with the flood grows in the second.
  await new Promise((r) => setTimeout(r, durationMs / 2));
  const heapStart = await retained();
  await new Promise((r) => setTimeout(r, durationMs / 2));
  const heapEnd = await retained();
  const endAt = (Date.now() - t0) / 1000;
  const [a, h] = await Promise.all([
    stopChild<{
      requests: number;
      accepted: number;
      errors: number;
      seconds: number;
      perSecond: { t: number; requests: number }[];
    }>(attacker, 10_000),
    stopChild<{ outcomes: { t: number; ok: boolean; ms: number; reason?: string }[] }>(honest, 8_000),
  ]);
  polling = false;
  await poll;
  server.child.kill('SIGTERM');
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      server.child.kill('SIGKILL');
      resolve();
    }, 5000);
    server.child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });

  const outcomes = h?.outcomes ?? [];
  const okMs = outcomes
    .filter((o) => o.ok)
    .map((o) => o.ms)
    .sort((x, y) => x - y);
  const reasons: Record<string, number> = {};
  for (const o of outcomes) if (!o.ok) reasons[o.reason ?? '?'] = (reasons[o.reason ?? '?'] ?? 0) + 1;
  const during = samples.filter((s) => s.t >= startAt && s.t <= endAt + 0.5);
  const first = during.find((s) => s.t >= startAt + 1) ?? during[0];
  const last = during.at(-1);
  const cpuPct =
    first !== undefined && last !== undefined && last.t > first.t
      ? ((last.cpuS - first.cpuS) / (last.t - first.t)) * 100
      : 0;
  return {
    mode,
    scenario,
    honest: {
      sent: outcomes.length,
      ok: okMs.length,
      successRate: outcomes.length === 0 ? 0 : okMs.length / outcomes.length,
      p50Ms: quantile(okMs, 0.5),
      p99Ms: quantile(okMs, 0.99),
      reasons,
    },
    attacker: {
      requests: a?.requests ?? 0,
      rps: a === undefined || a.seconds === 0 ? 0 : a.requests / a.seconds,
      accepted: a?.accepted ?? 0,
      errors: a?.errors ?? 0,
    },
    server: {
      peakRssMb: Math.max(0, ...samples.map((s) => s.rssMb)),
      rssGrowthMb: first !== undefined && last !== undefined ? last.rssMb - first.rssMb : 0,
      retainedGrowthMb: heapEnd - heapStart,
      cpuPct,
      peakDifficulty: Math.max(0, ...samples.map((s) => s.difficulty)),
      peakHeld: Math.max(0, ...samples.map((s) => s.held)),
    },
    series: {
      samples,
      honest: outcomes.map((o) => ({ t: o.t + startAt, ms: o.ms, ok: o.ok })),
      attacker: (a?.perSecond ?? []).map((p) => ({ t: p.t + startAt, requests: p.requests })),
    },
  };
}

const RSS_TARGET_MB = 150;
/** "Flat": the heap retained after a full GC grows by less than this over the flood's second half. */
const FLAT_MB = 1;

export interface Target {
  scenario: Scenario;
  name: string;
  met: boolean;
  detail: string;
}

function targets(results: RunResult[]): Target[] {
  const out: Target[] = [];
  const get = (m: Mode, s: Scenario) => results.find((r) => r.mode === m && r.scenario === s);
  for (const s of SCENARIOS) {
    const a = get('stateless', s);
    if (a === undefined) continue;
    out.push({
      scenario: s,
      name: 'honest success >= 99 %',
      met: a.honest.successRate >= 0.99,
      detail: `${(a.honest.successRate * 100).toFixed(1)} % of ${a.honest.sent}`,
    });
    out.push({
      scenario: s,
      name: `server RSS <= ${RSS_TARGET_MB} MB`,
      met: a.server.peakRssMb <= RSS_TARGET_MB,
      detail: `${a.server.peakRssMb.toFixed(1)} MB`,
    });
  }
  const a = get('stateless', 'puzzle-flood');
  const b = get('reference', 'puzzle-flood');
  if (a !== undefined && b !== undefined) {
    out.push({
      scenario: 'puzzle-flood',
      name: `memory flat (heap retained after GC grows < ${FLAT_MB} MB over the second half) while (b) grows`,
      met: a.server.retainedGrowthMb < FLAT_MB && b.server.retainedGrowthMb > a.server.retainedGrowthMb,
      detail: `(a) ${a.server.retainedGrowthMb.toFixed(1)} MB retained, RSS ${a.server.rssGrowthMb.toFixed(1)} MB, ${a.server.peakHeld} puzzles held; (b) ${b.server.retainedGrowthMb.toFixed(1)} MB retained, RSS ${b.server.rssGrowthMb.toFixed(1)} MB, ${b.server.peakHeld} puzzles held`,
    });
  }
  return out;
}

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

function table(results: RunResult[]): string {
  const cols = [
    'honest ok %',
    'p50 ms',
    'p99 ms',
    'attack req/s',
    'acc.',
    'peak RSS MB',
    'kept MB',
    'CPU %',
    'diff',
  ];
  const lines: string[] = [];
  const head = ['scenario'.padEnd(13), 'mode'.padEnd(14), ...cols.map((c) => c.padStart(12))].join(' ');
  lines.push(head, '-'.repeat(head.length));
  for (const s of SCENARIOS) {
    for (const m of MODES) {
      const r = results.find((x) => x.mode === m && x.scenario === s);
      if (r === undefined) continue;
      lines.push(
        [
          (m === 'stateless' ? s : '').padEnd(13),
          MODE_LABEL[m].padEnd(14),
          fmt(r.honest.successRate * 100, 1).padStart(12),
          fmt(r.honest.p50Ms).padStart(12),
          fmt(r.honest.p99Ms).padStart(12),
          fmt(r.attacker.rps).padStart(12),
          String(r.attacker.accepted).padStart(12),
          fmt(r.server.peakRssMb, 1).padStart(12),
          fmt(r.server.retainedGrowthMb, 1).padStart(12),
          fmt(r.server.cpuPct).padStart(12),
          String(r.server.peakDifficulty).padStart(12),
        ].join(' '),
      );
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}`;
  log(
    `powtcp attack benchmark: ${SCENARIOS.length} scenarios x ${MODES.length} modes, ${durationMs / 1000} s each`,
  );
  log(`machine: ${machine}`);
  log(
    `honest: ${HONEST_RATE} gets/s from ${HONEST_SOURCE}; attacker: ${ATTACK_CONCURRENCY} loops from ${ATTACK_SOURCE}`,
  );
  if (!argv.includes('--no-build')) {
    log('building dist/ (npm run build) so that the server runs compiled ...');
    const built = spawnSync(
      process.execPath,
      [
        fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url)),
        '-p',
        'tsconfig.build.json',
      ],
      {
        cwd: root,
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    if (built.status !== 0) throw new Error('build failed');
  }
  const results: RunResult[] = [];
  for (const scenario of SCENARIOS) {
    for (const mode of MODES) {
      const r = await run(mode, scenario);
      results.push(r);
      log(
        `  ${scenario.padEnd(12)} ${MODE_LABEL[mode].padEnd(14)} honest ${(r.honest.successRate * 100).toFixed(1)} % p50 ${fmt(r.honest.p50Ms)} ms, attacker ${fmt(r.attacker.rps)} req/s, RSS ${fmt(r.server.peakRssMb, 1)} MB`,
      );
    }
  }
  const checks = targets(results);
  const text = `${table(results)}\n\nTargets for (a):\n${checks
    .map((c) => `  [${c.met ? 'met' : 'NOT MET'}] ${c.scenario}: ${c.name} (${c.detail})`)
    .join('\n')}\n`;
  mkdirSync(new URL('out/', import.meta.url), { recursive: true });
  const reportPath = fileURLToPath(new URL('out/attack-report.html', import.meta.url));
  writeFileSync(
    reportPath,
    renderReport({ machine, durationMs, results, targets: checks, table: table(results) }),
  );
  if (json) {
    const slim = results.map(({ series: _series, ...rest }) => rest);
    process.stdout.write(
      `${JSON.stringify({ machine, durationMs, results: slim, targets: checks, report: reportPath })}\n`,
    );
  } else {
    process.stdout.write(`\nmachine: ${machine}\n\n${text}\nreport: ${reportPath}\n`);
  }
}

await main();
