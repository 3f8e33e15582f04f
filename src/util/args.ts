import { ArgumentError } from './errors.js';

/** Tiny argument checks for public functions (noble-style): each names the argument. */
export function assertInteger(
  name: string,
  value: unknown,
  min: number,
  max: number,
): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ArgumentError(name, `expected an integer in [${min}, ${max}], got ${String(value)}`);
  }
}

export function assertBytes(
  name: string,
  value: unknown,
  minLen = 0,
  maxLen = Number.MAX_SAFE_INTEGER,
): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new ArgumentError(name, 'expected a Uint8Array');
  if (value.length < minLen || value.length > maxLen) {
    throw new ArgumentError(name, `expected ${minLen}..${maxLen} bytes, got ${value.length}`);
  }
}

export function parseHex(name: string, hex: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex))
    throw new ArgumentError(name, 'expected an even number of hex digits');
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}
