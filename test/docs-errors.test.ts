import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ERRORS, REASONS } from '../src/util/codes.js';

// Every stable code written in src/ is in the one registry (src/util/codes.ts), and every
// registered code is used; docs/errors.md is generated from the registry and checked by
// test/docs-generated.test.ts.
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const codePattern = /['"`](ERR_[A-Z0-9_]+)['"`]/g;

test('every ERR_ code in src/ is registered in src/util/codes.ts and the other way round', () => {
  const used = new Set<string>();
  for (const file of sources('src')) {
    if (file.endsWith(join('util', 'codes.ts'))) continue;
    for (const match of readFileSync(file, 'utf8').matchAll(codePattern)) used.add(match[1]!);
  }
  const registered = new Set([...Object.keys(ERRORS), ...Object.keys(REASONS)]);
  assert.deepEqual([...used].filter((c) => !registered.has(c)).sort(), [], 'codes used but not registered');
  assert.deepEqual([...registered].filter((c) => !used.has(c)).sort(), [], 'codes registered but not used');
});
