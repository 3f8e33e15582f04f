/**
 * The two memories of the Gossip engine, both pure (time comes in as `now`):
 * - `KnowledgeCache`: the items kept for spreading and repair, bounded by a count and a byte
 *   budget, oldest dropped first: seed 003's FIFO ring buffer ("evict the oldest-seen
 *   messages"), so a flood of large items cannot grow memory.
 * - `SeenSet`: message ids seen recently, for duplicate suppression. Bounded by time, not by
 *   count: a count bound would let a flood push honest ids out and have them delivered twice.
 *   A hard cap protects memory; when it is reached, a link below its fair share takes the
 *   place of the heaviest link's oldest id, and a link at its share has its new ids refused.
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

/**
 * Evicted keys are compacted out of the insertion order once this many have piled up at its
 * head (and they are at least half of it): amortised O(1) per insert, not a limit.
 */
const COMPACT_AFTER = 1024;

export class KnowledgeCache {
  private readonly items = new Map<string, CachedItem>();
  private bytes = 0;
  /**
   * Keys oldest first, from `head` on. Evicting through a fresh Map iterator instead cost
   * time in proportion to the entries deleted since the Map last rehashed (its iterator steps
   * over their tombstones): 78 µs per add at 10^5 items (bench:scale, issue 12 item 6).
   */
  private readonly order: string[] = [];
  private head = 0;

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
    this.order.push(item.key);
    this.bytes += item.data.length;
    while (this.items.size > this.maxItems || this.bytes > this.maxBytes) {
      const key = this.order[this.head++]!;
      const old = this.items.get(key)!;
      this.items.delete(key);
      this.bytes -= old.data.length;
    }
    if (this.head >= COMPACT_AFTER && this.head * 2 >= this.order.length) {
      this.order.splice(0, this.head);
      this.head = 0;
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

/** Owner of seen ids that came from no link (local announcements). */
export const LOCAL_OWNER = -1;

export class SeenSet {
  // Per owner (the link an id came from), insertion order is expiry order because every id
  // gets the same lifetime.
  private readonly byOwner = new Map<number, Map<string, number>>();
  private readonly owners = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
  ) {}

  get size(): number {
    return this.owners.size;
  }

  /** Ids held for `owner` right now. */
  held(owner: number): number {
    return this.byOwner.get(owner)?.size ?? 0;
  }

  has(key: string, now: number): boolean {
    const owner = this.owners.get(key);
    if (owner === undefined) return false;
    return (this.byOwner.get(owner)?.get(key) ?? 0) > now;
  }

  /**
   * Marks `key` seen until now + ttl on behalf of `owner`. When the set is full, an owner below
   * its fair share (max / owners) takes the place of the oldest id of the heaviest owner, so a
   * link that floods the set pushes out only its own ids, never another link's (issue 10);
   * false when `owner` is at or above its share (the caller refuses the item).
   */
  add(key: string, now: number, owner: number = LOCAL_OWNER): boolean {
    this.prune(now);
    if (this.owners.has(key)) return true;
    if (this.owners.size >= this.max) {
      const holders = this.byOwner.size + (this.byOwner.has(owner) ? 0 : 1);
      if (this.held(owner) >= Math.floor(this.max / holders)) return false;
      let heaviest: Map<string, number> | undefined;
      for (const ids of this.byOwner.values())
        if (heaviest === undefined || ids.size > heaviest.size) heaviest = ids;
      const oldest = heaviest?.keys().next().value;
      if (oldest === undefined) return false;
      this.delete(oldest);
    }
    let ids = this.byOwner.get(owner);
    if (ids === undefined) {
      ids = new Map();
      this.byOwner.set(owner, ids);
    }
    ids.set(key, now + this.ttlMs);
    this.owners.set(key, owner);
    return true;
  }

  delete(key: string): void {
    const owner = this.owners.get(key);
    if (owner === undefined) return;
    this.owners.delete(key);
    const ids = this.byOwner.get(owner);
    ids?.delete(key);
    if (ids?.size === 0) this.byOwner.delete(owner);
  }

  prune(now: number): void {
    for (const [owner, ids] of this.byOwner) {
      for (const [key, at] of ids) {
        if (at > now) break;
        ids.delete(key);
        this.owners.delete(key);
      }
      if (ids.size === 0) this.byOwner.delete(owner);
    }
  }
}
