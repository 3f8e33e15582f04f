/**
 * The multi-core solve driver shared by every puzzle: splits the nonce space into chunks,
 * keeps one chunk in flight per requested worker, and stops every worker through the shared
 * flag as soon as one finds a solution (first solution wins), the budget is spent or the
 * caller aborts.
 */
import { AbortError, ArgumentError, TollgateError } from '../util/errors.js';
import { POW_LIMITS } from './limits.js';
import { getSolvePool, type PoolTask, type SearchReply } from './pool.js';
import type { SolveOptions, SolveResult } from './types.js';

const NONCE_END = 1n << 64n;

/** A chunk task without its range and cancellation fields, which the driver fills in. */
export type ChunkSpec =
  | Omit<Extract<PoolTask, { op: 'sha256-bits' }>, 'start' | 'count' | 'flags' | 'slot'>
  | Omit<Extract<PoolTask, { op: 'hashcash' }>, 'start' | 'count' | 'flags' | 'slot'>
  | Omit<Extract<PoolTask, { op: 'scrypt-search' }>, 'start' | 'count' | 'flags' | 'slot'>;

export function checkSolveOptions(opts: SolveOptions): number {
  const workers = opts.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1 || workers > POW_LIMITS.maxSolveWorkers) {
    throw new ArgumentError(
      'workers',
      `expected an integer in [1, ${POW_LIMITS.maxSolveWorkers}], got ${String(workers)}`,
    );
  }
  if (opts.maxAttempts !== undefined && !(Number.isSafeInteger(opts.maxAttempts) && opts.maxAttempts >= 0)) {
    throw new ArgumentError(
      'maxAttempts',
      `expected a non-negative safe integer, got ${String(opts.maxAttempts)}`,
    );
  }
  if (opts.timeoutMs !== undefined && !(Number.isFinite(opts.timeoutMs) && opts.timeoutMs >= 0)) {
    throw new ArgumentError('timeoutMs', `expected a non-negative number, got ${String(opts.timeoutMs)}`);
  }
  return workers;
}

export function solveInPool(
  spec: ChunkSpec,
  expectedAttempts: number,
  backend: SolveResult['backend'],
  opts: SolveOptions,
  chunkAttempts = POW_LIMITS.chunkAttempts,
): Promise<SolveResult> {
  const workers = checkSolveOptions(opts);
  const { signal, maxAttempts, timeoutMs, onProgress } = opts;
  if (signal?.aborted) return Promise.reject(new AbortError());
  const pool = getSolvePool();
  const flags = new Int32Array(new SharedArrayBuffer(4 * (1 + workers)));
  const began = performance.now();

  return new Promise<SolveResult>((resolve, reject) => {
    let next = 0n;
    let dispatched = 0;
    let doneAttempts = 0;
    let inFlight = 0;
    let winner: bigint | undefined;
    let failure: unknown;
    let finished = false;
    const freeSlots: number[] = [];
    for (let s = workers; s >= 1; s--) freeSlots.push(s);

    const attemptsSoFar = (): number => {
      let n = doneAttempts;
      for (let s = 1; s <= workers; s++) n += Atomics.load(flags, s);
      return n;
    };
    const report = (): void => {
      if (onProgress === undefined) return;
      const attempts = attemptsSoFar();
      const elapsedMs = performance.now() - began;
      const rate = elapsedMs > 0 ? (attempts * 1000) / elapsedMs : 0;
      // Each attempt is an independent trial: the expected remaining work never shrinks.
      onProgress({ attempts, elapsedMs, rate, expectedRemaining: expectedAttempts });
    };
    const stop = (reason: unknown): void => {
      failure ??= reason;
      Atomics.store(flags, 0, 1);
    };
    const onAbort = (): void => stop(new AbortError());
    const ticker = onProgress === undefined ? undefined : setInterval(report, POW_LIMITS.progressIntervalMs);
    ticker?.unref();
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(
            () => stop(new TollgateError('ERR_POW_BUDGET', `no solution within ${timeoutMs} ms`)),
            timeoutMs,
          );
    signal?.addEventListener('abort', onAbort, { once: true });

    const finish = (): void => {
      if (finished) return;
      finished = true;
      if (ticker !== undefined) clearInterval(ticker);
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      const ms = Math.round(performance.now() - began);
      if (winner !== undefined) {
        report();
        resolve({ nonce: winner, attempts: doneAttempts, ms, backend, workers });
      } else if (failure !== undefined) {
        reject(failure);
      } else {
        reject(
          new TollgateError(
            'ERR_POW_BUDGET',
            next >= NONCE_END
              ? 'nonce space exhausted without a solution'
              : `no solution within ${dispatched} attempts`,
          ),
        );
      }
    };

    const dispatch = (): void => {
      while (
        freeSlots.length > 0 &&
        Atomics.load(flags, 0) === 0 &&
        next < NONCE_END &&
        (maxAttempts === undefined || dispatched < maxAttempts)
      ) {
        let count = chunkAttempts;
        if (maxAttempts !== undefined) count = Math.min(count, maxAttempts - dispatched);
        if (NONCE_END - next < BigInt(count)) count = Number(NONCE_END - next);
        const slot = freeSlots.pop()!;
        const start = next;
        next += BigInt(count);
        dispatched += count;
        inFlight++;
        pool.run<SearchReply>({ ...spec, start, count, flags, slot } as PoolTask).then(
          (reply) => {
            inFlight--;
            doneAttempts += reply.attempts;
            Atomics.store(flags, slot, 0);
            freeSlots.push(slot);
            if (reply.found && winner === undefined && failure === undefined) {
              winner = reply.nonce;
              Atomics.store(flags, 0, 1);
            }
            settle();
          },
          (error: unknown) => {
            inFlight--;
            Atomics.store(flags, slot, 0);
            freeSlots.push(slot);
            stop(error);
            settle();
          },
        );
      }
    };
    const settle = (): void => {
      dispatch();
      if (inFlight === 0) finish();
    };
    settle();
  });
}
