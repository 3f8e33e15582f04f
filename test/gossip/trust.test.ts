import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { identityOf } from '../../src/secure/index.js';
import { OpenTrust } from '../../src/services/gossip/trust.js';

const spkiOf = () =>
  new Uint8Array(generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }));

test('open trust admits any well-formed key under its own identity, and caches it within its bound', () => {
  const trust = new OpenTrust(2);
  const keys = [spkiOf(), spkiOf(), spkiOf()];
  for (const spki of keys) assert.equal(trust.lookup(identityOf(spki), spki)?.identity, identityOf(spki));
  // Cached: found again without the bytes, except the oldest one beyond the bound.
  assert.equal(trust.lookup(identityOf(keys[0]!)), undefined);
  assert.ok(trust.lookup(identityOf(keys[2]!)));
});

test('open trust refuses junk bytes, a key under another identity, and unsupported keys', () => {
  const trust = new OpenTrust(16);
  const spki = spkiOf();
  assert.equal(trust.lookup(identityOf(spki), new Uint8Array(44)), undefined);
  assert.equal(trust.lookup('00'.repeat(32), spki), undefined);
  const ec = new Uint8Array(
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }),
  );
  assert.equal(trust.lookup(identityOf(ec), ec), undefined, 'only RSA and Ed25519, as the channel');
});
