// Builds the optional native solver addon at install time.
// Install must succeed without a compiler: on failure we print one line and the
// library falls back to the TypeScript backend (it says so once at run time).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(join(root, 'binding.gyp'))) process.exit(0);
if (process.env.TOLLGATE_SKIP_NATIVE === '1') {
  console.log('tollgate: TOLLGATE_SKIP_NATIVE=1, native solver not built (TypeScript backend will be used)');
  process.exit(0);
}

// npm exposes the path of its bundled node-gyp to lifecycle scripts.
const gyp = process.env.npm_config_node_gyp;
const cmd = gyp ? process.execPath : 'npx';
const args = gyp ? [gyp, 'rebuild'] : ['--no-install', 'node-gyp', 'rebuild'];
const result = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (result.status === 0) {
  console.log('tollgate: native solver built');
} else {
  const tail = `${result.stderr ?? ''}${result.error?.message ?? ''}`
    .trim()
    .split('\n')
    .slice(-3)
    .join(' | ');
  console.log(`tollgate: native solver not built, TypeScript backend will be used (${tail})`);
}
process.exit(0);
