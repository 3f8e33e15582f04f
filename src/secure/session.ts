/**
 * The IO edge of the handshake: reads and writes the transport, keeps the timers, runs the
 * PoW, redeems nonces, draws randomness, and feeds the results to the pure steps of
 * protocol/secure/connection.ts. The caps and the replay window shared by many handshakes
 * live in a SecureContext.
 */
import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type Endpoint, encodeEndpoint, FAMILY_V4 } from '../admission/endpoint.js';
import type { Store } from '../admission/store.js';
import {
  ENTROPY_BYTES,
  type HandshakeEffect,
  type HandshakeEnv,
  type HandshakeEvent,
  type HandshakeState,
  initialInitiator,
  initialResponder,
  step,
} from '../protocol/secure/connection.js';
import { type HandshakeCode, type HandshakeConfig, reasonOf } from '../protocol/secure/messages.js';
import { type Clock, systemClock } from '../util/clock.js';
import type { ReasonCode } from '../util/codes.js';
import { ArgumentError, TollgateError } from '../util/errors.js';
import { observer } from '../util/observe.js';
import { encodeAlert } from '../wire/handshake.js';
import { SecureChannel } from './channel.js';
import { type IdentityKey, identityKey } from './keys.js';
import { resolveLimits, type SecureLimits } from './limits.js';
import { checkPowConfig, type HandshakePow, type PowEngine } from './pow.js';
import { defaultPowEngine } from './pow-engine.js';
import { ReplayWindow } from './replay.js';
import type { TrustPolicy } from './trust.js';

const obs = observer('secure');

/**
 * A handshake was refused; `code` says which check failed (docs/errors.md). It carries no
 * stack: it is a verdict on the peer's bytes, not a fault in the caller's code, and capturing
 * one was the largest single cost of refusing a stranger (issue 12, item 1).
 */
export class HandshakeError extends TollgateError {
  readonly detail: string | undefined;
  constructor(code: HandshakeCode, detail?: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(code, detail === undefined ? code : `${code}: ${detail}`);
    } finally {
      Error.stackTraceLimit = limit;
    }
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
  /** Stops the handshake: its deadline passed, or it was evicted at the global cap. */
  stop: (why: 'expired' | 'evicted') => void;
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
  /** What the handshake steps read: config and the replay window's synchronous check. */
  readonly env: HandshakeEnv;
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
    this.env = { config: this.config, replay: this.replay };
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
  admit(group: string): PendingSlot | { readonly code: 'ERR_HS_BUSY'; readonly detail: string } {
    const limits = this.limits;
    const mine = this.#groups.get(group);
    if (
      mine !== undefined &&
      mine.size >= Math.min(limits.maxPendingPerIdentity, limits.maxPendingHandshakes)
    ) {
      return { code: 'ERR_HS_BUSY', detail: `${mine.size} handshakes pending from ${group}` };
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

  /** @internal Moves a slot's deadline to `inMs` from now (the step asked for a new one). */
  deadline(slot: PendingSlot, inMs: number): void {
    slot.deadlineMs = performance.now() + inMs;
    this.#schedule(slot.deadlineMs);
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
    oldest.stop('evicted');
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
        slot.stop('expired');
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

/** One ALERT per code, encoded once: the codes are a fixed set, and the bytes are only ever read. */
const alerts = new Map<HandshakeCode, Uint8Array>();
function alertBytes(code: HandshakeCode): Uint8Array {
  let bytes = alerts.get(code);
  if (bytes === undefined) {
    bytes = encodeAlert(code);
    alerts.set(code, bytes);
  }
  return bytes;
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
    stream.write(alertBytes(code));
    stream.destroy();
    return;
  }
  const timer = setTimeout(() => stream.destroy(), 1000);
  timer.unref();
  stream.end(alertBytes(code), () => {
    clearTimeout(timer);
    stream.destroy();
  });
}

/** The peer's address as the handshake names it: from the options, else the socket's remote end. */
function remoteAddressOf(options: SecureOptions, sock: SocketLike): Uint8Array {
  return resolveAddress('options.remoteAddress', options.remoteAddress, sock.remoteAddress, sock.remotePort);
}

/** Our own address as the peer must name it: from the options, else the socket's local end. */
function localAddressOf(options: SecureOptions, sock: SocketLike): Uint8Array {
  return resolveAddress('options.localAddress', options.localAddress, sock.localAddress, sock.localPort);
}

/**
 * Runs the handshake's steps over `stream` (protocol/secure/connection.ts): feeds reads, the
 * peer's close, the caller's abort, deadlines and the results of solving, verifying and
 * committing as events, and carries out the effects. The responder's deadline is its slot in
 * the context's sweep; the initiator's a timer of its own.
 */
function drive(
  stream: Duplex,
  ctx: SecureContext,
  options: SecureOptions,
  initial: HandshakeState,
  slot: PendingSlot | undefined,
  first: HandshakeEvent | undefined,
): Promise<SecureChannel> {
  return new Promise<SecureChannel>((resolve, reject) => {
    let state = initial;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let halt: AbortController | undefined;
    let queued: HandshakeEvent[] | undefined;
    let stepping = false;
    let settled = false;

    const detach = () => {
      stream.off('data', onData);
      stream.off('end', onGone);
      stream.off('close', onGone);
      stream.off('error', onGone);
      options.signal?.removeEventListener('abort', onAbort);
      if (timer !== undefined) clearTimeout(timer);
      if (slot !== undefined) {
        slot.stop = noStop;
        ctx.release(slot);
      }
      // Our own puzzle solving stops with the handshake.
      halt?.abort();
    };
    const crash = (error: unknown) => {
      if (settled) return;
      settled = true;
      detach();
      stream.destroy();
      reject(error);
    };
    const apply = (effect: HandshakeEffect, now: number) => {
      switch (effect.type) {
        case 'send':
          stream.write(effect.bytes);
          return;
        case 'draw':
          feed({ type: 'entropy', bytes: ctx.random(effect.bytes) });
          return;
        case 'solve':
          halt ??= new AbortController();
          ctx.powEngine.solve(ctx.config.pow, effect.input, halt.signal).then(
            (nonce) => feed({ type: 'solved', nonce }),
            (error: unknown) => {
              if (!settled) crash(error);
            },
          );
          return;
        case 'verifyPow':
          ctx.powEngine.verify(ctx.config.pow, effect.input, effect.nonce).then(
            (ok) => feed({ type: 'powVerified', ok }),
            (error: unknown) =>
              feed({
                type: 'powVerified',
                ok: false,
                busy: error instanceof TollgateError && error.code === 'ERR_POOL_BUSY',
                detail: String(error),
              }),
          );
          return;
        case 'commit':
          ctx.replay
            .commit(effect.identity, effect.nonce, effect.time, effect.nowSec)
            .then((result) => feed({ type: 'committed', result: result.ok ? { ok: true } : result }), crash);
          return;
        case 'deadline':
          if (slot !== undefined) ctx.deadline(slot, effect.at - now);
          else {
            if (timer !== undefined) clearTimeout(timer);
            timer = setTimeout(() => feed({ type: 'expired' }), Math.max(0, effect.at - now));
          }
          return;
        case 'fail': {
          settled = true;
          detach();
          ctx.reason(reasonOf(effect.code), effect.detail);
          if (effect.alert) closeWithAlert(stream, effect.code);
          else stream.destroy();
          reject(new HandshakeError(effect.code, effect.detail));
          return;
        }
        case 'established': {
          settled = true;
          detach();
          stream.pause();
          resolve(openChannel(ctx, stream, effect));
          return;
        }
      }
    };
    const feed = (event: HandshakeEvent) => {
      if (settled) return;
      if (stepping) {
        queued ??= [];
        queued.push(event);
        return;
      }
      stepping = true;
      try {
        let next: HandshakeEvent | undefined = event;
        while (next !== undefined && !settled) {
          const now = ctx.clock.now();
          const result = step(state, next, now, ctx.env);
          state = result.state;
          for (const effect of result.effects) apply(effect, now);
          next = queued?.shift();
        }
      } catch (error) {
        crash(error);
      } finally {
        stepping = false;
      }
    };
    const onData = (chunk: Buffer) =>
      feed({ type: 'data', bytes: new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length) });
    const onGone = () => feed({ type: 'closed' });
    const onAbort = () => feed({ type: 'abort' });

    if (slot !== undefined) slot.stop = (why) => feed({ type: why });
    stream.on('data', onData);
    stream.on('end', onGone);
    stream.on('close', onGone);
    stream.on('error', onGone);
    // A caller may hand over a paused stream (gossip's CONN phase pauses it before the handshake).
    stream.resume();
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (first !== undefined) feed(first);
  });
}

const noStop = (_why: 'expired' | 'evicted') => {};

/** Hands the transport to the channel once the handshake is done; each side passes its own key direction. */
function openChannel(
  ctx: SecureContext,
  stream: Duplex,
  done: Extract<HandshakeEffect, { type: 'established' }>,
): SecureChannel {
  obs.count('handshakes');
  return new SecureChannel({
    transport: stream,
    sendKey: done.send,
    receiveKey: done.receive,
    peer: { identity: done.peer.peer.identity, publicKey: done.peer.peer.publicKey },
    limits: ctx.limits,
    clock: ctx.clock,
    // A copy: the bytes may be a view of a read buffer.
    leftover: Uint8Array.from(done.leftover),
    transcript: done.transcript,
    // The channel's codes are its ChannelCode union, all in the registry.
    onReason: (code) => ctx.reason(code as ReasonCode),
  });
}

/** Runs the initiator's side of the handshake over `stream`, then returns the channel. */
export function secureConnect(stream: Duplex, options: SecureOptions): Promise<SecureChannel> {
  let ctx: SecureContext;
  let initial: HandshakeState;
  try {
    ctx = contextOf(options);
    const sock = stream as Duplex & SocketLike;
    initial = initialInitiator(ctx.clock.now(), {
      responderAddress: remoteAddressOf(options, sock),
      ours: options.checkAddress === false ? undefined : [localAddressOf(options, sock)],
      expectIdentity: options.expectIdentity,
    });
  } catch (error) {
    return Promise.reject(error);
  }
  return drive(stream, ctx, options, initial, undefined, {
    type: 'entropy',
    bytes: ctx.random(ENTROPY_BYTES),
  });
}

/**
 * Runs the responder's side of the handshake over `stream`, then returns the channel.
 *
 * Until HELLO is in, a connection costs one pending slot (its deadline is the context's one
 * sweep timer, not a timer of its own), one 'data' listener and the step's state, so that
 * refusing a stranger costs little more than node:net's accept-read-answer-close (issue 12,
 * item 1).
 */
export function secureAccept(stream: Duplex, options: SecureOptions): Promise<SecureChannel> {
  let ctx: SecureContext;
  let initial: HandshakeState;
  try {
    ctx = contextOf(options);
    const sock = stream as Duplex & SocketLike;
    initial = initialResponder(ctx.clock.now(), {
      initiatorAddress: remoteAddressOf(options, sock),
      ours:
        options.checkAddress === false
          ? undefined
          : options.acceptAddresses !== undefined
            ? options.acceptAddresses.map((a, i) => resolveAddress(`options.acceptAddresses[${i}]`, a))
            : [localAddressOf(options, sock)],
    });
  } catch (error) {
    return Promise.reject(error);
  }
  const slot = ctx.admit(capGroupOf(initial.peerAddress));
  if (!('group' in slot)) {
    ctx.reason(slot.code, slot.detail);
    closeWithAlert(stream, slot.code);
    return Promise.reject(new HandshakeError(slot.code, slot.detail));
  }
  return drive(stream, ctx, options, initial, slot, undefined);
}
