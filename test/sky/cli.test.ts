import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { CliProcess } from '../helpers/procs.js';

const T = { timeout: 120_000 };

/** Resolves with the first match of `pattern` on the process's stderr (bounded). */
function waitStderr(p: CliProcess, pattern: RegExp, ms = 60_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = p.stderr.match(pattern);
      if (m !== null) {
        clearTimeout(timer);
        p.child.stderr!.off('data', check);
        resolve(m);
      }
    };
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}: ${p.stderr}`)), ms);
    p.child.stderr!.on('data', check);
    p.exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`exited before ${pattern}: ${p.stderr}`));
    });
    setImmediate(check);
  });
}

test('tollgate sky, earth and earth send from the command line', T, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-sky-'));
  const sky = new CliProcess(['sky', '--listen', '127.0.0.1:0']);
  const procs = [sky];
  try {
    const [, skyAt] = await waitStderr(sky, /sky listening on (\S+)\n/);
    const bob = new CliProcess([
      'earth',
      '--key',
      join(dir, 'bob.pem'),
      '--sky',
      skyAt!,
      '--listen',
      '127.0.0.1:0',
      '--inbox-bytes',
      '65536',
    ]);
    procs.push(bob);
    const [, bobId] = await waitStderr(bob, /earth ([0-9a-f]{64})\n/);
    const sent = await runCli([
      'earth',
      'send',
      '--key',
      join(dir, 'alice.pem'),
      '--sky',
      skyAt!,
      '--to',
      bobId!,
      'hi there',
    ]);
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stdout, /^delivered via direct\n$/);
    const [line] = await bob.waitFor(/^[0-9a-f]{64} hi there\n/m);
    assert.ok(line.length > 64);
    const refused = await runCli([
      'earth',
      'send',
      '--key',
      join(dir, 'alice.pem'),
      '--sky',
      skyAt!,
      '--to',
      'ab'.repeat(32),
      'x',
    ]);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, 'ERR_SKY_NO_LEASE\n');
  } finally {
    for (const p of procs) await p.stop();
  }
});

test('every sky and earth command has --help', T, async () => {
  for (const args of [
    ['sky', '--help'],
    ['earth', '--help'],
    ['earth', 'send', '--help'],
  ]) {
    const r = await runCli(args);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: tollgate (sky|earth)/);
  }
});
