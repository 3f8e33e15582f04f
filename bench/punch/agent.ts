/**
 * One participant of a hole-punching run, started inside a network namespace by
 * bench/punch/run.ts. Writes JSON lines on stdout:
 *   sky        --listen IP:PORT                  -> {"ready":true}
 *   holder     --sky IP:PORT --listen IP:PORT    -> {"ready":true,"identity":...}
 *   responder  --sky IP:PORT [--holder ID]       -> {"ready":true,"identity":...}, then {"received":...}
 *   initiator  --sky IP:PORT --to ID --tries N --punch-ms MS [--fallback]
 *              -> one {"try":i,"ok":bool,"ms":..,"via":..,"code":..} per try, then {"done":true}
 * Each initiator try is a fresh earth node (a fresh socket, so a fresh NAT mapping).
 */
import { generateKeyPairSync } from 'node:crypto';
import { parseArgs } from 'node:util';
import { parseEndpoint } from '../../src/admission/endpoint.js';
import { closePools } from '../../src/pow/pool.js';
import { identityKey } from '../../src/secure/keys.js';
import { EarthNode } from '../../src/services/earth/node.js';
import { SkyNode } from '../../src/services/sky/server.js';
import { TollgateError } from '../../src/util/errors.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    listen: { type: 'string' },
    sky: { type: 'string' },
    holder: { type: 'string' },
    to: { type: 'string' },
    tries: { type: 'string' },
    'punch-ms': { type: 'string' },
    fallback: { type: 'boolean' },
  },
});
const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
// The runner holds our stdin open; when it goes away (even killed), so do we, and no agent
// outlives the namespaces it runs in.
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
const key = () => identityKey(generateKeyPairSync('ed25519').privateKey);
const role = positionals[0];
const punchTimeoutMs = Number(values['punch-ms'] ?? 2000);

if (role === 'sky') {
  const at = parseEndpoint(values.listen!, '--listen');
  const sky = new SkyNode({ limits: { ratePerSec: 1000, burst: 1000 } });
  await sky.listen(at.port, at.host);
  out({ ready: true });
} else if (role === 'holder' || role === 'responder') {
  const node = new EarthNode({
    key: key(),
    skies: [parseEndpoint(values.sky!, '--sky')],
    ...(role === 'holder' ? { listen: parseEndpoint(values.listen!, '--listen') } : {}),
    ...(values.holder ? { holder: values.holder } : {}),
    limits: { inboxBytes: 65_536, punchTimeoutMs },
    onMessage: (from, data) => out({ received: Buffer.from(data).toString(), from }),
  });
  await node.start();
  out({ ready: true, identity: node.identity });
} else if (role === 'initiator') {
  const tries = Number(values.tries ?? 20);
  for (let i = 0; i < tries; i++) {
    const node = new EarthNode({
      key: key(),
      skies: [parseEndpoint(values.sky!, '--sky')],
      limits: { punchTimeoutMs, inboxBytes: 0 },
    });
    try {
      await node.start();
      const t0 = performance.now();
      const r = await node.send(values.to!, Buffer.from(`try ${i}`), {
        paths: values.fallback ? ['punch', 'holder'] : ['punch'],
      });
      out({ try: i, ok: true, ms: performance.now() - t0, via: r.via, status: r.status });
    } catch (e) {
      out({
        try: i,
        ok: false,
        code: e instanceof TollgateError ? e.code : String(e),
        counts: Object.fromEntries(node.counts),
      });
    } finally {
      await node.close();
    }
  }
  out({ done: true });
  await closePools();
  process.exit(0);
}
