/**
 * Where a sky node keeps its leases: in memory (one node) or in Redis, so that several sky
 * nodes behind one name answer look-ups for each other's leases (issue 11: "Several sky
 * nodes can share state through the Redis store"). Both keep the same rules as
 * protocol/sky/lease.ts's LeaseTable: caps in total and per address group, renewals only
 * with a newer time, a lease forgotten at its expiry.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { StoreUnavailableError } from '../../admission/redis-store.js';
import { identityOfRaw, type LeaseCode, type LeaseRecord, LeaseTable } from '../../protocol/sky/lease.js';
import type { SkyLimits } from '../../protocol/sky/limits.js';
import { ArgumentError, accept, reject, type Verdict } from '../../util/errors.js';
import { decodeSky, encodeFound, SkyType } from '../../wire/sky.js';

export interface LeaseStore {
  put(rec: LeaseRecord, now: number): Promise<Verdict<LeaseRecord, LeaseCode>>;
  get(identity: string, now: number): Promise<LeaseRecord | undefined>;
  /** The same without a promise, when the store is in this process. */
  readonly getSync?: (identity: string, now: number) => LeaseRecord | undefined;
  readonly putSync?: (rec: LeaseRecord, now: number) => Verdict<LeaseRecord, LeaseCode>;
  /** Forgets expired leases (memory); Redis expires keys itself. */
  sweep(now: number): void;
  readonly size: number | undefined;
  close(): Promise<void>;
}

export class MemoryLeaseStore implements LeaseStore {
  readonly #table: LeaseTable;
  constructor(limits: Pick<SkyLimits, 'maxLeases' | 'maxLeasesPerGroup'>) {
    this.#table = new LeaseTable(limits);
  }
  get size(): number {
    return this.#table.size;
  }
  readonly getSync = (identity: string, now: number) => this.#table.get(identity, now);
  readonly putSync = (rec: LeaseRecord, now: number) => this.#table.put(rec, now);
  put(rec: LeaseRecord, now: number): Promise<Verdict<LeaseRecord, LeaseCode>> {
    return Promise.resolve(this.#table.put(rec, now));
  }
  get(identity: string, now: number): Promise<LeaseRecord | undefined> {
    return Promise.resolve(this.#table.get(identity, now));
  }
  sweep(now: number): void {
    this.#table.sweep(now);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

// Value of lease:<identity> = "<time>|<group>|<hex of a FOUND body>". Keys of the old group's
// set are built in the script (the store is one Redis, not a cluster).
const PUT = `
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local old = redis.call('GET', KEYS[1])
if old then
  local s1 = string.find(old, '|', 1, true)
  local s2 = string.find(old, '|', s1 + 1, true)
  if tonumber(ARGV[2]) <= tonumber(string.sub(old, 1, s1 - 1)) then return 'stale' end
  local oldGroup = string.sub(old, s1 + 1, s2 - 1)
  if oldGroup ~= ARGV[8] then
    if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[6]) then return 'group' end
    redis.call('ZREM', ARGV[9] .. oldGroup, ARGV[7])
  end
else
  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return 'full' end
  if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[6]) then return 'group' end
end
redis.call('SET', KEYS[1], ARGV[2] .. '|' .. ARGV[8] .. '|' .. ARGV[4], 'PXAT', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[7])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[7])
return 'ok'
`;

type ScriptedRedis = Redis & { skyLeasePut(...args: string[]): Promise<string> };

export interface RedisLeaseStoreOptions {
  readonly prefix?: string;
  readonly commandTimeoutMs?: number;
  readonly redis?: RedisOptions;
}

export class RedisLeaseStore implements LeaseStore {
  readonly #client: ScriptedRedis;
  readonly #prefix: string;
  readonly #limits: Pick<SkyLimits, 'maxLeases' | 'maxLeasesPerGroup'>;
  readonly size = undefined;

  constructor(
    url: string,
    limits: Pick<SkyLimits, 'maxLeases' | 'maxLeasesPerGroup'>,
    options: RedisLeaseStoreOptions = {},
  ) {
    if (typeof url !== 'string' || !/^rediss?:\/\/[^/]/.test(url)) {
      throw new ArgumentError('url', `expected redis://host:port, got ${JSON.stringify(url)}`);
    }
    this.#prefix = options.prefix ?? 'tollgate:sky:';
    this.#limits = limits;
    this.#client = new Redis(url, {
      commandTimeout: options.commandTimeoutMs ?? 1000,
      maxRetriesPerRequest: 1,
      ...options.redis,
    }) as ScriptedRedis;
    this.#client.on('error', () => {});
    this.#client.defineCommand('skyLeasePut', { numberOfKeys: 3, lua: PUT });
  }

  async put(rec: LeaseRecord, now: number): Promise<Verdict<LeaseRecord, LeaseCode>> {
    const p = this.#prefix;
    const body = Buffer.from(
      encodeFound({
        reqId: 0,
        key: rec.key,
        observed: rec.observed,
        listenPort: rec.listenPort,
        inboxBytes: rec.inboxBytes,
        holder: rec.holder,
        expiresAt: rec.expiresAt,
      }),
    ).toString('hex');
    let r: string;
    try {
      r = await this.#client.skyLeasePut(
        `${p}lease:${rec.identity}`,
        `${p}all`,
        `${p}group:${rec.group}`,
        String(now),
        String(rec.time),
        String(rec.expiresAt),
        body,
        String(this.#limits.maxLeases),
        String(this.#limits.maxLeasesPerGroup),
        rec.identity,
        rec.group,
        `${p}group:`,
      );
    } catch (err) {
      throw new StoreUnavailableError(err);
    }
    if (r === 'ok') return accept(rec);
    if (r === 'stale') return reject('ERR_SKY_STALE_LEASE', 'not newer than the live lease');
    return reject('ERR_SKY_LEASES_FULL', r === 'group' ? 'group' : 'table');
  }

  async get(identity: string, now: number): Promise<LeaseRecord | undefined> {
    let v: string | null;
    try {
      v = await this.#client.get(`${this.#prefix}lease:${identity}`);
    } catch (err) {
      throw new StoreUnavailableError(err);
    }
    if (v === null) return undefined;
    const s1 = v.indexOf('|');
    const s2 = v.indexOf('|', s1 + 1);
    const decoded = decodeSky(Buffer.from(v.slice(s2 + 1), 'hex'));
    if (!decoded.ok || decoded.value.type !== SkyType.found) return undefined;
    const f = decoded.value;
    if (f.expiresAt <= now || identityOfRaw(f.key) !== identity) return undefined;
    return {
      identity,
      key: f.key,
      observed: f.observed,
      listenPort: f.listenPort,
      inboxBytes: f.inboxBytes,
      holder: f.holder,
      time: Number(v.slice(0, s1)),
      expiresAt: f.expiresAt,
      group: v.slice(s1 + 1, s2),
    };
  }

  sweep(_now: number): void {}

  async close(): Promise<void> {
    try {
      await this.#client.quit();
    } catch {
      this.#client.disconnect();
    }
  }
}
