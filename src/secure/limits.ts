import { defineLimits, type LimitValues } from '../util/limits.js';

/** Largest configurable message size: frames carry a u32 length, but nobody needs more. */
export const MAX_MESSAGE_BYTES_CEILING = 16 * 1024 * 1024;

/**
 * Every limit of the secure channel, in one registry (DESIGN "Limits, errors, logs"; the
 * table in docs/secure-channel.md is generated from it). Each has a test at limit + 1
 * (test/secure/limits.test.ts and the tests it names).
 */
export const SECURE_LIMITS = defineLimits(
  'secure',
  {
    maxClockSkewSec: {
      default: 60,
      min: 1,
      max: 86_400,
      unit: 's',
      doc: 't_max of seed 004: largest \\|now − T\\| of a handshake timestamp',
    },
    maxMessageBytes: {
      default: 64 * 1024,
      min: 1,
      max: MAX_MESSAGE_BYTES_CEILING,
      unit: 'bytes',
      doc: 'largest message in one frame; a bigger frame closes the channel, a bigger write throws',
    },
    rekeyAfterMessages: {
      default: 1 << 20,
      min: 1,
      max: 2 ** 40,
      unit: 'count',
      doc: 'frames under one key before the sender rekeys',
    },
    rekeyAfterSec: {
      default: 3600,
      min: 1,
      max: 86_400 * 365,
      unit: 's',
      doc: 'seconds under one key before the sender rekeys',
    },
    maxMessagesPerKey: {
      default: 1 << 24,
      min: 1,
      max: 2 ** 48,
      unit: 'count',
      doc: 'data or batch frames a receiver accepts under one key (at least `rekeyAfterMessages`)',
    },
    maxPendingHandshakes: {
      default: 256,
      min: 1,
      max: 1_000_000,
      unit: 'count',
      doc: 'responder handshakes in progress per context; at the cap the address group holding the most loses its oldest',
    },
    maxPendingPerIdentity: {
      default: 16,
      min: 1,
      max: 1_000_000,
      unit: 'count',
      doc: 'responder handshakes in progress per address group (IPv4 /32, IPv6 /48); more are refused',
    },
    helloTimeoutMs: {
      default: 5_000,
      min: 1,
      max: 3_600_000,
      unit: 'ms',
      doc: 'from accept to a complete HELLO (capped by `handshakeTimeoutMs`); the peer solves its puzzle within it',
    },
    maxHandshakeBufferBytes: {
      default: 16 * 1024,
      min: 0,
      max: 16 * 1024 * 1024,
      unit: 'bytes',
      doc: 'bytes a peer may send while its last handshake message is being checked',
    },
    handshakeTimeoutMs: {
      default: 10_000,
      min: 1,
      max: 3_600_000,
      unit: 'ms',
      doc: 'from the start of the handshake to FINISH',
    },
    powQueueLimit: {
      default: 64,
      min: 1,
      max: 1_000_000,
      unit: 'count',
      doc: 'scrypt verifications in flight (running or queued in the pool) per context; more are refused',
    },
    maxReplayPeers: {
      default: 100_000,
      min: 1,
      max: 100_000_000,
      unit: 'count',
      doc: 'identities whose last T is remembered (oldest forgotten first)',
    },
    maxReplayNonces: {
      default: 1_000_000,
      min: 1,
      max: 100_000_000,
      unit: 'count',
      doc: 'nonces remembered within t_max; when full of live ones, new handshakes are refused',
    },
    maxTrustedKeys: {
      default: 10_000,
      min: 1,
      max: 10_000_000,
      unit: 'count',
      doc: 'key files read from a trust folder',
    },
    maxTrustFileBytes: {
      default: 64 * 1024,
      min: 64,
      max: 16 * 1024 * 1024,
      unit: 'bytes',
      doc: 'size of one key file in a trust folder',
    },
    trustRescanMs: {
      default: 5_000,
      min: 10,
      max: 86_400_000,
      unit: 'ms',
      doc: 'periodic re-read of the trust folder besides fs.watch',
    },
  },
  (v) =>
    v.maxMessagesPerKey < v.rekeyAfterMessages
      ? { key: 'maxMessagesPerKey', message: `must be at least rekeyAfterMessages (${v.rekeyAfterMessages})` }
      : undefined,
);

export type SecureLimits = LimitValues<typeof SECURE_LIMITS.specs>;

export const defaultLimits: SecureLimits = SECURE_LIMITS.defaults;

/** Merges caller overrides into the defaults, checking each (caller mistakes throw, naming `limits.<name>`). */
export function resolveLimits(overrides: Partial<SecureLimits> = {}): SecureLimits {
  return SECURE_LIMITS.resolve(overrides, { prefix: 'limits' });
}
