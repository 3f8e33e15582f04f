/**
 * The honest-client process of the attack benchmark: a steady stream of `powtcp get`s from
 * one source address at a fixed arrival rate (not closed-loop, so a slow server shows up as
 * latency and failures instead of fewer requests). Reports every outcome over IPC.
 */
import { powtcpGet } from '../../src/services/powtcp/client.js';

interface Args {
  host: string;
  port: number;
  source: string;
  ratePerSec: number;
  maxInFlight: number;
  timeoutMs: number;
  drainMs: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const started = Date.now();
const outcomes: { t: number; ok: boolean; ms: number; difficulty: number; reason?: string }[] = [];
let inFlight = 0;
/** Start times of requests still running, so that the ones unfinished at stop count as failures. */
const running = new Set<number>();
let stopping = false;

function one(): void {
  if (inFlight >= args.maxInFlight) {
    outcomes.push({
      t: (Date.now() - started) / 1000,
      ok: false,
      ms: 0,
      difficulty: 0,
      reason: 'client-backlog',
    });
    return;
  }
  inFlight++;
  const t0 = performance.now();
  const at = (Date.now() - started) / 1000;
  running.add(at);
  powtcpGet(
    { host: args.host, port: args.port },
    { localAddress: args.source, replyTimeoutMs: args.timeoutMs, solveTimeoutMs: args.timeoutMs },
  )
    .then(
      (r) => outcomes.push({ t: at, ok: true, ms: performance.now() - t0, difficulty: r.difficulty }),
      (err: unknown) =>
        outcomes.push({
          t: at,
          ok: false,
          ms: performance.now() - t0,
          difficulty: 0,
          reason:
            (err as { reason?: string; code?: string }).reason ??
            (err as { code?: string }).code ??
            String(err),
        }),
    )
    .finally(() => {
      inFlight--;
      running.delete(at);
    });
}

const timer = setInterval(() => {
  if (!stopping) one();
}, 1000 / args.ratePerSec);

process.on('message', async (msg: { type: string }) => {
  if (msg.type !== 'stop') return;
  stopping = true;
  clearInterval(timer);
  // Requests in flight get a short while to finish; those still running then count as
  // failures (a server that lets honest requests pile up is failing them).
  const deadline = Date.now() + args.drainMs;
  while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const now = (Date.now() - started) / 1000;
  for (const at of running) {
    outcomes.push({ t: at, ok: false, ms: (now - at) * 1000, difficulty: 0, reason: 'unfinished-at-stop' });
  }
  process.send?.({ type: 'result', outcomes }, () => process.exit(0));
});
process.send?.({ type: 'ready' });
