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
  /**
   * true when a lease for `identity` from `group` would surely be refused by the group cap,
   * answered without a promise (the memory table): the sky node then refuses before the
   * signature check, the cheaper check first. Absent: not known cheaply (Redis).
   */
  readonly groupFullSync?: (group: string, identity: string, now: number) => boolean;
  /** Told of every lease dropped at `maxLeases` for a newcomer (the sky node counts them). */
  onEvict: ((identity: string) => void) | undefined;
  close(): Promise<void>;
}

export class MemoryLeaseStore implements LeaseStore {
  readonly #table: LeaseTable;
  onEvict: ((identity: string) => void) | undefined;
  readonly #evicted = (r: LeaseRecord) => this.onEvict?.(r.identity);
  readonly #maxPerGroup: number;
  constructor(limits: Pick<SkyLimits, 'maxLeases' | 'maxLeasesPerGroup'>) {
    this.#table = new LeaseTable(limits);
    this.#maxPerGroup = limits.maxLeasesPerGroup;
  }
  get size(): number {
    return this.#table.size;
  }
  readonly getSync = (identity: string, now: number) => this.#table.get(identity, now);
  readonly putSync = (rec: LeaseRecord, now: number) => this.#table.put(rec, now, this.#evicted);
  readonly groupFullSync = (group: string, identity: string, now: number) =>
    this.#table.groupCount(group) >= this.#maxPerGroup && this.#table.get(identity, now)?.group !== group;
  put(rec: LeaseRecord, now: number): Promise<Verdict<LeaseRecord, LeaseCode>> {
    return Promise.resolve(this.#table.put(rec, now, this.#evicted));
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

// Value of lease:<identity> = "<time>|<group>|<hex of a FOUND body>". KEYS: the lease, the
// set of all leases and the group's set (both scored by expiry), and the set of groups scored
// by how many leases each holds (an upper bound: a group's expired leases are pruned, and its
// score corrected, when the script next looks at it). Other groups' keys are built in the
// script (the store is one Redis, not a cluster). The rules are LeaseTable's: group cap
// first; at the table cap, a newcomer from a group lighter than the heaviest minus one takes
// the place of the heaviest group's lease that ends soonest.
const PUT = `
local now = tonumber(ARGV[1])
local gp = ARGV[9]
local function prune(group)
  local key = gp .. group
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local c = redis.call('ZCARD', key)
  if c == 0 then redis.call('ZREM', KEYS[4], group) else redis.call('ZADD', KEYS[4], c, group) end
  return c
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local mine = prune(ARGV[8])
local old = redis.call('GET', KEYS[1])
local evicted = ''
if old then
  local s1 = string.find(old, '|', 1, true)
  local s2 = string.find(old, '|', s1 + 1, true)
  if tonumber(ARGV[2]) <= tonumber(string.sub(old, 1, s1 - 1)) then return 'stale' end
  local oldGroup = string.sub(old, s1 + 1, s2 - 1)
  if oldGroup ~= ARGV[8] then
    if mine >= tonumber(ARGV[6]) then return 'group' end
    redis.call('ZREM', gp .. oldGroup, ARGV[7])
    prune(oldGroup)
  end
else
  if mine >= tonumber(ARGV[6]) then return 'group' end
  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then
    local victim = nil
    for _ = 1, 32 do
      local top = redis.call('ZREVRANGE', KEYS[4], 0, 0, 'WITHSCORES')
      if #top == 0 then break end
      local c = prune(top[1])
      if c == tonumber(top[2]) then
        if mine + 1 < c then victim = top[1] end
        break
      end
    end
    if victim == nil then return 'full' end
    local id = redis.call('ZRANGE', gp .. victim, 0, 0)[1]
    redis.call('DEL', ARGV[10] .. id)
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZREM', gp .. victim, id)
    prune(victim)
    evicted = id
  end
end
redis.call('SET', KEYS[1], ARGV[2] .. '|' .. ARGV[8] .. '|' .. ARGV[4], 'PXAT', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[7])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[7])
redis.call('ZADD', KEYS[4], redis.call('ZCARD', KEYS[3]), ARGV[8])
if evicted ~= '' then return 'ok:' .. evicted end
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
  onEvict: ((identity: string) => void) | undefined;

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
    this.#client.defineCommand('skyLeasePut', { numberOfKeys: 4, lua: PUT });
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
        `${p}groups`,
        String(now),
        String(rec.time),
        String(rec.expiresAt),
        body,
        String(this.#limits.maxLeases),
        String(this.#limits.maxLeasesPerGroup),
        rec.identity,
        rec.group,
        `${p}group:`,
        `${p}lease:`,
      );
    } catch (err) {
      throw new StoreUnavailableError(err);
    }
    if (r === 'ok') return accept(rec);
    if (r.startsWith('ok:')) {
      this.onEvict?.(r.slice(3));
      return accept(rec);
    }
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
