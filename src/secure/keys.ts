/**
 * Identity keys: VoidPhone hostkeys (RSA, PEM PKCS#1 or PKCS#8) and Ed25519 PEM keys.
 *
 * A peer's identity is the hex SHA-256 of its public key's DER SubjectPublicKeyInfo
 * (spec/voidphone-gossip.md, "Configuration file"). Only RSA moduli of fixed sizes and the
 * exponent 65537 are accepted, so that a peer cannot make us verify with a huge key.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { TollgateError } from '../util/errors.js';

/** Signature algorithm of an identity key, as carried in the handshake (`sigAlg`). */
export type SignatureAlgorithm = 'ed25519' | 'rsa-pss-sha3-256';

/** RSA modulus sizes we sign and verify with; VoidPhone hostkeys are 4096 bits. */
export const RSA_MODULUS_BITS: readonly number[] = Object.freeze([2048, 3072, 4096]);
export const RSA_PUBLIC_EXPONENT = 65537n;

/** A key could not be read or is of a kind we do not accept. */
export class KeyError extends TollgateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_KEY', message, options);
  }
}

/** A checked public identity key. */
export interface PublicIdentity {
  readonly publicKey: KeyObject;
  readonly algorithm: SignatureAlgorithm;
  /** DER SubjectPublicKeyInfo, exactly as sent in the handshake. */
  readonly spki: Uint8Array;
  /** Hex SHA-256 of `spki`. */
  readonly identity: string;
}

/** A checked private identity key with its public half. */
export interface IdentityKey extends PublicIdentity {
  readonly privateKey: KeyObject;
}

/** Hex SHA-256 of the DER SubjectPublicKeyInfo of `publicKey`. */
export function identityOf(publicKey: KeyObject | Uint8Array): string {
  const der = publicKey instanceof Uint8Array ? publicKey : spkiOf(publicKey);
  return createHash('sha256').update(der).digest('hex');
}

function spkiOf(publicKey: KeyObject): Uint8Array {
  return new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
}

/** Which signature algorithm a key uses; throws KeyError for any key we do not accept. */
export function algorithmOf(key: KeyObject): SignatureAlgorithm {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') return 'ed25519';
  if (type === 'rsa') {
    const details = key.asymmetricKeyDetails;
    const bits = details?.modulusLength;
    if (bits === undefined || !RSA_MODULUS_BITS.includes(bits)) {
      throw new KeyError(`RSA modulus of ${bits} bits; accepted: ${RSA_MODULUS_BITS.join(', ')}`);
    }
    if (details?.publicExponent !== RSA_PUBLIC_EXPONENT) {
      throw new KeyError(`RSA public exponent ${details?.publicExponent}; only 65537 is accepted`);
    }
    return 'rsa-pss-sha3-256';
  }
  throw new KeyError(`key type ${type ?? 'unknown'}; accepted: RSA, Ed25519`);
}

/** Checks a public key and computes its identity. */
export function publicIdentity(publicKey: KeyObject): PublicIdentity {
  if (publicKey.type !== 'public') throw new KeyError('expected a public key');
  const algorithm = algorithmOf(publicKey);
  const spki = spkiOf(publicKey);
  return Object.freeze({ publicKey, algorithm, spki, identity: identityOf(spki) });
}

/** Checks a private key (PEM text or KeyObject) and derives its public identity. */
export function identityKey(key: KeyObject | string): IdentityKey {
  let privateKey: KeyObject;
  try {
    privateKey = typeof key === 'string' ? createPrivateKey(key) : key;
  } catch (error) {
    throw new KeyError('not a private key in PEM (PKCS#1, PKCS#8)', { cause: error });
  }
  if (privateKey.type !== 'private') throw new KeyError('expected a private key');
  const pub = publicIdentity(createPublicKey(privateKey));
  return Object.freeze({ ...pub, privateKey });
}

/** Reads a public key from PEM text (SPKI `BEGIN PUBLIC KEY` or PKCS#1 `BEGIN RSA PUBLIC KEY`). */
export function parsePublicKey(pem: string): PublicIdentity {
  let key: KeyObject;
  try {
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
      throw new KeyError('a private key where a public key was expected; share only public keys');
    }
    key = createPublicKey(pem);
  } catch (error) {
    if (error instanceof KeyError) throw error;
    throw new KeyError('not a public key in PEM', { cause: error });
  }
  return publicIdentity(key);
}

/** Loads a private identity key from a PEM file (RSA PKCS#1/PKCS#8 or Ed25519 PKCS#8). */
export function loadPrivateKey(path: string): IdentityKey {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new KeyError(`cannot read key file ${path}`, { cause: error });
  }
  try {
    return identityKey(text);
  } catch (error) {
    if (error instanceof KeyError) throw new KeyError(`${path}: ${error.message}`, { cause: error });
    throw error;
  }
}

/** Public half as SPKI PEM, the form shared out of band and put in trust folders. */
export function publicPem(key: PublicIdentity): string {
  return key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
}
