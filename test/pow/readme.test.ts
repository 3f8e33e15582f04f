import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

// The README example is run, so that it cannot rot (STYLE: "The README example is run by a test").
test('README "Proof of work" example runs and prints what it says', () => {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('## Proof of work'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(match, 'no ts block in the Proof of work section');
  const code = match[1]!.replace("'tollgate/pow'", JSON.stringify(resolve('src/pow/index.ts')));
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-readme-pow-'));
  try {
    const file = join(dir, 'example.mts');
    writeFileSync(file, code);
    const run = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.stdout.trim().split('\n'), ['true', 'true', 'true']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
