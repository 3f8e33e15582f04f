/**
 * Difficulty inflation of powtcp (issue 9 item 6, the class of Tor's proposal 362): how far
 * can a few addresses that never solve raise the price everyone else pays, and what does it
 * cost them? Runs the real admission logic (rate limits, pricing, sealing) of the stateless
 * mode on a manual clock, so that a minute of attack takes a few seconds and every figure is
 * exact and repeatable.
 *
 *   npm run bench:powtcp-inflation            (-- --json: one JSON object on the last line)
 *
 * 1. Burst: 80 unsolved `1:` from 4 addresses at once; the price a newcomer from another
 *    address is given right after, and how long until a newcomer pays the idle price again
 *    (honest clients keep arriving at 4 gets a second meanwhile, as in bench:attack).
 * 2. Holding the price: an attacker on A addresses re-bursts every P ms (B `1:` per address);
 *    the lowest attacker rate (requests sent per second) that keeps at least 90 % of honest
 *    puzzles at 2 hex digits or more (16x the idle work; 4x is not a price the format has)
 *    over a simulated minute.
 */
import { makeAdmission } from '../src/services/powtcp/index.js';
import { powtcpLimits } from '../src/services/powtcp/limits.js';
import { ManualClock } from '../src/util/clock.js';

const json = process.argv.includes('--json');
const HONEST_PER_SEC = 4;
const SERVER = { host: '127.0.0.1', port: 8765 };

type Admission = ReturnType<typeof makeAdmission>;

function bitsOf(header: string): number {
  return Number(header.split(':')[1]);
}

let port = 1024;
function conn(host: string) {
  port = port >= 65535 ? 1024 : port + 1;
  return { client: { host, port }, server: SERVER };
}

function fresh(clock: ManualClock): Admission {
  return makeAdmission({ listen: SERVER, clock, quotes: ['q'] }, powtcpLimits());
}

let honestSeq = 0;
/** One honest get from a fresh address: `1:`, then its puzzle sent back (load, as a solve is). */
async function honest(a: Admission): Promise<number> {
  const n = honestSeq++;
  const c = conn(`10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`);
  const v = await a.issue(c);
  if (!v.ok) return Number.NaN;
  await a.redeem(c, v.value);
  return bitsOf(v.value);
}

const attacker = (i: number) => `192.0.${(i >> 8) & 255}.${i & 255}`;

async function burst(): Promise<{ newcomerDigits: number; idleAfterMs: number }> {
  const clock = new ManualClock(1_700_000_000_000);
  const a = fresh(clock);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 20; j++) await a.issue(conn(attacker(i)));
  const newcomerDigits = await honest(a);
  const stepMs = 1000 / HONEST_PER_SEC;
  let t = 0;
  for (; t < 120_000; t += stepMs) {
    clock.advance(stepMs);
    if ((await honest(a)) === 1) break;
  }
  return { newcomerDigits, idleAfterMs: t + stepMs };
}

/** Share of honest puzzles at >= 2 digits over `seconds` under the given attacker. */
async function hold(addresses: number, periodMs: number, perAddress: number, seconds: number) {
  const clock = new ManualClock(1_700_000_000_000);
  const a = fresh(clock);
  const stepMs = 1000 / HONEST_PER_SEC;
  let high = 0;
  let total = 0;
  let nextBurst = 0;
  for (let t = 0; t < seconds * 1000; t += stepMs) {
    while (nextBurst <= t) {
      for (let i = 0; i < addresses; i++)
        for (let j = 0; j < perAddress; j++) await a.issue(conn(attacker(i)));
      nextBurst += periodMs;
    }
    const bits = await honest(a);
    total++;
    if (bits >= 2) high++;
    clock.advance(stepMs);
  }
  return high / total;
}

async function cheapestHold(
  addresses: number,
): Promise<{ rate: number; periodMs: number; perAddress: number } | undefined> {
  const options: { rate: number; periodMs: number; perAddress: number }[] = [];
  for (const periodMs of [100, 250, 500, 1000, 2000, 4000, 8000, 16000, 32000]) {
    for (const perAddress of [1, 4, 20]) {
      const rate = (addresses * perAddress * 1000) / periodMs;
      if (rate <= 2000) options.push({ rate, periodMs, perAddress });
    }
  }
  options.sort((x, y) => x.rate - y.rate);
  for (const o of options) {
    if ((await hold(addresses, o.periodMs, o.perAddress, 60)) >= 0.9) return o;
  }
  return undefined;
}

const b = await burst();
const rows: { addresses: number; rate: number | null; periodMs: number | null; perAddress: number | null }[] =
  [];
for (const addresses of [4, 16, 32, 64]) {
  const h = await cheapestHold(addresses);
  rows.push({
    addresses,
    rate: h?.rate ?? null,
    periodMs: h?.periodMs ?? null,
    perAddress: h?.perAddress ?? null,
  });
}

console.log('burst of 80 unsolved 1: from 4 addresses');
console.log(`  newcomer's price right after: ${b.newcomerDigits} hex digits (idle: 1)`);
console.log(`  idle price again after:       ${(b.idleAfterMs / 1000).toFixed(2)} s`);
console.log('');
console.log('cheapest attacker that keeps >= 90 % of honest puzzles at >= 2 hex digits for a minute');
console.log('  addresses | attacker req/s | how (burst per address every P ms)');
for (const r of rows) {
  console.log(
    `  ${String(r.addresses).padStart(9)} | ${r.rate === null ? 'none <= 2000/s'.padStart(14) : r.rate.toFixed(1).padStart(14)} | ${r.rate === null ? '-' : `${r.perAddress} every ${r.periodMs} ms`}`,
  );
}
if (json) console.log(JSON.stringify({ burst: b, hold: rows }));
