/**
 * Typed errors. Two families, kept apart on purpose (DESIGN "Limits, errors, logs"):
 * - `TollgateError` subclasses are thrown for mistakes by the caller of an API and for
 *   local failures (bad config, missing key). They carry a stable `code`.
 * - Bad input from the network never throws: it becomes a `Verdict` with a reason code.
 */
import type { Code, ReasonCode } from './codes.js';

export class TollgateError extends Error {
  readonly code: Code;
  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A caller passed a bad argument; the message names it. */
export class ArgumentError extends TollgateError {
  readonly argument: string;
  constructor(argument: string, message: string) {
    super('ERR_INVALID_ARG', `${argument}: ${message}`);
    this.argument = argument;
  }
}

/** Work was cancelled through an AbortSignal. */
export class AbortError extends TollgateError {
  constructor(message = 'aborted') {
    super('ERR_ABORTED', message);
  }
}

/** The result of judging untrusted input: the value, or a stable reason code. */
export type Verdict<T, C extends ReasonCode = ReasonCode> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly code: C; readonly detail?: string };

export function accept<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

export function reject<C extends ReasonCode>(
  code: C,
  detail?: string,
): { readonly ok: false; readonly code: C; readonly detail?: string } {
  return detail === undefined ? { ok: false, code } : { ok: false, code, detail };
}
