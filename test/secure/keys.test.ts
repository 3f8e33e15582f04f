import assert from 'node:assert/strict';
import { createHash, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  identityKey,
  identityOf,
  KeyError,
  loadPrivateKey,
  parsePublicKey,
  publicPem,
  TrustStore,
} from '../../src/secure/index.js';
import { ed25519Key, rsaKey } from './helpers.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'tollgate-keys-'));

test('identity = SHA-256 of the DER SubjectPublicKeyInfo (spec/voidphone-gossip.md)', () => {
  // An Ed25519 SPKI is the fixed prefix of RFC 8410 followed by the 32-byte public key.
  const seed = Buffer.alloc(32, 0x11);
  const key = identityKey(
    createPrivateKey({
      key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
      format: 'der',
      type: 'pkcs8',
    }),
  );
  const raw = Buffer.from(key.publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]);
  assert.equal(key.identity, createHash('sha256').update(spki).digest('hex'));
  assert.equal(identityOf(key.publicKey), key.identity);
  assert.equal(key.algorithm, 'ed25519');
});

test('RSA hostkeys load from PKCS#1 and PKCS#8 PEM with the same identity', () => {
  const dir = tmp();
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'pkcs1.pem'), privateKey.export({ type: 'pkcs1', format: 'pem' }));
  writeFileSync(join(dir, 'pkcs8.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const a = loadPrivateKey(join(dir, 'pkcs1.pem'));
  const b = loadPrivateKey(join(dir, 'pkcs8.pem'));
  assert.equal(a.identity, b.identity);
  assert.equal(a.algorithm, 'rsa-pss-sha3-256');
  // The public half in PKCS#1 form ("BEGIN RSA PUBLIC KEY") is accepted in trust folders too.
  const pkcs1Pub = a.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  assert.equal(parsePublicKey(pkcs1Pub).identity, a.identity);
  rmSync(dir, { recursive: true });
});

test('keys a peer could use to burn our CPU, or of other kinds, are refused (ERR_KEY)', () => {
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
  assert.throws(
    () => identityKey(small),
    (e: unknown) => e instanceof KeyError && /modulus of 1024/.test(e.message),
  );
  const odd = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).privateKey;
  assert.throws(() => identityKey(odd), /exponent 3/);
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  assert.throws(() => identityKey(ec), { code: 'ERR_KEY' });
  assert.throws(() => identityKey('not a pem'), { code: 'ERR_KEY' });
  assert.throws(() => loadPrivateKey('/nonexistent/key.pem'), { code: 'ERR_KEY' });
  // A private key put where public keys belong is refused with a hint.
  const pem = ed25519Key().privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  assert.throws(() => parsePublicKey(pem), /share only public keys/);
});

test('a trust folder is re-read when a key is added or removed', async () => {
  const dir = tmp();
  const [a, b] = [ed25519Key(), rsaKey()];
  writeFileSync(join(dir, 'a.pem'), publicPem(a));
  writeFileSync(join(dir, 'notes.txt'), 'not a key file');
  const changes: (readonly string[])[] = [];
  const store = TrustStore.open(dir, { rescanMs: 50, onChange: (ids) => changes.push(ids) });
  assert.deepEqual(store.identities(), [a.identity]);
  assert.equal(store.lookup(a.identity)?.identity, a.identity);
  // Written under another name and renamed in, as editors and deployment tools do.
  writeFileSync(join(dir, 'b.tmp'), publicPem(b));
  renameSync(join(dir, 'b.tmp'), join(dir, 'b.pem'));
  const until = async (ok: () => boolean) => {
    for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(ok());
  };
  await until(() => store.lookup(b.identity) !== undefined);
  rmSync(join(dir, 'a.pem'));
  await until(() => store.lookup(a.identity) === undefined);
  assert.deepEqual(store.identities(), [b.identity]);
  assert.ok(changes.length >= 2);
  store.close();
  rmSync(dir, { recursive: true });
});

test('a broken file in the trust folder is reported and skipped; the rest still load', () => {
  const dir = tmp();
  const a = ed25519Key();
  writeFileSync(join(dir, 'a.pem'), publicPem(a));
  writeFileSync(join(dir, 'broken.pem'), '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n');
  const errors: string[] = [];
  const store = TrustStore.open(dir, { watch: false, onError: (file) => errors.push(file) });
  assert.equal(store.size, 1);
  assert.deepEqual(errors, [join(dir, 'broken.pem')]);
  store.close();
  assert.throws(() => TrustStore.open(join(dir, 'a.pem')), { code: 'ERR_INVALID_ARG' });
  rmSync(dir, { recursive: true });
});
