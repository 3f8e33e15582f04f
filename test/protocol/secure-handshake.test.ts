import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeEndpoint } from '../../src/admission/endpoint.js';
import {
  ENTROPY_BYTES,
  type HandshakeEffect,
  type HandshakeEnv,
  type HandshakeEvent,
  type HandshakeState,
  initialInitiator,
  initialResponder,
  step,
} from '../../src/protocol/secure/connection.js';
import { resolveLimits } from '../../src/secure/limits.js';
import type { HandshakePow } from '../../src/secure/pow.js';
import { ReplayWindow } from '../../src/secure/replay.js';
import { TrustStore } from '../../src/secure/trust.js';
import { ed25519Key } from '../secure/helpers.js';

// The handshake's steps with a fake clock (a number) and no sockets, pool or timers: every
// slow thing is an effect the test answers with an event, as the shell does.

const T0 = 1_800_000_000_000;
const I_ADDR = encodeEndpoint({ host: '127.0.0.1', port: 40000 });
const R_ADDR = encodeEndpoint({ host: '127.0.0.1', port: 7000 });

function sides(pow: HandshakePow = { kind: 'none' }, limits = resolveLimits()) {
  const a = ed25519Key();
  const b = ed25519Key();
  const trust = TrustStore.fromKeys([a, b]);
  const replay = new ReplayWindow({ maxSkewSec: limits.maxClockSkewSec, maxPeers: 10, maxNonces: 100 });
  const ienv: HandshakeEnv = { config: { identity: a, trust, pow, limits } };
  const renv: HandshakeEnv = { config: { identity: b, trust, pow, limits }, replay };
  return { ienv, renv, a, b, replay };
}

const entropy = (fill: number) => new Uint8Array(ENTROPY_BYTES).fill(fill);

/** Runs one step and returns the new state and effects. */
function run(s: HandshakeState, e: HandshakeEvent, now: number, env: HandshakeEnv) {
  const r = step(s, e, now, env);
  return { s: r.state, fx: r.effects as HandshakeEffect[] };
}

function only<T extends HandshakeEffect['type']>(fx: HandshakeEffect[], type: T) {
  const found = fx.filter((e) => e.type === type) as Extract<HandshakeEffect, { type: T }>[];
  assert.equal(found.length, 1, `one ${type} effect in ${fx.map((e) => e.type).join(',')}`);
  return found[0]!;
}

/** Initiator up to its HELLO (pow none: the solve effect is answered with 0). */
function hello(env: HandshakeEnv, now = T0) {
  let i = initialInitiator(now, { ours: [I_ADDR], responderAddress: R_ADDR });
  let r = run(i, { type: 'entropy', bytes: entropy(1) }, now, env);
  assert.equal(only(r.fx, 'deadline').at, now + env.config.limits.handshakeTimeoutMs);
  only(r.fx, 'solve');
  i = r.s;
  r = run(i, { type: 'solved', nonce: 0n }, now, env);
  return { state: r.s, bytes: only(r.fx, 'send').bytes };
}

test('secure steps: a whole handshake, both sides pure, agree on keys', () => {
  const { ienv, renv } = sides();
  const h = hello(ienv);
  let r = initialResponder(T0, { ours: [R_ADDR], initiatorAddress: I_ADDR });
  let out = run(r, { type: 'data', bytes: h.bytes }, T0 + 5, renv);
  assert.equal(only(out.fx, 'deadline').at, T0 + renv.config.limits.handshakeTimeoutMs);
  const commit = only(out.fx, 'commit');
  assert.equal(commit.nowSec, Math.floor((T0 + 5) / 1000));
  out = run(out.s, { type: 'committed', result: { ok: true } }, T0 + 6, renv);
  assert.equal(only(out.fx, 'draw').bytes, ENTROPY_BYTES);
  out = run(out.s, { type: 'entropy', bytes: entropy(2) }, T0 + 6, renv);
  only(out.fx, 'solve');
  out = run(out.s, { type: 'solved', nonce: 0n }, T0 + 7, renv);
  const reply = only(out.fx, 'send').bytes;
  r = out.s;
  const ir = run(h.state, { type: 'data', bytes: reply }, T0 + 8, ienv);
  const finish = only(ir.fx, 'send').bytes;
  const iDone = only(ir.fx, 'established');
  assert.equal(ir.s.phase, 'done');
  const rr = run(r, { type: 'data', bytes: finish }, T0 + 9, renv);
  const rDone = only(rr.fx, 'established');
  assert.deepEqual(iDone.send, rDone.receive);
  assert.deepEqual(iDone.receive, rDone.send);
  assert.deepEqual(iDone.transcript, rDone.transcript);
});

test('secure steps: HELLO split at every position gives the same verdict', () => {
  const { ienv, renv } = sides();
  const h = hello(ienv);
  for (let cut = 1; cut < h.bytes.length; cut++) {
    const r = initialResponder(T0, { ours: [R_ADDR], initiatorAddress: I_ADDR });
    const a = run(r, { type: 'data', bytes: h.bytes.subarray(0, cut) }, T0, renv);
    assert.deepEqual(a.fx, []);
    const b = run(a.s, { type: 'data', bytes: h.bytes.subarray(cut) }, T0, renv);
    assert.equal(b.s.phase, 'committing', `cut at ${cut}`);
  }
});

test('secure steps: the fake clock decides T: t_max + 1 s old is refused with an alert', () => {
  const { ienv, renv } = sides();
  const h = hello(ienv);
  const later = T0 + (renv.config.limits.maxClockSkewSec + 1) * 1000;
  const r = initialResponder(later, { ours: [R_ADDR], initiatorAddress: I_ADDR });
  const out = run(r, { type: 'data', bytes: h.bytes }, later, renv);
  const f = only(out.fx, 'fail');
  assert.equal(f.code, 'ERR_HS_EXPIRED');
  assert.equal(f.alert, true);
  assert.equal(out.s.phase, 'done');
});

test('secure steps: a junk header is refused at its first four bytes', () => {
  const { renv } = sides();
  const r = initialResponder(T0, { ours: [R_ADDR], initiatorAddress: I_ADDR });
  const out = run(r, { type: 'data', bytes: Uint8Array.of(9, 1, 0, 10) }, T0, renv);
  assert.equal(only(out.fx, 'fail').code, 'ERR_HS_VERSION');
});

test('secure steps: expired and evicted end the handshake; nothing after done has an effect', () => {
  const { ienv, renv } = sides({ kind: 'sha256-bits', bits: 1 });
  const h = hello(ienv);
  const r = initialResponder(T0, { ours: [R_ADDR], initiatorAddress: I_ADDR });
  const out = run(r, { type: 'data', bytes: h.bytes }, T0, renv);
  // sha256-bits: one hash, cheaper than the signature, so the PoW is checked first.
  only(out.fx, 'verifyPow');
  const expired = run(out.s, { type: 'expired' }, T0 + 1, renv);
  assert.equal(only(expired.fx, 'fail').code, 'ERR_HS_TIMEOUT');
  // A verification that comes back after the stop commits no nonce (it would be burnt).
  assert.deepEqual(run(expired.s, { type: 'powVerified', ok: true }, T0 + 2, renv).fx, []);
  const evicted = run(out.s, { type: 'evicted' }, T0 + 1, renv);
  assert.equal(only(evicted.fx, 'fail').code, 'ERR_HS_EVICTED');
});

test('secure steps: with scrypt the signature is checked before the PoW (issue 9, finding 3)', () => {
  const { ienv, renv } = sides({ kind: 'scrypt', bits: 0, N: 16, r: 1, p: 1 });
  const h = hello(ienv);
  const forged = Uint8Array.from(h.bytes);
  forged[forged.length - 1]! ^= 1;
  const r = initialResponder(T0, { ours: [R_ADDR], initiatorAddress: I_ADDR });
  const bad = run(r, { type: 'data', bytes: forged }, T0, renv);
  assert.equal(only(bad.fx, 'fail').code, 'ERR_HS_BAD_SIGNATURE');
  assert.equal(bad.fx.filter((e) => e.type === 'verifyPow').length, 0);
  const good = run(r, { type: 'data', bytes: h.bytes }, T0, renv);
  only(good.fx, 'verifyPow');
  const busy = run(good.s, { type: 'powVerified', ok: false, busy: true }, T0, renv);
  assert.equal(only(busy.fx, 'fail').code, 'ERR_HS_BUSY');
});

test('secure steps: bytes unasked beyond maxHandshakeBufferBytes are an overrun', () => {
  const limits = resolveLimits({ maxHandshakeBufferBytes: 100 });
  const { ienv, renv } = sides({ kind: 'none' }, limits);
  const h = hello(ienv);
  const r = initialResponder(T0, { ours: [R_ADDR], initiatorAddress: I_ADDR });
  const out = run(r, { type: 'data', bytes: h.bytes }, T0, renv);
  assert.equal(out.s.phase, 'committing');
  const within = run(out.s, { type: 'data', bytes: new Uint8Array(100) }, T0, renv);
  assert.deepEqual(within.fx, []);
  const over = run(within.s, { type: 'data', bytes: new Uint8Array(1) }, T0, renv);
  assert.equal(only(over.fx, 'fail').code, 'ERR_HS_OVERRUN');
});

test('secure steps: the peer closing after its ALERT is its refusal, not ours; no alert back', () => {
  const { ienv } = sides();
  const h = hello(ienv);
  // ALERT: ver 1, type 4, u16 length, u8 code length, code.
  const code = new TextEncoder().encode('ERR_HS_UNTRUSTED');
  const alert = Uint8Array.of(1, 4, 0, code.length + 1, code.length, ...code);
  const out = run(h.state, { type: 'data', bytes: alert }, T0, ienv);
  const f = only(out.fx, 'fail');
  assert.equal(f.code, 'ERR_HS_PEER_ALERT');
  assert.equal(f.detail, 'ERR_HS_UNTRUSTED');
  assert.equal(f.alert, false);
  const closed = run(h.state, { type: 'closed' }, T0, ienv);
  assert.deepEqual(
    closed.fx.map((e) => e.type === 'fail' && [e.code, e.alert]),
    [['ERR_HS_CLOSED', false]],
  );
});
