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
  /**
   * The bootstrapper's INI. It listens on `p2p_address = 127.0.0.1:0`: whoever starts it reads the port it
   * bound (the `listening on` line, or the service's `p2pAddress`) and passes that address to
   * `writePeers`. No port is chosen by binding, releasing and binding again, so a parallel test
   * cannot take it in between.
   */
  readonly bootstrapIni: string;
  /** Writes one INI per peer, pointing at the bootstrapper's bound address; returns their paths. */
  writePeers(bootstrapper: string): readonly string[];
  /** API ports written (0 where none was wanted or a wanted one is taken: the peer binds a free one). */
  readonly apiPorts: readonly number[];
  /** Ports that were wanted but taken; those peers listen on port 0 instead. */
  readonly replaced: readonly { wanted: number }[];
}

/**
 * True when `port` can be bound on 127.0.0.1 right now. Only for the course's wanted ports
 * (7001/7003/7005): a port taken in between is caught by the caller's retry on port 0.
 */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port }, () => server.close(() => resolve(true)));
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
  const common = [
    `pow_bits = ${options.powBits ?? 24}`,
    `degree = ${options.degree ?? 30}`,
    ...(options.closed === true ? ['trusted_keys = trusted'] : []),
    ...(options.extra === undefined ? [] : [options.extra]),
  ];
  const keyType = options.keyType ?? 'rsa';
  const bootKey = writeKey(dir, trusted, 'bootstrap', keyType);
  const bootstrapIni = join(dir, 'bootstrap.ini');
  writeFileSync(
    bootstrapIni,
    `hostkey = ${bootKey}\n\n[gossip]\n${['p2p_address = 127.0.0.1:0', ...common].join('\n')}\n`,
  );
  const apiPorts: number[] = [];
  const replaced: { wanted: number }[] = [];
  const keys: string[] = [];
  for (let i = 0; i < options.peers; i++) {
    const wanted = options.apiPorts?.[i];
    let port = wanted ?? 0;
    if (wanted !== undefined && !(await portFree(wanted))) {
      port = 0;
      replaced.push({ wanted });
    }
    apiPorts.push(port);
    keys.push(writeKey(dir, trusted, `peer${i + 1}`, keyType));
  }
  const writePeers = (bootstrapper: string): readonly string[] =>
    keys.map((key, i) => {
      const ini = join(dir, `peer${i + 1}.ini`);
      writeFileSync(
        ini,
        [
          `hostkey = ${key}`,
          '',
          '[gossip]',
          `cache_size = ${options.cacheSize ?? 50}`,
          `bootstrapper = ${bootstrapper}`,
          ...common,
          'p2p_address = 127.0.0.1:0',
          `api_address = 127.0.0.1:${apiPorts[i]}`,
          '',
          '[onion]',
          'hops = 2',
          '',
        ].join('\n'),
      );
      return ini;
    });
  return { dir, bootstrapIni, writePeers, apiPorts, replaced };
}
