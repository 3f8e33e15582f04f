/**
 * A `Store` on Redis, so that several server instances behind one address share the replay
 * guard and the per-identity rate limits (issue 3 item 4). Each method is one atomic Redis
 * step, as the Store contract asks:
 *
 * - `setIfAbsent`: `SET key 1 PXAT <expiresAtMs> NX` (Redis >= 6.2). Expiry is judged on the
 *   Redis server's clock, the one clock all instances share.
 * - `takeTokens` / `addTokens`: one Lua script each (scripts run atomically in Redis). A bucket
 *   is a hash {t: tokens, a: time of last refill}; it expires once it would be full again,
 *   since a full bucket equals an absent one. Time is the caller's `nowMs` (the contract's
 *   "Clock" clause); a `nowMs` older than the last refill earns nothing.
 *
 * Client: ioredis 5 (scripts through EVALSHA with a fallback to EVAL). A command that gets no
 * answer within `commandTimeoutMs` rejects, so a lost Redis fails requests fast instead of
 * queueing them without bound.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { ArgumentError, TollgateError } from '../util/errors.js';
import { checkBucketArgs, checkStoreKey, type Store, StoreClosedError, type TakeResult } from './store.js';

// Both bucket scripts start alike: ARGV[2..4] are rate/s, burst and now (ms); the bucket's
// hash holds its tokens `t` and the time `a` they were last counted.
const READ_BUCKET = `local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local b = redis.call('HMGET', KEYS[1], 't', 'a')
local tokens = tonumber(b[1])
local at = tonumber(b[2])
`;

// KEYS[1] bucket; ARGV: cost, rate/s, burst, now (ms). Returns {allowed, tokens, retryAfterMs};
// tokens as a string, since Redis truncates Lua numbers to integers on the way out.
const TAKE = `
local cost = tonumber(ARGV[1])
${READ_BUCKET}if tokens == nil or at == nil then
  tokens = burst
  at = now
elseif now > at then
  tokens = math.min(burst, tokens + (now - at) * rate / 1000)
  at = now
end
local allowed = 0
local retry = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry = math.ceil((cost - tokens) * 1000 / rate)
end
if allowed == 1 then
  local ttl = math.ceil((burst - tokens) * 1000 / rate)
  if ttl > 0 then
    redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'a', string.format('%.17g', at))
    redis.call('PEXPIRE', KEYS[1], ttl)
  else
    redis.call('DEL', KEYS[1])
  end
end
return {allowed, string.format('%.17g', tokens), retry}
`;

// KEYS[1] bucket; ARGV: amount, rate/s, burst, now (ms). Returns the tokens as a string.
const ADD = `
local amount = tonumber(ARGV[1])
${READ_BUCKET}if tokens == nil or at == nil then
  return string.format('%.17g', burst)
end
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate / 1000)
  at = now
end
tokens = math.min(burst, tokens + amount)
local ttl = math.ceil((burst - tokens) * 1000 / rate)
if ttl > 0 then
  redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'a', string.format('%.17g', at))
  redis.call('PEXPIRE', KEYS[1], ttl)
else
  redis.call('DEL', KEYS[1])
end
return string.format('%.17g', tokens)
`;

/** Redis failed or did not answer; requests that need the store are refused (fail closed). */
export class StoreUnavailableError extends TollgateError {
  constructor(cause: unknown) {
    super(
      'ERR_STORE_UNAVAILABLE',
      `store unavailable: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

export interface RedisStoreOptions {
  /** Prefix of every key, so that one Redis can serve several deployments. Default "tollgate:". */
  readonly prefix?: string;
  /** Milliseconds a command may take before it rejects; default 1000. */
  readonly commandTimeoutMs?: number;
  /** Extra ioredis options (TLS, password, db). */
  readonly redis?: RedisOptions;
}

type ScriptedRedis = Redis & {
  tollgateTake(key: string, ...args: string[]): Promise<[number, string, number]>;
  tollgateAdd(key: string, ...args: string[]): Promise<string>;
};

export class RedisStore implements Store {
  private readonly client: ScriptedRedis;
  private readonly prefix: string;
  private closed = false;

  /** `url`: redis://[user:pass@]host:port[/db]. */
  constructor(url: string, options: RedisStoreOptions = {}) {
    if (typeof url !== 'string' || !/^rediss?:\/\/[^/]/.test(url)) {
      throw new ArgumentError('url', `expected redis://host:port, got ${JSON.stringify(url)}`);
    }
    this.prefix = options.prefix ?? 'tollgate:';
    const commandTimeout = options.commandTimeoutMs ?? 1000;
    if (!Number.isInteger(commandTimeout) || commandTimeout < 1) {
      throw new ArgumentError('commandTimeoutMs', 'expected a positive integer');
    }
    this.client = new Redis(url, {
      commandTimeout,
      maxRetriesPerRequest: 1,
      ...options.redis,
    }) as ScriptedRedis;
    // Failures surface as rejected commands; without a listener ioredis would print each one.
    this.client.on('error', () => {});
    this.client.defineCommand('tollgateTake', { numberOfKeys: 1, lua: TAKE });
    this.client.defineCommand('tollgateAdd', { numberOfKeys: 1, lua: ADD });
  }

  /** Resolves once Redis answers (a start-up check); rejects with StoreUnavailableError. */
  async ping(): Promise<void> {
    try {
      await this.client.ping();
    } catch (err) {
      throw new StoreUnavailableError(err);
    }
  }

  async setIfAbsent(key: string, expiresAtMs: number): Promise<boolean> {
    this.check(key);
    if (typeof expiresAtMs !== 'number' || !Number.isFinite(expiresAtMs) || expiresAtMs < 1) {
      throw new ArgumentError('expiresAtMs', 'expected an absolute time in ms since the epoch');
    }
    try {
      const reply = await this.client.set(this.prefix + key, '1', 'PXAT', Math.ceil(expiresAtMs), 'NX');
      return reply === 'OK';
    } catch (err) {
      throw new StoreUnavailableError(err);
    }
  }

  async takeTokens(
    key: string,
    cost: number,
    ratePerSec: number,
    burst: number,
    nowMs: number,
  ): Promise<TakeResult> {
    this.check(key);
    checkBucketArgs(cost, ratePerSec, burst, nowMs);
    let reply: [number, string, number];
    try {
      reply = await this.client.tollgateTake(
        this.prefix + key,
        ...[cost, ratePerSec, burst, nowMs].map(String),
      );
    } catch (err) {
      throw new StoreUnavailableError(err);
    }
    return { allowed: reply[0] === 1, tokens: Number(reply[1]), retryAfterMs: reply[2] };
  }

  async addTokens(
    key: string,
    amount: number,
    ratePerSec: number,
    burst: number,
    nowMs: number,
  ): Promise<number> {
    this.check(key);
    checkBucketArgs(amount, ratePerSec, burst, nowMs, 'amount');
    try {
      return Number(
        await this.client.tollgateAdd(this.prefix + key, ...[amount, ratePerSec, burst, nowMs].map(String)),
      );
    } catch (err) {
      throw new StoreUnavailableError(err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  private check(key: string): void {
    if (this.closed) throw new StoreClosedError();
    checkStoreKey(key);
  }
}
