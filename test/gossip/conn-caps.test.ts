import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import type { ConnLimits } from '../../src/protocol/gossip/conn.js';
import { identityKey } from '../../src/secure/keys.js';
import type { HostPort } from '../../src/services/gossip/config.js';
import { TcpSecureTransport } from '../../src/services/gossip/tcp-transport.js';
import { OpenTrust } from '../../src/services/gossip/trust.js';
import { waitFor } from '../helpers/wait.js';

// Issue 9 finding 1, on the gossip P2P port: before a stranger has paid its connection PoW,
// what it can hold (unpaid connections) is capped per address group, and at the global cap
// the heaviest group gives way to a newcomer (DESIGN's admission pipeline, step 2). Without
// both, idle sockets from a few addresses closed every honest dial at accept.

const LIMIT = { timeout: 60_000 };

function transport(conn: Partial<ConnLimits> = {}): TcpSecureTransport {
  const { privateKey } = generateKeyPairSync('ed25519');
  return new TcpSecureTransport({ key: identityKey(privateKey), trust: new OpenTrust(64), conn });
}

/** `n` idle sockets from `source` that never send a byte. */
async function idle(at: HostPort, source: string, n: number): Promise<Socket[]> {
  const sockets = Array.from({ length: n }, () => {
    const s = connect({ host: at.host, port: at.port, localAddress: source });
    s.on('error', () => {});
    return s;
  });
  await Promise.all(sockets.map((s) => new Promise((r) => s.once('connect', r).once('close', r))));
  return sockets;
}

async function honestDial(at: HostPort): Promise<void> {
  const dialler = transport();
  try {
    const link = await dialler.dial(at, AbortSignal.timeout(20_000));
    link.close();
  } finally {
    await dialler.close();
  }
}

test(
  'CONN: idle sockets from one address hold at most maxUnpaidConnsPerAddress; an honest dial gets through',
  LIMIT,
  async () => {
    const listener = transport({ maxUnpaidConns: 16, maxUnpaidConnsPerAddress: 4 });
    const at = await listener.listen({ host: '127.0.0.1', port: 0 }, (link) => link.close());
    const held: Socket[] = [];
    try {
      held.push(...(await idle(at, '127.0.10.1', 20)));
      await waitFor(
        'the over-cap sockets refused',
        () => (listener.connReasons.get('ERR_GOSSIP_CONN_BUSY') ?? 0) >= 16,
      );
      assert.equal(listener.unpaidConnections, 4);
      await honestDial(at);
    } finally {
      for (const s of held) s.destroy();
      await listener.close();
    }
  },
);

test(
  'CONN: at the global cap of unpaid connections the heaviest address group gives way to a newcomer',
  LIMIT,
  async () => {
    const listener = transport({ maxUnpaidConns: 8, maxUnpaidConnsPerAddress: 4 });
    const at = await listener.listen({ host: '127.0.0.1', port: 0 }, (link) => link.close());
    const held: Socket[] = [];
    try {
      held.push(...(await idle(at, '127.0.10.1', 4)), ...(await idle(at, '127.0.10.2', 4)));
      await waitFor('the table full', () => listener.unpaidConnections === 8);
      await honestDial(at);
      assert.ok((listener.connReasons.get('ERR_GOSSIP_CONN_BUSY') ?? 0) >= 1, 'an idle socket was evicted');
    } finally {
      for (const s of held) s.destroy();
      await listener.close();
    }
  },
);
