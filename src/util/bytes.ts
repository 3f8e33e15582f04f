/**
 * Big-endian integers in byte arrays: the one byte-order helper every codec uses (network byte
 * order everywhere: seed 002 and the VoidPhone spec, seed 004's handshake, the sealed
 * challenge). Callers check lengths first; these read and write in place without allocating.
 */
export function readU16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

export function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

export function readU64(b: Uint8Array, at: number): bigint {
  return (BigInt(readU32(b, at)) << 32n) | BigInt(readU32(b, at + 4));
}

/** A 48-bit unsigned integer, read as a number (exact below 2^53). */
export function readU48(b: Uint8Array, at: number): number {
  return readU16(b, at) * 2 ** 32 + readU32(b, at + 2);
}

export function writeU16(b: Uint8Array, at: number, value: number): void {
  b[at] = (value >>> 8) & 0xff;
  b[at + 1] = value & 0xff;
}

export function writeU32(b: Uint8Array, at: number, value: number): void {
  b[at] = (value >>> 24) & 0xff;
  b[at + 1] = (value >>> 16) & 0xff;
  b[at + 2] = (value >>> 8) & 0xff;
  b[at + 3] = value & 0xff;
}

export function writeU48(b: Uint8Array, at: number, value: number): void {
  writeU16(b, at, Math.floor(value / 2 ** 32));
  writeU32(b, at + 2, value >>> 0);
}

export function writeU64(b: Uint8Array, at: number, value: bigint): void {
  writeU32(b, at, Number((value >> 32n) & 0xffffffffn));
  writeU32(b, at + 4, Number(value & 0xffffffffn));
}

/**
 * A 64-bit unsigned integer read as a number: exact below 2^53, which every time in
 * milliseconds is (the sealed challenge's issue and expiry times); no BigInt on a hot path.
 */
export function readU64Number(b: Uint8Array, at: number): number {
  return readU32(b, at) * 2 ** 32 + readU32(b, at + 4);
}

/** Writes a non-negative safe integer as a 64-bit unsigned integer (see readU64Number). */
export function writeU64Number(b: Uint8Array, at: number, value: number): void {
  writeU32(b, at, Math.floor(value / 2 ** 32));
  writeU32(b, at + 4, value >>> 0);
}
