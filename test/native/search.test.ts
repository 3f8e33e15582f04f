import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { loadNativeBackend, nativeAddonPath } from '../../src/pow/native.js';
import { ArgumentError } from '../../src/util/errors.js';
import { waitFor } from '../helpers/wait.js';
import {
  addon,
  counterField,
  impls,
  leadingZeroBits,
  nativeHits,
  refHashcash,
  refHits,
  refSha256Bits,
  skipNative,
} from './helpers.js';

const U64_END = 1n << 64n;

describe('native sha256-bits search', { skip: skipNative }, () => {
  for (const impl of impls) {
    it(`${impl}: the found nonce meets the difficulty and no smaller one in the range does`, () => {
      for (const len of [0, 1, 16, 32, 47, 64, 100]) {
        const challenge = randomBytes(len);
        for (const bits of [0, 1, 6, 10]) {
          const r = addon!.searchSha256Bits(challenge, bits, 1000n, 100_000, null, impl);
          assert.ok(r.found, `len ${len}, bits ${bits}`);
          assert.ok(leadingZeroBits(refSha256Bits(challenge, r.nonce)) >= bits);
          assert.equal(r.attempts, Number(r.nonce - 1000n) + 1);
          for (let n = 1000n; n < r.nonce; n++) {
            assert.ok(
              leadingZeroBits(refSha256Bits(challenge, n)) < bits,
              `smaller nonce ${n} also meets ${bits}`,
            );
          }
        }
      }
    });

    it(`${impl}: every hit matches node:crypto, one and two final blocks`, () => {
      // Tails of 48..56 bytes put the whole nonce in the first of two final blocks; 57..63
      // split it, and the cached first block changes only every 2^(8 * (tail - 56)) nonces.
      for (const len of [15, 16, 40, 47, 48, 52, 56, 57, 58, 60, 62, 63, 111, 127]) {
        const challenge = randomBytes(len);
        const tail = len % 64;
        const starts = [0n, 250n];
        if (tail > 56) starts.push((1n << BigInt(8 * (tail - 56))) - 40n); // first-block bytes change
        starts.push(U64_END - 80n);
        for (const start of starts) {
          const hash = (n: bigint) => refSha256Bits(challenge, n);
          const search = (s: bigint, c: number) => addon!.searchSha256Bits(challenge, 4, s, c, null, impl);
          assert.deepEqual(
            nativeHits(search, start, 80),
            refHits(hash, 4, start, 80),
            `len ${len}, start ${start}`,
          );
        }
      }
    });

    it(`${impl}: an impossible difficulty tries the whole range`, () => {
      const r = addon!.searchSha256Bits(randomBytes(16), 256, 5n, 3000, null, impl);
      assert.deepEqual(r, { found: false, nonce: 3005n, attempts: 3000 });
      const last = addon!.searchSha256Bits(randomBytes(16), 256, U64_END - 10n, 10, null, impl);
      assert.deepEqual(last, { found: false, nonce: U64_END, attempts: 10 });
      const none = addon!.searchSha256Bits(randomBytes(16), 0, 7n, 0, null, impl);
      assert.deepEqual(none, { found: false, nonce: 7n, attempts: 0 });
    });
  }

  it('the portable and SHA-extension searches agree', {
    skip: impls.length < 2 && 'no SHA extensions',
  }, () => {
    const challenge = randomBytes(16);
    const a = addon!.searchSha256Bits(challenge, 14, 0n, 1 << 22, null, 'portable');
    const b = addon!.searchSha256Bits(challenge, 14, 0n, 1 << 22, null, 'shani');
    assert.deepEqual(a, b);
  });
});

describe('native hashcash search', { skip: skipNative }, () => {
  const header = Buffer.from('1:5:20261121093000:127.0.0.1:53422::Vmh0Yw==:', 'latin1');

  it('encodes the counter as base64 of its decimal string', () => {
    assert.equal(counterField(0n), 'MA==');
    const r = addon!.searchHashcash(header, 0, 0n, 1);
    assert.deepEqual(r, { found: true, nonce: 0n, attempts: 1 });
  });

  for (const impl of impls) {
    it(`${impl}: every hit matches node:crypto across changes of the decimal length`, () => {
      // Boundaries where the digit count grows (9 -> 10 ... 10^19 - 1 -> 10^19) and where a
      // carry leaves the two changing base64 groups (1009999 -> 1010000, 123999999 -> 124000000).
      const starts = [0n, 1_009_960n, 123_999_960n, U64_END - 60n];
      for (let k = 1n; k <= 19n; k++) starts.push(10n ** k - 40n < 0n ? 0n : 10n ** k - 40n);
      // Prefix lengths: one final block, two with the counter in the first, split, or in the second.
      for (const len of [0, 3, 20, 27, 36, 44, 46, 52, 56, 60, 63, 64, 90, 130]) {
        const prefix = Buffer.from(header.toString('latin1').repeat(4).slice(0, len), 'latin1');
        for (const start of starts) {
          const count = start === U64_END - 60n ? 60 : 80;
          const hash = (n: bigint) => refHashcash(prefix, n);
          const search = (s: bigint, c: number) => addon!.searchHashcash(prefix, 1, s, c, null, impl);
          assert.deepEqual(
            nativeHits(search, start, count),
            refHits(hash, 4, start, count),
            `len ${len}, ${start}`,
          );
        }
      }
    });

    it(`${impl}: the found counter meets the difficulty and no smaller one does`, () => {
      const r = addon!.searchHashcash(header, 3, 0n, 1 << 20, null, impl);
      assert.ok(r.found);
      assert.ok(leadingZeroBits(refHashcash(header, r.nonce)) >= 12);
      for (let n = 0n; n < r.nonce; n++) assert.ok(leadingZeroBits(refHashcash(header, n)) < 12);
    });
  }

  it('the portable and SHA-extension searches agree', {
    skip: impls.length < 2 && 'no SHA extensions',
  }, () => {
    const a = addon!.searchHashcash(header, 4, 0n, 1 << 21, null, 'portable');
    const b = addon!.searchHashcash(header, 4, 0n, 1 << 21, null, 'shani');
    assert.deepEqual(a, b);
  });
});

describe('native stop flag', { skip: skipNative }, () => {
  it('a flag already set ends the search before any attempt', () => {
    const stop = new Int32Array(new SharedArrayBuffer(4));
    stop[0] = 1;
    for (const impl of impls) {
      assert.deepEqual(addon!.searchSha256Bits(randomBytes(16), 256, 9n, 1e9, stop, impl), {
        found: false,
        nonce: 9n,
        attempts: 0,
      });
      assert.deepEqual(addon!.searchHashcash(Buffer.from('1:40:x::::'), 40, 9n, 1e9, stop, impl), {
        found: false,
        nonce: 9n,
        attempts: 0,
      });
    }
  });

  it('setting the flag from another thread ends a long search', async () => {
    const stop = new Int32Array(new SharedArrayBuffer(8));
    const worker = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const addon = require(workerData.path);
       const started = new Int32Array(workerData.stop.buffer);
       Atomics.store(started, 1, 1);
       const r = addon.searchSha256Bits(new Uint8Array(16), 256, 0n, 2 ** 52, workerData.stop);
       parentPort.postMessage(r);`,
      { eval: true, workerData: { path: nativeAddonPath, stop } },
    );
    try {
      const result = new Promise<{ found: boolean; nonce: bigint; attempts: number }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      await waitFor('the search to start', () => Atomics.load(stop, 1) !== 0);
      Atomics.store(stop, 0, 1);
      const r = await result;
      assert.equal(r.found, false);
      assert.ok(r.attempts < 2 ** 52);
      assert.equal(r.attempts % addon!.pollInterval, 0);
      assert.equal(r.nonce, BigInt(r.attempts));
    } finally {
      await worker.terminate();
    }
  });
});

describe('native addon in several threads', { skip: skipNative }, () => {
  it('concurrent searches in worker threads give the same results as this thread', async () => {
    const challenge = randomBytes(16);
    const prefix = Buffer.from('1:3:20261121093000:127.0.0.1:53422::Vmh0Yw==:', 'latin1');
    const code = `const { workerData, parentPort } = require('node:worker_threads');
      const addon = require(workerData.path);
      const out = [];
      for (let i = 0; i < 20; i++) {
        out.push(addon.searchSha256Bits(workerData.challenge, 8, BigInt(i) * 1000n, 5000));
        out.push(addon.searchHashcash(workerData.prefix, 2, BigInt(i) * 1000n, 5000));
      }
      parentPort.postMessage(out);`;
    const expected: unknown[] = [];
    for (let i = 0; i < 20; i++) {
      expected.push(addon!.searchSha256Bits(challenge, 8, BigInt(i) * 1000n, 5000));
      expected.push(addon!.searchHashcash(prefix, 2, BigInt(i) * 1000n, 5000));
    }
    const workers = [0, 1, 2].map(
      () => new Worker(code, { eval: true, workerData: { path: nativeAddonPath, challenge, prefix } }),
    );
    try {
      const results = await Promise.all(
        workers.map(
          (w) =>
            new Promise<unknown>((resolve, reject) => {
              w.once('message', resolve);
              w.once('error', reject);
            }),
        ),
      );
      for (const r of results) assert.deepEqual(r, expected);
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
  });
});

describe('native argument checks', { skip: skipNative }, () => {
  const ch = new Uint8Array(16);
  const bad: Array<[string, () => unknown, RegExp]> = [
    ['challenge string', () => addon!.searchSha256Bits('abc' as never, 8, 0n, 1), /^challenge: /],
    [
      'challenge Int8Array',
      () => addon!.searchSha256Bits(new Int8Array(4) as never, 8, 0n, 1),
      /^challenge: /,
    ],
    [
      'challenge too long',
      () => addon!.searchSha256Bits(new Uint8Array(addon!.maxFixedBytes + 1), 8, 0n, 1),
      /^challenge: /,
    ],
    [
      'prefix too long',
      () => addon!.searchHashcash(new Uint8Array(addon!.maxFixedBytes + 1), 8, 0n, 1),
      /^prefix: /,
    ],
    ['bits -1', () => addon!.searchSha256Bits(ch, -1, 0n, 1), /^bits: /],
    ['bits 257', () => addon!.searchSha256Bits(ch, 257, 0n, 1), /^bits: /],
    ['bits 1.5', () => addon!.searchSha256Bits(ch, 1.5, 0n, 1), /^bits: /],
    ['bits NaN', () => addon!.searchSha256Bits(ch, Number.NaN, 0n, 1), /^bits: /],
    ['bits string', () => addon!.searchSha256Bits(ch, '8' as never, 0n, 1), /^bits: /],
    ['hexZeros 41', () => addon!.searchHashcash(ch, 41, 0n, 1), /^hexZeros: /],
    ['start number', () => addon!.searchSha256Bits(ch, 8, 0 as never, 1), /^start: /],
    ['start negative', () => addon!.searchSha256Bits(ch, 8, -1n, 1), /^start: /],
    ['start 2^64', () => addon!.searchSha256Bits(ch, 8, U64_END, 1), /^start: /],
    ['count negative', () => addon!.searchSha256Bits(ch, 8, 0n, -1), /^count: /],
    ['count 2^53', () => addon!.searchSha256Bits(ch, 8, 0n, 2 ** 53), /^count: /],
    ['count bigint', () => addon!.searchSha256Bits(ch, 8, 0n, 1n as never), /^count: /],
    ['range past 2^64', () => addon!.searchHashcash(ch, 8, U64_END - 1n, 2), /^count: /],
    ['stop Uint8Array', () => addon!.searchSha256Bits(ch, 8, 0n, 1, new Uint8Array(4) as never), /^stop: /],
    ['stop empty', () => addon!.searchSha256Bits(ch, 8, 0n, 1, new Int32Array(0)), /^stop: /],
    ['impl unknown', () => addon!.searchSha256Bits(ch, 8, 0n, 1, null, 'fast' as never), /^impl: /],
    [
      'too few arguments',
      () => (addon!.searchSha256Bits as (...a: unknown[]) => unknown)(ch, 8),
      /^arguments: /,
    ],
    ['sha256 of a string', () => addon!.sha256('x' as never), /^data: /],
  ];
  for (const [name, call, message] of bad) {
    it(`throws ERR_INVALID_ARG: ${name}`, () => {
      assert.throws(call, (error: Error & { code?: string }) => {
        assert.equal(error.code, 'ERR_INVALID_ARG');
        assert.match(error.message, message);
        return true;
      });
    });
  }

  it('the last nonce of the 64-bit range is accepted', () => {
    const r = addon!.searchSha256Bits(ch, 0, U64_END - 1n, 1);
    assert.deepEqual(r, { found: true, nonce: U64_END - 1n, attempts: 1 });
  });

  it('the backend turns them into ArgumentError naming the argument', () => {
    const backend = loadNativeBackend()!;
    assert.throws(
      () => backend.searchSha256Bits(ch, 300, 0n, 1),
      (error: unknown) => error instanceof ArgumentError && error.argument === 'bits',
    );
    assert.throws(
      () => backend.searchHashcash(ch, 8, -5n, 1),
      (error: unknown) => error instanceof ArgumentError && error.argument === 'start',
    );
    assert.throws(() => loadNativeBackend({ impl: 'fast' as never }), ArgumentError);
  });
});

describe('native HashBackend', { skip: skipNative }, () => {
  it('names itself after the compression it uses', () => {
    const auto = loadNativeBackend()!;
    assert.equal(auto.name, addon!.features().shani ? 'native-shani' : 'native-portable');
    assert.equal(loadNativeBackend({ impl: 'portable' })!.name, 'native-portable');
  });

  it('both modes find the same nonces as node:crypto', () => {
    const challenge = randomBytes(16);
    const expected = refHits((n) => refSha256Bits(challenge, n), 5, 0n, 500);
    for (const backend of [loadNativeBackend()!, loadNativeBackend({ impl: 'portable' })!]) {
      const search = (s: bigint, c: number) => backend.searchSha256Bits(challenge, 5, s, c);
      assert.deepEqual(nativeHits(search, 0n, 500), expected, backend.name);
    }
  });
});

describe('native search, random layouts', { skip: skipNative }, () => {
  it('sha256-bits and hashcash agree with node:crypto for random lengths, starts and difficulties', () => {
    const u64 = fc.bigInt({ min: 0n, max: U64_END - 1n });
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 200 }),
        u64,
        fc.integer({ min: 0, max: 6 }),
        fc.constantFrom(...impls),
        (fixed, rawStart, bits, impl) => {
          const count = 64;
          const start = rawStart > U64_END - BigInt(count) ? U64_END - BigInt(count) : rawStart;
          const bitsSearch = (s: bigint, c: number) => addon!.searchSha256Bits(fixed, bits, s, c, null, impl);
          assert.deepEqual(
            nativeHits(bitsSearch, start, count),
            refHits((n) => refSha256Bits(fixed, n), bits, start, count),
          );
          const hexZeros = bits >> 2;
          const hcSearch = (s: bigint, c: number) => addon!.searchHashcash(fixed, hexZeros, s, c, null, impl);
          assert.deepEqual(
            nativeHits(hcSearch, start, count),
            refHits((n) => refHashcash(fixed, n), 4 * hexZeros, start, count),
          );
        },
      ),
      { numRuns: 100 },
    );
  });
});
