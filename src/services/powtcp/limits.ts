/**
 * Every limit of the powtcp service (DESIGN "Limits, errors, logs"), in one registry: the
 * defaults, the validation of a caller's overrides (errors name `limits.<name>`, or the CLI's
 * flag) and the table in docs/powtcp.md between `<!-- limits:powtcp -->` markers. The
 * reference server (seed 001) has none of these but a 30 s connection deadline; each closes a
 * way for one peer to hold server memory or sockets without paying. Each has a test at
 * limit + 1 (test/powtcp/limits.test.ts checks that every name appears in a test).
 */
import { defineLimits, type LimitValues, type ResolveOptions } from '../../util/limits.js';

const MAX_CEILING = 8;

export const POWTCP = defineLimits(
  'powtcp',
  {
    maxLineBytes: {
      default: 1024,
      min: 16,
      max: 65_536,
      unit: 'bytes',
      doc: 'bytes of one line before `\\n`; a longer line is refused as soon as the limit is crossed and never buffered (the reference has no limit)',
    },
    firstMessageTimeoutMs: {
      default: 3_000,
      min: 1,
      max: 3_600_000,
      unit: 'ms',
      doc: 'time from connect to the first complete line: idle connections go first',
    },
    messageTimeoutMs: {
      default: 5_000,
      min: 1,
      max: 3_600_000,
      unit: 'ms',
      doc: "time from a line's first byte to its `\\n` (slow senders)",
    },
    connectionTimeoutMs: {
      default: 60_000,
      min: 1,
      max: 86_400_000,
      unit: 'ms',
      doc: "the whole connection, solving included (the reference's connection deadline is 30 s; 60 s is its puzzle lifetime); longer, so that a puzzle at the ceiling can be solved on the connection that asked for it",
    },
    closeGraceMs: {
      default: 2_000,
      min: 1,
      max: 60_000,
      unit: 'ms',
      doc: "time a closing connection whose last line the kernel did not take at once has to flush it and see the peer's FIN before it is destroyed; a flushed last line closes at once, as the reference server does",
    },
    maxBytesAfterClose: {
      default: 4096,
      min: 0,
      max: 1_048_576,
      unit: 'bytes',
      doc: 'bytes read from a peer while its last answer is still being flushed (an honest client sends nothing more); more and the connection is destroyed at once',
    },
    maxConnections: {
      default: 4096,
      min: 1,
      max: 1_000_000,
      unit: 'count',
      doc: 'open connections in total; at the cap the address group holding the most loses its oldest idle connection (`0:ERR_POWTCP_EVICTED`) to the newcomer',
    },
    maxConnectionsPerAddress: {
      default: 16,
      min: 1,
      max: 1_000_000,
      unit: 'count',
      doc: 'open connections per address group: IPv4 address or IPv6 /48 (a /64 is free to get; the /64 stays the rate identity)',
    },
    maxPipelinedMessages: {
      default: 4,
      min: 1,
      max: 1024,
      unit: 'count',
      doc: 'complete lines waiting for an answer (an honest client waits for each reply, so it has one)',
    },
    maxMessagesPerConnection: {
      default: 16,
      min: 1,
      max: 1_000_000,
      unit: 'count',
      doc: 'requests on one connection; `3:` always ends it, so only repeated `1:` reaches this',
    },
    puzzleTtlMs: {
      default: 60_000,
      min: 1,
      max: 600_000,
      unit: 'ms',
      doc: "lifetime of a puzzle (the reference's TTL)",
    },
    minDifficulty: {
      default: 1,
      min: 1,
      max: MAX_CEILING,
      unit: 'hex digits',
      doc: 'floor of the price (`--difficulty-min`); the format needs at least 1',
    },
    maxDifficulty: {
      default: 6,
      min: 1,
      max: MAX_CEILING,
      unit: 'hex digits',
      doc: 'ceiling of the price (`--difficulty-max`); each digit is 16x the work',
    },
    maxDifficultyCeiling: {
      default: MAX_CEILING,
      min: MAX_CEILING,
      max: MAX_CEILING,
      unit: 'hex digits',
      fixed: true,
      doc: 'highest `maxDifficulty` accepted (8 digits = 32 bits, about 4e9 SHA-1 on average)',
    },
    queueSize: {
      default: 64,
      min: 1,
      max: 1_000_000,
      unit: 'count',
      doc: "seed 003's q, places in the virtual load queue (`--queue-size`)",
    },
    serviceRatePerSec: {
      default: 200,
      min: 1,
      max: 1_000_000,
      unit: 'per second',
      real: true,
      doc: 'drain rate of the virtual queue (`--service-rate`): the verified solves (quotes) a second the service plans to serve',
    },
    loadShareIdentities: {
      default: 16,
      min: 1,
      max: 1_000_000,
      unit: 'count',
      doc: 'the fewest identities (IPv4 /32, IPv6 /48) that together can fill the virtual queue: each holds at most q / 16 = 4 places, refilled at 200 / 16 = 12.5 a second',
    },
    maxLoadShareIdentities: {
      default: 65_536,
      min: 1,
      max: 10_000_000,
      unit: 'count',
      doc: 'identities whose load share is remembered; the least recently seen is forgotten first',
    },
    ratePerSec: {
      default: 10,
      min: 0.001,
      max: 1_000_000,
      unit: 'per second',
      real: true,
      doc: 'per-address token refill (`--rate`); each `1:` and `3:` costs one, a verified solve refunds one',
    },
    burst: {
      default: 20,
      min: 1,
      max: 1_000_000,
      unit: 'count',
      doc: 'per-address bucket size (`--burst`)',
    },
    referenceMaxPuzzles: {
      default: 5_000_000,
      min: 1,
      max: 100_000_000,
      unit: 'count',
      doc: 'reference mode only: puzzles kept in its TTL map before new ones are refused (a memory guard for the benchmark host)',
    },
    maxQuoteBytes: {
      default: 512,
      min: 512,
      max: 512,
      unit: 'bytes',
      fixed: true,
      doc: 'one quote; a `--quotes` file with a longer line is refused',
    },
    maxQuotes: {
      default: 100_000,
      min: 100_000,
      max: 100_000,
      unit: 'count',
      fixed: true,
      doc: 'quotes in one `--quotes` file',
    },
  },
  (v) =>
    v.minDifficulty > v.maxDifficulty
      ? { key: 'minDifficulty', message: `must be at most maxDifficulty (${v.maxDifficulty})` }
      : undefined,
);

export type PowtcpLimits = LimitValues<typeof POWTCP.specs>;
export type PowtcpLimitOverrides = Partial<Record<keyof PowtcpLimits, number>>;

/** The defaults, for reading (tests, help texts). */
export const POWTCP_LIMITS: PowtcpLimits = POWTCP.defaults;

/** Defaults with `overrides`, validated; errors name `limits.<name>` unless told otherwise. */
export function powtcpLimits(
  overrides: PowtcpLimitOverrides = {},
  options: ResolveOptions = { prefix: 'limits' },
): PowtcpLimits {
  return POWTCP.resolve(overrides, options);
}
