import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderDocs } from '../scripts/docs.js';

// The docs tables of limits, codes and metrics are generated from the registries; this keeps
// every committed table equal to the code (run `npm run docs` after changing a registry).
test('every generated docs table equals its registry, and every registry has a table', {
  timeout: 60_000,
}, async () => {
  const { files, missing } = await renderDocs();
  assert.deepEqual(missing, [], 'registries without docs markers');
  for (const [file, { before, after }] of files)
    assert.equal(before, after, `${file} is stale: run npm run docs`);
});
