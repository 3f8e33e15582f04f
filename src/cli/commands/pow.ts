/**
 * `tollgate pow solve|verify`: solve and check puzzles of each kind from the command line.
 */
import {
  checkHashcash,
  expectedAttempts as hashcashExpected,
  parseHashcash,
  solveHashcash,
} from '../../pow/hashcash.js';
import { POW_LIMITS } from '../../pow/limits.js';
import {
  DEFAULT_SCRYPT_PARAMS,
  type ScryptParams,
  expectedAttempts as scryptExpected,
  solveScrypt,
  targetForBits,
  verifyScrypt,
} from '../../pow/scrypt.js';
import { checkScryptCost } from '../../pow/scrypt-hash.js';
import {
  leadingZeroBits,
  sha256BitsHash,
  expectedAttempts as sha256Expected,
  solveSha256Bits,
} from '../../pow/sha256-bits.js';
import type { SolveOptions, SolveResult } from '../../pow/types.js';
import { parseHex } from '../../util/args.js';
import { ArgumentError } from '../../util/errors.js';
import { type Command, parseCommandArgs } from '../command.js';
import { parseIntegerFlag } from '../flags.js';
import { createProgress, formatCount, formatMs } from '../progress.js';

const KINDS = ['sha256-bits', 'hashcash-sha1', 'scrypt'] as const;
type Kind = (typeof KINDS)[number];

const HELP = `Usage: tollgate pow <solve|verify> --kind <kind> [options]

Solve or verify a proof-of-work puzzle.

Kinds and their options:
  sha256-bits     --challenge <hex> --difficulty <bits>           (verify: --nonce <hex>)
                  valid iff SHA-256(challenge || nonce u64 BE) has >= bits leading zero bits
  hashcash-sha1   --header <1:bits:date:resource:ext:rand:counter>
                  the powtcp puzzle; solve prints the solved header, verify checks it
  scrypt          --message <hex> [--N n] [--r r] [--p p] (--difficulty <bits> | --target <hex>)
                  (verify: --nonce <hex>) valid iff scrypt(message || nonce u64 BE,
                  "tollgate-scrypt-pow-v1", N, r, p, 32) < target; target = 2^(256-bits)

Solve options:
  --workers <n>          worker threads (default 1, at most ${POW_LIMITS.maxSolveWorkers})
  --backend <name>       native | ts | auto (default auto: native when it loads)
  --max-attempts <n>     give up after n attempts
  --timeout <ms>         give up after ms milliseconds
  --json                 print the result as one JSON object on the last line

Exit codes: 0 solved / valid, 1 invalid or no solution within the budget, 2 bad arguments.
`;

const options = {
  kind: { type: 'string' },
  challenge: { type: 'string' },
  difficulty: { type: 'string' },
  nonce: { type: 'string' },
  header: { type: 'string' },
  message: { type: 'string' },
  target: { type: 'string' },
  N: { type: 'string' },
  r: { type: 'string' },
  p: { type: 'string' },
  workers: { type: 'string' },
  backend: { type: 'string' },
  'max-attempts': { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
} as const;

type Values = Partial<Record<Exclude<keyof typeof options, 'json'>, string>> & { json?: boolean };

function required(values: Values, name: keyof Values & string): string {
  const value = values[name];
  if (typeof value !== 'string') throw new ArgumentError(`--${name}`, 'is required');
  return value;
}

function integer(name: string, text: string, min: number, max: number): number {
  return parseIntegerFlag(`--${name}`, text, min, max);
}

function nonceArg(text: string): bigint {
  if (!/^[0-9a-fA-F]{1,16}$/.test(text))
    throw new ArgumentError('--nonce', `expected 1 to 16 hex digits, got '${text}'`);
  return BigInt(`0x${text}`);
}

function hexArg(name: string, text: string): Uint8Array {
  try {
    return parseHex(`--${name}`, text);
  } catch {
    throw new ArgumentError(`--${name}`, `expected an even number of hex digits, got '${text}'`);
  }
}

function kindArg(values: Values): Kind {
  const kind = required(values, 'kind');
  if (!(KINDS as readonly string[]).includes(kind)) {
    throw new ArgumentError('--kind', `expected one of ${KINDS.join(', ')}, got '${kind}'`);
  }
  return kind as Kind;
}

function scryptParams(values: Values): ScryptParams {
  const N = values.N === undefined ? DEFAULT_SCRYPT_PARAMS.N : integer('N', values.N, 2, 2 ** 30);
  const r = values.r === undefined ? DEFAULT_SCRYPT_PARAMS.r : integer('r', values.r, 1, 1024);
  const p = values.p === undefined ? DEFAULT_SCRYPT_PARAMS.p : integer('p', values.p, 1, 1024);
  if (values.difficulty !== undefined && values.target !== undefined) {
    throw new ArgumentError('--target', 'give either --difficulty or --target, not both');
  }
  let target = DEFAULT_SCRYPT_PARAMS.target;
  if (values.difficulty !== undefined)
    target = targetForBits(integer('difficulty', values.difficulty, 0, 256));
  if (values.target !== undefined) {
    if (!/^[0-9a-fA-F]{1,64}$/.test(values.target) || BigInt(`0x${values.target}`) === 0n) {
      throw new ArgumentError('--target', `expected 1 to 64 hex digits, not zero, got '${values.target}'`);
    }
    target = BigInt(`0x${values.target}`);
  }
  try {
    checkScryptCost({ N, r, p });
  } catch (error) {
    // Name the command-line option rather than the library parameter.
    if (error instanceof ArgumentError) {
      throw new ArgumentError(`--${error.argument}`, error.message.slice(error.argument.length + 2));
    }
    throw error;
  }
  return { N, r, p, target };
}

function solveOptions(
  values: Values,
  label: string,
  expected: number,
): { opts: SolveOptions; done: () => void } {
  const workers =
    values.workers === undefined ? 1 : integer('workers', values.workers, 1, POW_LIMITS.maxSolveWorkers);
  const backend = values.backend ?? 'auto';
  if (backend !== 'native' && backend !== 'ts' && backend !== 'auto') {
    throw new ArgumentError('--backend', `expected native, ts or auto, got '${backend}'`);
  }
  const progress = createProgress(label, expected, process.stderr, { plain: values.json !== true });
  const opts: SolveOptions = {
    workers,
    backend,
    onProgress: (p) => progress.update(p),
    ...(values['max-attempts'] === undefined
      ? {}
      : { maxAttempts: integer('max-attempts', values['max-attempts'], 0, Number.MAX_SAFE_INTEGER) }),
    ...(values.timeout === undefined
      ? {}
      : { timeoutMs: integer('timeout', values.timeout, 0, 2 ** 31 - 1) }),
  };
  return { opts, done: () => progress.done() };
}

function printSolved(result: SolveResult, json: boolean, extra: Record<string, string> = {}): void {
  const nonce = result.nonce.toString(16).padStart(16, '0');
  if (json) {
    process.stdout.write(
      `${JSON.stringify({
        nonce,
        attempts: result.attempts,
        ms: result.ms,
        backend: result.backend,
        workers: result.workers,
        ...extra,
      })}\n`,
    );
    return;
  }
  for (const [key, value] of Object.entries(extra)) process.stdout.write(`${key} ${value}\n`);
  const rate = result.ms > 0 ? (result.attempts * 1000) / result.ms : 0;
  process.stdout.write(
    `nonce ${nonce}\n${formatCount(result.attempts)} attempts in ${formatMs(result.ms)} (${formatCount(rate)}/s), backend ${result.backend}, ${result.workers} worker${result.workers === 1 ? '' : 's'}\n`,
  );
}

async function solve(values: Values): Promise<number> {
  const kind = kindArg(values);
  const json = values.json === true;
  if (kind === 'sha256-bits') {
    const challenge = hexArg('challenge', required(values, 'challenge'));
    const difficulty = integer('difficulty', required(values, 'difficulty'), 0, POW_LIMITS.maxSha256Bits);
    const { opts, done } = solveOptions(values, 'sha256-bits', sha256Expected(difficulty));
    const result = await solveSha256Bits({ challenge, difficulty }, opts).finally(done);
    printSolved(result, json);
    return 0;
  }
  if (kind === 'hashcash-sha1') {
    const text = required(values, 'header');
    const parsed = parseHashcash(text);
    if (!parsed.ok) throw new ArgumentError('--header', parsed.detail ?? parsed.code);
    const { opts, done } = solveOptions(values, 'hashcash-sha1', hashcashExpected(parsed.value.bits));
    const result = await solveHashcash(parsed.value, opts).finally(done);
    printSolved(result, json, { header: result.header });
    return 0;
  }
  const message = hexArg('message', required(values, 'message'));
  const params = scryptParams(values);
  const { opts, done } = solveOptions(values, 'scrypt', scryptExpected(params.target));
  const result = await solveScrypt(message, params, opts).finally(done);
  printSolved(result, json);
  return 0;
}

function verdict(json: boolean, valid: boolean, reason: string): number {
  if (json) process.stdout.write(`${JSON.stringify({ valid, reason })}\n`);
  else process.stdout.write(`${valid ? 'valid' : 'invalid'}: ${reason}\n`);
  return valid ? 0 : 1;
}

async function verify(values: Values): Promise<number> {
  const kind = kindArg(values);
  const json = values.json === true;
  if (kind === 'sha256-bits') {
    const challenge = hexArg('challenge', required(values, 'challenge'));
    const difficulty = integer('difficulty', required(values, 'difficulty'), 0, POW_LIMITS.maxSha256Bits);
    const nonce = nonceArg(required(values, 'nonce'));
    const zeros = leadingZeroBits(sha256BitsHash(challenge, nonce));
    return verdict(json, zeros >= difficulty, `${zeros} leading zero bits, ${difficulty} required`);
  }
  if (kind === 'hashcash-sha1') {
    const checked = checkHashcash(required(values, 'header'));
    if (checked.ok) return verdict(json, true, `at least ${checked.value.bits} leading hex zeros`);
    return verdict(json, false, `${checked.code}: ${checked.detail ?? ''}`);
  }
  const message = hexArg('message', required(values, 'message'));
  const params = scryptParams(values);
  const nonce = nonceArg(required(values, 'nonce'));
  const valid = await verifyScrypt(message, nonce, params);
  return verdict(
    json,
    valid,
    `scrypt hash ${valid ? 'below' : 'not below'} target 0x${params.target.toString(16)} (N=${params.N}, r=${params.r}, p=${params.p})`,
  );
}

const command: Command = {
  async run(argv) {
    const [action, ...rest] = argv;
    if (action === undefined || action === '--help' || action === '-h') {
      process.stdout.write(HELP);
      return action === undefined ? 2 : 0;
    }
    if (action !== 'solve' && action !== 'verify') {
      throw new ArgumentError('action', `expected solve or verify, got '${action}'`);
    }
    const parsed = parseCommandArgs(rest, options, HELP);
    if (parsed === null) return 0;
    const values = parsed.values as Values;
    try {
      return action === 'solve' ? await solve(values) : await verify(values);
    } catch (error) {
      if (error instanceof Error && 'code' in error && error.code === 'ERR_POW_BUDGET') {
        process.stderr.write(`tollgate: ${error.message} (ERR_POW_BUDGET)\n`);
        return 1;
      }
      throw error;
    }
  },
};

export default command;
