/**
 * The state, events and effects of the Gossip engine. The engine is pure logic: it reads an
 * event and the current time and returns effects for the IO shell (sockets, timers, the PoW
 * solver) to carry out. Randomness and PoW verification are injected (`EngineDeps`), so that
 * a simulation runs a thousand peers in one process under a fake clock.
 */

import { type Endpoint, formatEndpoint } from '../../admission/endpoint.js';
import type { ReasonCode } from '../../util/codes.js';
import type { Random } from '../../util/random.js';
import type { ApiRequest } from '../../wire/gossip-api.js';
import type { KeepPow } from '../../wire/gossip-p2p.js';
import { KnowledgeCache, SeenSet } from './cache.js';
import type { DiversityLimits } from './diversity.js';
import { type KeepBook, newKeepBook } from './keep.js';
import type { GossipParams } from './limits.js';

export type ApiConnId = number;
export type LinkId = number;

export type EngineEvent =
  | { readonly kind: 'tick' }
  | { readonly kind: 'api-open'; readonly conn: ApiConnId }
  | { readonly kind: 'api-message'; readonly conn: ApiConnId; readonly msg: ApiRequest }
  | { readonly kind: 'api-close'; readonly conn: ApiConnId }
  /**
   * A P2P link is up: the secure channel authenticated `identity`. `dialled` is set for the
   * links we dialled (the address we reached them on); `bootstrap` marks the link to the
   * configured bootstrapper.
   */
  | {
      readonly kind: 'peer-open';
      readonly link: LinkId;
      readonly identity: string;
      readonly dialled?: Endpoint;
      /** The peer's address as the connection shows it (inbound: its source address). */
      readonly remote?: Endpoint;
      readonly bootstrap?: boolean;
    }
  | { readonly kind: 'peer-message'; readonly link: LinkId; readonly frame: Uint8Array }
  /** The link closed or a send on it failed (seed 002: a failed send removes the peer). */
  | { readonly kind: 'peer-close'; readonly link: LinkId; readonly failed: boolean }
  | { readonly kind: 'dial-failed'; readonly address: Endpoint; readonly bootstrap?: boolean }
  /** A `probe` effect's answer: `ok` when `address` answered the handshake as `identity`. */
  | {
      readonly kind: 'probe-result';
      readonly address: Endpoint;
      readonly identity: string;
      readonly ok: boolean;
    }
  /** The PoW asked for by a `solve` effect is done. */
  | { readonly kind: 'solved'; readonly link: LinkId; readonly nonce: bigint; readonly solution: bigint }
  /** The PoW asked for by a `solve` effect could not be found (pool busy, aborted, error). */
  | { readonly kind: 'solve-failed'; readonly link: LinkId; readonly nonce: bigint }
  /** The KEEP PoW asked for by a `keep-solve` effect is found (`pow` and `links` as given there). */
  | {
      readonly kind: 'keep-solved';
      readonly pow: KeepPow;
      readonly nonce: bigint;
      readonly links: readonly LinkId[];
    };

export type Effect =
  | { readonly kind: 'api-send'; readonly conn: ApiConnId; readonly frame: Uint8Array }
  | { readonly kind: 'api-close'; readonly conn: ApiConnId; readonly code: string }
  | { readonly kind: 'peer-send'; readonly link: LinkId; readonly frame: Uint8Array }
  /** Close the link; the engine has already forgotten it and expects no peer-close for it. */
  | { readonly kind: 'peer-close'; readonly link: LinkId; readonly code: string }
  | { readonly kind: 'dial'; readonly address: Endpoint; readonly bootstrap: boolean }
  /** Dial `address`, see which identity answers, close; then send back a `probe-result` event. */
  | { readonly kind: 'probe'; readonly address: Endpoint; readonly identity: string }
  /** Find `solution` with sha256-bits(prefix || solution) >= bits, then send back a `solved` event. */
  | {
      readonly kind: 'solve';
      readonly link: LinkId;
      readonly nonce: bigint;
      readonly prefix: Uint8Array;
      readonly bits: number;
    }
  /**
   * Find `nonce` with sha256-bits(challenge || nonce) >= bits (our one KEEP PoW of `round`,
   * seed 000 step 3), then send back a `keep-solved` event with `pow` and `links`.
   */
  | {
      readonly kind: 'keep-solve';
      readonly round: number;
      readonly pow: KeepPow;
      readonly challenge: Uint8Array;
      readonly bits: number;
      readonly links: readonly LinkId[];
    };

/** Injected randomness: the one interface of src/util/random.ts. */
export type { Random } from '../../util/random.js';

export interface EngineDeps {
  readonly params: GossipParams;
  readonly random: Random;
  /** sha256-bits verification (one hash); injected so the engine stays free of IO and pools. */
  readonly verifyPow: (challenge: Uint8Array, nonce: bigint, bits: number) => boolean;
  /** Our own identity (hex SHA-256 of the public key), to drop links to ourselves. */
  readonly identity: string;
  /** The address we advertise in HELLO. */
  readonly listen: Endpoint;
  /** The configured bootstrapper, if any. */
  readonly bootstrapper?: Endpoint;
  /** Run as the bootstrap service: answer PEER REQUESTs, hand out verified peers, no spreading. */
  readonly isBootstrapper?: boolean;
  /** Anchors remembered from before a restart: dialled first, once (diversity.ts). */
  readonly anchors?: readonly Endpoint[];
  /** The structural defences (diversity.ts); default its table's defaults. */
  readonly diversity?: DiversityLimits;
  /** Told of every count as it is made (the shell publishes them as metrics); no IO here. */
  readonly onCount?: (code: string, n: number) => void;
  /**
   * Told of every item (or one subscriber's NOTIFICATION of it) the engine drops, with the
   * reason, besides the count of that reason (issue 12 item 5: no silent loss).
   */
  readonly onItemDropped?: (code: ReasonCode, n: number) => void;
}

export interface ApiConn {
  readonly id: ApiConnId;
  readonly subscriptions: Set<number>;
  /** Message ID (u16, scoped to this connection) -> item key awaiting its VALIDATION, and until when. */
  readonly pending: Map<number, { readonly key: string; readonly deadline: number }>;
}

export interface PendingItem {
  readonly key: string;
  readonly id: Uint8Array;
  readonly salt: bigint;
  readonly dataType: number;
  readonly data: Uint8Array;
  /** TTL as received (local announcements: as announced). */
  readonly ttl: number;
  /** The link it came from, or undefined for a local announcement (not gated). */
  readonly from: LinkId | undefined;
  readonly deadline: number;
  /** Connection -> the message ID it was notified with, for those still to answer. */
  readonly waiting: Map<ApiConnId, number>;
  validCount: number;
  readonly told: Set<LinkId>;
}

export interface Link {
  readonly id: LinkId;
  readonly identity: string;
  readonly openedAt: number;
  readonly dialled: Endpoint | undefined;
  readonly bootstrap: boolean;
  /** The peer's address as the connection shows it, if the transport knows it. */
  readonly remote: Endpoint | undefined;
  /** When the link last brought us an item first (eviction spares useful links). */
  lastUseful: number;
  /** When the peer on this link proved its PoW (or was found verified): anchors are the oldest. */
  verifiedAt: number | undefined;
  /** Where the peer listens: the dialled address, or its HELLO's once a probe confirmed it. */
  listen: Endpoint | undefined;
  /** What its HELLO said, not yet confirmed (inbound links). */
  claimed: Endpoint | undefined;
  helloSeen: boolean;
  /** The peer proved its PoW to us (or its identity did recently). */
  verified: boolean;
  /** Our outstanding verification nonce for this peer. */
  challenge: bigint | undefined;
  /** Our outstanding PEER REQUEST nonce, its time, and peers still welcome under it. */
  peerRequest: { nonce: bigint; at: number; left: number } | undefined;
  lastPeerRequestServed: number;
  solves: number;
  /** A solve for this link is queued or running. */
  solving: boolean;
  /** A stranger's VERIFICATION REQUEST, answered once it proved its own PoW to us. */
  deferredSolve: bigint | undefined;
  invalid: number;
  /** Pushes we could not use, since `unwantedSince` (see items.ts chargeUnwanted). */
  unwanted: number;
  unwantedSince: number;
  gotPeerResponse: boolean;
}

export interface KnownPeer {
  readonly address: Endpoint;
  readonly identity: string;
  /** addressGroup(address): IPv4 /16, IPv6 /32. */
  readonly group: string;
  lastSeen: number;
}

export interface Counters {
  [code: string]: number;
}

export interface EngineState {
  readonly api: Map<ApiConnId, ApiConn>;
  readonly subscribers: Map<number, Set<ApiConnId>>;
  readonly pending: Map<string, PendingItem>;
  readonly cache: KnowledgeCache;
  readonly seen: SeenSet;
  /** Item key -> when an IWANT for it may be sent again. */
  readonly wanted: Map<string, number>;
  readonly links: Map<LinkId, Link>;
  /** Verified peers by identity (seed 002's known-peers list), each at an address proven its own. */
  readonly known: Map<string, KnownPeer>;
  /** Address key -> the identity listed there. */
  readonly knownByAddress: Map<string, string>;
  /** Probes in flight: address key -> the identity that claimed it. */
  readonly probes: Map<string, string>;
  /** Address key -> when it was last probed (one probe per address per probeBackoffMs). */
  readonly probedAt: Map<string, number>;
  /** Offered addresses, not yet verified, by address key -> when offered. */
  readonly candidates: Map<string, Endpoint>;
  /** Identities that proved a PoW, until when. */
  readonly verifiedIds: Map<string, number>;
  /** Address keys being dialled. */
  readonly dialling: Set<string>;
  /** Links whose solve is running in the shell (at most `maxSolving`). */
  readonly solving: Set<LinkId>;
  /** Solves waiting for a free place, oldest first (at most `maxSolveQueue`). */
  readonly solveQueue: { readonly link: LinkId; readonly nonce: bigint }[];
  bootstrapDialling: boolean;
  lastJoin: number;
  /** Wait before the next join made because we are short of neighbours (backs off). */
  joinDelayMs: number;
  lastPeerExchange: number;
  readonly counters: Counters;
  /** KEEP rounds (seed 000 "Continuously asking for PoW"): our challenges and those received. */
  readonly keep: KeepBook;
  /** The anchors of `EngineDeps` were dialled (once, at the first heartbeat that dials). */
  anchorsDialled: boolean;
}

export function initialState(params: GossipParams): EngineState {
  return {
    api: new Map(),
    subscribers: new Map(),
    pending: new Map(),
    cache: new KnowledgeCache(params.cacheSize, params.cacheBytes),
    seen: new SeenSet(params.seenTtlMs, params.maxSeen),
    wanted: new Map(),
    links: new Map(),
    known: new Map(),
    knownByAddress: new Map(),
    probes: new Map(),
    probedAt: new Map(),
    candidates: new Map(),
    verifiedIds: new Map(),
    dialling: new Set(),
    solving: new Set(),
    solveQueue: [],
    bootstrapDialling: false,
    lastJoin: Number.NEGATIVE_INFINITY,
    joinDelayMs: params.joinRetryMs,
    lastPeerExchange: Number.NEGATIVE_INFINITY,
    counters: {},
    keep: newKeepBook(),
    anchorsDialled: false,
  };
}

export function addressKey(a: Endpoint): string {
  return formatEndpoint(a);
}

export function keyOf(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
}

/** Collects effects and counts reason codes for one step of the engine. */
export class Step {
  readonly effects: Effect[] = [];
  constructor(
    readonly state: EngineState,
    readonly deps: EngineDeps,
    readonly now: number,
  ) {}
  emit(effect: Effect): void {
    this.effects.push(effect);
  }
  count(code: string, n = 1): void {
    this.state.counters[code] = (this.state.counters[code] ?? 0) + n;
    this.deps.onCount?.(code, n);
  }
  /** Counts `code` and reports an item dropped for that reason. */
  drop(code: ReasonCode, n = 1): void {
    this.count(code, n);
    this.deps.onItemDropped?.(code, n);
  }
}
