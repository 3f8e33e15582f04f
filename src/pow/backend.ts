/**
 * Chooses the hash backend: the native addon when it loads, the TypeScript fallback
 * otherwise, and says once which one is used (issue 2, item 3b).
 */

import { debuglog } from 'node:util';
import { isMainThread } from 'node:worker_threads';
import { TollgateError } from '../util/errors.js';
import { loadNativeBackend, nativeLoadError } from './native.js';
import { tsBackend } from './ts-backend.js';
import type { BackendName, HashBackend } from './types.js';

const log = debuglog('tollgate');

export type BackendPreference = 'native' | 'ts' | 'auto';

interface NativeProbe {
  backend: HashBackend | null;
  error: string | undefined;
}

let probe: NativeProbe | undefined;
let announced = false;
let lastChoice: { name: BackendName; fallbackReason?: string } | undefined;

/** Loads the addon once. */
function native(): NativeProbe {
  if (probe === undefined) {
    const backend = loadNativeBackend();
    probe = { backend, error: backend === null ? (nativeLoadError() ?? 'unknown error') : undefined };
  }
  return probe;
}

function announce(message: string, loud: boolean): void {
  // Workers choose their backend the same way; only the main thread speaks.
  if (announced || !isMainThread) return;
  announced = true;
  if (loud) process.stderr.write(`tollgate: ${message}\n`);
  else log(message);
}

/**
 * The backend to search with. `native` throws ERR_NATIVE_UNAVAILABLE (with the load error)
 * when the addon does not load; `auto` falls back to the TypeScript backend.
 */
export function getBackend(prefer: BackendPreference = 'auto'): HashBackend {
  if (prefer === 'ts') {
    lastChoice = { name: 'ts' };
    announce('using the TypeScript backend (requested)', false);
    return tsBackend;
  }
  const { backend, error } = native();
  if (backend !== null) {
    lastChoice = { name: backend.name };
    announce(`using the ${backend.name} backend`, false);
    return backend;
  }
  if (prefer === 'native') {
    throw new TollgateError(
      'ERR_NATIVE_UNAVAILABLE',
      `native backend unavailable: ${error ?? 'no native solver in this build'}`,
    );
  }
  lastChoice = error === undefined ? { name: 'ts' } : { name: 'ts', fallbackReason: error };
  if (error === undefined) announce('no native solver in this build; using the TypeScript backend', false);
  else announce(`native solver failed to load (${error}); using the TypeScript backend`, true);
  return tsBackend;
}

/** The last backend chosen, with the reason for a fallback (for `--json` output). */
export function backendChoice(): { name: BackendName; fallbackReason?: string } | undefined {
  return lastChoice;
}

/** Whether the native addon loads, and why not. */
export function nativeStatus(): { available: boolean; error?: string } {
  const { backend, error } = native();
  return backend !== null
    ? { available: true }
    : error === undefined
      ? { available: false }
      : { available: false, error };
}
