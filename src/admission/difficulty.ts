/**
 * Load-driven difficulty. A controller watches arrivals and says how hard the next
 * challenge must be; difficulty is 0 when the server is idle, so honest users pay nothing
 * when nobody attacks (DESIGN "The admission pipeline").
 *
 * The reference controller is seed 003's fixed-size queue rule ("Proof of Work"):
 * - a queue of fixed size q; "whenever that queue is full, the internal difficulty threshold
 *   is incremented by 1";
 * - "if the internal difficulty threshold doesn't increment for q client requests in a row
 *   then the internal difficulty threshold is decremented by 1" (never below 0);
 * - "the external difficulty threshold given to clients is 1 greater than d except when
 *   d = 0. When d = 0 the external difficulty is also 0."
 * The margin of one between external and internal lets a client who solved at the announced
 * difficulty still pass if d grew by one while it was solving.
 *
 * Optionally (`stepIntervalMs`, default 0 = the rule exactly as the seed states it) d moves at
 * most one step per interval, which callers set to the queue's drain time (q / service rate):
 * the queue cannot show the effect of a new price sooner, so a burst of arrivals that all find
 * it full before anyone paid the new price must not count as several overloads. Read as the
 * seed's rule with "the queue is full" judged once per time it takes to empty it
 * (docs/architecture.md, "Difficulty control (seed 003)").
 */
import { assertInteger } from '../util/args.js';
import type { Clock } from '../util/clock.js';
import { systemClock } from '../util/clock.js';
import { ArgumentError } from '../util/errors.js';
import { ADMISSION_LIMITS } from './limits.js';

/** One request arrived. */
export interface ArrivalEvent {
  /** The work queue was full at the moment of this arrival. */
  readonly queueFull: boolean;
  /** Arrival time (ms), for controllers that look at rates; the queue rule does not need it. */
  readonly nowMs?: number;
}

/** What every difficulty controller offers, so that controllers can be compared on one trace. */
export interface DifficultyController {
  readonly name: string;
  /** The difficulty a solution must meet now (seed 003's d). */
  readonly internal: number;
  /** The difficulty announced to clients in new challenges. */
  readonly external: number;
  /** Feeds one arrival; returns the external difficulty after it. */
  arrive(event: ArrivalEvent): number;
}

/** Seed 003's mapping from internal to external difficulty. */
export function externalDifficulty(internal: number): number {
  return internal === 0 ? 0 : internal + 1;
}

export interface QueueDifficultyOptions {
  /** q: the queue size, and the run of arrivals without an increment that lowers d. */
  readonly queueSize?: number;
  /** Cap on d; default ADMISSION_LIMITS.maxDifficulty. External difficulty is at most this + 1. */
  readonly maxDifficulty?: number;
  /** Starting d (default 0). */
  readonly initial?: number;
  /**
   * Least time (ms) between two increments, and between any change and a decrement; 0 (the
   * default) is seed 003's rule with no time in it. When set, arrivals must carry `nowMs`.
   */
  readonly stepIntervalMs?: number;
}

/** Seed 003's controller, exactly (see the module comment). */
export class QueueDifficultyController implements DifficultyController {
  readonly name = 'queue';
  readonly queueSize: number;
  readonly maxDifficulty: number;
  private d: number;
  /** Arrivals in a row since the last increment (or decrement). */
  private run = 0;
  readonly stepIntervalMs: number;
  private lastRaiseAt = Number.NEGATIVE_INFINITY;
  private lastStepAt = Number.NEGATIVE_INFINITY;

  constructor(options: QueueDifficultyOptions = {}) {
    this.queueSize = options.queueSize ?? ADMISSION_LIMITS.queueSize;
    assertInteger('queueSize', this.queueSize, 1, ADMISSION_LIMITS.maxQueueSize);
    this.maxDifficulty = options.maxDifficulty ?? ADMISSION_LIMITS.maxDifficulty;
    assertInteger('maxDifficulty', this.maxDifficulty, 0, ADMISSION_LIMITS.maxSealedDifficulty - 1);
    this.d = options.initial ?? 0;
    assertInteger('initial', this.d, 0, this.maxDifficulty);
    this.stepIntervalMs = options.stepIntervalMs ?? 0;
    if (!(this.stepIntervalMs >= 0) || !Number.isFinite(this.stepIntervalMs)) {
      throw new ArgumentError(
        'stepIntervalMs',
        `expected a finite number >= 0, got ${String(this.stepIntervalMs)}`,
      );
    }
  }

  /** Whether `since` lies a whole step interval before `now` (a tolerance for float sums). */
  private elapsed(since: number, now: number | undefined): boolean {
    if (this.stepIntervalMs === 0) return true;
    if (now === undefined) throw new ArgumentError('nowMs', 'required when stepIntervalMs is set');
    return now - since >= this.stepIntervalMs - 1e-6;
  }

  get internal(): number {
    return this.d;
  }

  get external(): number {
    return externalDifficulty(this.d);
  }

  /** Arrivals since the last change of d caused by the rule (for tests and metrics). */
  get streak(): number {
    return this.run;
  }

  arrive(event: ArrivalEvent): number {
    const now = event.nowMs;
    if (event.queueFull) {
      // At the cap a full queue still counts as the rule firing: the run restarts, so a
      // sustained overload holds d at the cap instead of letting it sag and climb back. A full
      // queue within a step interval of the last increment restarts the run too (the queue is
      // still full: no reason to lower) but does not raise again: the queue cannot have felt
      // the last increment yet.
      if (this.d < this.maxDifficulty && this.elapsed(this.lastRaiseAt, now)) {
        this.d++;
        this.lastRaiseAt = this.lastStepAt = now ?? 0;
      }
      this.run = 0;
    } else if (++this.run >= this.queueSize) {
      if (this.d === 0) {
        this.run = 0;
      } else if (this.elapsed(this.lastStepAt, now)) {
        // Lowering waits a step interval after any change, like raising: a price just raised
        // is not taken back before the queue could show what it did.
        this.d--;
        this.lastStepAt = now ?? 0;
        this.run = 0;
      } else {
        // q quiet arrivals are in; the decrement waits for the interval and comes with the
        // next quiet arrival after it.
        this.run = this.queueSize;
      }
    }
    return this.external;
  }
}

/**
 * A constant difficulty whatever the load: the powtcp reference's behaviour, kept as a
 * baseline to compare load-driven controllers against on the same trace.
 */
export class FixedDifficultyController implements DifficultyController {
  readonly name = 'fixed';
  readonly internal: number;
  readonly external: number;

  constructor(difficulty: number) {
    assertInteger('difficulty', difficulty, 0, ADMISSION_LIMITS.maxSealedDifficulty);
    this.internal = difficulty;
    this.external = difficulty;
  }

  arrive(_event: ArrivalEvent): number {
    return this.external;
  }
}

/** A work queue whose fullness drives the controller. */
export interface LoadQueue {
  readonly size: number;
  readonly length: number;
  readonly full: boolean;
  /** Takes a place in the queue; false (and nothing changes) when it is full. */
  enter(): boolean;
}

/** A fixed-size queue of requests in progress: a request enters when it starts and leaves when done. */
export class BoundedQueue implements LoadQueue {
  readonly size: number;
  private n = 0;

  constructor(size: number = ADMISSION_LIMITS.queueSize) {
    assertInteger('size', size, 1, ADMISSION_LIMITS.maxQueueSize);
    this.size = size;
  }

  get length(): number {
    return this.n;
  }

  get full(): boolean {
    return this.n >= this.size;
  }

  enter(): boolean {
    if (this.n >= this.size) return false;
    this.n++;
    return true;
  }

  /** A request left the queue (done or abandoned). Leaving an empty queue is a caller bug. */
  leave(): void {
    if (this.n === 0) throw new ArgumentError('queue', 'leave() without a matching enter()');
    this.n--;
  }
}

export interface LeakyQueueOptions {
  readonly size?: number;
  /** Requests the service completes per second: the rate at which the queue drains. */
  readonly serviceRatePerSec: number;
  readonly clock?: Clock;
}

/**
 * A virtual queue for services with no explicit work queue (for example a lookup server
 * answering at once): a leaky bucket of `size` places that drains at the service rate.
 * Full means requests arrive faster than the service rate for long enough to fill it.
 */
export class LeakyQueue implements LoadQueue {
  readonly size: number;
  readonly serviceRatePerSec: number;
  private readonly clock: Clock;
  private level = 0;
  private at: number;

  constructor(options: LeakyQueueOptions) {
    this.size = options.size ?? ADMISSION_LIMITS.queueSize;
    assertInteger('size', this.size, 1, ADMISSION_LIMITS.maxQueueSize);
    this.serviceRatePerSec = options.serviceRatePerSec;
    if (
      typeof this.serviceRatePerSec !== 'number' ||
      !(this.serviceRatePerSec > 0) ||
      !Number.isFinite(this.serviceRatePerSec)
    ) {
      throw new ArgumentError(
        'serviceRatePerSec',
        `expected a positive number, got ${String(options.serviceRatePerSec)}`,
      );
    }
    this.clock = options.clock ?? systemClock;
    this.at = this.clock.now();
  }

  private drain(): void {
    const now = this.clock.now();
    if (now > this.at) {
      this.level = Math.max(0, this.level - ((now - this.at) * this.serviceRatePerSec) / 1000);
      this.at = now;
    }
  }

  get length(): number {
    this.drain();
    return this.level;
  }

  get full(): boolean {
    this.drain();
    // A place is free once a whole request has drained.
    return this.level > this.size - 1;
  }

  enter(): boolean {
    if (this.full) return false;
    this.level++;
    return true;
  }
}

/**
 * One arrival at a service: tells the controller whether the queue was full at that moment,
 * then lets the request into the queue if there is room. Returns whether it got in and the
 * difficulty now in force.
 */
export function arrive(
  queue: LoadQueue,
  controller: DifficultyController,
  nowMs?: number,
): { readonly admitted: boolean; readonly internal: number; readonly external: number } {
  const queueFull = queue.full;
  controller.arrive(nowMs === undefined ? { queueFull } : { queueFull, nowMs });
  const admitted = !queueFull && queue.enter();
  return { admitted, internal: controller.internal, external: controller.external };
}
