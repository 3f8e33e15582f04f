import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

// Every stable error/reason code used in the code is documented, and every documented
// code is used (the docs are part of the product; codes double as metric labels).
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const codePattern = /['"`](ERR_[A-Z0-9_]+)['"`]/g;

test('every ERR_ code in src/ is in docs/errors.md and the other way round', () => {
  const used = new Set<string>();
  for (const file of sources('src')) {
    for (const match of readFileSync(file, 'utf8').matchAll(codePattern)) used.add(match[1]!);
  }
  const documented = new Set<string>();
  for (const match of readFileSync('docs/errors.md', 'utf8').matchAll(/`(ERR_[A-Z0-9_]+)`/g))
    documented.add(match[1]!);
  assert.deepEqual([...used].filter((c) => !documented.has(c)).sort(), [], 'codes used but not documented');
  assert.deepEqual([...documented].filter((c) => !used.has(c)).sort(), [], 'codes documented but not used');
});
