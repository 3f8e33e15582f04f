/**
 * A sky node (or, as the anchor, a bare node:net echo server) in its own process, so that
 * its CPU time and RSS are its own. Started by bench/sky.ts with a JSON argument
 * { kind: 'sky' | 'echo', limits? }; sends { port } once listening and answers each
 * 'stats' message with { cpuMs, rssMb, counts, leases, connections }.
 */
import { createServer } from 'node:net';
import { SkyNode } from '../../src/services/sky/server.js';

const args = JSON.parse(process.argv[2] ?? '{}') as { kind: 'sky' | 'echo'; limits?: Record<string, number> };
const send = (m: unknown) => process.send?.(m);

if (args.kind === 'echo') {
  const server = createServer({ noDelay: true }, (s) => {
    s.on('error', () => {});
    s.on('data', (chunk) => s.write(chunk));
  });
  server.listen(0, '127.0.0.1', () => send({ port: (server.address() as { port: number }).port }));
  process.on('message', () => {
    const u = process.cpuUsage();
    send({ cpuMs: (u.user + u.system) / 1000, rssMb: process.memoryUsage().rss / 2 ** 20 });
  });
} else {
  const sky = new SkyNode({ limits: args.limits ?? {} });
  sky.listen(0, '127.0.0.1').then((at) => send({ port: at.port }));
  process.on('message', () => {
    const u = process.cpuUsage();
    send({
      cpuMs: (u.user + u.system) / 1000,
      rssMb: process.memoryUsage().rss / 2 ** 20,
      counts: Object.fromEntries(sky.counts),
      leases: sky.leases.size,
      connections: sky.connections,
      difficulty: sky.controller.internal,
    });
  });
}
process.on('disconnect', () => process.exit(0));
