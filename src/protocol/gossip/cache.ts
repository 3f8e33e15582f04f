/**
 * The two memories of the Gossip engine, both pure (time comes in as `now`):
 * - `KnowledgeCache`: the items kept for spreading and repair, bounded by a count and a byte
 *   budget, oldest dropped first: seed 003's FIFO ring buffer ("evict the oldest-seen
 *   messages"), so a flood of large items cannot grow memory.
 * - `SeenSet`: message ids seen recently, for duplicate suppression. Bounded by time, not by
 *   count: a count bound would let a flood push honest ids out and have them delivered twice.
 *   A hard cap protects memory; when it is reached new ids are refused instead.
 */

export interface CachedItem {
  readonly key: string;
  readonly id: Uint8Array;
  readonly salt: bigint;
  readonly dataType: number;
  readonly data: Uint8Array;
  /** The TTL this peer forwards the item with (already decremented; 0 = unlimited). */
  readonly ttl: number;
  readonly acceptedAt: number;
  /** Heartbeats left during which the item is offered by IHAVE. */
  ihaveRounds: number;
  /** Neighbours (link ids) that told us they have it: they sent it or offered it. */
  readonly told: Set<number>;
  /** Neighbours we pushed the item to. */
  readonly sentTo: Set<number>;
  /** Neighbours served on IWANT, and how often (bounded: IWANT must not amplify). */
  readonly served: Map<number, number>;
}

export class KnowledgeCache {
  private readonly items = new Map<string, CachedItem>();
  private bytes = 0;

  constructor(
    private readonly maxItems: number,
    private readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.items.size;
  }
  get byteSize(): number {
    return this.bytes;
  }

  get(key: string): CachedItem | undefined {
    return this.items.get(key);
  }

  /** Adds an item, dropping the oldest until both bounds hold; false when it alone is too big. */
  add(item: CachedItem): boolean {
    if (this.items.has(item.key)) return true;
    if (item.data.length > this.maxBytes || this.maxItems === 0) return false;
    this.items.set(item.key, item);
    this.bytes += item.data.length;
    for (const [key, old] of this.items) {
      if (this.items.size <= this.maxItems && this.bytes <= this.maxBytes) break;
      this.items.delete(key);
      this.bytes -= old.data.length;
    }
    return true;
  }

  /** Items newest last (insertion order). */
  values(): IterableIterator<CachedItem> {
    return this.items.values();
  }

  /** Forgets a neighbour in every item's bookkeeping. */
  forgetLink(link: number): void {
    for (const item of this.items.values()) {
      item.told.delete(link);
      item.sentTo.delete(link);
      item.served.delete(link);
    }
  }
}

export class SeenSet {
  // Insertion order is expiry order because every id gets the same lifetime.
  private readonly expires = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
  ) {}

  get size(): number {
    return this.expires.size;
  }

  has(key: string, now: number): boolean {
    const at = this.expires.get(key);
    return at !== undefined && at > now;
  }

  /** Marks `key` seen until now + ttl; false when the set is full (the caller refuses the item). */
  add(key: string, now: number): boolean {
    this.prune(now);
    if (this.expires.has(key)) return true;
    if (this.expires.size >= this.max) return false;
    this.expires.set(key, now + this.ttlMs);
    return true;
  }

  delete(key: string): void {
    this.expires.delete(key);
  }

  prune(now: number): void {
    for (const [key, at] of this.expires) {
      if (at > now) break;
      this.expires.delete(key);
    }
  }
}
