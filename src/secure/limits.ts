import { assertInteger } from '../util/args.js';

/**
 * Every limit of the secure channel, in one place (DESIGN "Limits, errors, logs").
 * Each has a default, a line in docs/secure-channel.md and a test at limit + 1
 * (test/secure/limits.test.ts).
 */
export interface SecureLimits {
  /** Largest |now - T| in seconds for a handshake timestamp (seed 004: t_max). */
  readonly maxClockSkewSec: number;
  /** Largest application message, in bytes, carried in one frame. */
  readonly maxMessageBytes: number;
  /** Messages sent under one key before the sender rekeys that direction. */
  readonly rekeyAfterMessages: number;
  /** Seconds a key is used before the sender rekeys that direction. */
  readonly rekeyAfterSec: number;
  /** Messages a receiver accepts under one key; past it the peer failed to rekey and is closed. */
  readonly maxMessagesPerKey: number;
  /** Handshakes a responder context runs at once; at the cap the heaviest identity's oldest is evicted. */
  readonly maxPendingHandshakes: number;
  /** Handshakes one costly identity (IPv4 /32, IPv6 /48) may have pending; past it its new ones are refused. */
  readonly maxPendingPerIdentity: number;
  /** Milliseconds from accept to a complete HELLO (at most handshakeTimeoutMs); past it the connection is closed. */
  readonly helloTimeoutMs: number;
  /** Bytes a peer may send while its last handshake message is still being checked; past it the connection is closed. */
  readonly maxHandshakeBufferBytes: number;
  /** Milliseconds from connection to a finished handshake; past it the connection is closed. */
  readonly handshakeTimeoutMs: number;
  /** scrypt verifications in flight (running or queued in the pool) per context; past it new handshakes are refused. */
  readonly powQueueLimit: number;
  /** Identities whose last handshake timestamp is remembered (oldest forgotten first). */
  readonly maxReplayPeers: number;
  /** Nonces remembered within t_max for replay detection (oldest forgotten first). */
  readonly maxReplayNonces: number;
  /** Public key files read from a trust folder. */
  readonly maxTrustedKeys: number;
  /** Size of one public key file in a trust folder. */
  readonly maxTrustFileBytes: number;
  /** Milliseconds between periodic re-reads of a trust folder (fs.watch may miss events). */
  readonly trustRescanMs: number;
}

export const defaultLimits: SecureLimits = Object.freeze({
  maxClockSkewSec: 60,
  maxMessageBytes: 64 * 1024,
  rekeyAfterMessages: 1 << 20,
  rekeyAfterSec: 3600,
  maxMessagesPerKey: 1 << 24,
  maxPendingHandshakes: 256,
  maxPendingPerIdentity: 16,
  helloTimeoutMs: 5_000,
  maxHandshakeBufferBytes: 16 * 1024,
  handshakeTimeoutMs: 10_000,
  powQueueLimit: 64,
  maxReplayPeers: 100_000,
  maxReplayNonces: 1_000_000,
  maxTrustedKeys: 10_000,
  maxTrustFileBytes: 64 * 1024,
  trustRescanMs: 5_000,
});

/** Largest configurable message size: frames carry a u32 length, but nobody needs more. */
export const MAX_MESSAGE_BYTES_CEILING = 16 * 1024 * 1024;

/** Merges caller overrides into the defaults, checking each (caller mistakes throw, naming it). */
export function resolveLimits(overrides: Partial<SecureLimits> = {}): SecureLimits {
  const merged: SecureLimits = { ...defaultLimits, ...overrides };
  assertInteger('limits.maxClockSkewSec', merged.maxClockSkewSec, 1, 86_400);
  assertInteger('limits.maxMessageBytes', merged.maxMessageBytes, 1, MAX_MESSAGE_BYTES_CEILING);
  assertInteger('limits.rekeyAfterMessages', merged.rekeyAfterMessages, 1, 2 ** 40);
  assertInteger('limits.rekeyAfterSec', merged.rekeyAfterSec, 1, 86_400 * 365);
  assertInteger('limits.maxMessagesPerKey', merged.maxMessagesPerKey, merged.rekeyAfterMessages, 2 ** 48);
  assertInteger('limits.maxPendingHandshakes', merged.maxPendingHandshakes, 1, 1_000_000);
  assertInteger('limits.maxPendingPerIdentity', merged.maxPendingPerIdentity, 1, 1_000_000);
  assertInteger('limits.handshakeTimeoutMs', merged.handshakeTimeoutMs, 1, 3_600_000);
  assertInteger('limits.helloTimeoutMs', merged.helloTimeoutMs, 1, 3_600_000);
  assertInteger('limits.maxHandshakeBufferBytes', merged.maxHandshakeBufferBytes, 0, 16 * 1024 * 1024);
  assertInteger('limits.powQueueLimit', merged.powQueueLimit, 1, 1_000_000);
  assertInteger('limits.maxReplayPeers', merged.maxReplayPeers, 1, 100_000_000);
  assertInteger('limits.maxReplayNonces', merged.maxReplayNonces, 1, 100_000_000);
  assertInteger('limits.maxTrustedKeys', merged.maxTrustedKeys, 1, 10_000_000);
  assertInteger('limits.maxTrustFileBytes', merged.maxTrustFileBytes, 64, 16 * 1024 * 1024);
  assertInteger('limits.trustRescanMs', merged.trustRescanMs, 10, 86_400_000);
  return Object.freeze(merged);
}
