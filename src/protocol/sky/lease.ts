/**
 * Leases (seed 003, "Mitigation Steps when Under Load": "when connecting into a sky node one
 * will establish a 'lease' at that sky node ... a good sky node will simply block all lookup
 * queries which do not correspond to a node's lease"; "Leases are generally kept track of,
 * until their expiration date, by both sky and earth nodes").
 *
 * A lease is bound to the earth node's identity, SHA-256 of its Ed25519 public key (DER
 * SPKI, the secure channel's identity), and proved by the key's signature over the LEASE
 * bytes as received. Its time must be within the skew of the sky node's clock and newer
 * than the lease it renews, so a captured LEASE can neither move a lease nor extend it.
 *
 * The table is bounded in total and per address group (the costly identity of whoever took
 * the lease), and forgets a lease at its expiry. Pure: the time is a parameter.
 */
import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import type { Endpoint } from '../../admission/endpoint.js';
import { accept, reject, type Verdict } from '../../util/errors.js';
import { ID_BYTES, type LeaseMsg, leaseSignedInput } from '../../wire/sky.js';
import type { SkyLimits } from './limits.js';

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the 32-byte key follows. */
export const ED25519_SPKI_PREFIX = Uint8Array.from([
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
]);

export function spkiOfRaw(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(ED25519_SPKI_PREFIX.length + key.length);
  out.set(ED25519_SPKI_PREFIX);
  out.set(key, ED25519_SPKI_PREFIX.length);
  return out;
}

/** The identity (hex SHA-256 of the SPKI) of a raw Ed25519 public key. */
export function identityOfRaw(key: Uint8Array): string {
  return createHash('sha256').update(spkiOfRaw(key)).digest('hex');
}

export function publicKeyOfRaw(key: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.from(spkiOfRaw(key)), format: 'der', type: 'spki' });
}

/** The raw 32 bytes of an Ed25519 public key. */
export function rawOfPublicKey(key: KeyObject): Uint8Array {
  const der = key.export({ type: 'spki', format: 'der' });
  return new Uint8Array(der.subarray(der.length - 32));
}

export const NO_HOLDER = new Uint8Array(ID_BYTES);

/** What a sky node keeps per lease. */
export interface LeaseRecord {
  readonly identity: string;
  readonly key: Uint8Array;
  readonly observed: Endpoint;
  readonly listenPort: number;
  readonly inboxBytes: number;
  readonly holder: Uint8Array;
  /** The LEASE's own time (ms): a renewal must carry a later one. */
  readonly time: number;
  readonly expiresAt: number;
  /** Address group (costly identity) of the connection that took it. */
  readonly group: string;
}

export type LeaseCode =
  | 'ERR_SKY_BAD_SIGNATURE'
  | 'ERR_SKY_STALE_LEASE'
  | 'ERR_SKY_BAD_DURATION'
  | 'ERR_SKY_LEASES_FULL';

/**
 * Checks a LEASE (duration, time, then the signature: cheapest first) and builds the record
 * the store is asked to keep.
 */
export function checkLease(
  msg: LeaseMsg,
  ctx: { readonly now: number; readonly observed: Endpoint; readonly group: string },
  limits: Pick<SkyLimits, 'minLeaseSec' | 'maxLeaseSec' | 'leaseSkewMs'>,
): Verdict<LeaseRecord, LeaseCode> {
  if (msg.durationSec < limits.minLeaseSec || msg.durationSec > limits.maxLeaseSec) {
    return reject('ERR_SKY_BAD_DURATION', `${msg.durationSec}s`);
  }
  if (Math.abs(ctx.now - msg.time) > limits.leaseSkewMs) return reject('ERR_SKY_STALE_LEASE', 'time');
  let ok = false;
  try {
    ok = verify(null, leaseSignedInput(msg.bytes), publicKeyOfRaw(msg.key), msg.signature);
  } catch {
    // A point that is not on the curve: node:crypto refuses to build the key.
    ok = false;
  }
  if (!ok) return reject('ERR_SKY_BAD_SIGNATURE');
  return accept({
    identity: identityOfRaw(msg.key),
    key: msg.key,
    observed: ctx.observed,
    listenPort: msg.listenPort,
    inboxBytes: msg.inboxBytes,
    holder: msg.holder,
    time: msg.time,
    expiresAt: ctx.now + msg.durationSec * 1000,
    group: ctx.group,
  });
}

/**
 * The bounded in-memory lease table (one sky node, or the reference for the shared store's
 * Lua script, which keeps the same rules).
 */
export class LeaseTable {
  readonly #leases = new Map<string, LeaseRecord>();
  readonly #groups = new Map<string, number>();

  constructor(private readonly limits: Pick<SkyLimits, 'maxLeases' | 'maxLeasesPerGroup'>) {}

  get size(): number {
    return this.#leases.size;
  }

  groupCount(group: string): number {
    return this.#groups.get(group) ?? 0;
  }

  /** The live lease of `identity`, or undefined (an expired one is forgotten here). */
  get(identity: string, now: number): LeaseRecord | undefined {
    const r = this.#leases.get(identity);
    if (r === undefined) return undefined;
    if (r.expiresAt <= now) {
      this.#drop(r);
      return undefined;
    }
    return r;
  }

  /** Takes or renews a lease within the caps. */
  put(rec: LeaseRecord, now: number): Verdict<LeaseRecord, LeaseCode> {
    const old = this.get(rec.identity, now);
    if (old !== undefined) {
      if (rec.time <= old.time) return reject('ERR_SKY_STALE_LEASE', 'not newer than the live lease');
      // A renewal moves the lease to the group that renewed it (the node moved networks).
      if (old.group !== rec.group && this.groupCount(rec.group) >= this.limits.maxLeasesPerGroup) {
        return reject('ERR_SKY_LEASES_FULL', 'group');
      }
      this.#drop(old);
    } else {
      if (this.#leases.size >= this.limits.maxLeases) {
        this.sweep(now);
        if (this.#leases.size >= this.limits.maxLeases) return reject('ERR_SKY_LEASES_FULL', 'table');
      }
      if (this.groupCount(rec.group) >= this.limits.maxLeasesPerGroup) {
        return reject('ERR_SKY_LEASES_FULL', 'group');
      }
    }
    this.#leases.set(rec.identity, rec);
    this.#groups.set(rec.group, this.groupCount(rec.group) + 1);
    return accept(rec);
  }

  /** Forgets every lease whose expiry passed; returns how many. */
  sweep(now: number): number {
    let n = 0;
    for (const r of this.#leases.values()) {
      if (r.expiresAt <= now) {
        this.#drop(r);
        n++;
      }
    }
    return n;
  }

  #drop(r: LeaseRecord): void {
    this.#leases.delete(r.identity);
    const c = this.groupCount(r.group) - 1;
    if (c <= 0) this.#groups.delete(r.group);
    else this.#groups.set(r.group, c);
  }
}
