/**
 * `tollgate earth`: runs an earth node (seed 003), or with `send` delivers one message.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { type Endpoint, parseEndpoint } from '../../admission/endpoint.js';
import { closePools } from '../../pow/pool.js';
import { EARTH_LIMITS, type EarthLimits } from '../../protocol/sky/limits.js';
import { type IdentityKey, loadPrivateKey } from '../../secure/keys.js';
import { EarthNode } from '../../services/earth/node.js';
import { ArgumentError, TollgateError } from '../../util/errors.js';
import { observer } from '../../util/observe.js';
import { type Command, parseCommandArgs } from '../command.js';
import { OBSERVE_FLAGS, OBSERVE_HELP, observeFromFlags } from '../flags.js';
import { parseLimitFlags } from './sky.js';

const HELP = `Usage: tollgate earth --key FILE --sky HOST:PORT --listen HOST:PORT --inbox-bytes N [options]
       tollgate earth send --key FILE --sky HOST:PORT --to IDENTITY DATA

Runs an earth node: takes a lease at each sky node (renewed at half-life), prints
"earth IDENTITY" on stderr once a lease is held, then prints each message it receives as
one line on stdout: the sender's identity, a space, the data. Stores messages for the
nodes that subscribe to it, within each one's declared inbox size. Runs until SIGINT/SIGTERM.

Options:
  --key FILE          Ed25519 private key (PEM); created (mode 0600) if FILE does not exist
  --sky HOST:PORT     a sky node (repeatable)
  --listen HOST:PORT  where other earth nodes reach us (port 0 picks one)
  --inbox-bytes N     the most bytes of messages we expect to receive (declared in the lease)
  --holder IDENTITY   the earth node that stores messages for us while we are away
  --json              print received messages as JSON lines {"from":..,"data":..}
  --limit NAME=VALUE  override an earth limit (repeatable); see docs/sky-earth.md
${OBSERVE_HELP}

'tollgate earth send --help' for the options of send.`;

const SEND_HELP = `Usage: tollgate earth send --key FILE --sky HOST:PORT --to IDENTITY DATA

Delivers DATA to IDENTITY over the secure channel: directly when the recipient is reachable
(its address, or a hole punch through a sky node both hold leases at), else to the node that
stores for it. Exit 0 when delivered or stored (stdout says which and how), 1 with the reason
code on stderr when refused (e.g. ERR_SKY_NO_LEASE: the recipient holds no live lease).

Options:
  --key FILE          Ed25519 private key (PEM); created if FILE does not exist
  --sky HOST:PORT     a sky node (repeatable)
  --to IDENTITY       the recipient (64 hex digits)
  --limit NAME=VALUE  override an earth limit (repeatable)`;

const options = {
  key: { type: 'string' },
  sky: { type: 'string', multiple: true },
  listen: { type: 'string' },
  'inbox-bytes': { type: 'string' },
  holder: { type: 'string' },
  json: { type: 'boolean' },
  to: { type: 'string' },
  limit: { type: 'string', multiple: true },
} as const;

function loadOrCreateKey(file: string | undefined): IdentityKey {
  if (file === undefined) throw new ArgumentError('--key', 'required');
  if (!existsSync(file)) {
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  }
  const key = loadPrivateKey(file);
  if (key.algorithm !== 'ed25519')
    throw new ArgumentError('--key', 'earth nodes use Ed25519 keys (tollgate keygen --type ed25519)');
  return key;
}

function skies(list: string[] | undefined): Endpoint[] {
  if (list === undefined || list.length === 0) throw new ArgumentError('--sky', 'required');
  return list.map((s) => parseEndpoint(s, '--sky'));
}

function limitsOf(flags: string[] | undefined, extra: Partial<EarthLimits> = {}): Partial<EarthLimits> {
  const names = Object.keys(EARTH_LIMITS.specs) as (keyof EarthLimits)[];
  try {
    return EARTH_LIMITS.resolve({ ...parseLimitFlags(flags, names), ...extra });
  } catch (e) {
    if (e instanceof ArgumentError) throw new ArgumentError('--limit', e.message);
    throw e;
  }
}

function identityArg(name: string, v: string | undefined): string {
  if (v === undefined || !/^[0-9a-fA-F]{64}$/.test(v))
    throw new ArgumentError(name, 'expected 64 hex digits');
  return v.toLowerCase();
}

async function send(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(argv, options, SEND_HELP, true);
  if (parsed === null) return 0;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new ArgumentError('DATA', 'expected exactly one DATA argument');
  const to = identityArg('--to', values.to);
  const node = new EarthNode({
    key: loadOrCreateKey(values.key),
    skies: skies(values.sky),
    limits: limitsOf(values.limit, { leaseSec: 60, inboxBytes: 0 }),
  });
  try {
    await node.start();
    const r = await node.send(to, Buffer.from(positionals[0]!));
    process.stdout.write(`${r.status} via ${r.via}\n`);
    return 0;
  } catch (e) {
    if (e instanceof TollgateError && e.code !== 'ERR_INVALID_ARG') {
      process.stderr.write(`${e.code}\n`);
      return 1;
    }
    throw e;
  } finally {
    await node.close();
    await closePools();
  }
}

async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(argv, { ...options, ...OBSERVE_FLAGS }, HELP);
  if (parsed === null) return 0;
  const { values } = parsed;
  if (values.listen === undefined) throw new ArgumentError('--listen', 'required');
  const listen = parseEndpoint(values.listen, '--listen');
  const inbox = values['inbox-bytes'];
  if (inbox === undefined || !/^\d+$/.test(inbox))
    throw new ArgumentError('--inbox-bytes', 'expected a number of bytes');
  const holder = values.holder === undefined ? undefined : identityArg('--holder', values.holder);
  const json = values.json === true;
  const node = new EarthNode({
    key: loadOrCreateKey(values.key),
    skies: skies(values.sky),
    listen,
    ...(holder ? { holder } : {}),
    limits: limitsOf(values.limit, { inboxBytes: Number(inbox) }),
    onMessage: (from, data) => {
      const text = Buffer.from(data).toString('utf8');
      process.stdout.write(json ? `${JSON.stringify({ from, data: text })}\n` : `${from} ${text}\n`);
    },
  });
  // Messages received, stored and relayed, refusals by reason code, links, known leases and
  // bytes held for others (src/util/codes.ts EVENTS.earth, GAUGES.earth).
  const edge = await observeFromFlags(values, ['earth']);
  try {
    await node.start();
  } catch (e) {
    await node.close();
    await edge.close();
    if (e instanceof TollgateError && e.code !== 'ERR_INVALID_ARG') {
      process.stderr.write(`tollgate: no lease: ${e.message} (${e.code})\n`);
      return 1;
    }
    throw e;
  }
  // Scripts wait for this line on stderr; with --json-logs it is the message of a JSON line.
  if (values['json-logs'] === true) observer('earth').log('info', `earth ${node.identity}`);
  else process.stderr.write(`earth ${node.identity}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await node.close();
  await closePools();
  await edge.close();
  return 0;
}

const command: Command = {
  run(argv) {
    if (argv[0] === 'send') return send(argv.slice(1));
    return run(argv);
  },
};

export default command;
