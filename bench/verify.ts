/**
 * Verification throughput on one core: for each of many distinct pre-solved sha256-bits
 * challenges, the full server-side path of DESIGN "The admission pipeline" steps 3 to 5:
 * open the sealed challenge (AES-256-GCM, key ring lookup, expiry, endpoints), check the PoW
 * (`verifySha256Bits`: one SHA-256), and mark it redeemed in the MemoryStore. Target: >= 200,000 per second.
 *
 * Run alone: `node --import tsx bench/verify.ts [seconds]`; `bench:pow` calls
 * `measureVerification`.
 */
import { pathToFileURL } from 'node:url';
import type { Endpoint } from '../src/admission/endpoint.js';
import { admitSolved, ReplayGuard } from '../src/admission/replay.js';
import type { ChallengeState } from '../src/admission/sealed.js';
import { ChallengeSealer, KeyRing, readSealedHeader } from '../src/admission/sealed.js';
import { MemoryStore } from '../src/admission/store.js';
import { verifySha256Bits } from '../src/pow/sha256-bits.js';
import { ManualClock } from '../src/util/clock.js';

export interface VerificationResult {
  /** Full verifications (open + PoW check + replay mark) per second of CPU time on one thread. */
  readonly perSecond: number;
  /** The same per second of wall-clock time (lower on a busy machine). */
  readonly perSecondWall: number;
  /** The same path with the store's synchronous call instead of the async pipeline helper. */
  readonly perSecondSync: number;
  readonly verified: number;
  readonly seconds: number;
  readonly difficulty: number;
  readonly distinctChallenges: number;
  /** Which PoW check ran. */
  readonly verifier: string;
}

const client: Endpoint = { host: '198.51.100.23', port: 51234 };
const server: Endpoint = { host: '203.0.113.5', port: 8000 };

function solve(challenge: Uint8Array, difficulty: number): bigint {
  for (let nonce = 0n; ; nonce++) if (verifySha256Bits({ challenge, difficulty }, nonce)) return nonce;
}

export interface MeasureOptions {
  /** Difficulty of the pre-solved challenges (bits); low, so that preparing them is quick. */
  readonly difficulty?: number;
  /** How many distinct challenges to prepare; the timed loop cycles through them with a fresh store per pass. */
  readonly distinct?: number;
}

export async function measureVerification(
  seconds = 2,
  options: MeasureOptions = {},
): Promise<VerificationResult> {
  const difficulty = options.difficulty ?? 4;
  const distinct = options.distinct ?? 20_000;
  const clock = new ManualClock(Date.now());
  const sealer = new ChallengeSealer(new KeyRing({ clock }));
  const sealed: Uint8Array[] = [];
  const nonces = new Map<string, bigint>();
  for (let i = 0; i < distinct; i++) {
    const s = sealer.seal({ kind: 'sha256-bits', difficulty, client, server });
    const header = readSealedHeader(s);
    if (!header.ok) throw new Error('sealed header unreadable');
    sealed.push(s);
    nonces.set(
      Buffer.from(header.value.challenge).toString('latin1'),
      solve(header.value.challenge, difficulty),
    );
  }
  const nonceOf = (state: ChallengeState) =>
    nonces.get(Buffer.from(state.challenge).toString('latin1')) ?? -1n;
  const verify = (state: ChallengeState, d: number) =>
    verifySha256Bits({ challenge: state.challenge, difficulty: d }, nonceOf(state));

  // The nonce lookup (a Map get) stands in for parsing the client's message; it is timed too.
  const pipelineRound = async (): Promise<number> => {
    const guard = new ReplayGuard(new MemoryStore({ clock }));
    let ok = 0;
    for (const s of sealed) {
      const v = await admitSolved({ sealer, guard, sealed: s, client, server, verify });
      if (!v.ok) throw new Error(`verification failed: ${v.code}`);
      ok++;
    }
    return ok;
  };
  const syncRound = async (): Promise<number> => {
    const store = new MemoryStore({ clock });
    const guard = new ReplayGuard(store);
    let ok = 0;
    for (const s of sealed) {
      const v = sealer.open(s, { client, server });
      if (!v.ok || !verify(v.value, v.value.difficulty)) throw new Error('verification failed');
      if (!store.setIfAbsentSync(guard.keyOf(v.value.challenge), v.value.expiresAt))
        throw new Error('replayed');
      ok++;
    }
    return ok;
  };

  // Rates are per second of this thread's CPU time (the machine may be shared, and the
  // figure asked for is per core); the wall-clock rate is reported beside it.
  const timed = async (round: () => Promise<number>, budgetMs: number) => {
    await round(); // warm-up pass
    let count = 0;
    const wall = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    let wallMs = 0;
    while (wallMs < budgetMs) {
      count += await round();
      wallMs = Number(process.hrtime.bigint() - wall) / 1e6;
    }
    const used = process.cpuUsage(cpu);
    return { count, wallMs, cpuMs: (used.user + used.system) / 1000 };
  };
  const a = await timed(pipelineRound, (seconds * 1000) / 2);
  const b = await timed(syncRound, (seconds * 1000) / 2);
  return {
    perSecond: Math.round((a.count * 1000) / a.cpuMs),
    perSecondWall: Math.round((a.count * 1000) / a.wallMs),
    perSecondSync: Math.round((b.count * 1000) / b.cpuMs),
    verified: a.count + b.count,
    seconds: (a.wallMs + b.wallMs) / 1000,
    difficulty,
    distinctChallenges: distinct,
    verifier: 'verifySha256Bits (src/pow/sha256-bits.ts)',
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const seconds = Number(process.argv[2] ?? 2);
  const r = await measureVerification(seconds);
  const target = 200_000;
  const rows: [string, string][] = [
    [
      'full verification (admitSolved: open + PoW + replay mark)',
      `${r.perSecond.toLocaleString('en-US')} /s`,
    ],
    ['same, per wall-clock second', `${r.perSecondWall.toLocaleString('en-US')} /s`],
    ['same path, synchronous store call', `${r.perSecondSync.toLocaleString('en-US')} /s`],
    ['target', `${target.toLocaleString('en-US')} /s`],
    ['ratio to target', `${(r.perSecond / target).toFixed(2)}x`],
    ['PoW check', r.verifier],
    ['difficulty (bits), distinct challenges', `${r.difficulty}, ${r.distinctChallenges}`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
}
