/**
 * What an earth node stores for another (seed 003, "Mitigation Steps when Under Load": "have
 * nodes declare the maximum size of the messages they expect to receive ... If the total
 * size of all messages exceeds the expected size declared then the node will evict (forget
 * about) the oldest-seen messages, essentially keeping a FIFO ring buffer of messages").
 *
 * With storage pricing on (issue 11 item 4, beyond the seed), a message's sender paid PoW in
 * proportion to size x keep time; a paid message is then never evicted before the time it
 * paid for, and a new one that would need such an eviction is refused instead
 * (`ERR_EARTH_INBOX_FULL`): an attacker must out-pay what is held, not merely out-send it.
 * Without pricing the ring is the seed's, oldest evicted first. Pure: time is a parameter.
 */
import { accept, reject, type Verdict } from '../../util/errors.js';
import type { EarthLimits } from './limits.js';

export interface Held {
  readonly from: Uint8Array;
  readonly data: Uint8Array;
  readonly storedAt: number;
  readonly keepUntil: number;
}

/** Leading zero bits a stored message must pay: log2 of 2^k x bytes x seconds / unit; 0 = free. */
export function priceBits(
  size: number,
  keepSec: number,
  limits: Pick<EarthLimits, 'priceBitsPerUnit' | 'priceUnit'>,
): number {
  const k = limits.priceBitsPerUnit;
  if (k === 0) return 0;
  const units = (Math.max(1, size) * Math.max(1, keepSec)) / limits.priceUnit;
  return Math.max(0, Math.min(64, k + Math.ceil(Math.log2(Math.max(1, units)))));
}

export type InboxCode = 'ERR_EARTH_INBOX_FULL' | 'ERR_EARTH_TOO_LARGE';

export class InboxRing {
  #items: Held[] = [];
  #head = 0;
  #bytes = 0;
  evicted = 0;

  constructor(
    readonly capacity: number,
    readonly priced: boolean,
  ) {}

  get bytes(): number {
    return this.#bytes;
  }

  get count(): number {
    return this.#items.length - this.#head;
  }

  push(
    from: Uint8Array,
    data: Uint8Array,
    keepSec: number,
    now: number,
  ): Verdict<{ evicted: number }, InboxCode> {
    const size = data.length;
    if (size > this.capacity) return reject('ERR_EARTH_TOO_LARGE', `${size} > ${this.capacity} declared`);
    let evicted = 0;
    if (this.#bytes + size > this.capacity) this.#dropExpired(now);
    if (this.priced) {
      if (this.#bytes + size > this.capacity) return reject('ERR_EARTH_INBOX_FULL');
    } else {
      while (this.#bytes + size > this.capacity) {
        const old = this.#items[this.#head++]!;
        this.#bytes -= old.data.length;
        evicted++;
      }
      this.#compact();
    }
    this.#items.push({ from, data, storedAt: now, keepUntil: now + keepSec * 1000 });
    this.#bytes += size;
    this.evicted += evicted;
    return accept({ evicted });
  }

  /** Everything held, oldest first; the ring is empty afterwards. */
  drain(now: number): Held[] {
    this.#dropExpired(now);
    const out = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    this.#bytes = 0;
    return out;
  }

  #dropExpired(now: number): void {
    const kept: Held[] = [];
    let bytes = 0;
    for (let i = this.#head; i < this.#items.length; i++) {
      const h = this.#items[i]!;
      if (h.keepUntil > now) {
        kept.push(h);
        bytes += h.data.length;
      } else this.evicted++;
    }
    this.#items = kept;
    this.#head = 0;
    this.#bytes = bytes;
  }

  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}
