/**
 * `tollgate secure listen|connect`: the secure channel for people, like `openssl s_server`
 * and `s_client`: stdin goes to the peer, the peer's messages to stdout, and the peer's
 * identity and any refusal to stderr.
 */
import { once } from 'node:events';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { formatEndpoint, parseEndpoint } from '../../admission/endpoint.js';
import { closePools } from '../../pow/pool.js';
import {
  HandshakeError,
  type HandshakePow,
  loadPrivateKey,
  type SecureChannel,
  SecureContext,
  type SecureStandaloneOptions,
  secureAccept,
  secureConnect,
  TrustStore,
} from '../../secure/index.js';
import { SECURE_LIMITS } from '../../secure/limits.js';
import { ArgumentError } from '../../util/errors.js';
import { type Command, parseCommandArgs } from '../command.js';
import { OBSERVE_FLAGS, OBSERVE_HELP, observeFromFlags, optionalIntegerFlag } from '../flags.js';

const HELP = `Usage: tollgate secure <listen|connect> [options]

  listen    accept one secure connection and pipe stdin/stdout through it
  connect   connect to a listener and pipe stdin/stdout through the channel

Run 'tollgate secure listen --help' or 'tollgate secure connect --help' for options.`;

const COMMON = `  --key FILE        our private key (PEM: RSA PKCS#1/PKCS#8 or Ed25519), see 'tollgate keygen'
  --trust DIR       folder of trusted public keys (*.pem), re-read when it changes
  --pow SPEC        puzzle both sides solve and demand: none (default), scrypt:BITS,
                    scrypt:BITS:N:r:p or sha256-bits:BITS; both sides must agree
  --timeout MS      handshake timeout (default 10000)`;

const LISTEN_HELP = `Usage: tollgate secure listen --key FILE --trust DIR --listen ADDR [options]

Waits for a peer whose key is in DIR, runs the handshake, prints "peer IDENTITY" on stderr,
then copies stdin to the peer and the peer's messages to stdout until both sides closed.
Handshakes run concurrently; refused ones are reported on stderr, the first to succeed is kept.
Prints "secure listening on ADDR" on stderr once ready.

Options:
  --listen ADDR     address to listen on, e.g. 127.0.0.1:7000 or [::1]:7000 (port 0 picks one)
  --hello-timeout MS  time from accept to the peer's first message (default 5000); a peer's
                    puzzle must be solved within it
${COMMON}
${OBSERVE_HELP}`;

const CONNECT_HELP = `Usage: tollgate secure connect --key FILE --trust DIR HOST:PORT [options]

Runs the handshake with the listener at HOST:PORT (an IP address), prints "peer IDENTITY" on
stderr, then copies stdin to the peer and the peer's messages to stdout until both closed.

Options:
  --expect ID       refuse any listener but this identity (hex SHA-256 of its public key)
  --no-address-check  do not check the address the listener saw us at (behind NAT)
${COMMON}`;

export function parsePow(spec: string | undefined): HandshakePow {
  if (spec === undefined || spec === 'none') return { kind: 'none' };
  const [kind, ...rest] = spec.split(':');
  const nums = rest.map((v) => {
    if (!/^\d+$/.test(v)) throw new ArgumentError('--pow', `expected a number, got ${JSON.stringify(v)}`);
    return Number(v);
  });
  if (kind === 'sha256-bits' && nums.length === 1) return { kind, bits: nums[0]! };
  if (kind === 'scrypt' && nums.length === 1) return { kind, bits: nums[0]! };
  if (kind === 'scrypt' && nums.length === 4)
    return { kind, bits: nums[0]!, N: nums[1]!, r: nums[2]!, p: nums[3]! };
  throw new ArgumentError('--pow', 'expected none, scrypt:BITS, scrypt:BITS:N:r:p or sha256-bits:BITS');
}

const optionSpec = {
  key: { type: 'string' },
  trust: { type: 'string' },
  pow: { type: 'string' },
  timeout: { type: 'string' },
  'hello-timeout': { type: 'string' },
  ...OBSERVE_FLAGS,
  listen: { type: 'string' },
  expect: { type: 'string' },
  'no-address-check': { type: 'boolean' },
} as const;

function baseOptions(values: {
  key?: string;
  trust?: string;
  pow?: string;
  timeout?: string;
  'hello-timeout'?: string;
}): {
  options: SecureStandaloneOptions;
  trust: TrustStore;
} {
  if (values.key === undefined) throw new ArgumentError('--key', 'required');
  if (values.trust === undefined) throw new ArgumentError('--trust', 'required');
  const { handshakeTimeoutMs, helloTimeoutMs } = SECURE_LIMITS.specs;
  const timeout = optionalIntegerFlag(
    '--timeout',
    values.timeout,
    handshakeTimeoutMs.min,
    handshakeTimeoutMs.max,
  );
  const hello = optionalIntegerFlag(
    '--hello-timeout',
    values['hello-timeout'],
    helloTimeoutMs.min,
    helloTimeoutMs.max,
  );
  const key = loadPrivateKey(values.key);
  const trust = TrustStore.open(values.trust, {
    onError: (file, error) => process.stderr.write(`tollgate: ignoring ${file}: ${error.message}\n`),
  });
  if (trust.size === 0) process.stderr.write(`tollgate: warning: no trusted keys in ${values.trust}\n`);
  return {
    options: {
      key,
      trust,
      pow: parsePow(values.pow),
      limits: {
        ...(timeout === undefined ? {} : { handshakeTimeoutMs: timeout }),
        ...(hello === undefined ? {} : { helloTimeoutMs: hello }),
      },
    },
    trust,
  };
}

/** Pipes stdin to the channel and the channel to stdout; resolves when both directions ended. */
async function pipeStdio(channel: SecureChannel): Promise<number> {
  process.stderr.write(`peer ${channel.peer.identity}\n`);
  const stdin = process.stdin;
  const onData = (chunk: Buffer) => {
    if (!channel.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length))) stdin.pause();
  };
  stdin.on('data', onData);
  channel.on('drain', () => stdin.resume());
  stdin.once('end', () => channel.end());
  channel.on('data', (m: Uint8Array) => {
    if (!process.stdout.write(m)) {
      channel.pause();
      process.stdout.once('drain', () => channel.resume());
    }
  });
  let failure: Error | undefined;
  channel.on('error', (e) => {
    failure = e;
  });
  await once(channel, 'close');
  stdin.off('data', onData);
  stdin.pause();
  stdin.destroy();
  if (failure !== undefined) {
    process.stderr.write(`tollgate: channel closed: ${failure.message}\n`);
    return 1;
  }
  return 0;
}

function describe(error: unknown): string {
  return error instanceof HandshakeError ? `handshake refused: ${error.message}` : String(error);
}

async function listen(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(argv, optionSpec, LISTEN_HELP);
  if (parsed === null) return 0;
  const { values } = parsed;
  if (values.listen === undefined) throw new ArgumentError('--listen', 'required');
  const at = parseEndpoint(values.listen, '--listen');
  const { options, trust } = baseOptions(values);
  const context = new SecureContext(options);
  const observability = await observeFromFlags(values, ['secure']);
  const pending = new Set<Socket>();
  let chosen: ((channel: SecureChannel) => void) | undefined;
  const first = new Promise<SecureChannel>((resolve) => {
    chosen = resolve;
  });
  // Handshakes run concurrently under the library's caps (per-address pending handshakes,
  // HELLO deadline), so an idle connection cannot hold the listener (issue 9, finding 5).
  const server = createServer((socket) => {
    pending.add(socket);
    socket.on('error', () => {});
    secureAccept(socket, { context }).then(
      (channel) => {
        pending.delete(socket);
        if (chosen === undefined) channel.destroy();
        chosen?.(channel);
        chosen = undefined;
      },
      (error: unknown) => {
        pending.delete(socket);
        process.stderr.write(`tollgate: ${describe(error)}\n`);
      },
    );
  });
  server.listen(at.port, at.host);
  await once(server, 'listening');
  const addr = server.address() as { address: string; port: number };
  process.stderr.write(`secure listening on ${formatEndpoint({ host: addr.address, port: addr.port })}\n`);
  try {
    // One session, like s_server: the first handshake that succeeds gets stdio; the others
    // still in progress are dropped.
    const channel = await first;
    server.close();
    for (const socket of pending) socket.destroy();
    return await pipeStdio(channel);
  } finally {
    server.close();
    trust.close();
    await observability.close();
    await closePools();
  }
}

async function connect(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(argv, optionSpec, CONNECT_HELP, true);
  if (parsed === null) return 0;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new ArgumentError('HOST:PORT', 'expected exactly one address');
  const to = parseEndpoint(positionals[0]!, 'HOST:PORT');
  const { options, trust } = baseOptions(values);
  const socket = tcpConnect(to.port, to.host);
  try {
    await Promise.race([
      once(socket, 'connect'),
      once(socket, 'error').then(([e]) => Promise.reject(e as Error)),
    ]);
    let channel: SecureChannel;
    try {
      channel = await secureConnect(socket, {
        ...options,
        ...(values.expect === undefined ? {} : { expectIdentity: values.expect.toLowerCase() }),
        ...(values['no-address-check'] ? { checkAddress: false } : {}),
      });
    } catch (error) {
      process.stderr.write(`tollgate: ${describe(error)}\n`);
      return 1;
    }
    return await pipeStdio(channel);
  } catch (error) {
    process.stderr.write(`tollgate: cannot connect to ${formatEndpoint(to)}: ${(error as Error).message}\n`);
    return 1;
  } finally {
    socket.destroy();
    trust.close();
    await closePools();
  }
}

const command: Command = {
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'listen') return listen(rest);
    if (sub === 'connect') return connect(rest);
    process.stdout.write(`${HELP}\n`);
    return sub === undefined || sub === '--help' || sub === '-h' ? (sub === undefined ? 2 : 0) : 2;
  },
};

export default command;
