/**
 * The secure-channel responder of the attack lab, in its own process: a TCP listener that runs
 * `secureAccept` on every connection with one shared `SecureContext` (as gossip peers and the
 * bootstrapper do), then serves the protected resource: each request message on an admitted
 * channel costs `workMs` of CPU (a busy loop), at most `capacity` requests are served a
 * second, and each is answered with one message (`ok`, or `busy` beyond the capacity). Reports RSS, CPU and the reason codes
 * over IPC on request, so the parent measures the server and not itself.
 */
import { createServer, type Socket } from 'node:net';
import type { HandshakePow, PublicIdentity } from '../../src/secure/index.js';

// The library as users run it: compiled (dist/, which the lab builds first), not these sources
// under tsx. Under tsx every pool worker registers tsx and compiles the sources itself: about
// 20 MB more per worker and seconds of start-up inside the measured window (issue 9 lab; the
// first handshake on a loaded machine took 8.9 s and the server sat at 157 MB with no load).
const dist = (path: string) => new URL(`../../dist/${path}`, import.meta.url).href;
const { identityKey, parsePublicKey, SecureContext, secureAccept } = (await import(
  dist('secure/index.js')
)) as typeof import('../../src/secure/index.js');
const { subscribe } = (await import(dist('util/observe.js'))) as typeof import('../../src/util/observe.js');

/** Refusals by reason code, from the secure channel's observability events. */
const reasons = new Map<string, number>();
subscribe((m) => {
  if (m.kind === 'count' && m.service === 'secure' && m.reason !== undefined)
    reasons.set(m.reason, (reasons.get(m.reason) ?? 0) + m.n);
});

interface Args {
  host: string;
  port: number;
  /** Private key PEM of the responder. */
  key: string;
  /** Public key PEMs the responder trusts. */
  trusted: string[];
  pow: HandshakePow;
  workMs: number;
  capacity: number;
  handshakeTimeoutMs?: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const trusted = new Map<string, PublicIdentity>();
for (const pem of args.trusted) {
  const id = parsePublicKey(pem);
  trusted.set(id.identity, id);
}
const context = new SecureContext({
  key: identityKey(args.key),
  trust: { lookup: (id) => trusted.get(id) },
  pow: args.pow,
  ...(args.handshakeTimeoutMs === undefined
    ? {}
    : { limits: { handshakeTimeoutMs: args.handshakeTimeoutMs } }),
});
let admitted = 0;
let served = 0;
const servedBy = new Map<string, number>();
const sockets = new Set<Socket>();

/**
 * The protected resource: at most `capacity` requests a second (a token bucket without a
 * burst), each costing `workMs` of CPU; beyond it a request is answered `busy`.
 */
let tokens = 0;
let at = performance.now();
let refused = 0;
function work(): boolean {
  const now = performance.now();
  tokens = Math.min(1, tokens + ((now - at) / 1000) * args.capacity);
  at = now;
  if (tokens < 1) {
    refused++;
    return false;
  }
  tokens--;
  const until = performance.now() + args.workMs;
  while (performance.now() < until) {}
  return true;
}

const server = createServer({ noDelay: true }, (socket) => {
  sockets.add(socket);
  socket.on('error', () => {});
  socket.once('close', () => sockets.delete(socket));
  secureAccept(socket, { context }).then(
    (channel) => {
      admitted++;
      channel.on('error', () => {});
      channel.once('data', () => {
        const ok = work();
        if (ok) {
          served++;
          const who = channel.peer.identity;
          servedBy.set(who, (servedBy.get(who) ?? 0) + 1);
        }
        channel.write(new TextEncoder().encode(ok ? 'ok' : 'busy'));
        channel.end();
      });
    },
    () => socket.destroy(),
  );
});

server.listen({ host: args.host, port: args.port }, () => {
  const a = server.address();
  const port = typeof a === 'object' && a !== null ? a.port : 0;
  process.send?.({ type: 'ready', port });
});

process.on('message', (msg: { type: string }) => {
  if (msg.type === 'stats') {
    const cpu = process.cpuUsage();
    process.send?.({
      type: 'stats',
      rssMb: process.memoryUsage.rss() / 2 ** 20,
      cpuS: (cpu.user + cpu.system) / 1e6,
      admitted,
      served,
      refused,
      servedBy: Object.fromEntries(servedBy),
      pending: context.pending,
      open: sockets.size,
      reasons: Object.fromEntries(reasons),
    });
  } else if (msg.type === 'stop') {
    for (const s of sockets) s.destroy();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  }
});
process.on('disconnect', () => process.exit(0));
