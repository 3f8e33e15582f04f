/**
 * The sky node of the attack lab, in its own process so that the RSS and CPU it reports are
 * its own: `{ mode: 'ours' | 'nopow', limits? }`. Sends `{ type: 'ready', port }` once
 * listening; answers `{ type: 'stats' }` with RSS, CPU, the internal difficulty, the requests
 * served (leases taken and look-ups answered) and the refusals by reason code; exits on
 * `{ type: 'stop' }` or when the parent goes.
 */
import { SkyNode } from '../../src/services/sky/server.js';

const args = JSON.parse(process.argv[2] ?? '{}') as { mode: string; limits?: Record<string, number> };
const sky = new SkyNode({ limits: args.limits ?? {}, pow: args.mode !== 'nopow' });

sky.listen(0, '127.0.0.1').then((at) => process.send?.({ type: 'ready', port: at.port }));

process.on('message', (msg: { type: string }) => {
  if (msg.type === 'stats') {
    const cpu = process.cpuUsage();
    const counts = Object.fromEntries(sky.counts);
    const reasons = Object.fromEntries(Object.entries(counts).filter(([k]) => k.includes('ERR_')));
    process.send?.({
      type: 'stats',
      rssMb: process.memoryUsage.rss() / 2 ** 20,
      cpuS: (cpu.user + cpu.system) / 1e6,
      difficulty: sky.controller.internal,
      served: (counts.leased ?? 0) + (counts.lookup ?? 0),
      leases: sky.leases.size ?? 0,
      connections: sky.connections,
      reasons,
    });
  } else if (msg.type === 'stop') {
    sky.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  }
});
process.on('disconnect', () => process.exit(0));
