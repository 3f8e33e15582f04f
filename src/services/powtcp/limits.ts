/**
 * Every limit of the powtcp service, with its default (DESIGN "Limits, errors, logs"). The
 * reference server (seed 001) has none of these but a 30 s connection deadline; each one closes a
 * way for one peer to hold server memory or sockets without paying. Documented, one line
 * each, in docs/powtcp.md ("Limits"); each has a test at limit + 1 in test/powtcp/limits.test.ts.
 */
export const POWTCP_LIMITS = {
  /** Longest line, in bytes before the `\n` (spec: the reference has no limit). */
  maxLineBytes: 1024,
  /** Time from connect to the first complete line (ms): idle connections go first. */
  firstMessageTimeoutMs: 3_000,
  /** Time from a line's first byte to its `\n` (ms): a slow sender cannot hold a line open. */
  messageTimeoutMs: 5_000,
  /**
   * Whole life of one connection (ms), solving included. The reference's connection deadline
   * is 30 s (60 s is its puzzle lifetime); ours is longer so that a puzzle at the ceiling can
   * be solved on the connection that asked for it.
   */
  connectionTimeoutMs: 60_000,
  /**
   * How long a closing connection may take to flush its last line and see the peer's FIN
   * (ms) before it is destroyed.
   */
  closeGraceMs: 2_000,
  /**
   * Bytes read from a peer after its connection's last answer (a `0:` verdict or the `4:`)
   * before it is destroyed: an honest client sends nothing more, and a closing connection
   * that kept reading accepted gigabytes during the grace period (issue 9 item 8).
   */
  maxBytesAfterClose: 4096,
  /** Open connections in total; beyond it the heaviest group gives up its oldest idle one. */
  maxConnections: 4096,
  /**
   * Open connections per address group (IPv4 /32, IPv6 /48: a /64 is free to get). Beyond the
   * global cap the group holding the most loses its oldest idle connection.
   */
  maxConnectionsPerAddress: 16,
  /** Complete lines in one read; more is pipelining that no honest client does (it waits for each reply). */
  maxPipelinedMessages: 4,
  /** Messages on one connection; `3:` always ends it, so only repeated `1:` can reach this. */
  maxMessagesPerConnection: 16,
  /** Lifetime of an issued puzzle (ms); the reference's TTL is 60 s. */
  puzzleTtlMs: 60_000,
  /** Difficulty floor and ceiling in hex digits (the format needs >= 1; each digit is 16x the work). */
  minDifficulty: 1,
  maxDifficulty: 6,
  /** Highest ceiling accepted by --difficulty-max (8 digits = 32 bits, ~4e9 SHA-1 on average). */
  maxDifficultyCeiling: 8,
  /** Seed 003's fixed queue size q for the load controller; above `burst`, so one address alone cannot fill it. */
  queueSize: 64,
  /** Rate at which the virtual queue drains (requests per second): the service's planned capacity. */
  serviceRatePerSec: 200,
  /**
   * The fewest identities (IPv4 /32, IPv6 /48) that together can fill the virtual queue: each
   * holds at most ceil(queueSize / this) places, refilled at serviceRatePerSec / this, so load
   * from fewer identities never raises the price for everyone (issue 9 item 6).
   */
  loadShareIdentities: 16,
  /** Identities whose load shares are remembered; beyond it the least recently seen is forgotten. */
  maxLoadShareIdentities: 65_536,
  /** Per-identity token bucket: sustained messages per second (a quote costs two), and burst. */
  ratePerSec: 10,
  burst: 20,
  /** Puzzles kept by the reference mode's TTL map before it refuses new ones (a memory guard for the benchmark host). */
  referenceMaxPuzzles: 5_000_000,
  /** Longest quote served (bytes); a --quotes file with longer lines is refused. */
  maxQuoteBytes: 512,
  /** Quotes in one --quotes file. */
  maxQuotes: 100_000,
} as const;

export type PowtcpLimits = { -readonly [K in keyof typeof POWTCP_LIMITS]: number };

export function powtcpLimits(overrides: Partial<PowtcpLimits> = {}): PowtcpLimits {
  return { ...POWTCP_LIMITS, ...overrides };
}
