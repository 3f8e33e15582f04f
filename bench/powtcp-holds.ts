/**
 * What a stranger can make the powtcp server hold without paying (issue 9 items 7 and 8), on
 * loopback with the default limits, server in this process:
 *
 * 1. Connection cap exhaustion: A addresses each open C idle connections (each sends `1:` and
 *    never solves, and reconnects when dropped, within a budget); meanwhile 20 honest gets
 *    from 20 other addresses, one after another. Prints honest gets served and the attacker's
 *    connections held.
 * 2. Reading after a verdict: a half-open client sends a bad line, then pushes data for up to
 *    2 s (the close grace period); prints how many bytes the server read on that connection.
 *
 *   npm run bench:powtcp-holds            (-- --json: one JSON object on the last line)
 */
import diagnostics from 'node:diagnostics_channel';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { powtcpGet } from '../src/services/powtcp/client.js';
import { startPowtcpService } from '../src/services/powtcp/index.js';

const json = process.argv.includes('--json');

async function exhaust(addresses: number, perAddress: number) {
  const svc = await startPowtcpService({ listen: { host: '127.0.0.1', port: 0 } });
  const port = svc.address.port;
  let budget = addresses * perAddress;
  let stopped = false;
  const open = new Set<Socket>();
  const hold = (address: string): Promise<void> =>
    new Promise((resolve) => {
      const s = connect({ host: '127.0.0.1', port, localAddress: address });
      open.add(s);
      s.on('error', () => {});
      s.once('connect', () => s.write('1:\n'));
      s.once('data', () => resolve());
      s.once('close', () => {
        open.delete(s);
        resolve();
        if (!stopped && budget-- > 0) setTimeout(() => void hold(address), 50);
      });
    });
  const jobs: Promise<void>[] = [];
  for (let a = 0; a < addresses; a++) {
    const address = `127.1.${(a + 1) >> 8}.${(a + 1) & 255}`;
    for (let c = 0; c < perAddress; c++) jobs.push(hold(address));
  }
  await Promise.all(jobs);
  const held = svc.server.connections;
  let served = 0;
  const errors = new Map<string, number>();
  const tries = 20;
  for (let i = 0; i < tries; i++) {
    try {
      await powtcpGet({ host: '127.0.0.1', port }, { localAddress: `127.0.9.${i + 1}` });
      served++;
    } catch (err) {
      const m = err instanceof Error ? err.message : String(err);
      errors.set(m, (errors.get(m) ?? 0) + 1);
    }
  }
  stopped = true;
  for (const s of open) s.destroy();
  await svc.close();
  return { addresses, perAddress, held, served, tries, errors: Object.fromEntries(errors) };
}

async function readAfterVerdict() {
  const svc = await startPowtcpService({ listen: { host: '127.0.0.1', port: 0 } });
  let server: Socket | undefined;
  const onSocket = (m: unknown) => {
    server ??= (m as { socket: Socket }).socket;
  };
  diagnostics.subscribe('net.server.socket', onSocket);
  const c = connect({ host: '127.0.0.1', port: svc.address.port, allowHalfOpen: true });
  c.on('error', () => {});
  await once(c, 'connect');
  let closed = false;
  c.once('close', () => {
    closed = true;
  });
  c.resume();
  c.write('7:\n');
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const until = Date.now() + 2_000;
  let sent = 0;
  while (!closed && c.writable && Date.now() < until) {
    sent += chunk.length;
    if (!c.write(chunk)) await new Promise((resolve) => c.once('drain', resolve).once('close', resolve));
  }
  c.destroy();
  diagnostics.unsubscribe('net.server.socket', onSocket);
  const read = server?.bytesRead ?? 0;
  await svc.close();
  return { pushedBytes: sent, serverReadBytes: read };
}

const caps = [await exhaust(64, 64), await exhaust(256, 16)];
const after = await readAfterVerdict();
console.log('connection cap exhaustion (default limits; attacker reconnects when dropped)');
console.log('  addresses x conns | attacker conns held | honest gets served');
for (const r of caps) {
  console.log(
    `  ${`${r.addresses} x ${r.perAddress}`.padStart(17)} | ${String(r.held).padStart(19)} | ${r.served} of ${r.tries} ${Object.keys(r.errors).length > 0 ? JSON.stringify(r.errors) : ''}`,
  );
}
console.log('');
console.log('pushing data after a 0: verdict, for up to 2 s');
console.log(`  bytes read by the server on that connection: ${after.serverReadBytes}`);
if (json) console.log(JSON.stringify({ caps, readAfterVerdict: after }));
process.exit(0);
