/**
 * The replay guard: a solved challenge is accepted once (DESIGN "The admission pipeline",
 * step 5). The server keeps no state for challenges it merely issued (seed 000); it records
 * only redeemed ones, until they expire, so memory is bounded by (accept rate x lifetime).
 *
 * Order is the caller's contract: open the sealed challenge, verify the PoW, and only then
 * redeem. Marking before the PoW is checked would let anyone who saw a challenge in flight
 * burn it for its rightful solver with a junk nonce. `admitSolved` runs the steps in this
 * order for callers that want it done for them.
 */
import { assertBytes } from '../util/args.js';
import { isReasonCode, type ReasonCode } from '../util/codes.js';
import type { Verdict } from '../util/errors.js';
import { ArgumentError, accept, reject, TollgateError } from '../util/errors.js';
import type { Endpoint } from './endpoint.js';
import { ADMISSION_LIMITS } from './limits.js';
import type { ChallengeSealer, ChallengeState, SealedCode } from './sealed.js';
import type { Store } from './store.js';
import { StoreFullError } from './store.js';

export const REPLAY_KEY_PREFIX = 'replay:';

/** A store that can also set a key synchronously (one process, no IO). */
export interface SyncReplayStore {
  setIfAbsentSync(key: string, expiresAtMs: number): boolean;
}

export class ReplayGuard {
  constructor(
    readonly store: Store,
    private readonly prefix = REPLAY_KEY_PREFIX,
  ) {
    if (typeof store?.setIfAbsent !== 'function') throw new ArgumentError('store', 'expected a Store');
    const sync = (store as Partial<SyncReplayStore>).setIfAbsentSync;
    this.redeemSync =
      typeof sync === 'function'
        ? (id, expiresAtMs) => sync.call(store, this.keyOf(id), expiresAtMs)
        : undefined;
  }

  /** The store key of a replay id. */
  keyOf(id: Uint8Array): string {
    assertBytes('id', id, 1, 48);
    return this.prefix + Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('base64url');
  }

  /**
   * The synchronous form of `redeem`, present when the store has one (MemoryStore): the same
   * contract without a promise, for the hot path of a single process.
   */
  readonly redeemSync: ((id: Uint8Array, expiresAtMs: number) => boolean) | undefined;

  /**
   * true exactly once per id until `expiresAtMs` (absolute ms), false for every later call.
   * Call only after the PoW verified. Rejects with StoreFullError when a bounded store is at
   * its cap (fail closed), with ArgumentError for a bad id or expiry.
   */
  redeem(id: Uint8Array, expiresAtMs: number): Promise<boolean> {
    let key: string;
    try {
      key = this.keyOf(id);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.store.setIfAbsent(key, expiresAtMs);
  }
}

export type AdmitCode = SealedCode | 'ERR_POW_INSUFFICIENT' | 'ERR_CHALLENGE_REPLAYED' | 'ERR_STORE_FULL';

export interface AdmitRequest {
  readonly sealer: ChallengeSealer;
  readonly guard: ReplayGuard;
  /** The sealed challenge as the client returned it. */
  readonly sealed: Uint8Array;
  /** The endpoints of the connection that brought it (the client as the server sees it). */
  readonly client: Endpoint;
  readonly server: Endpoint;
  /**
   * Checks the client's PoW against `difficulty`; true when it meets it. Gets the state that
   * was sealed, so it can verify the right puzzle over `state.challenge`.
   */
  readonly verify: (state: ChallengeState, difficulty: number) => boolean | Promise<boolean>;
  /**
   * The difficulty the PoW must meet at least, whatever was sealed: seed 003's internal
   * difficulty d at the time of redemption ("all requests after that point must meet at
   * least that internal difficulty threshold"). Default 0.
   */
  readonly minDifficulty?: number;
}

/**
 * The pipeline order, steps 3 to 5: open the sealed challenge (endpoints, expiry), verify the
 * PoW against max(sealed difficulty, minDifficulty), then redeem the challenge id. Never
 * throws for bad client input; a failing verifier that throws a TollgateError (for example
 * a full worker pool) becomes a verdict with its code.
 */
type AdmitVerdict = Verdict<ChallengeState, AdmitCode | ReasonCode>;

function verifyFailed(err: unknown): AdmitVerdict {
  if (err instanceof TollgateError && !(err instanceof ArgumentError)) {
    // A shed proof (full pool) keeps its own code; a local failure (closed pool, dead worker)
    // refuses the request without blaming the client for it.
    return isReasonCode(err.code)
      ? reject(err.code, err.message)
      : reject('ERR_VERIFY_FAILED', `${err.code}: ${err.message}`);
  }
  throw err;
}

function redeemed(fresh: boolean, state: ChallengeState): AdmitVerdict {
  return fresh ? accept(state) : reject('ERR_CHALLENGE_REPLAYED');
}

function redeemFailed(err: unknown): AdmitVerdict {
  if (err instanceof StoreFullError) return reject('ERR_STORE_FULL');
  throw err;
}

function redeemStep(
  request: AdmitRequest,
  state: ChallengeState,
  solved: boolean,
): AdmitVerdict | Promise<AdmitVerdict> {
  if (!solved) return reject('ERR_POW_INSUFFICIENT');
  // Kept for the skew beyond expiry: an instance whose clock lags may still accept the
  // challenge that long after a store on a faster clock would have dropped its mark.
  const expiresAtMs = state.expiresAt + ADMISSION_LIMITS.clockSkewMs;
  const guard = request.guard;
  if (guard.redeemSync !== undefined) {
    try {
      return redeemed(guard.redeemSync(state.challenge, expiresAtMs), state);
    } catch (err) {
      return redeemFailed(err);
    }
  }
  return guard.redeem(state.challenge, expiresAtMs).then((fresh) => redeemed(fresh, state), redeemFailed);
}

/**
 * The pipeline order, steps 3 to 5: open the sealed challenge (endpoints, expiry), verify the
 * PoW against max(sealed difficulty, minDifficulty), then redeem the challenge id. Never
 * rejects for bad client input; a failing verifier that throws a TollgateError (for example
 * a full worker pool) becomes a verdict with its code. Synchronous verifiers and stores run
 * without a promise per step (the returned promise is the only one).
 */
export function admitSolved(request: AdmitRequest): Promise<AdmitVerdict> {
  try {
    const opened = request.sealer.open(request.sealed, { client: request.client, server: request.server });
    if (!opened.ok) return Promise.resolve(opened);
    const state = opened.value;
    const difficulty = Math.max(state.difficulty, request.minDifficulty ?? 0);
    let solved: boolean | Promise<boolean>;
    try {
      solved = request.verify(state, difficulty);
    } catch (err) {
      return Promise.resolve(verifyFailed(err));
    }
    if (typeof solved === 'boolean') return Promise.resolve(redeemStep(request, state, solved));
    return Promise.resolve(solved).then((ok) => redeemStep(request, state, ok), verifyFailed);
  } catch (err) {
    return Promise.reject(err);
  }
}
