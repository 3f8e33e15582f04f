import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nativeStatus } from '../../src/pow/backend.js';
import { runCli } from '../helpers/cli.js';

const CHALLENGE = '00112233445566778899aabbccddeeff';

test('pow solve --json: the last line is the result object; verify accepts the nonce', async () => {
  const solved = await runCli([
    'pow',
    'solve',
    '--kind',
    'sha256-bits',
    '--difficulty',
    '12',
    '--challenge',
    CHALLENGE,
    '--workers',
    '2',
    '--backend',
    'ts',
    '--json',
  ]);
  assert.equal(solved.code, 0, solved.stderr);
  const last = solved.stdout.trim().split('\n').at(-1)!;
  assert.match(last, /^\{"nonce":"[0-9a-f]{16}","attempts":\d+,"ms":\d+,"backend":"ts","workers":2\}$/);
  const { nonce } = JSON.parse(last) as { nonce: string };
  const ok = await runCli([
    'pow',
    'verify',
    '--kind',
    'sha256-bits',
    '--difficulty',
    '12',
    '--challenge',
    CHALLENGE,
    '--nonce',
    nonce,
  ]);
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /^valid: \d+ leading zero bits, 12 required/);
  const bad = await runCli([
    'pow',
    'verify',
    '--kind',
    'sha256-bits',
    '--difficulty',
    '40',
    '--challenge',
    CHALLENGE,
    '--nonce',
    nonce,
  ]);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /^invalid: \d+ leading zero bits, 40 required/);
});

test('pow hashcash-sha1: solve prints the solved header, verify checks it', async () => {
  const header = '1:3:20261121093000:127.0.0.1:53422::Vmh0Yw==:MA==';
  const solved = await runCli(['pow', 'solve', '--kind', 'hashcash-sha1', '--header', header, '--json']);
  assert.equal(solved.code, 0, solved.stderr);
  const result = JSON.parse(solved.stdout.trim().split('\n').at(-1)!) as { header: string };
  assert.match(result.header, /^1:3:20261121093000:127\.0\.0\.1:53422::Vmh0Yw==:[A-Za-z0-9+/=]+$/);
  assert.equal(
    (await runCli(['pow', 'verify', '--kind', 'hashcash-sha1', '--header', result.header])).code,
    0,
  );
  const example = await runCli(['pow', 'verify', '--kind', 'hashcash-sha1', '--header', header]);
  assert.equal(example.code, 1);
  assert.match(example.stdout, /ERR_POW_INSUFFICIENT/);
});

test('pow scrypt: solve then verify with explicit N, r, p and difficulty', async () => {
  const args = [
    '--kind',
    'scrypt',
    '--message',
    'cafe',
    '--N',
    '64',
    '--r',
    '2',
    '--p',
    '1',
    '--difficulty',
    '3',
  ];
  const solved = await runCli(['pow', 'solve', ...args, '--json']);
  assert.equal(solved.code, 0, solved.stderr);
  const { nonce, backend } = JSON.parse(solved.stdout.trim().split('\n').at(-1)!) as {
    nonce: string;
    backend: string;
  };
  assert.equal(backend, 'node-crypto');
  assert.equal((await runCli(['pow', 'verify', ...args, '--nonce', nonce])).code, 0);
});

test('bad arguments exit 2 and name the argument', async () => {
  const cases: [string[], RegExp][] = [
    [
      ['pow', 'solve', '--kind', 'sha256-bits', '--difficulty', '65', '--challenge', CHALLENGE],
      /--difficulty/,
    ],
    [['pow', 'solve', '--kind', 'sha256-bits', '--difficulty', '8', '--challenge', 'xyz'], /--challenge/],
    [['pow', 'solve', '--kind', 'sha256-bits', '--difficulty', '8'], /--challenge: is required/],
    [['pow', 'solve', '--kind', 'md5'], /--kind/],
    [
      [
        'pow',
        'verify',
        '--kind',
        'sha256-bits',
        '--difficulty',
        '8',
        '--challenge',
        '00',
        '--nonce',
        '12345678901234567',
      ],
      /--nonce/,
    ],
    [['pow', 'solve', '--kind', 'scrypt', '--message', '00', '--N', '3'], /--N/],
    [
      ['pow', 'solve', '--kind', 'sha256-bits', '--difficulty', '8', '--challenge', '00', '--workers', '0'],
      /--workers/,
    ],
    [
      ['pow', 'solve', '--kind', 'sha256-bits', '--difficulty', '8', '--challenge', '00', '--backend', 'gpu'],
      /--backend/,
    ],
    [['pow', 'solve', '--frobnicate'], /--frobnicate/],
    [['pow', 'explode'], /action/],
  ];
  for (const [args, pattern] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, pattern, args.join(' '));
  }
});

test('a spent budget exits 1 with ERR_POW_BUDGET; --help exits 0', async () => {
  const r = await runCli([
    'pow',
    'solve',
    '--kind',
    'sha256-bits',
    '--difficulty',
    '60',
    '--challenge',
    CHALLENGE,
    '--max-attempts',
    '1000',
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /ERR_POW_BUDGET/);
  const help = await runCli(['pow', 'solve', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--kind/);
});

test('demo solves and verifies each kind and prints the summary table', async () => {
  const r = await runCli(['demo', '--workers', '2'], { timeoutMs: 90_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /kind\s+difficulty\s+attempts\s+time\s+backend\s+verified/);
  for (const kind of ['sha256-bits', 'hashcash-sha1', 'scrypt'])
    assert.match(r.stdout, new RegExp(`^${kind} `, 'm'));
  // Sky and earth (issue 11 item 7): delivered, stored until the recipient is back, refused.
  assert.match(
    r.stdout,
    /recipient \S+ (behind a NAT in a network namespace|on loopback with the others \(no network namespaces here: [^)]+\))/,
  );
  assert.match(r.stdout, /^sky\/earth: message to the recipient .*delivered via (direct|punch)$/m);
  assert.match(r.stdout, /^sky\/earth: message while the recipient is away .*stored via holder$/m);
  assert.match(r.stdout, /^sky\/earth: look-up of an identity without a lease .*refused: ERR_SKY_NO_LEASE$/m);
  assert.doesNotMatch(r.stdout, /\bNO\b/);
});

test('pow solve --backend native reports the native backend, or names why it is unavailable', async () => {
  const r = await runCli([
    'pow',
    'solve',
    '--kind',
    'sha256-bits',
    '--difficulty',
    '8',
    '--challenge',
    CHALLENGE,
    '--backend',
    'native',
    '--json',
  ]);
  if (nativeStatus().available) {
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.trim().split('\n').at(-1)!, /"backend":"native-(shani|portable)","workers":1\}$/);
  } else {
    assert.equal(r.code, 2);
    assert.match(r.stderr, /ERR_NATIVE_UNAVAILABLE/);
  }
});
