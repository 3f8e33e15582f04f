/**
 * The receive queue between the servers and the engine, a priority queue as in seed 002's
 * architecture: VALIDATION answers from local modules jump ahead of everything else, because
 * the engine holds each notified item until its validations are back; serving them first
 * frees pending items (and their memory) soonest under load. Two FIFO lanes keep the order
 * within a priority. Only the normal lane is bounded: validations are bounded already by the
 * pending items they answer.
 */
export class PriorityEventQueue<T> {
  private urgent: T[] = [];
  private normal: T[] = [];
  private urgentHead = 0;
  private normalHead = 0;
  dropped = 0;

  constructor(private readonly maxNormal: number) {}

  get length(): number {
    return this.urgent.length - this.urgentHead + this.normal.length - this.normalHead;
  }

  /**
   * Queues an event; false when the normal lane is full and the event was dropped. `keep`
   * exempts an event from the bound (events from trusted local modules, which have their own
   * limits upstream, are never dropped).
   */
  push(event: T, urgent: boolean, keep = false): boolean {
    if (urgent) {
      this.urgent.push(event);
      return true;
    }
    if (!keep && this.normal.length - this.normalHead >= this.maxNormal) {
      this.dropped++;
      return false;
    }
    this.normal.push(event);
    return true;
  }

  shift(): T | undefined {
    if (this.urgentHead < this.urgent.length) {
      const e = this.urgent[this.urgentHead++];
      if (this.urgentHead === this.urgent.length) {
        this.urgent = [];
        this.urgentHead = 0;
      }
      return e;
    }
    if (this.normalHead < this.normal.length) {
      const e = this.normal[this.normalHead++];
      if (this.normalHead === this.normal.length) {
        this.normal = [];
        this.normalHead = 0;
      }
      return e;
    }
    return undefined;
  }
}
