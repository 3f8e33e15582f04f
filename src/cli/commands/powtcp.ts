/**
 * `tollgate powtcp serve|get`: the PoW-protected "word of wisdom" TCP service of seed 001
 * and its client, wire-compatible with the reference (spec/powtcp.md).
 */
import { readFileSync } from 'node:fs';
import { endpoint, formatEndpoint, parseEndpoint } from '../../admission/endpoint.js';
import { expectedAttempts } from '../../pow/hashcash.js';
import { isLogLevel, startObservability } from '../../services/observability.js';
import { ADMISSION_MODES, type AdmissionMode } from '../../services/powtcp/admission.js';
import { powtcpGet } from '../../services/powtcp/client.js';
import { startPowtcpService } from '../../services/powtcp/index.js';
import {
  POWTCP,
  POWTCP_LIMITS,
  type PowtcpLimitOverrides,
  type PowtcpLimits,
  powtcpLimits,
} from '../../services/powtcp/limits.js';
import { loadQuotes } from '../../services/powtcp/quotes.js';
import { ArgumentError } from '../../util/errors.js';
import type { LimitSpec } from '../../util/limits.js';
import { observer } from '../../util/observe.js';
import { type Command, parseCommandArgs } from '../command.js';
import { OBSERVE_FLAGS, OBSERVE_HELP, parseIntegerFlag } from '../flags.js';
import { createProgress } from '../progress.js';

const obs = observer('powtcp');

const HELP = `Usage: tollgate powtcp <serve|get> [options]

  serve   run the PoW-protected quote server
  get     fetch one quote from a server (ours or the reference)

Run 'tollgate powtcp serve --help' or 'tollgate powtcp get --help' for options.`;

const SERVE_HELP = `Usage: tollgate powtcp serve [options]

Serves one quote per solved hashcash puzzle (spec/powtcp.md). Puzzles are sealed, so the
server keeps no state for them; difficulty rises with load (seed 003) and is 1 hex digit idle.

Options:
  --listen ADDR            address to listen on (default 127.0.0.1:8765; port 0 picks one)
  --quotes FILE            quotes to serve, one per line (default: a built-in set)
  --store memory|URL       where replay marks and rate limits live: memory (default) or
                           redis://HOST:PORT, shared by every instance behind one address
  --difficulty-min N       floor in hex digits (default ${POWTCP_LIMITS.minDifficulty})
  --difficulty-max N       ceiling in hex digits (default ${POWTCP_LIMITS.maxDifficulty}, at most ${POWTCP_LIMITS.maxDifficultyCeiling})
  --secret-file FILE       shared key secret (>= 32 bytes) for several instances; or set
                           TOLLGATE_POWTCP_SECRET to 64+ hex digits; needs --store redis://
  --public-address ADDR    the address clients connect to, if not --listen (load balancer)
  --rate R --burst N       per-address token bucket (R may be fractional) (default ${POWTCP_LIMITS.ratePerSec}/s, burst ${POWTCP_LIMITS.burst})
  --service-rate N         verified solves/s the virtual load queue drains at (default ${POWTCP_LIMITS.serviceRatePerSec})
  --queue-size N           seed 003's queue size q (default ${POWTCP_LIMITS.queueSize})
  --max-connections N      open connections in total (default ${POWTCP_LIMITS.maxConnections})
  --max-connections-per-address N   (default ${POWTCP_LIMITS.maxConnectionsPerAddress})
${OBSERVE_HELP}
  --mode MODE              stateless (default); reference (the reference design: fixed
                           difficulty, puzzles kept in a TTL map) or nopow, for benchmarks
  --difficulty N           fixed difficulty of --mode reference (default 5)

Prints "powtcp listening on ADDR" on stdout once ready; stops on SIGINT or SIGTERM.`;

const GET_HELP = `Usage: tollgate powtcp get HOST:PORT [options]

Requests a puzzle, solves it on all workers, and prints the quote.

Options:
  --workers N      solver threads (default 1)
  --json           print {"quote":...,"difficulty":N,"attempts":N,"solve_ms":N,"total_ms":N}
  --bind ADDR      local source address to connect from
  --timeout MS     give up solving after MS milliseconds`;

function intOption(name: string, value: string | undefined, min: number, max: number): number | undefined {
  return value === undefined ? undefined : parseIntegerFlag(name, value, min, max);
}

function numOption(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+(?:\.\d+)?$/.test(value))
    throw new ArgumentError(name, `expected a number, got ${JSON.stringify(value)}`);
  const n = Number(value);
  if (!(n >= min && n <= max)) throw new ArgumentError(name, `expected ${min}..${max}, got ${n}`);
  return n;
}

/** The serve flag of each limit it sets: the library names `limits.<name>`, the CLI its flags. */
const LIMIT_FLAGS = {
  minDifficulty: '--difficulty-min',
  maxDifficulty: '--difficulty-max',
  ratePerSec: '--rate',
  burst: '--burst',
  serviceRatePerSec: '--service-rate',
  queueSize: '--queue-size',
  maxConnections: '--max-connections',
  maxConnectionsPerAddress: '--max-connections-per-address',
} as const satisfies Partial<Record<keyof PowtcpLimits, string>>;

/** The flag of each library option that `startPowtcpService` may name in an error. */
const OPTION_FLAGS: Readonly<Record<string, string>> = {
  store: '--store',
  mode: '--mode',
  referenceDifficulty: '--difficulty',
  quotes: '--quotes',
  publicAddress: '--public-address',
  listen: '--listen',
};

/** Re-throws a library ArgumentError under the CLI's flag name (issue 8: each API names its own options). */
function asFlagError(err: unknown, secretFlag: string): unknown {
  if (!(err instanceof ArgumentError)) return err;
  if (err.argument === 'secret') {
    return new ArgumentError(
      secretFlag,
      'a shared key secret needs a shared store (--store redis://HOST:PORT); with --store memory every instance would accept each solution once',
    );
  }
  const flag = OPTION_FLAGS[err.argument];
  if (flag === undefined) return err;
  return new ArgumentError(flag, err.message.slice(err.argument.length + 2));
}

function readSecret(file: string | undefined): Uint8Array | undefined {
  if (file !== undefined) {
    let raw: Buffer;
    try {
      raw = readFileSync(file);
    } catch (err) {
      throw new ArgumentError('--secret-file', `cannot read ${file}: ${(err as Error).message}`);
    }
    if (raw.length < 32) throw new ArgumentError('--secret-file', 'expected at least 32 bytes');
    return new Uint8Array(raw);
  }
  const env = process.env.TOLLGATE_POWTCP_SECRET;
  if (env === undefined || env === '') return undefined;
  if (!/^(?:[0-9a-fA-F]{2}){32,}$/.test(env)) {
    throw new ArgumentError('TOLLGATE_POWTCP_SECRET', 'expected at least 64 hex digits');
  }
  return new Uint8Array(Buffer.from(env, 'hex'));
}

async function serve(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(
    argv,
    {
      listen: { type: 'string', default: '127.0.0.1:8765' },
      quotes: { type: 'string' },
      store: { type: 'string', default: 'memory' },
      'difficulty-min': { type: 'string' },
      'difficulty-max': { type: 'string' },
      'secret-file': { type: 'string' },
      'public-address': { type: 'string' },
      rate: { type: 'string' },
      burst: { type: 'string' },
      'service-rate': { type: 'string' },
      'queue-size': { type: 'string' },
      'max-connections': { type: 'string' },
      'max-connections-per-address': { type: 'string' },
      ...OBSERVE_FLAGS,
      mode: { type: 'string', default: 'stateless' },
      difficulty: { type: 'string' },
    },
    SERVE_HELP,
  );
  if (parsed === null) return 0;
  const v = parsed.values;
  const mode = v.mode ?? 'stateless';
  if (!(ADMISSION_MODES as readonly string[]).includes(mode)) {
    throw new ArgumentError('--mode', `expected one of ${ADMISSION_MODES.join(', ')}`);
  }
  const limits: { -readonly [K in keyof PowtcpLimitOverrides]: PowtcpLimitOverrides[K] } = {};
  for (const [key, flag] of Object.entries(LIMIT_FLAGS) as [keyof typeof LIMIT_FLAGS, string][]) {
    const text = v[flag.slice(2) as keyof typeof v] as string | undefined;
    if (text === undefined) continue;
    const spec: LimitSpec = POWTCP.specs[key];
    limits[key] =
      spec.real === true
        ? (numOption(flag, text, spec.min, spec.max) as number)
        : parseIntegerFlag(flag, text, spec.min, spec.max);
  }
  // Relations between limits (floor <= ceiling) are checked here, so errors name the flags.
  powtcpLimits(limits, { names: LIMIT_FLAGS });
  const secret = readSecret(v['secret-file']);
  const referenceDifficulty = intOption('--difficulty', v.difficulty, 1, POWTCP_LIMITS.maxDifficultyCeiling);
  const secretFlag = v['secret-file'] === undefined ? 'TOLLGATE_POWTCP_SECRET' : '--secret-file';
  // The edge subscribers first, so that the service's first log lines reach them. Started
  // directly rather than through observeFromFlags, which announces the metrics address on
  // stderr: with --json-logs every stderr line stays JSON, and scripts read the address from
  // stdout.
  const level = v['log-level'] ?? 'info';
  if (!isLogLevel(level)) throw new ArgumentError('--log-level', 'expected debug, info, warn or error');
  const metricsAt = v.metrics === undefined ? undefined : parseEndpoint(v.metrics, '--metrics');
  const edge = await startObservability({
    services: ['powtcp'],
    jsonLogs: v['json-logs'] === true,
    logLevel: level,
    ...(metricsAt === undefined ? {} : { metrics: { host: metricsAt.host, port: metricsAt.port } }),
  });
  const service = await startPowtcpService({
    listen: parseEndpoint(v.listen ?? '127.0.0.1:8765', '--listen'),
    mode: mode as AdmissionMode,
    store: v.store ?? 'memory',
    limits,
    ...(v.quotes === undefined ? {} : { quotes: loadQuotes(v.quotes) }),
    ...(secret === undefined ? {} : { secret }),
    ...(referenceDifficulty === undefined ? {} : { referenceDifficulty }),
    ...(v['public-address'] === undefined
      ? {}
      : { publicAddress: parseEndpoint(v['public-address'], '--public-address') }),
  }).catch(async (err: unknown) => {
    await edge.close();
    throw asFlagError(err, secretFlag);
  });
  process.stdout.write(`powtcp listening on ${formatEndpoint(service.address)}\n`);
  // Also on stdout, where scripts (the attack lab, the tests) read the listening line.
  if (edge.metricsAddress !== undefined) {
    process.stdout.write(`metrics on http://${formatEndpoint(edge.metricsAddress)}/metrics\n`);
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    // A parent that spawned the server over IPC (the benchmark) stops it by disconnecting.
    process.once('disconnect', stop);
  });
  obs.log('info', 'powtcp stopping');
  await service.close();
  await edge.close();
  return 0;
}

async function get(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(
    argv,
    {
      workers: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
      bind: { type: 'string' },
      timeout: { type: 'string' },
    },
    GET_HELP,
    true,
  );
  if (parsed === null) return 0;
  const [target, ...extra] = parsed.positionals;
  if (target === undefined) throw new ArgumentError('HOST:PORT', 'expected the server address');
  if (extra.length > 0)
    throw new ArgumentError('HOST:PORT', `unexpected argument ${JSON.stringify(extra[0])}`);
  const workers = intOption('--workers', parsed.values.workers, 1, 256) ?? 1;
  const solveTimeoutMs = intOption('--timeout', parsed.values.timeout, 1, 86_400_000);
  const bind = parsed.values.bind;
  if (bind !== undefined) endpoint(bind, 0, '--bind');
  const json = parsed.values.json === true;
  let progress: ReturnType<typeof createProgress> | undefined;
  try {
    const result = await powtcpGet(parseEndpoint(target, 'HOST:PORT'), {
      workers,
      ...(bind === undefined ? {} : { localAddress: bind }),
      ...(solveTimeoutMs === undefined ? {} : { solveTimeoutMs }),
      onPuzzle: (_puzzle, difficulty) => {
        if (!json)
          progress = createProgress(`solving ${difficulty} hex digits`, expectedAttempts(difficulty));
      },
      onProgress: (p) => progress?.update(p),
    });
    progress?.done();
    if (json) {
      process.stdout.write(
        `${JSON.stringify({
          quote: result.quote,
          difficulty: result.difficulty,
          attempts: result.attempts,
          solve_ms: Math.round(result.solveMs),
          total_ms: Math.round(result.totalMs),
        })}\n`,
      );
    } else {
      process.stdout.write(`${result.quote}\n`);
    }
    return 0;
  } finally {
    progress?.done();
  }
}

const command: Command = {
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'serve') return serve(rest);
    if (sub === 'get') return get(rest);
    if (sub === undefined || sub === '--help' || sub === '-h') {
      process.stdout.write(`${HELP}\n`);
      return sub === undefined ? 2 : 0;
    }
    throw new ArgumentError('subcommand', `expected serve or get, got ${JSON.stringify(sub)}`);
  },
};
export default command;
