import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { getBackend, nativeStatus } from '../../src/pow/backend.js';
import { loadNativeBackend } from '../../src/pow/native.js';
import { tsBackend } from '../../src/pow/ts-backend.js';
import type { HashBackend } from '../../src/pow/types.js';

// The native addon and the TypeScript fallback must find the same first nonce on every input.
test('native and TS backends agree on random sha256-bits and hashcash searches', (t) => {
  if (!nativeStatus().available) {
    t.skip('native addon not available');
    return;
  }
  const natives = [getBackend('native'), loadNativeBackend({ impl: 'portable' })!];
  for (const native of natives) agree(native);
});

function agree(native: HashBackend): void {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 150 }),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 5000n }),
      fc.integer({ min: 0, max: 12 }),
      (challenge, start, bits) => {
        const a = native.searchSha256Bits(challenge, bits, start, 5000);
        const b = tsBackend.searchSha256Bits(challenge, bits, start, 5000);
        assert.deepEqual(a, b);
      },
    ),
    { numRuns: 200 },
  );
  fc.assert(
    fc.property(
      fc.string({ minLength: 1, maxLength: 140, unit: fc.constantFrom('a', '1', ':', '.', '=') }),
      fc.bigInt({ min: 0n, max: 10n ** 12n }),
      fc.integer({ min: 0, max: 3 }),
      (text, start, hexZeros) => {
        const prefix = Buffer.from(`1:${hexZeros}:${text}:`);
        const a = native.searchHashcash(prefix, hexZeros, start, 3000);
        const b = tsBackend.searchHashcash(prefix, hexZeros, start, 3000);
        assert.deepEqual(a, b);
      },
    ),
    { numRuns: 200 },
  );
}

test('getBackend: ts on request; auto gives a working backend; native throws a typed error when absent', () => {
  assert.equal(getBackend('ts').name, 'ts');
  const auto = getBackend('auto');
  assert.equal(auto.searchSha256Bits(new Uint8Array(0), 0, 3n, 1).nonce, 3n);
  if (!nativeStatus().available) {
    assert.throws(
      () => getBackend('native'),
      (e: Error & { code?: string }) => e.code === 'ERR_NATIVE_UNAVAILABLE',
    );
  } else {
    assert.match(getBackend('native').name, /^native-(shani|portable)$/);
  }
});
