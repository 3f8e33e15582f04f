// Wire compatibility with the reference (spec/powtcp.md), both ways:
// - our server against the reference client's exact byte sequence and algorithm;
// - our client against a server that speaks the reference server's exact puzzle format.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { closePools } from '../../src/pow/pool.js';
import { PowtcpRefusedError, powtcpGet } from '../../src/services/powtcp/client.js';
import { startPowtcpService } from '../../src/services/powtcp/index.js';
import { RawClient } from '../helpers/powtcp.js';

after(() => closePools());

/** The reference client's solver: counter from 0, base64 of its decimal, hex SHA-1 prefix of '0's. */
function referenceSolve(puzzle: string): string {
  const fields = puzzle.split(':');
  const bits = Number(fields[1]);
  const prefix = fields.slice(0, -1).join(':');
  for (let counter = 0; ; counter++) {
    const header = `${prefix}:${Buffer.from(String(counter)).toString('base64')}`;
    const hex = createHash('sha1').update(header).digest('hex');
    if (hex.startsWith('0'.repeat(bits))) return header;
  }
}

test('our server answers the reference client byte for byte: one line per request, nothing unrequested', async () => {
  const svc = await startPowtcpService({ listen: { host: '127.0.0.1', port: 0 }, quotes: ['q'] });
  try {
    const c = await RawClient.open(svc.address.port);
    // Reference client: Write("1:\n"), then a fresh bufio.Reader reads up to '\n'.
    c.send(Buffer.from('313a0a', 'hex'));
    const puzzleLine = await c.line();
    assert.equal(c.received, '', 'nothing may follow the 2: line (the next reader would lose it)');
    assert.match(puzzleLine, /^2:1:1:\d{14}:127\.0\.0\.1:\d+::[A-Za-z0-9+/]+={0,2}:MA==$/);
    // The reference client's hashcash.ParseHeader wants exactly these 7 fields for IPv4.
    const puzzle = puzzleLine.slice(2);
    assert.equal(puzzle.split(':').length, 8); // resource "ip:port" adds one ':'
    const solved = referenceSolve(puzzle);
    c.send(`3:${solved}\n`);
    assert.equal(await c.line(), '4:q');
    assert.equal(await c.end(), '', 'the server closes after 4:, as the reference server does');
  } finally {
    await svc.close();
  }
});

/**
 * A server that speaks as the reference server does: `2:1:<bits>:<date>:<ip:port>::<base64 of
 * 4 random bytes>:MA==`, checks SHA-1 on `3:`, answers `4:<resource>` or `0:<reason>`, closes.
 */
function referenceServer(bits: number, refuse?: string) {
  const server = createServer((socket: Socket) => {
    let buf = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line.startsWith('1:')) {
          const date = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
          const resource = `${socket.remoteAddress}:${socket.remotePort}`;
          socket.write(`2:1:${bits}:${date}:${resource}::${randomBytes(4).toString('base64')}:MA==\n`);
        } else if (line.startsWith('3:')) {
          const header = line.slice(2).trim();
          const ok = createHash('sha1').update(header).digest('hex').startsWith('0'.repeat(bits));
          socket.end(
            refuse !== undefined
              ? `0:${refuse}\n`
              : ok
                ? '4:some-resource\n'
                : '0:hashcash header not correct\n',
          );
        } else {
          socket.end('0:incorrect message format\n');
        }
      }
    });
    socket.on('error', () => {});
  });
  return new Promise<{ port: number; close: () => Promise<void> }>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({
        port: typeof a === 'object' && a !== null ? a.port : 0,
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}

test('our client solves the reference server puzzle format (bits 3) and gets the resource', async () => {
  const ref = await referenceServer(3);
  try {
    const r = await powtcpGet(`127.0.0.1:${ref.port}`, { workers: 2 });
    assert.equal(r.quote, 'some-resource');
    assert.equal(r.difficulty, 3);
    assert.ok(r.attempts >= 1);
  } finally {
    await ref.close();
  }
});

test("our client shows the reference server's 0: reason as the error", async () => {
  const ref = await referenceServer(1, 'hashcash header not found');
  try {
    await assert.rejects(powtcpGet(`127.0.0.1:${ref.port}`), (err: unknown) => {
      assert.ok(err instanceof PowtcpRefusedError);
      assert.equal(err.reason, 'hashcash header not found');
      assert.equal(err.code, 'ERR_POWTCP_REFUSED');
      return true;
    });
  } finally {
    await ref.close();
  }
});
