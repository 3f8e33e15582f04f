/**
 * The pool worker: runs one search chunk or one scrypt hash per message. A chunk is searched
 * in slices so that the attempts made so far are published in the task's progress slot
 * between backend calls; the backend itself polls the stop flag inside its loop.
 */
import { parentPort } from 'node:worker_threads';
import { TollgateError } from '../util/errors.js';
import { getBackend } from './backend.js';
import { POW_LIMITS } from './limits.js';
import type { PoolReply, PoolTask, SearchReply } from './pool.js';
import { scryptPowHash } from './scrypt-hash.js';
import type { HashBackend } from './types.js';

function searchChunk(
  backend: HashBackend,
  search: (start: bigint, count: number) => { found: boolean; nonce: bigint; attempts: number },
  start: bigint,
  count: number,
  flags: Int32Array,
  slot: number,
): SearchReply {
  let done = 0;
  let nonce = start;
  while (done < count) {
    if (Atomics.load(flags, 0) !== 0) break;
    const n = Math.min(POW_LIMITS.sliceAttempts, count - done);
    const r = search(nonce, n);
    done += r.attempts;
    Atomics.store(flags, slot, done);
    if (r.found) return { found: true, nonce: r.nonce, attempts: done, backend: backend.name };
    if (r.attempts < n) return { found: false, nonce: r.nonce, attempts: done, backend: backend.name };
    nonce += BigInt(n);
  }
  return { found: false, nonce, attempts: done, backend: backend.name };
}

function runTask(task: PoolTask): unknown {
  switch (task.op) {
    case 'sha256-bits': {
      const backend = getBackend(task.backend);
      return searchChunk(
        backend,
        (start, count) => backend.searchSha256Bits(task.challenge, task.bits, start, count, task.flags),
        task.start,
        task.count,
        task.flags,
        task.slot,
      );
    }
    case 'hashcash': {
      const backend = getBackend(task.backend);
      return searchChunk(
        backend,
        (start, count) => backend.searchHashcash(task.prefix, task.hexZeros, start, count, task.flags),
        task.start,
        task.count,
        task.flags,
        task.slot,
      );
    }
    case 'scrypt-search': {
      let nonce = task.start;
      for (let i = 0; i < task.count; i++, nonce++) {
        if (Atomics.load(task.flags, 0) !== 0) return { found: false, nonce, attempts: i };
        const hash = scryptPowHash(task.message, nonce, task);
        Atomics.store(task.flags, task.slot, i + 1);
        if (BigInt(`0x${hash.toString('hex')}`) < task.target) return { found: true, nonce, attempts: i + 1 };
      }
      return { found: false, nonce, attempts: task.count };
    }
    case 'scrypt-hash':
      return new Uint8Array(scryptPowHash(task.message, task.nonce, task));
  }
}

parentPort?.on('message', ({ id, task }: { id: number; task: PoolTask }) => {
  let reply: PoolReply;
  try {
    reply = { id, ok: true, value: runTask(task) };
  } catch (error) {
    reply =
      error instanceof TollgateError
        ? { id, ok: false, code: error.code, message: error.message }
        : {
            id,
            ok: false,
            code: 'ERR_WORKER_FAILED',
            message: error instanceof Error ? error.message : String(error),
          };
  }
  parentPort?.postMessage(reply);
});
