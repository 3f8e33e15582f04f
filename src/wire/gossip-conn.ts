/**
 * Seed 000's connection PoW on the Gossip P2P port: CONN_INIT (512), CONN_CHALL (513) and
 * CONN_OK (514). They travel in the clear on the TCP connection before the secure channel's
 * handshake, so that a listener spends no signature or key agreement on a dialler that has
 * not paid. Same 4-byte header as every Gossip message (`size` u16 = whole message, `type`
 * u16), integers big-endian, canonical decode only.
 *
 * ```
 * CONN_INIT (512): a challenge request, or a solution
 * 0               8              16       31
 * +-------------------------------+--------+
 * | size (123; 99/111/123)        | 512    |
 * +-------+-----------------------+--------+
 * | flags | reserved = 0 (24 bits)         |   flags: 0x01 = ChallReq, other bits 0
 * +-------+--------------------------------+
 * | Nonce (64 bits; 0 in a request)        |
 * +----------------------------------------+
 * | Cookie (83, 95 or 107 bytes) as        |   a request carries 107 zero bytes here, so
 * | received in CONN_CHALL                 |   that it is never smaller than the CONN_CHALL
 * +----------------------------------------+   it gets (no amplification)
 *
 * CONN_CHALL (513)                             CONN_OK (514)
 * +-------------------------------+--------+   +-------------------------------+--------+
 * | size (87, 99 or 111)          | 513    |   | size = 4                      | 514    |
 * +-------------------------------+--------+   +-------------------------------+--------+
 * | Cookie = Enc(Chall, both ip:port,      |
 * | timestamp): the admission core's       |
 * | sealed challenge (src/admission/       |
 * | sealed.ts); Chall, kind and difficulty |
 * | are its clear, authenticated header    |
 * +----------------------------------------+
 * ```
 *
 * The puzzle (sha256-bits): SHA-256(`"tollgate/gossip/conn/v1"` || Chall (16 bytes) || Nonce
 * as u64) has at least the sealed difficulty's leading zero bits; 47 bytes, one compression.
 * The tag keeps a dialler from being used to solve some other service's sha256-bits puzzle
 * handed to it as a CONN_CHALL.
 */
import { CHALLENGE_BYTES, readSealedHeader } from '../admission/sealed.js';
import { assertBytes } from '../util/args.js';
import { readU16, readU64, writeU16, writeU64 } from '../util/bytes.js';
import { ArgumentError, accept, reject, type Verdict } from '../util/errors.js';

export const CONN_INIT = 512;
export const CONN_CHALL = 513;
export const CONN_OK = 514;

/** The sizes a sealed challenge can have (both IPv4, one of each, both IPv6). */
export const COOKIE_SIZES = [83, 95, 107] as const;
const MAX_COOKIE = 107;
const INIT_HEAD = 16;
/** A challenge request's size: as large as a solution with the largest cookie. */
export const CONN_REQUEST_BYTES = INIT_HEAD + MAX_COOKIE;
/** The largest CONN message: what a reader buffers at most before the channel starts. */
export const CONN_MAX_BYTES = CONN_REQUEST_BYTES;
const FLAG_CHALL_REQ = 0x01;

const CONN_TAG = new TextEncoder().encode('tollgate/gossip/conn/v1');
/** Bytes the dialler hashes before its nonce: the tag and Chall. */
export const CONN_POW_PREFIX_BYTES = CONN_TAG.length + CHALLENGE_BYTES;

export interface ConnRequest {
  readonly type: typeof CONN_INIT;
  readonly challReq: true;
}
export interface ConnSolution {
  readonly type: typeof CONN_INIT;
  readonly challReq: false;
  readonly nonce: bigint;
  readonly cookie: Uint8Array;
}
export interface ConnChall {
  readonly type: typeof CONN_CHALL;
  readonly cookie: Uint8Array;
}
export interface ConnOk {
  readonly type: typeof CONN_OK;
}
export type ConnMessage = ConnRequest | ConnSolution | ConnChall | ConnOk;

export type ConnCode = 'ERR_GOSSIP_CONN_MALFORMED';

function isCookieSize(n: number): boolean {
  return n === COOKIE_SIZES[0] || n === COOKIE_SIZES[1] || n === COOKIE_SIZES[2];
}

export function encodeConn(msg: ConnMessage): Uint8Array {
  switch (msg.type) {
    case CONN_INIT: {
      if (msg.challReq) {
        const out = new Uint8Array(CONN_REQUEST_BYTES);
        writeU16(out, 0, out.length);
        writeU16(out, 2, CONN_INIT);
        out[4] = FLAG_CHALL_REQ;
        return out;
      }
      assertBytes('msg.cookie', msg.cookie, COOKIE_SIZES[0], MAX_COOKIE);
      if (!isCookieSize(msg.cookie.length))
        throw new ArgumentError('msg.cookie', 'not a sealed challenge size');
      if (typeof msg.nonce !== 'bigint' || msg.nonce < 0n || msg.nonce >= 1n << 64n) {
        throw new ArgumentError('msg.nonce', 'expected a bigint in [0, 2^64)');
      }
      const out = new Uint8Array(INIT_HEAD + msg.cookie.length);
      writeU16(out, 0, out.length);
      writeU16(out, 2, CONN_INIT);
      writeU64(out, 8, msg.nonce);
      out.set(msg.cookie, INIT_HEAD);
      return out;
    }
    case CONN_CHALL: {
      assertBytes('msg.cookie', msg.cookie, COOKIE_SIZES[0], MAX_COOKIE);
      if (!isCookieSize(msg.cookie.length))
        throw new ArgumentError('msg.cookie', 'not a sealed challenge size');
      const out = new Uint8Array(4 + msg.cookie.length);
      writeU16(out, 0, out.length);
      writeU16(out, 2, CONN_CHALL);
      out.set(msg.cookie, 4);
      return out;
    }
    case CONN_OK: {
      const out = new Uint8Array(4);
      writeU16(out, 0, 4);
      writeU16(out, 2, CONN_OK);
      return out;
    }
    default:
      throw new TypeError('msg.type: not a CONN message type');
  }
}

/** One function for every refusal: no closure made per decode (issue 12, item 1). */
function bad(detail: string): Verdict<ConnMessage, ConnCode> {
  return reject('ERR_GOSSIP_CONN_MALFORMED' as const, detail);
}

/**
 * Decodes one CONN message exactly as received. Canonical: size equals the length, flags and
 * reserved bytes as drawn, a request's nonce and padding all zero, a cookie of one of the
 * three sealed sizes whose own length field agrees and whose puzzle kind is sha256-bits (the
 * key-less checks of `readSealedHeader`; authenticity is the listener's to check).
 */
export function decodeConn(frame: Uint8Array): Verdict<ConnMessage, ConnCode> {
  if (frame.length < 4 || frame.length > CONN_MAX_BYTES) return bad(`${frame.length} bytes`);
  const size = readU16(frame, 0);
  if (size !== frame.length) return bad(`size ${size}, message ${frame.length}`);
  const type = readU16(frame, 2);
  switch (type) {
    case CONN_INIT: {
      if (size < INIT_HEAD) return bad('CONN_INIT too short');
      const flags = frame[4]!;
      if (frame[5] !== 0 || frame[6] !== 0 || frame[7] !== 0) return bad('CONN_INIT reserved');
      if (flags === FLAG_CHALL_REQ) {
        if (size !== CONN_REQUEST_BYTES) return bad('challenge request size');
        for (let i = 8; i < size; i++) if (frame[i] !== 0) return bad('challenge request padding');
        return accept({ type: CONN_INIT, challReq: true });
      }
      if (flags !== 0) return bad('CONN_INIT flags');
      const cookie = frame.slice(INIT_HEAD);
      const header = readSealedHeader(cookie);
      if (!header.ok || header.value.kind !== 'sha256-bits') return bad('CONN_INIT cookie');
      return accept({ type: CONN_INIT, challReq: false, nonce: readU64(frame, 8), cookie });
    }
    case CONN_CHALL: {
      const cookie = frame.slice(4);
      const header = readSealedHeader(cookie);
      if (!header.ok || header.value.kind !== 'sha256-bits') return bad('CONN_CHALL cookie');
      return accept({ type: CONN_CHALL, cookie });
    }
    case CONN_OK:
      if (size !== 4) return bad('CONN_OK size');
      return accept({ type: CONN_OK });
    default:
      return bad(`type ${type}`);
  }
}

/** The sha256-bits challenge of the connection PoW: tag || Chall (the nonce follows as u64). */
export function connPowPrefix(chall: Uint8Array): Uint8Array {
  assertBytes('chall', chall, CHALLENGE_BYTES, CHALLENGE_BYTES);
  const out = new Uint8Array(CONN_POW_PREFIX_BYTES);
  out.set(CONN_TAG, 0);
  out.set(chall, CONN_TAG.length);
  return out;
}
