/**
 * Every limit and tunable of the Gossip protocol engine, in the one registry of
 * src/util/limits.ts: name, default, bounds, unit, doc line and, where the `[gossip]` section
 * of the config file sets it, the INI key (`configKey`). The config file
 * (src/services/gossip/config.ts) validates against these bounds and names the INI key in its
 * errors; the tables in docs/gossip.md are generated from here (`npm run docs`), and
 * test/gossip/limits.test.ts checks the limits at limit + 1.
 */
import { defineLimits, type LimitValues } from '../../util/limits.js';
import { API_MESSAGE_IDS } from '../../wire/gossip-api.js';
import { PEER_REQUEST_LIMIT_MAX } from '../../wire/gossip-p2p.js';

export const GOSSIP_LIMITS = defineLimits('gossip', {
  cacheSize: {
    default: 50,
    min: 0,
    max: 1_000_000,
    unit: 'count',
    configKey: 'cache_size',
    doc: 'items kept for spreading and repair (spec `cache_size`); oldest dropped first (seed 003)',
  },
  cacheBytes: {
    default: 8 * 1024 * 1024,
    min: 0,
    max: 2 ** 31,
    unit: 'bytes',
    configKey: 'cache_bytes',
    doc: "bytes of item data kept for spreading; oldest dropped first (seed 003's ring buffer)",
  },
  degree: {
    default: 30,
    min: 1,
    max: 255,
    unit: 'count',
    configKey: 'degree',
    doc: 'neighbours to keep and to push each item to (spec `degree`)',
  },
  maxLinks: {
    default: 64,
    min: 1,
    max: 10_000,
    unit: 'count',
    configKey: 'max_links',
    doc: 'most P2P links (inbound + outbound) at once; further inbound links are closed',
  },
  seenTtlMs: {
    default: 120_000,
    min: 1_000,
    max: 86_400_000,
    unit: 'ms',
    configKey: 'seen_ttl_ms',
    doc: 'how long a message id stays in the seen set (duplicate suppression is time-bounded)',
  },
  maxSeen: {
    default: 1_000_000,
    min: 1,
    max: 100_000_000,
    unit: 'count',
    configKey: 'max_seen',
    doc: 'hard cap on the seen set; when full, new items are refused, never old ids forgotten early',
  },
  maxPending: {
    default: 1024,
    min: 1,
    max: 32_768,
    unit: 'count',
    configKey: 'max_pending',
    doc: 'items waiting for local VALIDATION at once; more are dropped (and may come back by repair)',
  },
  maxPendingPerApiConnection: {
    default: API_MESSAGE_IDS / 2,
    min: 1,
    max: API_MESSAGE_IDS / 2,
    unit: 'count',
    fixed: true,
    doc: 'NOTIFICATIONs awaiting a VALIDATION on one API connection: half the u16 message-ID space, so a free random ID is always found quickly',
  },
  validationTimeoutMs: {
    default: 10_000,
    min: 10,
    max: 3_600_000,
    unit: 'ms',
    configKey: 'validation_timeout_ms',
    doc: 'a subscriber that has not answered by then has its item dropped (not spread)',
  },
  heartbeatMs: {
    default: 100,
    min: 10,
    max: 60_000,
    unit: 'ms',
    configKey: 'heartbeat_ms',
    doc: 'engine heartbeat: IHAVE rounds, timeouts, peer upkeep',
  },
  ihaveRounds: {
    default: 5,
    min: 0,
    max: 100,
    unit: 'count',
    configKey: 'ihave_rounds',
    doc: 'heartbeats after acceptance during which an item is offered by IHAVE',
  },
  maxIhaveEntries: {
    default: 512,
    min: 1,
    max: 65_535,
    unit: 'count',
    doc: 'most IHAVE entries read from one message; the rest are ignored',
  },
  iwantTimeoutMs: {
    default: 300,
    min: 10,
    max: 60_000,
    unit: 'ms',
    configKey: 'iwant_timeout_ms',
    doc: 'after this, an IWANT that got no PUSH may be sent again (to whoever offers next)',
  },
  maxServesPerItem: {
    default: 3,
    min: 1,
    max: 1000,
    unit: 'count',
    doc: 'times one item is sent to one neighbour on IWANT',
  },
  maxKnownPeers: {
    default: 1_000,
    min: 1,
    max: 1_000_000,
    unit: 'count',
    doc: 'most verified peers remembered in the known-peers list',
  },
  maxKnownPerGroup: {
    default: 8,
    min: 1,
    max: 1_000_000,
    unit: 'count',
    doc: 'most known peers (and offered addresses) from one address group (IPv4 /16, IPv6 /32)',
  },
  maxProbes: {
    default: 8,
    min: 0,
    max: 1024,
    unit: 'count',
    doc: "probes (dial-backs of a HELLO's address) in flight at once",
  },
  probeBackoffMs: {
    default: 60_000,
    min: 0,
    max: 86_400_000,
    unit: 'ms',
    doc: 'an address is probed at most once per this period, whoever claims it',
  },
  maxCandidates: {
    default: 1_000,
    min: 0,
    max: 1_000_000,
    unit: 'count',
    doc: 'most offered (not yet verified) addresses kept for dialling',
  },
  peerRequestLimit: {
    default: 60,
    min: 1,
    max: PEER_REQUEST_LIMIT_MAX,
    unit: 'count',
    doc: 'peers asked for in a PEER REQUEST (u8 on the wire)',
  },
  peerExchangeMs: {
    default: 10_000,
    min: 100,
    max: 86_400_000,
    unit: 'ms',
    configKey: 'peer_exchange_ms',
    doc: 'a PEER REQUEST is sent to a random neighbour this often while the known list is short',
  },
  peerRequestMinIntervalMs: {
    default: 1_000,
    min: 0,
    max: 3_600_000,
    unit: 'ms',
    doc: 'minimum time between two PEER REQUESTs answered on one link',
  },
  rejoinMs: {
    default: 300_000,
    min: 1_000,
    max: 86_400_000,
    unit: 'ms',
    configKey: 'rejoin_ms',
    doc: "re-join through the bootstrapper this often (seed 002's eclipse counter-measure)",
  },
  joinRetryMs: {
    default: 2_000,
    min: 10,
    max: 86_400_000,
    unit: 'ms',
    doc: 'short of neighbours with no address left to try: ask the bootstrapper again after this',
  },
  maxBootstrapLinks: {
    default: 1024,
    min: 1,
    max: 1_000_000,
    unit: 'count',
    doc: 'bootstrapper: most links at once (they are short-lived)',
  },
  maxDials: {
    default: 4,
    min: 1,
    max: 1024,
    unit: 'count',
    doc: 'dials in flight at once',
  },
  verifyTimeoutMs: {
    default: 120_000,
    min: 1_000,
    max: 3_600_000,
    unit: 'ms',
    configKey: 'verify_timeout_ms',
    doc: 'a link whose peer has not proven its PoW by then is closed',
  },
  verifiedTtlMs: {
    default: 3_600_000,
    min: 0,
    max: 86_400_000,
    unit: 'ms',
    doc: 'an identity that proved its PoW is not asked again for this long',
  },
  powBits: {
    default: 24,
    min: 0,
    max: 40,
    unit: 'bits',
    configKey: 'pow_bits',
    doc: 'sha256-bits difficulty of the VERIFICATION RESPONSE (seed 002: 24)',
  },
  maxSolvesPerLink: {
    default: 2,
    min: 0,
    max: 1000,
    unit: 'count',
    doc: 'VERIFICATION REQUESTs (incl. PEER RESPONSE challenges) answered per link; more close it',
  },
  maxSolving: {
    default: 2,
    min: 1,
    max: 256,
    unit: 'count',
    doc: 'PoW solves for peers running at once (one global queue for every link)',
  },
  maxSolveQueue: {
    default: 64,
    min: 0,
    max: 100_000,
    unit: 'count',
    doc: 'solves waiting for a place; a request beyond this closes its link (`ERR_GOSSIP_SOLVE_BUSY`)',
  },
  maxUnwantedPerLink: {
    default: 100_000,
    min: 1,
    max: 100_000_000,
    unit: 'count',
    doc: 'pushes we cannot use (unsubscribed type, over the seen-set share) per link per seenTtlMs; more close it',
  },
  invalidLimit: {
    default: 3,
    min: 1,
    max: 1_000,
    unit: 'count',
    configKey: 'invalid_limit',
    doc: 'invalid items (V = 0) from one link before it is closed and forgotten',
  },
  peerTtlMs: {
    default: 900_000,
    min: 1_000,
    max: 86_400_000,
    unit: 'ms',
    configKey: 'peer_ttl_ms',
    doc: 'bootstrapper: a listed peer not seen again (re-join) for this long is dropped',
  },
  bootstrapLinkMs: {
    default: 180_000,
    min: 1_000,
    max: 86_400_000,
    unit: 'ms',
    doc: 'bootstrapper: a link is closed after this long, done or not',
  },
});

/** The engine's parameters: every limit of the `gossip` registry. */
export type GossipParams = LimitValues<typeof GOSSIP_LIMITS.specs>;

export const GOSSIP_DEFAULTS: GossipParams = GOSSIP_LIMITS.defaults;

/**
 * Service-side limits (the IO shell in src/services/gossip), in the same docs page. Callers
 * cannot change them; they bound memory and time that a peer or a local module could
 * otherwise take without limit.
 */
export const GOSSIP_SERVICE = defineLimits('gossip-service', {
  maxQueuedEvents: {
    default: 10_000,
    min: 1,
    max: 10_000_000,
    unit: 'count',
    fixed: true,
    doc: 'events waiting for the engine; P2P events beyond it are dropped (`ERR_GOSSIP_QUEUE_FULL`), API events never',
  },
  drainBatch: {
    default: 2_000,
    min: 1,
    max: 1_000_000,
    unit: 'count',
    fixed: true,
    doc: 'events the node steps through before yielding to the event loop, so timers and sockets are served while a burst is worked off',
  },
  maxApiConnections: {
    default: 256,
    min: 1,
    max: 65_536,
    unit: 'count',
    fixed: true,
    doc: 'API connections at once; more are refused',
  },
  maxApiBufferedBytes: {
    default: 4 * 1024 * 1024,
    min: 1,
    max: 2 ** 31,
    unit: 'bytes',
    fixed: true,
    doc: 'bytes an API connection may have written to it and not yet read (backpressure); beyond it the connection is closed',
  },
  dialTimeoutMs: {
    default: 10_000,
    min: 1,
    max: 3_600_000,
    unit: 'ms',
    fixed: true,
    doc: 'a dial that has not completed the secure handshake by then fails',
  },
  closeGraceMs: {
    default: 1_000,
    min: 0,
    max: 60_000,
    unit: 'ms',
    fixed: true,
    doc: 'after a link is ended, how long its queued frames may take to flush before the socket is destroyed',
  },
  maxLinkBufferedBytes: {
    default: 8 * 1024 * 1024,
    min: 1,
    max: 2 ** 31,
    unit: 'bytes',
    fixed: true,
    doc: 'bytes queued to one peer link; a peer that does not read beyond this is cut off',
  },
  maxOpenTrustKeys: {
    default: 4_096,
    min: 1,
    max: 1_000_000,
    unit: 'count',
    fixed: true,
    doc: 'open membership: parsed public keys of peers kept, so that a reconnecting peer is not parsed again',
  },
});

/** The service-side values (all fixed: the defaults). */
export const GOSSIP_SERVICE_LIMITS = GOSSIP_SERVICE.defaults;
