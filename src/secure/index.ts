/**
 * The secure channel (seed 004, hardened): a signed X25519 handshake with a proof of work,
 * then AES-256-GCM frames. See docs/secure-channel.md.
 */

export type { HandshakeCode, SessionKeys } from '../protocol/secure/messages.js';
export { type ChannelCode, type PeerInfo, SecureChannel, SecureChannelError } from './channel.js';
export {
  algorithmOf,
  type IdentityKey,
  identityKey,
  identityOf,
  KeyError,
  loadPrivateKey,
  type PublicIdentity,
  parsePublicKey,
  publicIdentity,
  publicPem,
  RSA_MODULUS_BITS,
  type SignatureAlgorithm,
} from './keys.js';
export { defaultLimits, resolveLimits, type SecureLimits } from './limits.js';
export { memoryPair } from './pair.js';
export { DEFAULT_SCRYPT, type HandshakePow, type PowEngine } from './pow.js';
export {
  type Address,
  HandshakeError,
  type SecureConnectionOptions,
  SecureContext,
  type SecureContextOptions,
  type SecureOptions,
  type SecureStandaloneOptions,
  secureAccept,
  secureConnect,
} from './session.js';
export { type TrustPolicy, TrustStore, type TrustStoreOptions } from './trust.js';
