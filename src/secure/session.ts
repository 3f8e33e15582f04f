/**
 * The IO edge of the handshake: reads and writes the transport, keeps the timers, runs the
 * PoW, and hands the pure steps of handshake.ts their time and randomness.
 */
import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type Endpoint, encodeEndpoint, FAMILY_V4 } from '../admission/endpoint.js';
import type { Store } from '../admission/store.js';
import { type Clock, systemClock } from '../util/clock.js';
import type { ReasonCode } from '../util/codes.js';
import { ArgumentError, type reject, TollgateError } from '../util/errors.js';
import { observer } from '../util/observe.js';
import { ByteQueue } from '../wire/frame.js';
import { decodeAlert, encodeAlert, HEADER_BYTES, MessageType, readHeader } from '../wire/handshake.js';
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
  verifyReply,
} from './handshake.js';
import { type IdentityKey, identityKey } from './keys.js';
import { resolveLimits, type SecureLimits } from './limits.js';
import { checkPowConfig, type HandshakePow, type PowEngine } from './pow.js';
import { defaultPowEngine } from './pow-engine.js';
import { ReplayWindow } from './replay.js';
import type { TrustPolicy } from './trust.js';

const obs = observer('secure');

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
  /**
   * The admission Store (e.g. RedisStore) shared by every responder that holds the same
   * key: each HELLO nonce is redeemed there once, so a HELLO accepted by one responder is
   * refused by the others (issue 9, finding 4). Checked after the local replay window.
   */
  readonly replayStore?: Store;
}

/** What one call of secureConnect/secureAccept needs beyond its context. */
export interface SecureConnectionOptions {
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

/**
 * Options of secureConnect/secureAccept: a shared `context`, or the context's options.
 *
 * - With `context`, the call uses it: its key, trust, puzzle, limits, replay window,
 *   pending-handshake caps and PoW queue are shared with every call given the same context.
 *   Context options need not be repeated; one given anyway must be the very value the
 *   context was made from, else the call throws an `ArgumentError` naming it.
 * - Without `context`, the call makes a context of its own from these options: its caps,
 *   replay window and PoW queue then cover this one connection only. That suits an initiator
 *   and a one-off responder; a responder that accepts many connections must share one context
 *   (`new SecureContext({ key, trust })`), or a stranger is capped per connection, not per
 *   address, and a HELLO replayed on another connection is not seen.
 */
export type SecureOptions = SecureConnectionOptions &
  (
    | ({ readonly context: SecureContext } & Partial<SecureContextOptions>)
    | (SecureContextOptions & { readonly context?: undefined })
  );

/** Options of a call that brings no context: everything a context and a connection need. */
export type SecureStandaloneOptions = SecureContextOptions & SecureConnectionOptions;

/** The options a context is made from; with a context given, a call may repeat only these same values. */
const CONTEXT_FIELDS = [
  'key',
  'trust',
  'pow',
  'powEngine',
  'limits',
  'clock',
  'random',
  'replayStore',
] as const satisfies readonly (keyof SecureContextOptions)[];

/** One pending responder handshake, as the context's caps and deadline sweep see it. */
interface PendingSlot {
  readonly group: string;
  readonly startedMs: number;
  /** performance.now() past which the handshake is stopped. */
  deadlineMs: number;
  stop: (failure: Failure) => void;
}

/**
 * The costly identity a responder caps pending handshakes by (DESIGN "The admission
 * pipeline", step 2): an IPv4 address (/32) or an IPv6 /48, since a /64 is free to get and
 * a /48 is what one site is given. `address` is the handshake's binary endpoint form.
 */
export function capGroupOf(address: Uint8Array): string {
  const hex = Buffer.from(address.subarray(1, address[0] === FAMILY_V4 ? 5 : 7)).toString('hex');
  return address[0] === FAMILY_V4 ? `v4:${hex}` : `v6:${hex}/48`;
}

/** The shared state of many handshakes: config, replay window, pending handshakes, counters. */
export class SecureContext {
  readonly config: HandshakeConfig;
  readonly limits: SecureLimits;
  readonly clock: Clock;
  readonly random: (n: number) => Uint8Array;
  readonly powEngine: PowEngine;
  readonly replay: ReplayWindow;
  /** The options this context was made from (a call given this context may repeat only these). */
  readonly options: SecureContextOptions;
  /** Pending responder handshakes, oldest first, in one set and per cap group. */
  readonly #slots = new Set<PendingSlot>();
  readonly #groups = new Map<string, Set<PendingSlot>>();
  /** One timer for every pending deadline, so a connection costs no timer of its own. */
  #sweep: ReturnType<typeof setTimeout> | undefined;
  #sweepAt = Number.POSITIVE_INFINITY;

  constructor(options: SecureContextOptions) {
    if (options === null || typeof options !== 'object')
      throw new ArgumentError('options', 'expected an object');
    if (options.trust === undefined || typeof options.trust.lookup !== 'function') {
      throw new ArgumentError('options.trust', 'expected a TrustPolicy (e.g. TrustStore)');
    }
    if (options.replayStore !== undefined && typeof options.replayStore.setIfAbsent !== 'function') {
      throw new ArgumentError('options.replayStore', 'expected a Store (e.g. RedisStore)');
    }
    this.options = options;
    const identity =
      typeof options.key === 'object' && 'identity' in options.key ? options.key : identityKey(options.key);
    this.limits = resolveLimits(options.limits);
    const pow = checkPowConfig('options.pow', options.pow ?? { kind: 'none' });
    this.config = { identity, trust: options.trust, pow, limits: this.limits };
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? ((n) => new Uint8Array(randomBytes(n)));
    this.powEngine = options.powEngine ?? defaultPowEngine(this.limits);
    this.replay = new ReplayWindow({
      maxSkewSec: this.limits.maxClockSkewSec,
      maxPeers: this.limits.maxReplayPeers,
      maxNonces: this.limits.maxReplayNonces,
      // Nonces seen before we started are forgotten: refuse HELLOs from before (issue 9,
      // finding 4). T has a resolution of one second, and an initiator may stamp its HELLO
      // just before the second we start in: that one second is given.
      notBeforeSec: this.nowSec() - 1,
      ...(options.replayStore ? { shared: options.replayStore } : {}),
    });
  }

  /** Responder handshakes in progress. */
  get pending(): number {
    return this.#slots.size;
  }

  /** Publishes a refusal (`tollgate_secure_rejections_total{reason}`, and a debug log). */
  reason(code: ReasonCode, detail?: string): void {
    obs.reject(code, detail === undefined ? undefined : { detail });
  }

  nowSec(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  /**
   * @internal Takes a pending-handshake slot for a connection from `group`. Refuses the
   * newcomer only when its own group is at its cap; at the global cap the oldest handshake
   * of the group holding the most is evicted instead (issue 9, finding 1).
   */
  admit(group: string): PendingSlot | Failure {
    const limits = this.limits;
    const mine = this.#groups.get(group);
    if (
      mine !== undefined &&
      mine.size >= Math.min(limits.maxPendingPerIdentity, limits.maxPendingHandshakes)
    ) {
      return { ok: false, code: 'ERR_HS_BUSY', detail: `${mine.size} handshakes pending from ${group}` };
    }
    if (this.#slots.size >= limits.maxPendingHandshakes) this.#evictHeaviest();
    const now = performance.now();
    const slot: PendingSlot = {
      group,
      startedMs: now,
      deadlineMs: now + Math.min(limits.helloTimeoutMs, limits.handshakeTimeoutMs),
      stop: () => {},
    };
    this.#slots.add(slot);
    if (mine === undefined) this.#groups.set(group, new Set([slot]));
    else mine.add(slot);
    this.#schedule(slot.deadlineMs);
    obs.gauge('pending_handshakes', this.#slots.size);
    return slot;
  }

  /** @internal The first message is in: the slot now lives until the handshake timeout. */
  helloReceived(slot: PendingSlot): void {
    slot.deadlineMs = slot.startedMs + this.limits.handshakeTimeoutMs;
  }

  /** @internal Frees a slot (idempotent). */
  release(slot: PendingSlot): void {
    if (!this.#slots.delete(slot)) return;
    const group = this.#groups.get(slot.group);
    group?.delete(slot);
    if (group?.size === 0) this.#groups.delete(slot.group);
    obs.gauge('pending_handshakes', this.#slots.size);
    if (this.#slots.size === 0 && this.#sweep !== undefined) {
      clearTimeout(this.#sweep);
      this.#sweep = undefined;
      this.#sweepAt = Number.POSITIVE_INFINITY;
    }
  }

  #evictHeaviest(): void {
    let heaviest: Set<PendingSlot> | undefined;
    for (const group of this.#groups.values()) {
      if (heaviest === undefined || group.size > heaviest.size) heaviest = group;
    }
    const oldest = heaviest?.values().next().value;
    if (oldest === undefined) return;
    this.release(oldest);
    oldest.stop({
      ok: false,
      code: 'ERR_HS_EVICTED',
      detail: `pending-handshake cap, ${oldest.group} held the most`,
    });
  }

  #schedule(at: number): void {
    if (at >= this.#sweepAt) return;
    if (this.#sweep !== undefined) clearTimeout(this.#sweep);
    this.#sweepAt = at;
    this.#sweep = setTimeout(() => this.#expire(), Math.max(0, at - performance.now()));
  }

  #expire(): void {
    this.#sweep = undefined;
    this.#sweepAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const slot of this.#slots) {
      if (slot.deadlineMs <= now) {
        this.release(slot);
        slot.stop({ ok: false, code: 'ERR_HS_TIMEOUT' });
      } else if (slot.deadlineMs < next) next = slot.deadlineMs;
    }
    if (next !== Number.POSITIVE_INFINITY) this.#schedule(next);
  }
}

/** The context of one call: the one given, else one made for this call alone (see SecureOptions). */
function contextOf(options: SecureOptions): SecureContext {
  if (options === null || typeof options !== 'object')
    throw new ArgumentError('options', 'expected an object');
  const ctx = options.context;
  if (ctx === undefined) return new SecureContext(options as SecureContextOptions);
  if (!(ctx instanceof SecureContext)) throw new ArgumentError('options.context', 'expected a SecureContext');
  for (const field of CONTEXT_FIELDS) {
    const given = options[field];
    if (given !== undefined && given !== ctx.options[field]) {
      throw new ArgumentError(
        `options.${field}`,
        'differs from the one options.context was made with; give it to the SecureContext only',
      );
    }
  }
  return ctx;
}

type Failure = ReturnType<typeof reject<HandshakeCode>>;

/**
 * Reads whole handshake messages from a transport, judging each header as it arrives. Bytes
 * that arrive while no message is awaited (the last one is being checked) are bounded by
 * `maxBuffered`; past it `onOverrun` is called (issue 9, finding 2): an honest peer sends
 * nothing until it has our answer.
 */
class HandshakeReader {
  readonly #stream: Duplex;
  readonly #queue = new ByteQueue();
  readonly #maxBuffered: number;
  readonly #onOverrun: () => void;
  #closed = false;
  #waiting = false;
  #wake: (() => void) | undefined;
  readonly #onData = (chunk: Buffer) => {
    this.#queue.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    if (this.#wake !== undefined) this.#wake();
    else if (!this.#waiting && this.#queue.length > this.#maxBuffered) this.#onOverrun();
  };
  readonly #onClose = () => {
    this.#closed = true;
    this.#wake?.();
  };

  /** `leftover`: bytes that came after a message already read (by the responder's first phase). */
  constructor(stream: Duplex, maxBuffered: number, onOverrun: () => void, leftover?: Uint8Array) {
    this.#stream = stream;
    this.#maxBuffered = maxBuffered;
    this.#onOverrun = onOverrun;
    stream.on('data', this.#onData);
    stream.on('end', this.#onClose);
    stream.on('close', this.#onClose);
    stream.on('error', this.#onClose);
    if (leftover !== undefined && leftover.length > 0) this.#onData(Buffer.from(leftover));
    stream.resume();
  }

  /** Whether a next() is in progress (so the peer's close is its verdict). */
  get waiting(): boolean {
    return this.#waiting;
  }

  async next(): Promise<{ ok: true; type: number; bytes: Uint8Array } | Failure> {
    this.#waiting = true;
    try {
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
    } finally {
      this.#waiting = false;
    }
  }

  /** The peer's refusal, when the next whole message in the queue is an ALERT. */
  alert(): Failure | undefined {
    if (this.#queue.length < HEADER_BYTES) return undefined;
    const head = readHeader(this.#queue.peek(HEADER_BYTES));
    if (!head.ok || head.value.type !== MessageType.alert || this.#queue.length < head.value.total)
      return undefined;
    return judgeType(MessageType.alert, this.#queue.peek(head.value.total), MessageType.hello);
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

/** A verdict travelling up through the handshake body (replaced by pure steps in issue 8). */
class Abort {
  constructor(readonly failure: Failure) {}
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
 * Runs a handshake body with the shared edge behaviour: deadline, abort, counting, alert and
 * close on failure, and the handover of the transport to the channel on success. `arm`
 * starts the deadline with the function that stops the handshake and returns its disarm.
 * A stop settles at once, even while the body awaits a PoW verification or a store.
 */
async function run(
  stream: Duplex,
  ctx: SecureContext,
  options: SecureOptions,
  arm: (stop: (f: Failure) => void) => () => void,
  body: (reader: HandshakeReader, fail: (f: Failure) => never, signal: AbortSignal) => Promise<SecureChannel>,
  leftover?: Uint8Array,
): Promise<SecureChannel> {
  const halt = new AbortController();
  let stopped: Failure | undefined;
  let rejectStopped: (reason: Abort) => void = () => {};
  const stopping = new Promise<never>((_, rej) => {
    rejectStopped = rej;
  });
  const stop = (f: Failure) => {
    if (stopped !== undefined) return;
    stopped = f;
    reader.interrupt();
    halt.abort();
    rejectStopped(new Abort(f));
  };
  const reader = new HandshakeReader(
    stream,
    ctx.limits.maxHandshakeBufferBytes,
    () =>
      stop({
        ok: false,
        code: 'ERR_HS_OVERRUN',
        detail: `more than ${ctx.limits.maxHandshakeBufferBytes} bytes unasked`,
      }),
    leftover,
  );
  // The peer hanging up stops our own puzzle solving, and a body busy elsewhere (PoW pool,
  // store) at once; a body reading gets the close as its verdict from the reader.
  const onGone = () => {
    halt.abort();
    if (!reader.waiting)
      stop(reader.alert() ?? { ok: false, code: 'ERR_HS_CLOSED', detail: 'connection closed' });
  };
  stream.once('close', onGone);
  const disarm = arm(stop);
  const onAbort = () => stop({ ok: false, code: 'ERR_HS_CLOSED', detail: 'aborted' });
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const fail = (f: Failure): never => {
    throw new Abort(stopped ?? f);
  };
  try {
    if (options.signal?.aborted) fail({ ok: false, code: 'ERR_HS_CLOSED', detail: 'aborted' });
    const work = body(reader, fail, halt.signal);
    // A body outrun by a stop finishes in the background; whatever it made is dropped.
    work.then(
      (channel) => {
        if (stopped !== undefined) channel.destroy();
      },
      () => {},
    );
    return await Promise.race([work, stopping]);
  } catch (error) {
    let failure: Failure;
    if (stopped !== undefined) failure = stopped;
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
    disarm();
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
  // Tell the peer why (its operator needs to know which check failed), then close. On a TCP
  // socket one write and destroy: the write reaches the kernel at once (libuv tries it
  // synchronously) and needs no timer or stream machinery (issue 12, item 1). Other duplexes
  // (an in-memory pair resets its peer on destroy) end first.
  if (stream instanceof Socket) {
    stream.write(encodeAlert(code));
    stream.destroy();
    return;
  }
  const timer = setTimeout(() => stream.destroy(), 1000);
  timer.unref();
  stream.end(encodeAlert(code), () => {
    clearTimeout(timer);
    stream.destroy();
  });
}

/** The verdict on a whole message of type `got` where `want` was expected (an ALERT is the peer's refusal). */
function judgeType(got: number, bytes: Uint8Array, want: MessageType): Failure | undefined {
  if (got === MessageType.alert) {
    const alert = decodeAlert(bytes);
    return alert.ok
      ? { ok: false, code: 'ERR_HS_PEER_ALERT', detail: alert.value.code }
      : { ok: false, code: alert.code, detail: alert.detail ?? 'alert' };
  }
  if (got !== want) return { ok: false, code: 'ERR_HS_UNEXPECTED', detail: `type ${got}` };
  return undefined;
}

async function readShare(
  reader: HandshakeReader,
  type: MessageType,
  fail: (f: Failure) => never,
): Promise<Uint8Array> {
  const msg = await reader.next();
  if (!msg.ok) return fail(msg);
  const wrong = judgeType(msg.type, msg.bytes, type);
  if (wrong !== undefined) return fail(wrong);
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
  obs.count('handshakes');
  return new SecureChannel({
    transport: stream,
    sendKey: keys.send,
    receiveKey: keys.receive,
    peer: { identity: checked.peer.identity, publicKey: checked.peer.publicKey },
    limits: ctx.limits,
    clock: ctx.clock,
    leftover,
    transcript: keys.transcript,
    // The channel's codes are its ChannelCode union, all in the registry.
    onReason: (code) => ctx.reason(code as ReasonCode),
  });
}

/** Runs the initiator's side of the handshake over `stream`, then returns the channel. */
export async function secureConnect(stream: Duplex, options: SecureOptions): Promise<SecureChannel> {
  const ctx = contextOf(options);
  const sock = stream as Duplex & SocketLike;
  const responderAddress = remoteAddressOf(options, sock);
  const ours = options.checkAddress === false ? undefined : [localAddressOf(options, sock)];
  const arm = (stop: (f: Failure) => void) => {
    const timer = setTimeout(
      () => stop({ ok: false, code: 'ERR_HS_TIMEOUT' }),
      ctx.limits.handshakeTimeoutMs,
    );
    return () => clearTimeout(timer);
  };
  return run(stream, ctx, options, arm, async (reader, fail, signal) => {
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
    // Signature before a scrypt PoW, as the responder does (see verifyHello).
    const signed = verifyReply(hello, checked.value);
    if (!signed.ok) return fail(signed);
    await checkPow(ctx, checked.value, fail);
    const done = finishInitiator(ctx.config, start, hello, checked.value);
    if (!done.ok) return fail(done);
    stream.write(done.value.finish);
    const { i2r, r2i, transcript } = done.value.keys;
    return openChannel(ctx, stream, reader.detach(), { send: i2r, receive: r2i, transcript }, checked.value);
  });
}

/**
 * Runs the responder's side of the handshake over `stream`, then returns the channel.
 *
 * Up to the cheap checks of HELLO it runs on one 'data' listener, with no timer (the
 * context's deadline sweep), promise chain or reader of its own, so that refusing a stranger
 * costs little more than node:net's accept-read-answer-close (issue 12, item 1).
 */
export function secureAccept(stream: Duplex, options: SecureOptions): Promise<SecureChannel> {
  let ctx: SecureContext;
  let initiatorAddress: Uint8Array;
  let ours: Uint8Array[] | undefined;
  try {
    ctx = contextOf(options);
    const sock = stream as Duplex & SocketLike;
    initiatorAddress = remoteAddressOf(options, sock);
    ours =
      options.checkAddress === false
        ? undefined
        : options.acceptAddresses !== undefined
          ? options.acceptAddresses.map((a, i) => resolveAddress(`options.acceptAddresses[${i}]`, a))
          : [localAddressOf(options, sock)];
  } catch (error) {
    return Promise.reject(error);
  }
  const slot = ctx.admit(capGroupOf(initiatorAddress));
  if ('ok' in slot) {
    ctx.reason(slot.code, slot.detail);
    closeWithAlert(stream, slot.code);
    return Promise.reject(new HandshakeError(slot.code, slot.detail));
  }
  return new Promise<SecureChannel>((resolve, reject) => {
    const queue = new ByteQueue();
    const detach = () => {
      stream.off('data', onData);
      stream.off('end', onGone);
      stream.off('close', onGone);
      stream.off('error', onGone);
      options.signal?.removeEventListener('abort', onAbort);
    };
    const refuse = (f: Failure) => {
      if (slot.stop === noStop) return;
      slot.stop = noStop;
      detach();
      ctx.release(slot);
      ctx.reason(f.code, f.detail);
      closeWithAlert(stream, f.code);
      reject(new HandshakeError(f.code, f.detail));
    };
    const onGone = () => refuse({ ok: false, code: 'ERR_HS_CLOSED', detail: 'connection closed' });
    const onAbort = () => refuse({ ok: false, code: 'ERR_HS_CLOSED', detail: 'aborted' });
    const onData = (chunk: Buffer) => {
      queue.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
      if (queue.length < HEADER_BYTES) return;
      const head = readHeader(queue.peek(HEADER_BYTES));
      if (!head.ok) return refuse(head);
      if (queue.length < head.value.total) return;
      const helloBytes = Uint8Array.from(queue.take(head.value.total));
      const wrong = judgeType(head.value.type, helloBytes, MessageType.hello);
      if (wrong !== undefined) return refuse(wrong);
      const checked = cheapChecks(ctx.config, helloBytes, MessageType.hello, {
        nowSec: ctx.nowSec(),
        ours,
        replay: ctx.replay,
      });
      if (!checked.ok) return refuse(checked);
      detach();
      stream.pause();
      ctx.helloReceived(slot);
      slot.stop = noStop;
      resolve(continueAccept(stream, ctx, options, slot, checked.value, initiatorAddress, queue.drain()));
    };
    slot.stop = refuse;
    stream.on('data', onData);
    stream.on('end', onGone);
    stream.on('close', onGone);
    stream.on('error', onGone);
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const noStop = (_f: Failure) => {};

/** The responder after HELLO passed its cheap checks: signature, PoW, replay commit, REPLY, FINISH. */
function continueAccept(
  stream: Duplex,
  ctx: SecureContext,
  options: SecureOptions,
  slot: PendingSlot,
  hello: CheckedShare,
  initiatorAddress: Uint8Array,
  leftover: Uint8Array,
): Promise<SecureChannel> {
  const arm = (stop: (f: Failure) => void) => {
    slot.stop = stop;
    return () => ctx.release(slot);
  };
  const checked = { ok: true as const, value: hello };
  return run(
    stream,
    ctx,
    options,
    arm,
    async (reader, fail, signal) => {
      // The cheaper of the two first: one SHA-256 for sha256-bits, the signature before scrypt
      // (issue 9, finding 3; docs/secure-channel.md).
      if (ctx.config.pow.kind === 'scrypt') {
        const signed = verifyHello(checked.value);
        if (!signed.ok) return fail(signed);
        await checkPow(ctx, checked.value, fail);
      } else {
        await checkPow(ctx, checked.value, fail);
        const signed = verifyHello(checked.value);
        if (!signed.ok) return fail(signed);
      }
      const { share, peer } = checked.value;
      // A handshake stopped while its PoW was checked must not burn its nonce.
      if (signal.aborted) return fail({ ok: false, code: 'ERR_HS_CLOSED' });
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
    },
    leftover,
  );
}
