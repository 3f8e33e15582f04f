/**
 * The powtcp server's connection logic (seed 001, spec/powtcp.md) as a pure function:
 * `step(state, event, now, limits) -> { state, effects }`. No sockets, no clock, no store:
 * the shell in services/powtcp feeds socket reads, timer firings and the results of the
 * admission work back in as events and carries out the effects.
 *
 * Flow on one connection (reference order): `1:` -> `2:<puzzle>` (repeatable), then
 * `3:<solved>` -> `4:<quote>` or `0:<reason>`, and the connection ends. Any bad line is
 * answered with `0:<reason>` and the connection ends, as the reference server does.
 * One reply per request, nothing unrequested: the reference client reads each reply with a
 * fresh buffered reader, so an extra line would be lost or misread.
 */
import type { ReasonCode } from '../../util/codes.js';
import type { Verdict } from '../../util/errors.js';
import { Command, decodeMessage, type PowtcpMessage, type SplitItem } from '../../wire/powtcp.js';

/** The limits this logic enforces; defaults live in services/powtcp/limits.ts. */
export interface ServerProtocolLimits {
  readonly firstMessageTimeoutMs: number;
  readonly messageTimeoutMs: number;
  readonly connectionTimeoutMs: number;
  readonly maxPipelinedMessages: number;
  readonly maxMessagesPerConnection: number;
}

/** The verdicts this logic gives itself (the admission gives the rest); all in the codes registry. */
export type ServerReason = Extract<
  ReasonCode,
  | 'ERR_POWTCP_MALFORMED'
  | 'ERR_POWTCP_UNKNOWN_COMMAND'
  | 'ERR_POWTCP_UNEXPECTED_COMMAND'
  | 'ERR_POWTCP_LINE_TOO_LONG'
  | 'ERR_POWTCP_PIPELINE_LIMIT'
  | 'ERR_POWTCP_TOO_MANY_MESSAGES'
  | 'ERR_POWTCP_IDLE_TIMEOUT'
  | 'ERR_POWTCP_MESSAGE_TIMEOUT'
  | 'ERR_POWTCP_CONNECTION_TIMEOUT'
  | 'ERR_POWTCP_EVICTED'
>;

export interface ServerConnState {
  readonly phase: 'idle' | 'busy' | 'closed';
  readonly openedAt: number;
  /** Lines taken from `pending` so far. */
  readonly messages: number;
  /** When the first byte of an unfinished line arrived; undefined when no line is open. */
  readonly lineStartedAt: number | undefined;
  /**
   * Lines read but not handled yet; never more than maxPipelinedMessages. `null` stands for a
   * line over maxLineBytes: it is refused when its turn comes, after the lines before it were
   * answered, and nothing after it is taken.
   */
  readonly pending: readonly (Uint8Array | null)[];
  /** The peer half-closed; close once the work in hand is answered. */
  readonly peerEnded: boolean;
}

export type ServerEvent =
  /** One socket read, split into lines; `partial` when an unfinished line is buffered. */
  | { readonly type: 'read'; readonly items: readonly SplitItem[]; readonly partial: boolean }
  /** The result of an `issue` effect: a puzzle header, or a reason (e.g. rate limited). */
  | { readonly type: 'issued'; readonly result: Verdict<string> }
  /** The result of a `redeem` effect: the quote to serve, or a reason. */
  | { readonly type: 'redeemed'; readonly result: Verdict<string> }
  /** The timer armed by the last `deadline` effect fired. */
  | { readonly type: 'timer' }
  /** The peer sent FIN. */
  | { readonly type: 'end' }
  /** The server is at its connection cap and this connection's group holds the most. */
  | { readonly type: 'evict' };

export type ServerEffect =
  | { readonly type: 'send'; readonly message: PowtcpMessage }
  /** Make a puzzle for this connection (rate limit, difficulty, seal), then feed `issued`. */
  | { readonly type: 'issue' }
  /** Run the admission pipeline on a solved header, then feed `redeemed`. */
  | { readonly type: 'redeem'; readonly header: string }
  /** A verdict against the peer, for metrics and logs. */
  | { readonly type: 'rejected'; readonly code: ReasonCode; readonly detail?: string }
  /** End the connection once the queued sends are flushed. */
  | { readonly type: 'close' }
  /** (Re-)arm the connection's one timer at this absolute time. */
  | { readonly type: 'deadline'; readonly at: number };

export interface StepResult {
  readonly state: ServerConnState;
  readonly effects: readonly ServerEffect[];
}

export function initialState(now: number): ServerConnState {
  return {
    phase: 'idle',
    openedAt: now,
    messages: 0,
    lineStartedAt: undefined,
    pending: [],
    peerEnded: false,
  };
}

/** The next deadline and the reason it would end the connection with. */
export function deadlineOf(
  s: ServerConnState,
  limits: ServerProtocolLimits,
): { readonly at: number; readonly code: ServerReason } {
  let at = s.openedAt + limits.connectionTimeoutMs;
  let code: ServerReason = 'ERR_POWTCP_CONNECTION_TIMEOUT';
  if (s.lineStartedAt !== undefined) {
    const lineAt = s.lineStartedAt + limits.messageTimeoutMs;
    if (lineAt < at) {
      at = lineAt;
      code = 'ERR_POWTCP_MESSAGE_TIMEOUT';
    }
  }
  if (s.messages === 0 && s.pending.length === 0) {
    const idleAt = s.openedAt + limits.firstMessageTimeoutMs;
    if (idleAt < at) {
      at = idleAt;
      code = 'ERR_POWTCP_IDLE_TIMEOUT';
    }
  }
  return { at, code };
}

function fail(s: ServerConnState, effects: ServerEffect[], code: ReasonCode, detail?: string): StepResult {
  effects.push(detail === undefined ? { type: 'rejected', code } : { type: 'rejected', code, detail });
  effects.push({ type: 'send', message: { command: Command.Error, payload: code } });
  effects.push({ type: 'close' });
  return { state: { ...s, phase: 'closed', pending: [] }, effects };
}

function finish(s: ServerConnState, effects: ServerEffect[], limits: ServerProtocolLimits): StepResult {
  if (s.phase === 'idle' && s.pending.length === 0 && s.peerEnded) {
    effects.push({ type: 'close' });
    return { state: { ...s, phase: 'closed' }, effects };
  }
  if (s.phase !== 'closed') effects.push({ type: 'deadline', at: deadlineOf(s, limits).at });
  return { state: s, effects };
}

/** Takes pending lines while idle: at most one request is in hand at a time. */
function pump(s: ServerConnState, effects: ServerEffect[], limits: ServerProtocolLimits): StepResult {
  while (s.phase === 'idle' && s.pending.length > 0) {
    const [line, ...rest] = s.pending;
    if (line === null) return fail(s, effects, 'ERR_POWTCP_LINE_TOO_LONG');
    s = { ...s, pending: rest, messages: s.messages + 1 };
    if (s.messages > limits.maxMessagesPerConnection) {
      return fail(s, effects, 'ERR_POWTCP_TOO_MANY_MESSAGES');
    }
    const verdict = decodeMessage(line!);
    if (!verdict.ok) return fail(s, effects, verdict.code, verdict.detail);
    const { command, payload } = verdict.value;
    if (command === Command.RequestPuzzle) {
      // spec: the payload of `1:` is empty in the reference; anything there is ignored as it does.
      s = { ...s, phase: 'busy' };
      effects.push({ type: 'issue' });
    } else if (command === Command.RequestResource) {
      s = { ...s, phase: 'busy' };
      effects.push({ type: 'redeem', header: payload });
    } else {
      // 0, 2 and 4 are the server's own commands; the reference answers them with an error.
      return fail(s, effects, 'ERR_POWTCP_UNEXPECTED_COMMAND', `command ${command}`);
    }
  }
  return finish(s, effects, limits);
}

export function step(
  s: ServerConnState,
  event: ServerEvent,
  now: number,
  limits: ServerProtocolLimits,
): StepResult {
  const effects: ServerEffect[] = [];
  if (s.phase === 'closed') return { state: s, effects };
  switch (event.type) {
    case 'read': {
      // Everything after an over-long line is ignored: the connection ends at that line.
      if (s.pending.at(-1) === null) return { state: s, effects };
      const lines: (Uint8Array | null)[] = [];
      for (const item of event.items) {
        if (item.kind === 'overlong') {
          // Issue 9 item 10: complete lines before it in the same read get their answers first.
          lines.push(null);
          break;
        }
        lines.push(item.line);
      }
      // An honest client waits for each reply, so it never has more than one line in flight.
      if (
        lines.length > limits.maxPipelinedMessages ||
        s.pending.length + lines.length > limits.maxPipelinedMessages
      ) {
        return fail(s, effects, 'ERR_POWTCP_PIPELINE_LIMIT', `${s.pending.length + lines.length} lines`);
      }
      const lineStartedAt = event.partial
        ? lines.length > 0 || s.lineStartedAt === undefined
          ? now
          : s.lineStartedAt
        : undefined;
      return pump({ ...s, pending: [...s.pending, ...lines], lineStartedAt }, effects, limits);
    }
    case 'issued': {
      if (s.phase !== 'busy') return { state: s, effects };
      if (!event.result.ok) return fail(s, effects, event.result.code, event.result.detail);
      effects.push({
        type: 'send',
        message: { command: Command.ResponsePuzzle, payload: event.result.value },
      });
      return pump({ ...s, phase: 'idle' }, effects, limits);
    }
    case 'redeemed': {
      if (s.phase !== 'busy') return { state: s, effects };
      if (!event.result.ok) return fail(s, effects, event.result.code, event.result.detail);
      // The reference ends the connection after `3:` whatever the outcome.
      effects.push({
        type: 'send',
        message: { command: Command.ResponseResource, payload: event.result.value },
      });
      effects.push({ type: 'close' });
      return { state: { ...s, phase: 'closed', pending: [] }, effects };
    }
    case 'timer': {
      const deadline = deadlineOf(s, limits);
      if (now < deadline.at) return finish(s, effects, limits);
      return fail(s, effects, deadline.code);
    }
    case 'end':
      return finish({ ...s, peerEnded: true }, effects, limits);
    case 'evict':
      return fail(s, effects, 'ERR_POWTCP_EVICTED');
  }
}
