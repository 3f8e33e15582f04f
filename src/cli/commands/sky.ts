/**
 * `tollgate sky`: runs a sky node (seed 003): leases, look-ups answered only for lease
 * holders, hole-punch coordination, every request behind the admission pipeline.
 */
import { readFileSync } from 'node:fs';
import { type Endpoint, formatEndpoint, parseEndpoint } from '../../admission/endpoint.js';
import { RedisStore } from '../../admission/redis-store.js';
import { SKY_LIMITS, type SkyLimits } from '../../protocol/sky/limits.js';
import { RedisLeaseStore } from '../../services/sky/lease-store.js';
import { SkyNode } from '../../services/sky/server.js';
import { ArgumentError, TollgateError } from '../../util/errors.js';
import { observer } from '../../util/observe.js';
import { type Command, parseCommandArgs } from '../command.js';
import { OBSERVE_FLAGS, OBSERVE_HELP, observeFromFlags } from '../flags.js';

const HELP = `Usage: tollgate sky --listen HOST:PORT [options]

Runs a sky node. Prints "sky listening on HOST:PORT" on stderr when ready; runs until
SIGINT or SIGTERM.

Options:
  --listen HOST:PORT   address to listen on (port 0 picks one)
  --redis URL          share leases, rate buckets and redeemed challenges with other sky
                       nodes through this Redis (redis://host:port); default in memory
  --secret-file FILE   32+ bytes shared by sky nodes behind one name, so that each opens
                       the others' challenges (default: a random key per process)
  --public-address HOST:PORT
                       the address clients dial, when it is not the one the node listens
                       on (sky nodes behind one name give the same one)
  --limit NAME=VALUE   override a limit (repeatable); see docs/sky-earth.md for the table
${OBSERVE_HELP}`;

const options = {
  listen: { type: 'string' },
  redis: { type: 'string' },
  'secret-file': { type: 'string' },
  'public-address': { type: 'string' },
  limit: { type: 'string', multiple: true },
  ...OBSERVE_FLAGS,
} as const;

export function parseLimitFlags<K extends string>(
  flags: readonly string[] | undefined,
  known: readonly K[],
): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  for (const f of flags ?? []) {
    const m = /^([A-Za-z]+)=(\d+)$/.exec(f);
    if (m === null || !(known as readonly string[]).includes(m[1]!)) {
      throw new ArgumentError(
        '--limit',
        `expected NAME=INTEGER with NAME one of ${known.join(', ')}; got ${JSON.stringify(f)}`,
      );
    }
    out[m[1] as K] = Number(m[2]);
  }
  return out;
}

const command: Command = {
  async run(argv) {
    const parsed = parseCommandArgs(argv, options, HELP);
    if (parsed === null) return 0;
    const { values } = parsed;
    if (values.listen === undefined) throw new ArgumentError('--listen', 'required');
    const at = parseEndpoint(values.listen, '--listen');
    const names = Object.keys(SKY_LIMITS.specs) as (keyof SkyLimits)[];
    let limits: Partial<SkyLimits>;
    try {
      limits = SKY_LIMITS.resolve(parseLimitFlags(values.limit, names));
    } catch (e) {
      if (e instanceof ArgumentError) throw new ArgumentError('--limit', e.message);
      throw e;
    }
    const secret =
      values['secret-file'] === undefined ? undefined : new Uint8Array(readFileSync(values['secret-file']));
    const store = values.redis === undefined ? undefined : new RedisStore(values.redis);
    const leases =
      values.redis === undefined ? undefined : new RedisLeaseStore(values.redis, SKY_LIMITS.resolve(limits));
    // Connections, leases, look-ups, refusals by reason code, leases held and difficulty
    // (src/util/codes.ts EVENTS.sky, GAUGES.sky), as JSON logs and metrics.
    const edge = await observeFromFlags(values, ['sky']);
    if (store !== undefined) await store.ping();
    const sky = new SkyNode({
      limits,
      ...(store ? { store } : {}),
      ...(leases ? { leases } : {}),
      ...(secret ? { secret } : {}),
      ...(values['public-address'] === undefined
        ? {}
        : { publicAddress: parseEndpoint(values['public-address'], '--public-address') }),
    });
    let bound: Endpoint;
    try {
      bound = await sky.listen(at.port, at.host);
    } catch (e) {
      await edge.close();
      throw new TollgateError(
        'ERR_LISTEN_FAILED',
        `cannot listen on ${formatEndpoint(at)}: ${(e as Error).message}`,
      );
    }
    // Scripts wait for this line on stderr; with --json-logs it is the message of a JSON line.
    const ready = `sky listening on ${formatEndpoint(bound)}`;
    if (values['json-logs'] === true) observer('sky').log('info', ready);
    else process.stderr.write(`${ready}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await sky.close();
    await store?.close();
    await edge.close();
    return 0;
  },
};

export default command;
