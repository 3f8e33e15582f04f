import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';

test('tollgate --help lists the commands and exits 0', async () => {
  const result = await runCli(['--help']);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /Usage: tollgate <command>/);
});

test('an unknown command exits 2 and names it', async () => {
  const result = await runCli(['no-such-command']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /unknown command 'no-such-command'/);
});

test('--version prints the package version', async () => {
  const result = await runCli(['--version']);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /^\d+\.\d+\.\d+\n$/);
});
