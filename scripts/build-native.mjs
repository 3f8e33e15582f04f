// Builds the optional native solver addon at install time.
// Install must succeed without a compiler: on failure we print one line and the
// library falls back to the TypeScript backend (it says so once at run time).
//
// Order: node-gyp against the headers that ship with this Node (no download), then a
// direct `cc` build of the same sources, then give up. The result is loaded once in a
// child process so that a broken binary never stays in build/Release.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const output = join(root, 'build', 'Release', 'tollgate_native.node');
const timeout = 300_000;

function say(message) {
  console.log(`tollgate: ${message}`);
}

/** The few lines of a failed command that say why (error lines first). */
function tail(result) {
  const lines = `${result.stderr ?? ''}\n${result.stdout ?? ''}\n${result.error?.message ?? ''}`
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const errors = lines.filter((line) => /error|not found|ENOENT|not ok/i.test(line));
  return (errors.length > 0 ? errors : lines).slice(-3).join(' | ') || `exit status ${result.status}`;
}

/** The directory holding include/node/node_api.h and common.gypi for this Node, if any. */
function localNodeDir() {
  const candidates = [
    resolve(dirname(process.execPath), '..'),
    process.env.npm_config_nodedir,
    process.config.variables?.node_prefix,
  ];
  for (const dir of candidates) {
    if (!dir) continue;
    const inc = join(dir, 'include', 'node');
    if (existsSync(join(inc, 'node_api.h')) && existsSync(join(inc, 'common.gypi'))) return dir;
  }
  return undefined;
}

/** node-gyp's entry script: the one npm passes, else the one bundled with npm next to this Node. */
function nodeGypScript() {
  const candidates = [
    process.env.npm_config_node_gyp,
    resolve(
      dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
    resolve(
      dirname(process.execPath),
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
  ];
  return candidates.find((path) => path && existsSync(path));
}

function loads() {
  if (!existsSync(output)) return false;
  const check = spawnSync(
    process.execPath,
    [
      '-e',
      `const m = require(${JSON.stringify(output)}); if (typeof m.searchSha256Bits !== 'function') process.exit(1);`,
    ],
    { stdio: 'ignore', timeout: 30_000 },
  );
  return check.status === 0;
}

function buildWithNodeGyp(nodeDir) {
  const script = nodeGypScript();
  if (!script) return { ok: false, why: 'node-gyp not found' };
  const args = [script, 'rebuild'];
  if (nodeDir) args.push(`--nodedir=${nodeDir}`);
  // npm 11 warns about a `nodedir` entry in .npmrc; an explicit --nodedir wins over it.
  const env = { ...process.env };
  if (nodeDir) env.npm_config_nodedir = nodeDir;
  const result = spawnSync(process.execPath, args, { cwd: root, env, encoding: 'utf8', timeout });
  return result.status === 0 ? { ok: true } : { ok: false, why: `node-gyp: ${tail(result)}` };
}

/** The same sources compiled directly, for machines with a C compiler but no working node-gyp/Python. */
function buildWithCc(nodeDir) {
  if (!nodeDir) return { ok: false, why: 'no Node headers for a direct build' };
  if (process.platform === 'win32') return { ok: false, why: 'no direct build on Windows' };
  const cc = process.env.CC || 'cc';
  const sources = readdirSync(join(root, 'native'))
    .filter((name) => name.endsWith('.c'))
    .map((name) => join(root, 'native', name));
  mkdirSync(dirname(output), { recursive: true });
  const args = [
    '-shared',
    '-fPIC',
    '-O3',
    '-std=gnu11',
    '-fvisibility=hidden',
    `-I${join(nodeDir, 'include', 'node')}`,
    ...(process.platform === 'darwin' ? ['-undefined', 'dynamic_lookup'] : []),
    '-o',
    output,
    ...sources,
  ];
  const result = spawnSync(cc, args, { cwd: root, encoding: 'utf8', timeout });
  return result.status === 0 ? { ok: true } : { ok: false, why: `${cc}: ${tail(result)}` };
}

function main() {
  if (!existsSync(join(root, 'binding.gyp'))) return;
  if (process.env.TOLLGATE_SKIP_NATIVE === '1') {
    say('TOLLGATE_SKIP_NATIVE=1, native solver not built (TypeScript backend will be used)');
    return;
  }
  const nodeDir = localNodeDir();
  const reasons = [];
  for (const build of [buildWithNodeGyp, buildWithCc]) {
    const result = build(nodeDir);
    if (result.ok && loads()) {
      say('native solver built');
      return;
    }
    reasons.push(result.ok ? `${build.name}: built but does not load` : result.why);
  }
  rmSync(output, { force: true });
  say(`native solver not built, TypeScript backend will be used (${reasons.join('; ')})`);
}

try {
  main();
} catch (error) {
  say(`native solver not built, TypeScript backend will be used (${error?.message ?? error})`);
}
process.exit(0);
