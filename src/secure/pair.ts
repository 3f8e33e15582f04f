/**
 * An in-memory connected pair of byte duplexes, standing in for a TCP connection in tests
 * and simulations (DESIGN: "the same code runs over real sockets"). Each end carries
 * socket-like `localAddress`/`localPort`/`remoteAddress`/`remotePort` so that the handshake's
 * address checks work unchanged. Ending one side ends the other's readable side; destroying
 * one side closes both, like a reset.
 */
import { Duplex } from 'node:stream';

export interface PairOptions {
  /** Address of end `a` (the initiator), default 127.0.0.1:40000. */
  readonly a?: { host: string; port: number };
  /** Address of end `b` (the responder), default 127.0.0.1:7000. */
  readonly b?: { host: string; port: number };
  /** Splits each write into chunks of these sizes (tests of chunk boundaries). */
  readonly split?: (length: number) => number[];
}

export class MemoryEnd extends Duplex {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  other!: MemoryEnd;
  readonly #split: ((length: number) => number[]) | undefined;
  #blocked: (() => void) | undefined;

  constructor(
    local: { host: string; port: number },
    remote: { host: string; port: number },
    split?: PairOptions['split'],
  ) {
    super({ allowHalfOpen: true });
    this.localAddress = local.host;
    this.localPort = local.port;
    this.remoteAddress = remote.host;
    this.remotePort = remote.port;
    this.#split = split;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.other.destroyed) {
      callback(new Error('peer closed'));
      return;
    }
    let more = true;
    if (this.#split === undefined) {
      more = this.other.push(chunk);
    } else {
      let offset = 0;
      for (const size of this.#split(chunk.length)) {
        if (offset >= chunk.length) break;
        more = this.other.push(chunk.subarray(offset, offset + Math.max(1, size)));
        offset += Math.max(1, size);
      }
      if (offset < chunk.length) more = this.other.push(chunk.subarray(offset));
    }
    if (more) callback();
    else this.other.#blocked = callback;
  }

  override _read(): void {
    const blocked = this.#blocked;
    this.#blocked = undefined;
    blocked?.();
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.other.destroyed) this.other.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const blocked = this.other.#blocked;
    this.other.#blocked = undefined;
    blocked?.();
    if (!this.other.destroyed) this.other.destroy();
    callback(error);
  }
}

/** Two connected ends: `a` (say, the initiator) and `b`. */
export function memoryPair(options: PairOptions = {}): [MemoryEnd, MemoryEnd] {
  const aAddr = options.a ?? { host: '127.0.0.1', port: 40000 };
  const bAddr = options.b ?? { host: '127.0.0.1', port: 7000 };
  const a = new MemoryEnd(aAddr, bAddr, options.split);
  const b = new MemoryEnd(bAddr, aAddr, options.split);
  a.other = b;
  b.other = a;
  return [a, b];
}
