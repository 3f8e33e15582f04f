/**
 * The powtcp part of `tollgate demo` (issue 3 item 8): a server on loopback, honest clients
 * fetching quotes, then a short flood of `1:` from many loopback addresses (so that the
 * per-address rate limit alone does not absorb it and the load controller has to act), then
 * calm. Returns a timeline a second at a time: difficulty (unsolved `1:` are not load, so the
 * flood leaves the global price alone; only verified solves raise it), quotes served, flood
 * requests answered and refused.
 */
import { connect, type Socket } from 'node:net';
import { formatEndpoint } from '../../admission/endpoint.js';
import type { SolveProgress } from '../../pow/types.js';
import { powtcpGet } from './client.js';
import { startPowtcpService } from './index.js';

export interface PowtcpDemoTick {
  /** Seconds since the start. */
  readonly t: number;
  readonly phase: 'idle' | 'flood' | 'calm';
  /** Difficulty of new puzzles at the end of the second (hex digits). */
  readonly difficulty: number;
  readonly quotes: number;
  /** Solver attempts of honest gets so far. */
  readonly attempts: number;
  /** Mean time of the honest gets finished in this second (ms), or undefined. */
  readonly meanGetMs: number | undefined;
  readonly floodAnswered: number;
  readonly floodRefused: number;
}

export interface PowtcpDemoResult {
  readonly address: string;
  readonly ticks: readonly PowtcpDemoTick[];
  readonly honest: {
    readonly ok: number;
    readonly failed: number;
    readonly attempts: number;
    readonly ms: number;
  };
  readonly peakDifficulty: number;
  readonly finalDifficulty: number;
}

export interface PowtcpDemoOptions {
  readonly workers: number;
  /** Seconds of each phase. */
  readonly idleS?: number;
  readonly floodS?: number;
  readonly calmS?: number;
  /** Called once a second with the newest tick. */
  readonly onTick?: (tick: PowtcpDemoTick) => void;
  readonly onProgress?: (p: SolveProgress) => void;
}

/** Flood source addresses: 127.0.1.1 .. 127.0.1.N (all of 127/8 is loopback on Linux). */
const FLOOD_SOURCES = 48;
const FLOOD_LOOPS = 24;

function floodLoop(
  port: number,
  index: number,
  stop: () => boolean,
  count: (ok: boolean) => void,
): Promise<void> {
  return new Promise((resolve) => {
    let n = index;
    const next = (): void => {
      if (stop()) {
        resolve();
        return;
      }
      const source = `127.0.1.${(n++ % FLOOD_SOURCES) + 1}`;
      const s: Socket = connect({ host: '127.0.0.1', port, localAddress: source });
      let buf = '';
      s.setEncoding('latin1');
      s.on('error', () => {});
      s.on('connect', () => s.write('1:\n'));
      s.on('data', (chunk: string) => {
        buf += chunk;
        for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          count(line.startsWith('2:'));
          if (line.startsWith('2:') && !stop()) s.write('1:\n');
          else s.destroy();
        }
      });
      s.on('close', () => setImmediate(next));
    };
    next();
  });
}

export async function runPowtcpDemo(options: PowtcpDemoOptions): Promise<PowtcpDemoResult> {
  const idleS = options.idleS ?? 3;
  const floodS = options.floodS ?? 4;
  const calmS = options.calmS ?? 6;
  // A small planned capacity and queue, so that a few seconds show the controller at work.
  const svc = await startPowtcpService({
    listen: { host: '127.0.0.1', port: 0 },
    limits: { queueSize: 8, serviceRatePerSec: 40, maxDifficulty: 4, ratePerSec: 10, burst: 20 },
  });
  const port = svc.address.port;
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const phaseAt = (t: number): PowtcpDemoTick['phase'] =>
    t < idleS ? 'idle' : t < idleS + floodS ? 'flood' : 'calm';
  const end = idleS + floodS + calmS;

  let quotes = 0;
  let failed = 0;
  let attempts = 0;
  let getMs = 0;
  let tickGets: number[] = [];
  let floodOk = 0;
  let floodRefused = 0;
  let peak = svc.admission.difficulty;
  const ticks: PowtcpDemoTick[] = [];

  const honest = (async () => {
    while (elapsed() < end) {
      try {
        const r = await powtcpGet(
          { host: '127.0.0.1', port },
          {
            workers: options.workers,
            localAddress: '127.0.0.2',
            solveTimeoutMs: 5_000,
            ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
          },
        );
        quotes++;
        attempts += r.attempts;
        getMs += r.totalMs;
        tickGets.push(r.totalMs);
      } catch {
        failed++;
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  })();

  const floodStop = () => phaseAt(elapsed()) !== 'flood';
  const flood = (async () => {
    while (elapsed() < idleS) await new Promise((r) => setTimeout(r, 20));
    await Promise.all(
      Array.from({ length: FLOOD_LOOPS }, (_, i) =>
        floodLoop(port, i * 2, floodStop, (ok) => {
          if (ok) floodOk++;
          else floodRefused++;
        }),
      ),
    );
  })();

  for (let second = 1; second <= end; second++) {
    await new Promise((r) => setTimeout(r, Math.max(0, second * 1000 - (performance.now() - started))));
    const difficulty = svc.admission.difficulty;
    peak = Math.max(peak, difficulty);
    const tick: PowtcpDemoTick = {
      t: second,
      phase: phaseAt(second - 0.5),
      difficulty,
      quotes,
      attempts,
      meanGetMs: tickGets.length === 0 ? undefined : tickGets.reduce((a, b) => a + b, 0) / tickGets.length,
      floodAnswered: floodOk,
      floodRefused,
    };
    tickGets = [];
    ticks.push(tick);
    options.onTick?.(tick);
  }
  await Promise.all([honest, flood]);
  const finalDifficulty = svc.admission.difficulty;
  await svc.close();
  return {
    address: formatEndpoint(svc.address),
    ticks,
    honest: { ok: quotes, failed, attempts, ms: getMs },
    peakDifficulty: peak,
    finalDifficulty,
  };
}
