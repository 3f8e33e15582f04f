/**
 * Messages between earth nodes. A link starts with one plaintext ANNOUNCE naming the
 * dialling node's key (seed 003: "earth nodes will only keep track of nodes which have
 * preemptively announced their lease"); the other side checks that key's lease at a sky
 * node, then both run the secure channel handshake (seed 004), and everything after travels
 * inside the channel's messages. All integers unsigned big-endian.
 *
 *   ANNOUNCE (plaintext, 34 bytes): | ver=1 | type=0x20 | key (32) |
 *
 * Inside the channel, one message per channel message, first byte = type:
 *
 *   DELIVER (1):   | to (32) | keepSec u32 | nonce u64 | data ... |
 *                  to the receiver itself, or to a node it stores for; keepSec and nonce
 *                  pay the storage price (0 when delivered directly)
 *   FORWARD (2):   | from (32) | data ... |   a message for the receiver, from `from`
 *   RESULT (3):    | status u8 | bits u8 | codeLen u8 | code (ASCII) |
 *                  status 0 delivered, 1 stored, 2 relayed, 3 refused (code says why;
 *                  bits = the PoW the price asks for when the code is ERR_EARTH_UNPAID)
 *   SUBSCRIBE (4): | (nothing) |   "store for me, and hand me what you hold"
 *
 * Decoding is canonical: nothing trails a fixed part, codes are [A-Z0-9_], statuses known.
 */
import { createHash } from 'node:crypto';
import { ArgumentError, accept, reject, type Verdict } from '../util/errors.js';

export const EARTH_VERSION = 1;
export const ANNOUNCE_TYPE = 0x20;
export const ANNOUNCE_BYTES = 34;
export const EarthType = { deliver: 1, forward: 2, result: 3, subscribe: 4 } as const;
export const ResultStatus = { delivered: 0, stored: 1, relayed: 2, refused: 3 } as const;
export type ResultStatus = (typeof ResultStatus)[keyof typeof ResultStatus];
const STORE_LABEL = new TextEncoder().encode('tollgate/earth/store/v1');

export type EarthMessage =
  | {
      readonly type: 1;
      readonly to: Uint8Array;
      readonly keepSec: number;
      readonly nonce: bigint;
      readonly data: Uint8Array;
    }
  | { readonly type: 2; readonly from: Uint8Array; readonly data: Uint8Array }
  | { readonly type: 3; readonly status: ResultStatus; readonly bits: number; readonly code: string }
  | { readonly type: 4 };

export function encodeAnnounce(key: Uint8Array): Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new ArgumentError('key', 'expected 32 bytes');
  const b = new Uint8Array(ANNOUNCE_BYTES);
  b[0] = EARTH_VERSION;
  b[1] = ANNOUNCE_TYPE;
  b.set(key, 2);
  return b;
}

export function decodeAnnounce(b: Uint8Array): Verdict<Uint8Array, 'ERR_EARTH_MALFORMED'> {
  if (b.length !== ANNOUNCE_BYTES || b[0] !== EARTH_VERSION || b[1] !== ANNOUNCE_TYPE) {
    return reject('ERR_EARTH_MALFORMED', 'announce');
  }
  return accept(new Uint8Array(b.subarray(2)));
}

export function encodeDeliver(to: Uint8Array, keepSec: number, nonce: bigint, data: Uint8Array): Uint8Array {
  if (to.length !== 32) throw new ArgumentError('to', 'expected 32 bytes');
  if (!Number.isInteger(keepSec) || keepSec < 0 || keepSec > 0xffffffff)
    throw new ArgumentError('keepSec', 'expected a u32');
  const b = new Uint8Array(45 + data.length);
  b[0] = EarthType.deliver;
  b.set(to, 1);
  const v = new DataView(b.buffer);
  v.setUint32(33, keepSec);
  v.setBigUint64(37, nonce);
  b.set(data, 45);
  return b;
}

export function encodeForward(from: Uint8Array, data: Uint8Array): Uint8Array {
  const b = new Uint8Array(33 + data.length);
  b[0] = EarthType.forward;
  b.set(from, 1);
  b.set(data, 33);
  return b;
}

export function encodeResult(status: ResultStatus, code = '', bits = 0): Uint8Array {
  if (!/^[A-Z0-9_]{0,64}$/.test(code)) throw new ArgumentError('code', 'expected [A-Z0-9_]{0,64}');
  const b = new Uint8Array(4 + code.length);
  b[0] = EarthType.result;
  b[1] = status;
  b[2] = bits;
  b[3] = code.length;
  b.set(new TextEncoder().encode(code), 4);
  return b;
}

export const SUBSCRIBE = Uint8Array.from([EarthType.subscribe]);

export function decodeEarth(
  b: Uint8Array,
  maxData: number,
): Verdict<EarthMessage, 'ERR_EARTH_MALFORMED' | 'ERR_EARTH_TOO_LARGE'> {
  const bad = (d: string) => reject('ERR_EARTH_MALFORMED' as const, d);
  if (b.length < 1) return bad('empty');
  switch (b[0]) {
    case EarthType.deliver: {
      if (b.length < 45) return bad('deliver');
      if (b.length - 45 > maxData) return reject('ERR_EARTH_TOO_LARGE');
      const v = new DataView(b.buffer, b.byteOffset, b.length);
      return accept({
        type: 1,
        to: new Uint8Array(b.subarray(1, 33)),
        keepSec: v.getUint32(33),
        nonce: v.getBigUint64(37),
        data: new Uint8Array(b.subarray(45)),
      });
    }
    case EarthType.forward:
      if (b.length < 33) return bad('forward');
      if (b.length - 33 > maxData) return reject('ERR_EARTH_TOO_LARGE');
      return accept({
        type: 2,
        from: new Uint8Array(b.subarray(1, 33)),
        data: new Uint8Array(b.subarray(33)),
      });
    case EarthType.result: {
      if (b.length < 4 || b[1]! > 3 || b.length !== 4 + b[3]!) return bad('result');
      const code = Buffer.from(b.subarray(4)).toString('latin1');
      if (!/^[A-Z0-9_]*$/.test(code)) return bad('result code');
      return accept({ type: 3, status: b[1] as ResultStatus, bits: b[2]!, code });
    }
    case EarthType.subscribe:
      if (b.length !== 1) return bad('subscribe');
      return accept({ type: 4 });
  }
  return bad('type');
}

/**
 * The storage price's puzzle input (issue 11 item 4; Whisper and Bitmessage price size x
 * time): a 32-byte challenge bound to sender, recipient, keep time and the data, so a paid
 * nonce buys exactly this message for this long.
 */
export function storeChallenge(
  from: Uint8Array,
  to: Uint8Array,
  keepSec: number,
  data: Uint8Array,
): Uint8Array {
  const k = new Uint8Array(4);
  new DataView(k.buffer).setUint32(0, keepSec);
  const h = createHash('sha256').update(data).digest();
  return new Uint8Array(
    createHash('sha256').update(STORE_LABEL).update(from).update(to).update(k).update(h).digest(),
  );
}
