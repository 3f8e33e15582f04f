import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Endpoint } from '../../src/admission/endpoint.js';
import { encodeEndpoint } from '../../src/admission/endpoint.js';
import { ADMISSION_LIMITS } from '../../src/admission/limits.js';
import type { PuzzleKind, RandomFill, SealRequest } from '../../src/admission/sealed.js';
import { ChallengeSealer, KeyRing, PUZZLE_KINDS, readSealedHeader } from '../../src/admission/sealed.js';
import { nativeGcmAvailable } from '../../src/pow/native.js';
import { ManualClock } from '../../src/util/clock.js';
import { ArgumentError } from '../../src/util/errors.js';

const T0 = 1_800_000_000_000;
const client: Endpoint = { host: '198.51.100.7', port: 40000 };
const server: Endpoint = { host: '203.0.113.1', port: 8443 };

/** Deterministic randomness for reproducible failures. */
function counterRandom(seed = 1): RandomFill {
  let n = seed;
  return (out) => {
    for (let i = 0; i < out.length; i++) {
      n = (n * 1103515245 + 12345) >>> 0;
      out[i] = n >>> 24;
    }
  };
}

/** Both AES-GCM paths: the addon's (when it loads here) and node:crypto's. */
const PATHS: readonly boolean[] = nativeGcmAvailable() ? [true, false] : [false];

for (const native of PATHS) {
  describe(`AES-256-GCM on ${native ? 'the native addon' : 'node:crypto'}`, () => {
    function setup(rotationMs: number = ADMISSION_LIMITS.keyRotationMs) {
      const clock = new ManualClock(T0);
      const keys = new KeyRing({ clock, rotationMs, random: counterRandom() });
      const sealer = new ChallengeSealer(keys, { random: counterRandom(7), native });
      return { clock, keys, sealer };
    }

    test('round trip: opened state equals what was sealed; header readable without the key', () => {
      const { sealer } = setup();
      const sealed = sealer.seal({ kind: 'sha256-bits', difficulty: 12, client, server, ttlMs: 30_000 });
      assert.equal(sealed.length, 83);
      const v = sealer.open(sealed, { client, server });
      assert.ok(v.ok);
      assert.equal(v.value.kind, 'sha256-bits');
      assert.equal(v.value.difficulty, 12);
      assert.equal(v.value.issuedAt, T0);
      assert.equal(v.value.expiresAt, T0 + 30_000);
      assert.deepEqual(v.value.client, client);
      assert.deepEqual(v.value.server, server);
      assert.equal(v.value.challenge.length, 16);
      const h = readSealedHeader(sealed);
      assert.ok(h.ok);
      assert.deepEqual(h.value.challenge, v.value.challenge);
      assert.equal(h.value.kind, 'sha256-bits');
      assert.equal(h.value.difficulty, 12);
    });

    test('each seal carries a fresh challenge', () => {
      const { sealer } = setup();
      const seen = new Set<string>();
      for (let i = 0; i < 300; i++) {
        const v = sealer.open(sealer.seal({ kind: 'scrypt', difficulty: 1, client, server }), {
          client,
          server,
        });
        assert.ok(v.ok);
        seen.add(Buffer.from(v.value.challenge).toString('hex'));
      }
      assert.equal(seen.size, 300);
    });

    test('IPv6 and mixed endpoints give 95 and 107 bytes; non-canonical expectations still match', () => {
      const { sealer } = setup();
      const c6 = { host: '2001:db8::7', port: 1 };
      const s6 = { host: '::1', port: 2 };
      assert.equal(sealer.seal({ kind: 'hashcash-sha1', difficulty: 5, client: c6, server }).length, 95);
      const both = sealer.seal({ kind: 'hashcash-sha1', difficulty: 5, client: c6, server: s6 });
      assert.equal(both.length, 107);
      const v = sealer.open(both, {
        client: { host: '2001:DB8:0::7', port: 1 },
        server: { host: '0::1', port: 2 },
      });
      assert.ok(v.ok);
      assert.deepEqual(v.value.client, c6);
      const mapped = sealer.seal({
        kind: 'sha256-bits',
        difficulty: 0,
        client: { host: '::ffff:1.2.3.4', port: 9 },
        server,
      });
      assert.equal(mapped.length, 83);
      assert.ok(sealer.open(mapped, { client: { host: '1.2.3.4', port: 9 }, server }).ok);
    });

    test('expiry: valid until expiresAt (exclusive); future issue time allowed within the skew only', () => {
      const { sealer, clock } = setup();
      const sealed = sealer.seal({ kind: 'sha256-bits', difficulty: 1, client, server, ttlMs: 1000 });
      clock.set(T0 + 999);
      assert.ok(sealer.open(sealed, { client, server }).ok);
      clock.set(T0 + 1000);
      const v = sealer.open(sealed, { client, server });
      assert.ok(!v.ok && v.code === 'ERR_CHALLENGE_EXPIRED');
      // A sealer whose clock runs ahead (another instance with the same key ring).
      const ahead = new ManualClock(T0 + ADMISSION_LIMITS.clockSkewMs + 1);
      const keys = new KeyRing({ clock: new ManualClock(T0), secret: new Uint8Array(32).fill(1) });
      // The other instance runs the other AES-GCM path: their blobs must be interchangeable.
      const other = new ChallengeSealer(new KeyRing({ clock: ahead, secret: new Uint8Array(32).fill(1) }), {
        native: !native,
      });
      const local = new ChallengeSealer(keys, { native });
      const tooEarly = other.seal({ kind: 'sha256-bits', difficulty: 1, client, server });
      const r = local.open(tooEarly, { client, server });
      assert.ok(!r.ok && r.code === 'ERR_CHALLENGE_EXPIRED', JSON.stringify(r));
      ahead.set(T0 + ADMISSION_LIMITS.clockSkewMs);
      assert.ok(
        local.open(other.seal({ kind: 'sha256-bits', difficulty: 1, client, server }), { client, server }).ok,
      );
    });

    test('key rotation: current and previous period open, older is unknown', () => {
      const rotationMs = 60_000;
      const { sealer, clock } = setup(rotationMs);
      const sealed = sealer.seal({
        kind: 'sha256-bits',
        difficulty: 1,
        client,
        server,
        ttlMs: ADMISSION_LIMITS.maxChallengeTtlMs,
      });
      clock.advance(rotationMs);
      assert.ok(sealer.open(sealed, { client, server }).ok);
      clock.advance(rotationMs);
      const v = sealer.open(sealed, { client, server });
      assert.ok(!v.ok && v.code === 'ERR_CHALLENGE_KEY_UNKNOWN');
    });

    test('a restarted server with random keys cannot open its old challenges (tag), one with a shared secret can', () => {
      const clock = new ManualClock(T0);
      const a = new ChallengeSealer(new KeyRing({ clock }), { native });
      const b = new ChallengeSealer(new KeyRing({ clock }), { native });
      const v = b.open(a.seal({ kind: 'sha256-bits', difficulty: 1, client, server }), { client, server });
      assert.ok(!v.ok && v.code === 'ERR_CHALLENGE_TAG');
      const secret = new Uint8Array(32).fill(9);
      const c = new ChallengeSealer(new KeyRing({ clock, secret }), { native });
      const d = new ChallengeSealer(new KeyRing({ clock, secret }), { native });
      assert.ok(
        d.open(c.seal({ kind: 'sha256-bits', difficulty: 1, client, server }), { client, server }).ok,
      );
    });

    test('endpoint binding: another client, port or server is refused', () => {
      const { sealer } = setup();
      const sealed = sealer.seal({ kind: 'sha256-bits', difficulty: 1, client, server });
      for (const expect of [
        { client: { ...client, port: client.port + 1 }, server },
        { client: { host: '198.51.100.8', port: client.port }, server },
        { client, server: { ...server, port: 1 } },
        { client: server, server: client },
        { client: { host: '::ffff:198.51.100.8', port: client.port }, server },
      ]) {
        const v = sealer.open(sealed, expect);
        assert.ok(!v.ok && v.code === 'ERR_CHALLENGE_ENDPOINT');
      }
    });

    test('caller mistakes throw ArgumentError naming the field; limit + 1 refused', () => {
      const { sealer } = setup();
      const ok: SealRequest = { kind: 'sha256-bits', difficulty: 1, client, server };
      const named = (arg: string) => (err: unknown) => err instanceof ArgumentError && err.argument === arg;
      assert.throws(() => sealer.seal({ ...ok, kind: 'md5' as PuzzleKind }), named('request.kind'));
      assert.throws(
        () => sealer.seal({ ...ok, difficulty: ADMISSION_LIMITS.maxSealedDifficulty + 1 }),
        named('request.difficulty'),
      );
      assert.ok(sealer.seal({ ...ok, difficulty: ADMISSION_LIMITS.maxSealedDifficulty }));
      assert.throws(
        () => sealer.seal({ ...ok, ttlMs: ADMISSION_LIMITS.maxChallengeTtlMs + 1 }),
        named('request.ttlMs'),
      );
      assert.ok(sealer.seal({ ...ok, ttlMs: ADMISSION_LIMITS.maxChallengeTtlMs }));
      assert.throws(() => sealer.seal({ ...ok, ttlMs: 0 }), named('request.ttlMs'));
      assert.throws(
        () => sealer.seal({ ...ok, client: { host: 'example.org', port: 1 } }),
        named('request.client.host'),
      );
      assert.throws(
        () => sealer.seal({ ...ok, server: { host: '::1', port: 70000 } }),
        named('request.server.port'),
      );
      assert.throws(
        () => sealer.open(new Uint8Array(83), { client: { host: 'x', port: 1 }, server }),
        named('expect.client'),
      );
      assert.throws(
        () => new KeyRing({ rotationMs: ADMISSION_LIMITS.minKeyRotationMs - 1 }),
        named('rotationMs'),
      );
      assert.throws(() => new KeyRing({ skewMs: ADMISSION_LIMITS.clockSkewMs + 1 }), named('skewMs'));
      assert.throws(() => new KeyRing({ secret: new Uint8Array(31) }), named('secret'));
    });

    test('sizes: below min, above max and between the three valid sizes are malformed', () => {
      const { sealer } = setup();
      for (const n of [
        0,
        1,
        ADMISSION_LIMITS.minSealedBytes - 1,
        84,
        94,
        96,
        ADMISSION_LIMITS.maxSealedBytes + 1,
        4096,
      ]) {
        const v = sealer.open(new Uint8Array(n), { client, server });
        assert.ok(!v.ok && v.code === 'ERR_CHALLENGE_MALFORMED', String(n));
      }
      const v = sealer.open('not bytes' as unknown as Uint8Array, { client, server });
      assert.ok(!v.ok && v.code === 'ERR_CHALLENGE_MALFORMED');
    });

    // ---- properties -------------------------------------------------------------------------

    const arbEndpoint = fc.record({
      host: fc.oneof(fc.ipV4(), fc.ipV6()),
      port: fc.nat(65535),
    });
    const arbRequest = fc.record({
      kind: fc.constantFrom(...PUZZLE_KINDS),
      difficulty: fc.nat(ADMISSION_LIMITS.maxSealedDifficulty),
      client: arbEndpoint,
      server: arbEndpoint,
      ttlMs: fc.integer({ min: 1, max: ADMISSION_LIMITS.maxChallengeTtlMs }),
    });

    test('property: round trip for all valid inputs', () => {
      const { sealer, clock } = setup();
      fc.assert(
        fc.property(arbRequest, fc.nat(1_000_000), (req, dt) => {
          clock.set(T0 + dt);
          const sealed = sealer.seal(req);
          const v = sealer.open(sealed, { client: req.client, server: req.server });
          assert.ok(v.ok, JSON.stringify(v));
          assert.equal(v.value.kind, req.kind);
          assert.equal(v.value.difficulty, req.difficulty);
          assert.equal(v.value.expiresAt - v.value.issuedAt, req.ttlMs);
          clock.set(T0 + dt + req.ttlMs);
          const late = sealer.open(sealed, { client: req.client, server: req.server });
          assert.ok(!late.ok && late.code === 'ERR_CHALLENGE_EXPIRED');
        }),
        { numRuns: 300 },
      );
    });

    /** Which codes a flip of bit `bit` may legitimately produce, by the field it lands in. */
    function codesForFlip(byte: number): string[] {
      if (byte < 3) return ['ERR_CHALLENGE_MALFORMED']; // version, length
      if (byte < 7) return ['ERR_CHALLENGE_KEY_UNKNOWN']; // key id (only one key is live here)
      if (byte === 7) return ['ERR_CHALLENGE_MALFORMED', 'ERR_CHALLENGE_TAG']; // kind: unknown or another kind
      return ['ERR_CHALLENGE_TAG'];
    }

    test('property: any flipped bit is rejected, with the code of the field it hits', () => {
      const { sealer } = setup();
      fc.assert(
        fc.property(arbRequest, fc.nat(), (req, pick) => {
          const sealed = sealer.seal(req);
          const bit = pick % (sealed.length * 8);
          const bad = Uint8Array.from(sealed);
          bad[bit >> 3]! ^= 1 << (bit & 7);
          const v = sealer.open(bad, { client: req.client, server: req.server });
          assert.ok(!v.ok);
          assert.ok(codesForFlip(bit >> 3).includes(v.code), `byte ${bit >> 3}: ${v.code}`);
        }),
        { numRuns: 2000 },
      );
    });

    test('property: any truncation or extension is malformed (even with a fixed-up length field)', () => {
      const { sealer } = setup();
      fc.assert(
        fc.property(
          arbRequest,
          fc.integer({ min: -107, max: 64 }).filter((d) => d !== 0),
          fc.boolean(),
          (req, delta, fix) => {
            const sealed = sealer.seal(req);
            const n = Math.max(0, sealed.length + delta);
            const bad = new Uint8Array(n);
            bad.set(sealed.subarray(0, Math.min(n, sealed.length)));
            if (fix && n >= 3) {
              bad[1] = n >> 8;
              bad[2] = n & 0xff;
            }
            const v = sealer.open(bad, { client: req.client, server: req.server });
            assert.ok(!v.ok);
            // A fixed-up length that lands on another valid size passes the shape check and fails the tag.
            const expected =
              fix && (n === 83 || n === 95 || n === 107) ? 'ERR_CHALLENGE_TAG' : 'ERR_CHALLENGE_MALFORMED';
            assert.equal(v.code, expected);
          },
        ),
        { numRuns: 1000 },
      );
    });

    test('property: swapped fields (header from one blob, body from another; client and server swapped) are refused', () => {
      const { sealer } = setup();
      fc.assert(
        fc.property(arbRequest, arbRequest, (a, b) => {
          const sa = sealer.seal(a);
          const sb = sealer.seal(b);
          if (sa.length === sb.length) {
            const mixed = Uint8Array.from(sa);
            mixed.set(sb.subarray(37), 37);
            const v = sealer.open(mixed, { client: a.client, server: a.server });
            assert.ok(!v.ok && v.code === 'ERR_CHALLENGE_TAG');
            // Challenge of one, everything else of the other.
            const swapped = Uint8Array.from(sa);
            swapped.set(sb.subarray(21, 37), 21);
            const w = sealer.open(swapped, { client: a.client, server: a.server });
            assert.ok(!w.ok && w.code === 'ERR_CHALLENGE_TAG');
          }
          if (a.client.host !== a.server.host || a.client.port !== a.server.port) {
            const v = sealer.open(sa, { client: a.server, server: a.client });
            assert.ok(!v.ok && v.code === 'ERR_CHALLENGE_ENDPOINT');
          }
        }),
        { numRuns: 300 },
      );
    });

    test('property: another endpoint is refused with ERR_CHALLENGE_ENDPOINT', () => {
      const { sealer } = setup();
      fc.assert(
        fc.property(arbRequest, arbEndpoint, fc.boolean(), (req, other, replaceClient) => {
          const sealed = sealer.seal(req);
          const expect = replaceClient
            ? { client: other, server: req.server }
            : { client: req.client, server: other };
          const target = replaceClient ? req.client : req.server;
          const v = sealer.open(sealed, expect);
          const same =
            Buffer.from(new Uint8Array(encode(other))).equals(Buffer.from(encode(target))) &&
            other.port === target.port;
          if (same) assert.ok(v.ok);
          else assert.ok(!v.ok && v.code === 'ERR_CHALLENGE_ENDPOINT');
        }),
        { numRuns: 500 },
      );
    });

    function encode(e: Endpoint): Uint8Array {
      return encodeEndpoint(e);
    }

    test('property: a rotated-out key is unknown, whatever the rotation period and delay', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: ADMISSION_LIMITS.minKeyRotationMs, max: 3_600_000 }),
          fc.nat(10_000_000),
          arbRequest,
          (rotationMs, offset, req) => {
            const { sealer, clock } = setup(rotationMs);
            clock.set(T0 + offset);
            const sealed = sealer.seal({ ...req, ttlMs: ADMISSION_LIMITS.maxChallengeTtlMs });
            const period = Math.floor((T0 + offset) / rotationMs);
            // Still in the next period: accepted unless expired.
            clock.set((period + 2) * rotationMs - 1);
            const v1 = sealer.open(sealed, { client: req.client, server: req.server });
            assert.ok(v1.ok || v1.code === 'ERR_CHALLENGE_EXPIRED');
            clock.set((period + 2) * rotationMs);
            const v2 = sealer.open(sealed, { client: req.client, server: req.server });
            assert.ok(!v2.ok && v2.code === 'ERR_CHALLENGE_KEY_UNKNOWN');
          },
        ),
        { numRuns: 200 },
      );
    });

    test('key ring: a clock stepping back keeps the newest key; the next period is accepted within the skew', () => {
      const clock = new ManualClock(T0);
      const keys = new KeyRing({ clock, rotationMs: 60_000 });
      const id = keys.current().id;
      clock.set(T0 - 120_000);
      assert.equal(keys.current().id, id);
      assert.ok(keys.lookup(id));

      const secret = new Uint8Array(32).fill(3);
      const start = 100 * 60_000;
      const here = new ManualClock(start + 60_000 - ADMISSION_LIMITS.clockSkewMs - 1);
      const ring = new KeyRing({ clock: here, rotationMs: 60_000, secret });
      assert.equal(ring.lookup(101), undefined);
      here.advance(1);
      assert.ok(ring.lookup(101));
      // With a secret, a fresh instance still opens the previous period's challenges.
      assert.ok(ring.lookup(99));
      assert.equal(ring.lookup(98), undefined);
      here.set(start + 60_000);
      assert.ok(ring.lookup(101));
      assert.ok(ring.lookup(100));
      assert.equal(ring.lookup(99), undefined);
    });

    test('property: swapping two fields inside one blob (kind/difficulty, issue/expiry, IV/challenge parts) is refused', () => {
      const { sealer } = setup();
      // [offset a, offset b, length]: same-sized fields of the v1 layout.
      const pairs: [number, number, number][] = [
        [7, 8, 1], // kind <-> difficulty
        [37, 45, 8], // issuedAt <-> expiresAt (ciphertext)
        [9, 21, 12], // IV <-> first 12 challenge bytes
        [3, 9, 4], // key id <-> first IV bytes
      ];
      fc.assert(
        fc.property(arbRequest, fc.constantFrom(...pairs), (req, [a, b, len]) => {
          const sealed = sealer.seal(req);
          const x = sealed.slice(a, a + len);
          const y = sealed.slice(b, b + len);
          fc.pre(!Buffer.from(x).equals(Buffer.from(y)));
          const bad = Uint8Array.from(sealed);
          bad.set(y, a);
          bad.set(x, b);
          const v = sealer.open(bad, { client: req.client, server: req.server });
          assert.ok(!v.ok);
          assert.ok(
            ['ERR_CHALLENGE_TAG', 'ERR_CHALLENGE_MALFORMED', 'ERR_CHALLENGE_KEY_UNKNOWN'].includes(v.code),
            v.code,
          );
        }),
        { numRuns: 400 },
      );
    });
  });
}

test("property: the native and node:crypto paths seal the same bytes and open each other's", {
  skip: PATHS.length < 2 && 'native AES-GCM unavailable',
}, () => {
  const secret = new Uint8Array(32).fill(3);
  const endpoint = fc.record({
    host: fc.oneof(fc.ipV4(), fc.ipV6()),
    port: fc.integer({ min: 0, max: 65535 }),
  });
  fc.assert(
    fc.property(
      fc.constantFrom(...PUZZLE_KINDS),
      fc.integer({ min: 0, max: ADMISSION_LIMITS.maxSealedDifficulty }),
      endpoint,
      endpoint,
      fc.integer({ min: 1, max: ADMISSION_LIMITS.maxChallengeTtlMs }),
      fc.integer({ min: 1, max: 1000 }),
      (kind, difficulty, c, s, ttlMs, seed) => {
        const clock = new ManualClock(T0);
        // Same key schedule and same randomness: both paths must produce identical blobs.
        const fast = new ChallengeSealer(new KeyRing({ clock, secret }), {
          random: counterRandom(seed),
          native: true,
        });
        const slow = new ChallengeSealer(new KeyRing({ clock, secret }), {
          random: counterRandom(seed),
          native: false,
        });
        const request = { kind, difficulty, client: c, server: s, ttlMs };
        const a = fast.seal(request);
        const b = slow.seal(request);
        assert.deepEqual(a, b);
        const x = fast.open(b, { client: c, server: s });
        const y = slow.open(a, { client: c, server: s });
        assert.ok(x.ok && y.ok);
        assert.deepEqual(x.value, y.value);
        // A flipped bit is refused the same way by both.
        const bad = Uint8Array.from(a);
        bad[seed % bad.length]! ^= 1 << (seed % 8);
        const fx = fast.open(bad, { client: c, server: s });
        const fy = slow.open(bad, { client: c, server: s });
        assert.equal(fx.ok, false);
        assert.deepEqual(fx, fy);
      },
    ),
    { numRuns: 300 },
  );
});
