import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { encodeEndpoint } from '../../src/admission/endpoint.js';
import {
  cheapChecks,
  checkFinish,
  finishInitiator,
  type HandshakeConfig,
  sealHello,
  sealReply,
  startInitiator,
  startResponder,
  verifyHello,
  verifyReply,
} from '../../src/protocol/secure/messages.js';
import { Sealer } from '../../src/secure/channel.js';
import { identityKey } from '../../src/secure/keys.js';
import { defaultLimits } from '../../src/secure/limits.js';
import { TrustStore } from '../../src/secure/trust.js';
import { FrameType } from '../../src/wire/frame.js';

/** Runs the pure handshake steps with fixed keys and randomness (test/vectors/secure-handshake.json). */
export interface Vector {
  initiator_seed: string;
  responder_seed: string;
  random_initiator: string;
  random_responder: string;
  time: number;
  initiator_address: string;
  responder_address: string;
  hello: string;
  reply: string;
  finish: string;
  key_i2r: string;
  key_r2i: string;
  transcript: string;
  first_frame_plaintext: string;
  first_frame: string;
}

const ED25519_PKCS8 = '302e020100300506032b657004220420';
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

function edKey(seed: string) {
  return identityKey(
    createPrivateKey({ key: Buffer.from(ED25519_PKCS8 + seed, 'hex'), format: 'der', type: 'pkcs8' }),
  );
}

function counterRandom(hexBytes: string): (n: number) => Uint8Array {
  const all = bytes(hexBytes);
  let at = 0;
  return (n) => {
    const out = all.slice(at, at + n);
    at += n;
    assert.equal(out.length, n, 'vector randomness exhausted');
    return out;
  };
}

export function runVector(
  v: Omit<Vector, 'hello' | 'reply' | 'finish' | 'key_i2r' | 'key_r2i' | 'transcript' | 'first_frame'>,
) {
  const a = edKey(v.initiator_seed);
  const b = edKey(v.responder_seed);
  const trust = TrustStore.fromKeys([a, b]);
  const cfgA: HandshakeConfig = { identity: a, trust, pow: { kind: 'none' }, limits: defaultLimits };
  const cfgB: HandshakeConfig = { ...cfgA, identity: b };
  const [ah, ap] = v.initiator_address.split(' ') as [string, string];
  const [bh, bp] = v.responder_address.split(' ') as [string, string];
  const addrA = encodeEndpoint({ host: ah, port: Number(ap) });
  const addrB = encodeEndpoint({ host: bh, port: Number(bp) });
  const start = startInitiator(cfgA, {
    nowSec: v.time,
    random: counterRandom(v.random_initiator),
    responderAddress: addrB,
  });
  const hello = sealHello(cfgA, start, 0n);
  const checkedHello = cheapChecks(cfgB, hello, 1, { nowSec: v.time, ours: [addrB], replay: undefined });
  assert.ok(checkedHello.ok);
  assert.ok(verifyHello(checkedHello.value).ok);
  const state = startResponder(cfgB, checkedHello.value, {
    nowSec: v.time,
    random: counterRandom(v.random_responder),
    initiatorAddress: addrA,
  });
  const sealed = sealReply(cfgB, state, 0n);
  assert.ok(sealed.ok);
  const checkedReply = cheapChecks(cfgA, sealed.value.reply, 2, {
    nowSec: v.time,
    ours: [addrA],
    replay: undefined,
  });
  assert.ok(checkedReply.ok);
  assert.ok(verifyReply(hello, checkedReply.value).ok);
  const done = finishInitiator(cfgA, start, hello, checkedReply.value);
  assert.ok(done.ok);
  const keys = checkFinish(a, sealed.value.keys, done.value.finish);
  assert.ok(keys.ok);
  const frame = new Sealer(keys.value.i2r, 0).seal(FrameType.data, bytes(v.first_frame_plaintext));
  return {
    hello: hex(hello),
    reply: hex(sealed.value.reply),
    finish: hex(done.value.finish),
    key_i2r: hex(keys.value.i2r),
    key_r2i: hex(keys.value.r2i),
    transcript: hex(keys.value.transcript),
    first_frame: hex(frame),
  };
}
