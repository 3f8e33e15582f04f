/**
 * A persistent worker_threads pool (issue 2, item 3c). Workers are created on first use and
 * reused; an idle worker is unref'd, so a process whose only work left is an idle pool exits.
 * Cancellation is cooperative: a solve shares an Int32Array whose slot 0 is the stop flag
 * polled by the search loop, and no worker is ever killed to stop a search.
 *
 * Verification of memory-hard proofs runs in its own small pool with a bounded queue, never
 * on libuv's thread pool, which file system and DNS work share (DESIGN, admission step 6).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Code } from '../util/codes.js';
import { TollgateError } from '../util/errors.js';
import { POW_LIMITS } from './limits.js';
import type { BackendName, SearchResult } from './types.js';

/** Work a pool worker does; see worker.ts. */
export type PoolTask =
  | {
      readonly op: 'sha256-bits';
      readonly challenge: Uint8Array;
      readonly bits: number;
      readonly start: bigint;
      readonly count: number;
      readonly backend: 'native' | 'ts' | 'auto';
      readonly flags: Int32Array;
      readonly slot: number;
    }
  | {
      readonly op: 'hashcash';
      readonly prefix: Uint8Array;
      readonly hexZeros: number;
      readonly start: bigint;
      readonly count: number;
      readonly backend: 'native' | 'ts' | 'auto';
      readonly flags: Int32Array;
      readonly slot: number;
    }
  | {
      readonly op: 'scrypt-search';
      readonly message: Uint8Array;
      readonly N: number;
      readonly r: number;
      readonly p: number;
      readonly target: bigint;
      readonly start: bigint;
      readonly count: number;
      readonly flags: Int32Array;
      readonly slot: number;
    }
  | {
      readonly op: 'scrypt-hash';
      readonly message: Uint8Array;
      readonly nonce: bigint;
      readonly N: number;
      readonly r: number;
      readonly p: number;
    };

export type SearchReply = SearchResult & { readonly backend: BackendName };

export type PoolReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly code: string; readonly message: string };

interface Job {
  readonly id: number;
  readonly task: PoolTask;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

interface Slot {
  readonly worker: Worker;
  job: Job | undefined;
}

function workerUrl(): { url: URL; viaTsx: boolean } {
  // Under tsx the sources run as .ts; from dist they are .js. The worker needs the same.
  const viaTsx = import.meta.url.endsWith('.ts');
  return { url: new URL(`./worker.${viaTsx ? 'ts' : 'js'}`, import.meta.url), viaTsx };
}

function spawnWorker(): Worker {
  const { url, viaTsx } = workerUrl();
  if (!viaTsx) return new Worker(url);
  // Node 20 does not apply the parent's --import hooks to a worker's entry module, so the
  // worker registers tsx itself before importing its .ts entry.
  const api = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(code, { eval: true });
}

export interface WorkerPoolOptions {
  /** Worker threads; default: available parallelism. */
  readonly size?: number;
  /** Jobs allowed to wait for a worker; past it, run() rejects with ERR_POOL_BUSY. */
  readonly maxQueue?: number;
}

export class WorkerPool {
  readonly size: number;
  readonly maxQueue: number;
  #slots: Slot[] = [];
  #queue: Job[] = [];
  #nextId = 1;
  #closed = false;

  constructor(options: WorkerPoolOptions = {}) {
    this.size = options.size ?? availableParallelism();
    this.maxQueue = options.maxQueue ?? Number.POSITIVE_INFINITY;
    if (!Number.isInteger(this.size) || this.size < 1) {
      throw new TollgateError('ERR_INVALID_ARG', `size: expected a positive integer, got ${this.size}`);
    }
  }

  /** Worker threads alive now (they are started on demand and kept). */
  get threads(): number {
    return this.#slots.length;
  }

  /** Jobs waiting for a worker. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Jobs running now. */
  get running(): number {
    return this.#slots.filter((s) => s.job !== undefined).length;
  }

  run<T>(task: PoolTask): Promise<T> {
    if (this.#closed) return Promise.reject(new TollgateError('ERR_POOL_CLOSED', 'worker pool is closed'));
    const idle = this.#idleSlot();
    if (idle === undefined && this.#queue.length >= this.maxQueue) {
      return Promise.reject(
        new TollgateError('ERR_POOL_BUSY', `worker pool busy: ${this.#queue.length} jobs already queued`),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const job: Job = { id: this.#nextId++, task, resolve: resolve as (v: unknown) => void, reject };
      if (idle !== undefined) this.#start(idle, job);
      else this.#queue.push(job);
    });
  }

  /** Terminates every worker; queued jobs are rejected with ERR_POOL_CLOSED. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) {
      job.reject(new TollgateError('ERR_POOL_CLOSED', 'worker pool is closed'));
    }
    const slots = this.#slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
    for (const s of slots) s.job?.reject(new TollgateError('ERR_POOL_CLOSED', 'worker pool is closed'));
  }

  #idleSlot(): Slot | undefined {
    const idle = this.#slots.find((s) => s.job === undefined);
    if (idle !== undefined) return idle;
    if (this.#slots.length < this.size) return this.#spawn();
    return undefined;
  }

  #spawn(): Slot {
    const worker = spawnWorker();
    const slot: Slot = { worker, job: undefined };
    worker.unref();
    worker.on('message', (reply: PoolReply) => {
      const job = slot.job;
      if (job === undefined || job.id !== reply.id) return;
      slot.job = undefined;
      worker.unref();
      if (reply.ok) job.resolve(reply.value);
      else job.reject(new TollgateError(reply.code as Code, reply.message));
      this.#next(slot);
    });
    const fail = (error: unknown): void => {
      const index = this.#slots.indexOf(slot);
      if (index >= 0) this.#slots.splice(index, 1);
      const job = slot.job;
      slot.job = undefined;
      job?.reject(
        error instanceof Error
          ? new TollgateError('ERR_WORKER_FAILED', `worker failed: ${error.message}`, { cause: error })
          : new TollgateError('ERR_WORKER_FAILED', `worker exited with code ${String(error)}`),
      );
      // Replace the worker for the next waiting job, if any.
      const waiting = this.#queue.shift();
      if (waiting !== undefined && !this.#closed) this.#start(this.#idleSlot()!, waiting);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (this.#slots.includes(slot)) fail(code);
    });
    this.#slots.push(slot);
    return slot;
  }

  #start(slot: Slot, job: Job): void {
    slot.job = job;
    slot.worker.ref();
    slot.worker.postMessage({ id: job.id, task: job.task });
  }

  #next(slot: Slot): void {
    const job = this.#queue.shift();
    if (job !== undefined) this.#start(slot, job);
  }
}

let solvePool: WorkerPool | undefined;
let verifyPool: WorkerPool | undefined;

/** The shared pool that solves (one worker per core). */
/** Scrypt verification threads: the registry's count, but never more than the cores. */
export function verifyPoolSize(): number {
  return Math.max(1, Math.min(POW_LIMITS.verifyPoolSize, availableParallelism()));
}

export function getSolvePool(): WorkerPool {
  solvePool ??= new WorkerPool();
  return solvePool;
}

/** The shared, bounded pool that verifies memory-hard proofs. */
export function getVerifyPool(): WorkerPool {
  verifyPool ??= new WorkerPool({ size: verifyPoolSize(), maxQueue: POW_LIMITS.verifyQueueLimit });
  return verifyPool;
}

/** Terminates the shared pools (they are recreated on next use). */
export async function closePools(): Promise<void> {
  const pools = [solvePool, verifyPool];
  solvePool = undefined;
  verifyPool = undefined;
  await Promise.all(pools.map((p) => p?.close()));
}
