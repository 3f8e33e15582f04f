/**
 * What the powtcp server asks of its admission logic, per connection: make a puzzle for `1:`,
 * judge a solved header for `3:`. Three implementations share the connection logic and the
 * socket shell, so that the attack benchmark compares like with like:
 *
 * - `stateless` (ours): sealed challenge in `rand`, load-driven difficulty, rate limits,
 *   replay guard; no state per issued puzzle.
 * - `reference`: the reference design of seed 001 (fixed difficulty, every issued puzzle in
 *   a map with a TTL, deleted on success).
 * - `nopow`: no proof of work at all (a puzzle of one hex digit, never checked).
 */
import type { Endpoint } from '../../admission/endpoint.js';
import type { Verdict } from '../../util/errors.js';

export interface ConnInfo {
  /** The connection's remote endpoint (canonical). */
  readonly client: Endpoint;
  /** The address clients reach the service at (the listening address unless configured). */
  readonly server: Endpoint;
}

export type AdmissionMode = 'stateless' | 'reference' | 'nopow';
export const ADMISSION_MODES: readonly AdmissionMode[] = ['stateless', 'reference', 'nopow'];

export interface PowtcpAdmission {
  readonly mode: AdmissionMode;
  /** A puzzle header for this connection, or a reason (e.g. ERR_RATE_LIMITED). */
  issue(conn: ConnInfo): Promise<Verdict<string>>;
  /** The quote for a correct solved header, or the reason it is refused. */
  redeem(conn: ConnInfo, header: string): Promise<Verdict<string>>;
  /** Difficulty of the next puzzle, in hex digits (for metrics). */
  readonly difficulty: number;
  /** Puzzles held in memory (the reference mode's map; 0 for the others). */
  readonly puzzlesHeld: number;
  close(): Promise<void>;
}
