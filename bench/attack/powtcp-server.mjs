/**
 * The powtcp server of the attack lab: the compiled service (dist/, as deployed), started
 * through startPowtcpService exactly as `tollgate powtcp serve` does, with one addition the lab
 * needs: the protected resource has a limited capacity. At most C = `capacity` accepted
 * solutions a second are served, each costing `workMs` of CPU (a busy loop on the event loop,
 * as a costly request handler would); beyond C they are refused, so whoever sends the most
 * admitted requests takes the capacity. Reports RSS, CPU, difficulty and who was served over IPC.
 */
import { startPowtcpService } from '../../dist/services/powtcp/index.js';

const args = JSON.parse(process.argv[2] ?? '{}');
const service = await startPowtcpService({
  listen: { host: '127.0.0.1', port: 0 },
  mode: args.mode,
  limits: args.limits ?? {},
  ...(args.referenceDifficulty === undefined ? {} : { referenceDifficulty: args.referenceDifficulty }),
});
const admission = service.admission;
const redeem = admission.redeem.bind(admission);
let served = 0;
let refused = 0;
const servedBy = new Map();
// The protected resource serves at most `capacity` requests a second (a token bucket without
// burst) and each costs `workMs` of CPU; a request that finds no
// token is refused. Without a price on requests, whoever sends the most takes the capacity.
let tokens = 0;
let at = performance.now();
admission.redeem = async (conn, header) => {
  const verdict = await redeem(conn, header);
  if (!verdict.ok) return verdict;
  const now = performance.now();
  tokens = Math.min(1, tokens + ((now - at) / 1000) * args.capacity);
  at = now;
  if (tokens < 1) {
    refused++;
    return { ok: false, code: 'ERR_LAB_BUSY', detail: 'capacity taken' };
  }
  tokens--;
  const until = performance.now() + args.workMs;
  while (performance.now() < until) {}
  served++;
  servedBy.set(conn.client.host, (servedBy.get(conn.client.host) ?? 0) + 1);
  return verdict;
};

process.on('message', (msg) => {
  if (msg.type === 'stats') {
    if (msg.gc === true && typeof globalThis.gc === 'function') globalThis.gc();
    const cpu = process.cpuUsage();
    process.send?.({
      type: 'stats',
      rssMb: process.memoryUsage.rss() / 2 ** 20,
      heapMb: process.memoryUsage().heapUsed / 2 ** 20,
      cpuS: (cpu.user + cpu.system) / 1e6,
      difficulty: admission.difficulty,
      held: admission.puzzlesHeld,
      open: service.server.connections,
      served,
      refused,
      servedBy: Object.fromEntries(servedBy),
    });
  } else if (msg.type === 'stop') {
    service.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  }
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready', port: service.address.port });
