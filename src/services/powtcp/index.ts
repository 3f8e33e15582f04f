/**
 * Builds a running powtcp service from a configuration: the store (memory or Redis), the key
 * ring and sealer, the admission mode and the socket server. Logs and metrics go out on
 * `node:diagnostics_channel` (util/observe.ts); the edge subscribers serve them.
 * The CLI, the tests, the demo and the attack benchmark all start servers through here.
 */
import type { Endpoint } from '../../admission/endpoint.js';
import { RedisStore } from '../../admission/redis-store.js';
import { ChallengeSealer, KeyRing } from '../../admission/sealed.js';
import { MemoryStore, type Store } from '../../admission/store.js';
import { type Clock, systemClock } from '../../util/clock.js';
import { ArgumentError } from '../../util/errors.js';
import { observer } from '../../util/observe.js';
import type { AdmissionMode, PowtcpAdmission } from './admission.js';
import { type PowtcpLimitOverrides, type PowtcpLimits, powtcpLimits } from './limits.js';
import { NoPowAdmission, ReferenceAdmission, StatelessAdmission } from './modes.js';
import { BUILTIN_QUOTES, checkQuotes } from './quotes.js';
import { PowtcpServer } from './server.js';

const obs = observer('powtcp');

export interface PowtcpServiceConfig {
  readonly listen: Endpoint;
  readonly mode?: AdmissionMode;
  /** 'memory' (default) or a redis:// URL. */
  readonly store?: string;
  readonly quotes?: readonly string[];
  readonly limits?: PowtcpLimitOverrides;
  /** Fixed difficulty of the reference mode, in hex digits (default 5, as the reference). */
  readonly referenceDifficulty?: number;
  /** Shared key secret (>= 32 bytes) so that instances behind one address open each other's puzzles. */
  readonly secret?: Uint8Array;
  /** The address clients use, bound into puzzles; default the listening address. */
  readonly publicAddress?: Endpoint;
  readonly clock?: Clock;
}

export interface PowtcpService {
  readonly server: PowtcpServer;
  readonly admission: PowtcpAdmission;
  readonly address: Endpoint;
  close(): Promise<void>;
}

export const REFERENCE_DIFFICULTY = 5;

function isMemoryStore(spec: string | undefined): boolean {
  return spec === undefined || spec === 'memory';
}

function makeStore(spec: string | undefined, clock: Clock): Store {
  if (spec === undefined || isMemoryStore(spec)) return new MemoryStore({ clock });
  if (/^rediss?:\/\//.test(spec)) return new RedisStore(spec);
  throw new ArgumentError('store', `expected memory or redis://HOST:PORT, got ${JSON.stringify(spec)}`);
}

export function makeAdmission(config: PowtcpServiceConfig, limits: PowtcpLimits): PowtcpAdmission {
  const clock = config.clock ?? systemClock;
  const quotes = config.quotes ?? BUILTIN_QUOTES;
  checkQuotes(quotes);
  const mode = config.mode ?? 'stateless';
  // Issue 9 item 9: a key shared by several instances with replay marks kept per instance
  // lets one solution be redeemed once per instance (and once more after every restart, since
  // the key outlives the marks); a shared key only makes sense with a shared store.
  if (config.secret !== undefined && isMemoryStore(config.store)) {
    throw new ArgumentError(
      'secret',
      'a shared key secret needs a shared store (store redis://HOST:PORT); with the memory store every instance would accept each solution once',
    );
  }
  switch (mode) {
    case 'stateless': {
      const keys = new KeyRing({ clock, ...(config.secret === undefined ? {} : { secret: config.secret }) });
      const sealer = new ChallengeSealer(keys, { clock, defaultTtlMs: limits.puzzleTtlMs });
      return new StatelessAdmission({
        sealer,
        store: makeStore(config.store, clock),
        quotes,
        clock,
        puzzleTtlMs: limits.puzzleTtlMs,
        minDifficulty: limits.minDifficulty,
        maxDifficulty: limits.maxDifficulty,
        queueSize: limits.queueSize,
        serviceRatePerSec: limits.serviceRatePerSec,
        loadShareIdentities: limits.loadShareIdentities,
        maxLoadShareIdentities: limits.maxLoadShareIdentities,
        ratePerSec: limits.ratePerSec,
        burst: limits.burst,
      });
    }
    case 'reference': {
      const difficulty = config.referenceDifficulty ?? REFERENCE_DIFFICULTY;
      if (!Number.isInteger(difficulty) || difficulty < 1 || difficulty > limits.maxDifficultyCeiling) {
        throw new ArgumentError('referenceDifficulty', `expected 1..${limits.maxDifficultyCeiling}`);
      }
      return new ReferenceAdmission({
        quotes,
        clock,
        difficulty,
        puzzleTtlMs: limits.puzzleTtlMs,
        maxPuzzles: limits.referenceMaxPuzzles,
      });
    }
    case 'nopow':
      return new NoPowAdmission({ quotes, clock });
    default:
      throw new ArgumentError('mode', `expected stateless, reference or nopow, got ${String(mode)}`);
  }
}

export async function startPowtcpService(config: PowtcpServiceConfig): Promise<PowtcpService> {
  const limits = powtcpLimits(config.limits);
  const admission = makeAdmission(config, limits);
  const server = new PowtcpServer({
    admission,
    ...(config.limits === undefined ? {} : { limits: config.limits }),
    ...(config.clock === undefined ? {} : { clock: config.clock }),
    ...(config.publicAddress === undefined ? {} : { publicAddress: config.publicAddress }),
  });
  const address = await server.listen(config.listen);
  if (admission instanceof StatelessAdmission && admission.store instanceof RedisStore) {
    // Not fatal: requests are refused (fail closed) until the store answers, then served.
    await admission.store.ping().then(
      () => obs.log('info', 'store connected', { store: 'redis' }),
      (err: Error) =>
        obs.log('warn', 'store unavailable; requests are refused until it answers', { error: err.message }),
    );
  }
  return {
    server,
    admission,
    address,
    close: () => server.close(),
  };
}
