// Issue 9 item 10: a link-local IPv6 peer whose interface name (the zone id Node appends to
// its address) has a character outside [A-Za-z0-9_.-] made the endpoint computation at accept
// throw out of the connection listener and stop the process. Needs root for a network
// namespace of its own (never the host's interfaces), `ip` and `perl`; skipped without them.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const fixture = fileURLToPath(new URL('./fixtures/link-local-peer.ts', import.meta.url));

function missing(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root for a network namespace';
  for (const [cmd, args] of [
    ['unshare', ['-n', 'true']],
    ['ip', ['-V']],
    ['perl', ['-v']],
  ] as const) {
    if (spawnSync(cmd, args, { stdio: 'ignore' }).status !== 0) return `needs ${cmd}`;
  }
  return undefined;
}

test('a link-local peer with an unusual zone id is served, and the server keeps running', async (t) => {
  const why = missing();
  if (why !== undefined) {
    t.skip(why);
    return;
  }
  const child = spawn('unshare', ['-n', process.execPath, '--import', 'tsx', fixture], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    out += c;
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    err += c;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  assert.equal(code, 0, err);
  const result = JSON.parse(out.trim().split('\n').at(-1)!) as { reply: string; quote: string };
  // The zone is dropped: the puzzle is bound to the peer's address as the peer sees it.
  assert.match(result.reply, /^2:1:\d+:\d{14}:\[fe80::1\]:\d+::/);
  assert.equal(result.quote, 'still here');
});
