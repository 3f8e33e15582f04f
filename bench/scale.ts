/**
 * `npm run bench:scale [-- --json] [-- --quick]`: costs that must stay flat as state grows
 * (issue 12 item 6). For each structure a stranger can make a server fill, at 10^3, 10^5 and
 * 10^6 entries: the CPU time of one operation on a structure of that size (best of ROUNDS batches
 * of OPS, with the spread), and the bytes each entry holds (heap after a full GC, or Redis's
 * used_memory, before and after the fill, divided by the entries). Then the memory each idle
 * connection holds in each daemon, read from the daemon's own process (bench/floor-server.ts).
 *
 * Structures: the replay store and the token buckets (MemoryStore; RedisStore on a
 * redis-server this benchmark starts on a free loopback port), the gossip seen set and
 * knowledge cache, the sky lease table. The growth column is the time per operation at the
 * size divided by the time at 10^3: flat is ~1x (a few x from caches missing at 10^6 is the
 * memory hierarchy, not the algorithm); a factor that tracks the size (100x, 1000x) is a
 * super-linear path.
 *
 * Run with --expose-gc (the npm script does) so that heap figures are after a full collection.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { RedisStore } from '../src/admission/redis-store.js';
import { MemoryStore } from '../src/admission/store.js';
import { type CachedItem, KnowledgeCache, SeenSet } from '../src/protocol/gossip/cache.js';
import { type LeaseRecord, LeaseTable } from '../src/protocol/sky/lease.js';
import { RedisLeaseStore } from '../src/services/sky/lease-store.js';
import { ManualClock } from '../src/util/clock.js';
import { startRedis } from '../test/helpers/redis.js';

const json = process.argv.includes('--json');
const quick = process.argv.includes('--quick');
const SIZES = quick ? [1e3, 1e5] : [1e3, 1e5, 1e6];
const REDIS_SIZES = quick ? [1e3, 1e4] : [1e3, 1e5, 1e6];
const OPS = 10_000;
const ROUNDS = 3;
const IDLE_CONNECTIONS = quick ? 200 : 1000;
const log = (line: string) => process.stderr.write(`${line}\n`);
const gc = (globalThis as { gc?: () => void }).gc;

function heap(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

/** Distinct keys as a server would see them (base64url of 16 random bytes). */
function keys(n: number, prefix: string): string[] {
  const out = new Array<string>(n);
  const r = randomBytes(16 * n);
  for (let i = 0; i < n; i++) out[i] = prefix + r.subarray(16 * i, 16 * i + 16).toString('base64url');
  return out;
}

interface Row {
  readonly structure: string;
  readonly op: string;
  readonly size: number;
  /** Best time per operation over ROUNDS batches, ns. */
  readonly nsPerOp: number;
  readonly spread: number;
  readonly bytesPerEntry: number | undefined;
}

/** Best ns per op over ROUNDS batches of `ops` calls of `op(i)` (sync or async). */
async function timeOps(ops: number, op: (i: number) => unknown): Promise<{ ns: number; spread: number }> {
  const per: number[] = [];
  let base = 0;
  // One batch more than counted: the first compiles the path (it is not counted).
  for (let r = -1; r < ROUNDS; r++) {
    // CPU time of this thread, not wall time: on a shared machine wall time measured the
    // scheduler (a load average of 34 on 2 cores made a Map.get look like 7 µs).
    const t0 = process.cpuUsage();
    let pending: Promise<unknown>[] = [];
    for (let i = 0; i < ops; i++) {
      const v = op(base + i);
      if (v instanceof Promise) {
        pending.push(v);
        if (pending.length >= 256) {
          await Promise.all(pending);
          pending = [];
        }
      }
    }
    await Promise.all(pending);
    const used = process.cpuUsage(t0);
    if (r >= 0) per.push(((used.user + used.system) * 1000) / ops);
    base += ops;
  }
  return { ns: Math.min(...per), spread: Math.max(...per) / Math.min(...per) };
}

async function fill(n: number, add: (i: number) => unknown): Promise<void> {
  let pending: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const v = add(i);
    if (v instanceof Promise) {
      pending.push(v);
      if (pending.length >= 512) {
        await Promise.all(pending);
        pending = [];
      }
    }
  }
  await Promise.all(pending);
}

/** One structure at one size: fill, measure bytes per entry, time the operations. */
async function measure(
  structure: string,
  size: number,
  make: (size: number) => {
    add(i: number): unknown;
    ops: Record<string, (i: number) => unknown>;
    bytes?: () => Promise<number>;
    close?: () => Promise<void>;
  },
): Promise<Row[]> {
  const before = heap();
  const s = make(size);
  const b0 = s.bytes === undefined ? before : await s.bytes();
  await fill(size, (i) => s.add(i));
  const b1 = s.bytes === undefined ? heap() : await s.bytes();
  const rows: Row[] = [];
  for (const [op, f] of Object.entries(s.ops)) {
    const t = await timeOps(Math.min(OPS, size), f);
    rows.push({ structure, op, size, nsPerOp: t.ns, spread: t.spread, bytesPerEntry: (b1 - b0) / size });
  }
  await s.close?.();
  return rows;
}

const NOW = 1_800_000_000_000;
const ANCHOR = 'anchor: Map with string keys';
const ANCHOR_OP = 'get (hit)';
/**
 * A step from one size to the next is flagged when the time per operation grows more than
 * this many times faster than the anchor's over the same step (and more than twice at all).
 */
const FLAG_OVER_ANCHOR = 3;
const HOUR = 3_600_000;
/** A replay mark as the admission pipeline sets it: challenge lifetime plus skew, minutes. */
const MARK_MS = 120_000;

function cachedItem(key: string): CachedItem {
  return {
    key,
    id: new Uint8Array(32),
    dataType: 1,
    salt: 0n,
    data: new Uint8Array(64),
    ttl: 0,
    acceptedAt: NOW,
    ihaveRounds: 3,
    told: new Set(),
    sentTo: new Set(),
    served: new Map(),
  };
}

function lease(identity: string, expiresAt: number, group = identity.slice(0, 10)): LeaseRecord {
  return {
    identity,
    key: new Uint8Array(32),
    observed: { host: '198.51.100.7', port: 4000 },
    listenPort: 4000,
    inboxBytes: 1 << 20,
    holder: new Uint8Array(32),
    time: NOW,
    expiresAt,
    group,
  };
}

async function memoryStructures(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const size of SIZES) {
    log(`in-memory structures at ${size} ...`);
    const extra = (ROUNDS + 1) * OPS;
    const k = keys(size + extra, 'k:');
    const clock = new ManualClock(NOW);
    // The anchor: a plain Map of the same keys. Its growth from size to size is what the
    // memory hierarchy alone costs (caches missing as the structure outgrows them); a
    // structure growing much faster than it has a super-linear path.
    rows.push(
      ...(await measure(ANCHOR, size, (n) => {
        const map = new Map<string, number>();
        return {
          add: (i) => map.set(k[i]!, i),
          ops: {
            [ANCHOR_OP]: (i) => map.get(k[i % n]!),
            'set a new key': (i) => map.set(k[n + i]!, i),
          },
        };
      })),
    );
    rows.push(
      ...(await measure('replay store (MemoryStore)', size, (n) => {
        const store = new MemoryStore({ clock, maxEntries: n + extra });
        return {
          add: (i) => store.setIfAbsentSync(k[i]!, NOW + MARK_MS),
          ops: {
            'mark a new id': (i) => store.setIfAbsentSync(k[n + i]!, NOW + MARK_MS),
            'replayed id (refused)': (i) => store.setIfAbsentSync(k[i % n]!, NOW + MARK_MS),
          },
        };
      })),
    );
    rows.push(
      ...(await measure('token buckets (MemoryStore)', size, (n) => {
        const store = new MemoryStore({ clock, maxBuckets: n + extra });
        return {
          add: (i) => store.takeTokensSync(k[i]!, 1, 10, 20, NOW),
          ops: {
            'take from a known identity': (i) => store.takeTokensSync(k[i % n]!, 1, 10, 20, NOW),
            'take for a new identity': (i) => store.takeTokensSync(k[n + i]!, 1, 10, 20, NOW),
          },
        };
      })),
    );
    rows.push(
      ...(await measure('gossip seen set', size, (n) => {
        const seen = new SeenSet(HOUR, n + extra);
        return {
          add: (i) => seen.add(k[i]!, NOW),
          ops: {
            'add a new id': (i) => seen.add(k[n + i]!, NOW),
            'has (seen)': (i) => seen.has(k[i % n]!, NOW),
          },
        };
      })),
    );
    rows.push(
      ...(await measure('gossip seen set, steady churn', size, (n) => {
        // Lifetime n ms, one add per ms: each new id expires the oldest (the steady state of a
        // busy peer, where pruning runs on every add).
        const seen = new SeenSet(n, n + extra);
        return {
          add: (i) => seen.add(k[i]!, NOW + i),
          ops: { 'add a new id (prunes one)': (i) => seen.add(k[n + i]!, NOW + n + i) },
        };
      })),
    );
    rows.push(
      ...(await measure('gossip knowledge cache (64 B items)', size, (n) => {
        const cache = new KnowledgeCache(n, Number.MAX_SAFE_INTEGER);
        return {
          add: (i) => cache.add(cachedItem(k[i]!)),
          ops: {
            'add at the cap (drops the oldest)': (i) => cache.add(cachedItem(k[n + i]!)),
            get: (i) => cache.get(k[i % n]!),
          },
        };
      })),
    );
    rows.push(
      ...(await measure('sky lease table', size, (n) => {
        const table = new LeaseTable({ maxLeases: n, maxLeasesPerGroup: n });
        return {
          add: (i) => table.put(lease(k[i]!, NOW + HOUR), NOW),
          ops: {
            'get (live lease)': (i) => table.get(k[i % n]!, NOW),
            // A stranger asking for a lease when the table is full of live ones.
            'put at the cap (refused)': (i) => table.put(lease(k[n + i]!, NOW + HOUR), NOW),
          },
        };
      })),
    );
    rows.push(
      ...(await measure('sky lease table, 10 groups', size, (n) => {
        const table = new LeaseTable({ maxLeases: n, maxLeasesPerGroup: n });
        return {
          add: (i) => table.put(lease(k[i]!, NOW + HOUR, `g${i % 10}`), NOW),
          ops: {
            // A newcomer from a lighter group: the heaviest group's oldest lease gives way. At
            // 10^3 the rounds put more newcomers than the table holds: once every group holds
            // one lease they are refused, and the best round shows that cheaper path.
            'put at the cap (evicts)': (i) => table.put(lease(k[n + i]!, NOW + HOUR, `new${i}`), NOW),
          },
        };
      })),
    );
  }
  return rows;
}

async function redisStructures(): Promise<Row[]> {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  try {
    redis = await startRedis();
  } catch (error) {
    log(`redis-server not available, Redis rows skipped: ${String(error)}`);
    return [];
  }
  const rows: Row[] = [];
  try {
    const admin = new RedisStore(redis.url, { prefix: 'bench-admin:' });
    const client = (admin as unknown as { client: { info(section: string): Promise<string> } }).client;
    const usedMemory = async () => {
      const info = await client.info('memory');
      return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
    };
    for (const size of REDIS_SIZES) {
      log(`Redis at ${size} ...`);
      const k = keys(size + (ROUNDS + 1) * OPS, 'k:');
      const expiresAt = Date.now() + MARK_MS;
      rows.push(
        ...(await measure('replay store (Redis)', size, (n) => {
          const store = new RedisStore(redis.url, { prefix: `r${n}:` });
          return {
            add: (i) => store.setIfAbsent(k[i]!, expiresAt),
            ops: {
              'mark a new id': (i) => store.setIfAbsent(k[n + i]!, expiresAt),
              'replayed id (refused)': (i) => store.setIfAbsent(k[i % n]!, expiresAt),
            },
            bytes: usedMemory,
            close: () => store.close(),
          };
        })),
      );
      rows.push(
        ...(await measure('token buckets (Redis)', size, (n) => {
          const store = new RedisStore(redis.url, { prefix: `b${n}:` });
          return {
            add: (i) => store.takeTokens(k[i]!, 1, 10, 20, Date.now()),
            ops: {
              'take from a known identity': (i) => store.takeTokens(k[i % n]!, 1, 10, 20, Date.now()),
            },
            bytes: usedMemory,
            close: () => store.close(),
          };
        })),
      );
      rows.push(
        ...(await measure('sky lease table (Redis), 10 groups', size, (n) => {
          const store = new RedisLeaseStore(
            redis.url,
            { maxLeases: n, maxLeasesPerGroup: n },
            { prefix: `l${n}:` },
          );
          const far = Date.now() + HOUR;
          return {
            add: (i) => store.put(lease(k[i]!, far, `g${i % 10}`), Date.now()),
            ops: {
              // The record's key is a dummy, so get ends at the identity check after the read.
              'get (read and decode)': (i) => store.get(k[i % n]!, Date.now()),
              'put at the cap (evicts)': (i) => store.put(lease(k[n + i]!, far, `new${i}`), Date.now()),
            },
            bytes: usedMemory,
            close: () => store.close(),
          };
        })),
      );
    }
    await admin.close();
  } finally {
    await redis.stop();
  }
  return rows;
}

/** Memory per idle connection of each daemon, read from the daemon's own process. */
async function idleConnections(): Promise<{ server: string; bytesPerConnection: number; held: number }[]> {
  const kinds = ['net-accept-read-answer', 'powtcp', 'secure', 'sky-idle', 'gossip-idle'];
  const out: { server: string; bytesPerConnection: number; held: number }[] = [];
  for (const kind of kinds) {
    log(`idle connections: ${kind} ...`);
    const script = fileURLToPath(new URL('./floor-server.ts', import.meta.url));
    const child: ChildProcess = fork(script, [kind], {
      execArgv: ['--expose-gc', '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ask = <T>(what: string, field: string) =>
      new Promise<T>((resolve) => {
        const on = (m: Record<string, unknown>) => {
          if (m[field] === undefined) return;
          child.off('message', on);
          resolve(m[field] as T);
        };
        child.on('message', on);
        child.send(what);
      });
    const ready = await new Promise<{ port: number }>((resolve) => {
      const on = (m: { ready?: { port: number } }) => {
        if (m.ready === undefined) return;
        child.off('message', on);
        resolve(m.ready);
      };
      child.on('message', on);
    });
    const before = await ask<NodeJS.MemoryUsage>('mem', 'mem');
    const sockets: Socket[] = [];
    await Promise.all(
      Array.from(
        { length: IDLE_CONNECTIONS },
        (_, i) =>
          new Promise<void>((resolve) => {
            // A distinct source address each: per-identity caps would refuse most of them.
            const s = connect({
              port: ready.port,
              host: '127.0.0.1',
              localAddress: `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`,
            });
            s.on('error', () => resolve());
            s.on('connect', () => resolve());
            sockets.push(s);
          }),
      ),
    );
    // A client's connect completes before the server's accept runs: wait (bounded) until the
    // count the server holds stops growing.
    let held = await ask<number>('connections', 'connections');
    for (let i = 0; i < 50; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const now = await ask<number>('connections', 'connections');
      if (now === held) break;
      held = now;
    }
    const after = await ask<NodeJS.MemoryUsage>('mem', 'mem');
    for (const s of sockets) s.destroy();
    child.send('stop');
    // Heap (JS objects) plus external (Buffers) plus what the kernel-side socket objects cost
    // the process in native memory is in rss, which moves too coarsely to divide by 1,000.
    const grew = after.heapUsed + after.external - (before.heapUsed + before.external);
    out.push({ server: kind, bytesPerConnection: grew / Math.max(1, held), held });
  }
  return out;
}

async function main(): Promise<void> {
  if (gc === undefined) log('no --expose-gc: heap figures include garbage (npm run bench:scale passes it)');
  const rows = [...(await memoryStructures()), ...(await redisStructures())];
  const idle = await idleConnections();
  const first = new Map<string, number>();
  const previous = new Map<string, Row>();
  const stepOf = new Map<Row, number>();
  for (const r of rows) {
    const k = `${r.structure}|${r.op}`;
    if (!first.has(k)) first.set(k, r.nsPerOp);
    const prev = previous.get(k);
    if (prev !== undefined) stepOf.set(r, r.nsPerOp / prev.nsPerOp);
    previous.set(k, r);
  }
  // The anchor's step to each size (in memory; the Redis rows are held against themselves).
  const anchorStep = new Map<number, number>();
  for (const r of rows) {
    if (r.structure === ANCHOR && r.op === ANCHOR_OP && stepOf.has(r)) anchorStep.set(r.size, stepOf.get(r)!);
  }
  const w = Math.max(...rows.map((r) => `${r.structure}: ${r.op}`.length));
  const flagged: string[] = [];
  const lines = [
    `time per operation (best of ${ROUNDS} batches of up to ${OPS}; spread = slowest/fastest) and bytes per entry; growth = time at this size / time at the smallest; step = time at this size / time at the size before, beside the anchor's step (a plain Map: the memory hierarchy alone)`,
    `${'structure: operation'.padEnd(w)}  ${'entries'.padStart(9)}  ${'ns/op'.padStart(9)}  ${'spread'.padStart(6)}  ${'growth'.padStart(7)}  ${'step'.padStart(6)}  ${'anchor'.padStart(6)}  ${'B/entry'.padStart(8)}`,
    ...rows.map((r) => {
      const growth = r.nsPerOp / first.get(`${r.structure}|${r.op}`)!;
      const step = stepOf.get(r);
      const anchor = r.structure.includes('(Redis)') ? undefined : anchorStep.get(r.size);
      const over = step === undefined ? 1 : step / Math.max(1, anchor ?? 1);
      const flag = step !== undefined && step > 2 && over > FLAG_OVER_ANCHOR ? '  SUPER-LINEAR?' : '';
      if (flag !== '') flagged.push(`${r.structure}: ${r.op} at ${r.size.toExponential(0)}`);
      const fmtStep = (x: number | undefined) => (x === undefined ? '-' : `${x.toFixed(1)}x`).padStart(6);
      return `${`${r.structure}: ${r.op}`.padEnd(w)}  ${r.size.toExponential(0).padStart(9)}  ${r.nsPerOp.toFixed(0).padStart(9)}  ${r.spread.toFixed(2).padStart(6)}  ${`${growth.toFixed(1)}x`.padStart(7)}  ${fmtStep(step)}  ${fmtStep(anchor)}  ${(r.bytesPerEntry === undefined ? '-' : r.bytesPerEntry.toFixed(0)).padStart(8)}${flag}`;
    }),
    '',
    flagged.length === 0
      ? `no super-linear step: no structure grew more than ${FLAG_OVER_ANCHOR}x faster than the anchor from one size to the next`
      : `super-linear steps to look at: ${flagged.join('; ')}`,
    '',
    `memory per idle connection (heap + external of the server process, ${IDLE_CONNECTIONS} connections opened, from distinct loopback addresses)`,
    ...idle.map(
      (i) => `  ${i.server.padEnd(28)} ${i.bytesPerConnection.toFixed(0).padStart(7)} B  (${i.held} held)`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (json) process.stdout.write(`${JSON.stringify({ rows, idle, flagged })}\n`);
}

await main();
