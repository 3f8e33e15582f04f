import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as admission from '../../src/admission/index.js';

// The public entry `tollgate/admission` offers what INTERFACES.md promises the other layers.
test('tollgate/admission exports the agreed interfaces', () => {
  for (const name of [
    'parseEndpoint',
    'formatEndpoint',
    'canonicalHost',
    'encodeEndpoint',
    'decodeEndpoint',
    'KeyRing',
    'ChallengeSealer',
    'readSealedHeader',
    'PUZZLE_KINDS',
    'MemoryStore',
    'StoreFullError',
    'ReplayGuard',
    'admitSolved',
    'QueueDifficultyController',
    'BoundedQueue',
    'LeakyQueue',
    'arrive',
    'identityOf',
    'RateLimiter',
    'ADMISSION_LIMITS',
  ]) {
    assert.ok(name in admission, name);
  }
  assert.deepEqual([...admission.PUZZLE_KINDS], ['sha256-bits', 'hashcash-sha1', 'scrypt']);
});
