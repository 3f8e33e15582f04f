import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { closePools, getSolvePool, WorkerPool } from '../../src/pow/pool.js';
import { solveSha256Bits, verifySha256Bits } from '../../src/pow/sha256-bits.js';
import { solveInPool } from '../../src/pow/solve.js';
import type { SolveProgress } from '../../src/pow/types.js';
import { waitFor } from '../helpers/wait.js';

after(() => closePools());

const challenge = new Uint8Array(16).fill(9);
const code = (c: string) => (e: Error & { code?: string }) => e.code === c;

test('the stop flag ends a running search without killing its worker', async () => {
  const pool = new WorkerPool({ size: 1 });
  try {
    const flags = new Int32Array(new SharedArrayBuffer(8));
    const running = pool.run<{ found: boolean; attempts: number }>({
      op: 'sha256-bits',
      challenge,
      bits: 64,
      start: 0n,
      count: 2 ** 30,
      backend: 'ts',
      flags,
      slot: 1,
    });
    // Wait until the worker has published progress, then raise the flag.
    await waitFor('the worker to publish progress', () => Atomics.load(flags, 1) !== 0);
    Atomics.store(flags, 0, 1);
    const r = await running;
    assert.equal(r.found, false);
    assert.ok(r.attempts > 0 && r.attempts < 2 ** 30);
    assert.equal(pool.threads, 1);
    // The same worker takes the next job.
    Atomics.store(flags, 0, 0);
    const next = await pool.run<{ found: boolean }>({
      op: 'sha256-bits',
      challenge,
      bits: 0,
      start: 5n,
      count: 1,
      backend: 'ts',
      flags,
      slot: 1,
    });
    assert.equal(next.found, true);
    assert.equal(pool.threads, 1);
  } finally {
    await pool.close();
  }
});

test('first solution wins: the other worker stops through the shared flag', async () => {
  // Chunks of 2^30 nonces: the call returns in time only if the worker that does not
  // find a solution is stopped by the flag rather than searching its whole chunk.
  const r = await solveInPool(
    { op: 'sha256-bits', challenge, bits: 14, backend: 'ts' },
    2 ** 14,
    'ts',
    { workers: 2 },
    2 ** 30,
  );
  assert.equal(verifySha256Bits({ challenge, difficulty: 14 }, r.nonce), true);
  assert.ok(r.attempts < 2 ** 30);
  assert.equal(r.workers, 2);
  assert.equal(getSolvePool().threads, 2);
  assert.equal(getSolvePool().running, 0);
});

test('abort: an AbortSignal stops a solve with ERR_ABORTED; an aborted signal never starts one', async () => {
  const controller = new AbortController();
  const solving = solveSha256Bits(
    { challenge, difficulty: 60 },
    { workers: 2, signal: controller.signal, backend: 'ts' },
  );
  setTimeout(() => controller.abort(), 150);
  await assert.rejects(solving, code('ERR_ABORTED'));
  await assert.rejects(
    solveSha256Bits({ challenge, difficulty: 1 }, { signal: AbortSignal.abort() }),
    code('ERR_ABORTED'),
  );
  assert.equal(getSolvePool().running, 0);
});

test('budget: maxAttempts and timeoutMs end a solve with ERR_POW_BUDGET', async () => {
  await assert.rejects(
    solveSha256Bits({ challenge, difficulty: 60 }, { workers: 2, maxAttempts: 50_000, backend: 'ts' }),
    (e: Error & { code?: string }) => e.code === 'ERR_POW_BUDGET' && /50000 attempts/.test(e.message),
  );
  await assert.rejects(
    solveSha256Bits({ challenge, difficulty: 60 }, { timeoutMs: 100, backend: 'ts' }),
    (e: Error & { code?: string }) => e.code === 'ERR_POW_BUDGET' && /100 ms/.test(e.message),
  );
  // A budget that is enough is not an error.
  const r = await solveSha256Bits({ challenge, difficulty: 0 }, { maxAttempts: 1 });
  assert.equal(r.attempts, 1);
});

test('progress is reported with attempts, rate and expected remaining work', async () => {
  const reports: SolveProgress[] = [];
  const controller = new AbortController();
  // Runs until progress with attempts has been seen twice, however slow the machine is.
  await assert.rejects(
    solveSha256Bits(
      { challenge, difficulty: 60 },
      {
        signal: controller.signal,
        backend: 'ts',
        onProgress: (p) => {
          reports.push(p);
          if (reports.filter((r) => r.attempts > 0).length >= 2) controller.abort();
        },
      },
    ),
    code('ERR_ABORTED'),
  );
  for (const p of reports) assert.equal(p.expectedRemaining, 2 ** 60);
  const last = reports.at(-1)!;
  assert.ok(last.attempts > 0);
  assert.ok(last.rate > 0);
  for (let i = 1; i < reports.length; i++) assert.ok(reports[i]!.attempts >= reports[i - 1]!.attempts);
});

test('a queue-limited pool refuses past its limit with ERR_POOL_BUSY; a closed pool refuses all', async () => {
  const pool = new WorkerPool({ size: 1, maxQueue: 1 });
  const task = { op: 'scrypt-hash' as const, message: new Uint8Array(1), nonce: 0n, N: 1024, r: 8, p: 1 };
  const a = pool.run(task);
  const b = pool.run(task);
  await assert.rejects(pool.run(task), code('ERR_POOL_BUSY'));
  await Promise.all([a, b]);
  await pool.close();
  await assert.rejects(pool.run(task), code('ERR_POOL_CLOSED'));
});
