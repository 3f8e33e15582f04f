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
import { accept, reject, type Verdict } from '../util/errors.js';

export type ReplayCode = 'ERR_HS_REPLAY' | 'ERR_HS_TIME_REGRESSED' | 'ERR_HS_BUSY';

/** A shared guard (for several processes behind one identity), e.g. the admission ReplayGuard. */
export interface SharedReplayGuard {
  /** true exactly once per id before it expires. */
  redeem(id: Uint8Array, expiresAtMs: number): Promise<boolean>;
}

export interface ReplayWindowOptions {
  readonly maxSkewSec: number;
  readonly maxPeers: number;
  readonly maxNonces: number;
  readonly shared?: SharedReplayGuard;
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
      const id = new TextEncoder().encode(key);
      if (!(await shared.redeem(id, (until + 1) * 1000))) return reject('ERR_HS_REPLAY', 'shared guard');
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
