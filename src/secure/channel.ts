/**
 * The channel after the handshake: AES-256-GCM with one key per direction (seed 004 used one
 * AES key for both directions and did not say how messages are authenticated), 96-bit
 * counter nonces, rekeying, and length-prefixed frames (src/wire/frame.ts).
 *
 * Nonces are implicit counters, so a reordered, replayed or dropped frame fails
 * authentication like a flipped bit does; a stream that ends without a close frame is
 * truncated. Each of these ends the connection with a reason code.
 */
import { createCipheriv, createDecipheriv, type KeyObject } from 'node:crypto';
import { Duplex } from 'node:stream';
import { type NativeGcm, nativeGcm } from '../pow/native.js';
import type { Clock } from '../util/clock.js';
import { ArgumentError, accept, reject, TollgateError, type Verdict } from '../util/errors.js';
import {
  BATCH_ENTRY_OVERHEAD,
  decodeBatch,
  FRAME_OVERHEAD,
  FrameReader,
  FrameType,
  LENGTH_BYTES,
  type SealedFrame,
  TAG_BYTES,
} from '../wire/frame.js';
import { HANDSHAKE_LABEL } from '../wire/handshake.js';
import { concat, hkdf } from './crypto.js';
import type { SecureLimits } from './limits.js';

export type ChannelCode =
  | 'ERR_SC_AUTH'
  | 'ERR_SC_TRUNCATED'
  | 'ERR_SC_FRAME_TOO_LARGE'
  | 'ERR_SC_MALFORMED'
  | 'ERR_SC_REKEY_OVERDUE';

/** The channel was closed because of what the peer sent (or did not send). */
export class SecureChannelError extends TollgateError {
  constructor(code: ChannelCode, detail?: string) {
    super(code, detail === undefined ? code : `${code}: ${detail}`);
  }
}

const REKEY_INFO = concat(HANDSHAKE_LABEL, new TextEncoder().encode(' rekey'));
const EMPTY = new Uint8Array(0);

/** The next key of a direction: HKDF-SHA256 of the current one (old keys are forgotten). */
export function nextKey(key: Uint8Array): Uint8Array {
  return hkdf(key, EMPTY, REKEY_INFO, 32);
}

/** Writes the nonce of frame `counter` into `iv` (12 bytes: 4 zero bytes, u64 counter). */
function setNonce(iv: Buffer, counter: number): Buffer {
  iv.writeUInt32BE(Math.floor(counter / 2 ** 32), 4);
  iv.writeUInt32BE(counter >>> 0, 8);
  return iv;
}

/**
 * The per-frame data path (issue 12 item 3): a frame is laid out in one buffer (length,
 * type, payload, room for the tag) and sealed in place, on a native AES-256-GCM context kept
 * per direction and key when the addon loads (node:crypto builds a cipher per call, most of
 * the cost of a small frame), else with one node:crypto update over the whole plaintext.
 */
export class Sealer {
  #key: Uint8Array;
  #gcm: NativeGcm | null;
  readonly #native: boolean;
  readonly #iv = Buffer.alloc(12);
  #count = 0;
  #since: number;

  constructor(key: Uint8Array, nowMs: number, native = true) {
    this.#key = key;
    this.#native = native;
    this.#gcm = native ? nativeGcm(key, true) : null;
    this.#since = nowMs;
  }

  get count(): number {
    return this.#count;
  }

  /** Whether the next data frame must be preceded by a rekey frame. */
  due(limits: SecureLimits, nowMs: number): boolean {
    return this.#count >= limits.rekeyAfterMessages || nowMs - this.#since >= limits.rekeyAfterSec * 1000;
  }

  seal(type: FrameType, payload: Uint8Array): Buffer {
    const frame = this.#frame(type, payload.length);
    frame.set(payload, LENGTH_BYTES + 1);
    return this.#sealFrame(frame);
  }

  /** Seals one batch frame of `messages` (`length` = their bytes plus a length prefix each). */
  sealBatch(messages: readonly Uint8Array[], length: number): Buffer {
    const frame = this.#frame(FrameType.batch, length);
    let o = LENGTH_BYTES + 1;
    for (const m of messages) {
      frame.writeUInt32BE(m.length, o);
      frame.set(m, o + BATCH_ENTRY_OVERHEAD);
      o += BATCH_ENTRY_OVERHEAD + m.length;
    }
    return this.#sealFrame(frame);
  }

  /** A frame buffer with its length field and type written, payload and tag still to fill. */
  #frame(type: FrameType, payloadBytes: number): Buffer {
    const frame = Buffer.allocUnsafe(LENGTH_BYTES + FRAME_OVERHEAD + payloadBytes);
    frame.writeUInt32BE(payloadBytes + FRAME_OVERHEAD, 0);
    frame[LENGTH_BYTES] = type;
    return frame;
  }

  #sealFrame(frame: Buffer): Buffer {
    const iv = setNonce(this.#iv, this.#count++);
    const header = frame.subarray(0, LENGTH_BYTES);
    if (this.#gcm !== null) {
      this.#gcm.seal(iv, header, frame.subarray(LENGTH_BYTES));
      return frame;
    }
    const end = frame.length - TAG_BYTES;
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(header);
    const ct = cipher.update(frame.subarray(LENGTH_BYTES, end));
    cipher.final();
    frame.set(ct, LENGTH_BYTES);
    frame.set(cipher.getAuthTag(), end);
    return frame;
  }

  rekey(nowMs: number): void {
    this.#key = nextKey(this.#key);
    this.#gcm = this.#native ? nativeGcm(this.#key, true) : null;
    this.#count = 0;
    this.#since = nowMs;
  }
}

/** The receiving half of one direction (same data path as `Sealer`). */
export class Opener {
  #key: Uint8Array;
  #gcm: NativeGcm | null;
  readonly #native: boolean;
  readonly #iv = Buffer.alloc(12);
  #count = 0;

  constructor(key: Uint8Array, native = true) {
    this.#key = key;
    this.#native = native;
    this.#gcm = native ? nativeGcm(key, false) : null;
  }

  open(
    frame: SealedFrame,
    limits: SecureLimits,
  ): Verdict<{ type: FrameType; payload: Uint8Array }, ChannelCode> {
    // Up to maxMessagesPerKey data frames, then only the rekey (or close) frame may follow.
    if (this.#count > limits.maxMessagesPerKey) return reject('ERR_SC_REKEY_OVERDUE');
    const sealedLength = frame.body.length - TAG_BYTES;
    const iv = setNonce(this.#iv, this.#count);
    let plain: Buffer;
    if (this.#gcm !== null) {
      // Decrypted in a copy: the received bytes may be shared with whoever else holds the chunk.
      const copy = Buffer.allocUnsafe(frame.body.length);
      copy.set(frame.body);
      if (!this.#gcm.open(iv, frame.header, copy)) return reject('ERR_SC_AUTH', `frame ${this.#count}`);
      plain = copy.subarray(0, sealedLength);
    } else {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv);
      decipher.setAAD(frame.header);
      decipher.setAuthTag(frame.body.subarray(sealedLength));
      try {
        plain = Buffer.concat([decipher.update(frame.body.subarray(0, sealedLength)), decipher.final()]);
      } catch {
        return reject('ERR_SC_AUTH', `frame ${this.#count}`);
      }
    }
    const index = this.#count++;
    const type = plain[0];
    if (type === FrameType.data || type === FrameType.batch) {
      if (index >= limits.maxMessagesPerKey) return reject('ERR_SC_REKEY_OVERDUE');
      return accept({ type, payload: plain.subarray(1) });
    }
    if (type === FrameType.rekey || type === FrameType.close) {
      if (plain.length !== 1) return reject('ERR_SC_MALFORMED', 'control frame with payload');
      if (type === FrameType.rekey) {
        this.#key = nextKey(this.#key);
        this.#gcm = this.#native ? nativeGcm(this.#key, false) : null;
        this.#count = 0;
      }
      return accept({ type, payload: EMPTY });
    }
    return reject('ERR_SC_MALFORMED', `frame type ${type}`);
  }
}

export interface PeerInfo {
  /** Hex SHA-256 of the peer's DER SubjectPublicKeyInfo. */
  readonly identity: string;
  readonly publicKey: KeyObject;
}

export interface ChannelInit {
  readonly transport: Duplex;
  readonly sendKey: Uint8Array;
  readonly receiveKey: Uint8Array;
  readonly peer: PeerInfo;
  readonly limits: SecureLimits;
  readonly clock: Clock;
  /** Bytes that arrived after the handshake's last message. */
  readonly leftover: Uint8Array;
  /** Transcript hash of the handshake (channel binding). */
  readonly transcript: Uint8Array;
  readonly onReason?: ((code: string) => void) | undefined;
}

/**
 * An object-mode duplex of messages (`Uint8Array` each) over any byte duplex.
 * Write ends with a close frame; the transport is ended once both sides sent theirs.
 */
export class SecureChannel extends Duplex {
  readonly peer: PeerInfo;
  readonly transcript: Uint8Array;
  /** The reason code that closed the channel, if the peer's bytes did. */
  closeReason: ChannelCode | undefined;
  readonly #transport: Duplex;
  readonly #sealer: Sealer;
  readonly #opener: Opener;
  readonly #reader: FrameReader;
  readonly #limits: SecureLimits;
  readonly #clock: Clock;
  readonly #onReason: ((code: string) => void) | undefined;
  #closeReceived = false;
  #closeSent = false;
  #onData = (chunk: Buffer) => this.#receive(chunk);
  #onEnd = () => this.#transportEnded();
  #onTransportClose = () => this.#transportClosed();
  #onTransportError = (error: Error) => this.destroy(error);

  constructor(init: ChannelInit) {
    super({ readableObjectMode: true, writableObjectMode: true, allowHalfOpen: true });
    this.peer = init.peer;
    this.transcript = init.transcript;
    this.#transport = init.transport;
    this.#limits = init.limits;
    this.#clock = init.clock;
    this.#onReason = init.onReason;
    this.#sealer = new Sealer(init.sendKey, init.clock.now());
    this.#opener = new Opener(init.receiveKey);
    this.#reader = new FrameReader(init.limits.maxMessageBytes);
    const t = init.transport;
    t.on('data', this.#onData);
    t.on('end', this.#onEnd);
    t.on('close', this.#onTransportClose);
    t.on('error', this.#onTransportError);
    if (init.leftover.length > 0) this.#receive(init.leftover);
    if (!this.destroyed) t.resume();
  }

  override _read(): void {
    if (!this.#transport.destroyed) this.#transport.resume();
  }

  #check(chunk: unknown): Uint8Array {
    if (!(chunk instanceof Uint8Array)) throw new ArgumentError('message', 'expected a Uint8Array');
    if (chunk.length > this.#limits.maxMessageBytes) {
      throw new ArgumentError('message', `${chunk.length} bytes; limit ${this.#limits.maxMessageBytes}`);
    }
    return chunk;
  }

  #rekeyIfDue(out: Buffer[]): void {
    const now = this.#clock.now();
    if (this.#sealer.due(this.#limits, now)) {
      out.push(this.#sealer.seal(FrameType.rekey, EMPTY));
      this.#sealer.rekey(now);
    }
  }

  #sealData(message: Uint8Array, out: Buffer[]): void {
    this.#rekeyIfDue(out);
    out.push(this.#sealer.seal(FrameType.data, message));
  }

  /** Messages written together share frames: one AEAD operation per frame, not per message. */
  #sealGroup(messages: Uint8Array[], out: Buffer[]): void {
    if (messages.length === 0) return;
    if (messages.length === 1) {
      this.#sealData(messages[0]!, out);
      return;
    }
    this.#rekeyIfDue(out);
    let length = 0;
    for (const m of messages) length += BATCH_ENTRY_OVERHEAD + m.length;
    out.push(this.#sealer.sealBatch(messages, length));
  }

  #send(frames: Buffer[], callback: (error?: Error | null) => void): void {
    const t = this.#transport;
    if (t.destroyed || t.writableEnded) {
      callback(new TollgateError('ERR_SC_CLOSED', 'the connection is closed'));
      return;
    }
    const data = frames.length === 1 ? frames[0]! : Buffer.concat(frames);
    // Completing on the next tick lets the messages written in this tick gather in the
    // writable buffer, so that _writev seals them together (one AEAD call per batch).
    if (t.write(data)) process.nextTick(callback);
    else t.once('drain', () => callback());
  }

  /** Queues one message; a non-Uint8Array or an oversized message throws (a caller mistake). */
  override write(
    chunk: unknown,
    encoding?: BufferEncoding | ((error: Error | null | undefined) => void),
    callback?: (error: Error | null | undefined) => void,
  ): boolean {
    this.#check(chunk);
    return super.write(chunk, encoding as BufferEncoding, callback);
  }

  override _write(chunk: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    let frames: Buffer[];
    try {
      frames = [];
      this.#sealData(this.#check(chunk), frames);
    } catch (error) {
      callback(error as Error);
      return;
    }
    this.#send(frames, callback);
  }

  override _writev(
    chunks: Array<{ chunk: unknown; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void,
  ): void {
    const frames: Buffer[] = [];
    try {
      const max = this.#limits.maxMessageBytes;
      let group: Uint8Array[] = [];
      let groupBytes = 0;
      for (const { chunk } of chunks) {
        const m = this.#check(chunk);
        if (groupBytes + BATCH_ENTRY_OVERHEAD + m.length > max) {
          this.#sealGroup(group, frames);
          group = [];
          groupBytes = 0;
        }
        group.push(m);
        groupBytes += BATCH_ENTRY_OVERHEAD + m.length;
      }
      this.#sealGroup(group, frames);
    } catch (error) {
      callback(error as Error);
      return;
    }
    this.#send(frames, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#closeSent = true;
    this.#send([this.#sealer.seal(FrameType.close, EMPTY)], (error) => {
      if (error) return callback(error);
      if (this.#closeReceived) this.#transport.end();
      callback();
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const t = this.#transport;
    t.off('data', this.#onData);
    t.off('end', this.#onEnd);
    t.off('close', this.#onTransportClose);
    t.off('error', this.#onTransportError);
    t.on('error', () => {});
    if (!t.destroyed) {
      if (error === null && this.#closeReceived && this.#closeSent) t.end();
      else t.destroy();
    }
    callback(error);
  }

  #fail(code: ChannelCode, detail?: string): void {
    this.closeReason = code;
    this.#onReason?.(code);
    this.destroy(new SecureChannelError(code, detail));
  }

  #receive(chunk: Uint8Array): void {
    if (this.destroyed) return;
    if (this.#closeReceived) {
      if (chunk.length > 0) this.#fail('ERR_SC_MALFORMED', 'bytes after the close frame');
      return;
    }
    this.#reader.push(chunk);
    for (;;) {
      const next = this.#reader.next();
      if (next === undefined) return;
      if (!next.ok) {
        this.#fail(next.code, next.detail);
        return;
      }
      const opened = this.#opener.open(next.value, this.#limits);
      if (!opened.ok) {
        this.#fail(opened.code, opened.detail);
        return;
      }
      if (opened.value.type === FrameType.data) {
        if (!this.push(opened.value.payload)) this.#transport.pause();
      } else if (opened.value.type === FrameType.batch) {
        const messages = decodeBatch(opened.value.payload);
        if (!messages.ok) {
          this.#fail(messages.code, messages.detail);
          return;
        }
        let more = true;
        for (const m of messages.value) more = this.push(m);
        if (!more) this.#transport.pause();
      } else if (opened.value.type === FrameType.close) {
        this.#closeReceived = true;
        if (this.#reader.pending > 0) {
          this.#fail('ERR_SC_MALFORMED', 'bytes after the close frame');
          return;
        }
        this.push(null);
        if (this.#closeSent) this.#transport.end();
        return;
      }
    }
  }

  #transportEnded(): void {
    // Seed 004 is silent on truncation; without a close frame an attacker could cut the
    // stream at a frame boundary unnoticed.
    if (!this.#closeReceived) this.#fail('ERR_SC_TRUNCATED', `${this.#reader.pending} bytes pending`);
  }

  #transportClosed(): void {
    if (this.destroyed) return;
    if (!this.#closeReceived) {
      this.#fail('ERR_SC_TRUNCATED', 'connection closed');
      return;
    }
    if (this.readableEnded) this.destroy();
    else this.once('end', () => this.destroy());
  }
}

/** Exposed for tests and the benchmark: seal one data frame with a key and counter 0. */
export function sealOnce(key: Uint8Array, payload: Uint8Array): Uint8Array {
  return new Sealer(key, 0).seal(FrameType.data, payload);
}
