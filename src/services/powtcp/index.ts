/**
 * Builds a running powtcp service from a configuration: the store (memory or Redis), the key
 * ring and sealer, the admission mode, the socket server, and the optional metrics endpoint.
 * The CLI, the tests, the demo and the attack benchmark all start servers through here.
 */
import type { Server as HttpServer } from 'node:http';
import { type Endpoint, formatEndpoint } from '../../admission/endpoint.js';
import { RedisStore } from '../../admission/redis-store.js';
import { ChallengeSealer, KeyRing } from '../../admission/sealed.js';
import { MemoryStore, type Store } from '../../admission/store.js';
import type { AdmissionMode, PowtcpAdmission } from '../../protocol/powtcp-admission.js';
import { NoPowAdmission, ReferenceAdmission, StatelessAdmission } from '../../protocol/powtcp-modes.js';
import { type Clock, systemClock } from '../../util/clock.js';
import { ArgumentError } from '../../util/errors.js';
import { type PowtcpLimits, powtcpLimits } from './limits.js';
import { type Logger, silentLogger } from './log.js';
import { PowtcpMetrics, serveMetrics } from './metrics.js';
import { BUILTIN_QUOTES, checkQuotes } from './quotes.js';
import { PowtcpServer } from './server.js';

export interface PowtcpServiceConfig {
  readonly listen: Endpoint;
  readonly mode?: AdmissionMode;
  /** 'memory' (default) or a redis:// URL. */
  readonly store?: string;
  readonly quotes?: readonly string[];
  readonly limits?: Partial<PowtcpLimits>;
  /** Fixed difficulty of the reference mode, in hex digits (default 5, as the reference). */
  readonly referenceDifficulty?: number;
  /** Shared key secret (>= 32 bytes) so that instances behind one address open each other's puzzles. */
  readonly secret?: Uint8Array;
  /** The address clients use, bound into puzzles; default the listening address. */
  readonly publicAddress?: Endpoint;
  readonly metrics?: Endpoint;
  readonly logger?: Logger;
  readonly clock?: Clock;
}

export interface PowtcpService {
  readonly server: PowtcpServer;
  readonly admission: PowtcpAdmission;
  readonly address: Endpoint;
  readonly metricsAddress: Endpoint | undefined;
  close(): Promise<void>;
}

export const REFERENCE_DIFFICULTY = 5;

function isMemoryStore(spec: string | undefined): boolean {
  return spec === undefined || spec === 'memory';
}

function makeStore(spec: string | undefined, clock: Clock): Store {
  if (spec === undefined || isMemoryStore(spec)) return new MemoryStore({ clock });
  if (/^rediss?:\/\//.test(spec)) return new RedisStore(spec);
  throw new ArgumentError('--store', `expected memory or redis://HOST:PORT, got ${JSON.stringify(spec)}`);
}

export function makeAdmission(config: PowtcpServiceConfig, limits: PowtcpLimits): PowtcpAdmission {
  const clock = config.clock ?? systemClock;
  const quotes = config.quotes ?? BUILTIN_QUOTES;
  checkQuotes(quotes);
  const mode = config.mode ?? 'stateless';
  if (limits.minDifficulty < 1 || limits.minDifficulty > limits.maxDifficulty) {
    throw new ArgumentError('--difficulty-min', `expected 1..${limits.maxDifficulty}`);
  }
  if (limits.maxDifficulty > limits.maxDifficultyCeiling) {
    throw new ArgumentError('--difficulty-max', `expected at most ${limits.maxDifficultyCeiling}`);
  }
  // Issue 9 item 9: a key shared by several instances with replay marks kept per instance
  // lets one solution be redeemed once per instance (and once more after every restart, since
  // the key outlives the marks); a shared key only makes sense with a shared store.
  if (config.secret !== undefined && isMemoryStore(config.store)) {
    throw new ArgumentError(
      'secret',
      'a shared key secret needs a shared store (store: redis://HOST:PORT); with the memory store every instance would accept each solution once',
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
        throw new ArgumentError('--difficulty', `expected 1..${limits.maxDifficultyCeiling}`);
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
      throw new ArgumentError('--mode', `expected stateless, reference or nopow, got ${String(mode)}`);
  }
}

export async function startPowtcpService(config: PowtcpServiceConfig): Promise<PowtcpService> {
  const limits = powtcpLimits(config.limits);
  const logger = config.logger ?? silentLogger;
  const admission = makeAdmission(config, limits);
  const metrics = new PowtcpMetrics();
  const server = new PowtcpServer({
    admission,
    limits,
    logger,
    metrics,
    ...(config.clock === undefined ? {} : { clock: config.clock }),
    ...(config.publicAddress === undefined ? {} : { publicAddress: config.publicAddress }),
  });
  const address = await server.listen(config.listen);
  if (admission instanceof StatelessAdmission && admission.store instanceof RedisStore) {
    // Not fatal: requests are refused (fail closed) until the store answers, then served.
    await admission.store.ping().then(
      () => logger.info('store connected', { store: 'redis' }),
      (err: Error) =>
        logger.warn('store unavailable; requests are refused until it answers', { error: err.message }),
    );
  }
  let http: HttpServer | undefined;
  let metricsAddress: Endpoint | undefined;
  if (config.metrics !== undefined) {
    try {
      const m = await serveMetrics(metrics, config.metrics);
      http = m.server;
      metricsAddress = m.address;
      logger.info('metrics listening', { address: formatEndpoint(m.address) });
    } catch (err) {
      await server.close();
      throw err;
    }
  }
  return {
    server,
    admission,
    address,
    metricsAddress,
    async close() {
      if (http !== undefined) {
        http.closeAllConnections();
        await new Promise<void>((resolve) => http?.close(() => resolve()));
      }
      await server.close();
    },
  };
}
