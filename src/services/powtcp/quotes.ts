/**
 * The resource the service guards (seed 001: "Word of Wisdom"): one quote per accepted
 * solution. A built-in set, or a file with one quote a line (`--quotes FILE`).
 */
import { readFileSync } from 'node:fs';
import { ArgumentError } from '../../util/errors.js';
import { trimSpace } from '../../wire/powtcp.js';
import { POWTCP_LIMITS } from './limits.js';

export const BUILTIN_QUOTES: readonly string[] = [
  'A journey of a thousand miles begins with a single step.',
  'Well begun is half done.',
  'Measure twice, cut once.',
  'The best time to plant a tree was twenty years ago. The second best time is now.',
  'Still waters run deep.',
  'He who asks a question is a fool for a minute; he who does not remains a fool forever.',
  'Fall seven times, stand up eight.',
  'Do not judge each day by the harvest you reap but by the seeds that you plant.',
  'An ounce of prevention is worth a pound of cure.',
  'Knowledge speaks, but wisdom listens.',
  'The wise man does at once what the fool does finally.',
  'Patience is bitter, but its fruit is sweet.',
  'Haste makes waste.',
  'Where there is no wood, the fire goes out.',
  'A smooth sea never made a skilled sailor.',
  'When the wind of change blows, some build walls, others build windmills.',
];

/** Checks one quote: it must survive the trip through a `4:` line unchanged. */
function checkQuote(quote: string, where: string): void {
  if (quote.length === 0) throw new ArgumentError(where, 'empty quote');
  if (quote !== trimSpace(quote) || quote.includes('\n')) {
    throw new ArgumentError(where, 'a quote may not start or end with white space');
  }
  if (Buffer.byteLength(quote) > POWTCP_LIMITS.maxQuoteBytes) {
    throw new ArgumentError(where, `longer than ${POWTCP_LIMITS.maxQuoteBytes} bytes`);
  }
}

/** Reads a quotes file: one quote a line, blank lines skipped, surrounding white space trimmed. */
export function loadQuotes(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ArgumentError('--quotes', `cannot read ${path}: ${(err as Error).message}`);
  }
  const quotes: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const quote = trimSpace(raw);
    if (quote === '') return;
    checkQuote(quote, `--quotes line ${i + 1}`);
    quotes.push(quote);
  });
  if (quotes.length === 0) throw new ArgumentError('--quotes', `${path} holds no quotes`);
  if (quotes.length > POWTCP_LIMITS.maxQuotes) {
    throw new ArgumentError('--quotes', `more than ${POWTCP_LIMITS.maxQuotes} quotes`);
  }
  return quotes;
}

export function checkQuotes(quotes: readonly string[]): void {
  if (quotes.length === 0) throw new ArgumentError('quotes', 'expected at least one quote');
  quotes.forEach((q, i) => {
    checkQuote(q, `quotes[${i}]`);
  });
}
