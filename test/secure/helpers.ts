import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  HandshakeError,
  type IdentityKey,
  identityKey,
  memoryPair,
  type SecureChannel,
  type SecureOptions,
  type SecureStandaloneOptions,
  secureAccept,
  secureConnect,
  TrustStore,
} from '../../src/secure/index.js';
import type { PairOptions } from '../../src/secure/pair.js';

/** Fresh identity keys; RSA keys are slow to make, so tests share one per size. */
export function ed25519Key(): IdentityKey {
  return identityKey(generateKeyPairSync('ed25519').privateKey);
}

const rsaCache = new Map<number, IdentityKey>();
export function rsaKey(bits = 2048): IdentityKey {
  let key = rsaCache.get(bits);
  if (key === undefined) {
    key = identityKey(generateKeyPairSync('rsa', { modulusLength: bits }).privateKey);
    rsaCache.set(bits, key);
  }
  return key;
}

/** Options for two peers that trust each other. */
export function peers(
  extra: Partial<SecureStandaloneOptions> = {},
  a: IdentityKey = ed25519Key(),
  b: IdentityKey = ed25519Key(),
): { client: SecureStandaloneOptions; server: SecureStandaloneOptions; a: IdentityKey; b: IdentityKey } {
  const trust = TrustStore.fromKeys([a, b]);
  return { client: { key: a, trust, ...extra }, server: { key: b, trust, ...extra }, a, b };
}

/** A handshake over an in-memory pair. */
export async function connectPair(
  client: SecureOptions,
  server: SecureOptions,
  pair: PairOptions = {},
): Promise<[SecureChannel, SecureChannel, Duplex, Duplex]> {
  const [x, y] = memoryPair(pair);
  const [c, s] = await Promise.all([secureConnect(x, client), secureAccept(y, server)]);
  return [c, s, x, y];
}

/** The HELLO an initiator with these options sends (the responder end just records it). */
export async function captureHello(client: SecureOptions): Promise<Uint8Array> {
  const [x, y] = memoryPair();
  const connecting = secureConnect(x, client).catch(() => undefined);
  const [chunk] = (await once(y, 'data')) as [Buffer];
  y.destroy();
  await connecting;
  return new Uint8Array(chunk);
}

/** Sends raw bytes to a responder; returns the code it refused with and the alert it sent. */
export async function refusal(
  server: SecureOptions,
  bytes: Uint8Array,
  pair: PairOptions = {},
): Promise<{ code: string; alert: string }> {
  const [x, y] = memoryPair(pair);
  const received: Buffer[] = [];
  x.on('data', (c: Buffer) => received.push(c));
  const accepting = secureAccept(y, server);
  x.write(bytes);
  const error = await accepting.then(
    () => assert.fail('the handshake was accepted'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof HandshakeError, `typed rejection, got ${String(error)}`);
  if (!x.readableEnded) await Promise.race([once(x, 'end'), once(x, 'close')]);
  const all = Buffer.concat(received);
  // ALERT: ver 1, type 4, u16 length, u8 code length, code.
  const alert = all.length > 5 && all[1] === 4 ? all.subarray(5).toString('ascii') : '';
  x.destroy();
  return { code: error.code, alert };
}

/** Collects every message of a channel until it ends. */
export async function readAll(channel: SecureChannel): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const m of channel) out.push(m as Uint8Array);
  return out;
}

/** Resolves with the error that destroyed a stream (or undefined if it closed cleanly). */
export function closedWith(stream: Duplex): Promise<Error | undefined> {
  return new Promise((resolve) => {
    let error: Error | undefined;
    stream.on('error', (e) => {
      error = e;
    });
    stream.on('close', () => resolve(error));
  });
}
