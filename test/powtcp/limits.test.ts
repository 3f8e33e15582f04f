// Each limit of src/services/powtcp/limits.ts at its value and at value + 1. Limits enforced
// by the connection logic or the socket shell are tested where they act (file named beside
// each); this file holds the rest and checks that every limit has a doc line and a test.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ChallengeSealer, KeyRing } from '../../src/admission/sealed.js';
import { MemoryStore } from '../../src/admission/store.js';
import { encodeCounter, hashcashDigest, leadingHexZeros, parseHashcash } from '../../src/pow/hashcash.js';
import type { ConnInfo } from '../../src/services/powtcp/admission.js';
import { POWTCP_LIMITS } from '../../src/services/powtcp/limits.js';
import { ReferenceAdmission, StatelessAdmission } from '../../src/services/powtcp/modes.js';
import { loadQuotes } from '../../src/services/powtcp/quotes.js';
import { ManualClock } from '../../src/util/clock.js';

const conn: ConnInfo = {
  client: { host: '127.0.0.1', port: 5000 },
  server: { host: '127.0.0.1', port: 8765 },
};

function stateless(clock: ManualClock, o: Partial<ConstructorParameters<typeof StatelessAdmission>[0]> = {}) {
  const keys = new KeyRing({ clock });
  return new StatelessAdmission({
    sealer: new ChallengeSealer(keys, { clock }),
    store: new MemoryStore({ clock }),
    quotes: ['q'],
    clock,
    puzzleTtlMs: POWTCP_LIMITS.puzzleTtlMs,
    minDifficulty: 1,
    maxDifficulty: 6,
    queueSize: 4,
    serviceRatePerSec: 10,
    loadShareIdentities: 4,
    maxLoadShareIdentities: 1_000,
    ratePerSec: 1_000_000,
    burst: 1_000_000,
    ...o,
  });
}

async function issuedBits(a: StatelessAdmission, from = conn): Promise<number> {
  const v = await a.issue(from);
  assert.ok(v.ok);
  const h = parseHashcash(v.value);
  assert.ok(h.ok);
  return h.value.bits;
}

/** A connection from the i-th of many addresses (each its own identity). */
const fromAddress = (i: number): ConnInfo => ({
  ...conn,
  client: { host: `127.0.${i >> 8}.${i & 255}`, port: 5000 },
});

/**
 * Verified solves from many identities at twice the service rate of `stateless` (5 every
 * 200 ms against 10/s), for `ms` from now: the queue stays full.
 */
function overload(a: StatelessAdmission, clock: ManualClock, ms: number): void {
  for (let t = 0; t <= ms; t += 200) {
    if (t > 0) clock.advance(200);
    for (let i = 0; i < 5; i++) a.pricing.solved(`10.9.${t}.${i}`, clock.now());
  }
}

/** Asks for a puzzle from `from`, solves it and redeems it: one verified solve. */
async function solvedGet(a: StatelessAdmission, from: ConnInfo): Promise<void> {
  const v = await a.issue(from);
  assert.ok(v.ok);
  const prefix = v.value.slice(0, v.value.lastIndexOf(':') + 1);
  const bits = Number(v.value.split(':')[1]);
  for (let n = 0n; ; n++) {
    const text = prefix + encodeCounter(n);
    if (leadingHexZeros(hashcashDigest(text)) >= bits) {
      const r = await a.redeem(from, text);
      assert.ok(r.ok, r.ok ? '' : r.code);
      return;
    }
  }
}

// The queue is the protected resource's: only verified solves enter it (issue 9, attack lab:
// counting every `1:` drove the price to the ceiling). Before, q `1:` at once filled it.
test('queueSize and serviceRatePerSec: q solves at once fit, the (q+1)-th finds the queue full and adds a digit', async () => {
  const clock = new ManualClock(1_700_000_000_000);
  const a = stateless(clock);
  for (let i = 0; i < 4; i++) {
    await solvedGet(a, fromAddress(i));
    assert.equal(a.difficulty, 1, `solve ${i + 1}`);
  }
  // Puzzles asked for and never solved are not load, however many.
  for (let i = 0; i < 20; i++) assert.equal(await issuedBits(a, fromAddress(100 + i)), 1);
  await solvedGet(a, fromAddress(4));
  assert.equal(a.difficulty, 2);
  // Draining at the service rate frees the queue (0.4 s = q / rate, the drain time, no capacity
  // to spare); q quiet solves in a row, a drain time after the increment, take the digit back.
  clock.advance(400);
  for (let i = 0; i < 3; i++) {
    await solvedGet(a, fromAddress(10 + i));
    assert.equal(a.difficulty, 2);
  }
  await solvedGet(a, fromAddress(13));
  assert.equal(a.difficulty, 1);
});

test('serviceRatePerSec: capacity nobody used counts as quiet arrivals, so the price falls without traffic', async () => {
  const clock = new ManualClock(1_700_000_000_000);
  const a = stateless(clock);
  // Solves at twice the service rate keep the queue (4) full: one digit per drain time (0.4 s)
  // up to 5 digits in 1.2 s (before the step rule, 8 arrivals at once made it 5 digits).
  overload(a, clock, 1_200);
  assert.equal(a.difficulty, 5);
  // q = 4 places drained at 10/s: 0.4 s drains the queue, each further 0.4 s of idle
  // capacity is q quiet arrivals, one digit.
  clock.advance(800);
  assert.equal(a.difficulty, 4);
  clock.advance(10_000);
  assert.equal(a.difficulty, 1);
});

test('loadShareIdentities: fewer identities than the share count cannot raise the price for others', async () => {
  const clock = new ManualClock(1_700_000_000_000);
  const a = stateless(clock, { queueSize: 8, loadShareIdentities: 4 });
  // Three identities with two places each hold 6 of 8 places, however much they send.
  for (let i = 0; i < 3; i++) for (let j = 0; j < 50; j++) await issuedBits(a, fromAddress(i));
  assert.equal(await issuedBits(a, fromAddress(100)), 1);
  // The identities beyond their share pay one digit more themselves.
  assert.equal(await issuedBits(a, fromAddress(0)), 2);
  // Unsolved requests are not load at all now (only verified solves enter the queue), so a
  // fourth identity asking as much does not raise the global price either; before, four
  // identities could.
  for (let j = 0; j < 50; j++) await issuedBits(a, fromAddress(3));
  assert.equal(await issuedBits(a, fromAddress(101)), 1);
});

test('maxLoadShareIdentities: the least recently seen share is forgotten beyond the cap', async () => {
  const clock = new ManualClock(1_700_000_000_000);
  const a = stateless(clock, { maxLoadShareIdentities: 3 });
  for (let i = 0; i < 3; i++) await issuedBits(a, fromAddress(i));
  assert.equal(a.pricing.trackedIdentities, 3);
  await issuedBits(a, fromAddress(3));
  assert.equal(a.pricing.trackedIdentities, 3);
});

test('maxDifficulty: a sustained flood stops at the ceiling; minDifficulty: idle is the floor', async () => {
  const clock = new ManualClock(1_700_000_000_000);
  const a = stateless(clock, { maxDifficulty: 3 });
  let peak = 0;
  // Verified solves above the service rate for 20 s: one digit per drain time up to the cap.
  for (let i = 0; i < 50; i++) {
    overload(a, clock, 400);
    peak = Math.max(peak, await issuedBits(a, fromAddress(i)));
  }
  assert.equal(peak, 3);
  const floor = stateless(new ManualClock(1_700_000_000_000), { minDifficulty: 2 });
  assert.equal(await issuedBits(floor), 2);
});

test('a solution is judged against the difficulty sealed into it, not the one in force later', async () => {
  const clock = new ManualClock(1_700_000_000_000);
  const a = stateless(clock);
  const v = await a.issue(conn);
  assert.ok(v.ok);
  const prefix = v.value.slice(0, v.value.lastIndexOf(':') + 1);
  let exactlyOne = '';
  for (let n = 0n; exactlyOne === ''; n++) {
    const text = prefix + encodeCounter(n);
    if (leadingHexZeros(hashcashDigest(text)) === 1) exactlyOne = text;
  }
  // A flood of solves from many other addresses lifts the price of new puzzles while the
  // client solves ...
  overload(a, clock, 400);
  assert.ok(a.difficulty >= 3);
  // ... but the puzzle in flight still costs what it said.
  const r = await a.redeem(conn, exactlyOne);
  assert.equal(r.ok, true);
});

// Issue 8: issue sealed a challenge and then opened it again just to learn its issue time (one
// AES-GCM open more on the path a puzzle flood hits).
test('issue seals once and never opens its own seal; the header date is the sealed issue time', async (t) => {
  const clock = new ManualClock(1_700_000_000_999);
  const sealer = new ChallengeSealer(new KeyRing({ clock }), { clock });
  const seal = t.mock.method(sealer, 'seal');
  const open = t.mock.method(sealer, 'open');
  const a = stateless(clock, { sealer });
  const v = await a.issue(conn);
  assert.ok(v.ok);
  assert.equal(seal.mock.callCount(), 1);
  assert.equal(open.mock.callCount(), 0);
  const h = parseHashcash(v.value);
  assert.ok(h.ok);
  const opened = sealer.open(new Uint8Array(Buffer.from(h.value.rand, 'base64')), conn);
  assert.ok(opened.ok);
  assert.equal(opened.value.issuedAt, 1_700_000_000_999);
  assert.equal(h.value.date, '20231114221320');
});

test('puzzleTtlMs: a solution at the TTL opens, one ms later it is expired', async () => {
  for (const [wait, expect] of [
    [POWTCP_LIMITS.puzzleTtlMs - 1_000, 'ok'],
    [POWTCP_LIMITS.puzzleTtlMs + 1, 'ERR_CHALLENGE_EXPIRED'],
  ] as const) {
    const clock = new ManualClock(1_700_000_000_000);
    const a = stateless(clock);
    const v = await a.issue(conn);
    assert.ok(v.ok);
    const prefix = v.value.slice(0, v.value.lastIndexOf(':') + 1);
    let solved = '';
    for (let n = 0n; solved === ''; n++) {
      const text = prefix + encodeCounter(n);
      if (leadingHexZeros(hashcashDigest(text)) >= 1) solved = text;
    }
    clock.advance(wait);
    const r = await a.redeem(conn, solved);
    assert.equal(r.ok ? 'ok' : r.code, expect);
  }
});

test('referenceMaxPuzzles: the map takes its limit, one more is refused', async () => {
  const clock = new ManualClock(1_700_000_000_000);
  const ref = new ReferenceAdmission({
    quotes: ['q'],
    clock,
    difficulty: 1,
    puzzleTtlMs: 60_000,
    maxPuzzles: 2,
  });
  assert.equal((await ref.issue(conn)).ok, true);
  assert.equal((await ref.issue(conn)).ok, true);
  const over = await ref.issue(conn);
  assert.equal(over.ok ? 'ok' : over.code, 'ERR_POWTCP_PUZZLE_CACHE_FULL');
  // Expired puzzles leave the map, as in the reference's TTL cache.
  clock.advance(60_001);
  assert.equal((await ref.issue(conn)).ok, true);
  assert.equal(ref.puzzlesHeld, 1);
});

test('maxQuoteBytes and maxQuotes: a quotes file at the limits loads, one more is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-quotes-'));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  assert.equal(loadQuotes(file('long.txt', 'x'.repeat(POWTCP_LIMITS.maxQuoteBytes)))[0]?.length, 512);
  assert.throws(
    () => loadQuotes(file('longer.txt', 'x'.repeat(POWTCP_LIMITS.maxQuoteBytes + 1))),
    /--quotes line 1/,
  );
  const many = Array.from({ length: POWTCP_LIMITS.maxQuotes }, (_, i) => `q${i}`).join('\n');
  assert.equal(loadQuotes(file('many.txt', many)).length, POWTCP_LIMITS.maxQuotes);
  assert.throws(() => loadQuotes(file('more.txt', `${many}\nq`)), /more than/);
  assert.throws(() => loadQuotes(file('empty.txt', '\n\n')), /no quotes/);
});

test('every powtcp limit has a line in docs/powtcp.md and appears in a test', () => {
  const docs = readFileSync('docs/powtcp.md', 'utf8');
  const tests = readdirSync('test/powtcp')
    .filter((f) => f.endsWith('.ts'))
    .concat(readdirSync('test/protocol').map((f) => `../protocol/${f}`))
    .map((f) => readFileSync(join('test/powtcp', f), 'utf8'))
    .join('\n');
  for (const name of Object.keys(POWTCP_LIMITS)) {
    assert.match(docs, new RegExp(`\`${name}\``), `${name} is documented`);
    if (name !== 'maxDifficultyCeiling') assert.ok(tests.includes(name), `${name} is tested`);
  }
});
