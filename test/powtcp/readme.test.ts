import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { formatEndpoint } from '../../src/admission/endpoint.js';
import { startPowtcpService } from '../../src/services/powtcp/index.js';

function run(file: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    // Not spawnSync: this process serves the example's requests meanwhile.
    const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

// The README example is run, so that it cannot rot (STYLE: "The README example is run by a test").
test('README "powtcp" library example runs against a live server and prints what it says', async () => {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('## powtcp'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(match, 'no ts block in the powtcp section');
  const svc = await startPowtcpService({ listen: { host: '127.0.0.1', port: 0 } });
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-readme-powtcp-'));
  try {
    const code = match[1]!
      .replace("'tollgate/powtcp'", JSON.stringify(resolve('src/services/powtcp/client.ts')))
      .replace("'127.0.0.1:8765'", JSON.stringify(formatEndpoint(svc.address)));
    const file = join(dir, 'example.mts');
    writeFileSync(file, code);
    const r = await run(file);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'true true true');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await svc.close();
  }
});
