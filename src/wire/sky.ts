/**
 * The sky protocol's messages (seed 003, "Sky nodes simply facilitate hole punching. This
 * means that the inputs and outputs to the server are fixed-size and thus handled in low
 * constant time"). Every message has one size fixed by its type, so a reader knows from
 * the second byte how much to wait for, and a refusal costs the same whatever was asked.
 * docs/sky-earth.md draws the same layouts.
 *
 * All integers are unsigned big-endian. Every message starts with:
 *
 *    0        1        2
 *   +--------+--------+
 *   | ver=1  |  type  |
 *   +--------+--------+
 *
 * Earth -> sky:
 *
 *   LEASE (1), 148 bytes: take or renew a lease, proved by an Ed25519 signature
 *   | key (32) | time u64 ms | durationSec u32 | listenPort u16 | inboxBytes u32 |
 *   | holder (32) | signature (64) |
 *     signature = Ed25519(key, "tollgate/sky/lease/v1" | bytes 0..82 of this message)
 *     identity = SHA-256(Ed25519 SPKI DER of key): the secure channel's identity
 *     holder = identity of the earth node that stores for this one, zeros for none
 *   LOOKUP (2), 38 bytes:  | reqId u32 | target identity (32) |
 *   PUNCH (3), 38 bytes:   | reqId u32 | target identity (32) |
 *   SOLVE (4), 117 bytes:  | nonce u64 | sealed challenge, zero-padded to 107 |
 *
 * Sky -> earth:
 *
 *   LEASED (0x81), 37 bytes:    | time u64 (echo) | expiresAt u64 ms | observed endpoint (19) |
 *   FOUND (0x82), 131 bytes:    | reqId u32 | key (32) | observed (19) | listenPort u16 |
 *                               | inboxBytes u32 | holder (32) | expiresAt u64 | reserved (28) |
 *   REFUSED (0x83), 11 bytes:   | reqId u32 | code u8 | retryAfterMs u32 |
 *   CHALLENGE (0x84), 113 bytes:| reqId u32 | sealed challenge, zero-padded to 107 |
 *   PUNCH_AT (0x85), 91 bytes:  | reqId u32 | peer identity (32) | peer key (32) |
 *                               | peer observed (19) | delayMs u16 |
 *   SOLVED (0x86), 6 bytes:     | credit u32 |   the SOLVE paid for this many requests
 *
 * A SOLVE is answered by SOLVED or by REFUSED with reqId 0xffffffff; an earth node sends one
 * request at a time, so every answer belongs to the request in hand.
 *
 * An endpoint slot is 19 bytes: | family (4 or 6) | address, 16 bytes (IPv4 in the first 4,
 * the rest zero) | port u16 |. A LEASE refusal carries reqId 0.
 *
 * Decoding is canonical: a wrong version or type, a reserved or padding byte that is not
 * zero, a family other than 4 and 6, a sealed blob whose own length field disagrees with its
 * padding: each is `ERR_SKY_MALFORMED`. The signature covers the bytes as received.
 */

import type { Endpoint } from '../admission/endpoint.js';
import { formatAddressBytes, hostBytes } from '../admission/endpoint.js';
import { ArgumentError, accept, reject, type Verdict } from '../util/errors.js';

export const SKY_VERSION = 1;
export const SKY_LEASE_LABEL = new TextEncoder().encode('tollgate/sky/lease/v1');
export const KEY_BYTES = 32;
export const ID_BYTES = 32;
export const SIG_BYTES = 64;
export const ENDPOINT_SLOT_BYTES = 19;
/** Sealed challenges are 83, 95 or 107 bytes (src/admission/sealed.ts); padded to the largest. */
export const SEALED_SLOT_BYTES = 107;

export const SkyType = {
  lease: 1,
  lookup: 2,
  punch: 3,
  solve: 4,
  leased: 0x81,
  found: 0x82,
  refused: 0x83,
  challenge: 0x84,
  punchAt: 0x85,
  solved: 0x86,
} as const;
export type SkyType = (typeof SkyType)[keyof typeof SkyType];

/** Size of each message type, header included. */
export const SKY_SIZES: Readonly<Record<number, number>> = {
  [SkyType.lease]: 148,
  [SkyType.lookup]: 38,
  [SkyType.punch]: 38,
  [SkyType.solve]: 117,
  [SkyType.leased]: 37,
  [SkyType.found]: 131,
  [SkyType.refused]: 11,
  [SkyType.challenge]: 113,
  [SkyType.punchAt]: 91,
  [SkyType.solved]: 6,
};
/** reqId of the refusal of a SOLVE. */
export const SOLVE_REQ_ID = 0xffffffff;
/** The longest message: a reader never buffers more than this for one message. */
export const SKY_MAX_BYTES = 148;
/** Bytes of a LEASE that the signature covers (everything before it). */
export const LEASE_SIGNED_BYTES = 148 - SIG_BYTES;

/**
 * Refusal codes and their one-byte wire values. Reason codes of the sky node, and the
 * admission codes a SOLVE can be refused with, so that an earth node learns the exact reason.
 */
export const REFUSAL_CODES = [
  'ERR_SKY_MALFORMED',
  'ERR_SKY_NO_LEASE',
  'ERR_SKY_LEASES_FULL',
  'ERR_SKY_BAD_SIGNATURE',
  'ERR_SKY_STALE_LEASE',
  'ERR_SKY_BAD_DURATION',
  'ERR_SKY_NOT_LEASED',
  'ERR_SKY_PEER_OFFLINE',
  'ERR_SKY_BUSY',
  'ERR_RATE_LIMITED',
  'ERR_STORE_FULL',
  'ERR_POW_INSUFFICIENT',
  'ERR_CHALLENGE_REPLAYED',
  'ERR_CHALLENGE_EXPIRED',
  'ERR_CHALLENGE_ENDPOINT',
  'ERR_CHALLENGE_MALFORMED',
  'ERR_CHALLENGE_TAG',
  'ERR_CHALLENGE_KEY_UNKNOWN',
  'ERR_SKY_UNSOLICITED_SOLVE',
] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];
const REFUSAL_BYTE = new Map<string, number>(REFUSAL_CODES.map((c, i) => [c, i + 1]));

export function isRefusalCode(code: string): code is RefusalCode {
  return REFUSAL_BYTE.has(code);
}

export interface LeaseMsg {
  readonly type: typeof SkyType.lease;
  readonly key: Uint8Array;
  readonly time: number;
  readonly durationSec: number;
  readonly listenPort: number;
  readonly inboxBytes: number;
  readonly holder: Uint8Array;
  readonly signature: Uint8Array;
  /** The message as received: what the signature covers (first LEASE_SIGNED_BYTES). */
  readonly bytes: Uint8Array;
}
export interface LookupMsg {
  readonly type: typeof SkyType.lookup | typeof SkyType.punch;
  readonly reqId: number;
  readonly target: Uint8Array;
}
export interface SolveMsg {
  readonly type: typeof SkyType.solve;
  readonly nonce: bigint;
  readonly sealed: Uint8Array;
}
export interface LeasedMsg {
  readonly type: typeof SkyType.leased;
  readonly time: number;
  readonly expiresAt: number;
  readonly observed: Endpoint;
}
export interface FoundMsg {
  readonly type: typeof SkyType.found;
  readonly reqId: number;
  readonly key: Uint8Array;
  readonly observed: Endpoint;
  readonly listenPort: number;
  readonly inboxBytes: number;
  readonly holder: Uint8Array;
  readonly expiresAt: number;
}
export interface RefusedMsg {
  readonly type: typeof SkyType.refused;
  readonly reqId: number;
  readonly code: RefusalCode;
  readonly retryAfterMs: number;
}
export interface ChallengeMsg {
  readonly type: typeof SkyType.challenge;
  readonly reqId: number;
  readonly sealed: Uint8Array;
}
export interface PunchAtMsg {
  readonly type: typeof SkyType.punchAt;
  readonly reqId: number;
  readonly peer: Uint8Array;
  readonly peerKey: Uint8Array;
  readonly observed: Endpoint;
  readonly delayMs: number;
}

export interface SolvedMsg {
  readonly type: typeof SkyType.solved;
  readonly credit: number;
}

export type SkyRequest = LeaseMsg | LookupMsg | SolveMsg;
export type SkyAnswer = LeasedMsg | FoundMsg | RefusedMsg | ChallengeMsg | PunchAtMsg | SolvedMsg;
export type SkyMessage = SkyRequest | SkyAnswer;

export type SkyCodecCode = 'ERR_SKY_MALFORMED';

// --- field helpers ---------------------------------------------------------------------

function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}
function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) >>> 0) + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
}
function u64(b: Uint8Array, o: number): number {
  // Times in ms fit 2^53; a larger value is not canonical for this protocol.
  const hi = u32(b, o);
  if (hi >= 2 ** 21) return -1;
  return hi * 2 ** 32 + u32(b, o + 4);
}
function putU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v & 0xff;
}
function putU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
function putU64(b: Uint8Array, o: number, v: number): void {
  putU32(b, o, Math.floor(v / 2 ** 32));
  putU32(b, o + 4, v >>> 0);
}
/** A copy as a plain Uint8Array (Buffer.slice would keep the Buffer type). */
function copy(b: Uint8Array, from: number, to: number): Uint8Array {
  return new Uint8Array(b.subarray(from, to));
}
function zeros(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

function checkU(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max)
    throw new ArgumentError(name, `expected an integer in [0, ${max}]`);
}
function checkLen(name: string, v: Uint8Array, n: number): void {
  if (!(v instanceof Uint8Array) || v.length !== n) throw new ArgumentError(name, `expected ${n} bytes`);
}

/** Writes an endpoint into its fixed 19-byte slot. */
export function putEndpoint(b: Uint8Array, o: number, e: Endpoint, name = 'endpoint'): void {
  const addr = hostBytes(e.host, `${name}.host`);
  checkU(`${name}.port`, e.port, 0xffff);
  b.fill(0, o, o + ENDPOINT_SLOT_BYTES);
  b[o] = addr.length === 4 ? 4 : 6;
  b.set(addr, o + 1);
  putU16(b, o + 17, e.port);
}

/** Reads a 19-byte endpoint slot; undefined when it is not canonical. */
export function readEndpoint(b: Uint8Array, o: number): Endpoint | undefined {
  const family = b[o];
  if (family === 4) {
    if (!zeros(b, o + 5, o + 17)) return undefined;
    return { host: formatAddressBytes(b.subarray(o + 1, o + 5)), port: u16(b, o + 17) };
  }
  if (family === 6) {
    const a = b.subarray(o + 1, o + 17);
    // An IPv4-mapped IPv6 address is sent as family 4, one form per address.
    if (zeros(a, 0, 10) && a[10] === 0xff && a[11] === 0xff) return undefined;
    return { host: formatAddressBytes(a), port: u16(b, o + 17) };
  }
  return undefined;
}

function putSealed(b: Uint8Array, o: number, sealed: Uint8Array): void {
  if (!(sealed instanceof Uint8Array) || sealed.length < 83 || sealed.length > SEALED_SLOT_BYTES) {
    throw new ArgumentError('sealed', `expected 83..${SEALED_SLOT_BYTES} bytes`);
  }
  b.set(sealed, o);
}

/** A padded sealed slot: the blob's own length field (bytes 1..2) says where padding starts. */
function readSealed(b: Uint8Array, o: number): Uint8Array | undefined {
  const len = u16(b, o + 1);
  if (len < 83 || len > SEALED_SLOT_BYTES) return undefined;
  if (!zeros(b, o + len, o + SEALED_SLOT_BYTES)) return undefined;
  return copy(b, o, o + len);
}

function header(type: SkyType): Uint8Array {
  const b = new Uint8Array(SKY_SIZES[type]!);
  b[0] = SKY_VERSION;
  b[1] = type;
  return b;
}

// --- encoders --------------------------------------------------------------------------

/** The bytes of a LEASE before its signature (what the earth node signs, without the label). */
export function encodeLeaseBody(m: Omit<LeaseMsg, 'type' | 'signature' | 'bytes'>): Uint8Array {
  const b = header(SkyType.lease);
  checkLen('key', m.key, KEY_BYTES);
  checkLen('holder', m.holder, ID_BYTES);
  checkU('time', m.time, 2 ** 53 - 1);
  checkU('durationSec', m.durationSec, 0xffffffff);
  checkU('listenPort', m.listenPort, 0xffff);
  checkU('inboxBytes', m.inboxBytes, 0xffffffff);
  b.set(m.key, 2);
  putU64(b, 34, m.time);
  putU32(b, 42, m.durationSec);
  putU16(b, 46, m.listenPort);
  putU32(b, 48, m.inboxBytes);
  b.set(m.holder, 52);
  return b;
}

/** The input of the lease signature: label | signed bytes. */
export function leaseSignedInput(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(SKY_LEASE_LABEL.length + LEASE_SIGNED_BYTES);
  out.set(SKY_LEASE_LABEL);
  out.set(message.subarray(0, LEASE_SIGNED_BYTES), SKY_LEASE_LABEL.length);
  return out;
}

/** Completes a LEASE body with its signature. */
export function withSignature(body: Uint8Array, signature: Uint8Array): Uint8Array {
  checkLen('signature', signature, SIG_BYTES);
  body.set(signature, LEASE_SIGNED_BYTES);
  return body;
}

export function encodeLookup(
  type: typeof SkyType.lookup | typeof SkyType.punch,
  reqId: number,
  target: Uint8Array,
): Uint8Array {
  const b = header(type);
  checkU('reqId', reqId, 0xffffffff);
  checkLen('target', target, ID_BYTES);
  putU32(b, 2, reqId);
  b.set(target, 6);
  return b;
}

export function encodeSolve(nonce: bigint, sealed: Uint8Array): Uint8Array {
  const b = header(SkyType.solve);
  if (typeof nonce !== 'bigint' || nonce < 0n || nonce >= 2n ** 64n)
    throw new ArgumentError('nonce', 'expected a u64');
  new DataView(b.buffer).setBigUint64(2, nonce);
  putSealed(b, 10, sealed);
  return b;
}

export function encodeLeased(time: number, expiresAt: number, observed: Endpoint): Uint8Array {
  const b = header(SkyType.leased);
  checkU('time', time, 2 ** 53 - 1);
  checkU('expiresAt', expiresAt, 2 ** 53 - 1);
  putU64(b, 2, time);
  putU64(b, 10, expiresAt);
  putEndpoint(b, 18, observed, 'observed');
  return b;
}

export function encodeFound(m: Omit<FoundMsg, 'type'>): Uint8Array {
  const b = header(SkyType.found);
  checkU('reqId', m.reqId, 0xffffffff);
  checkLen('key', m.key, KEY_BYTES);
  checkLen('holder', m.holder, ID_BYTES);
  checkU('listenPort', m.listenPort, 0xffff);
  checkU('inboxBytes', m.inboxBytes, 0xffffffff);
  checkU('expiresAt', m.expiresAt, 2 ** 53 - 1);
  putU32(b, 2, m.reqId);
  b.set(m.key, 6);
  putEndpoint(b, 38, m.observed, 'observed');
  putU16(b, 57, m.listenPort);
  putU32(b, 59, m.inboxBytes);
  b.set(m.holder, 63);
  putU64(b, 95, m.expiresAt);
  return b;
}

/** Refusals for each (reqId, code) are the same bytes; callers may cache them. */
export function encodeRefused(reqId: number, code: RefusalCode, retryAfterMs = 0): Uint8Array {
  const b = header(SkyType.refused);
  const c = REFUSAL_BYTE.get(code);
  if (c === undefined) throw new ArgumentError('code', `not a sky refusal code: ${String(code)}`);
  checkU('reqId', reqId, 0xffffffff);
  putU32(b, 2, reqId);
  b[6] = c;
  putU32(b, 7, Math.min(0xffffffff, Math.max(0, Math.ceil(retryAfterMs))));
  return b;
}

export function encodeChallenge(reqId: number, sealed: Uint8Array): Uint8Array {
  const b = header(SkyType.challenge);
  checkU('reqId', reqId, 0xffffffff);
  putU32(b, 2, reqId);
  putSealed(b, 6, sealed);
  return b;
}

export function encodePunchAt(m: Omit<PunchAtMsg, 'type'>): Uint8Array {
  const b = header(SkyType.punchAt);
  checkU('reqId', m.reqId, 0xffffffff);
  checkLen('peer', m.peer, ID_BYTES);
  checkLen('peerKey', m.peerKey, KEY_BYTES);
  checkU('delayMs', m.delayMs, 0xffff);
  putU32(b, 2, m.reqId);
  b.set(m.peer, 6);
  b.set(m.peerKey, 38);
  putEndpoint(b, 70, m.observed, 'observed');
  putU16(b, 89, m.delayMs);
  return b;
}

export function encodeSolved(credit: number): Uint8Array {
  const b = header(SkyType.solved);
  checkU('credit', credit, 0xffffffff);
  putU32(b, 2, credit);
  return b;
}

// --- decoder ---------------------------------------------------------------------------

const bad = (detail: string) => reject('ERR_SKY_MALFORMED' as const, detail);

/** Decodes exactly one whole message; never throws for any input. */
export function decodeSky(b: Uint8Array): Verdict<SkyMessage, SkyCodecCode> {
  if (!(b instanceof Uint8Array) || b.length < 2) return bad('short');
  if (b[0] !== SKY_VERSION) return bad('version');
  const type = b[1]!;
  const size = SKY_SIZES[type];
  if (size === undefined) return bad('type');
  if (b.length !== size) return bad('size');
  switch (type) {
    case SkyType.lease: {
      const time = u64(b, 34);
      if (time < 0) return bad('time');
      return accept({
        type,
        key: copy(b, 2, 34),
        time,
        durationSec: u32(b, 42),
        listenPort: u16(b, 46),
        inboxBytes: u32(b, 48),
        holder: copy(b, 52, 84),
        signature: copy(b, 84, 148),
        // A copy: the splitter's views are reused, and the signature is checked later.
        bytes: copy(b, 0, b.length),
      });
    }
    case SkyType.lookup:
    case SkyType.punch:
      return accept({ type, reqId: u32(b, 2), target: copy(b, 6, 38) });
    case SkyType.solve: {
      const sealed = readSealed(b, 10);
      if (sealed === undefined) return bad('sealed');
      return accept({ type, nonce: new DataView(b.buffer, b.byteOffset).getBigUint64(2), sealed });
    }
    case SkyType.leased: {
      const time = u64(b, 2);
      const expiresAt = u64(b, 10);
      const observed = readEndpoint(b, 18);
      if (time < 0 || expiresAt < 0 || observed === undefined) return bad('leased');
      return accept({ type, time, expiresAt, observed });
    }
    case SkyType.found: {
      const observed = readEndpoint(b, 38);
      const expiresAt = u64(b, 95);
      if (observed === undefined || expiresAt < 0 || !zeros(b, 103, 131)) return bad('found');
      return accept({
        type,
        reqId: u32(b, 2),
        key: copy(b, 6, 38),
        observed,
        listenPort: u16(b, 57),
        inboxBytes: u32(b, 59),
        holder: copy(b, 63, 95),
        expiresAt,
      });
    }
    case SkyType.refused: {
      const code = REFUSAL_CODES[b[6]! - 1];
      if (code === undefined) return bad('refusal code');
      return accept({ type, reqId: u32(b, 2), code, retryAfterMs: u32(b, 7) });
    }
    case SkyType.challenge: {
      const sealed = readSealed(b, 6);
      if (sealed === undefined) return bad('sealed');
      return accept({ type, reqId: u32(b, 2), sealed });
    }
    case SkyType.punchAt: {
      const observed = readEndpoint(b, 70);
      if (observed === undefined) return bad('observed');
      return accept({
        type,
        reqId: u32(b, 2),
        peer: copy(b, 6, 38),
        peerKey: copy(b, 38, 70),
        observed,
        delayMs: u16(b, 89),
      });
    }
    case SkyType.solved:
      return accept({ type, credit: u32(b, 2) });
  }
  return bad('type');
}

/**
 * A streaming splitter: the same messages whatever the chunk boundaries. Judges the type
 * from the second byte, so an unknown type is refused before anything else is buffered,
 * and never holds more than SKY_MAX_BYTES of an unfinished message.
 */
export class SkySplitter {
  #buf = new Uint8Array(SKY_MAX_BYTES);
  #have = 0;

  /** Bytes of an unfinished message held. */
  get pending(): number {
    return this.#have;
  }

  /**
   * Feeds one chunk; calls `out` with each whole message (a view valid only during the
   * call) and returns false at the first bad header (the rest of the chunk is ignored).
   */
  push(chunk: Uint8Array, out: (message: Uint8Array) => void): boolean {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.#have === 0) {
        // Fast path: a whole message inside the chunk, no copy.
        if (n - i >= 2) {
          if (chunk[i] !== SKY_VERSION) return false;
          const size = SKY_SIZES[chunk[i + 1]!];
          if (size === undefined) return false;
          if (n - i >= size) {
            out(chunk.subarray(i, i + size));
            i += size;
            continue;
          }
        } else if (chunk[i] !== SKY_VERSION) {
          return false;
        }
      }
      const buf = this.#buf;
      buf[this.#have++] = chunk[i++]!;
      if (this.#have < 2) continue;
      if (buf[0] !== SKY_VERSION) return false;
      const size = SKY_SIZES[buf[1]!];
      if (size === undefined) return false;
      const take = Math.min(size - this.#have, n - i);
      buf.set(chunk.subarray(i, i + take), this.#have);
      this.#have += take;
      i += take;
      if (this.#have === size) {
        this.#have = 0;
        out(buf.subarray(0, size));
      }
    }
    return true;
  }
}
