/**
 * Solve progress for humans: a live bar redrawn in place on a TTY, otherwise a plain line
 * about once a second, so that logs stay readable.
 */
import type { SolveProgress } from '../pow/types.js';

const PLAIN_INTERVAL_MS = 1000;
const BAR_WIDTH = 24;

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return `${Math.round(n)}`;
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  if (ms >= 60_000) return `${(ms / 60_000).toFixed(1)} min`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms)} ms`;
}

/** One line: attempts against the expected number, rate, and the expected time still to go. */
export function progressLine(label: string, p: SolveProgress, expected: number, tty: boolean): string {
  const eta = p.rate > 0 ? (p.expectedRemaining / p.rate) * 1000 : Number.POSITIVE_INFINITY;
  const text = `${formatCount(p.attempts)}/${formatCount(expected)} attempts  ${formatCount(p.rate)}/s  ~${formatMs(eta)} to go`;
  if (!tty) return `${label}: ${text}`;
  // The bar fills towards the expected number of attempts; past it, it stays full.
  const filled = Math.min(BAR_WIDTH, Math.floor((p.attempts / Math.max(1, expected)) * BAR_WIDTH));
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${text}`;
}

export interface ProgressDisplay {
  update(progress: SolveProgress): void;
  /** Clears the live line (TTY) so that the next output starts on a clean line. */
  done(): void;
}

export function createProgress(
  label: string,
  expected: number,
  stream: NodeJS.WriteStream = process.stderr,
  options: { plain?: boolean } = {},
): ProgressDisplay {
  const tty = stream.isTTY === true;
  let lastPlain = 0;
  let drawn = false;
  return {
    update(p) {
      if (tty) {
        stream.write(`\r\x1b[2K${progressLine(label, p, expected, true)}`);
        drawn = true;
      } else if (options.plain !== false && p.elapsedMs - lastPlain >= PLAIN_INTERVAL_MS) {
        lastPlain = p.elapsedMs;
        stream.write(`${progressLine(label, p, expected, false)}\n`);
      }
    },
    done() {
      if (tty && drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
