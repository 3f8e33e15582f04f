import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadNativeBackend } from '../../src/pow/native.js';
import { tsBackend } from '../../src/pow/ts-backend.js';
import type { HashBackend } from '../../src/pow/types.js';

// A range may end exactly at the top of the 64-bit nonce space; when nothing is found the
// next nonce is 2^64 (the space is exhausted), the same for every backend.
test('a search that exhausts the 64-bit nonce space reports 2^64 as the next nonce', (t) => {
  const backends: HashBackend[] = [tsBackend];
  const native = loadNativeBackend();
  const portable = loadNativeBackend({ impl: 'portable' });
  if (native === null || portable === null) t.diagnostic('native addon not available: TS backend only');
  else backends.push(native, portable);
  const start = (1n << 64n) - 1000n;
  for (const backend of backends) {
    const result = backend.searchSha256Bits(new Uint8Array(0), 256, start, 1000);
    assert.deepEqual(result, { found: false, nonce: 1n << 64n, attempts: 1000 }, backend.name);
  }
});
