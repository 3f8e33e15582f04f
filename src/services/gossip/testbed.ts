/**
 * A local Gossip testbed on disk: hostkeys, a folder of their public keys (the spec's out-of-band
 * key exchange, used when the network is closed), and one INI file per peer plus one for the bootstrapper, all on
 * loopback. Used by the loopback test, the demo and the benchmark. Keys are RSA 2048 so that a
 * testbed starts fast (a real peer's hostkey is RSA 4096 per the spec; both are accepted).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface TestbedOptions {
  readonly peers: number;
  /** API ports wanted (the course used 7001, 7003, 7005); taken ones are replaced by free ports. */
  readonly apiPorts?: readonly number[];
  readonly powBits?: number;
  readonly degree?: number;
  readonly cacheSize?: number;
  /** Hostkey type: RSA 2048 (default) or Ed25519 (instant to make; for the demo). */
  readonly keyType?: 'rsa' | 'ed25519';
  /** A closed network: every public key in `trusted/` and `trusted_keys = trusted` (default open). */
  readonly closed?: boolean;
  /** Extra `[gossip]` lines for every peer. */
  readonly extra?: string;
}

export interface Testbed {
  readonly dir: string;
  readonly bootstrapIni: string;
  readonly peerInis: readonly string[];
  readonly apiPorts: readonly number[];
  /** Ports that were wanted but taken, and what was used instead. */
  readonly replaced: readonly { wanted: number; used: number }[];
}

/** True when `port` can be bound on 127.0.0.1 right now. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port }, () => server.close(() => resolve(true)));
  });
}

/** A port the OS calls free (it may be taken again by the time it is used; retried by callers). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function writeKey(dir: string, trusted: string, name: string, type: 'rsa' | 'ed25519'): string {
  const { privateKey, publicKey } =
    type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
  const path = join(dir, `${name}.pem`);
  writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(join(trusted, `${name}.pem`), publicKey.export({ type: 'spki', format: 'pem' }));
  return `${name}.pem`;
}

export async function writeTestbed(dir: string, options: TestbedOptions): Promise<Testbed> {
  mkdirSync(dir, { recursive: true });
  const trusted = join(dir, 'trusted');
  mkdirSync(trusted, { recursive: true });
  const bootPort = await freePort();
  const common = [
    `pow_bits = ${options.powBits ?? 24}`,
    `degree = ${options.degree ?? 30}`,
    `bootstrapper = 127.0.0.1:${bootPort}`,
    ...(options.closed === true ? ['trusted_keys = trusted'] : []),
    ...(options.extra === undefined ? [] : [options.extra]),
  ];
  const keyType = options.keyType ?? 'rsa';
  const bootKey = writeKey(dir, trusted, 'bootstrap', keyType);
  const bootstrapIni = join(dir, 'bootstrap.ini');
  writeFileSync(bootstrapIni, `hostkey = ${bootKey}\n\n[gossip]\n${common.join('\n')}\n`);
  const apiPorts: number[] = [];
  const replaced: { wanted: number; used: number }[] = [];
  const peerInis: string[] = [];
  for (let i = 0; i < options.peers; i++) {
    const wanted = options.apiPorts?.[i];
    let port = wanted ?? 0;
    if (wanted === undefined || !(await portFree(wanted))) {
      port = await freePort();
      if (wanted !== undefined) replaced.push({ wanted, used: port });
    }
    apiPorts.push(port);
    const key = writeKey(dir, trusted, `peer${i + 1}`, keyType);
    const ini = join(dir, `peer${i + 1}.ini`);
    writeFileSync(
      ini,
      [
        `hostkey = ${key}`,
        '',
        '[gossip]',
        `cache_size = ${options.cacheSize ?? 50}`,
        ...common,
        'p2p_address = 127.0.0.1:0',
        `api_address = 127.0.0.1:${port}`,
        '',
        '[onion]',
        'hops = 2',
        '',
      ].join('\n'),
    );
    peerInis.push(ini);
  }
  return { dir, bootstrapIni, peerInis, apiPorts, replaced };
}
