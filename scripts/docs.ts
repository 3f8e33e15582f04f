// Generates the docs tables that come from the code: limits (every `defineLimits` registry),
// error and reason codes, and events (src/util/codes.ts). `npm run docs` rewrites the tables
// between their markers; test/docs-generated.test.ts fails when a table and the code differ.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ERRORS, EVENTS, GAUGES, REASONS } from '../src/util/codes.js';
import { limitRegistries } from '../src/util/limits.js';

const ROOT = join(import.meta.dirname, '..');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

/** Imports every module under src/ that has no effect at import (not entry points or workers). */
async function loadRegistries(): Promise<void> {
  const skip = /(?:^|\/)(?:main|worker)\.ts$/;
  for (const file of walk(join(ROOT, 'src')).sort()) {
    if (!file.endsWith('.ts') || file.endsWith('.d.ts') || skip.test(relative(ROOT, file))) continue;
    await import(pathToFileURL(file).href);
  }
}

const cell = (text: string) => text.replaceAll('|', '\\|');

export function codeTables(): Record<string, string> {
  const errors = [
    '| code | meaning |',
    '| --- | --- |',
    ...Object.entries(ERRORS).map(([code, doc]) => `| \`${code}\` | ${cell(doc)} |`),
  ].join('\n');
  const reasons = [
    '| code | layer | meaning |',
    '| --- | --- | --- |',
    ...Object.entries(REASONS).map(([code, r]) => `| \`${code}\` | ${r.layer} | ${cell(r.doc)} |`),
  ].join('\n');
  const metrics = ['| metric | type | meaning |', '| --- | --- | --- |'];
  for (const [service, events] of Object.entries(EVENTS)) {
    for (const [event, doc] of Object.entries(events as Record<string, string>)) {
      const labelled = event === 'rejections' ? ' (label `reason`)' : '';
      metrics.push(`| \`tollgate_${service}_${event}_total\` | counter | ${cell(doc)}${labelled} |`);
    }
    for (const [gauge, doc] of Object.entries(
      GAUGES[service as keyof typeof GAUGES] as Record<string, string>,
    )) {
      metrics.push(`| \`tollgate_${service}_${gauge}\` | gauge | ${cell(doc)} |`);
    }
  }
  return { 'codes:errors': errors, 'codes:reasons': reasons, 'codes:metrics': metrics.join('\n') };
}

export async function allTables(): Promise<Record<string, string>> {
  await loadRegistries();
  const tables: Record<string, string> = codeTables();
  for (const [layer, registry] of limitRegistries()) tables[`limits:${layer}`] = registry.table();
  return tables;
}

/** Each docs file with its generated tables put in; `missing` lists tables no file has markers for. */
export async function renderDocs(): Promise<{
  files: Map<string, { before: string; after: string }>;
  missing: string[];
}> {
  const tables = await allTables();
  const used = new Set<string>();
  const files = new Map<string, { before: string; after: string }>();
  const docs = [join(ROOT, 'README.md'), ...walk(join(ROOT, 'docs')).filter((f) => f.endsWith('.md'))];
  for (const file of docs) {
    const before = readFileSync(file, 'utf8');
    const after = before.replace(
      /<!-- ((?:limits|codes):[\w-]+) -->\n[\s\S]*?<!-- \/\1 -->/g,
      (whole, name: string) => {
        const table = tables[name];
        if (table === undefined) return whole;
        used.add(name);
        return `<!-- ${name} -->\n${table}\n<!-- /${name} -->`;
      },
    );
    if (after !== before || /<!-- (?:limits|codes):/.test(before))
      files.set(relative(ROOT, file), { before, after });
  }
  return { files, missing: Object.keys(tables).filter((name) => !used.has(name)) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { files, missing } = await renderDocs();
  for (const [file, { before, after }] of files) {
    if (after !== before) {
      writeFileSync(join(ROOT, file), after);
      console.log(`updated ${file}`);
    }
  }
  for (const name of missing)
    console.error(`no docs markers for ${name}: add <!-- ${name} --> and <!-- /${name} -->`);
  process.exit(missing.length === 0 ? 0 : 1);
}
