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
import type { Verdict } from '../util/errors.js';
import { ArgumentError, accept, reject, TollgateError } from '../util/errors.js';
import type { Endpoint } from './endpoint.js';
import { ADMISSION_LIMITS } from './limits.js';
import type { ChallengeSealer, ChallengeState, SealedCode } from './sealed.js';
import type { Store } from './store.js';
import { StoreFullError } from './store.js';

export const REPLAY_KEY_PREFIX = 'replay:';

export class ReplayGuard {
  constructor(
    readonly store: Store,
    private readonly prefix = REPLAY_KEY_PREFIX,
  ) {
    if (typeof store?.setIfAbsent !== 'function') throw new ArgumentError('store', 'expected a Store');
  }

  /** The store key of a replay id. */
  keyOf(id: Uint8Array): string {
    assertBytes('id', id, 1, 48);
    return this.prefix + Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('base64url');
  }

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
export async function admitSolved(
  request: AdmitRequest,
): Promise<Verdict<ChallengeState, AdmitCode | (string & {})>> {
  const opened = request.sealer.open(request.sealed, { client: request.client, server: request.server });
  if (!opened.ok) return opened;
  const state = opened.value;
  const difficulty = Math.max(state.difficulty, request.minDifficulty ?? 0);
  let solved: boolean;
  try {
    solved = await request.verify(state, difficulty);
  } catch (err) {
    if (err instanceof TollgateError && !(err instanceof ArgumentError)) return reject(err.code, err.message);
    throw err;
  }
  if (!solved) return reject('ERR_POW_INSUFFICIENT');
  try {
    // Kept for the skew beyond expiry: an instance whose clock lags may still accept the
    // challenge that long after a store on a faster clock would have dropped its mark.
    const fresh = await request.guard.redeem(state.challenge, state.expiresAt + ADMISSION_LIMITS.clockSkewMs);
    return fresh ? accept(state) : reject('ERR_CHALLENGE_REPLAYED');
  } catch (err) {
    if (err instanceof StoreFullError) return reject('ERR_STORE_FULL');
    throw err;
  }
}
