/**
 * The listener's side of seed 000's connection PoW (CONN_INIT / CONN_CHALL / CONN_OK), as
 * decisions over decoded messages: no IO here, the clock and randomness come in through the
 * admission core's objects (`ChallengeSealer`, `ReplayGuard`, seed 003's controller), which
 * the shell builds (src/services/gossip/tcp-transport.ts).
 *
 * - Stateless until paid (seed 000, "Nonce for the PoW"): a challenge request gets a
 *   CONN_CHALL whose cookie is the admission core's sealed challenge, Enc(Chall, both
 *   ip:port, issue time), with the difficulty sealed in. Nothing is remembered about it; the
 *   solution brings the cookie back and the listener opens it.
 * - A solution is checked cheapest first (`admitSolved`: shape, key, tag, expiry, both
 *   endpoints, then one hash for the PoW at max(sealed difficulty, current internal d), then
 *   the replay mark: one solution admits one connection).
 * - Difficulty: seed 003's queue rule over the listener's pending-connection queue (paid
 *   connections still in the secure handshake, the expensive step CONN protects). Each
 *   challenge request is one arrival; while the queue is never full the difficulty is 0 and
 *   an honest dialler pays one round trip and one hash (seed 003: "when d = 0 the external
 *   difficulty is also 0"). A paid connection that finds the queue full is refused
 *   (`ERR_GOSSIP_CONN_BUSY`) and asks again, now at the raised difficulty.
 */
import type { DifficultyController, LoadQueue } from '../../admission/difficulty.js';
import type { Endpoint } from '../../admission/endpoint.js';
import { admitSolved, type ReplayGuard } from '../../admission/replay.js';
import type { ChallengeSealer } from '../../admission/sealed.js';
import { verifySha256Bits } from '../../pow/sha256-bits.js';
import { defineLimits, type LimitValues } from '../../util/limits.js';
import { CONN_CHALL, CONN_OK, type ConnSolution, connPowPrefix, encodeConn } from '../../wire/gossip-conn.js';

export const connLimits = defineLimits('gossip-conn', {
  connQueueSize: {
    default: 64,
    min: 1,
    max: 100_000,
    unit: 'count',
    doc: "q of seed 003's controller: paid connections in the secure handshake at once; a full queue raises the CONN difficulty",
  },
  connMaxDifficulty: {
    default: 20,
    min: 0,
    max: 40,
    unit: 'bits',
    doc: 'cap on the internal CONN difficulty d (the external one, sealed into CONN_CHALL, is d + 1)',
  },
  connMaxSolveBits: {
    default: 24,
    min: 0,
    max: 40,
    unit: 'bits',
    doc: 'a dialler refuses a CONN_CHALL harder than this (a listener cannot make it burn unbounded CPU)',
  },
  connInitTimeoutMs: {
    default: 5_000,
    min: 100,
    max: 120_000,
    unit: 'ms',
    doc: 'an accepted TCP connection that has not sent a whole CONN_INIT by then is closed',
  },
  connChallengeTtlMs: {
    default: 30_000,
    min: 1_000,
    max: 600_000,
    unit: 'ms',
    doc: 'lifetime of a CONN_CHALL cookie; also how long the listener waits for the solution on that connection',
  },
  maxUnpaidConns: {
    default: 256,
    min: 1,
    max: 100_000,
    unit: 'count',
    doc: 'TCP connections accepted that have not paid yet, in total; at the cap the address group holding the most loses its oldest unpaid connection to the newcomer (each holds only a socket and a timer)',
  },
  maxUnpaidConnsPerAddress: {
    default: 8,
    min: 1,
    max: 100_000,
    unit: 'count',
    doc: 'unpaid connections from one address group (IPv4 /32, IPv6 /48); more from it are closed at accept, so that idle sockets from a few addresses cannot hold every slot (issue 9 finding 1)',
  },
  connOkTimeoutMs: {
    default: 10_000,
    min: 100,
    max: 120_000,
    unit: 'ms',
    doc: 'a dialler that has no CONN_CHALL or CONN_OK by then (solving time not counted) gives up the dial',
  },
});

export type ConnLimits = LimitValues<typeof connLimits.specs>;

export type ConnRefusal =
  | 'ERR_GOSSIP_CONN_BUSY'
  | 'ERR_CHALLENGE_MALFORMED'
  | 'ERR_CHALLENGE_KEY_UNKNOWN'
  | 'ERR_CHALLENGE_TAG'
  | 'ERR_CHALLENGE_EXPIRED'
  | 'ERR_CHALLENGE_ENDPOINT'
  | 'ERR_POW_INSUFFICIENT'
  | 'ERR_CHALLENGE_REPLAYED'
  | 'ERR_STORE_FULL';

export type ConnDecision =
  | { readonly kind: 'challenge'; readonly reply: Uint8Array; readonly difficulty: number }
  /** Paid: send `reply` (CONN_OK), run the handshake, then call `ConnGate.done()` once. */
  | { readonly kind: 'admit'; readonly reply: Uint8Array }
  | { readonly kind: 'refuse'; readonly code: ConnRefusal | string; readonly detail?: string };

export interface ConnGateDeps {
  readonly sealer: ChallengeSealer;
  readonly guard: ReplayGuard;
  readonly controller: DifficultyController;
  /** Paid connections still in the handshake (seed 003's queue of size q). */
  readonly queue: LoadQueue & { leave(): void };
  readonly limits: ConnLimits;
}

export interface ConnEndpoints {
  /** The dialler as the listener's socket sees it. */
  readonly client: Endpoint;
  /** The listener's own socket address. */
  readonly server: Endpoint;
}

export class ConnGate {
  constructor(private readonly deps: ConnGateDeps) {}

  /** The difficulty a new challenge would carry now (external, seed 003). */
  get difficulty(): number {
    return this.deps.controller.external;
  }

  /** A challenge request: one arrival for the controller, then a CONN_CHALL sealed at its external difficulty. */
  request(at: ConnEndpoints): ConnDecision {
    const { controller, queue, sealer, limits } = this.deps;
    controller.arrive({ queueFull: queue.full });
    const difficulty = controller.external;
    const cookie = sealer.seal({
      kind: 'sha256-bits',
      difficulty,
      client: at.client,
      server: at.server,
      ttlMs: limits.connChallengeTtlMs,
    });
    return { kind: 'challenge', reply: encodeConn({ type: CONN_CHALL, cookie }), difficulty };
  }

  /** A solution: open, verify, redeem (in that order), then take a place in the pending queue. */
  async solve(msg: ConnSolution, at: ConnEndpoints): Promise<ConnDecision> {
    const { sealer, guard, controller, queue } = this.deps;
    const verdict = await admitSolved({
      sealer,
      guard,
      sealed: msg.cookie,
      client: at.client,
      server: at.server,
      verify: (state, difficulty) =>
        verifySha256Bits({ challenge: connPowPrefix(state.challenge), difficulty }, msg.nonce),
      // Seed 003: "all requests after that point must meet at least that internal difficulty".
      minDifficulty: controller.internal,
    });
    if (!verdict.ok) {
      return verdict.detail === undefined
        ? { kind: 'refuse', code: verdict.code }
        : { kind: 'refuse', code: verdict.code, detail: verdict.detail };
    }
    if (!queue.enter())
      return { kind: 'refuse', code: 'ERR_GOSSIP_CONN_BUSY', detail: 'handshake queue full' };
    return { kind: 'admit', reply: encodeConn({ type: CONN_OK }) };
  }

  /** An admitted connection finished its handshake (either way): its queue place is free again. */
  done(): void {
    this.deps.queue.leave();
  }
}
