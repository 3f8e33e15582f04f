/**
 * powtcp messages (seed 001; `spec/powtcp.md` pins the bytes).
 *
 * ```
 *   <command> ':' <payload> '\n'
 *   command  = one ASCII digit: 0 Error, 1 RequestPuzzle, 2 ResponsePuzzle,
 *              3 RequestResource, 4 ResponseResource
 *   payload  = any bytes but '\n' (may be empty: "1:\n")
 * ```
 *
 * Decoding follows the reference parser exactly, so that its client and ours agree on every
 * line: surrounding white space is trimmed (Go's `strings.TrimSpace`, so `\r\n` works), the
 * trimmed line needs at least `<digit>:`, and the payload is everything after the first
 * colon, trimmed again. Encoding is canonical: `encode(decode(x))` is the trimmed form, and
 * `decode(encode(m))` is `m` for every payload that encode accepts.
 */
import { ArgumentError, accept, reject, type Verdict } from '../util/errors.js';

export const Command = {
  Error: 0,
  RequestPuzzle: 1,
  ResponsePuzzle: 2,
  RequestResource: 3,
  ResponseResource: 4,
} as const;
export type Command = (typeof Command)[keyof typeof Command];

export interface PowtcpMessage {
  readonly command: Command;
  readonly payload: string;
}

export type PowtcpDecodeCode = 'ERR_POWTCP_MALFORMED' | 'ERR_POWTCP_UNKNOWN_COMMAND';

/**
 * Go's unicode.IsSpace set, which `strings.TrimSpace` in the reference parser uses. JS's
 * String.prototype.trim differs (it trims U+FEFF, keeps U+0085), so the set is spelled out.
 */
const SPACE = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const TRIM = new RegExp(`^[${SPACE}]+|[${SPACE}]+$`, 'g');
const HAS_SPACE_EDGE = new RegExp(`^[${SPACE}]|[${SPACE}]$`);

/** Trims like Go's strings.TrimSpace. */
export function trimSpace(text: string): string {
  return text.replace(TRIM, '');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/**
 * Decodes one line (without or with its trailing `\n`). Bytes must be UTF-8; the reference
 * works on Go strings, and every payload of the protocol is ASCII.
 */
export function decodeMessage(line: Uint8Array | string): Verdict<PowtcpMessage, PowtcpDecodeCode> {
  let text: string;
  if (typeof line === 'string') {
    text = line;
  } else {
    try {
      text = utf8.decode(line);
    } catch {
      return reject('ERR_POWTCP_MALFORMED', 'line is not UTF-8');
    }
  }
  text = trimSpace(text);
  // spec: "needs at least two characters (<digit>:)"
  if (text.length < 2 || text.charCodeAt(1) !== 0x3a) {
    return reject('ERR_POWTCP_MALFORMED', 'expected <digit>:<payload>');
  }
  const digit = text.charCodeAt(0) - 0x30;
  if (digit < 0 || digit > 9) return reject('ERR_POWTCP_MALFORMED', 'command is not a digit');
  if (digit > 4) return reject('ERR_POWTCP_UNKNOWN_COMMAND', `command ${digit}`);
  return accept({ command: digit as Command, payload: trimSpace(text.slice(2)) });
}

/** Bytes of one message, `\n` included. Throws for a payload that would not decode back. */
export function encodeMessage(message: PowtcpMessage): Uint8Array {
  return utf8Encoder.encode(formatMessage(message));
}

/** The same as encodeMessage, as a string. */
export function formatMessage(message: PowtcpMessage): string {
  const { command, payload } = message;
  if (!Number.isInteger(command) || command < 0 || command > 4) {
    throw new ArgumentError('message.command', `expected 0..4, got ${String(command)}`);
  }
  if (typeof payload !== 'string') throw new ArgumentError('message.payload', 'expected a string');
  if (payload.includes('\n')) throw new ArgumentError('message.payload', 'must not contain \\n');
  if (HAS_SPACE_EDGE.test(payload)) {
    throw new ArgumentError(
      'message.payload',
      'must not start or end with white space (it would be trimmed)',
    );
  }
  return `${command}:${payload}\n`;
}

/** One item out of the line splitter. */
export type SplitItem = { readonly kind: 'line'; readonly line: Uint8Array } | { readonly kind: 'overlong' };

/**
 * Splits a byte stream into `\n`-terminated lines, whatever the chunk boundaries. A line
 * whose content (before `\n`) exceeds `maxLineBytes` yields one `overlong` item as soon as
 * the limit is crossed, and its remaining bytes are dropped as they arrive, so a hostile
 * peer can never make it buffer more than `maxLineBytes` (the reference has no such limit).
 */
export class LineSplitter {
  private readonly max: number;
  private buf: Uint8Array;
  private len = 0;
  private discarding = false;

  constructor(maxLineBytes: number) {
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1) {
      throw new ArgumentError('maxLineBytes', `expected a positive integer, got ${String(maxLineBytes)}`);
    }
    this.max = maxLineBytes;
    this.buf = new Uint8Array(Math.min(maxLineBytes, 256));
  }

  /** Bytes held for an unfinished line (never more than maxLineBytes). */
  get buffered(): number {
    return this.len;
  }

  push(chunk: Uint8Array): SplitItem[] {
    const out: SplitItem[] = [];
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      if (!this.discarding) {
        const add = end - start;
        if (this.len + add > this.max) {
          out.push({ kind: 'overlong' });
          this.len = 0;
          this.discarding = true;
        } else {
          this.append(chunk, start, end);
          if (nl !== -1) {
            out.push({ kind: 'line', line: this.buf.slice(0, this.len) });
            this.len = 0;
          }
        }
      }
      if (nl === -1) break;
      this.discarding = false;
      start = nl + 1;
    }
    return out;
  }

  private append(chunk: Uint8Array, start: number, end: number): void {
    const need = this.len + (end - start);
    if (need > this.buf.length) {
      const grown = new Uint8Array(Math.min(this.max, Math.max(need, this.buf.length * 2)));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    this.buf.set(chunk.subarray(start, end), this.len);
    this.len = need;
  }
}
