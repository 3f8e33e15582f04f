/**
 * Starting a Gossip peer or bootstrapper from its INI file: config, hostkey, trusted keys,
 * the TCP + secure channel transport, the node. Used by the CLI, the demo and the benchmark.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Endpoint, formatEndpoint, parseEndpoint } from '../../admission/endpoint.js';
import { closePools } from '../../pow/pool.js';
import { GOSSIP_SERVICE_LIMITS } from '../../protocol/gossip/limits.js';
import { type IdentityKey, loadPrivateKey, type TrustPolicy, TrustStore } from '../../secure/index.js';
import { ConfigError, type GossipConfig, loadGossipConfig } from './config.js';
import { GossipNode, ListenError } from './node.js';
import { TcpSecureTransport } from './tcp-transport.js';
import { OpenTrust } from './trust.js';

export interface GossipService {
  readonly config: GossipConfig;
  readonly node: GossipNode;
  readonly identity: string;
  readonly warnings: readonly string[];
  close(): Promise<void>;
}

export async function startGossipService(
  file: string,
  role: 'peer' | 'bootstrap',
  log: (line: string) => void = () => {},
  warn: (line: string) => void = () => {},
): Promise<GossipService> {
  const config = loadGossipConfig(file, { role });
  for (const w of config.warnings) warn(w);
  if (!existsSync(config.hostkey)) {
    throw new ConfigError(
      file,
      'hostkey',
      `${config.hostkey} does not exist. Create it with \`tollgate keygen --out ${config.hostkey}\``,
      'ERR_CONFIG_HOSTKEY',
    );
  }
  let key: IdentityKey;
  try {
    key = loadPrivateKey(config.hostkey);
  } catch (error) {
    throw new ConfigError(
      file,
      'hostkey',
      `${config.hostkey}: ${(error as Error).message}`,
      'ERR_CONFIG_HOSTKEY',
    );
  }
  const { trust, mode } = openTrust(file, config, warn);
  log(mode);
  let node: GossipNode | undefined;
  const transport = new TcpSecureTransport({
    key,
    trust,
    // Behind a port-forwarding NAT peers dial the advertised address, which the socket never
    // shows; the handshake must accept it as ours (issue 10: ERR_HS_WRONG_ADDRESS otherwise).
    acceptAddresses: () => (node?.advertised === undefined ? [] : [node.advertised]),
    ...(config.advertiseAddress === undefined ? {} : { checkOwnAddress: false }),
  });
  node = new GossipNode({
    params: config.params,
    identity: key.identity,
    transport,
    p2pAddress: config.p2pAddress,
    apiAddress: config.apiAddress,
    advertise: config.advertiseAddress,
    bootstrapper: role === 'peer' ? config.bootstrapper : undefined,
    isBootstrapper: role === 'bootstrap',
    ...(role === 'peer' ? { onNeighbours: (n: number) => log(`neighbours ${n}`) } : {}),
    ...(role === 'peer' ? { anchors: loadAnchors(anchorsFile(config)) } : {}),
  });
  let bound: Awaited<ReturnType<GossipNode['start']>>;
  try {
    bound = await node.start();
  } catch (error) {
    await node.close();
    trust.close?.();
    if (error instanceof ListenError) {
      const key = error.key === 'p2p_address' ? config.p2pAddressKey : error.key;
      throw new ConfigError(file, key, error.message.slice(error.key.length + 2));
    }
    throw error;
  }
  const p2p = `${bound.p2p.host}:${bound.p2p.port}`;
  log(
    role === 'peer'
      ? `gossip peer ${key.identity.slice(0, 16)} p2p ${p2p} api ${bound.api?.host}:${bound.api?.port}`
      : `bootstrap ${key.identity.slice(0, 16)} listening on ${p2p}`,
  );
  return {
    config,
    node,
    identity: key.identity,
    warnings: config.warnings,
    async close() {
      // Fresh anchors replace the saved ones; a short run (none verified long enough) keeps them.
      const anchors = role === 'peer' ? node.anchors() : [];
      if (anchors.length > 0) saveAnchors(anchorsFile(config), anchors);
      await node.close();
      trust.close?.();
      await closePools();
    },
  };
}

/**
 * The membership mode: open (no `trusted_keys`), or closed to the keys of the named folder. A
 * folder that was asked for must exist and hold at least one usable key; every file in it that
 * is not one is reported, so that a typo does not silently shrink the network.
 */
function openTrust(
  file: string,
  config: GossipConfig,
  warn: (line: string) => void,
): { trust: TrustPolicy & { close?(): void }; mode: string } {
  const dir = config.trustedKeys;
  if (dir === undefined) {
    return {
      trust: new OpenTrust(GOSSIP_SERVICE_LIMITS.maxOpenTrustKeys),
      mode: 'membership open: any key that pays its PoW may link (set trusted_keys for a closed network)',
    };
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ConfigError(
      file,
      'trusted_keys',
      `folder ${dir} does not exist; put the public keys of the peers (and the bootstrapper) you accept there, one PEM file each, or remove the line for open membership`,
    );
  }
  for (const name of readdirSync(dir).sort()) {
    if (!/\.(pem|pub)$/i.test(name))
      warn(`trusted_keys: ${join(dir, name)} is not a .pem or .pub file (ignored)`);
  }
  const trust = TrustStore.open(dir, {
    onError: (path, error) => warn(`trusted_keys: ${path}: ${error.message} (ignored)`),
  });
  if (trust.size === 0) {
    trust.close();
    throw new ConfigError(
      file,
      'trusted_keys',
      `folder ${dir} holds no usable public key; a closed network needs at least one (PEM, one key per file), or remove the line for open membership`,
    );
  }
  return { trust, mode: `membership closed: ${trust.size} trusted keys from ${dir}` };
}

/**
 * Anchors (diversity.ts) are kept next to the hostkey: they belong to this identity. One
 * `host:port` a line; a file that cannot be read or parsed only costs the anchors.
 */
function anchorsFile(config: GossipConfig): string {
  return `${config.hostkey}.anchors`;
}

function loadAnchors(file: string): Endpoint[] {
  if (!existsSync(file)) return [];
  const out: Endpoint[] = [];
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const text = line.trim();
      if (text === '') continue;
      try {
        out.push(parseEndpoint(text));
      } catch {
        // A damaged line is skipped; the others are still anchors.
      }
    }
  } catch {
    return [];
  }
  return out.slice(0, 8);
}

function saveAnchors(file: string, anchors: readonly Endpoint[]): void {
  try {
    writeFileSync(file, anchors.map((a) => `${formatEndpoint(a)}\n`).join(''));
  } catch {
    // Not writable (a read-only key folder): the next start simply has no anchors.
  }
}
