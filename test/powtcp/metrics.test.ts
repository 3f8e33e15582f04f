import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PowtcpMetrics } from '../../src/services/powtcp/metrics.js';

// Under a connection flood the process can run out of descriptors, and reading RSS then throws
// EMFILE (it opens /proc/self/statm). A scrape must still answer, with the last reading.
test('metrics render when reading memory fails with EMFILE', (t) => {
  const metrics = new PowtcpMetrics();
  const first = metrics.render();
  const rss = /process_resident_memory_bytes (\d+)/.exec(first)?.[1];
  assert.ok(rss !== undefined && Number(rss) > 0);
  t.mock.method(process, 'memoryUsage', () => {
    throw Object.assign(new Error('EMFILE: too many open files, uv_resident_set_memory'), { code: 'EMFILE' });
  });
  const second = metrics.render();
  assert.match(second, new RegExp(`process_resident_memory_bytes ${rss}\\n`));
  assert.match(second, /tollgate_powtcp_open_connections 0/);
});
