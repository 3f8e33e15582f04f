/**
 * tollgate's Gossip P2P messages (types 504-519, free for our own use per
 * spec/voidphone-gossip.md). Each message is one message of the secure channel, so the
 * channel delimits it; the `size` field is kept (as in seed 002's drawings) and must equal the
 * message length. All integers unsigned big-endian. Canonical decode only: reserved bits zero,
 * counts and sizes exact, ids matching the content, addresses in their one canonical form.
 * Damaged frames are dropped without asking for a resend (seed 002: real-time traffic).
 *
 * ```
 * GOSSIP PUSH (504): one item                  GOSSIP IHAVE (505): ids this peer can send
 * 0               8              16       31   0               8              16       31
 * +---------------+---------------+--------+   +-------------------------------+--------+
 * | size                          | 504    |   | size                          | 505    |
 * +-------+-------+---------------+--------+   +-------------------------------+--------+
 * | TTL   | res=0 | data type              |   | count (>= 1)                  | res=0  |
 * +-------+-------+------------------------+   +-------------------------------+--------+
 * | message id (128 bits) = first 16 bytes |   | data type 1   | message id 1 (16 bytes) |
 * | of SHA-256(tag||type||salt||data)      |   |  ...          |  ... (18 bytes/entry)   |
 * +----------------------------------------+   +----------------------------------------+
 * | salt (64 bits, random per ANNOUNCE)    |
 * +----------------------------------------+
 * | data (size - 32 bytes)                 |
 * +----------------------------------------+
 *
 * GOSSIP IWANT (506): ids to send again        GOSSIP PEER REQUEST (507) (seed 002)
 * +-------------------------------+--------+   +-------------------------------+--------+
 * | size                          | 506    |   | size = 16                     | 507    |
 * +-------------------------------+--------+   +-------+-----------------------+--------+
 * | count (>= 1)                  | res=0  |   | limit | reserved = 0                   |
 * +-------------------------------+--------+   +-------+--------------------------------+
 * | message id 1 (16 bytes) ...            |   | nonce (64 bits)                        |
 * +----------------------------------------+   +----------------------------------------+
 *
 * GOSSIP PEER RESPONSE (508) (seed 002)        GOSSIP VERIFICATION REQUEST (509) (seed 002)
 * +-------------------------------+--------+   +-------------------------------+--------+
 * | size                          | 508    |   | size = 12                     | 509    |
 * +-------------------------------+--------+   +-------------------------------+--------+
 * | nonce (64 bits, echo of the request)   |   | nonce (64 bits)                        |
 * +----------------------------------------+   +----------------------------------------+
 * | challenge (64 bits, 0 = none)          |
 * +--+-------------------------------------+   GOSSIP VERIFICATION RESPONSE (510) (seed 002)
 * |X | reserved = 0 (31 bits)              |   +-------------------------------+--------+
 * +--+-------------------------------------+   | size = 20                     | 510    |
 * | addr1 (4 bytes if X=0, 16 if X=1)      |   +-------------------------------+--------+
 * | port1 (16 bits) | addr2 ...  | port2   |   | nonce (64 bits, echo of the request)   |
 * +----------------------------------------+   +----------------------------------------+
 *                                              | challenge (64 bits): the PoW solution  |
 * GOSSIP HELLO (511): where I listen           +----------------------------------------+
 * +-------------------------------+--------+   SHA-256(binding || all 20 bytes) has >= 24
 * | size = 12 or 24               | 511    |   leading zero bits, binding = SHA-256(tag ||
 * +-------+--+-----+--------------+--------+   verifier id || prover id): see below.
 * |version|X | res | port                  |
 * +-------+--+-----+-----------------------+
 * | addr (4 bytes if X=0, 16 if X=1)       |
 * +----------------------------------------+
 * ```
 *
 * Types 512-514 are seed 000's connection PoW, sent before the channel (src/wire/gossip-conn.ts);
 * 515-516 are kept for KEEP_CHALL and KEEP_POW; see docs/gossip.md.
 */
import { createHash } from 'node:crypto';
import { assertBytes, assertInteger } from '../util/args.js';
import { writeU64 as putU64, readU16, readU32, readU64, writeU16 } from '../util/bytes.js';
import { ArgumentError, accept, reject, type Verdict } from '../util/errors.js';

/** PEER REQUEST's `limit` is one byte: at most this many peers are asked for at once. */
export const PEER_REQUEST_LIMIT_MAX = 0xff;

export const GOSSIP_PUSH = 504;
export const GOSSIP_IHAVE = 505;
export const GOSSIP_IWANT = 506;
export const GOSSIP_PEER_REQUEST = 507;
export const GOSSIP_PEER_RESPONSE = 508;
export const GOSSIP_VERIFICATION_REQUEST = 509;
export const GOSSIP_VERIFICATION_RESPONSE = 510;
export const GOSSIP_HELLO = 511;

export const P2P_MAX_MESSAGE = 0xffff;
export const ITEM_ID_BYTES = 16;
export const SALT_BYTES = 8;
export const PUSH_HEAD = 8 + ITEM_ID_BYTES + SALT_BYTES;
/** Largest item `data` the P2P side carries (an ANNOUNCE may carry 16 bytes more; see docs). */
export const P2P_MAX_DATA = P2P_MAX_MESSAGE - PUSH_HEAD;
const IHAVE_ENTRY = 2 + ITEM_ID_BYTES;
export const P2P_MAX_IHAVE = Math.floor((P2P_MAX_MESSAGE - 8) / IHAVE_ENTRY);
export const P2P_MAX_IWANT = Math.floor((P2P_MAX_MESSAGE - 8) / ITEM_ID_BYTES);
export const HELLO_VERSION = 1;
/** Bytes of a VERIFICATION RESPONSE that the PoW hashes before the solution (after the binding). */
export const POW_PREFIX_BYTES = 12;
/** Bytes of the identity binding hashed before the VERIFICATION RESPONSE. */
export const POW_BINDING_BYTES = 32;

const ID_TAG = new TextEncoder().encode('tollgate/gossip/item/v2');
const VERIFY_TAG = new TextEncoder().encode('tollgate/gossip/verify/v2');

/**
 * An address a peer listens on, as bytes: 4 (IPv4) or 16 (IPv6). Text forms are the admission
 * layer's business (`hostBytes`/`formatAddressBytes` in src/admission/endpoint.ts).
 */
export interface PeerAddress {
  readonly addr: Uint8Array;
  readonly port: number;
}

export interface Push {
  readonly type: typeof GOSSIP_PUSH;
  readonly ttl: number;
  readonly dataType: number;
  readonly id: Uint8Array;
  /** Drawn per ANNOUNCE, so that the same bytes announced twice are two items (issue 10). */
  readonly salt: bigint;
  readonly data: Uint8Array;
}
export interface IHave {
  readonly type: typeof GOSSIP_IHAVE;
  readonly entries: readonly { readonly dataType: number; readonly id: Uint8Array }[];
}
export interface IWant {
  readonly type: typeof GOSSIP_IWANT;
  readonly ids: readonly Uint8Array[];
}
export interface PeerRequest {
  readonly type: typeof GOSSIP_PEER_REQUEST;
  readonly limit: number;
  readonly nonce: bigint;
}
export interface PeerResponse {
  readonly type: typeof GOSSIP_PEER_RESPONSE;
  readonly nonce: bigint;
  readonly challenge: bigint;
  /** All of one family (X flag); IPv6 when `ipv6` is true. */
  readonly ipv6: boolean;
  readonly peers: readonly PeerAddress[];
}
export interface VerificationRequest {
  readonly type: typeof GOSSIP_VERIFICATION_REQUEST;
  readonly nonce: bigint;
}
export interface VerificationResponse {
  readonly type: typeof GOSSIP_VERIFICATION_RESPONSE;
  readonly nonce: bigint;
  readonly challenge: bigint;
}
export interface Hello {
  readonly type: typeof GOSSIP_HELLO;
  readonly listen: PeerAddress;
}

export type P2PMessage =
  | Push
  | IHave
  | IWant
  | PeerRequest
  | PeerResponse
  | VerificationRequest
  | VerificationResponse
  | Hello;

export type P2PCode =
  | 'ERR_GOSSIP_P2P_SIZE'
  | 'ERR_GOSSIP_P2P_TYPE'
  | 'ERR_GOSSIP_P2P_RESERVED'
  | 'ERR_GOSSIP_P2P_ID'
  | 'ERR_GOSSIP_P2P_ADDRESS';

/**
 * The message id: the first 128 bits of SHA-256(tag || data type || salt || data). Bound to the
 * content, so that a peer cannot poison our seen set with an id that would later suppress a
 * different item; salted per announcement, so that a module announcing the same bytes twice
 * gets two items, while copies of one announcement are still suppressed.
 */
export function itemId(dataType: number, salt: bigint, data: Uint8Array): Uint8Array {
  const head = new Uint8Array(2 + SALT_BYTES);
  writeU16(head, 0, dataType);
  writeU64(head, 2, salt, 'salt');
  const digest = createHash('sha256').update(ID_TAG).update(head).update(data).digest();
  return new Uint8Array(digest.buffer, digest.byteOffset, ITEM_ID_BYTES).slice();
}

export function encodeP2P(msg: P2PMessage): Uint8Array {
  switch (msg.type) {
    case GOSSIP_PUSH: {
      assertInteger('msg.ttl', msg.ttl, 0, 0xff);
      assertInteger('msg.dataType', msg.dataType, 0, 0xffff);
      assertBytes('msg.id', msg.id, ITEM_ID_BYTES, ITEM_ID_BYTES);
      assertBytes('msg.data', msg.data, 0, P2P_MAX_DATA);
      const out = head(PUSH_HEAD + msg.data.length, GOSSIP_PUSH);
      out[4] = msg.ttl;
      writeU16(out, 6, msg.dataType);
      out.set(msg.id, 8);
      writeU64(out, 8 + ITEM_ID_BYTES, msg.salt, 'msg.salt');
      out.set(msg.data, PUSH_HEAD);
      return out;
    }
    case GOSSIP_IHAVE: {
      assertInteger('msg.entries.length', msg.entries.length, 1, P2P_MAX_IHAVE);
      const out = head(8 + IHAVE_ENTRY * msg.entries.length, GOSSIP_IHAVE);
      writeU16(out, 4, msg.entries.length);
      msg.entries.forEach((e, i) => {
        assertInteger('msg.entries[].dataType', e.dataType, 0, 0xffff);
        assertBytes('msg.entries[].id', e.id, ITEM_ID_BYTES, ITEM_ID_BYTES);
        writeU16(out, 8 + i * IHAVE_ENTRY, e.dataType);
        out.set(e.id, 10 + i * IHAVE_ENTRY);
      });
      return out;
    }
    case GOSSIP_IWANT: {
      assertInteger('msg.ids.length', msg.ids.length, 1, P2P_MAX_IWANT);
      const out = head(8 + ITEM_ID_BYTES * msg.ids.length, GOSSIP_IWANT);
      writeU16(out, 4, msg.ids.length);
      msg.ids.forEach((id, i) => {
        assertBytes('msg.ids[]', id, ITEM_ID_BYTES, ITEM_ID_BYTES);
        out.set(id, 8 + i * ITEM_ID_BYTES);
      });
      return out;
    }
    case GOSSIP_PEER_REQUEST: {
      assertInteger('msg.limit', msg.limit, 1, PEER_REQUEST_LIMIT_MAX);
      const out = head(16, GOSSIP_PEER_REQUEST);
      out[4] = msg.limit;
      writeU64(out, 8, msg.nonce, 'msg.nonce');
      return out;
    }
    case GOSSIP_PEER_RESPONSE: {
      const width = msg.ipv6 ? 16 : 4;
      assertInteger('msg.peers.length', msg.peers.length, 0, 0xff);
      const out = head(24 + (width + 2) * msg.peers.length, GOSSIP_PEER_RESPONSE);
      writeU64(out, 4, msg.nonce, 'msg.nonce');
      writeU64(out, 12, msg.challenge, 'msg.challenge');
      if (msg.ipv6) out[20] = 0x80;
      msg.peers.forEach((p, i) => {
        const at = 24 + i * (width + 2);
        writeAddress(out, at, p.addr, msg.ipv6, 'msg.peers[].addr');
        assertInteger('msg.peers[].port', p.port, 1, 0xffff);
        writeU16(out, at + width, p.port);
      });
      return out;
    }
    case GOSSIP_VERIFICATION_REQUEST: {
      const out = head(12, GOSSIP_VERIFICATION_REQUEST);
      writeU64(out, 4, msg.nonce, 'msg.nonce');
      return out;
    }
    case GOSSIP_VERIFICATION_RESPONSE: {
      const out = head(20, GOSSIP_VERIFICATION_RESPONSE);
      writeU64(out, 4, msg.nonce, 'msg.nonce');
      writeU64(out, 12, msg.challenge, 'msg.challenge');
      return out;
    }
    case GOSSIP_HELLO: {
      const ipv6 = msg.listen.addr.length === 16;
      const out = head(ipv6 ? 24 : 12, GOSSIP_HELLO);
      out[4] = HELLO_VERSION;
      if (ipv6) out[5] = 0x80;
      assertInteger('msg.listen.port', msg.listen.port, 1, 0xffff);
      writeU16(out, 6, msg.listen.port);
      writeAddress(out, 8, msg.listen.addr, ipv6, 'msg.listen.addr');
      return out;
    }
    default:
      throw new TypeError('msg.type: not a Gossip P2P message type');
  }
}

/** Decodes one P2P message exactly as received; fields are copies or views of `frame`. */
export function decodeP2P(frame: Uint8Array): Verdict<P2PMessage, P2PCode> {
  if (frame.length < 4 || frame.length > P2P_MAX_MESSAGE) {
    return reject('ERR_GOSSIP_P2P_SIZE', `${frame.length} bytes`);
  }
  const size = readU16(frame, 0);
  if (size !== frame.length) return reject('ERR_GOSSIP_P2P_SIZE', `size ${size}, message ${frame.length}`);
  const type = readU16(frame, 2);
  switch (type) {
    case GOSSIP_PUSH: {
      if (size < PUSH_HEAD) return reject('ERR_GOSSIP_P2P_SIZE', `PUSH of ${size} bytes`);
      if (frame[5] !== 0) return reject('ERR_GOSSIP_P2P_RESERVED', 'PUSH');
      const dataType = readU16(frame, 6);
      const id = frame.slice(8, 8 + ITEM_ID_BYTES);
      const salt = readU64(frame, 8 + ITEM_ID_BYTES);
      const data = frame.subarray(PUSH_HEAD);
      // The id is derived from the content, so a peer cannot poison our seen set with an id
      // that later suppresses a different, honest item.
      if (!equalBytes(id, itemId(dataType, salt, data))) return reject('ERR_GOSSIP_P2P_ID', 'PUSH');
      return accept({ type: GOSSIP_PUSH, ttl: frame[4]!, dataType, id, salt, data });
    }
    case GOSSIP_IHAVE: {
      const count = size >= 8 ? readU16(frame, 4) : 0;
      if (count < 1 || size !== 8 + count * IHAVE_ENTRY) return reject('ERR_GOSSIP_P2P_SIZE', 'IHAVE');
      if (readU16(frame, 6) !== 0) return reject('ERR_GOSSIP_P2P_RESERVED', 'IHAVE');
      const entries = [];
      for (let i = 0; i < count; i++) {
        const at = 8 + i * IHAVE_ENTRY;
        entries.push({ dataType: readU16(frame, at), id: frame.slice(at + 2, at + IHAVE_ENTRY) });
      }
      return accept({ type: GOSSIP_IHAVE, entries });
    }
    case GOSSIP_IWANT: {
      const count = size >= 8 ? readU16(frame, 4) : 0;
      if (count < 1 || size !== 8 + count * ITEM_ID_BYTES) return reject('ERR_GOSSIP_P2P_SIZE', 'IWANT');
      if (readU16(frame, 6) !== 0) return reject('ERR_GOSSIP_P2P_RESERVED', 'IWANT');
      const ids = [];
      for (let i = 0; i < count; i++)
        ids.push(frame.slice(8 + i * ITEM_ID_BYTES, 8 + (i + 1) * ITEM_ID_BYTES));
      return accept({ type: GOSSIP_IWANT, ids });
    }
    case GOSSIP_PEER_REQUEST: {
      if (size !== 16) return reject('ERR_GOSSIP_P2P_SIZE', 'PEER REQUEST');
      if (frame[5] !== 0 || readU16(frame, 6) !== 0) return reject('ERR_GOSSIP_P2P_RESERVED', 'PEER REQUEST');
      if (frame[4] === 0) return reject('ERR_GOSSIP_P2P_SIZE', 'PEER REQUEST limit 0');
      return accept({ type: GOSSIP_PEER_REQUEST, limit: frame[4]!, nonce: readU64(frame, 8) });
    }
    case GOSSIP_PEER_RESPONSE: {
      if (size < 24) return reject('ERR_GOSSIP_P2P_SIZE', 'PEER RESPONSE');
      const flags = readU32(frame, 20);
      if ((flags & 0x7fffffff) !== 0) return reject('ERR_GOSSIP_P2P_RESERVED', 'PEER RESPONSE');
      const ipv6 = flags >>> 31 === 1;
      const entry = (ipv6 ? 16 : 4) + 2;
      if ((size - 24) % entry !== 0 || (size - 24) / entry > 0xff) {
        return reject('ERR_GOSSIP_P2P_SIZE', 'PEER RESPONSE entries');
      }
      const peers: PeerAddress[] = [];
      for (let at = 24; at < size; at += entry) {
        const addr = readAddress(frame, at, ipv6);
        const port = readU16(frame, at + entry - 2);
        if (addr === undefined || port === 0) return reject('ERR_GOSSIP_P2P_ADDRESS', 'PEER RESPONSE');
        peers.push({ addr, port });
      }
      return accept({
        type: GOSSIP_PEER_RESPONSE,
        nonce: readU64(frame, 4),
        challenge: readU64(frame, 12),
        ipv6,
        peers,
      });
    }
    case GOSSIP_VERIFICATION_REQUEST:
      if (size !== 12) return reject('ERR_GOSSIP_P2P_SIZE', 'VERIFICATION REQUEST');
      return accept({ type: GOSSIP_VERIFICATION_REQUEST, nonce: readU64(frame, 4) });
    case GOSSIP_VERIFICATION_RESPONSE:
      if (size !== 20) return reject('ERR_GOSSIP_P2P_SIZE', 'VERIFICATION RESPONSE');
      return accept({
        type: GOSSIP_VERIFICATION_RESPONSE,
        nonce: readU64(frame, 4),
        challenge: readU64(frame, 12),
      });
    case GOSSIP_HELLO: {
      if (size !== 12 && size !== 24) return reject('ERR_GOSSIP_P2P_SIZE', 'HELLO');
      const ipv6 = frame[5] === 0x80;
      if (frame[4] !== HELLO_VERSION || (frame[5] !== 0 && !ipv6) || (size === 24) !== ipv6) {
        return reject('ERR_GOSSIP_P2P_RESERVED', 'HELLO');
      }
      const addr = readAddress(frame, 8, ipv6);
      const port = readU16(frame, 6);
      if (addr === undefined || port === 0) return reject('ERR_GOSSIP_P2P_ADDRESS', 'HELLO');
      return accept({ type: GOSSIP_HELLO, listen: { addr, port } });
    }
    default:
      return reject('ERR_GOSSIP_P2P_TYPE', `type ${type}`);
  }
}

/**
 * Seed 002 hashes "the GOSSIP VERIFICATION RESPONSE"; we hash it behind a binding to the two
 * identities, SHA-256(tag || u8 len || verifier || u8 len || prover) over their UTF-8 text, so
 * that a puzzle one peer was asked to solve cannot be passed on to another peer to solve for
 * it (a PoW oracle: the relayed puzzle would be bound to the wrong pair). The verifier's fresh
 * 64-bit nonce already makes each puzzle unique to one link.
 */
export function verificationBinding(verifier: string, prover: string): Uint8Array {
  const v = Buffer.from(verifier, 'utf8');
  const p = Buffer.from(prover, 'utf8');
  if (v.length > 0xff || p.length > 0xff) throw new ArgumentError('identity', 'longer than 255 bytes');
  const digest = createHash('sha256')
    .update(VERIFY_TAG)
    .update(Uint8Array.of(v.length))
    .update(v)
    .update(Uint8Array.of(p.length))
    .update(p)
    .digest();
  return new Uint8Array(digest.buffer, digest.byteOffset, POW_BINDING_BYTES).slice();
}

/** The puzzle of a received VERIFICATION RESPONSE as sha256-bits reads it: binding || bytes 0..11, nonce = bytes 12..19. */
export function verificationPowParts(
  frame: Uint8Array,
  binding: Uint8Array,
): { challenge: Uint8Array; nonce: bigint } {
  const challenge = new Uint8Array(POW_BINDING_BYTES + POW_PREFIX_BYTES);
  challenge.set(binding, 0);
  challenge.set(frame.subarray(0, POW_PREFIX_BYTES), POW_BINDING_BYTES);
  return { challenge, nonce: readU64(frame, POW_PREFIX_BYTES) };
}

/** The bytes a prover hashes before its solution: the binding, then a VERIFICATION RESPONSE head with `nonce`. */
export function verificationPowPrefix(nonce: bigint, binding: Uint8Array): Uint8Array {
  const head = encodeP2P({ type: GOSSIP_VERIFICATION_RESPONSE, nonce, challenge: 0n });
  return verificationPowParts(head, binding).challenge;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

function head(size: number, type: number): Uint8Array {
  const out = new Uint8Array(size);
  writeU16(out, 0, size);
  writeU16(out, 2, type);
  return out;
}

// Kept as an export of this module for its callers; the helper is src/util/bytes.ts's.
export { readU64 };

function writeU64(b: Uint8Array, at: number, v: bigint, name: string): void {
  if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) {
    throw new ArgumentError(name, 'expected a bigint in [0, 2^64)');
  }
  putU64(b, at, v);
}

function writeAddress(out: Uint8Array, at: number, addr: Uint8Array, ipv6: boolean, name: string): void {
  if (!(addr instanceof Uint8Array) || addr.length !== (ipv6 ? 16 : 4) || !usableAddress(addr)) {
    throw new ArgumentError(name, `expected ${ipv6 ? 16 : 4} address bytes, not unspecified or IPv4-mapped`);
  }
  out.set(addr, at);
}

/** One canonical form per address: no unspecified address, IPv4 never as IPv4-mapped IPv6. */
function usableAddress(addr: Uint8Array): boolean {
  if (addr.every((x) => x === 0)) return false;
  if (
    addr.length === 16 &&
    addr.subarray(0, 10).every((x) => x === 0) &&
    addr[10] === 0xff &&
    addr[11] === 0xff
  ) {
    return false;
  }
  return true;
}

function readAddress(b: Uint8Array, at: number, ipv6: boolean): Uint8Array | undefined {
  const addr = b.slice(at, at + (ipv6 ? 16 : 4));
  return usableAddress(addr) ? addr : undefined;
}

/**
 * The item id a PUSH frame claims, without decoding or hashing it (undefined when the frame is
 * not a PUSH of a plausible size). Only for telling duplicates apart cheaply: a new id must
 * still pass `decodeP2P`, which checks it against the content.
 */
export function peekPushId(frame: Uint8Array): Uint8Array | undefined {
  if (frame.length < PUSH_HEAD || readU16(frame, 2) !== GOSSIP_PUSH) return undefined;
  return frame.subarray(8, 8 + ITEM_ID_BYTES);
}
