/**
 * The secure channel's handshake messages (seed 004, hardened; docs/secure-channel.md).
 *
 * All integers are unsigned big-endian. Every message starts with the same header:
 *
 *    0        1        2                 4
 *   +--------+--------+-----------------+
 *   | ver=1  |  type  |  length (u16)   |   length = bytes after this header
 *   +--------+--------+-----------------+
 *
 * HELLO (type 1, initiator -> responder) and REPLY (type 2, responder -> initiator) carry
 * the seed's m = DHE_pub | identity pubkey | T | ip:port of the other side | nonce:
 *
 *   +--------+--------+--------+--------+
 *   | sigAlg | powKind| powBits|   0    |   sigAlg 1 = Ed25519, 2 = RSA-PSS/SHA3-256
 *   +--------+--------+--------+--------+   powKind 0 = none, 1 = scrypt, 2 = sha256-bits
 *   |  ephemeral X25519 public key (32) |   DHE_pub, fresh per handshake
 *   +-----------------------------------+
 *   |  T: Unix seconds (u64)            |
 *   +--------+--------------------------+
 *   | family | ip (4 if 4, 16 if 6)     |   ip:port of the other side as this side sees it
 *   +--------+--------+-----------------+   (src/admission/endpoint.ts binary form);
 *   | port (u16)      |                     IPv4-mapped IPv6 is sent as family 4
 *   +-----------------+-----------------+
 *   |  nonce (16 random bytes)          |
 *   +-----------------+-----------------+
 *   | keyLen (u16)    | DER SPKI (keyLen)   identity public key
 *   +-----------------+-----------------+ <- end of m (the signed and PoW'd fields)
 *   |  pow solution (u64)               |   0 when powKind = 0
 *   +-----------------+-----------------+
 *   | sigLen (u16)    | signature (sigLen)
 *   +-----------------+-----------------+
 *   |  confirm: HMAC-SHA256 (32)        |   REPLY only
 *   +-----------------------------------+
 *
 * FINISH (type 3, initiator -> responder):
 *
 *   | sigLen (u16) | signature (sigLen) | confirm: HMAC-SHA256 (32) |
 *
 * ALERT (type 4, either way, then close): | codeLen (u8) | code (ASCII, [A-Z0-9_]) |
 *
 * Decoding is canonical: one byte string per message. Reserved bits are zero, lengths match
 * the algorithm, nothing trails, and every size is bounded before anything is buffered.
 * What is signed, hashed and PoW'd are the bytes as received, never a re-encoding
 * (DESIGN "Wire codecs").
 */
import { readU16, readU64, writeU16, writeU64 } from '../util/bytes.js';
import { accept, reject, type Verdict } from '../util/errors.js';

/** Domain-separation label: prefixes every signed, hashed, MAC'd and PoW'd input. */
export const HANDSHAKE_LABEL = new TextEncoder().encode('tollgate/secure-channel/v1');
export const HANDSHAKE_VERSION = 1;
export const HEADER_BYTES = 4;
export const EPHEMERAL_BYTES = 32;
export const NONCE_BYTES = 16;
export const CONFIRM_BYTES = 32;
/** Largest handshake message on the wire; a peer announcing more is cut off at the header. */
export const HANDSHAKE_MAX_BYTES = 1400;
const MAX_ALERT_CODE = 40;

export const MessageType = { hello: 1, reply: 2, finish: 3, alert: 4 } as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export const SigAlg = { ed25519: 1, rsaPssSha3: 2 } as const;
export type SigAlg = (typeof SigAlg)[keyof typeof SigAlg];

export const PowKind = { none: 0, scrypt: 1, sha256Bits: 2 } as const;
export type PowKind = (typeof PowKind)[keyof typeof PowKind];

/** Reason codes of the codec (docs/errors.md). */
export type HandshakeCodecCode =
  | 'ERR_HS_MALFORMED'
  | 'ERR_HS_VERSION'
  | 'ERR_HS_TOO_LARGE'
  | 'ERR_HS_UNEXPECTED';

/** The fields HELLO and REPLY share (the seed's m plus our additions). */
export interface KeyShareFields {
  readonly sigAlg: SigAlg;
  readonly powKind: PowKind;
  readonly powBits: number;
  readonly ephemeral: Uint8Array;
  readonly time: number;
  /** The other side's ip:port in the binary endpoint form (7 or 19 bytes). */
  readonly address: Uint8Array;
  readonly nonce: Uint8Array;
  readonly key: Uint8Array;
}

export interface KeyShare extends KeyShareFields {
  readonly type: 1 | 2;
  readonly pow: bigint;
  readonly signature: Uint8Array;
  /** REPLY only: the responder's key confirmation. */
  readonly confirm: Uint8Array | undefined;
  /** The whole message as received. */
  readonly bytes: Uint8Array;
  /** Offset of the end of m (after the key): bytes[HEADER_BYTES..mEnd] is m. */
  readonly mEnd: number;
  /** Offset after the pow solution: bytes[0..powEnd] is what the signature covers. */
  readonly powEnd: number;
  /** Offset after the signature. */
  readonly sigEnd: number;
}

export interface Finish {
  readonly type: 3;
  readonly signature: Uint8Array;
  readonly confirm: Uint8Array;
  readonly bytes: Uint8Array;
  readonly sigEnd: number;
}

export interface Alert {
  readonly type: 4;
  readonly code: string;
}

/** Signature length each algorithm may carry (RSA: one per accepted modulus size). */
export function signatureLengths(alg: SigAlg): readonly number[] {
  return alg === SigAlg.ed25519 ? [64] : [256, 384, 512];
}

const KEY_LENGTHS: Record<SigAlg, readonly [number, number]> = {
  // Ed25519 SPKI is exactly 44 bytes; RSA SPKI for 2048..4096-bit moduli with e = 65537.
  [SigAlg.ed25519]: [44, 44],
  [SigAlg.rsaPssSha3]: [294, 550],
};

// ---------------------------------------------------------------------------------------
// Addresses: the admission layer's binary endpoint (family | ip | port, 7 or 19 bytes),
// produced from text by src/admission/endpoint.ts. The codec only checks its canonical shape.

function isMappedV4(ip: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return false;
  return ip[10] === 0xff && ip[11] === 0xff;
}

export function sameAddress(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------
// Encoding

function header(out: Uint8Array, type: MessageType): void {
  out[0] = HANDSHAKE_VERSION;
  out[1] = type;
  writeU16(out, 2, out.length - HEADER_BYTES);
}

/** Length of the key share message for these fields and signature length. */
export function keyShareLength(fields: KeyShareFields, type: 1 | 2, sigLen: number): number {
  return (
    HEADER_BYTES +
    4 +
    EPHEMERAL_BYTES +
    8 +
    fields.address.length +
    NONCE_BYTES +
    2 +
    fields.key.length +
    8 +
    2 +
    sigLen +
    (type === MessageType.reply ? CONFIRM_BYTES : 0)
  );
}

/**
 * Encodes HELLO or REPLY with the signature and confirm areas zeroed, and returns the offsets:
 * the PoW is solved over m, then the signature over bytes[0..powEnd] is filled in with
 * `fillKeyShare`. Encoding in two steps keeps the signed bytes identical to the sent bytes.
 */
export function encodeKeyShare(
  type: 1 | 2,
  fields: KeyShareFields,
  sigLen: number,
): { bytes: Uint8Array; mEnd: number; powEnd: number; sigEnd: number } {
  const bytes = new Uint8Array(keyShareLength(fields, type, sigLen));
  header(bytes, type);
  let o = HEADER_BYTES;
  bytes[o++] = fields.sigAlg;
  bytes[o++] = fields.powKind;
  bytes[o++] = fields.powBits;
  bytes[o++] = 0;
  bytes.set(fields.ephemeral, o);
  o += EPHEMERAL_BYTES;
  writeU64(bytes, o, BigInt(fields.time));
  o += 8;
  bytes.set(fields.address, o);
  o += fields.address.length;
  bytes.set(fields.nonce, o);
  o += NONCE_BYTES;
  writeU16(bytes, o, fields.key.length);
  o += 2;
  bytes.set(fields.key, o);
  o += fields.key.length;
  const mEnd = o;
  const powEnd = mEnd + 8;
  writeU16(bytes, powEnd, sigLen);
  return { bytes, mEnd, powEnd, sigEnd: powEnd + 2 + sigLen };
}

/** Writes the pow solution into an encoded key share. */
export function fillPow(bytes: Uint8Array, mEnd: number, pow: bigint): void {
  writeU64(bytes, mEnd, pow);
}

/** Writes the signature (and for REPLY the confirm) into an encoded key share. */
export function fillSignature(bytes: Uint8Array, powEnd: number, signature: Uint8Array): void {
  bytes.set(signature, powEnd + 2);
}

export function encodeFinish(signature: Uint8Array, confirm: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES + 2 + signature.length + CONFIRM_BYTES);
  header(bytes, MessageType.finish);
  writeU16(bytes, HEADER_BYTES, signature.length);
  bytes.set(signature, HEADER_BYTES + 2);
  bytes.set(confirm, HEADER_BYTES + 2 + signature.length);
  return bytes;
}

export function encodeAlert(code: string): Uint8Array {
  const ascii = new TextEncoder().encode(code.slice(0, MAX_ALERT_CODE));
  const bytes = new Uint8Array(HEADER_BYTES + 1 + ascii.length);
  header(bytes, MessageType.alert);
  bytes[HEADER_BYTES] = ascii.length;
  bytes.set(ascii, HEADER_BYTES + 1);
  return bytes;
}

// ---------------------------------------------------------------------------------------
// Decoding

/**
 * Judges a message header: how many bytes the whole message has, or why to stop reading.
 * Called as soon as 4 bytes are in, so an oversized or foreign stream is cut off at once.
 */
export function readHeader(head: Uint8Array): Verdict<{ type: number; total: number }, HandshakeCodecCode> {
  if (head.length < HEADER_BYTES) return reject('ERR_HS_MALFORMED', 'short header');
  if (head[0] !== HANDSHAKE_VERSION) return reject('ERR_HS_VERSION', `version ${head[0]}`);
  const length = readU16(head, 2);
  const total = HEADER_BYTES + length;
  if (total > HANDSHAKE_MAX_BYTES) return reject('ERR_HS_TOO_LARGE', `${total} bytes`);
  return accept({ type: head[1] ?? 0, total });
}

function framed(bytes: Uint8Array, expected: MessageType): Verdict<{ end: number }, HandshakeCodecCode> {
  const head = readHeader(bytes);
  if (!head.ok) return head;
  if (head.value.total !== bytes.length) return reject('ERR_HS_MALFORMED', 'length field does not match');
  if (head.value.type === MessageType.alert && expected !== MessageType.alert) {
    return reject('ERR_HS_UNEXPECTED', 'alert');
  }
  if (head.value.type !== expected) return reject('ERR_HS_UNEXPECTED', `type ${head.value.type}`);
  return accept({ end: bytes.length });
}

/** Decodes HELLO (type 1) or REPLY (type 2); canonical form only. */
export function decodeKeyShare(bytes: Uint8Array, type: 1 | 2): Verdict<KeyShare, HandshakeCodecCode> {
  const f = framed(bytes, type);
  if (!f.ok) return f;
  const { end } = f.value;
  const bad = (detail: string) => reject('ERR_HS_MALFORMED' as const, detail);
  let o = HEADER_BYTES;
  const need = (n: number) => o + n <= end;
  if (!need(4 + EPHEMERAL_BYTES + 8 + 1)) return bad('short');
  const sigAlg = bytes[o++]!;
  const powKind = bytes[o++]!;
  const powBits = bytes[o++]!;
  const reserved = bytes[o++]!;
  if (sigAlg !== SigAlg.ed25519 && sigAlg !== SigAlg.rsaPssSha3) return bad(`sigAlg ${sigAlg}`);
  if (powKind !== PowKind.none && powKind !== PowKind.scrypt && powKind !== PowKind.sha256Bits) {
    return bad(`powKind ${powKind}`);
  }
  if (powKind === PowKind.none && powBits !== 0) return bad('powBits without a PoW');
  if (reserved !== 0) return bad('reserved byte');
  const ephemeral = bytes.slice(o, o + EPHEMERAL_BYTES);
  o += EPHEMERAL_BYTES;
  const t = readU64(bytes, o);
  o += 8;
  if (t > BigInt(Number.MAX_SAFE_INTEGER)) return bad('timestamp');
  const family = bytes[o]!;
  if (family !== 4 && family !== 6) return bad(`address family ${family}`);
  const addrLen = family === 4 ? 7 : 19;
  if (!need(addrLen + NONCE_BYTES + 2)) return bad('short');
  const address = bytes.slice(o, o + addrLen);
  o += addrLen;
  if (family === 6 && isMappedV4(address.subarray(1, 17))) return bad('IPv4-mapped address sent as IPv6');
  if (readU16(bytes, o - 2) === 0) return bad('port 0');
  const nonce = bytes.slice(o, o + NONCE_BYTES);
  o += NONCE_BYTES;
  const keyLen = readU16(bytes, o);
  o += 2;
  const [minKey, maxKey] = KEY_LENGTHS[sigAlg as SigAlg];
  if (keyLen < minKey || keyLen > maxKey) return bad(`key length ${keyLen}`);
  if (!need(keyLen + 8 + 2)) return bad('short');
  const key = bytes.slice(o, o + keyLen);
  o += keyLen;
  const mEnd = o;
  const pow = readU64(bytes, o);
  o += 8;
  if (powKind === PowKind.none && pow !== 0n) return bad('pow solution without a PoW');
  const powEnd = o;
  const sigLen = readU16(bytes, o);
  o += 2;
  if (!signatureLengths(sigAlg as SigAlg).includes(sigLen)) return bad(`signature length ${sigLen}`);
  if (!need(sigLen)) return bad('short');
  const signature = bytes.slice(o, o + sigLen);
  o += sigLen;
  const sigEnd = o;
  let confirm: Uint8Array | undefined;
  if (type === MessageType.reply) {
    if (!need(CONFIRM_BYTES)) return bad('short');
    confirm = bytes.slice(o, o + CONFIRM_BYTES);
    o += CONFIRM_BYTES;
  }
  if (o !== end) return bad('trailing bytes');
  return accept({
    type,
    sigAlg: sigAlg as SigAlg,
    powKind: powKind as PowKind,
    powBits,
    ephemeral,
    time: Number(t),
    address,
    nonce,
    key,
    pow,
    signature,
    confirm,
    bytes,
    mEnd,
    powEnd,
    sigEnd,
  });
}

export function decodeFinish(bytes: Uint8Array): Verdict<Finish, HandshakeCodecCode> {
  const f = framed(bytes, MessageType.finish);
  if (!f.ok) return f;
  const { end } = f.value;
  if (end < HEADER_BYTES + 2) return reject('ERR_HS_MALFORMED', 'short');
  const sigLen = readU16(bytes, HEADER_BYTES);
  if (![64, 256, 384, 512].includes(sigLen)) return reject('ERR_HS_MALFORMED', `signature length ${sigLen}`);
  const sigEnd = HEADER_BYTES + 2 + sigLen;
  if (sigEnd + CONFIRM_BYTES !== end) return reject('ERR_HS_MALFORMED', 'length');
  return accept({
    type: 3,
    signature: bytes.slice(HEADER_BYTES + 2, sigEnd),
    confirm: bytes.slice(sigEnd),
    bytes,
    sigEnd,
  });
}

/** Decodes an ALERT; its code is shown to people, so only [A-Z0-9_] is accepted. */
export function decodeAlert(bytes: Uint8Array): Verdict<Alert, HandshakeCodecCode> {
  const f = framed(bytes, MessageType.alert);
  if (!f.ok) return f;
  const len = bytes[HEADER_BYTES];
  if (len === undefined || len > MAX_ALERT_CODE || HEADER_BYTES + 1 + len !== bytes.length) {
    return reject('ERR_HS_MALFORMED', 'alert length');
  }
  const code = new TextDecoder().decode(bytes.subarray(HEADER_BYTES + 1));
  if (!/^[A-Z0-9_]*$/.test(code)) return reject('ERR_HS_MALFORMED', 'alert code');
  return accept({ type: 4, code });
}
