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

/** One address group's leases in the table: how many, and in the order they were taken. */
interface GroupLeases {
  readonly name: string;
  count: number;
  /**
   * Identities with the time of the LEASE that put them here, oldest first. An entry is
   * stale once its identity was renewed, moved or dropped (checked against the table when
   * it reaches the head); the queue is rebuilt when stale entries outnumber live ones, so
   * it stays within twice the group's leases and every operation is O(1) amortised.
   */
  queue: { readonly identity: string; readonly time: number }[];
  head: number;
}

/**
 * The bounded in-memory lease table (one sky node, or the reference for the shared store's
 * Lua script, which keeps the same rules).
 *
 * At `maxLeases`, a new lease from an address group holding fewer than the heaviest group
 * minus one takes the place of that group's oldest lease (DESIGN "The admission pipeline",
 * step 2: at a global cap the heaviest identity loses first, never the newcomer). A flood of
 * valid leases from many addresses thus fills the table only up to equal shares: every
 * group with fewer leases than the flooders still gets in (issue 11 item 5; before, such a
 * flood from 25 or more addresses filled the table within `maxLeasesPerGroup` each, and every
 * honest lease after it was refused with ERR_SKY_LEASES_FULL).
 */
export class LeaseTable {
  readonly #leases = new Map<string, LeaseRecord>();
  readonly #groups = new Map<string, GroupLeases>();
  /** Groups by how many leases they hold (count >= 1), so the heaviest is found in O(1). */
  readonly #byCount = new Map<number, Set<GroupLeases>>();
  #maxCount = 0;
  /** Leases dropped for a newcomer at the cap, since the table was made. */
  evicted = 0;
  /**
   * No lease expires before this (a lower bound: drops only raise the true minimum). A full
   * table refused every stranger's put after a sweep over all leases, 11 ms each at 10^5
   * leases (bench:scale, issue 12 item 6); now the sweep runs only once something can have
   * expired.
   */
  #nextExpiry = Number.POSITIVE_INFINITY;

  constructor(private readonly limits: Pick<SkyLimits, 'maxLeases' | 'maxLeasesPerGroup'>) {}

  get size(): number {
    return this.#leases.size;
  }

  groupCount(group: string): number {
    return this.#groups.get(group)?.count ?? 0;
  }

  /** The most leases any one address group holds. */
  get heaviestCount(): number {
    return this.#maxCount;
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

  /**
   * Takes or renews a lease within the caps. `onEvict` hears of a lease dropped to make room
   * (the sky node counts it).
   */
  put(
    rec: LeaseRecord,
    now: number,
    onEvict?: (evicted: LeaseRecord) => void,
  ): Verdict<LeaseRecord, LeaseCode> {
    const old = this.get(rec.identity, now);
    if (old !== undefined) {
      if (rec.time <= old.time) return reject('ERR_SKY_STALE_LEASE', 'not newer than the live lease');
      // A renewal moves the lease to the group that renewed it (the node moved networks).
      if (old.group !== rec.group && this.groupCount(rec.group) >= this.limits.maxLeasesPerGroup) {
        return reject('ERR_SKY_LEASES_FULL', 'group');
      }
      this.#drop(old);
    } else {
      // The group cap first: it refuses without touching anyone else's lease.
      if (this.groupCount(rec.group) >= this.limits.maxLeasesPerGroup) {
        return reject('ERR_SKY_LEASES_FULL', 'group');
      }
      if (this.#leases.size >= this.limits.maxLeases) {
        this.sweep(now);
        if (this.#leases.size >= this.limits.maxLeases) {
          const victim = this.#heaviestOldest(rec.group);
          if (victim === undefined) return reject('ERR_SKY_LEASES_FULL', 'table');
          this.#drop(victim);
          this.evicted++;
          onEvict?.(victim);
        }
      }
    }
    this.#leases.set(rec.identity, rec);
    const g = this.#group(rec.group);
    this.#setCount(g, g.count + 1);
    g.queue.push({ identity: rec.identity, time: rec.time });
    if (rec.expiresAt < this.#nextExpiry) this.#nextExpiry = rec.expiresAt;
    return accept(rec);
  }

  /** Forgets every lease whose expiry passed; returns how many. */
  sweep(now: number): number {
    if (now < this.#nextExpiry) return 0;
    let n = 0;
    let next = Number.POSITIVE_INFINITY;
    for (const r of this.#leases.values()) {
      if (r.expiresAt <= now) {
        this.#drop(r);
        n++;
      } else if (r.expiresAt < next) {
        next = r.expiresAt;
      }
    }
    this.#nextExpiry = next;
    return n;
  }

  /**
   * The oldest lease of the heaviest group, if taking it for a newcomer from `group` leaves
   * the shares more even (the newcomer's group then holds fewer than the heaviest did).
   */
  #heaviestOldest(group: string): LeaseRecord | undefined {
    if (this.groupCount(group) + 1 >= this.#maxCount) return undefined;
    const heaviest = this.#byCount.get(this.#maxCount)?.values().next().value;
    if (heaviest === undefined) return undefined;
    while (heaviest.head < heaviest.queue.length) {
      const e = heaviest.queue[heaviest.head++]!;
      const r = this.#leases.get(e.identity);
      if (r !== undefined && r.group === heaviest.name && r.time === e.time) return r;
    }
    return undefined;
  }

  #group(name: string): GroupLeases {
    let g = this.#groups.get(name);
    if (g === undefined) {
      g = { name, count: 0, queue: [], head: 0 };
      this.#groups.set(name, g);
    }
    return g;
  }

  #setCount(g: GroupLeases, count: number): void {
    if (g.count > 0) {
      const set = this.#byCount.get(g.count)!;
      set.delete(g);
      if (set.size === 0) this.#byCount.delete(g.count);
    }
    g.count = count;
    if (count > 0) {
      let set = this.#byCount.get(count);
      if (set === undefined) {
        set = new Set();
        this.#byCount.set(count, set);
      }
      set.add(g);
      if (count > this.#maxCount) this.#maxCount = count;
    }
    // Counts move by one, so the next lower count is held by the group that just left.
    if (!this.#byCount.has(this.#maxCount))
      this.#maxCount = this.#byCount.size === 0 ? 0 : this.#maxCount - 1;
    if (count === 0) this.#groups.delete(g.name);
    else if (g.queue.length - g.head > 2 * count + 16) {
      // More stale entries than live ones: keep the live ones, in order.
      g.queue = g.queue.slice(g.head).filter((e) => {
        const r = this.#leases.get(e.identity);
        return r !== undefined && r.group === g.name && r.time === e.time;
      });
      g.head = 0;
    }
  }

  #drop(r: LeaseRecord): void {
    this.#leases.delete(r.identity);
    const g = this.#groups.get(r.group);
    if (g !== undefined) this.#setCount(g, g.count - 1);
  }
}
