/**
 * Attempts per second of the native solver on one core, beside the anchors measured in the
 * same run: `openssl speed` (bytes/s / 64 = compressions/s, the best a single-stream
 * implementation on this CPU does) and a naive node:crypto loop (one createHash per attempt).
 *
 *   npm run bench:native [-- --attempts 16777216 --rounds 3]
 *
 * Rates are per second of CPU user time, as `openssl speed` measures by default.
 * Each figure is the best of `rounds` runs, alternating ours and the anchors, so that a
 * busy machine penalises both alike. The difficulty is impossible (sha256-bits 64 bits,
 * hashcash 40 hex digits), so every run makes exactly `attempts` attempts.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadNativeAddon, nativeLoadError } from '../src/pow/native.js';

const { values } = parseArgs({
  options: {
    attempts: { type: 'string', default: String(2 ** 24) },
    rounds: { type: 'string', default: '3' },
  },
});
const attempts = Number(values.attempts);
const rounds = Number(values.rounds);
if (!Number.isInteger(attempts) || attempts < 1 || !Number.isInteger(rounds) || rounds < 1) {
  console.error('--attempts and --rounds must be positive integers');
  process.exit(2);
}

const addon = loadNativeAddon();
if (addon === null) {
  console.error(`native addon not available: ${nativeLoadError()}`);
  process.exit(1);
}

/** Rate per second of CPU user time, the divisor `openssl speed` uses too (less noisy on a busy machine). */
function timed(fn: () => number): number {
  const t0 = process.cpuUsage();
  const n = fn();
  const seconds = process.cpuUsage(t0).user / 1e6;
  return n / seconds;
}

/** Compressions per second from `openssl speed -evp <alg> -bytes 16384`, or NaN without openssl. */
function opensslRate(alg: 'sha256' | 'sha1'): number {
  const r = spawnSync('openssl', ['speed', '-seconds', '2', '-evp', alg, '-bytes', '16384'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) return Number.NaN;
  // last line: "sha256   1927696.98k" (thousands of bytes per second)
  const m = new RegExp(`^${alg}\\s+([0-9.]+)k\\s*$`, 'm').exec(r.stdout);
  return m?.[1] === undefined ? Number.NaN : (Number(m[1]) * 1000) / 64;
}

const challenge = randomBytes(16);
const prefix = Buffer.from('1:40:20261121093000:127.0.0.1:53422::Vmh0Yw==:', 'latin1');
const impls: Array<'shani' | 'portable'> = addon.features().shani ? ['shani', 'portable'] : ['portable'];
// The portable code is several times slower: fewer attempts keep the run short.
const count = (impl: string) => (impl === 'shani' ? attempts : Math.max(1, attempts >> 2));

const best = new Map<string, number>();
const keep = (key: string, rate: number) => best.set(key, Math.max(best.get(key) ?? 0, rate));

for (let round = 0; round < rounds; round++) {
  keep('openssl sha256', opensslRate('sha256'));
  for (const impl of impls) {
    keep(
      `sha256-bits native-${impl}`,
      timed(() => addon.searchSha256Bits(challenge, 64, 0n, count(impl), null, impl).attempts),
    );
  }
  keep('openssl sha1', opensslRate('sha1'));
  for (const impl of impls) {
    keep(
      `hashcash native-${impl}`,
      timed(() => addon.searchHashcash(prefix, 40, 0n, count(impl), null, impl).attempts),
    );
  }
  // Counters from 10^18: the changing bytes lie in the second final block (one compression each).
  const fast = impls[0]!;
  keep(
    `hashcash native-${fast} from 10^18`,
    timed(() => addon.searchHashcash(prefix, 40, 10n ** 18n, count(fast), null, fast).attempts),
  );
  keep(
    'sha256-bits node:crypto loop',
    timed(() => {
      const n = Math.max(1, attempts >> 6);
      const nonce = Buffer.alloc(8);
      for (let i = 0; i < n; i++) {
        nonce.writeBigUInt64BE(BigInt(i));
        createHash('sha256').update(challenge).update(nonce).digest();
      }
      return n;
    }),
  );
}

const sha256Anchor = best.get('openssl sha256') ?? Number.NaN;
const sha1Anchor = best.get('openssl sha1') ?? Number.NaN;
const rows: Array<[string, number, string]> = [];
for (const [name, rate] of best) {
  const anchor = name.startsWith('hashcash') || name === 'openssl sha1' ? sha1Anchor : sha256Anchor;
  const unit = name.startsWith('openssl') ? 'compressions/s' : 'attempts/s';
  rows.push([`${name} (${unit})`, rate, Number.isNaN(anchor) ? '-' : `${(rate / anchor).toFixed(2)}x`]);
}
const width = Math.max(...rows.map(([name]) => name.length));
console.log(`one core, best of ${rounds}; ratio = rate / openssl compressions/s of the same hash`);
console.log(`${'measurement'.padEnd(width)}  ${'rate (M/s)'.padStart(10)}  ratio`);
for (const [name, rate, ratio] of rows) {
  console.log(`${name.padEnd(width)}  ${(rate / 1e6).toFixed(2).padStart(10)}  ${ratio}`);
}
console.log(
  `hashcash: ${prefix.length}-byte prefix; counting from 0 as the reference client does, an attempt costs one ` +
    'compression below 10^6 and two above (the counter no longer fits the first final block)',
);
