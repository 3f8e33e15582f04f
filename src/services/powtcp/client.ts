/**
 * The powtcp client as a library function: connect, `1:`, solve the hashcash puzzle on the
 * worker pool, `3:<solved>`, and return the quote. It speaks exactly as the reference client
 * does (one request, then one reply line), so it works against the reference server too.
 * A `0:<reason>` reply becomes a PowtcpRefusedError carrying the server's reason.
 */
import { connect, type Socket } from 'node:net';
import { type Endpoint, parseEndpoint } from '../../admission/endpoint.js';
import { parseHashcash, solveHashcash } from '../../pow/hashcash.js';
import type { SolveProgress } from '../../pow/types.js';
import { TollgateError } from '../../util/errors.js';
import {
  Command,
  decodeMessage,
  encodeMessage,
  LineSplitter,
  type PowtcpMessage,
} from '../../wire/powtcp.js';

/** The server answered `0:<reason>`. */
export class PowtcpRefusedError extends TollgateError {
  constructor(readonly reason: string) {
    super('ERR_POWTCP_REFUSED', `server refused: ${reason}`);
  }
}

/** The server broke the protocol (closed early, sent a bad or unexpected line) or timed out. */
export class PowtcpProtocolError extends TollgateError {
  constructor(message: string) {
    super('ERR_POWTCP_PROTOCOL', message);
  }
}

export interface PowtcpGetOptions {
  /** Worker threads for solving (default 1). */
  readonly workers?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: SolveProgress) => void;
  /** Called once the puzzle is in, before solving. */
  readonly onPuzzle?: (puzzle: string, difficulty: number) => void;
  /** Source address to bind (the benchmark uses 127.0.0.2 and 127.0.0.3). */
  readonly localAddress?: string;
  /** Time allowed for connect and for each reply (ms); default 10 s. Solving has its own budget. */
  readonly replyTimeoutMs?: number;
  /** Give up solving after this many ms (default: no limit but the server's). */
  readonly solveTimeoutMs?: number;
  /** Longest reply line accepted (bytes); default 4096. */
  readonly maxLineBytes?: number;
}

export interface PowtcpGetResult {
  readonly quote: string;
  readonly puzzle: string;
  readonly difficulty: number;
  readonly attempts: number;
  readonly solveMs: number;
  readonly totalMs: number;
}

/** A socket that yields one reply line at a time. */
class LineReader {
  private readonly splitter: LineSplitter;
  private readonly lines: (Uint8Array | 'overlong')[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;
  private error: Error | undefined;

  constructor(
    readonly socket: Socket,
    maxLineBytes: number,
  ) {
    this.splitter = new LineSplitter(maxLineBytes);
    socket.on('data', (chunk: Buffer) => {
      for (const item of this.splitter.push(chunk))
        this.lines.push(item.kind === 'line' ? item.line : 'overlong');
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', (err) => {
      this.error = err;
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async next(timeoutMs: number, what: string): Promise<PowtcpMessage> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.error !== undefined) throw new PowtcpProtocolError(`${what}: ${this.error.message}`);
      if (this.ended) throw new PowtcpProtocolError(`${what}: the server closed the connection`);
      const left = deadline - Date.now();
      if (left <= 0) throw new PowtcpProtocolError(`${what}: no reply within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    const line = this.lines.shift()!;
    if (line === 'overlong') throw new PowtcpProtocolError(`${what}: reply line too long`);
    const msg = decodeMessage(line);
    if (!msg.ok) throw new PowtcpProtocolError(`${what}: bad reply (${msg.code})`);
    if (msg.value.command === Command.Error)
      throw new PowtcpRefusedError(msg.value.payload || 'no reason given');
    return msg.value;
  }
}

function openSocket(target: Endpoint, localAddress: string | undefined, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: target.host,
      port: target.port,
      noDelay: true,
      ...(localAddress === undefined ? {} : { localAddress }),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new PowtcpProtocolError(`connect: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new PowtcpProtocolError(`connect: ${err.message}`));
    });
  });
}

/** Fetches one quote from a powtcp server (ours or the reference). */
export async function powtcpGet(
  target: Endpoint | string,
  options: PowtcpGetOptions = {},
): Promise<PowtcpGetResult> {
  const to = typeof target === 'string' ? parseEndpoint(target, 'target') : target;
  const replyTimeoutMs = options.replyTimeoutMs ?? 10_000;
  const started = performance.now();
  const socket = await openSocket(to, options.localAddress, replyTimeoutMs);
  const reader = new LineReader(socket, options.maxLineBytes ?? 4096);
  try {
    socket.write(encodeMessage({ command: Command.RequestPuzzle, payload: '' }));
    const puzzleMsg = await reader.next(replyTimeoutMs, 'puzzle');
    if (puzzleMsg.command !== Command.ResponsePuzzle) {
      throw new PowtcpProtocolError(`puzzle: expected 2:, got ${puzzleMsg.command}:`);
    }
    const puzzle = puzzleMsg.payload;
    const header = parseHashcash(puzzle);
    if (!header.ok) throw new PowtcpProtocolError(`puzzle: not a hashcash header (${header.code})`);
    options.onPuzzle?.(puzzle, header.value.bits);
    const solveStarted = performance.now();
    const solved = await solveHashcash(puzzle, {
      workers: options.workers ?? 1,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      ...(options.solveTimeoutMs === undefined ? {} : { timeoutMs: options.solveTimeoutMs }),
    });
    const solveMs = performance.now() - solveStarted;
    socket.write(encodeMessage({ command: Command.RequestResource, payload: solved.header }));
    const quoteMsg = await reader.next(replyTimeoutMs, 'quote');
    if (quoteMsg.command !== Command.ResponseResource) {
      throw new PowtcpProtocolError(`quote: expected 4:, got ${quoteMsg.command}:`);
    }
    return {
      quote: quoteMsg.payload,
      puzzle,
      difficulty: header.value.bits,
      attempts: solved.attempts,
      solveMs,
      totalMs: performance.now() - started,
    };
  } finally {
    socket.destroy();
  }
}
