/**
 * Every limit of the sky node and the earth node, each with its default, bounds, unit and doc
 * line (src/util/limits.ts). docs/sky-earth.md's tables are generated from these registries
 * (`npm run docs`), and test/sky/limits.test.ts tries limits at limit + 1.
 */
import { defineLimits } from '../../util/limits.js';

export const SKY_LIMITS = defineLimits('sky', {
  maxLeases: {
    default: 100_000,
    min: 1,
    max: 10_000_000,
    unit: 'count',
    doc: "live leases a sky node keeps at most; beyond it a newcomer from a lighter address group takes the heaviest group's oldest lease, else it is refused (`ERR_SKY_LEASES_FULL`)",
  },
  maxLeasesPerGroup: {
    default: 4_096,
    min: 1,
    max: 1_000_000,
    unit: 'count',
    doc: 'live leases taken from one address group (IPv4 /32, IPv6 /64); room for a NAT of thousands, not for one flooder to fill the table',
  },
  minLeaseSec: {
    default: 10,
    min: 1,
    max: 86_400,
    unit: 's',
    doc: 'shortest lease an earth node may ask for',
  },
  maxLeaseSec: {
    default: 3_600,
    min: 1,
    max: 86_400,
    unit: 's',
    doc: 'longest lease an earth node may ask for',
  },
  leaseSkewMs: {
    default: 30_000,
    min: 0,
    max: 600_000,
    unit: 'ms',
    doc: "how far a LEASE's time may be from the sky node's clock (a captured LEASE replays for at most this long, and only to renew the same lease)",
  },
  ratePerSec: {
    default: 20,
    min: 1,
    max: 1_000_000,
    unit: 'per second',
    doc: 'token refill per address group (seed 003 "rate limit ... which allows for bursting")',
  },
  burst: {
    default: 40,
    min: 1,
    max: 1_000_000,
    unit: 'count',
    doc: 'bucket size per address group: the burst a group may spend at once',
  },
  creditPerSolve: {
    default: 16,
    min: 1,
    max: 1_000,
    unit: 'count',
    doc: 'requests one solved challenge pays for on its connection (the PoW-earned identity of clients behind a shared address)',
  },
  fallbackBits: {
    default: 12,
    min: 1,
    max: 32,
    unit: 'bits',
    doc: 'difficulty of a challenge when the bucket is empty but the node is idle (seed 003 d = 0)',
  },
  queueSize: {
    default: 64,
    min: 1,
    max: 1_000_000,
    unit: 'count',
    doc: "q of seed 003's fixed-size queue rule",
  },
  capacityPerSec: {
    default: 50_000,
    min: 1,
    max: 10_000_000,
    unit: 'per second',
    doc: 'requests per second the node serves before its queue fills and difficulty rises',
  },
  maxDifficulty: { default: 24, min: 1, max: 32, unit: 'bits', doc: 'cap on the internal difficulty d' },
  challengeTtlMs: {
    default: 30_000,
    min: 1_000,
    max: 600_000,
    unit: 'ms',
    doc: 'lifetime of a sealed challenge',
  },
  maxConnections: {
    default: 10_000,
    min: 1,
    max: 1_000_000,
    unit: 'count',
    doc: 'open connections at most; at the cap the heaviest address group loses its oldest connection, never the newcomer',
  },
  maxConnectionsPerGroup: {
    default: 256,
    min: 1,
    max: 1_000_000,
    unit: 'count',
    doc: 'open connections from one address group; beyond it the new connection is closed at once',
  },
  firstMessageMs: {
    default: 5_000,
    min: 10,
    max: 600_000,
    unit: 'ms',
    doc: 'time for the first whole message after accept (slowloris)',
  },
  messageMs: {
    default: 5_000,
    min: 10,
    max: 600_000,
    unit: 'ms',
    doc: 'time to finish a message once its first byte arrived (slowloris)',
  },
  idleMs: {
    default: 120_000,
    min: 100,
    max: 3_600_000,
    unit: 'ms',
    doc: 'a connection with no lease that sends nothing this long is closed; a lease holder may stay until its lease ends',
  },
  maxInFlight: {
    default: 32,
    min: 1,
    max: 10_000,
    unit: 'count',
    doc: 'requests of one connection being answered at once (store round trips); more pipelined is refused',
  },
  punchDelayMs: {
    default: 200,
    min: 0,
    max: 10_000,
    unit: 'ms',
    doc: 'how long after PUNCH_AT both sides dial: covers the difference of their round trips to the sky node (DCUtR "synchronised moment")',
  },
  maxWriteBufferBytes: {
    default: 65_536,
    min: 1_024,
    max: 67_108_864,
    unit: 'bytes',
    doc: 'answers buffered for a peer that does not read; beyond it the connection is closed',
  },
});

export type SkyLimits = ReturnType<typeof SKY_LIMITS.resolve>;

export const EARTH_LIMITS = defineLimits('earth', {
  inboxBytes: {
    default: 1_048_576,
    min: 0,
    max: 1_073_741_824,
    unit: 'bytes',
    doc: 'the most bytes of messages this node expects to receive (seed 003), declared in its lease; holders keep at most this much for it',
  },
  maxMessageBytes: { default: 65_536, min: 1, max: 16_777_216, unit: 'bytes', doc: 'largest message data' },
  maxHeldBytes: {
    default: 67_108_864,
    min: 0,
    max: 17_179_869_184,
    unit: 'bytes',
    doc: 'bytes this node stores for all others together; a new recipient beyond it is refused',
  },
  maxHeldRecipients: {
    default: 1_024,
    min: 0,
    max: 1_000_000,
    unit: 'count',
    doc: 'nodes this node stores for at once',
  },
  maxKnownLeases: {
    default: 10_000,
    min: 1,
    max: 1_000_000,
    unit: 'count',
    doc: 'announced leases of other nodes kept at once',
  },
  leaseSec: {
    default: 300,
    min: 1,
    max: 86_400,
    unit: 's',
    doc: 'lease duration this node asks for; renewed at half-life',
  },
  keepSec: {
    default: 3_600,
    min: 1,
    max: 604_800,
    unit: 's',
    doc: 'time a sender asks a holder to keep a message',
  },
  priceBitsPerUnit: {
    default: 0,
    min: 0,
    max: 32,
    unit: 'bits',
    doc: 'storage price base: a stored message costs 2^(priceBitsPerUnit) hashes per priceUnit byte-seconds; 0 turns pricing off',
  },
  priceUnit: {
    default: 67_108_864,
    min: 1,
    max: 1_099_511_627_776,
    unit: 'count',
    doc: 'the byte-seconds that one priced hash pays for (Whisper and Bitmessage price size x time the same way)',
  },
  handshakeMs: {
    default: 10_000,
    min: 100,
    max: 600_000,
    unit: 'ms',
    doc: 'time for the secure handshake of an earth-to-earth link',
  },
  punchTimeoutMs: {
    default: 3_000,
    min: 100,
    max: 60_000,
    unit: 'ms',
    doc: 'time a hole punch may take before the sender falls back to the holder',
  },
  maxLinks: {
    default: 256,
    min: 1,
    max: 100_000,
    unit: 'count',
    doc: 'open earth-to-earth links at once; a new one beyond it is closed',
  },
});

export type EarthLimits = ReturnType<typeof EARTH_LIMITS.resolve>;
