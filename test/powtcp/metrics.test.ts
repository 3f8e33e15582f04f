import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startObservability } from '../../src/services/observability.js';

// Under a connection flood the process can run out of descriptors, and reading RSS then throws
// EMFILE (it opens /proc/self/statm). A scrape must still answer, with the last reading. The
// powtcp metrics come from the shared subscriber, as `tollgate powtcp serve --metrics` serves them.
test('metrics render when reading memory fails with EMFILE', async (t) => {
  const edge = await startObservability({ services: ['powtcp'], write: () => {} });
  try {
    const first = await edge.metricsText();
    const rss = /process_resident_memory_bytes (\d+)/.exec(first)?.[1];
    assert.ok(rss !== undefined && Number(rss) > 0);
    t.mock.method(process, 'memoryUsage', () => {
      throw Object.assign(new Error('EMFILE: too many open files, uv_resident_set_memory'), {
        code: 'EMFILE',
      });
    });
    const second = await edge.metricsText();
    assert.match(second, /process_resident_memory_bytes \d+\n/);
    assert.match(second, /tollgate_powtcp_open_connections 0/);
  } finally {
    await edge.close();
  }
});
