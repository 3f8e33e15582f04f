/**
 * One side of a secure-channel handshake as a pure function:
 * `step(state, event, now, env) -> { state, effects }` (the house shape of
 * protocol/powtcp/connection.ts and protocol/sky/connection.ts). No sockets, no timers, no
 * clock, no randomness, no awaiting: the shell (src/secure/session.ts) feeds bytes, timer
 * firings and the results of the slow work back in as events and carries out the effects.
 *
 * What is computed here and what comes back as an event (a decision, documented in
 * docs/secure-channel.md "Layers"):
 * - computed here, synchronously: framing, the cheap checks, signature checks, X25519, HKDF
 *   and signing (messages.ts over node:crypto: deterministic functions of their inputs, a few
 *   tens of microseconds, the same in a test as in production). The trust look-up and the
 *   local replay window's check are synchronous reads the shell passes in `env`.
 * - effects whose results come back as events: solving a puzzle (`solve` -> `solved`: a
 *   worker pool, milliseconds to seconds), verifying a puzzle (`verifyPow` -> `powVerified`:
 *   scrypt runs in the bounded verify pool), redeeming the HELLO nonce (`commit` ->
 *   `committed`: it may await a shared Store), and fresh randomness (`draw` -> `entropy`:
 *   the ephemeral X25519 scalar and the nonce).
 * - time: `now` (ms of the context's clock) stamps deadlines and gives T its seconds; the
 *   shell's timer decides that a deadline has passed (`expired`), so a frozen test clock
 *   cannot hold a connection open.
 *
 * Responder:  HELLO -> cheap checks -> signature and PoW (cheaper first) -> commit nonce ->
 *             entropy -> solve REPLY's PoW -> send REPLY -> FINISH -> established.
 * Initiator:  entropy (at start) -> solve HELLO's PoW -> send HELLO -> REPLY -> cheap checks ->
 *             signature -> PoW -> send FINISH -> established.
 */

import type { SecureLimits } from '../../secure/limits.js';
import type { HandshakeCodecCode } from '../../wire/handshake.js';
import { decodeAlert, HEADER_BYTES, MessageType, readHeader } from '../../wire/handshake.js';
import {
  type CheckedShare,
  cheapChecks,
  checkFinish,
  finishInitiator,
  type HandshakeCode,
  type HandshakeConfig,
  type InitiatorStart,
  powToVerify,
  type ReplayCheck,
  type ResponderState,
  sealHello,
  sealReply,
  startInitiator,
  startResponder,
  verifyHello,
  verifyReply,
} from './messages.js';

/** Bytes of randomness one side draws: the X25519 scalar (32) and the nonce (16). */
export const ENTROPY_BYTES = 48;

/** What a step reads besides its state: the side's configuration and two synchronous look-ups. */
export interface HandshakeEnv {
  /** Identity, puzzle, limits, and the trust policy (a synchronous look-up). */
  readonly config: HandshakeConfig;
  /** The responder's local replay window (a synchronous read; the commit is an effect). */
  readonly replay?: ReplayCheck | undefined;
}

export type Phase =
  /** Initiator: waiting for its entropy. */
  | 'start'
  /** Waiting for the peer's next message (HELLO, REPLY or FINISH). */
  | 'reading'
  /** Waiting for a `powVerified`. */
  | 'verifying'
  /** Responder: waiting for `committed`. */
  | 'committing'
  /** Responder: waiting for `entropy`. */
  | 'drawing'
  /** Waiting for `solved`. */
  | 'solving'
  | 'done';

export interface HandshakeState {
  readonly role: 'initiator' | 'responder';
  readonly phase: Phase;
  readonly startedAt: number;
  /** Bytes received and not yet taken as a message. */
  readonly buffered: Uint8Array;
  /** Responder: the addresses HELLO may name; initiator: those REPLY may name (undefined: not checked). */
  readonly ours: readonly Uint8Array[] | undefined;
  /** The peer's address, which our own message names. */
  readonly peerAddress: Uint8Array;
  readonly expectIdentity: string | undefined;
  /** The peer's checked share (HELLO for the responder, REPLY for the initiator). */
  readonly peer: CheckedShare | undefined;
  /** Whether the peer's signature was checked already (it runs before or after the PoW). */
  readonly signed: boolean;
  readonly initiator: { readonly start: InitiatorStart; readonly hello?: Uint8Array } | undefined;
  readonly responder: { readonly state: ResponderState; readonly keys?: SealedKeys } | undefined;
}
type SealedKeys = Extract<ReturnType<typeof sealReply>, { ok: true }>['value']['keys'];

export type HandshakeEvent =
  /** Bytes from the peer. */
  | { readonly type: 'data'; readonly bytes: Uint8Array }
  /** Fresh random bytes (ENTROPY_BYTES), as asked by `draw` or at the initiator's start. */
  | { readonly type: 'entropy'; readonly bytes: Uint8Array }
  | { readonly type: 'solved'; readonly nonce: bigint }
  /** The puzzle check: `busy` when the verify pool refused the job (a flood is refused, not queued). */
  | { readonly type: 'powVerified'; readonly ok: boolean; readonly busy?: boolean; readonly detail?: string }
  | {
      readonly type: 'committed';
      readonly result:
        | { readonly ok: true }
        | { readonly ok: false; readonly code: HandshakeCode; readonly detail?: string | undefined };
    }
  /** The deadline last asked for has passed (the shell's timer judges). */
  | { readonly type: 'expired' }
  /** The responder's context evicted this handshake at its global cap. */
  | { readonly type: 'evicted' }
  /** The peer closed, or the stream failed. */
  | { readonly type: 'closed' }
  /** The caller's AbortSignal fired. */
  | { readonly type: 'abort' };

export type HandshakeEffect =
  | { readonly type: 'send'; readonly bytes: Uint8Array }
  | { readonly type: 'draw'; readonly bytes: number }
  | { readonly type: 'solve'; readonly input: Uint8Array }
  | { readonly type: 'verifyPow'; readonly input: Uint8Array; readonly nonce: bigint }
  | {
      readonly type: 'commit';
      readonly identity: string;
      readonly nonce: Uint8Array;
      readonly time: number;
      readonly nowSec: number;
    }
  /** (Re-)arm the handshake's one deadline at this time of the step's clock. */
  | { readonly type: 'deadline'; readonly at: number }
  /**
   * The handshake is refused: count `code`, tell the peer (an ALERT) when `alert`, close.
   * Always the last effect.
   */
  | {
      readonly type: 'fail';
      readonly code: HandshakeCode;
      readonly detail?: string | undefined;
      readonly alert: boolean;
    }
  /** Done: hand the transport to the channel with these keys and the bytes already read. */
  | {
      readonly type: 'established';
      readonly send: Uint8Array;
      readonly receive: Uint8Array;
      readonly transcript: Uint8Array;
      readonly peer: CheckedShare;
      readonly leftover: Uint8Array;
    };

export interface HandshakeStep {
  readonly state: HandshakeState;
  readonly effects: readonly HandshakeEffect[];
}

type Limits = Pick<SecureLimits, 'helloTimeoutMs' | 'handshakeTimeoutMs' | 'maxHandshakeBufferBytes'>;

const EMPTY = new Uint8Array(0);

function base(
  role: HandshakeState['role'],
  phase: Phase,
  now: number,
  input: {
    ours: readonly Uint8Array[] | undefined;
    peerAddress: Uint8Array;
    expectIdentity?: string | undefined;
  },
): HandshakeState {
  return {
    role,
    phase,
    startedAt: now,
    buffered: EMPTY,
    ours: input.ours,
    peerAddress: input.peerAddress,
    expectIdentity: input.expectIdentity,
    peer: undefined,
    signed: false,
    initiator: undefined,
    responder: undefined,
  };
}

/**
 * A responder at accept, reading HELLO. Its first deadline is `helloDeadline(now, limits)`;
 * the shell arms it without a step (a refused stranger costs no more than that).
 */
export function initialResponder(
  now: number,
  input: { ours: readonly Uint8Array[] | undefined; initiatorAddress: Uint8Array },
): HandshakeState {
  return base('responder', 'reading', now, { ours: input.ours, peerAddress: input.initiatorAddress });
}

/** The responder's deadline for HELLO. */
export function helloDeadline(startedAt: number, limits: Limits): number {
  return startedAt + Math.min(limits.helloTimeoutMs, limits.handshakeTimeoutMs);
}

/** An initiator before its start; feed it `entropy`. Its deadline is the whole handshake's. */
export function initialInitiator(
  now: number,
  input: {
    ours: readonly Uint8Array[] | undefined;
    responderAddress: Uint8Array;
    expectIdentity?: string | undefined;
  },
): HandshakeState {
  return base('initiator', 'start', now, {
    ours: input.ours,
    peerAddress: input.responderAddress,
    expectIdentity: input.expectIdentity,
  });
}

/** Reads `n`-byte slices of the entropy in order, as messages.ts's `random(n)` asks for them. */
function drawFrom(bytes: Uint8Array): (n: number) => Uint8Array {
  let at = 0;
  return (n) => {
    if (at + n > bytes.length) throw new RangeError(`entropy: ${bytes.length} bytes, more asked`);
    const out = bytes.slice(at, at + n);
    at += n;
    return out;
  };
}

function append(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** The peer's refusal, when `bytes` begins with a whole ALERT. */
function alertIn(bytes: Uint8Array): { code: HandshakeCode; detail?: string } | undefined {
  if (bytes.length < HEADER_BYTES) return undefined;
  const head = readHeader(bytes.subarray(0, HEADER_BYTES));
  if (!head.ok || head.value.type !== MessageType.alert || bytes.length < head.value.total) return undefined;
  return judge(MessageType.alert, bytes.subarray(0, head.value.total), MessageType.hello);
}

/** The verdict on a whole message of type `got` where `want` was expected (an ALERT is the peer's refusal). */
function judge(
  got: number,
  bytes: Uint8Array,
  want: MessageType,
): { code: HandshakeCode | HandshakeCodecCode; detail?: string } | undefined {
  if (got === MessageType.alert) {
    const alert = decodeAlert(bytes);
    return alert.ok
      ? { code: 'ERR_HS_PEER_ALERT', detail: alert.value.code }
      : { code: alert.code, detail: alert.detail ?? 'alert' };
  }
  if (got !== want) return { code: 'ERR_HS_UNEXPECTED', detail: `type ${got}` };
  return undefined;
}

/** Refusals the peer is not told about: it left, or it told us first. */
function silent(code: HandshakeCode): boolean {
  return code === 'ERR_HS_CLOSED' || code === 'ERR_HS_PEER_ALERT';
}

function fail(
  s: HandshakeState,
  effects: HandshakeEffect[],
  code: HandshakeCode,
  detail?: string,
): HandshakeStep {
  effects.push({ type: 'fail', code, detail, alert: !silent(code) });
  return { state: { ...s, phase: 'done', buffered: EMPTY }, effects };
}

const WANT: Record<HandshakeState['role'], readonly [MessageType, MessageType]> = {
  // What a side reads first and second.
  responder: [MessageType.hello, MessageType.finish],
  initiator: [MessageType.reply, MessageType.reply],
};

export function step(s: HandshakeState, e: HandshakeEvent, now: number, env: HandshakeEnv): HandshakeStep {
  const effects: HandshakeEffect[] = [];
  if (s.phase === 'done') return { state: s, effects };
  const limits = env.config.limits;
  switch (e.type) {
    case 'data': {
      const buffered = append(s.buffered, e.bytes);
      if (s.phase === 'reading') return read({ ...s, buffered }, effects, now, env);
      // An honest peer sends nothing until it has our answer (issue 9, finding 2).
      if (buffered.length > limits.maxHandshakeBufferBytes) {
        return fail(
          s,
          effects,
          'ERR_HS_OVERRUN',
          `more than ${limits.maxHandshakeBufferBytes} bytes unasked`,
        );
      }
      return { state: { ...s, buffered }, effects };
    }
    case 'entropy': {
      const random = drawFrom(e.bytes);
      const nowSec = Math.floor(now / 1000);
      if (s.role === 'initiator' && s.phase === 'start') {
        const start = startInitiator(env.config, { nowSec, random, responderAddress: s.peerAddress });
        effects.push({ type: 'deadline', at: s.startedAt + limits.handshakeTimeoutMs });
        effects.push({ type: 'solve', input: start.share.powInput });
        return { state: { ...s, phase: 'solving', initiator: { start } }, effects };
      }
      if (s.role === 'responder' && s.phase === 'drawing' && s.peer !== undefined) {
        const state = startResponder(env.config, s.peer, { nowSec, random, initiatorAddress: s.peerAddress });
        effects.push({ type: 'solve', input: state.share.powInput });
        return { state: { ...s, phase: 'solving', responder: { state } }, effects };
      }
      return { state: s, effects };
    }
    case 'solved': {
      if (s.phase !== 'solving') return { state: s, effects };
      if (s.initiator !== undefined) {
        const hello = sealHello(env.config, s.initiator.start, e.nonce);
        effects.push({ type: 'send', bytes: hello });
        return read({ ...s, phase: 'reading', initiator: { ...s.initiator, hello } }, effects, now, env);
      }
      if (s.responder === undefined) return { state: s, effects };
      const sealed = sealReply(env.config, s.responder.state, e.nonce);
      if (!sealed.ok) return fail(s, effects, sealed.code, sealed.detail);
      effects.push({ type: 'send', bytes: sealed.value.reply });
      const next: HandshakeState = {
        ...s,
        phase: 'reading',
        responder: { state: s.responder.state, keys: sealed.value.keys },
      };
      return read(next, effects, now, env);
    }
    case 'powVerified': {
      if (s.phase !== 'verifying' || s.peer === undefined) return { state: s, effects };
      // A full pool refuses new handshakes rather than queueing them (issue 4, item 3).
      if (!e.ok)
        return fail(s, effects, e.busy ? 'ERR_HS_BUSY' : 'ERR_HS_POW', e.detail ?? 'puzzle not solved');
      return afterPow(s, effects, now, env);
    }
    case 'committed': {
      if (s.phase !== 'committing') return { state: s, effects };
      if (!e.result.ok) return fail(s, effects, e.result.code, e.result.detail);
      effects.push({ type: 'draw', bytes: ENTROPY_BYTES });
      return { state: { ...s, phase: 'drawing' }, effects };
    }
    case 'expired':
      return fail(s, effects, 'ERR_HS_TIMEOUT');
    case 'evicted':
      return fail(s, effects, 'ERR_HS_EVICTED', 'pending-handshake cap, its group held the most');
    case 'closed': {
      const alert = alertIn(s.buffered);
      return fail(s, effects, alert?.code ?? 'ERR_HS_CLOSED', alert?.detail ?? 'connection closed');
    }
    case 'abort':
      return fail(s, effects, 'ERR_HS_CLOSED', 'aborted');
  }
}

/** Takes the awaited message once it is whole; judges its header as soon as it is in. */
function read(s: HandshakeState, effects: HandshakeEffect[], now: number, env: HandshakeEnv): HandshakeStep {
  const buf = s.buffered;
  if (buf.length < HEADER_BYTES) return { state: s, effects };
  const head = readHeader(buf.subarray(0, HEADER_BYTES));
  if (!head.ok) return fail(s, effects, head.code, head.detail);
  const total = head.value.total;
  if (buf.length < total) return { state: s, effects };
  // A copy: the message outlives the read buffer (it is hashed into the transcript later).
  const bytes = buf.slice(0, total);
  const rest = buf.length === total ? EMPTY : buf.subarray(total);
  const next = { ...s, buffered: rest };
  const first = s.peer === undefined;
  const want = WANT[s.role][first ? 0 : 1];
  const wrong = judge(head.value.type, bytes, want);
  if (wrong !== undefined) return fail(next, effects, wrong.code, wrong.detail);
  const config = env.config;
  const nowSec = Math.floor(now / 1000);
  if (s.role === 'responder' && first) {
    const checked = cheapChecks(config, bytes, MessageType.hello, {
      nowSec,
      ours: s.ours,
      replay: env.replay,
    });
    if (!checked.ok) return fail(next, effects, checked.code, checked.detail);
    // The first message is in: the slot now lives until the handshake timeout.
    effects.push({ type: 'deadline', at: s.startedAt + config.limits.handshakeTimeoutMs });
    const withPeer: HandshakeState = { ...next, peer: checked.value };
    // The cheaper of the two first: one SHA-256 for sha256-bits, the signature before scrypt
    // (issue 9, finding 3; docs/secure-channel.md).
    if (config.pow.kind === 'scrypt') return signature(withPeer, effects, now, env);
    return pow(withPeer, effects, now, env);
  }
  if (s.role === 'responder') {
    const keys = s.responder?.keys;
    if (keys === undefined || s.peer === undefined) return fail(next, effects, 'ERR_HS_UNEXPECTED', 'finish');
    const done = checkFinish(s.peer.peer, keys, bytes);
    if (!done.ok) return fail(next, effects, done.code, done.detail);
    effects.push({
      type: 'established',
      send: done.value.r2i,
      receive: done.value.i2r,
      transcript: done.value.transcript,
      peer: s.peer,
      leftover: rest,
    });
    return { state: { ...next, phase: 'done', buffered: EMPTY }, effects };
  }
  // Initiator, REPLY.
  const checked = cheapChecks(config, bytes, MessageType.reply, {
    nowSec,
    ours: s.ours,
    // The REPLY signature covers our fresh HELLO, so a replayed REPLY fails its signature.
    replay: undefined,
    expectIdentity: s.expectIdentity,
  });
  if (!checked.ok) return fail(next, effects, checked.code, checked.detail);
  // Signature before a scrypt PoW, as the responder does.
  return signature({ ...next, peer: checked.value }, effects, now, env);
}

function signature(
  s: HandshakeState,
  effects: HandshakeEffect[],
  now: number,
  env: HandshakeEnv,
): HandshakeStep {
  const peer = s.peer!;
  const signed = s.role === 'responder' ? verifyHello(peer) : verifyReply(s.initiator?.hello ?? EMPTY, peer);
  if (!signed.ok) return fail(s, effects, signed.code, signed.detail);
  return pow({ ...s, signed: true }, effects, now, env);
}

function pow(s: HandshakeState, effects: HandshakeEffect[], now: number, env: HandshakeEnv): HandshakeStep {
  const peer = s.peer!;
  const input = powToVerify(env.config, peer);
  if (input === undefined) return afterPow(s, effects, now, env);
  effects.push({ type: 'verifyPow', input, nonce: peer.share.pow });
  return overrun({ ...s, phase: 'verifying' }, effects, env);
}

/** Past the PoW: the signature if it is still due, then the side's next move. */
function afterPow(
  s: HandshakeState,
  effects: HandshakeEffect[],
  now: number,
  env: HandshakeEnv,
): HandshakeStep {
  const peer = s.peer!;
  if (!s.signed) {
    const signed = verifyHello(peer);
    if (!signed.ok) return fail(s, effects, signed.code, signed.detail);
  }
  if (s.role === 'responder') {
    effects.push({
      type: 'commit',
      identity: peer.peer.identity,
      nonce: peer.share.nonce,
      time: peer.share.time,
      nowSec: Math.floor(now / 1000),
    });
    return overrun({ ...s, phase: 'committing', signed: true }, effects, env);
  }
  const start = s.initiator?.start;
  const hello = s.initiator?.hello;
  if (start === undefined || hello === undefined) return fail(s, effects, 'ERR_HS_UNEXPECTED', 'reply');
  const done = finishInitiator(env.config, start, hello, peer);
  if (!done.ok) return fail(s, effects, done.code, done.detail);
  effects.push({ type: 'send', bytes: done.value.finish });
  const { i2r, r2i, transcript } = done.value.keys;
  effects.push({ type: 'established', send: i2r, receive: r2i, transcript, peer, leftover: s.buffered });
  return { state: { ...s, phase: 'done', buffered: EMPTY, signed: true }, effects };
}

/** Bytes left over from a message, in a phase where nothing is awaited, fall under the buffer bound. */
function overrun(s: HandshakeState, effects: HandshakeEffect[], env: HandshakeEnv): HandshakeStep {
  const max = env.config.limits.maxHandshakeBufferBytes;
  if (s.buffered.length > max) return fail(s, effects, 'ERR_HS_OVERRUN', `more than ${max} bytes unasked`);
  return { state: s, effects };
}
