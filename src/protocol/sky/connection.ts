/**
 * One sky connection as a pure function: `step(state, event, now, limits) -> { state,
 * effects }`. The shell (src/services/sky) splits bytes into messages, runs the store and
 * the sealer, and feeds results back as events.
 *
 * Admission, cheapest check first (DESIGN "The admission pipeline"; seed 003 "Sky Node
 * Attacks"):
 * 1. size and shape: fixed sizes per type (wire/sky.ts), at most `maxInFlight` requests
 *    waiting per connection, deadlines for the first and for every unfinished message;
 * 2. who pays: a request spends one credit its connection earned by a solved challenge
 *    (the PoW-earned identity of clients behind a shared address), else one token of its
 *    address group's bucket; `decide` says what happens when neither is there;
 * 3. the SOLVE of a challenge goes through the sealed-challenge pipeline (admission core);
 * 4. only then the expensive part: a lease signature, a store write.
 */
import type { SkyMessage } from '../../wire/sky.js';
import { SkyType } from '../../wire/sky.js';
import type { SkyLimits } from './limits.js';

export type ConnLimits = Pick<
  SkyLimits,
  'firstMessageMs' | 'messageMs' | 'idleMs' | 'maxInFlight' | 'creditPerSolve'
>;

export interface ConnState {
  readonly phase: 'open' | 'closed';
  readonly openedAt: number;
  readonly lastMessageAt: number | undefined;
  /** When the first byte of an unfinished message arrived. */
  readonly partialSince: number | undefined;
  readonly inFlight: number;
  /** Requests paid for by solved challenges, not yet spent. */
  readonly credit: number;
  /** A challenge was sent and not yet answered: no second one (each costs a seal). */
  readonly challenged: boolean;
  /** The lease this connection holds, if any. */
  readonly lease: { readonly identity: string; readonly expiresAt: number } | undefined;
}

export type ConnEvent =
  /** One read: the whole messages it completed, and whether an unfinished one is held. */
  | {
      readonly type: 'read';
      readonly messages: readonly SkyMessage[];
      readonly partial: boolean;
      readonly malformed?: boolean;
    }
  /** A request's answer was sent (or dropped): it no longer counts as in flight. */
  | { readonly type: 'answered' }
  /** A challenge went out on this connection. */
  | { readonly type: 'challenged' }
  /** A SOLVE passed the pipeline. */
  | { readonly type: 'solved' }
  /** A SOLVE failed: the next unpaid request may get a fresh challenge. */
  | { readonly type: 'solveFailed' }
  | { readonly type: 'leased'; readonly identity: string; readonly expiresAt: number }
  | { readonly type: 'timer' }
  | { readonly type: 'end' };

export type ConnEffect =
  /** Answer this request (the shell answers a connection's requests in order). */
  | { readonly type: 'serve'; readonly message: SkyMessage }
  | { readonly type: 'rejected'; readonly code: string }
  | { readonly type: 'close' }
  | { readonly type: 'deadline'; readonly at: number };

export interface ConnStep {
  readonly state: ConnState;
  readonly effects: ConnEffect[];
}

export function initialConn(now: number): ConnState {
  return {
    phase: 'open',
    openedAt: now,
    lastMessageAt: undefined,
    partialSince: undefined,
    inFlight: 0,
    credit: 0,
    challenged: false,
    lease: undefined,
  };
}

export type DeadlineCode =
  | 'ERR_SKY_FIRST_MESSAGE_TIMEOUT'
  | 'ERR_SKY_MESSAGE_TIMEOUT'
  | 'ERR_SKY_IDLE_TIMEOUT';

/** The connection's next deadline and the code it closes with. */
export function deadlineOf(s: ConnState, limits: ConnLimits): { at: number; code: DeadlineCode } {
  let at: number;
  let code: DeadlineCode;
  if (s.lastMessageAt === undefined) {
    at = s.openedAt + limits.firstMessageMs;
    code = 'ERR_SKY_FIRST_MESSAGE_TIMEOUT';
  } else {
    // A lease holder stays connected while its lease lives: the sky node relays punches to it.
    at = Math.max(s.lastMessageAt + limits.idleMs, s.lease?.expiresAt ?? 0);
    code = 'ERR_SKY_IDLE_TIMEOUT';
  }
  if (s.partialSince !== undefined && s.partialSince + limits.messageMs < at) {
    at = s.partialSince + limits.messageMs;
    code = 'ERR_SKY_MESSAGE_TIMEOUT';
  }
  return { at, code };
}

function close(s: ConnState, effects: ConnEffect[], code?: string): ConnStep {
  if (code !== undefined) effects.push({ type: 'rejected', code });
  effects.push({ type: 'close' });
  return { state: { ...s, phase: 'closed' }, effects };
}

function arm(s: ConnState, effects: ConnEffect[], limits: ConnLimits): ConnStep {
  effects.push({ type: 'deadline', at: deadlineOf(s, limits).at });
  return { state: s, effects };
}

export function stepConn(s: ConnState, e: ConnEvent, now: number, limits: ConnLimits): ConnStep {
  const effects: ConnEffect[] = [];
  if (s.phase === 'closed') return { state: s, effects };
  switch (e.type) {
    case 'read': {
      const credit = s.credit;
      let inFlight = s.inFlight;
      for (const m of e.messages) {
        // Answers are the sky node's own messages: a client sending one is broken or hostile.
        if (
          m.type !== SkyType.lease &&
          m.type !== SkyType.lookup &&
          m.type !== SkyType.punch &&
          m.type !== SkyType.solve
        ) {
          return close({ ...s, credit, inFlight }, effects, 'ERR_SKY_MALFORMED');
        }
        if (inFlight >= limits.maxInFlight)
          return close({ ...s, credit, inFlight }, effects, 'ERR_SKY_PIPELINE_LIMIT');
        inFlight++;
        effects.push({ type: 'serve', message: m });
      }
      if (e.malformed) return close({ ...s, credit, inFlight }, effects, 'ERR_SKY_MALFORMED');
      const partialSince = e.partial
        ? e.messages.length > 0 || s.partialSince === undefined
          ? now
          : s.partialSince
        : undefined;
      const next: ConnState = {
        ...s,
        credit,
        inFlight,
        partialSince,
        lastMessageAt: e.messages.length > 0 ? now : s.lastMessageAt,
      };
      return arm(next, effects, limits);
    }
    case 'answered':
      return { state: { ...s, inFlight: Math.max(0, s.inFlight - 1) }, effects };
    case 'challenged':
      return { state: { ...s, challenged: true }, effects };
    case 'solved':
      return { state: { ...s, challenged: false, credit: limits.creditPerSolve }, effects };
    case 'solveFailed':
      return { state: { ...s, challenged: false }, effects };
    case 'leased':
      return arm({ ...s, lease: { identity: e.identity, expiresAt: e.expiresAt } }, effects, limits);
    case 'timer': {
      const d = deadlineOf(s, limits);
      if (now < d.at) return arm(s, effects, limits);
      return close(s, effects, d.code);
    }
    case 'end':
      return close(s, effects);
  }
}

/** Spends one credit earned by a solve, if there is one: the request then skips the bucket. */
export function spend(s: ConnState): { readonly state: ConnState; readonly paid: boolean } {
  if (s.credit <= 0) return { state: s, paid: false };
  return { state: { ...s, credit: s.credit - 1 }, paid: true };
}

/**
 * What to do with a request nobody's credit paid for, given its bucket and the load
 * (seed 003: PoW "as a fallback for rate limiting"; "all requests after that point must meet
 * at least that internal difficulty threshold").
 * - `serve`: the bucket had a token and the node is idle (d = 0);
 * - `challenge`: the bucket was empty or the node is loaded: send one sealed challenge at
 *   `bits`; its solve pays for `creditPerSolve` requests;
 * - `refuse`: a challenge is already outstanding on this connection; a flood of requests
 *   gets the constant-size refusal, not a seal each.
 */
export function decide(
  input: {
    readonly bucketOk: boolean;
    readonly internal: number;
    readonly external: number;
    readonly challenged: boolean;
  },
  limits: Pick<SkyLimits, 'fallbackBits'>,
):
  | { readonly action: 'serve' }
  | { readonly action: 'challenge'; readonly bits: number }
  | { readonly action: 'refuse' } {
  if (input.bucketOk && input.internal === 0) return { action: 'serve' };
  if (input.challenged) return { action: 'refuse' };
  return { action: 'challenge', bits: Math.max(input.external, limits.fallbackBits) };
}
