/**
 * Open connections grouped by the address group their caps count against (IPv4 /32, IPv6
 * /48), oldest first in each group, with the group holding the most found in O(1) amortised:
 * at the global cap the server evicts from that group, never refusing the newcomer in favour
 * of the heaviest (DESIGN admission pipeline step 2; issue 9 item 7).
 */
export class ConnectionTable<T> {
  /** group -> its connections, oldest first (a Set keeps insertion order). */
  private readonly groups = new Map<string, Set<T>>();
  /** count -> groups holding exactly that many, first to reach it first. */
  private readonly byCount = new Map<number, Set<string>>();
  private top = 0;
  private total = 0;

  get size(): number {
    return this.total;
  }

  countOf(group: string): number {
    return this.groups.get(group)?.size ?? 0;
  }

  private move(group: string, from: number, to: number): void {
    if (from > 0) {
      const set = this.byCount.get(from)!;
      set.delete(group);
      if (set.size === 0) this.byCount.delete(from);
    }
    if (to > 0) {
      let set = this.byCount.get(to);
      if (set === undefined) {
        set = new Set();
        this.byCount.set(to, set);
      }
      set.add(group);
    }
    if (to > this.top) this.top = to;
    while (this.top > 0 && !this.byCount.has(this.top)) this.top--;
  }

  add(group: string, item: T): void {
    let set = this.groups.get(group);
    if (set === undefined) {
      set = new Set();
      this.groups.set(group, set);
    }
    if (set.has(item)) return;
    set.add(item);
    this.total++;
    this.move(group, set.size - 1, set.size);
  }

  /** Removes `item`; false when it was not there (already evicted). */
  delete(group: string, item: T): boolean {
    const set = this.groups.get(group);
    if (set === undefined || !set.delete(item)) return false;
    this.total--;
    if (set.size === 0) this.groups.delete(group);
    this.move(group, set.size + 1, set.size);
    return true;
  }

  /** The connections of the group holding the most, oldest first; undefined when empty. */
  heaviest(): { readonly group: string; readonly items: ReadonlySet<T> } | undefined {
    if (this.top === 0) return undefined;
    const group = this.byCount.get(this.top)!.values().next().value as string;
    return { group, items: this.groups.get(group)! };
  }
}
