/**
 * The server side of `npm run bench:floor`: one server per process, started by bench/floor.ts
 * with the name of a server kind, so that the CPU it reports is the server's alone. It listens
 * on 127.0.0.1 port 0, sends `{ port, extra }` over IPC once ready, and answers `'cpu'` with
 * its process.cpuUsage() and `'stop'` by exiting.
 *
 * Kinds: the two node:net floors, the tollgate daemons as they run in production (powtcp with
 * its defaults; powtcp with a per-identity cap of CAPPED_PER_ADDRESS; powtcp with a global cap
 * of EVICTING_CAP; the secure channel's
 * responder behind a node:net server; the gossip P2P listener, whose CONN phase runs before
 * the secure handshake). Another daemon joins by adding an entry to SERVERS. The sky node and
 * the gossip listener run with their defaults.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { ConnLimits } from '../src/protocol/gossip/conn.js';
import { identityKey, publicPem, SecureContext, secureAccept, TrustStore } from '../src/secure/index.js';
import { TcpSecureTransport } from '../src/services/gossip/tcp-transport.js';
import { startPowtcpService } from '../src/services/powtcp/index.js';
import { SkyNode } from '../src/services/sky/server.js';

export const CAPPED_PER_ADDRESS = 4;
/** The global cap of the evicting server: held full of idle connections by the benchmark. */
export const EVICTING_CAP = 64;
/** Idle connections must stay until evicted or the benchmark ends, not time out on their own. */
const HOLD_MS = 600_000;

interface Started {
  readonly port: number;
  /** Anything the client side needs (keys, puzzles), JSON-serialisable. */
  readonly extra?: unknown;
  /** Connections the server holds now. */
  connections(): Promise<number> | number;
}

function count(server: Server): Promise<number> {
  return new Promise((resolve) => server.getConnections((_, n) => resolve(n)));
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      if (typeof a === 'object' && a !== null) resolve(a.port);
      else reject(new Error('no address'));
    });
  });
}

const quiet = (s: Socket) => s.on('error', () => {});

async function gossipListener(conn: Partial<ConnLimits>): Promise<Started> {
  const key = identityKey(generateKeyPairSync('ed25519').privateKey);
  const transport = new TcpSecureTransport({ key, trust: TrustStore.fromKeys([key]), conn });
  const at = await transport.listen({ host: '127.0.0.1', port: 0 }, (link) => link.close());
  return { port: at.port, connections: () => transport.unpaidConnections };
}

export const SERVERS: Record<string, () => Promise<Started>> = {
  /** Floor 1: node:net accepts and destroys. */
  'net-accept-destroy': async () => {
    const server = createServer((s) => {
      quiet(s);
      s.destroy();
    });
    return { port: await listen(server), connections: () => count(server) };
  },
  /** Floor 2: node:net accepts, reads one short message, answers one line, closes. */
  'net-accept-read-answer': async () => {
    const server = createServer((s) => {
      quiet(s);
      s.once('data', () => s.end('0:refused\n'));
    });
    return { port: await listen(server), connections: () => count(server) };
  },
  /**
   * The floor of a refusal that reads and closes without answering (gossip's bad CONN_INIT):
   * accept, read one short message, close.
   */
  'net-accept-read-close': async () => {
    const server = createServer((s) => {
      quiet(s);
      s.once('data', () => s.destroy());
    });
    return { port: await listen(server), connections: () => count(server) };
  },
  /**
   * The floor of two exchanges on one connection (the powtcp rows that need a puzzle first):
   * accept, read a line, answer it, read another, answer it, close.
   */
  'net-two-exchanges': async () => {
    const server = createServer((s) => {
      quiet(s);
      let lines = 0;
      s.on('data', (chunk: Buffer) => {
        for (const byte of chunk) if (byte === 0x0a) lines++;
        if (lines === 1) s.write('2:puzzle\n');
        else if (lines >= 2) s.end('0:refused\n');
      });
    });
    return { port: await listen(server), connections: () => count(server) };
  },
  powtcp: async () => {
    const svc = await startPowtcpService({ listen: { host: '127.0.0.1', port: 0 }, quotes: ['q'] });
    return { port: svc.address.port, connections: () => svc.server.connections };
  },
  'powtcp-capped': async () => {
    const svc = await startPowtcpService({
      listen: { host: '127.0.0.1', port: 0 },
      quotes: ['q'],
      limits: { maxConnectionsPerAddress: CAPPED_PER_ADDRESS, firstMessageTimeoutMs: HOLD_MS },
    });
    return { port: svc.address.port, connections: () => svc.server.connections };
  },
  /** powtcp at its global cap: each newcomer evicts the oldest idle connection. */
  'powtcp-evicting': async () => {
    const svc = await startPowtcpService({
      listen: { host: '127.0.0.1', port: 0 },
      quotes: ['q'],
      limits: { maxConnections: EVICTING_CAP, firstMessageTimeoutMs: HOLD_MS, connectionTimeoutMs: HOLD_MS },
    });
    return { port: svc.address.port, connections: () => svc.server.connections };
  },
  /** The sky node with its defaults: a stranger's look-up for an identity without a lease. */
  sky: async () => {
    const sky = new SkyNode();
    const at = await sky.listen(0, '127.0.0.1');
    return { port: at.port, connections: () => sky.connections };
  },
  /**
   * The sky node holding idle connections for bench:scale's memory per idle connection: the
   * first-message deadline (5 s by default, which would close them mid-count) set out of reach.
   */
  'sky-idle': async () => {
    const sky = new SkyNode({ limits: { firstMessageMs: HOLD_MS, maxConnectionsPerGroup: 100_000 } });
    const at = await sky.listen(0, '127.0.0.1');
    return { port: at.port, connections: () => sky.connections };
  },
  /**
   * The gossip P2P listener with its defaults (`TcpSecureTransport.listen`): seed 000's CONN
   * phase (CONN_INIT / CONN_CHALL / CONN_OK) runs before the secure handshake, so a stranger
   * whose CONN_INIT is malformed is closed without an answer.
   */
  gossip: async () => gossipListener({}),
  /**
   * The gossip listener holding idle connections for bench:scale's memory per idle connection:
   * the CONN_INIT deadline (5 s by default) at its maximum and the unpaid caps out of reach.
   */
  'gossip-idle': async () =>
    gossipListener({
      connInitTimeoutMs: 120_000,
      maxUnpaidConns: 100_000,
      maxUnpaidConnsPerAddress: 100_000,
    }),
  /** The secure channel's responder: every accepted socket goes straight to secureAccept. */
  secure: async () => {
    const server = identityKey(generateKeyPairSync('ed25519').privateKey);
    const client = identityKey(generateKeyPairSync('ed25519').privateKey);
    const trust = TrustStore.fromKeys([server, client]);
    const pow = { kind: 'none' } as const;
    const options = { context: new SecureContext({ key: server, trust, pow }) };
    const net = createServer((s) => {
      quiet(s);
      secureAccept(s, options).then(
        (channel) => channel.destroy(),
        () => {},
      );
    });
    const port = await listen(net);
    // The client side needs the trusted client key and the server's public key.
    const exported = client.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    return {
      port,
      extra: { clientKey: exported, serverPublic: publicPem(server) },
      connections: () => count(net),
    };
  },
};

if (process.send !== undefined) {
  const kind = process.argv[2] ?? '';
  const start = SERVERS[kind];
  if (start === undefined) {
    process.stderr.write(`unknown server kind ${kind}\n`);
    process.exit(2);
  }
  const started = await start();
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on('message', async (m) => {
    if (m === 'cpu') process.send!({ cpu: process.cpuUsage() });
    else if (m === 'connections') process.send!({ connections: await started.connections() });
    else if (m === 'mem') {
      gc?.();
      gc?.();
      process.send!({ mem: process.memoryUsage() });
    } else if (m === 'stop') process.exit(0);
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: { port: started.port, extra: started.extra } });
}
