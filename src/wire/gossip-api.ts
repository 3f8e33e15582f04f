/**
 * VoidPhone Gossip API messages (spec/voidphone-gossip.md, "API framing" and "Message types").
 * Every message starts with a 4-byte header, integers unsigned big-endian:
 *
 * ```
 * GOSSIP ANNOUNCE (500), module -> Gossip      GOSSIP NOTIFY (501), module -> Gossip, 8 bytes
 * +----------------+----------------+         +----------------+----------------+
 * | size (u16)     | 500 (u16)      |         | size = 8       | 501            |
 * +--------+-------+----------------+         +----------------+----------------+
 * | TTL u8 | res u8| data type (u16)|         | reserved (u16) | data type (u16)|
 * +--------+-------+----------------+         +----------------+----------------+
 * | data (size - 8 bytes)           |
 * +---------------------------------+
 *
 * GOSSIP NOTIFICATION (502), Gossip -> module  GOSSIP VALIDATION (503), module -> Gossip, 8 bytes
 * +----------------+----------------+         +----------------+----------------+
 * | size (u16)     | 502            |         | size = 8       | 503            |
 * +----------------+----------------+         +----------------+--------------+-+
 * | message ID u16 | data type (u16)|         | message ID u16 | reserved 15b |V|
 * +----------------+----------------+         +----------------+--------------+-+
 * | data (size - 8 bytes)           |
 * +---------------------------------+
 * ```
 *
 * `size` counts the whole message including the header. Reserved fields are written as zero
 * and ignored on read: API clients are local and trusted (spec "Semantics"), and the spec reads
 * V as `(u16 at 6) & 1`, so a client that leaves garbage in reserved bits still works.
 */
import { assertBytes, assertInteger } from '../util/args.js';
import { readU16, writeU16 } from '../util/bytes.js';
import { accept, reject, type Verdict } from '../util/errors.js';

export const API_HEADER_SIZE = 4;
export const API_MAX_MESSAGE = 0xffff;
/** NOTIFICATION and VALIDATION carry a u16 message ID: this many distinct IDs per connection. */
export const API_MESSAGE_IDS = 0x10000;
/** Largest `data` an ANNOUNCE or NOTIFICATION can carry: the u16 size minus the 8-byte head. */
export const API_MAX_DATA = API_MAX_MESSAGE - 8;

export const GOSSIP_ANNOUNCE = 500;
export const GOSSIP_NOTIFY = 501;
export const GOSSIP_NOTIFICATION = 502;
export const GOSSIP_VALIDATION = 503;

export interface Announce {
  readonly type: typeof GOSSIP_ANNOUNCE;
  readonly ttl: number;
  readonly dataType: number;
  readonly data: Uint8Array;
}
export interface Notify {
  readonly type: typeof GOSSIP_NOTIFY;
  readonly dataType: number;
}
export interface Notification {
  readonly type: typeof GOSSIP_NOTIFICATION;
  readonly messageId: number;
  readonly dataType: number;
  readonly data: Uint8Array;
}
export interface Validation {
  readonly type: typeof GOSSIP_VALIDATION;
  readonly messageId: number;
  readonly valid: boolean;
}

/** Messages a local module sends to Gossip. */
export type ApiRequest = Announce | Notify | Validation;
export type ApiMessage = ApiRequest | Notification;

export type ApiCode =
  | 'ERR_GOSSIP_API_SHORT_SIZE'
  | 'ERR_GOSSIP_API_BAD_SIZE'
  | 'ERR_GOSSIP_API_UNKNOWN_TYPE'
  | 'ERR_GOSSIP_API_WRONG_DIRECTION';

/** Which side reads: Gossip reads requests from modules; a module (client) reads NOTIFICATIONs. */
export type ApiReader = 'gossip' | 'module';

export function encodeApi(msg: ApiMessage): Uint8Array {
  switch (msg.type) {
    case GOSSIP_ANNOUNCE: {
      assertInteger('msg.ttl', msg.ttl, 0, 0xff);
      assertInteger('msg.dataType', msg.dataType, 0, 0xffff);
      assertBytes('msg.data', msg.data, 0, API_MAX_DATA);
      const out = head(8 + msg.data.length, GOSSIP_ANNOUNCE);
      out[4] = msg.ttl;
      writeU16(out, 6, msg.dataType);
      out.set(msg.data, 8);
      return out;
    }
    case GOSSIP_NOTIFY: {
      assertInteger('msg.dataType', msg.dataType, 0, 0xffff);
      const out = head(8, GOSSIP_NOTIFY);
      writeU16(out, 6, msg.dataType);
      return out;
    }
    case GOSSIP_NOTIFICATION: {
      assertInteger('msg.messageId', msg.messageId, 0, 0xffff);
      assertInteger('msg.dataType', msg.dataType, 0, 0xffff);
      assertBytes('msg.data', msg.data, 0, API_MAX_DATA);
      const out = head(8 + msg.data.length, GOSSIP_NOTIFICATION);
      writeU16(out, 4, msg.messageId);
      writeU16(out, 6, msg.dataType);
      out.set(msg.data, 8);
      return out;
    }
    case GOSSIP_VALIDATION: {
      assertInteger('msg.messageId', msg.messageId, 0, 0xffff);
      const out = head(8, GOSSIP_VALIDATION);
      writeU16(out, 4, msg.messageId);
      writeU16(out, 6, msg.valid ? 1 : 0);
      return out;
    }
    default:
      throw new TypeError('msg.type: not a Gossip API message type');
  }
}

/**
 * Decodes one complete message (exactly `size` bytes). `reader` says who reads it, because
 * the spec closes the connection on "a type that only Gossip may send" arriving at Gossip.
 * `data` fields are views into `frame`; copy them if `frame` is reused.
 */
export function decodeApi(frame: Uint8Array, reader: ApiReader): Verdict<ApiMessage, ApiCode> {
  if (frame.length < API_HEADER_SIZE) return reject('ERR_GOSSIP_API_SHORT_SIZE', `${frame.length} bytes`);
  const size = readU16(frame, 0);
  const type = readU16(frame, 2);
  if (size < API_HEADER_SIZE) return reject('ERR_GOSSIP_API_SHORT_SIZE', `size ${size}`);
  if (size !== frame.length) return reject('ERR_GOSSIP_API_BAD_SIZE', `size ${size}, frame ${frame.length}`);
  const fromModule = type === GOSSIP_ANNOUNCE || type === GOSSIP_NOTIFY || type === GOSSIP_VALIDATION;
  if (!fromModule && type !== GOSSIP_NOTIFICATION)
    return reject('ERR_GOSSIP_API_UNKNOWN_TYPE', `type ${type}`);
  if ((reader === 'gossip') !== fromModule) {
    return reject('ERR_GOSSIP_API_WRONG_DIRECTION', `type ${type} sent to ${reader}`);
  }
  switch (type) {
    case GOSSIP_ANNOUNCE:
      if (size < 8) return reject('ERR_GOSSIP_API_BAD_SIZE', `ANNOUNCE of ${size} bytes`);
      return accept({
        type: GOSSIP_ANNOUNCE,
        ttl: frame[4]!,
        dataType: readU16(frame, 6),
        data: frame.subarray(8),
      });
    case GOSSIP_NOTIFY:
      if (size !== 8) return reject('ERR_GOSSIP_API_BAD_SIZE', `NOTIFY of ${size} bytes`);
      return accept({ type: GOSSIP_NOTIFY, dataType: readU16(frame, 6) });
    case GOSSIP_VALIDATION:
      if (size !== 8) return reject('ERR_GOSSIP_API_BAD_SIZE', `VALIDATION of ${size} bytes`);
      return accept({
        type: GOSSIP_VALIDATION,
        messageId: readU16(frame, 4),
        valid: (readU16(frame, 6) & 1) === 1,
      });
    default:
      if (size < 8) return reject('ERR_GOSSIP_API_BAD_SIZE', `NOTIFICATION of ${size} bytes`);
      return accept({
        type: GOSSIP_NOTIFICATION,
        messageId: readU16(frame, 4),
        dataType: readU16(frame, 6),
        data: frame.subarray(8),
      });
  }
}

/**
 * Streaming framer for u16-size-prefixed messages ("Frame by `size`; never by read
 * boundaries"). Gives the same frames whatever the chunking. After the first bad size it
 * stays failed: the connection must be closed, since the byte stream has lost its framing.
 */
export class SizeFramer {
  // A growable buffer with an explicit fill: appending copies only the new bytes, so one byte
  // per segment costs O(n) in total, not O(n^2) (STYLE: no super-linear path).
  private buf = new Uint8Array(256);
  private fill = 0;
  private failed: string | undefined;

  /** Feeds bytes; returns the complete frames (copies), or the verdict that ends the stream. */
  push(chunk: Uint8Array): Verdict<Uint8Array[], 'ERR_GOSSIP_API_SHORT_SIZE'> {
    if (this.failed !== undefined) return reject('ERR_GOSSIP_API_SHORT_SIZE', this.failed);
    this.append(chunk);
    const frames: Uint8Array[] = [];
    let at = 0;
    while (this.fill - at >= 2) {
      const size = readU16(this.buf, at);
      if (size < API_HEADER_SIZE) {
        this.failed = `size ${size}`;
        this.fill = 0;
        return reject('ERR_GOSSIP_API_SHORT_SIZE', this.failed);
      }
      if (this.fill - at < size) break;
      frames.push(this.buf.slice(at, at + size));
      at += size;
    }
    if (at > 0) {
      this.buf.copyWithin(0, at, this.fill);
      this.fill -= at;
    }
    return accept(frames);
  }

  /** Bytes held while waiting for the rest of a message (at most one message's worth plus a chunk). */
  get buffered(): number {
    return this.fill;
  }

  private append(chunk: Uint8Array): void {
    if (this.fill + chunk.length > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < this.fill + chunk.length) cap *= 2;
      const grown = new Uint8Array(cap);
      grown.set(this.buf.subarray(0, this.fill), 0);
      this.buf = grown;
    }
    this.buf.set(chunk, this.fill);
    this.fill += chunk.length;
  }
}

function head(size: number, type: number): Uint8Array {
  const out = new Uint8Array(size);
  writeU16(out, 0, size);
  writeU16(out, 2, type);
  return out;
}

// Kept as exports of this module for its callers; the helpers are src/util/bytes.ts's.
export { readU16, writeU16 };
