/**
 * Stateless challenges (seed 000, "Nonce for the PoW": instead of keeping state per issued
 * challenge, the server seals that state with a private symmetric key and sends it along;
 * the client returns it with the solution and the server opens it again).
 *
 * Layout, version 1 (big-endian; 83, 95 or 107 bytes):
 *
 * ```
 *   0        1          3                7      8      9                  21                 37
 *  +--------+----------+----------------+------+------+------------------+------------------+
 *  | ver=1  | len u16  | key id u32     | kind | diff | IV (12)          | challenge (16)   |
 *  +--------+----------+----------------+------+------+------------------+------------------+
 *  |<------------------- header: clear, authenticated as GCM additional data -------------->|
 *
 *   37                 45                 53
 *  +------------------+------------------+---------------------+---------------------+----------+
 *  | issuedAt u64 ms  | expiresAt u64 ms | client endpoint     | server endpoint     | tag (16) |
 *  |                  |                  | 7 (IPv4) / 19 (IPv6)| 7 (IPv4) / 19 (IPv6)|          |
 *  +------------------+------------------+---------------------+---------------------+----------+
 *  |<------------------- AES-256-GCM ciphertext (30, 42 or 54 bytes) --------------->|
 * ```
 *
 * - `len` is the length of the whole blob, and each endpoint starts with its family byte
 *   (see endpoint.ts), so no field can be read as another and truncation or extension is
 *   caught before any cryptography runs.
 * - The challenge, kind and difficulty are in the clear so that the client can solve from the
 *   blob alone (`readSealedHeader`); the GCM tag covers them. Times and endpoints are
 *   encrypted: the client learns nothing about the server's clock or address view.
 * - The 16 random challenge bytes are also the replay id (replay.ts).
 * - A fresh random 96-bit IV per seal; keys rotate every period, which keeps the number of
 *   messages per key far below GCM's random-IV bound (2^32).
 *
 * The AES-256-GCM work runs on the native addon when it loads (a context kept per key and
 * direction, native/aead.c: node:crypto's cipher set-up per call was most of the cost of an
 * open, issue 12), else on node:crypto; both produce and accept the same bytes.
 *
 * `open` checks in this order and stops at the first failure, cheapest first (DESIGN "The
 * admission pipeline", step 3): shape, version and length (`ERR_CHALLENGE_MALFORMED`), key id
 * (`ERR_CHALLENGE_KEY_UNKNOWN`), tag (`ERR_CHALLENGE_TAG`), validity window
 * (`ERR_CHALLENGE_EXPIRED`), endpoints (`ERR_CHALLENGE_ENDPOINT`).
 */
import type { KeyObject } from 'node:crypto';
import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomFillSync } from 'node:crypto';
import type { NativeGcm } from '../pow/native.js';
import { nativeGcm } from '../pow/native.js';
import { assertInteger } from '../util/args.js';
import {
  readU16,
  readU32,
  readU64Number,
  writeU16,
  writeU32,
  writeU48,
  writeU64Number,
} from '../util/bytes.js';
import type { Clock } from '../util/clock.js';
import { systemClock } from '../util/clock.js';
import type { Verdict } from '../util/errors.js';
import { ArgumentError, accept, reject } from '../util/errors.js';
import type { Endpoint } from './endpoint.js';
import {
  canonicalHostCached,
  ENCODED_V4_BYTES,
  ENCODED_V6_BYTES,
  encodedEndpointLength,
  encodeEndpointInto,
  endpointMatches,
  FAMILY_V4,
  FAMILY_V6,
} from './endpoint.js';
import { ADMISSION_LIMITS } from './limits.js';

/** Puzzle kinds and their one-byte wire codes (the pow layer's three puzzles). */
export const PUZZLE_KINDS = ['sha256-bits', 'hashcash-sha1', 'scrypt'] as const;
export type PuzzleKind = (typeof PUZZLE_KINDS)[number];
const KIND_CODE: Record<PuzzleKind, number> = { 'sha256-bits': 1, 'hashcash-sha1': 2, scrypt: 3 };
const KIND_BY_CODE: readonly (PuzzleKind | undefined)[] = [
  undefined,
  'sha256-bits',
  'hashcash-sha1',
  'scrypt',
];

export function isPuzzleKind(value: unknown): value is PuzzleKind {
  return typeof value === 'string' && (PUZZLE_KINDS as readonly string[]).includes(value);
}

export const SEALED_VERSION = 1;
export const CHALLENGE_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const OFF_LEN = 1;
const OFF_KEY_ID = 3;
const OFF_KIND = 7;
const OFF_DIFFICULTY = 8;
const OFF_IV = 9;
const OFF_CHALLENGE = 21;
const HEADER_BYTES = 37;
const TIMES_BYTES = 16;
/** Ciphertext sizes: times + two endpoints of 7 or 19 bytes each. */
const BODY_SIZES = [TIMES_BYTES + 14, TIMES_BYTES + 26, TIMES_BYTES + 38] as const;
const SEALED_SIZES = BODY_SIZES.map((b) => HEADER_BYTES + b + TAG_BYTES);
const GCM_OPTIONS = { authTagLength: 16 } as const;

export type SealedCode =
  | 'ERR_CHALLENGE_MALFORMED'
  | 'ERR_CHALLENGE_KEY_UNKNOWN'
  | 'ERR_CHALLENGE_TAG'
  | 'ERR_CHALLENGE_EXPIRED'
  | 'ERR_CHALLENGE_ENDPOINT';

/** Everything a sealed challenge carries. */
export interface ChallengeState {
  /** 16 random bytes: what the client's PoW commits to, and the replay id. */
  readonly challenge: Uint8Array;
  readonly kind: PuzzleKind;
  /** Difficulty in the kind's unit: sha256-bits and scrypt in bits, hashcash-sha1 in hex digits. */
  readonly difficulty: number;
  readonly client: Endpoint;
  readonly server: Endpoint;
  /** Issue time and expiry, ms since the Unix epoch on the sealing server's clock. */
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly keyId: number;
}

/** What `seal` is asked to bind. */
export interface SealRequest {
  readonly kind: PuzzleKind;
  readonly difficulty: number;
  readonly client: Endpoint;
  readonly server: Endpoint;
  /** Lifetime in ms; default ADMISSION_LIMITS.challengeTtlMs, at most maxChallengeTtlMs. */
  readonly ttlMs?: number;
  /**
   * Issue time (ms) to seal, default the sealer's clock now. A caller that must show the same
   * time elsewhere (powtcp's hashcash date) reads the clock once and passes it, rather than
   * opening its own fresh seal to learn it.
   */
  readonly issuedAt?: number;
}

/** Fills `out` with random bytes. */
export type RandomFill = (out: Uint8Array) => void;

const defaultRandom: RandomFill = (out) => {
  randomFillSync(out);
};

export interface KeyRingOptions {
  readonly clock?: Clock;
  /** Rotation period in ms; default ADMISSION_LIMITS.keyRotationMs. */
  readonly rotationMs?: number;
  readonly random?: RandomFill;
  /**
   * A shared secret (at least 32 bytes). With it, the key of every period is derived as
   * HKDF-SHA256(ikm = secret, salt = "tollgate sealed challenge v1", info = period as u64
   * big-endian, 32 bytes), so instances behind one address agree on keys without talking to
   * each other; without it, each period's key is random and lives only in this process.
   */
  readonly secret?: Uint8Array;
  /** Clock skew allowed between instances sharing a secret (ms); default ADMISSION_LIMITS.clockSkewMs. */
  readonly skewMs?: number;
}

interface RingKey {
  readonly period: number;
  readonly id: number;
  readonly key: KeyObject;
  /** Native contexts for the same key (null without the addon): one opens, one seals. */
  readonly opener: NativeGcm | null;
  readonly sealer: NativeGcm | null;
}

/**
 * AES-256 keys on a schedule: time is cut into periods of `rotationMs`; the key of the
 * current period seals, and the keys of the current and the previous period open. A
 * challenge thus stays openable for at least one full period after it was sealed, and a key
 * older than that is forgotten (`ERR_CHALLENGE_KEY_UNKNOWN`). The key id is the period
 * number modulo 2^32.
 */
export class KeyRing {
  readonly clock: Clock;
  readonly rotationMs: number;
  private readonly random: RandomFill;
  private readonly secret: Uint8Array | undefined;
  private readonly skewMs: number;
  private cur: RingKey | undefined;
  private prev: RingKey | undefined;
  private next: RingKey | undefined;

  constructor(options: KeyRingOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.rotationMs = options.rotationMs ?? ADMISSION_LIMITS.keyRotationMs;
    assertInteger('rotationMs', this.rotationMs, ADMISSION_LIMITS.minKeyRotationMs, 2 ** 40);
    this.random = options.random ?? defaultRandom;
    this.skewMs = options.skewMs ?? ADMISSION_LIMITS.clockSkewMs;
    assertInteger('skewMs', this.skewMs, 0, ADMISSION_LIMITS.clockSkewMs);
    if (options.secret !== undefined) {
      if (!(options.secret instanceof Uint8Array) || options.secret.length < 32) {
        throw new ArgumentError('secret', 'expected at least 32 bytes');
      }
      this.secret = Uint8Array.from(options.secret);
    } else {
      this.secret = undefined;
    }
  }

  private make(period: number): RingKey {
    const raw = new Uint8Array(32);
    if (this.secret !== undefined) {
      const info = new Uint8Array(8);
      writeU48(info, 2, period);
      raw.set(new Uint8Array(hkdfSync('sha256', this.secret, 'tollgate sealed challenge v1', info, 32)));
    } else {
      this.random(raw);
    }
    const key = createSecretKey(raw);
    const opener = nativeGcm(raw, false);
    const sealer = opener === null ? null : nativeGcm(raw, true);
    raw.fill(0);
    return { period, id: period % 2 ** 32, key, opener, sealer };
  }

  private advance(): number {
    const now = this.clock.now();
    const period = Math.floor(now / this.rotationMs);
    const cur = this.cur;
    if (cur === undefined || period > cur.period) {
      const stillValid = cur !== undefined && cur.period === period - 1 ? cur : undefined;
      this.prev = this.secret !== undefined && stillValid === undefined ? this.make(period - 1) : stillValid;
      this.cur = this.next?.period === period ? this.next : this.make(period);
      this.next = undefined;
    }
    // A clock that steps back keeps the newest key: periods never run backwards.
    return now;
  }

  /** The key that seals now. */
  current(): { readonly id: number; readonly key: KeyObject } {
    this.advance();
    return this.cur!;
  }

  /** The key with id `id` if it is still accepted (current or previous period), else undefined. */
  lookup(id: number): KeyObject | undefined {
    return this.entry(id)?.key;
  }

  /** `current()` with the native contexts of its key (ChallengeSealer's fast path). */
  currentEntry(): RingKey {
    this.advance();
    return this.cur!;
  }

  /** `lookup(id)` with the native contexts of its key (ChallengeSealer's fast path). */
  entry(id: number): RingKey | undefined {
    const now = this.advance();
    const cur = this.cur!;
    if (id === cur.id) return cur;
    if (this.prev !== undefined && id === this.prev.id) return this.prev;
    // With a shared secret, an instance whose clock runs slightly ahead may already seal
    // with the next period's key; accept it within the allowed skew.
    if (
      this.secret !== undefined &&
      id === (cur.period + 1) % 2 ** 32 &&
      now + this.skewMs >= (cur.period + 1) * this.rotationMs
    ) {
      if (this.next === undefined) this.next = this.make(cur.period + 1);
      return this.next;
    }
    return undefined;
  }
}

export interface ChallengeSealerOptions {
  /** Clock for issue and expiry times; default the key ring's clock. */
  readonly clock?: Clock;
  readonly random?: RandomFill;
  /** Allowed clock skew for issue times in the future (ms); default ADMISSION_LIMITS.clockSkewMs. */
  readonly skewMs?: number;
  /** Lifetime when a seal request names none (ms); default ADMISSION_LIMITS.challengeTtlMs. */
  readonly defaultTtlMs?: number;
  /**
   * Use the native addon's AES-256-GCM when it is available (default true); false always uses
   * node:crypto (tests run both, and their blobs must be interchangeable).
   */
  readonly native?: boolean;
}

const RANDOM_PER_SEAL = IV_BYTES + CHALLENGE_BYTES;
const RANDOM_POOL_SEALS = 128;

function endpointBytes(family: number | undefined): number {
  return family === FAMILY_V4 ? ENCODED_V4_BYTES : family === FAMILY_V6 ? ENCODED_V6_BYTES : -1;
}

/** The clear part of a sealed challenge: what a client needs to solve it. */
export interface SealedHeader {
  readonly version: number;
  readonly keyId: number;
  readonly kind: PuzzleKind;
  readonly difficulty: number;
  readonly challenge: Uint8Array;
}

function shapeOk(bytes: Uint8Array): boolean {
  const n = bytes.length;
  // The three possible sizes: both IPv4, one of each, both IPv6.
  if (n !== SEALED_SIZES[0] && n !== SEALED_SIZES[1] && n !== SEALED_SIZES[2]) return false;
  return bytes[0] === SEALED_VERSION && readU16(bytes, OFF_LEN) === n;
}

/**
 * Reads the clear header of a sealed challenge without any key (the client side: which
 * puzzle, how hard, over which challenge bytes). Authenticity is only known to the server.
 */
export function readSealedHeader(bytes: Uint8Array): Verdict<SealedHeader, 'ERR_CHALLENGE_MALFORMED'> {
  if (!(bytes instanceof Uint8Array) || !shapeOk(bytes)) return reject('ERR_CHALLENGE_MALFORMED');
  const kind = KIND_BY_CODE[bytes[OFF_KIND]!];
  if (kind === undefined) return reject('ERR_CHALLENGE_MALFORMED', 'unknown puzzle kind');
  return accept({
    version: bytes[0]!,
    keyId: readU32(bytes, OFF_KEY_ID),
    kind,
    difficulty: bytes[OFF_DIFFICULTY]!,
    challenge: bytes.slice(OFF_CHALLENGE, OFF_CHALLENGE + CHALLENGE_BYTES),
  });
}

/** Seals and opens challenge state under a KeyRing. */
export class ChallengeSealer {
  private readonly clock: Clock;
  private readonly random: RandomFill;
  private readonly skewMs: number;
  private readonly defaultTtlMs: number;
  private readonly native: boolean;
  private readonly pool = new Uint8Array(RANDOM_PER_SEAL * RANDOM_POOL_SEALS);
  private poolPos = this.pool.length;
  private readonly plain = new Uint8Array(TIMES_BYTES + 2 * ENCODED_V6_BYTES);
  private readonly scratch = Buffer.alloc(ADMISSION_LIMITS.maxSealedBytes);
  private readonly scratchIv = this.scratch.subarray(OFF_IV, OFF_IV + IV_BYTES);
  private readonly scratchHeader = this.scratch.subarray(0, HEADER_BYTES);
  /** Views of the ciphertext and tag for each of the three body sizes, indexed by body length. */
  private readonly scratchBody: Buffer[] = [];
  private readonly scratchTag: Buffer[] = [];
  /** Views of ciphertext || tag, indexed by body length (the native open works in place). */
  private readonly scratchSealed: Buffer[] = [];

  constructor(
    readonly keys: KeyRing,
    options: ChallengeSealerOptions = {},
  ) {
    this.clock = options.clock ?? keys.clock;
    this.random = options.random ?? defaultRandom;
    this.skewMs = options.skewMs ?? ADMISSION_LIMITS.clockSkewMs;
    assertInteger('skewMs', this.skewMs, 0, ADMISSION_LIMITS.clockSkewMs);
    this.defaultTtlMs = options.defaultTtlMs ?? ADMISSION_LIMITS.challengeTtlMs;
    assertInteger('defaultTtlMs', this.defaultTtlMs, 1, ADMISSION_LIMITS.maxChallengeTtlMs);
    if (options.native !== undefined && typeof options.native !== 'boolean') {
      throw new ArgumentError('options.native', 'expected a boolean');
    }
    this.native = options.native ?? true;
    for (const bodyLen of BODY_SIZES) {
      this.scratchBody[bodyLen] = this.scratch.subarray(HEADER_BYTES, HEADER_BYTES + bodyLen);
      this.scratchTag[bodyLen] = this.scratch.subarray(
        HEADER_BYTES + bodyLen,
        HEADER_BYTES + bodyLen + TAG_BYTES,
      );
      this.scratchSealed[bodyLen] = this.scratch.subarray(HEADER_BYTES, HEADER_BYTES + bodyLen + TAG_BYTES);
    }
  }

  private randomBytes(): number {
    if (this.poolPos + RANDOM_PER_SEAL > this.pool.length) {
      this.random(this.pool);
      this.poolPos = 0;
    }
    const at = this.poolPos;
    this.poolPos += RANDOM_PER_SEAL;
    return at;
  }

  /** Seals a fresh challenge; throws ArgumentError naming a bad field of `request`. */
  seal(request: SealRequest): Uint8Array {
    if (typeof request !== 'object' || request === null)
      throw new ArgumentError('request', 'expected an object');
    if (!isPuzzleKind(request.kind)) {
      throw new ArgumentError('request.kind', `expected one of ${PUZZLE_KINDS.join(', ')}`);
    }
    assertInteger('request.difficulty', request.difficulty, 0, ADMISSION_LIMITS.maxSealedDifficulty);
    const ttlMs = request.ttlMs ?? this.defaultTtlMs;
    assertInteger('request.ttlMs', ttlMs, 1, ADMISSION_LIMITS.maxChallengeTtlMs);
    const clientLen = encodedEndpointLength(request.client, 'request.client');
    const serverLen = encodedEndpointLength(request.server, 'request.server');
    const bodyLen = TIMES_BYTES + clientLen + serverLen;
    const total = HEADER_BYTES + bodyLen + TAG_BYTES;

    const issuedAt = request.issuedAt ?? this.clock.now();
    assertInteger('request.issuedAt', issuedAt, 0, Number.MAX_SAFE_INTEGER);
    const entry = this.keys.currentEntry();
    const id = entry.id;
    const out = new Uint8Array(total);
    out[0] = SEALED_VERSION;
    writeU16(out, OFF_LEN, total);
    writeU32(out, OFF_KEY_ID, id);
    out[OFF_KIND] = KIND_CODE[request.kind];
    out[OFF_DIFFICULTY] = request.difficulty;
    const r = this.randomBytes();
    out.set(this.pool.subarray(r, r + RANDOM_PER_SEAL), OFF_IV);

    const gcm = this.native ? entry.sealer : null;
    // The native seal encrypts in place, so the plaintext goes straight into the output.
    const plain = gcm !== null ? out.subarray(HEADER_BYTES) : this.plain;
    writeU64Number(plain, 0, issuedAt);
    writeU64Number(plain, 8, issuedAt + ttlMs);
    encodeEndpointInto(
      request.server,
      plain,
      encodeEndpointInto(request.client, plain, TIMES_BYTES, 'request.client'),
      'request.server',
    );
    if (gcm !== null) {
      gcm.seal(out.subarray(OFF_IV, OFF_IV + IV_BYTES), out.subarray(0, HEADER_BYTES), plain);
      return out;
    }

    const cipher = createCipheriv(
      'aes-256-gcm',
      entry.key,
      out.subarray(OFF_IV, OFF_IV + IV_BYTES),
      GCM_OPTIONS,
    );
    cipher.setAAD(out.subarray(0, HEADER_BYTES));
    const ct = cipher.update(plain.subarray(0, bodyLen));
    cipher.final();
    out.set(ct, HEADER_BYTES);
    out.set(cipher.getAuthTag(), HEADER_BYTES + bodyLen);
    return out;
  }

  /**
   * Opens a sealed challenge received from the network and checks that it was issued for
   * this pair of endpoints. Never throws for bad `bytes`; throws ArgumentError only when
   * `expect` itself is not a pair of endpoints (a caller mistake).
   */
  open(
    bytes: Uint8Array,
    expect: { readonly client: Endpoint; readonly server: Endpoint },
  ): Verdict<ChallengeState, SealedCode> {
    const clientHost = canonicalHostCached(expect?.client?.host);
    const serverHost = canonicalHostCached(expect?.server?.host);
    if (clientHost === undefined)
      throw new ArgumentError('expect.client', 'expected an endpoint { host, port }');
    if (serverHost === undefined)
      throw new ArgumentError('expect.server', 'expected an endpoint { host, port }');

    // 1. shape, version, length: no cryptography for bytes that cannot be ours.
    if (!(bytes instanceof Uint8Array) || !shapeOk(bytes)) return reject('ERR_CHALLENGE_MALFORMED');
    const kind = KIND_BY_CODE[bytes[OFF_KIND]!];
    if (kind === undefined) return reject('ERR_CHALLENGE_MALFORMED', 'unknown puzzle kind');

    // 2. key id: only the current and the previous period's keys open.
    const keyId = readU32(bytes, OFF_KEY_ID);
    const entry = this.keys.entry(keyId);
    if (entry === undefined) return reject('ERR_CHALLENGE_KEY_UNKNOWN');

    // 3. tag: the header (as AAD) and the encrypted times and endpoints are authentic.
    // Copied into scratch buffers rather than viewed: opening runs at hundreds of thousands
    // per second, and four fresh views per call were a measurable share of its garbage.
    const n = bytes.length;
    const s = this.scratch;
    for (let i = 0; i < n; i++) s[i] = bytes[i]!;
    const bodyLen = n - HEADER_BYTES - TAG_BYTES;
    let plain: Buffer;
    const gcm = this.native ? entry.opener : null;
    if (gcm !== null) {
      if (!gcm.open(this.scratchIv, this.scratchHeader, this.scratchSealed[bodyLen]!)) {
        return reject('ERR_CHALLENGE_TAG');
      }
      plain = this.scratchBody[bodyLen]!;
    } else {
      try {
        const decipher = createDecipheriv('aes-256-gcm', entry.key, this.scratchIv, GCM_OPTIONS);
        decipher.setAAD(this.scratchHeader);
        decipher.setAuthTag(this.scratchTag[bodyLen]!);
        plain = decipher.update(this.scratchBody[bodyLen]!);
        decipher.final();
      } catch {
        return reject('ERR_CHALLENGE_TAG');
      }
    }
    // Only a sealer holding the key could produce a body whose families disagree with its
    // length; checked anyway so that the reads below stay inside the buffer.
    const clientLen = endpointBytes(plain[TIMES_BYTES]);
    if (
      clientLen < 0 ||
      TIMES_BYTES + clientLen + endpointBytes(plain[TIMES_BYTES + clientLen]) !== plain.length
    ) {
      return reject('ERR_CHALLENGE_MALFORMED', 'inconsistent body');
    }

    // 4. validity window: [issuedAt - skew, expiresAt).
    const issuedAt = readU64Number(plain, 0);
    const expiresAt = readU64Number(plain, 8);
    const now = this.clock.now();
    if (now >= expiresAt) return reject('ERR_CHALLENGE_EXPIRED');
    if (issuedAt > now + this.skewMs) return reject('ERR_CHALLENGE_EXPIRED', 'issued in the future');

    // 5. endpoints: the challenge was issued to this client, by this server (seed 000: "IP of both").
    if (
      !endpointMatches(plain, TIMES_BYTES, expect.client) ||
      !endpointMatches(plain, TIMES_BYTES + clientLen, expect.server)
    ) {
      return reject('ERR_CHALLENGE_ENDPOINT');
    }
    return accept({
      challenge: bytes.slice(OFF_CHALLENGE, OFF_CHALLENGE + CHALLENGE_BYTES),
      kind,
      difficulty: bytes[OFF_DIFFICULTY]!,
      // The caller's objects when already canonical (the usual case): no copies on the hot path.
      client:
        clientHost === expect.client.host ? expect.client : { host: clientHost, port: expect.client.port },
      server:
        serverHost === expect.server.host ? expect.server : { host: serverHost, port: expect.server.port },
      issuedAt,
      expiresAt,
      keyId,
    });
  }
}
