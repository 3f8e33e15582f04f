/**
 * The handshake's messages as pure functions: every function takes the time, the randomness
 * and the state it needs and returns bytes to send or a verdict; connection.ts orders them
 * into steps, and sockets, timers and the PoW pool are the shell's (src/secure/session.ts).
 * Seed 004's flow, hardened (docs/secure-channel.md):
 *
 *   initiator                                        responder
 *   HELLO  = m | pow | Sign_I(label|1|HELLO[..pow])  ->
 *          checks: size+version, time, address, trusted, replay, signature, PoW
 *                                                 <- REPLY = m' | pow' | Sign_R(label|2|HELLO|REPLY[..pow'])
 *                                                              | HMAC(k_rc, th)
 *   checks: size+version, time, address, trusted, signature, PoW, confirm
 *   FINISH = Sign_I(label|3|th) | HMAC(k_ic, ...)    ->
 *          checks: confirm, signature                 then application data (1.5 round trips)
 *
 * th = SHA-256(label | HELLO | REPLY up to its signature); HKDF-SHA256(X25519 secret, salt th)
 * gives one AES-256-GCM key per direction and the two confirmation keys.
 */

import {
  concat,
  type Ephemeral,
  ephemeralFrom,
  equalSecret,
  hkdf,
  hmac,
  sha256,
  signWith,
  verifyWith,
  x25519,
} from '../../secure/crypto.js';
import type { IdentityKey, PublicIdentity, SignatureAlgorithm } from '../../secure/keys.js';
import type { SecureLimits } from '../../secure/limits.js';
import { type HandshakePow, powBits, powKindByte } from '../../secure/pow.js';
import type { ReplayCode, ReplayWindow } from '../../secure/replay.js';
import type { TrustPolicy } from '../../secure/trust.js';
import type { ReasonCode } from '../../util/codes.js';
import { ArgumentError, accept, reject, type Verdict } from '../../util/errors.js';
import {
  CONFIRM_BYTES,
  decodeFinish,
  decodeKeyShare,
  encodeFinish,
  encodeKeyShare,
  fillPow,
  fillSignature,
  HANDSHAKE_LABEL,
  type HandshakeCodecCode,
  type KeyShare,
  MessageType,
  PowKind,
  SigAlg,
  sameAddress,
} from '../../wire/handshake.js';

/** Every reason a handshake is refused (docs/errors.md). */
export type HandshakeCode =
  | HandshakeCodecCode
  | ReplayCode
  | 'ERR_HS_EXPIRED'
  | 'ERR_HS_FUTURE'
  | 'ERR_HS_WRONG_ADDRESS'
  | 'ERR_HS_UNTRUSTED'
  | 'ERR_HS_WRONG_PEER'
  | 'ERR_HS_POW'
  | 'ERR_HS_BAD_SIGNATURE'
  | 'ERR_HS_BAD_KEY_SHARE'
  | 'ERR_HS_BAD_CONFIRM'
  | 'ERR_HS_TIMEOUT'
  | 'ERR_HS_EVICTED'
  | 'ERR_HS_OVERRUN'
  | 'ERR_HS_CLOSED'
  | 'ERR_HS_PEER_ALERT';

/** Every handshake verdict is a registered reason code (src/util/codes.ts); this compiles only while that holds. */
export function reasonOf(code: HandshakeCode): ReasonCode {
  return code;
}

/** What both roles know about themselves. */
export interface HandshakeConfig {
  readonly identity: IdentityKey;
  readonly trust: TrustPolicy;
  /** The puzzle this side solves and demands. */
  readonly pow: HandshakePow;
  readonly limits: SecureLimits;
}

/** Keys the channel starts with. */
export interface SessionKeys {
  /** Initiator-to-responder AES-256-GCM key. */
  readonly i2r: Uint8Array;
  /** Responder-to-initiator AES-256-GCM key. */
  readonly r2i: Uint8Array;
  /** Transcript hash through the REPLY signature, for channel binding. */
  readonly transcript: Uint8Array;
}

const ROLE_HELLO = Uint8Array.of(MessageType.hello);
const ROLE_REPLY = Uint8Array.of(MessageType.reply);
const ROLE_FINISH = Uint8Array.of(MessageType.finish);
const KEYS_INFO = concat(HANDSHAKE_LABEL, new TextEncoder().encode(' keys'));

const SIG_ALG: Record<SignatureAlgorithm, SigAlg> = {
  ed25519: SigAlg.ed25519,
  'rsa-pss-sha3-256': SigAlg.rsaPssSha3,
};

function signatureLength(key: IdentityKey): number {
  return key.algorithm === 'ed25519' ? 64 : (key.publicKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
}

/** The puzzle input of a key share: SHA-256(label | bytes up to the end of m). */
export function powInput(bytes: Uint8Array, mEnd: number): Uint8Array {
  return sha256(HANDSHAKE_LABEL, bytes.subarray(0, mEnd));
}

/** A key share ready for its PoW: fill the solution, then sign. */
export interface PendingShare {
  readonly bytes: Uint8Array;
  readonly mEnd: number;
  readonly powEnd: number;
  readonly sigEnd: number;
  readonly powInput: Uint8Array;
}

function buildShare(
  type: 1 | 2,
  config: HandshakeConfig,
  ephemeral: Ephemeral,
  nowSec: number,
  peerAddress: Uint8Array,
  nonce: Uint8Array,
): PendingShare {
  const enc = encodeKeyShare(
    type,
    {
      sigAlg: SIG_ALG[config.identity.algorithm],
      powKind: powKindByte(config.pow),
      powBits: powBits(config.pow),
      ephemeral: ephemeral.publicKey,
      time: nowSec,
      address: peerAddress,
      nonce,
      key: config.identity.spki,
    },
    signatureLength(config.identity),
  );
  return { ...enc, powInput: powInput(enc.bytes, enc.mEnd) };
}

// ---------------------------------------------------------------------------------------
// Initiator

export interface InitiatorStart {
  readonly ephemeral: Ephemeral;
  readonly share: PendingShare;
}

/**
 * Step 1: the seed's m for HELLO. `random(n)` gives n fresh random bytes: 32 for the
 * X25519 scalar (never reused: one per call) and 16 for the nonce.
 */
export function startInitiator(
  config: HandshakeConfig,
  input: { nowSec: number; random: (n: number) => Uint8Array; responderAddress: Uint8Array },
): InitiatorStart {
  const ephemeral = ephemeralFrom(input.random(32));
  const nonce = input.random(16);
  return {
    ephemeral,
    share: buildShare(MessageType.hello, config, ephemeral, input.nowSec, input.responderAddress, nonce),
  };
}

/** Step 2: after the PoW, sign and return HELLO. */
export function sealHello(config: HandshakeConfig, start: InitiatorStart, pow: bigint): Uint8Array {
  const { bytes, mEnd, powEnd } = start.share;
  fillPow(bytes, mEnd, pow);
  const signed = concat(HANDSHAKE_LABEL, ROLE_HELLO, bytes.subarray(0, powEnd));
  fillSignature(bytes, powEnd, signWith(config.identity.algorithm, config.identity.privateKey, signed));
  return bytes;
}

/** The synchronous part of a replay window: has this nonce been seen (the commit comes later)? */
export type ReplayCheck = Pick<ReplayWindow, 'check'>;

/** What the cheap checks established about a peer's key share. */
export interface CheckedShare {
  readonly share: KeyShare;
  readonly peer: PublicIdentity;
}

/**
 * The cheap checks, in the order of issue 4 (each far cheaper than the next):
 * size and version; |now - T| <= t_max; the address field is ours; the key is trusted;
 * replay. Nothing here parses the peer's key or runs a puzzle.
 */
export function cheapChecks(
  config: HandshakeConfig,
  bytes: Uint8Array,
  type: 1 | 2,
  ctx: {
    nowSec: number;
    ours: readonly Uint8Array[] | undefined;
    replay: ReplayCheck | undefined;
    expectIdentity?: string | undefined;
  },
): Verdict<CheckedShare, HandshakeCode> {
  const decoded = decodeKeyShare(bytes, type);
  if (!decoded.ok) return decoded;
  const share = decoded.value;
  // Seed 004 §3: "Check if Now - T <= t_max"; we also refuse timestamps from the future,
  // which would otherwise stretch the replay window.
  const skew = ctx.nowSec - share.time;
  if (skew > config.limits.maxClockSkewSec) return reject('ERR_HS_EXPIRED', `T is ${skew}s old`);
  if (-skew > config.limits.maxClockSkewSec) return reject('ERR_HS_FUTURE', `T is ${-skew}s ahead`);
  // Seed 004 §3/§4: "(ip:port) is Bob's P2P listening socket" / "Alice's P2P client socket".
  if (ctx.ours !== undefined && !ctx.ours.some((a) => sameAddress(a, share.address))) {
    return reject('ERR_HS_WRONG_ADDRESS');
  }
  // Seed 004: "Make sure RSA_pub is a known and trusted public key" — by one hash of the
  // bytes as received; the key itself was parsed when it was put into the trust store.
  const identity = Buffer.from(sha256(share.key)).toString('hex');
  const peer = config.trust.lookup(identity, share.key);
  if (peer === undefined) return reject('ERR_HS_UNTRUSTED', identity);
  if (SIG_ALG[peer.algorithm] !== share.sigAlg)
    return reject('ERR_HS_MALFORMED', 'sigAlg does not match key');
  if (ctx.expectIdentity !== undefined && ctx.expectIdentity !== identity) {
    return reject('ERR_HS_WRONG_PEER', identity);
  }
  if (ctx.replay !== undefined) {
    const fresh = ctx.replay.check(identity, share.nonce, share.time, ctx.nowSec);
    if (!fresh.ok) return fresh;
  }
  // A puzzle weaker than ours is refused before anything is computed for it.
  if (config.pow.kind !== 'none') {
    if (share.powKind !== powKindByte(config.pow) || share.powBits < config.pow.bits) {
      return reject('ERR_HS_POW', 'puzzle kind or difficulty below ours');
    }
  }
  return accept({ share, peer });
}

/** Whether the PoW of a checked share must be verified (and its input). */
export function powToVerify(config: HandshakeConfig, checked: CheckedShare): Uint8Array | undefined {
  if (config.pow.kind === 'none' || checked.share.powKind === PowKind.none) return undefined;
  return powInput(checked.share.bytes, checked.share.mEnd);
}

/**
 * The responder's check of the HELLO signature. It runs before the PoW check (issue 9,
 * finding 3; seed 004 §3 checks the PoW first): a symmetric puzzle like scrypt costs its
 * checker one whole try (13 ms), a signature 0.05 to 0.5 ms, and since the signature covers
 * the PoW solution, only a message the trusted key's owner made reaches the puzzle.
 */
export function verifyHello(checked: CheckedShare): Verdict<void, HandshakeCode> {
  const { share, peer } = checked;
  const signed = concat(HANDSHAKE_LABEL, ROLE_HELLO, share.bytes.subarray(0, share.powEnd));
  if (!verifyWith(peer.algorithm, peer.publicKey, signed, share.signature)) {
    return reject('ERR_HS_BAD_SIGNATURE', 'hello');
  }
  return accept(undefined);
}

interface Derived extends SessionKeys {
  readonly responderConfirm: Uint8Array;
  readonly initiatorConfirm: Uint8Array;
}

function derive(secret: Uint8Array, hello: Uint8Array, replyThroughSig: Uint8Array): Derived {
  const transcript = sha256(HANDSHAKE_LABEL, hello, replyThroughSig);
  const okm = hkdf(secret, transcript, KEYS_INFO, 128);
  return {
    i2r: okm.slice(0, 32),
    r2i: okm.slice(32, 64),
    responderConfirm: okm.slice(64, 96),
    initiatorConfirm: okm.slice(96, 128),
    transcript,
  };
}

/**
 * Initiator, after the cheap checks of REPLY and before its PoW (as verifyHello): its
 * signature, which covers our HELLO, so both ephemerals and both identities.
 */
export function verifyReply(hello: Uint8Array, checked: CheckedShare): Verdict<void, HandshakeCode> {
  const { share, peer } = checked;
  const signed = concat(HANDSHAKE_LABEL, ROLE_REPLY, hello, share.bytes.subarray(0, share.powEnd));
  if (!verifyWith(peer.algorithm, peer.publicKey, signed, share.signature)) {
    return reject('ERR_HS_BAD_SIGNATURE', 'reply');
  }
  return accept(undefined);
}

/**
 * Initiator, after verifyReply and the PoW of REPLY: the key share, the responder's key
 * confirmation; then FINISH, which signs the whole transcript and confirms our keys.
 */
export function finishInitiator(
  config: HandshakeConfig,
  start: InitiatorStart,
  hello: Uint8Array,
  checked: CheckedShare,
): Verdict<{ finish: Uint8Array; keys: SessionKeys }, HandshakeCode> {
  const { share } = checked;
  const secret = x25519(start.ephemeral, share.ephemeral);
  if (secret === undefined) return reject('ERR_HS_BAD_KEY_SHARE');
  const keys = derive(secret, hello, share.bytes.subarray(0, share.sigEnd));
  const expected = hmac(keys.responderConfirm, keys.transcript);
  if (share.confirm === undefined || !equalSecret(expected, share.confirm))
    return reject('ERR_HS_BAD_CONFIRM');
  const signature = signWith(
    config.identity.algorithm,
    config.identity.privateKey,
    concat(HANDSHAKE_LABEL, ROLE_FINISH, keys.transcript),
  );
  const confirm = hmac(keys.initiatorConfirm, keys.transcript, signature);
  return accept({
    finish: encodeFinish(signature, confirm),
    keys: { i2r: keys.i2r, r2i: keys.r2i, transcript: keys.transcript },
  });
}

// ---------------------------------------------------------------------------------------
// Responder

export interface ResponderState {
  readonly hello: CheckedShare;
  readonly ephemeral: Ephemeral;
  readonly share: PendingShare;
}

/** Responder, after HELLO passed every check: the seed's m' for REPLY. */
export function startResponder(
  config: HandshakeConfig,
  hello: CheckedShare,
  input: { nowSec: number; random: (n: number) => Uint8Array; initiatorAddress: Uint8Array },
): ResponderState {
  const ephemeral = ephemeralFrom(input.random(32));
  const nonce = input.random(16);
  const share = buildShare(MessageType.reply, config, ephemeral, input.nowSec, input.initiatorAddress, nonce);
  return { hello, ephemeral, share };
}

/** After the PoW: sign REPLY over HELLO and REPLY, derive keys, append the confirmation. */
export function sealReply(
  config: HandshakeConfig,
  state: ResponderState,
  pow: bigint,
): Verdict<{ reply: Uint8Array; keys: Derived }, HandshakeCode> {
  const { bytes, mEnd, powEnd, sigEnd } = state.share;
  const hello = state.hello.share.bytes;
  const secret = x25519(state.ephemeral, state.hello.share.ephemeral);
  if (secret === undefined) return reject('ERR_HS_BAD_KEY_SHARE');
  fillPow(bytes, mEnd, pow);
  const signed = concat(HANDSHAKE_LABEL, ROLE_REPLY, hello, bytes.subarray(0, powEnd));
  fillSignature(bytes, powEnd, signWith(config.identity.algorithm, config.identity.privateKey, signed));
  const keys = derive(secret, hello, bytes.subarray(0, sigEnd));
  bytes.set(hmac(keys.responderConfirm, keys.transcript), sigEnd);
  if (bytes.length !== sigEnd + CONFIRM_BYTES) throw new ArgumentError('state', 'reply layout');
  return accept({ reply: bytes, keys });
}

/** Responder, on FINISH: the key confirmation (cheap) first, then the initiator's signature. */
export function checkFinish(
  peer: PublicIdentity,
  keys: Derived,
  bytes: Uint8Array,
): Verdict<SessionKeys, HandshakeCode> {
  const decoded = decodeFinish(bytes);
  if (!decoded.ok) return decoded;
  const finish = decoded.value;
  const expected = hmac(keys.initiatorConfirm, keys.transcript, finish.signature);
  if (!equalSecret(expected, finish.confirm)) return reject('ERR_HS_BAD_CONFIRM');
  const signed = concat(HANDSHAKE_LABEL, ROLE_FINISH, keys.transcript);
  if (!verifyWith(peer.algorithm, peer.publicKey, signed, finish.signature)) {
    return reject('ERR_HS_BAD_SIGNATURE', 'finish');
  }
  return accept({ i2r: keys.i2r, r2i: keys.r2i, transcript: keys.transcript });
}
