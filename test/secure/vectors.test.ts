import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, diffieHellman, hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runVector, type Vector } from './vector-runner.js';

// Fixed keys and randomness give exact bytes (test/vectors/secure-handshake.json). Ed25519
// signatures are deterministic (RFC 8032), so the whole transcript is reproducible; the file
// was produced by this code once and is committed, so any change of the wire format shows.

const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

const vectors = JSON.parse(
  readFileSync(new URL('../vectors/secure-handshake.json', import.meta.url), 'utf8'),
) as { vectors: Vector[] };

test('handshake vectors: fixed keys and randomness give the committed bytes', () => {
  assert.ok(vectors.vectors.length >= 2);
  for (const v of vectors.vectors) {
    const got = runVector(v);
    assert.equal(got.hello, v.hello, 'hello');
    assert.equal(got.reply, v.reply, 'reply');
    assert.equal(got.finish, v.finish, 'finish');
    assert.equal(got.transcript, v.transcript, 'transcript');
    assert.equal(got.key_i2r, v.key_i2r, 'i2r');
    assert.equal(got.key_r2i, v.key_r2i, 'r2i');
    assert.equal(got.first_frame, v.first_frame, 'first frame');
  }
});

test('handshake vectors: the key schedule recomputed from the spec text alone', () => {
  // docs/secure-channel.md: th = SHA-256(label | HELLO | REPLY through its signature);
  // OKM = HKDF-SHA256(ikm = X25519 secret, salt = th, info = label | " keys", 128).
  for (const v of vectors.vectors) {
    const hello = bytes(v.hello);
    const reply = bytes(v.reply);
    const label = Buffer.from('tollgate/secure-channel/v1');
    const th = createHash('sha256')
      .update(label)
      .update(hello)
      .update(reply.subarray(0, reply.length - 32))
      .digest();
    assert.equal(th.toString('hex'), v.transcript);
    // The initiator's X25519 scalar is its first 32 random bytes; the responder's share sits
    // at offset 8 of REPLY (header 4, algorithm bytes 4, then DHE_pub).
    const x = createPrivateKey({
      key: Buffer.concat([
        Buffer.from('302e020100300506032b656e04220420', 'hex'),
        bytes(v.random_initiator).subarray(0, 32),
      ]),
      format: 'der',
      type: 'pkcs8',
    });
    const shareB = reply.subarray(8, 40);
    const pubB = Buffer.concat([Buffer.from('302a300506032b656e032100', 'hex'), shareB]);
    const secret = diffieHellman({
      privateKey: x,
      publicKey: createPublicKey({ key: pubB, format: 'der', type: 'spki' }),
    });
    const okm = Buffer.from(
      hkdfSync('sha256', secret, th, Buffer.concat([label, Buffer.from(' keys')]), 128),
    );
    assert.equal(okm.subarray(0, 32).toString('hex'), v.key_i2r);
    assert.equal(okm.subarray(32, 64).toString('hex'), v.key_r2i);
  }
});
