import assert from 'node:assert/strict';
import { test } from 'node:test';
import { targetForBits, verifyScrypt } from '../../src/pow/scrypt.js';
import { verifySha256Bits } from '../../src/pow/sha256-bits.js';
import { powInput } from '../../src/protocol/secure/messages.js';
import { memoryPair, type PowEngine, SecureContext, secureAccept } from '../../src/secure/index.js';
import { defaultLimits } from '../../src/secure/limits.js';
import { defaultPowEngine } from '../../src/secure/pow-engine.js';
import { decodeKeyShare } from '../../src/wire/handshake.js';
import { captureHello, connectPair, peers, readAll, refusal } from './helpers.js';

const scrypt = { kind: 'scrypt', bits: 3, N: 16, r: 1, p: 1 } as const;
/** The first solve starts the worker pool, which a loaded machine may take seconds to do. */
const patient = { helloTimeoutMs: 60_000, handshakeTimeoutMs: 60_000 };

/** Rewrites the pow field of a HELLO to a value that does not solve the puzzle. */
async function breakPow(hello: Uint8Array, fails: (input: Uint8Array, nonce: bigint) => Promise<boolean>) {
  const decoded = decodeKeyShare(hello, 1);
  assert.ok(decoded.ok);
  const input = powInput(hello, decoded.value.mEnd);
  const view = new DataView(hello.buffer, hello.byteOffset);
  for (let n = decoded.value.pow + 1n; ; n++) {
    if (await fails(input, n)) {
      view.setBigUint64(decoded.value.mEnd, n);
      return hello;
    }
  }
}

test('handshakes with a scrypt PoW (seed 004: scrypt_C(m) < k) complete both ways', async () => {
  const { client, server } = peers({ pow: scrypt, limits: patient });
  const [c, s] = await connectPair(client, server);
  c.end(Uint8Array.of(1));
  s.end();
  assert.equal((await readAll(s)).length, 1);
  await readAll(c);
});

test('handshakes with the sha256-bits puzzle complete', async () => {
  const { client, server } = peers({ pow: { kind: 'sha256-bits', bits: 8 }, limits: patient });
  const [c, s] = await connectPair(client, server);
  c.end();
  s.end();
  await Promise.all([readAll(c), readAll(s)]);
});

const scryptParams = { N: 16, r: 1, p: 1, target: targetForBits(3) };

/** An initiator's engine that signs a nonce failing the puzzle (a trusted peer with junk PoW). */
const wrongSolver: PowEngine = {
  async solve(_pow, input) {
    for (let n = 0n; ; n++) if (!(await verifyScrypt(input, n, scryptParams))) return n;
  },
  verify: async () => true,
};

/** The default engine, counting the scrypt verifications it runs. */
function countingEngine(): { engine: PowEngine; verified: () => number } {
  const inner = defaultPowEngine(defaultLimits);
  let verified = 0;
  return {
    engine: {
      solve: (pow, input, signal) => inner.solve(pow, input, signal),
      verify: (pow, input, nonce) => {
        if (pow.kind === 'scrypt') verified++;
        return inner.verify(pow, input, nonce);
      },
    },
    verified: () => verified,
  };
}

test('check 6: a wrong scrypt solution is refused (ERR_HS_POW)', async () => {
  const { client, server } = peers({ pow: scrypt });
  const hello = await captureHello({ ...client, powEngine: wrongSolver });
  assert.equal((await refusal(server, hello)).code, 'ERR_HS_POW');
});

test('issue 9 finding 3: a HELLO naming a trusted key with junk PoW and signature costs no scrypt', async () => {
  const { client, server } = peers({ pow: scrypt });
  const counting = countingEngine();
  const context = new SecureContext({ ...server, powEngine: counting.engine });
  const genuine = await captureHello(client);
  const codes: string[] = [];
  for (let i = 0; i < 20; i++) {
    // Any trusted public key is public: the attacker copies it and varies the PoW field.
    const junk = await breakPow(
      Uint8Array.from(genuine),
      async (input, n) => n > BigInt(i) && !(await verifyScrypt(input, n, scryptParams)),
    );
    codes.push((await refusal({ ...server, context }, junk)).code);
  }
  assert.deepEqual(new Set(codes), new Set(['ERR_HS_BAD_SIGNATURE']));
  assert.equal(counting.verified(), 0, 'scrypt evaluations spent on junk');
  // A signed HELLO still gets its one scrypt verification, and a wrong one is refused.
  const signedJunk = await captureHello({ ...client, powEngine: wrongSolver });
  assert.equal((await refusal({ ...server, context }, signedJunk)).code, 'ERR_HS_POW');
  assert.equal(counting.verified(), 1);
});

test('check 6: a wrong sha256-bits solution is refused (ERR_HS_POW)', async () => {
  const pow = { kind: 'sha256-bits', bits: 12 } as const;
  const { client, server } = peers({ pow });
  const hello = await breakPow(
    await captureHello(client),
    async (i, n) => !verifySha256Bits({ challenge: i, difficulty: 12 }, n),
  );
  assert.equal((await refusal(server, hello)).code, 'ERR_HS_POW');
});

test('check 6: no PoW, another puzzle kind or fewer bits than demanded is refused before any hashing', async () => {
  const { client, server } = peers({ pow: scrypt });
  for (const pow of [{ kind: 'none' }, { kind: 'sha256-bits', bits: 3 }, { ...scrypt, bits: 2 }] as const) {
    const hello = await captureHello({ ...client, pow });
    assert.equal((await refusal(server, hello)).code, 'ERR_HS_POW', pow.kind);
  }
});

test('past powQueueLimit scrypt verifications in flight, new handshakes are refused, not queued (ERR_HS_BUSY)', async () => {
  const pow = { kind: 'scrypt', bits: 1, N: 1024, r: 8, p: 1 } as const;
  const { client, server } = peers({ pow });
  const context = new SecureContext({ ...server, limits: { powQueueLimit: 1 } });
  const hellos = [await captureHello(client), await captureHello(client)];
  const pairs = hellos.map(() => memoryPair());
  const results = pairs.map(([, y]) =>
    secureAccept(y, { ...server, context }).catch((e: { code: string }) => e.code),
  );
  pairs.forEach(([x], i) => {
    x.on('data', () => {});
    x.write(hellos[i]!);
  });
  await new Promise((r) => setTimeout(r, 50).unref());
  for (const [x] of pairs) x.destroy();
  const codes = await Promise.all(results);
  assert.deepEqual(codes, ['ERR_HS_CLOSED', 'ERR_HS_BUSY']);
});
