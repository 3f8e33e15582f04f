import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  initialState,
  type ServerConnState,
  type ServerEffect,
  type ServerEvent,
  step,
} from '../../src/protocol/powtcp/connection.js';
import { POWTCP_LIMITS } from '../../src/services/powtcp/limits.js';
import { accept, reject } from '../../src/util/errors.js';

const limits = POWTCP_LIMITS;
const line = (text: string) => ({ kind: 'line' as const, line: Buffer.from(text) });
const read = (...texts: string[]): ServerEvent => ({ type: 'read', items: texts.map(line), partial: false });

function run(events: [ServerEvent, number][]): { state: ServerConnState; effects: ServerEffect[] } {
  let state = initialState(0);
  const effects: ServerEffect[] = [];
  for (const [event, now] of events) {
    const r = step(state, event, now, limits);
    state = r.state;
    effects.push(...r.effects);
  }
  return { state, effects };
}
const kinds = (effects: ServerEffect[]) =>
  effects
    .filter((e) => e.type !== 'deadline')
    .map((e) =>
      e.type === 'send'
        ? `send ${e.message.command}:${e.message.payload}`
        : e.type === 'redeem'
          ? `redeem ${e.header}`
          : e.type === 'rejected'
            ? `rejected ${e.code}`
            : e.type,
    );

test('happy path: 1: -> issue -> 2:, 3: -> redeem -> 4: and close', () => {
  const { state, effects } = run([
    [read('1:'), 0],
    [{ type: 'issued', result: accept('1:1:20260101000000:127.0.0.1:5::cmFuZA==:MA==') }, 1],
    [read('3:solved\r'), 2],
    [{ type: 'redeemed', result: accept('a quote') }, 3],
  ]);
  assert.deepEqual(kinds(effects), [
    'issue',
    'send 2:1:1:20260101000000:127.0.0.1:5::cmFuZA==:MA==',
    'redeem solved',
    'send 4:a quote',
    'close',
  ]);
  assert.equal(state.phase, 'closed');
});

test('a rejected redemption is answered with 0:<reason> and the connection ends', () => {
  const { effects } = run([
    [read('3:x'), 0],
    [{ type: 'redeemed', result: reject('ERR_CHALLENGE_REPLAYED') }, 1],
  ]);
  assert.deepEqual(kinds(effects), [
    'redeem x',
    'rejected ERR_CHALLENGE_REPLAYED',
    'send 0:ERR_CHALLENGE_REPLAYED',
    'close',
  ]);
});

test('bad lines: malformed, unknown and server-side commands each get their own reason', () => {
  for (const [text, code] of [
    ['hello', 'ERR_POWTCP_MALFORMED'],
    ['7:', 'ERR_POWTCP_UNKNOWN_COMMAND'],
    ['2:x', 'ERR_POWTCP_UNEXPECTED_COMMAND'],
    ['4:x', 'ERR_POWTCP_UNEXPECTED_COMMAND'],
    ['0:x', 'ERR_POWTCP_UNEXPECTED_COMMAND'],
  ] as const) {
    const { effects, state } = run([[read(text), 0]]);
    assert.deepEqual(kinds(effects), [`rejected ${code}`, `send 0:${code}`, 'close'], text);
    assert.equal(state.phase, 'closed');
  }
});

test('one request at a time: lines that arrive while busy wait their turn', () => {
  const { effects } = run([
    [read('1:', '1:'), 0],
    [{ type: 'issued', result: accept('p1') }, 1],
    [{ type: 'issued', result: accept('p2') }, 2],
  ]);
  assert.deepEqual(kinds(effects), ['issue', 'send 2:p1', 'issue', 'send 2:p2']);
});

test('pipelining: maxPipelinedMessages lines in one read pass, one more is refused', () => {
  const ok = run([[read(...Array(limits.maxPipelinedMessages).fill('1:')), 0]]);
  assert.deepEqual(kinds(ok.effects), ['issue']);
  const over = run([[read(...Array(limits.maxPipelinedMessages + 1).fill('1:')), 0]]);
  assert.deepEqual(kinds(over.effects), [
    'rejected ERR_POWTCP_PIPELINE_LIMIT',
    'send 0:ERR_POWTCP_PIPELINE_LIMIT',
    'close',
  ]);
});

test('messages per connection: the limit passes, limit + 1 is refused', () => {
  const events: [ServerEvent, number][] = [];
  for (let i = 0; i < limits.maxMessagesPerConnection; i++) {
    events.push([read('1:'), i], [{ type: 'issued', result: accept('p') }, i]);
  }
  const ok = run(events);
  assert.equal(ok.state.phase, 'idle');
  const over = run([...events, [read('1:'), 99]]);
  assert.deepEqual(kinds(over.effects).slice(-3), [
    'rejected ERR_POWTCP_TOO_MANY_MESSAGES',
    'send 0:ERR_POWTCP_TOO_MANY_MESSAGES',
    'close',
  ]);
});

test('an overlong line closes with its reason', () => {
  const { effects } = run([[{ type: 'read', items: [{ kind: 'overlong' }], partial: false }, 0]]);
  assert.deepEqual(kinds(effects), [
    'rejected ERR_POWTCP_LINE_TOO_LONG',
    'send 0:ERR_POWTCP_LINE_TOO_LONG',
    'close',
  ]);
});

test('timeouts: idle before the first line, slow line, whole connection', () => {
  const idle = run([[{ type: 'timer' }, limits.firstMessageTimeoutMs]]);
  assert.deepEqual(kinds(idle.effects).at(0), 'rejected ERR_POWTCP_IDLE_TIMEOUT');
  const early = run([[{ type: 'timer' }, limits.firstMessageTimeoutMs - 1]]);
  assert.deepEqual(kinds(early.effects), []);
  assert.equal(early.state.phase, 'idle');

  // A slow line after the first (the first line is bounded by the shorter first-message deadline).
  const slow = run([
    [read('1:'), 0],
    [{ type: 'issued', result: accept('p') }, 1],
    [{ type: 'read', items: [], partial: true }, 100],
    [{ type: 'read', items: [], partial: true }, 200],
    [{ type: 'timer' }, 100 + limits.messageTimeoutMs],
  ]);
  assert.deepEqual(kinds(slow.effects).at(-3), 'rejected ERR_POWTCP_MESSAGE_TIMEOUT');

  const whole = run([
    [read('1:'), 0],
    [{ type: 'issued', result: accept('p') }, 1],
    [{ type: 'timer' }, limits.connectionTimeoutMs],
  ]);
  assert.deepEqual(kinds(whole.effects).slice(-3), [
    'rejected ERR_POWTCP_CONNECTION_TIMEOUT',
    'send 0:ERR_POWTCP_CONNECTION_TIMEOUT',
    'close',
  ]);
});

test('the deadline effect follows the state', () => {
  const r = step(initialState(1000), read('1:'), 1000, limits);
  const deadlines = r.effects.filter((e) => e.type === 'deadline');
  assert.deepEqual(deadlines, [{ type: 'deadline', at: 1000 + limits.connectionTimeoutMs }]);
  const fresh = step(initialState(1000), { type: 'read', items: [], partial: true }, 1500, limits);
  assert.deepEqual(
    fresh.effects.filter((e) => e.type === 'deadline'),
    [{ type: 'deadline', at: 1000 + Math.min(limits.firstMessageTimeoutMs, 500 + limits.messageTimeoutMs) }],
  );
});

test('peer FIN: the request in hand is answered, then the connection closes', () => {
  const { effects } = run([
    [read('1:'), 0],
    [{ type: 'end' }, 1],
    [{ type: 'issued', result: accept('p') }, 2],
  ]);
  assert.deepEqual(kinds(effects), ['issue', 'send 2:p', 'close']);
});

test('events after close do nothing', () => {
  const { state } = run([[read('x'), 0]]);
  const r = step(state, read('1:'), 1, limits);
  assert.deepEqual(r.effects, []);
});

// Issue 9 item 10: a complete line and an over-long tail in one read.
test('a complete line followed in the same read by an over-long tail gets its own answer first', () => {
  const puzzle = '1:1:20260101000000:127.0.0.1:5::cmFuZA==:MA==';
  const { state, effects } = run([
    [{ type: 'read', items: [line('1:'), { kind: 'overlong' }], partial: false }, 0],
    // Later lines are not taken: the connection ends at the over-long one.
    [read('1:'), 1],
    [{ type: 'issued', result: accept(puzzle) }, 2],
  ]);
  assert.deepEqual(kinds(effects), [
    'issue',
    `send 2:${puzzle}`,
    'rejected ERR_POWTCP_LINE_TOO_LONG',
    'send 0:ERR_POWTCP_LINE_TOO_LONG',
    'close',
  ]);
  assert.equal(state.phase, 'closed');
});
