import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { addon, impls, skipNative } from './helpers.js';

describe('native sha256 / sha1 compression', { skip: skipNative }, () => {
  for (const impl of impls) {
    it(`${impl}: agrees with node:crypto for every length 0..300`, () => {
      for (let len = 0; len <= 300; len++) {
        const data = randomBytes(len);
        assert.deepEqual(
          addon!.sha256(data, impl),
          createHash('sha256').update(data).digest(),
          `sha256, length ${len}`,
        );
        assert.deepEqual(
          addon!.sha1(data, impl),
          createHash('sha1').update(data).digest(),
          `sha1, length ${len}`,
        );
      }
    });

    it(`${impl}: hashes a view at an offset inside a larger buffer`, () => {
      const big = randomBytes(200);
      const view = big.subarray(7, 150);
      assert.deepEqual(addon!.sha256(view, impl), createHash('sha256').update(view).digest());
      assert.deepEqual(addon!.sha1(view, impl), createHash('sha1').update(view).digest());
    });
  }

  it('uses the SHA extensions when the CPU flags list them', {
    skip: process.platform !== 'linux',
  }, async () => {
    // Catches a detector that never fires. (Under a CPU emulator /proc/cpuinfo describes the host.)
    const { readFile } = await import('node:fs/promises');
    const cpuinfo = await readFile('/proc/cpuinfo', 'utf8');
    const flags = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1]?.split(/\s+/) ?? [];
    if (flags.includes('sha_ni')) assert.equal(addon!.features().shani, true);
  });

  it("'shani' is refused on a CPU without SHA extensions, 'auto' always works", () => {
    const data = randomBytes(10);
    if (addon!.features().shani) {
      assert.deepEqual(addon!.sha256(data, 'shani'), addon!.sha256(data, 'portable'));
    } else {
      assert.throws(() => addon!.sha256(data, 'shani'), { code: 'ERR_INVALID_ARG' });
    }
    assert.deepEqual(addon!.sha256(data, 'auto'), createHash('sha256').update(data).digest());
  });
});
