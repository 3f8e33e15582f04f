/**
 * The IO edge of the handshake: reads and writes the transport, keeps the timers, runs the
 * PoW, and hands the pure steps of handshake.ts their time and randomness.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { type Endpoint, encodeEndpoint } from '../admission/endpoint.js';
import { type Clock, systemClock } from '../util/clock.js';
import { ArgumentError, type reject, TollgateError } from '../util/errors.js';
import { ByteQueue } from '../wire/frame.js';
import { decodeAlert, encodeAlert, MessageType, readHeader } from '../wire/handshake.js';
import { SecureChannel } from './channel.js';
import {
  type CheckedShare,
  cheapChecks,
  checkFinish,
  finishInitiator,
  type HandshakeCode,
  type HandshakeConfig,
  powToVerify,
  sealHello,
  sealReply,
  startInitiator,
  startResponder,
  verifyHello,
} from './handshake.js';
import { type IdentityKey, identityKey } from './keys.js';
import { resolveLimits, type SecureLimits } from './limits.js';
import { checkPowConfig, type HandshakePow, type PowEngine } from './pow.js';
import { defaultPowEngine } from './pow-engine.js';
import { ReplayWindow, type SharedReplayGuard } from './replay.js';
import type { TrustPolicy } from './trust.js';

/** A handshake was refused; `code` says which check failed (docs/errors.md). */
export class HandshakeError extends TollgateError {
  readonly detail: string | undefined;
  constructor(code: HandshakeCode, detail?: string) {
    super(code, detail === undefined ? code : `${code}: ${detail}`);
    this.detail = detail;
  }
}

/** An ip:port; the handshake carries it in the admission layer's canonical binary form. */
export type Address = Endpoint;

/** What a peer needs to run handshakes; shared by every connection of one context. */
export interface SecureContextOptions {
  /** Our identity: a checked key, a KeyObject or PEM text of a private key. */
  readonly key: IdentityKey | string | import('node:crypto').KeyObject;
  /** Who we accept as a peer (for instance a TrustStore over a folder of public PEMs). */
  readonly trust: TrustPolicy;
  /** The puzzle we solve and demand (default none). Both sides must use the same. */
  readonly pow?: HandshakePow;
  /** Solver and verifier of puzzles (default: the core's, in its bounded worker pool). */
  readonly powEngine?: PowEngine;
  readonly limits?: Partial<SecureLimits>;
  readonly clock?: Clock;
  /** Source of randomness (default crypto.randomBytes); injected for test vectors. */
  readonly random?: (n: number) => Uint8Array;
  /** A replay guard shared with other processes, checked after the local one. */
  readonly sharedReplay?: SharedReplayGuard;
  /** Called with each reason code that refused a handshake or closed a channel (metrics). */
  readonly onReason?: (code: string, detail?: string) => void;
}

/** Per-connection options of secureConnect/secureAccept. */
export interface SecureOptions extends SecureContextOptions {
  /** Use this shared context (replay window, pending-handshake count) instead of one per options object. */
  readonly context?: SecureContext;
  /** Initiator: refuse any responder but this identity. */
  readonly expectIdentity?: string;
  /** Our address as the peer sees it (default: the socket's local address). */
  readonly localAddress?: Address;
  /** The peer's address as we see it (default: the socket's remote address). */
  readonly remoteAddress?: Address;
  /** Responder: addresses accepted in HELLO's address field (default: [localAddress]). */
  readonly acceptAddresses?: readonly Address[];
  /**
   * Check the address field (seed 004 §3 and §4). Default true; an initiator behind NAT,
   * whose public address differs from its socket's, can turn its own check off.
   */
  readonly checkAddress?: boolean;
  readonly signal?: AbortSignal;
}

/** The shared state of many handshakes: config, replay window, pending count, counters. */
export class SecureContext {
  readonly config: HandshakeConfig;
  readonly limits: SecureLimits;
  readonly clock: Clock;
  readonly random: (n: number) => Uint8Array;
  readonly powEngine: PowEngine;
  readonly replay: ReplayWindow;
  /** How often each reason code refused a handshake or closed a channel. */
  readonly counts = new Map<string, number>();
  readonly #onReason: ((code: string, detail?: string) => void) | undefined;
  #pending = 0;

  constructor(options: SecureContextOptions) {
    if (options === null || typeof options !== 'object')
      throw new ArgumentError('options', 'expected an object');
    if (options.trust === undefined || typeof options.trust.lookup !== 'function') {
      throw new ArgumentError('options.trust', 'expected a TrustPolicy (e.g. TrustStore)');
    }
    const identity =
      typeof options.key === 'object' && 'identity' in options.key ? options.key : identityKey(options.key);
    this.limits = resolveLimits(options.limits);
    const pow = checkPowConfig('options.pow', options.pow ?? { kind: 'none' });
    this.config = { identity, trust: options.trust, pow, limits: this.limits };
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? ((n) => new Uint8Array(randomBytes(n)));
    this.powEngine = options.powEngine ?? defaultPowEngine(this.limits);
    this.#onReason = options.onReason;
    this.replay = new ReplayWindow({
      maxSkewSec: this.limits.maxClockSkewSec,
      maxPeers: this.limits.maxReplayPeers,
      maxNonces: this.limits.maxReplayNonces,
      ...(options.sharedReplay ? { shared: options.sharedReplay } : {}),
    });
  }

  get pending(): number {
    return this.#pending;
  }

  /** Counts a reason code and tells the onReason hook. */
  reason(code: string, detail?: string): void {
    this.counts.set(code, (this.counts.get(code) ?? 0) + 1);
    this.#onReason?.(code, detail);
  }

  nowSec(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  /** @internal */
  enter(): boolean {
    if (this.#pending >= this.limits.maxPendingHandshakes) return false;
    this.#pending++;
    return true;
  }

  /** @internal */
  leave(): void {
    this.#pending--;
  }
}

const contexts = new WeakMap<object, SecureContext>();

function contextOf(options: SecureOptions): SecureContext {
  if (options.context) return options.context;
  let ctx = contexts.get(options);
  if (ctx === undefined) {
    ctx = new SecureContext(options);
    contexts.set(options, ctx);
  }
  return ctx;
}

type Failure = ReturnType<typeof reject<HandshakeCode>>;

/** Reads whole handshake messages from a transport, judging each header as it arrives. */
class HandshakeReader {
  readonly #stream: Duplex;
  readonly #queue = new ByteQueue();
  #closed = false;
  #wake: (() => void) | undefined;
  readonly #onData = (chunk: Buffer) => {
    this.#queue.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    this.#wake?.();
  };
  readonly #onClose = () => {
    this.#closed = true;
    this.#wake?.();
  };

  constructor(stream: Duplex) {
    this.#stream = stream;
    stream.on('data', this.#onData);
    stream.on('end', this.#onClose);
    stream.on('close', this.#onClose);
    stream.on('error', this.#onClose);
  }

  async next(): Promise<{ ok: true; type: number; bytes: Uint8Array } | Failure> {
    for (;;) {
      if (this.#queue.length >= 4) {
        const head = readHeader(this.#queue.peek(4));
        if (!head.ok) return head;
        if (this.#queue.length >= head.value.total) {
          return {
            ok: true,
            type: head.value.type,
            bytes: Uint8Array.from(this.#queue.take(head.value.total)),
          };
        }
      }
      if (this.#closed) return { ok: false, code: 'ERR_HS_CLOSED', detail: 'connection closed' };
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }

  /** Stops reading (the stream is paused, not lost) and returns bytes already received. */
  detach(): Uint8Array {
    this.#stream.pause();
    this.#stream.off('data', this.#onData);
    this.#stream.off('end', this.#onClose);
    this.#stream.off('close', this.#onClose);
    this.#stream.off('error', this.#onClose);
    return Uint8Array.from(this.#queue.drain());
  }

  /** Interrupts a pending next() (timeout, abort). */
  interrupt(): void {
    this.#closed = true;
    this.#wake?.();
  }
}

interface SocketLike {
  localAddress?: string;
  localPort?: number;
  remoteAddress?: string;
  remotePort?: number;
}

function resolveAddress(name: string, given: Endpoint | undefined, host?: string, port?: number): Uint8Array {
  const a = given ?? (host !== undefined && port !== undefined ? { host, port } : undefined);
  if (a === undefined) {
    throw new ArgumentError(name, 'the stream has no socket address; pass it in the options');
  }
  try {
    return encodeEndpoint(a);
  } catch (error) {
    throw new ArgumentError(name, `not an IP address and port: ${a.host}:${a.port} (${String(error)})`);
  }
}

/**
 * Runs a handshake body with the shared edge behaviour: timeout, abort, counting, alert and
 * close on failure, and the handover of the transport to the channel on success.
 */
async function run(
  stream: Duplex,
  ctx: SecureContext,
  options: SecureOptions,
  body: (reader: HandshakeReader, fail: (f: Failure) => never, signal: AbortSignal) => Promise<SecureChannel>,
): Promise<SecureChannel> {
  const reader = new HandshakeReader(stream);
  const halt = new AbortController();
  let timedOut: Failure | undefined;
  const stop = (f: Failure) => {
    timedOut ??= f;
    reader.interrupt();
    halt.abort();
  };
  // The peer hanging up also stops our own puzzle solving.
  const onGone = () => halt.abort();
  stream.once('close', onGone);
  const timer = setTimeout(() => stop({ ok: false, code: 'ERR_HS_TIMEOUT' }), ctx.limits.handshakeTimeoutMs);
  const onAbort = () => stop({ ok: false, code: 'ERR_HS_CLOSED', detail: 'aborted' });
  options.signal?.addEventListener('abort', onAbort, { once: true });
  class Abort {
    constructor(readonly failure: Failure) {}
  }
  const fail = (f: Failure): never => {
    throw new Abort(f);
  };
  try {
    if (options.signal?.aborted) fail({ ok: false, code: 'ERR_HS_CLOSED', detail: 'aborted' });
    return await body(reader, (f) => fail(timedOut ?? f), halt.signal);
  } catch (error) {
    let failure: Failure;
    if (timedOut !== undefined) failure = timedOut;
    else if (error instanceof Abort) failure = error.failure;
    else if (halt.signal.aborted) failure = { ok: false, code: 'ERR_HS_CLOSED', detail: 'connection closed' };
    else {
      reader.detach();
      stream.destroy();
      throw error;
    }
    const { code, detail } = failure;
    ctx.reason(code, detail);
    reader.detach();
    closeWithAlert(stream, code);
    throw new HandshakeError(code, detail);
  } finally {
    clearTimeout(timer);
    stream.off('close', onGone);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

function closeWithAlert(stream: Duplex, code: HandshakeCode): void {
  stream.on('error', () => {});
  if (code === 'ERR_HS_CLOSED' || code === 'ERR_HS_PEER_ALERT' || stream.destroyed || stream.writableEnded) {
    stream.destroy();
    return;
  }
  // Tell the peer why (its operator needs to know which check failed), then close.
  const timer = setTimeout(() => stream.destroy(), 1000);
  timer.unref();
  stream.end(encodeAlert(code), () => {
    clearTimeout(timer);
    stream.destroy();
  });
}

async function readShare(
  reader: HandshakeReader,
  type: MessageType,
  fail: (f: Failure) => never,
): Promise<Uint8Array> {
  const msg = await reader.next();
  if (!msg.ok) return fail(msg);
  if (msg.type === MessageType.alert) {
    const alert = decodeAlert(msg.bytes);
    return fail(
      alert.ok
        ? { ok: false, code: 'ERR_HS_PEER_ALERT', detail: alert.value.code }
        : { ok: false, code: alert.code, detail: alert.detail ?? 'alert' },
    );
  }
  if (msg.type !== type) return fail({ ok: false, code: 'ERR_HS_UNEXPECTED', detail: `type ${msg.type}` });
  return msg.bytes;
}

async function checkPow(
  ctx: SecureContext,
  checked: CheckedShare,
  fail: (f: Failure) => never,
): Promise<void> {
  const input = powToVerify(ctx.config, checked);
  if (input === undefined) return;
  let ok: boolean;
  try {
    ok = await ctx.powEngine.verify(ctx.config.pow, input, checked.share.pow);
  } catch (error) {
    // A full pool refuses new handshakes rather than queueing them (issue 4, item 3).
    const busy = error instanceof TollgateError && error.code === 'ERR_POOL_BUSY';
    return fail({ ok: false, code: busy ? 'ERR_HS_BUSY' : 'ERR_HS_POW', detail: String(error) });
  }
  if (!ok) fail({ ok: false, code: 'ERR_HS_POW', detail: 'puzzle not solved' });
}

/** The peer's address as the handshake names it: from the options, else the socket's remote end. */
function remoteAddressOf(options: SecureOptions, sock: SocketLike): Uint8Array {
  return resolveAddress('options.remoteAddress', options.remoteAddress, sock.remoteAddress, sock.remotePort);
}

/** Our own address as the peer must name it: from the options, else the socket's local end. */
function localAddressOf(options: SecureOptions, sock: SocketLike): Uint8Array {
  return resolveAddress('options.localAddress', options.localAddress, sock.localAddress, sock.localPort);
}

/** Hands the transport to the channel once the handshake is done; each side passes its own key direction. */
function openChannel(
  ctx: SecureContext,
  stream: Duplex,
  leftover: Uint8Array,
  keys: { send: Uint8Array; receive: Uint8Array; transcript: Uint8Array },
  checked: CheckedShare,
): SecureChannel {
  return new SecureChannel({
    transport: stream,
    sendKey: keys.send,
    receiveKey: keys.receive,
    peer: { identity: checked.peer.identity, publicKey: checked.peer.publicKey },
    limits: ctx.limits,
    clock: ctx.clock,
    leftover,
    transcript: keys.transcript,
    onReason: (code) => ctx.reason(code),
  });
}

/** Runs the initiator's side of the handshake over `stream`, then returns the channel. */
export async function secureConnect(stream: Duplex, options: SecureOptions): Promise<SecureChannel> {
  const ctx = contextOf(options);
  const sock = stream as Duplex & SocketLike;
  const responderAddress = remoteAddressOf(options, sock);
  const ours = options.checkAddress === false ? undefined : [localAddressOf(options, sock)];
  return run(stream, ctx, options, async (reader, fail, signal) => {
    const start = startInitiator(ctx.config, { nowSec: ctx.nowSec(), random: ctx.random, responderAddress });
    const pow = await ctx.powEngine.solve(ctx.config.pow, start.share.powInput, signal);
    const hello = sealHello(ctx.config, start, pow);
    stream.write(hello);
    const replyBytes = await readShare(reader, MessageType.reply, fail);
    const checked = cheapChecks(ctx.config, replyBytes, MessageType.reply, {
      nowSec: ctx.nowSec(),
      ours,
      // The REPLY signature covers our fresh HELLO, so a replayed REPLY fails its signature.
      replay: undefined,
      expectIdentity: options.expectIdentity,
    });
    if (!checked.ok) return fail(checked);
    await checkPow(ctx, checked.value, fail);
    const done = finishInitiator(ctx.config, start, hello, checked.value);
    if (!done.ok) return fail(done);
    stream.write(done.value.finish);
    const { i2r, r2i, transcript } = done.value.keys;
    return openChannel(ctx, stream, reader.detach(), { send: i2r, receive: r2i, transcript }, checked.value);
  });
}

/** Runs the responder's side of the handshake over `stream`, then returns the channel. */
export async function secureAccept(stream: Duplex, options: SecureOptions): Promise<SecureChannel> {
  const ctx = contextOf(options);
  const sock = stream as Duplex & SocketLike;
  const initiatorAddress = remoteAddressOf(options, sock);
  const ours =
    options.checkAddress === false
      ? undefined
      : options.acceptAddresses !== undefined
        ? options.acceptAddresses.map((a, i) => resolveAddress(`options.acceptAddresses[${i}]`, a))
        : [localAddressOf(options, sock)];
  if (!ctx.enter()) {
    ctx.reason('ERR_HS_BUSY', 'pending handshakes');
    closeWithAlert(stream, 'ERR_HS_BUSY');
    throw new HandshakeError('ERR_HS_BUSY', 'too many pending handshakes');
  }
  try {
    return await run(stream, ctx, options, async (reader, fail, signal) => {
      const helloBytes = await readShare(reader, MessageType.hello, fail);
      const checked = cheapChecks(ctx.config, helloBytes, MessageType.hello, {
        nowSec: ctx.nowSec(),
        ours,
        replay: ctx.replay,
      });
      if (!checked.ok) return fail(checked);
      await checkPow(ctx, checked.value, fail);
      const signed = verifyHello(checked.value);
      if (!signed.ok) return fail(signed);
      const { share, peer } = checked.value;
      const committed = await ctx.replay.commit(peer.identity, share.nonce, share.time, ctx.nowSec());
      if (!committed.ok) return fail(committed);
      const state = startResponder(ctx.config, checked.value, {
        nowSec: ctx.nowSec(),
        random: ctx.random,
        initiatorAddress,
      });
      const pow = await ctx.powEngine.solve(ctx.config.pow, state.share.powInput, signal);
      const sealed = sealReply(ctx.config, state, pow);
      if (!sealed.ok) return fail(sealed);
      stream.write(sealed.value.reply);
      const finishBytes = await readShare(reader, MessageType.finish, fail);
      const keys = checkFinish(peer, sealed.value.keys, finishBytes);
      if (!keys.ok) return fail(keys);
      const { i2r, r2i, transcript } = keys.value;
      return openChannel(
        ctx,
        stream,
        reader.detach(),
        { send: r2i, receive: i2r, transcript },
        checked.value,
      );
    });
  } finally {
    ctx.leave();
  }
}
