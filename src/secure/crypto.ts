/**
 * The primitives of the handshake and channel, all from node:crypto (DESIGN "Dependencies"):
 * X25519 from raw bytes, signatures per algorithm, SHA-256, HKDF, HMAC.
 */
import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  type KeyObject,
  constants as nodeCrypto,
  sign,
  timingSafeEqual,
  verify,
} from 'node:crypto';
import type { SignatureAlgorithm } from './keys.js';

// DER prefixes of X25519 keys (RFC 8410): the 32 raw bytes follow.
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

/** An X25519 key pair for one handshake. */
export interface Ephemeral {
  readonly privateKey: KeyObject;
  /** Raw 32-byte public key, as sent in DHE_pub. */
  readonly publicKey: Uint8Array;
}

/** The ephemeral key pair whose private scalar is these 32 bytes (fresh random in use). */
export function ephemeralFrom(secret: Uint8Array): Ephemeral {
  const privateKey = createPrivateKey({
    key: Buffer.concat([X25519_PKCS8_PREFIX, secret]),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return { privateKey, publicKey: new Uint8Array(spki.subarray(spki.length - 32)) };
}

/** X25519 shared secret; undefined for a peer share that yields the all-zero secret (RFC 7748 §6.1). */
export function x25519(own: Ephemeral, peerPublic: Uint8Array): Uint8Array | undefined {
  try {
    const publicKey = createPublicKey({
      key: Buffer.concat([X25519_SPKI_PREFIX, peerPublic]),
      format: 'der',
      type: 'spki',
    });
    const secret = diffieHellman({ privateKey: own.privateKey, publicKey });
    return secret.every((b) => b === 0) ? undefined : new Uint8Array(secret);
  } catch {
    // OpenSSL refuses low-order points itself ("failed during derivation").
    return undefined;
  }
}

const PSS = { padding: nodeCrypto.RSA_PKCS1_PSS_PADDING, saltLength: 32 } as const;

/** Seed 004 signs SHA3-256 digests with RSA; we use RSA-PSS over SHA3-256, or Ed25519. */
export function signWith(alg: SignatureAlgorithm, key: KeyObject, data: Uint8Array): Uint8Array {
  return new Uint8Array(alg === 'ed25519' ? sign(null, data, key) : sign('sha3-256', data, { key, ...PSS }));
}

export function verifyWith(
  alg: SignatureAlgorithm,
  key: KeyObject,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    return alg === 'ed25519'
      ? verify(null, data, key, signature)
      : verify('sha3-256', data, { key, ...PSS }, signature);
  } catch {
    return false;
  }
}

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
}

/** Constant-time comparison (DESIGN: every secret comparison is constant time). */
export function equalSecret(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}
