/**
 * Starting a Gossip peer or bootstrapper from its INI file: config, hostkey, trusted keys,
 * the TCP + secure channel transport, the node. Used by the CLI, the demo and the benchmark.
 */
import { existsSync } from 'node:fs';
import { closePools } from '../../pow/pool.js';
import { type IdentityKey, loadPrivateKey, TrustStore } from '../../secure/index.js';
import { ConfigError, type GossipConfig, loadGossipConfig } from './config.js';
import { GossipNode, ListenError } from './node.js';
import { TcpSecureTransport } from './tcp-transport.js';

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
  if (!existsSync(config.trustedKeys)) {
    throw new ConfigError(
      file,
      'trusted_keys',
      `folder ${config.trustedKeys} does not exist; put the public keys of the peers (and the bootstrapper) you accept there, one PEM file each`,
    );
  }
  const trust = TrustStore.open(config.trustedKeys);
  const transport = new TcpSecureTransport({ key, trust });
  const node = new GossipNode({
    params: config.params,
    identity: key.identity,
    transport,
    p2pAddress: config.p2pAddress,
    apiAddress: config.apiAddress,
    advertise: config.advertiseAddress,
    bootstrapper: role === 'peer' ? config.bootstrapper : undefined,
    isBootstrapper: role === 'bootstrap',
    ...(role === 'peer' ? { onNeighbours: (n: number) => log(`neighbours ${n}`) } : {}),
  });
  let bound: Awaited<ReturnType<GossipNode['start']>>;
  try {
    bound = await node.start();
  } catch (error) {
    await node.close();
    trust.close();
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
      await node.close();
      trust.close();
      await closePools();
    },
  };
}
