import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createProgress, formatCount, formatMs, progressLine } from '../../src/cli/progress.js';

const progress = { attempts: 1_500_000, elapsedMs: 1000, rate: 1_500_000, expectedRemaining: 1 << 20 };

test('progress lines: a bar on a TTY, plain text otherwise', () => {
  assert.equal(
    progressLine('sha256-bits', progress, 1 << 20, false),
    'sha256-bits: 1.50M/1.05M attempts  1.50M/s  ~699 ms to go',
  );
  // Past the expected attempts the bar stays full.
  assert.match(progressLine('x', progress, 1 << 20, true), /^x \[#{24}\] 1\.50M/);
  assert.match(
    progressLine('x', { ...progress, attempts: 0, rate: 0 }, 100, true),
    /^x \[\.{24}\] 0\/100 attempts {2}0\/s {2}~\? to go$/,
  );
  assert.equal(formatCount(999), '999');
  assert.equal(formatCount(12_345), '12.3k');
  assert.equal(formatMs(1500), '1.5 s');
  assert.equal(formatMs(90_000), '1.5 min');
});

test('a plain display writes about once a second; a TTY display redraws in place', () => {
  const written: string[] = [];
  const stream = { isTTY: false, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
  const plain = createProgress('k', 100, stream);
  plain.update({ ...progress, elapsedMs: 100 });
  plain.update({ ...progress, elapsedMs: 1100 });
  plain.update({ ...progress, elapsedMs: 1500 });
  plain.update({ ...progress, elapsedMs: 2200 });
  plain.done();
  assert.equal(written.length, 2);
  assert.ok(written.every((line) => line.endsWith('\n')));

  written.length = 0;
  const ttyStream = { isTTY: true, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
  const tty = createProgress('k', 100, ttyStream);
  tty.update(progress);
  tty.update(progress);
  tty.done();
  assert.equal(written.length, 3);
  assert.ok(written.slice(0, 2).every((s) => s.startsWith('\r\x1b[2K') && !s.includes('\n')));
  assert.equal(written[2], '\r\x1b[2K');
});
