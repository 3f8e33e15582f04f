// Writes test/vectors/sky-messages.json: committed bytes of every sky message from fixed
// inputs (an Ed25519 key from a fixed seed signs deterministically), and bad inputs with the
// code each must get. Run once; the test checks the committed file, not this script.
import { createPrivateKey, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { rawOfPublicKey } from '../src/protocol/sky/lease.js';
import { identityKey } from '../src/secure/keys.js';
import * as w from '../src/wire/sky.js';

const seed = Buffer.alloc(32, 7);
const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
const key = identityKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
const raw = rawOfPublicKey(key.publicKey);
const holder = new Uint8Array(32).fill(0xab);
const body = w.encodeLeaseBody({
  key: raw,
  time: 1_764_547_200_000,
  durationSec: 300,
  listenPort: 7001,
  inboxBytes: 65536,
  holder,
});
const lease = w.withSignature(body, new Uint8Array(sign(null, w.leaseSignedInput(body), key.privateKey)));
const sealed = new Uint8Array(83);
sealed[0] = 1;
sealed[2] = 83;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const good = {
  lease: hex(lease),
  lookup: hex(w.encodeLookup(w.SkyType.lookup, 7, new Uint8Array(32).fill(1))),
  punch: hex(w.encodeLookup(w.SkyType.punch, 8, new Uint8Array(32).fill(2))),
  solve: hex(w.encodeSolve(123456789n, sealed)),
  leased: hex(w.encodeLeased(1_764_547_200_000, 1_764_547_500_000, { host: '198.18.0.11', port: 20001 })),
  found: hex(
    w.encodeFound({
      reqId: 7,
      key: raw,
      observed: { host: '2001:db8::1', port: 443 },
      listenPort: 7001,
      inboxBytes: 65536,
      holder,
      expiresAt: 1_764_547_500_000,
    }),
  ),
  refused: hex(w.encodeRefused(7, 'ERR_SKY_NO_LEASE')),
  challenge: hex(w.encodeChallenge(9, sealed)),
  punchAt: hex(
    w.encodePunchAt({
      reqId: 8,
      peer: new Uint8Array(32).fill(3),
      peerKey: raw,
      observed: { host: '198.18.0.12', port: 30001 },
      delayMs: 200,
    }),
  ),
  solved: hex(w.encodeSolved(16)),
};
const flip = (h: string, at: number, v: number) => {
  const b = Buffer.from(h, 'hex');
  b[at] = v;
  return b.toString('hex');
};
const bad = [
  { name: 'version 2', hex: flip(good.lookup, 0, 2) },
  { name: 'unknown type', hex: flip(good.lookup, 1, 9) },
  { name: 'lookup one byte short', hex: good.lookup.slice(0, -2) },
  { name: 'lookup with a trailing byte', hex: `${good.lookup}00` },
  { name: 'found reserved byte set', hex: flip(good.found, 130, 1) },
  { name: 'leased family 5', hex: flip(good.leased, 18, 5) },
  { name: 'leased IPv4 slot with non-zero padding', hex: flip(good.leased, 30, 1) },
  { name: 'solve sealed padding not zero', hex: flip(good.solve, 116, 1) },
  { name: 'solve sealed length too small', hex: flip(good.solve, 12, 10) },
  { name: 'refused unknown code', hex: flip(good.refused, 6, 200) },
];
writeFileSync(
  'test/vectors/sky-messages.json',
  `${JSON.stringify({ note: 'src/wire/sky.ts; lease signed by the Ed25519 key with seed 32 x 0x07', identity: key.identity, good, bad: bad.map((b) => ({ ...b, code: 'ERR_SKY_MALFORMED' })) }, null, 2)}\n`,
);
