import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { cheapChecks } from '../../src/protocol/secure/messages.js';
import { HandshakeError, memoryPair, SecureContext, secureAccept } from '../../src/secure/index.js';
import { defaultLimits } from '../../src/secure/limits.js';
import { decodeAlert, decodeFinish, decodeKeyShare, readHeader } from '../../src/wire/handshake.js';
import { captureHello, peers } from './helpers.js';

// A bounded fuzz of the handshake parser: random bytes and mutations of a valid HELLO.
// Every input must end in a typed verdict (pure decoder) or a typed rejection (over a
// stream), never an exception and never a hang.

const { client, server } = peers();
const ctxConfig = () => new SecureContext(server).config;

function mutations(valid: Uint8Array) {
  return fc.oneof(
    fc.uint8Array({ maxLength: 1500 }),
    fc
      .array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 })
      .map((edits) => {
        const copy = Uint8Array.from(valid);
        for (const [at, v] of edits) copy[at % copy.length] = v;
        return copy;
      }),
    fc.nat().map((cut) => valid.slice(0, cut % (valid.length + 1))),
    fc.uint8Array({ minLength: 1, maxLength: 40 }).map((extra) => Uint8Array.from([...valid, ...extra])),
    fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 40 })).map(([at, ins]) => {
      const i = at % valid.length;
      return Uint8Array.from([...valid.subarray(0, i), ...ins, ...valid.subarray(i)]);
    }),
  );
}

test('fuzz: the pure decoders and the cheap checks return verdicts for any bytes', async () => {
  const valid = await captureHello(client);
  const config = ctxConfig();
  const codes = new Set<string>();
  fc.assert(
    fc.property(mutations(valid), (input) => {
      for (const result of [
        readHeader(input),
        decodeKeyShare(input, 1),
        decodeKeyShare(input, 2),
        decodeFinish(input),
        decodeAlert(input),
        cheapChecks(config, input, 1, {
          nowSec: Math.floor(Date.now() / 1000),
          ours: undefined,
          replay: undefined,
        }),
      ]) {
        assert.equal(typeof result.ok, 'boolean');
        if (!result.ok) {
          assert.match(result.code, /^ERR_HS_[A-Z_]+$/);
          codes.add(result.code);
        }
      }
    }),
    { numRuns: 3000 },
  );
  assert.ok(codes.has('ERR_HS_MALFORMED') && codes.has('ERR_HS_VERSION'), [...codes].join());
});

test('fuzz: a responder fed any bytes ends with a typed rejection, never a throw or a hang', async () => {
  const valid = await captureHello(client);
  const options = { ...server, limits: { handshakeTimeoutMs: 200 } };
  const context = new SecureContext(options);
  await fc.assert(
    fc.asyncProperty(mutations(valid), fc.boolean(), async (input, end) => {
      const [x, y] = memoryPair();
      x.on('data', () => {});
      x.on('error', () => {});
      const accepting = secureAccept(y, { ...options, context });
      if (end) x.end(input);
      else x.write(input);
      const outcome = await accepting.then(
        (ch) => {
          ch.destroy();
          return 'accepted';
        },
        (e: unknown) => e,
      );
      x.destroy();
      // A mutation that leaves HELLO valid still cannot finish: we never send FINISH.
      assert.ok(outcome instanceof HandshakeError, String(outcome));
      assert.match(outcome.code, /^ERR_HS_[A-Z_]+$/);
    }),
    { numRuns: 150 },
  );
  assert.equal(context.pending, 0);
  assert.ok(defaultLimits.handshakeTimeoutMs > 200);
});
