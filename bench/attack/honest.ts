/**
 * The honest-client process of the attack lab: a steady stream of requests from one source
 * address at a fixed arrival rate (open loop, so a slow server shows up as latency and
 * failures instead of fewer requests), each solving with the hash power of one honest client
 * (a HashMeter of `hashRate` attempts a second). Reports every outcome over IPC.
 *
 * Kinds of request: `powtcp` (1:, solve, 3:, a quote), `secure` (handshake, one request, its
 * answer), `handshake` (a gossip peer's or bootstrapper's P2P port: the handshake is the join's
 * first step, and what the attacks of issue 9 deny).
 */
import {
  type HandshakePow,
  identityKey,
  parsePublicKey,
  SecureContext,
  secureConnect,
} from '../../src/secure/index.js';
import { resolveLimits } from '../../src/secure/limits.js';
import { defaultPowEngine } from '../../src/secure/pow-engine.js';
import { TcpSecureTransport } from '../../src/services/gossip/tcp-transport.js';
import { HashMeter, meteredEngine, solveHashcashMetered } from './hashpower.js';
import { exchange, failureReason, type HonestOutcome, open, secureRequest } from './lib.js';

export interface HonestArgs {
  kind: 'powtcp' | 'secure' | 'handshake';
  port: number;
  source: string;
  ratePerSec: number;
  maxInFlight: number;
  timeoutMs: number;
  drainMs: number;
  hashRate: number;
  pow?: HandshakePow;
  key?: string;
  serverPublic?: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as HonestArgs;
const meter = new HashMeter(args.hashRate);
const started = Date.now();
const outcomes: (HonestOutcome & { t: number; difficulty?: number })[] = [];
let inFlight = 0;
const running = new Set<number>();
let stopping = false;

function secureContext(): SecureContext | undefined {
  if (args.key === undefined || args.serverPublic === undefined) return undefined;
  const server = parsePublicKey(args.serverPublic);
  const pow = args.pow ?? { kind: 'none' };
  return new SecureContext({
    key: identityKey(args.key),
    trust: { lookup: (id) => (id === server.identity ? server : undefined) },
    pow,
    powEngine: meteredEngine(meter, defaultPowEngine(resolveLimits())),
  });
}
const ctx = secureContext();
/**
 * A gossip peer's or bootstrapper's P2P port asks for seed 000's connection PoW (CONN_INIT /
 * CONN_CHALL / CONN_OK) before the handshake; the honest client pays it as a peer's dial does.
 */
const connPayer =
  args.kind === 'handshake' && ctx !== undefined
    ? new TcpSecureTransport({ key: ctx.config.identity, trust: ctx.config.trust })
    : undefined;

async function powtcpRequest(): Promise<HonestOutcome & { difficulty?: number }> {
  const t0 = performance.now();
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), args.timeoutMs);
  const left = () => Math.max(1, args.timeoutMs - (performance.now() - t0));
  try {
    const s = await open(args.port, args.source, { timeoutMs: left() });
    try {
      const puzzle = await exchange(s, '1:\n', left());
      if (puzzle === undefined || !puzzle.startsWith('2:')) {
        return {
          ok: false,
          ms: performance.now() - t0,
          reason: puzzle?.slice(2) ?? (abort.signal.aborted ? 'timeout' : 'closed'),
        };
      }
      const header = puzzle.slice(2);
      const difficulty = Number(header.split(':')[1]);
      const solved = await solveHashcashMetered(header, meter, abort.signal);
      if (solved === undefined)
        return { ok: false, ms: performance.now() - t0, reason: 'timeout', difficulty };
      const reply = await exchange(s, `3:${solved}\n`, left());
      if (reply?.startsWith('4:')) return { ok: true, ms: performance.now() - t0, difficulty };
      return {
        ok: false,
        ms: performance.now() - t0,
        reason: reply?.slice(2) ?? (abort.signal.aborted ? 'timeout' : 'closed'),
        difficulty,
      };
    } finally {
      s.destroy();
    }
  } catch (error) {
    return {
      ok: false,
      ms: performance.now() - t0,
      reason: abort.signal.aborted ? 'timeout' : failureReason(error),
    };
  } finally {
    clearTimeout(timer);
  }
}

async function handshakeOnly(): Promise<HonestOutcome> {
  const t0 = performance.now();
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), args.timeoutMs);
  try {
    const s = await open(args.port, args.source, { timeoutMs: args.timeoutMs });
    abort.signal.addEventListener('abort', () => s.destroy(), { once: true });
    try {
      await connPayer?.pay(s, abort.signal);
      const channel = await secureConnect(s, {
        key: ctx!.config.identity,
        trust: ctx!.config.trust,
        context: ctx!,
        signal: abort.signal,
      });
      channel.on('error', () => {});
      channel.destroy();
      return { ok: true, ms: performance.now() - t0 };
    } finally {
      s.destroy();
    }
  } catch (error) {
    return {
      ok: false,
      ms: performance.now() - t0,
      reason: abort.signal.aborted ? 'timeout' : failureReason(error),
    };
  } finally {
    clearTimeout(timer);
  }
}

function one(): void {
  const at = (Date.now() - started) / 1000;
  if (inFlight >= args.maxInFlight) {
    outcomes.push({ t: at, ok: false, ms: 0, reason: 'client-backlog' });
    return;
  }
  inFlight++;
  running.add(at);
  const p =
    args.kind === 'powtcp'
      ? powtcpRequest()
      : args.kind === 'secure'
        ? secureRequest(args.port, args.source, ctx!, args.timeoutMs)
        : handshakeOnly();
  p.then((o) => outcomes.push({ t: at, ...o })).finally(() => {
    inFlight--;
    running.delete(at);
  });
}

process.on('message', async (msg: { type: string }) => {
  if (msg.type !== 'stop') return;
  stopping = true;
  clearInterval(timer);
  // Requests in flight get a short while to finish; those still running then count as
  // failures (a server that lets honest requests pile up is failing them).
  const deadline = Date.now() + args.drainMs;
  while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const now = (Date.now() - started) / 1000;
  for (const at of running)
    outcomes.push({ t: at, ok: false, ms: (now - at) * 1000, reason: 'unfinished-at-stop' });
  process.send?.(
    { type: 'result', outcomes, hashes: meter.spent, seconds: (Date.now() - started) / 1000 },
    () => process.exit(0),
  );
});
// One uncounted request first: the solver and verifier pools of both sides start (seconds on a
// loaded host), so the run measures the service, not its warm-up.
if (args.kind !== 'powtcp') {
  await (args.kind === 'secure'
    ? secureRequest(args.port, args.source, ctx!, args.timeoutMs * 2)
    : handshakeOnly());
  meter.spent = 0;
}
process.send?.({ type: 'ready' });
const timer = setInterval(() => {
  if (!stopping) one();
}, 1000 / args.ratePerSec);
