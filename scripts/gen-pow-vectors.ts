// Writes test/vectors/pow.json from node:crypto alone (no tollgate code), so the vectors
// judge our solvers and verifiers independently. Run: node --import tsx scripts/gen-pow-vectors.ts
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';

function zeroBits(digest: Buffer): number {
  let n = 0;
  for (const b of digest) {
    if (b !== 0) return n + Math.clz32(b) - 24;
    n += 8;
  }
  return n;
}

function hexZeros(digest: Buffer): number {
  return /^0*/.exec(digest.toString('hex'))![0].length;
}

// Deterministic challenges of the lengths whose layouts differ (nonce aligned or not,
// nonce block alone or followed by a padding block, several blocks before it).
const lengths = [0, 1, 3, 15, 16, 17, 31, 32, 47, 48, 55, 56, 63, 64, 65, 100];
const sha256: { challenge: string; nonce: string; difficulty: number; valid: boolean; note: string }[] = [];
for (const len of lengths) {
  const bytes = Buffer.alloc(len).map((_, i) => (i * 131 + len * 7) & 0xff);
  const suffix = Buffer.alloc(8);
  // The first nonce (from a fixed start) with at least 10 zero bits: its exact count z is a
  // boundary, valid at z and invalid at z + 1.
  for (let nonce = 0xfffff000n + BigInt(len) * 977n; ; nonce++) {
    suffix.writeBigUInt64BE(nonce);
    const z = zeroBits(createHash('sha256').update(bytes).update(suffix).digest());
    if (z < 10) continue;
    const hex = Buffer.from(bytes).toString('hex');
    const n = nonce.toString(16).padStart(16, '0');
    sha256.push({ challenge: hex, nonce: n, difficulty: z, valid: true, note: `exactly ${z} zero bits` });
    sha256.push({
      challenge: hex,
      nonce: n,
      difficulty: z + 1,
      valid: false,
      note: `exactly ${z} zero bits`,
    });
    sha256.push({ challenge: hex, nonce: n, difficulty: 0, valid: true, note: 'difficulty 0' });
    break;
  }
}

const headers = [
  '1:5:20261121093000:127.0.0.1:53422::Vmh0Yw==:MA==',
  '1:3:20261121093000:[2001:db8::1]:40000::AAECAw==:MA==',
  '1:2:20261121093000:10.0.0.7:1234::q83vEg==:MA==',
];
const hashcash: { header: string; hexZeros: number; valid: boolean }[] = [];
for (const header of headers) {
  const bits = Number(header.split(':')[1]);
  const prefix = header.slice(0, header.lastIndexOf(':') + 1);
  hashcash.push({ header, hexZeros: hexZeros(createHash('sha1').update(header).digest()), valid: false });
  for (let counter = 0; ; counter++) {
    const solved = prefix + Buffer.from(String(counter)).toString('base64');
    const z = hexZeros(createHash('sha1').update(solved).digest());
    if (z >= bits) {
      hashcash.push({ header: solved, hexZeros: z, valid: true });
      break;
    }
  }
}
for (const h of hashcash) h.valid = h.hexZeros >= Number(h.header.split(':')[1]);

writeFileSync(
  new URL('../test/vectors/pow.json', import.meta.url),
  `${JSON.stringify({ generator: 'scripts/gen-pow-vectors.ts (node:crypto only)', sha256Bits: sha256, hashcash }, null, 2)}\n`,
);
