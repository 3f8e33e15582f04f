/**
 * hashcash-sha1: the puzzle of the powtcp protocol (seed 001; spec/powtcp.md "Puzzle").
 *
 *   1:<bits>:<date>:<resource>:<ext>:<rand>:<counter>
 *
 * `bits` counts leading lowercase-hex '0' digits of SHA-1(whole header as ASCII); `counter`
 * is standard base64 of the decimal counter string. Parsing is canonical: a header parses
 * only if formatting the result gives back the same text, so the bytes hashed are the bytes
 * received and no two texts stand for the same puzzle.
 */
import { hash } from 'node:crypto';
import { assertInteger } from '../util/args.js';
import { ArgumentError, accept, reject, type Verdict } from '../util/errors.js';
import { getBackend } from './backend.js';
import { POW_LIMITS } from './limits.js';
import { solveInPool } from './solve.js';
import type { SolveOptions, SolveResult } from './types.js';

export interface HashcashHeader {
  readonly version: 1;
  /** Leading zero hex digits required of the SHA-1. */
  readonly bits: number;
  /** UTC `YYYYMMDDhhmmss`. */
  readonly date: string;
  /** The client's `ip:port` (IPv6 `[addr]:port`); may contain ':'. */
  readonly resource: string;
  readonly ext: string;
  /** Standard base64 of arbitrary bytes. */
  readonly rand: string;
  /** Standard base64 of the decimal counter. */
  readonly counter: string;
}

export type HashcashReason = 'ERR_HASHCASH_MALFORMED' | 'ERR_POW_INSUFFICIENT';

const U64_END = 1n << 64n;
const PRINTABLE = /^[\x21-\x7e]*$/;
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
const DATE = /^[0-9]{14}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard base64 with padding, accepted only in its one canonical spelling. */
function canonicalBase64(text: string): Buffer | undefined {
  if (!BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

/** The counter field for `n`: base64 of its decimal string (`0` -> `MA==`). */
export function encodeCounter(n: bigint): string {
  if (typeof n !== 'bigint' || n < 0n || n >= U64_END) {
    throw new ArgumentError('counter', 'expected an unsigned 64-bit bigint');
  }
  return Buffer.from(n.toString(), 'latin1').toString('base64');
}

/** The counter value of a counter field, or undefined when it is not canonical. */
export function decodeCounter(field: string): bigint | undefined {
  const bytes = canonicalBase64(field);
  if (bytes === undefined) return undefined;
  const digits = bytes.toString('latin1');
  if (!DECIMAL.test(digits) || digits.length > 20) return undefined;
  const n = BigInt(digits);
  return n < U64_END ? n : undefined;
}

/** `YYYYMMDDhhmmss` of a time in ms (UTC), as the reference server writes it. */
export function formatHashcashDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** The time (ms, UTC) of a `YYYYMMDDhhmmss` date, or undefined if it is not a real time. */
export function parseHashcashDate(date: string): number | undefined {
  if (!DATE.test(date)) return undefined;
  const iso = `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(8, 10)}:${date.slice(10, 12)}:${date.slice(12, 14)}Z`;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) || formatHashcashDate(ms) !== date ? undefined : ms;
}

export function parseHashcash(text: string): Verdict<HashcashHeader, 'ERR_HASHCASH_MALFORMED'> {
  const bad = (detail: string) => reject('ERR_HASHCASH_MALFORMED', detail);
  if (typeof text !== 'string') return bad('not a string');
  if (text.length > POW_LIMITS.maxHashcashHeaderLength)
    return bad(`longer than ${POW_LIMITS.maxHashcashHeaderLength}`);
  if (!PRINTABLE.test(text)) return bad('characters outside printable ASCII');
  const fields = text.split(':');
  if (fields.length < 7) return bad(`expected 7 fields, got ${fields.length}`);
  const n = fields.length;
  const [version, bits, date] = fields as [string, string, string];
  // spec/powtcp.md: "The reference parser re-joins extra ':' into the resource when there
  // are more than 7 fields" (IPv4 ip:port and IPv6 resources contain ':').
  const resource = fields.slice(3, n - 3).join(':');
  const ext = fields[n - 3]!;
  const rand = fields[n - 2]!;
  const counter = fields[n - 1]!;
  if (version !== '1') return bad('version is not 1');
  if (!DECIMAL.test(bits) || Number(bits) > POW_LIMITS.maxHashcashHexZeros) {
    return bad(`bits is not a decimal in [0, ${POW_LIMITS.maxHashcashHexZeros}]`);
  }
  if (!DATE.test(date)) return bad('date is not YYYYMMDDhhmmss');
  if (canonicalBase64(rand) === undefined) return bad('rand is not canonical base64');
  if (decodeCounter(counter) === undefined) return bad('counter is not base64 of a decimal');
  return accept({ version: 1, bits: Number(bits), date, resource, ext, rand, counter });
}

/** The header text; throws ArgumentError naming the field that cannot be formatted. */
export function formatHashcash(h: HashcashHeader): string {
  const text = `${h.version}:${h.bits}:${h.date}:${h.resource}:${h.ext}:${h.rand}:${h.counter}`;
  const parsed = parseHashcash(text);
  if (!parsed.ok) throw new ArgumentError('header', parsed.detail ?? parsed.code);
  const v = parsed.value;
  if (v.resource !== h.resource || v.ext !== h.ext) {
    throw new ArgumentError('ext', 'must not contain ":"');
  }
  return text;
}

/**
 * A fresh puzzle: time and randomness are parameters (the reference uses 4 random bytes).
 */
export function newHashcash(options: {
  bits: number;
  resource: string;
  nowMs: number;
  rand: Uint8Array;
  ext?: string;
}): HashcashHeader {
  assertInteger('bits', options.bits, 0, POW_LIMITS.maxHashcashHexZeros);
  const header: HashcashHeader = {
    version: 1,
    bits: options.bits,
    date: formatHashcashDate(options.nowMs),
    resource: options.resource,
    ext: options.ext ?? '',
    rand: Buffer.from(options.rand).toString('base64'),
    counter: encodeCounter(0n),
  };
  formatHashcash(header);
  return header;
}

/** The last second formatted by puzzleText, and its text: puzzles of one second share it. */
let dateSecond = Number.NaN;
let dateText = '';
const COUNTER_ZERO = encodeCounter(0n);

/**
 * The text of `formatHashcash(newHashcash(options))` (no `ext`), built without the re-parse
 * that checks a caller's fields: for a server issuing puzzles from values it made itself (a
 * canonical resource, its own random or sealed bytes), once per `1:`. `bits` must be an
 * integer in range and `resource` must be what the parser gives back; test/pow/hashcash.test.ts
 * checks both forms agree.
 */
export function puzzleText(options: {
  bits: number;
  resource: string;
  nowMs: number;
  rand: Uint8Array;
}): string {
  const second = Math.floor(options.nowMs / 1000);
  if (second !== dateSecond) {
    dateText = formatHashcashDate(options.nowMs);
    dateSecond = second;
  }
  const r = options.rand;
  const rand = Buffer.from(r.buffer, r.byteOffset, r.byteLength).toString('base64');
  return `1:${options.bits}:${dateText}:${options.resource}::${rand}:${COUNTER_ZERO}`;
}

/** Leading lowercase-hex '0' digits of a digest. */
export function leadingHexZeros(digest: Uint8Array): number {
  let zeros = 0;
  for (const byte of digest) {
    if (byte === 0) {
      zeros += 2;
      continue;
    }
    return byte < 0x10 ? zeros + 1 : zeros;
  }
  return zeros;
}

/** SHA-1 of the header's bytes (printable ASCII, so the UTF-8 and Latin-1 bytes agree). */
export function hashcashDigest(text: string): Buffer {
  return hash('sha1', text, 'buffer');
}

/** Parses and checks the work; the verdict names why a header fails. */
export function checkHashcash(text: string): Verdict<HashcashHeader, HashcashReason> {
  const parsed = parseHashcash(text);
  if (!parsed.ok) return parsed;
  const zeros = leadingHexZeros(hashcashDigest(text));
  if (zeros < parsed.value.bits) {
    return reject('ERR_POW_INSUFFICIENT', `${zeros} leading hex zeros, ${parsed.value.bits} required`);
  }
  return parsed;
}

/** true iff the header parses and its SHA-1 has at least `bits` leading hex zeros. */
export function verifyHashcash(text: string): boolean {
  return checkHashcash(text).ok;
}

/** Expected attempts for `hexDigits` leading hex zeros: 16^hexDigits. */
export function expectedAttempts(hexDigits: number): number {
  assertInteger('hexDigits', hexDigits, 0, POW_LIMITS.maxHashcashHexZeros);
  return 16 ** hexDigits;
}

/**
 * Largest counter our solver hands out: below 2^63, so that a reference server that reads the
 * counter into a signed 64-bit integer still accepts every solution (the reference client
 * counts from 0 and never gets near it; spec/powtcp.md only says "decimal counter").
 */
export const HASHCASH_COUNTER_END = 1n << 63n;

/** Bytes of base64(decimal) for a counter of `digits` digits. */
function fieldLength(digits: number): number {
  return 4 * Math.ceil(digits / 3);
}

/**
 * Where the solver starts counting for a prefix of `prefixLength` bytes (DESIGN "Speed
 * rules": one compression per attempt). An increment changes at most the last two base64
 * groups (8 bytes, the native solver's window); when those bytes, 0x80 and the 8-byte length
 * all lie in the message's last 64-byte block, every earlier block is the same for a whole
 * run of counters and is compressed once. The reference client counts from 0, which with a
 * 46-byte powtcp prefix puts the counter across two blocks (two compressions per attempt);
 * any counter is a valid solution to the reference server, so we start at the first counter
 * of the longest digit count (at most 19, below 2^63) that keeps the window in the last block.
 * 0 when no digit count does (cannot happen for prefixes of at least one byte up to the
 * length limit, but the fallback keeps the reference behaviour).
 */
export function hashcashStart(prefixLength: number): bigint {
  assertInteger('prefixLength', prefixLength, 0, POW_LIMITS.maxHashcashHeaderLength);
  for (let digits = 19; digits >= 1; digits--) {
    const total = prefixLength + fieldLength(digits);
    const lastBlock = 64 * (Math.ceil((total + 9) / 64) - 1);
    const window = Math.min(8, fieldLength(digits));
    if (total - window >= lastBlock) return digits === 1 ? 0n : 10n ** BigInt(digits - 1);
  }
  return 0n;
}

/**
 * Solves the puzzle and returns the solved header. Counts from `hashcashStart(prefix length)`
 * (one compression per attempt; still a valid solution for the reference server, which only
 * hashes the header) rather than from 0 as the reference client does.
 */
export async function solveHashcash(
  header: string | HashcashHeader,
  opts: SolveOptions = {},
): Promise<SolveResult & { header: string }> {
  let h: HashcashHeader;
  if (typeof header === 'string') {
    const parsed = parseHashcash(header);
    if (!parsed.ok) throw new ArgumentError('header', parsed.detail ?? parsed.code);
    h = parsed.value;
  } else {
    formatHashcash(header);
    h = header;
  }
  const prefix = `${h.version}:${h.bits}:${h.date}:${h.resource}:${h.ext}:${h.rand}:`;
  const backend = opts.backend ?? 'auto';
  const name = getBackend(backend).name;
  const prefixBytes = Buffer.from(prefix, 'latin1');
  const result = await solveInPool(
    { op: 'hashcash', prefix: prefixBytes, hexZeros: h.bits, backend },
    expectedAttempts(h.bits),
    name,
    opts,
    undefined,
    { first: hashcashStart(prefixBytes.length), end: HASHCASH_COUNTER_END },
  );
  return { ...result, header: prefix + encodeCounter(result.nonce) };
}
