/**
 * Handshake replay protection, a hole of seed 004 closed: the seed checks only
 * |Now - T| <= t_max, so a recorded HELLO is accepted again for t_max seconds.
 *
 * Two rules, both per identity:
 * - the same (identity, nonce) is accepted once while its timestamp is within t_max;
 * - a peer's handshake timestamp never goes back (T >= the last accepted T).
 *
 * `check` is a cheap look-up done before the PoW; `commit` records the handshake only after
 * its PoW and signature were verified, so that forged messages cannot burn a real peer's
 * nonce. Both maps are bounded; when the nonce map is full of entries still inside t_max,
 * new handshakes are refused (fail closed) rather than forgetting a live nonce.
 */
import type { Store } from '../admission/store.js';
import { accept, reject, type Verdict } from '../util/errors.js';

export type ReplayCode = 'ERR_HS_REPLAY' | 'ERR_HS_TIME_REGRESSED' | 'ERR_HS_STALE' | 'ERR_HS_BUSY';

/** Prefix of the shared store's keys: `secure-replay:<identity>:<nonce hex>` (111 characters). */
export const SHARED_REPLAY_PREFIX = 'secure-replay:';

export interface ReplayWindowOptions {
  readonly maxSkewSec: number;
  readonly maxPeers: number;
  readonly maxNonces: number;
  /**
   * HELLOs whose T is before this Unix second are refused (`ERR_HS_STALE`): the window of
   * nonces seen before a restart is gone, so a HELLO captured then could be replayed.
   */
  readonly notBeforeSec?: number;
  /**
   * The admission layer's shared Store (RedisStore for several responders that share keys):
   * a nonce is redeemed there once, after the local window, so that a HELLO accepted by one
   * responder is refused by the others and by any restarted one within t_max.
   */
  readonly shared?: Store;
}

export class ReplayWindow {
  /** identity -> last accepted T; Map order is least recently updated first. */
  readonly #lastTime = new Map<string, number>();
  /** identity|nonce -> Unix second after which it may be forgotten; insertion ordered. */
  readonly #nonces = new Map<string, number>();
  readonly #options: ReplayWindowOptions;

  constructor(options: ReplayWindowOptions) {
    this.#options = options;
  }

  get size(): { peers: number; nonces: number } {
    return { peers: this.#lastTime.size, nonces: this.#nonces.size };
  }

  check(identity: string, nonce: Uint8Array, time: number, nowSec: number): Verdict<void, ReplayCode> {
    const notBefore = this.#options.notBeforeSec;
    if (notBefore !== undefined && time < notBefore) {
      return reject('ERR_HS_STALE', `T ${time} is before the responder started (${notBefore})`);
    }
    const key = nonceKey(identity, nonce);
    const until = this.#nonces.get(key);
    if (until !== undefined && until >= nowSec) return reject('ERR_HS_REPLAY', 'nonce seen within t_max');
    const last = this.#lastTime.get(identity);
    if (last !== undefined && time < last) {
      return reject('ERR_HS_TIME_REGRESSED', `T ${time} < last ${last}`);
    }
    return accept(undefined);
  }

  /** Records an authenticated handshake; false-y verdict if it raced an identical one. */
  async commit(
    identity: string,
    nonce: Uint8Array,
    time: number,
    nowSec: number,
  ): Promise<Verdict<void, ReplayCode>> {
    const again = this.check(identity, nonce, time, nowSec);
    if (!again.ok) return again;
    this.#expire(nowSec);
    if (this.#nonces.size >= this.#options.maxNonces) {
      return reject('ERR_HS_BUSY', 'replay window full of live nonces');
    }
    const key = nonceKey(identity, nonce);
    // Remember until the timestamp leaves the window on either side of now.
    const until = Math.max(time, nowSec) + this.#options.maxSkewSec;
    this.#nonces.set(key, until);
    this.#lastTime.delete(identity);
    this.#lastTime.set(identity, Math.max(time, this.#lastTime.get(identity) ?? 0));
    while (this.#lastTime.size > this.#options.maxPeers) {
      const oldest = this.#lastTime.keys().next().value;
      if (oldest === undefined) break;
      this.#lastTime.delete(oldest);
    }
    const shared = this.#options.shared;
    if (shared !== undefined) {
      let fresh: boolean;
      try {
        fresh = await shared.setIfAbsent(SHARED_REPLAY_PREFIX + key.replace('|', ':'), (until + 1) * 1000);
      } catch (error) {
        // Fail closed: without the shared record this HELLO could be replayed at another responder.
        return reject(
          'ERR_HS_BUSY',
          `replay store: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      if (!fresh) return reject('ERR_HS_REPLAY', 'nonce redeemed at another responder');
    }
    return accept(undefined);
  }

  #expire(nowSec: number): void {
    // Entries were inserted in roughly increasing `until`; stop at the first live one.
    for (const [key, until] of this.#nonces) {
      if (until >= nowSec) break;
      this.#nonces.delete(key);
    }
  }
}

function nonceKey(identity: string, nonce: Uint8Array): string {
  return `${identity}|${Buffer.from(nonce).toString('hex')}`;
}
