/**
 * Every limit and tunable of the Gossip protocol engine, with its default. The config file
 * (`src/services/gossip/config.ts`) maps INI keys onto these; docs/gossip.md has the table and
 * test/gossip/limits.test.ts checks each limit at limit + 1.
 */
export interface GossipParams {
  /** Items kept for spreading and repair (spec `cache_size`); oldest dropped first (seed 003). */
  readonly cacheSize: number;
  /** Bytes of item data kept for spreading; oldest dropped first (seed 003's ring buffer). */
  readonly cacheBytes: number;
  /** Neighbours to keep and to push each item to (spec `degree`). */
  readonly degree: number;
  /** Most P2P links (inbound + outbound) at once; further inbound links are closed. */
  readonly maxLinks: number;
  /** How long a message id stays in the seen set (duplicate suppression is time-bounded). */
  readonly seenTtlMs: number;
  /** Hard cap on the seen set; when full, new items are refused, never old ids forgotten early. */
  readonly maxSeen: number;
  /** Items waiting for local VALIDATION at once; more are dropped (and may come back by repair). */
  readonly maxPending: number;
  /** A subscriber that has not answered by then has its item dropped (not spread). */
  readonly validationTimeoutMs: number;
  /** Engine heartbeat: IHAVE rounds, timeouts, peer upkeep. */
  readonly heartbeatMs: number;
  /** Heartbeats after acceptance during which an item is offered by IHAVE. */
  readonly ihaveRounds: number;
  /** Most IHAVE entries read from one message; the rest are ignored. */
  readonly maxIhaveEntries: number;
  /** After this, an IWANT that got no PUSH may be sent again (to whoever offers next). */
  readonly iwantTimeoutMs: number;
  /** Times one item is sent to one neighbour on IWANT. */
  readonly maxServesPerItem: number;
  /** Most verified peers remembered in the known-peers list. */
  readonly maxKnownPeers: number;
  /** Most known peers (and offered addresses) from one address group (IPv4 /16, IPv6 /32). */
  readonly maxKnownPerGroup: number;
  /** Probes (dial-backs of a HELLO's address) in flight at once. */
  readonly maxProbes: number;
  /** An address is probed at most once per this period, whoever claims it. */
  readonly probeBackoffMs: number;
  /** Most offered (not yet verified) addresses kept for dialling. */
  readonly maxCandidates: number;
  /** Peers asked for in a PEER REQUEST (u8 on the wire). */
  readonly peerRequestLimit: number;
  /** A PEER REQUEST is sent to a random neighbour this often while the known list is short. */
  readonly peerExchangeMs: number;
  /** Minimum time between two PEER REQUESTs answered on one link. */
  readonly peerRequestMinIntervalMs: number;
  /** Re-join through the bootstrapper this often (seed 002's eclipse counter-measure). */
  readonly rejoinMs: number;
  /** Short of neighbours with no address left to try: ask the bootstrapper again after this. */
  readonly joinRetryMs: number;
  /** Bootstrapper: most links at once (they are short-lived). */
  readonly maxBootstrapLinks: number;
  /** Dials in flight at once. */
  readonly maxDials: number;
  /** A link whose peer has not proven its PoW by then is closed. */
  readonly verifyTimeoutMs: number;
  /** An identity that proved its PoW is not asked again for this long. */
  readonly verifiedTtlMs: number;
  /** sha256-bits difficulty of the VERIFICATION RESPONSE (seed 002: 24). */
  readonly powBits: number;
  /** VERIFICATION REQUESTs (incl. PEER RESPONSE challenges) answered per link; more close it. */
  readonly maxSolvesPerLink: number;
  /** PoW solves for peers running at once (one global queue for every link). */
  readonly maxSolving: number;
  /** Solves waiting for a place; a request beyond this closes its link (ERR_GOSSIP_SOLVE_BUSY). */
  readonly maxSolveQueue: number;
  /** Pushes we cannot use (unsubscribed type, over the seen-set share) per link per seenTtlMs; more close it. */
  readonly maxUnwantedPerLink: number;
  /** Invalid items (V = 0) from one link before it is closed and forgotten. */
  readonly invalidLimit: number;
  /** Bootstrapper: a listed peer not seen again (re-join) for this long is dropped. */
  readonly peerTtlMs: number;
  /** Bootstrapper: a link is closed after this long, done or not. */
  readonly bootstrapLinkMs: number;
  /** KEEP (seed 000 "Continuously asking for PoW"): sha256-bits difficulty of a peer's one PoW per round. */
  readonly keepBits: number;
  /** KEEP round length; round = floor(unix ms / period). 0 turns KEEP off. */
  readonly keepPeriodMs: number;
  /** A neighbour's KEEP_POW is due within this (plus keepSkewMs) of the round's start. */
  readonly keepWindowMs: number;
  /** KEEP_CHALLs are collected this long after the round's start, then solved over. */
  readonly keepCollectMs: number;
  /** Clock difference between peers that KEEP tolerates. */
  readonly keepSkewMs: number;
  /** Most KEEP_CHALLs one KEEP_POW may list. */
  readonly keepMaxChalls: number;
}

export const GOSSIP_DEFAULTS: GossipParams = {
  cacheSize: 50,
  cacheBytes: 8 * 1024 * 1024,
  degree: 30,
  maxLinks: 64,
  seenTtlMs: 120_000,
  maxSeen: 1_000_000,
  maxPending: 1024,
  validationTimeoutMs: 10_000,
  heartbeatMs: 100,
  ihaveRounds: 5,
  maxIhaveEntries: 512,
  iwantTimeoutMs: 300,
  maxServesPerItem: 3,
  maxKnownPeers: 1_000,
  maxCandidates: 1_000,
  maxKnownPerGroup: 8,
  maxProbes: 8,
  probeBackoffMs: 60_000,
  peerRequestLimit: 60,
  peerExchangeMs: 10_000,
  peerRequestMinIntervalMs: 1_000,
  rejoinMs: 300_000,
  joinRetryMs: 2_000,
  maxBootstrapLinks: 1024,
  maxDials: 4,
  verifyTimeoutMs: 120_000,
  verifiedTtlMs: 3_600_000,
  powBits: 24,
  maxSolvesPerLink: 2,
  maxSolving: 2,
  maxUnwantedPerLink: 100_000,
  maxSolveQueue: 64,
  invalidLimit: 3,
  peerTtlMs: 900_000,
  bootstrapLinkMs: 180_000,
  keepBits: 22,
  keepPeriodMs: 60_000,
  keepWindowMs: 5_000,
  keepCollectMs: 1_500,
  keepSkewMs: 1_000,
  keepMaxChalls: 64,
};

/** Service-side limits (IO shell), kept here so that all Gossip limits are in one table. */
export const GOSSIP_SERVICE_LIMITS = {
  /** Events waiting for the engine; P2P events beyond it are dropped (API VALIDATIONs never). */
  maxQueuedEvents: 10_000,
  /** API connections at once; more are refused. */
  maxApiConnections: 256,
  /** Bytes an API connection may have written but not yet read by us (backpressure). */
  maxApiBufferedBytes: 4 * 1024 * 1024,
  /** A dial that has not completed the secure handshake by then fails. */
  dialTimeoutMs: 10_000,
  /** Bytes queued to one peer link; a peer that does not read beyond this is cut off. */
  maxLinkBufferedBytes: 8 * 1024 * 1024,
  /** Open membership: parsed public keys of peers kept, so a reconnecting peer is not parsed again. */
  maxOpenTrustKeys: 4096,
} as const;
