/**
 * Frames of the secure channel, after the handshake (docs/secure-channel.md):
 *
 *   +----------------+---------------------------------------+------------+
 *   | length (u32)   | AES-256-GCM ciphertext of             | tag (16)   |
 *   |                |   type (u8) | payload                 |            |
 *   +----------------+---------------------------------------+------------+
 *   length = bytes after the length field = 1 + payload + 16; it is the AEAD's associated
 *   data, so a changed length fails authentication.
 *   type: 0 = data (payload = one message),
 *         1 = rekey (empty; later frames of this direction use the next key),
 *         2 = close (empty; the sender's last frame, so truncation is detected),
 *         3 = batch (payload = two or more messages, each | length u32 | bytes |; one AEAD
 *             operation for many small messages written together).
 *   nonce (not sent) = 4 zero bytes | u64 count of frames sent under this direction's key.
 *
 * The reader judges the length before buffering a byte of the body, so an oversized frame
 * is refused from its first 4 bytes.
 */
import { readU32, writeU32 } from '../util/bytes.js';
import { accept, reject, type Verdict } from '../util/errors.js';

export const FrameType = { data: 0, rekey: 1, close: 2, batch: 3 } as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];
export const LENGTH_BYTES = 4;
export const TAG_BYTES = 16;
/** Bytes a frame adds to its payload besides the length field: type + tag. */
export const FRAME_OVERHEAD = 1 + TAG_BYTES;

export type FrameCode = 'ERR_SC_FRAME_TOO_LARGE' | 'ERR_SC_MALFORMED';

/** A FIFO of received chunks; takes without copying when a chunk holds the whole request. */
export class ByteQueue {
  #chunks: Uint8Array[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** The first `n` bytes without consuming them (n <= length). */
  peek(n: number): Uint8Array {
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= n) return first.subarray(0, n);
    return this.#gather(n, false);
  }

  take(n: number): Uint8Array {
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= n) {
      this.#length -= n;
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    return this.#gather(n, true);
  }

  /** Everything left, consumed. */
  drain(): Uint8Array {
    return this.take(this.#length);
  }

  #gather(n: number, consume: boolean): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    let i = 0;
    while (filled < n) {
      const chunk = this.#chunks[i]!;
      const part = Math.min(chunk.length, n - filled);
      out.set(chunk.subarray(0, part), filled);
      filled += part;
      if (consume) {
        if (part === chunk.length) {
          this.#chunks.shift();
        } else {
          this.#chunks[0] = chunk.subarray(part);
        }
      } else {
        i++;
      }
    }
    if (consume) this.#length -= n;
    return out;
  }
}

/** One sealed frame as cut from the stream: the length field (AAD) and the sealed body. */
export interface SealedFrame {
  readonly header: Uint8Array;
  readonly body: Uint8Array;
}

/**
 * Cuts sealed frames from a byte stream whatever the chunk boundaries are. `next()` returns a
 * frame, `undefined` when more bytes are needed, or a verdict that ends the connection.
 */
export class FrameReader {
  readonly queue = new ByteQueue();
  readonly #maxBody: number;

  constructor(maxMessageBytes: number) {
    this.#maxBody = maxMessageBytes + FRAME_OVERHEAD;
  }

  push(chunk: Uint8Array): void {
    this.queue.push(chunk);
  }

  /** Bytes of a frame not yet complete; non-zero at end of stream means truncation. */
  get pending(): number {
    return this.queue.length;
  }

  next(): Verdict<SealedFrame, FrameCode> | undefined {
    if (this.queue.length < LENGTH_BYTES) return undefined;
    const head = this.queue.peek(LENGTH_BYTES);
    const length = readU32(head, 0);
    if (length > this.#maxBody) return reject('ERR_SC_FRAME_TOO_LARGE', `${length} bytes`);
    if (length < FRAME_OVERHEAD) return reject('ERR_SC_MALFORMED', `length ${length}`);
    if (this.queue.length < LENGTH_BYTES + length) return undefined;
    const header = Uint8Array.from(this.queue.take(LENGTH_BYTES));
    const body = this.queue.take(length);
    return accept({ header, body });
  }
}

/** The length field of a frame carrying `payloadBytes`. */
export function frameHeader(payloadBytes: number): Uint8Array {
  const header = new Uint8Array(LENGTH_BYTES);
  writeU32(header, 0, payloadBytes + FRAME_OVERHEAD);
  return header;
}

/** Bytes a message adds inside a batch frame (its length prefix). */
export const BATCH_ENTRY_OVERHEAD = 4;

/** The parts of a batch payload (length prefixes interleaved with the messages, not copied). */
export function batchParts(messages: readonly Uint8Array[]): { parts: Uint8Array[]; length: number } {
  const parts: Uint8Array[] = [];
  let length = 0;
  for (const m of messages) {
    const prefix = new Uint8Array(BATCH_ENTRY_OVERHEAD);
    writeU32(prefix, 0, m.length);
    parts.push(prefix, m);
    length += BATCH_ENTRY_OVERHEAD + m.length;
  }
  return { parts, length };
}

/** Splits a batch payload; canonical: at least two messages, lengths exact, nothing trailing. */
export function decodeBatch(payload: Uint8Array): Verdict<Uint8Array[], FrameCode> {
  const out: Uint8Array[] = [];
  let o = 0;
  while (o < payload.length) {
    if (o + BATCH_ENTRY_OVERHEAD > payload.length) return reject('ERR_SC_MALFORMED', 'batch entry header');
    const n = readU32(payload, o);
    o += BATCH_ENTRY_OVERHEAD;
    if (n > payload.length - o) return reject('ERR_SC_MALFORMED', 'batch entry length');
    out.push(payload.subarray(o, o + n));
    o += n;
  }
  if (out.length < 2) return reject('ERR_SC_MALFORMED', 'batch of fewer than two messages');
  return accept(out);
}
