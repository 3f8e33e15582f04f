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
export const GOSSIP_KEEP_CHALL = 515;
export const GOSSIP_KEEP_POW = 516;

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
const KEEP_TAG = new TextEncoder().encode('tollgate/gossip/keep/v1');
export const KEEP_CHALL_BYTES = 16;
/** Fixed part of a KEEP entry: Chall, flags, reserved, both ports. */
const KEEP_ENTRY_HEAD = KEEP_CHALL_BYTES + 6;
/** Most entries one KEEP_POW can carry on the wire (the engine's `keepMaxChalls` is lower). */
export const P2P_MAX_KEEP_ENTRIES = 1024;
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

/**
 * One KEEP_CHALL as it is listed in a KEEP_POW (seed 000: "Chall: random integer; IP: both
 * IPs of peers"): the challenger's random Chall, its own address and the prover's address as
 * the challenger's connection sees them.
 */
export interface KeepEntry {
  readonly chall: Uint8Array;
  readonly challenger: PeerAddress;
  readonly prover: PeerAddress;
}
export interface KeepChall {
  readonly type: typeof GOSSIP_KEEP_CHALL;
  /** The global round: floor(unix ms / keep period). */
  readonly round: bigint;
  readonly entry: KeepEntry;
}
export interface KeepPow {
  readonly type: typeof GOSSIP_KEEP_POW;
  readonly round: bigint;
  readonly nonce: bigint;
  /** Strictly ascending by Chall (the canonical order the PoW hashes). */
  readonly entries: readonly KeepEntry[];
}

export type P2PMessage =
  | KeepChall
  | KeepPow
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
  | 'ERR_GOSSIP_P2P_ADDRESS'
  | 'ERR_GOSSIP_P2P_ORDER';

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
    case GOSSIP_KEEP_CHALL: {
      const entry = encodeKeepEntry(msg.entry, 'msg.entry');
      const out = head(12 + entry.length, GOSSIP_KEEP_CHALL);
      writeU64(out, 4, msg.round, 'msg.round');
      out.set(entry, 12);
      return out;
    }
    case GOSSIP_KEEP_POW: {
      assertInteger('msg.entries.length', msg.entries.length, 1, P2P_MAX_KEEP_ENTRIES);
      const entries = msg.entries.map((e, i) => encodeKeepEntry(e, `msg.entries[${i}]`));
      for (let i = 1; i < entries.length; i++) {
        if (compareBytes(msg.entries[i - 1]!.chall, msg.entries[i]!.chall) >= 0) {
          throw new ArgumentError('msg.entries', 'not strictly ascending by chall');
        }
      }
      const total = 24 + entries.reduce((n, e) => n + e.length, 0);
      if (total > P2P_MAX_MESSAGE) throw new ArgumentError('msg.entries', 'too large for one message');
      const out = head(total, GOSSIP_KEEP_POW);
      writeU64(out, 4, msg.round, 'msg.round');
      writeU64(out, 12, msg.nonce, 'msg.nonce');
      writeU16(out, 20, entries.length);
      let at = 24;
      for (const e of entries) {
        out.set(e, at);
        at += e.length;
      }
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
    case GOSSIP_KEEP_CHALL: {
      if (size < 12) return reject('ERR_GOSSIP_P2P_SIZE', 'KEEP_CHALL');
      const e = decodeKeepEntry(frame, 12);
      if (!e.ok) return e;
      if (e.value.end !== size) return reject('ERR_GOSSIP_P2P_SIZE', 'KEEP_CHALL');
      return accept({ type: GOSSIP_KEEP_CHALL, round: readU64(frame, 4), entry: e.value.entry });
    }
    case GOSSIP_KEEP_POW: {
      if (size < 24) return reject('ERR_GOSSIP_P2P_SIZE', 'KEEP_POW');
      const count = readU16(frame, 20);
      if (readU16(frame, 22) !== 0) return reject('ERR_GOSSIP_P2P_RESERVED', 'KEEP_POW');
      if (count < 1 || count > P2P_MAX_KEEP_ENTRIES) return reject('ERR_GOSSIP_P2P_SIZE', 'KEEP_POW count');
      const entries: KeepEntry[] = [];
      let at = 24;
      for (let i = 0; i < count; i++) {
        const e = decodeKeepEntry(frame, at);
        if (!e.ok) return e;
        // Canonical order: strictly ascending Chall, so one list has one encoding (and no repeats).
        if (i > 0 && compareBytes(entries[i - 1]!.chall, e.value.entry.chall) >= 0) {
          return reject('ERR_GOSSIP_P2P_ORDER', 'KEEP_POW');
        }
        entries.push(e.value.entry);
        at = e.value.end;
      }
      if (at !== size) return reject('ERR_GOSSIP_P2P_SIZE', 'KEEP_POW');
      return accept({ type: GOSSIP_KEEP_POW, round: readU64(frame, 4), nonce: readU64(frame, 12), entries });
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
 * KEEP entry: Chall (16) | flags (bit 7: challenger IPv6, bit 6: prover IPv6, others 0) |
 * reserved = 0 | challenger port | prover port | challenger addr (4/16) | prover addr (4/16).
 */
function encodeKeepEntry(e: KeepEntry, name: string): Uint8Array {
  assertBytes(`${name}.chall`, e.chall, KEEP_CHALL_BYTES, KEEP_CHALL_BYTES);
  const c6 = e.challenger.addr.length === 16;
  const p6 = e.prover.addr.length === 16;
  const out = new Uint8Array(KEEP_ENTRY_HEAD + e.challenger.addr.length + e.prover.addr.length);
  out.set(e.chall, 0);
  out[16] = (c6 ? 0x80 : 0) | (p6 ? 0x40 : 0);
  assertInteger(`${name}.challenger.port`, e.challenger.port, 1, 0xffff);
  assertInteger(`${name}.prover.port`, e.prover.port, 1, 0xffff);
  writeU16(out, 18, e.challenger.port);
  writeU16(out, 20, e.prover.port);
  writeAddress(out, KEEP_ENTRY_HEAD, e.challenger.addr, c6, `${name}.challenger.addr`);
  writeAddress(out, KEEP_ENTRY_HEAD + e.challenger.addr.length, e.prover.addr, p6, `${name}.prover.addr`);
  return out;
}

function decodeKeepEntry(b: Uint8Array, at: number): Verdict<{ entry: KeepEntry; end: number }, P2PCode> {
  if (b.length < at + KEEP_ENTRY_HEAD) return reject('ERR_GOSSIP_P2P_SIZE', 'KEEP entry');
  const flags = b[at + 16]!;
  if ((flags & 0x3f) !== 0 || b[at + 17] !== 0) return reject('ERR_GOSSIP_P2P_RESERVED', 'KEEP entry');
  const c6 = (flags & 0x80) !== 0;
  const p6 = (flags & 0x40) !== 0;
  const end = at + KEEP_ENTRY_HEAD + (c6 ? 16 : 4) + (p6 ? 16 : 4);
  if (b.length < end) return reject('ERR_GOSSIP_P2P_SIZE', 'KEEP entry');
  const cPort = readU16(b, at + 18);
  const pPort = readU16(b, at + 20);
  const cAddr = readAddress(b, at + KEEP_ENTRY_HEAD, c6);
  const pAddr = readAddress(b, at + KEEP_ENTRY_HEAD + (c6 ? 16 : 4), p6);
  if (cAddr === undefined || pAddr === undefined || cPort === 0 || pPort === 0) {
    return reject('ERR_GOSSIP_P2P_ADDRESS', 'KEEP entry');
  }
  return accept({
    entry: {
      chall: b.slice(at, at + KEEP_CHALL_BYTES),
      challenger: { addr: cAddr, port: cPort },
      prover: { addr: pAddr, port: pPort },
    },
    end,
  });
}

/** Unsigned lexicographic order of two byte strings. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * The challenge of a KEEP_POW's puzzle (seed 000 "Continuously asking for PoW", step 3: one
 * PoW over all the KEEP_CHALLs received): SHA-256(tag || u8 length || prover identity ||
 * round u64 || count u16 || reserved u16 || the entries as encoded, in ascending Chall
 * order), that is, the KEEP_POW's own bytes 4..11 and 20..end behind the prover's identity.
 * The PoW then is sha256-bits over these 32 bytes with the nonce last: SHA-256(digest ||
 * nonce u64) has `keep_bits` leading zero bits. The identity makes one solution worth one
 * identity's links only; the entries make it worth this round only.
 */
export function keepPowChallenge(prover: string, frame: Uint8Array): Uint8Array {
  const p = Buffer.from(prover, 'utf8');
  if (p.length > 0xff) throw new ArgumentError('prover', 'longer than 255 bytes');
  const digest = createHash('sha256')
    .update(KEEP_TAG)
    .update(Uint8Array.of(p.length))
    .update(p)
    .update(frame.subarray(4, 12))
    .update(frame.subarray(20))
    .digest();
  return new Uint8Array(digest.buffer, digest.byteOffset, 32).slice();
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
