import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { GOSSIP_DEFAULTS, GOSSIP_LIMITS } from '../../src/protocol/gossip/limits.js';
import {
  ConfigError,
  GOSSIP_KEYS,
  loadGossipConfig,
  parseGossipConfig,
  parseHostPort,
} from '../../src/services/gossip/config.js';
import type { LimitSpec } from '../../src/util/limits.js';

const SPEC_EXAMPLE = `hostkey = /hostkey.pem

[gossip]
cache_size = 50
degree = 30
bootstrapper = p2psec.net.in.tum.de:6001
p2p_address = 131.159.15.61:6001
api_address = 131.159.15.61:7001

[onion]
hops = 2
`;

test('the spec example parses; other sections are ignored', () => {
  const c = parseGossipConfig(SPEC_EXAMPLE, 'peer.ini', '/etc/voidphone');
  assert.equal(c.hostkey, '/hostkey.pem');
  assert.equal(c.params.cacheSize, 50);
  assert.equal(c.params.degree, 30);
  assert.deepEqual(c.bootstrapper, { host: 'p2psec.net.in.tum.de', port: 6001 });
  assert.deepEqual(c.p2pAddress, { host: '131.159.15.61', port: 6001 });
  assert.deepEqual(c.apiAddress, { host: '131.159.15.61', port: 7001 });
  assert.deepEqual(c.warnings, []);
  assert.equal(c.params.powBits, 24, 'seed 002 difficulty by default');
  assert.equal(c.trustedKeys, undefined, 'open membership unless trusted_keys is set');
});

test('[global] hostkey, relative paths against the config folder, IPv6 in brackets', () => {
  const c = parseGossipConfig(
    '[global]\nhostkey = keys/me.pem\n[gossip]\np2p_address = [::1]:6001\napi_address = [0:0::1]:7001\ntrusted_keys = peers\n',
    'peer.ini',
    '/srv/peer',
  );
  assert.equal(c.hostkey, '/srv/peer/keys/me.pem');
  assert.equal(c.trustedKeys, '/srv/peer/peers');
  assert.deepEqual(c.p2pAddress, { host: '::1', port: 6001 });
  assert.deepEqual(c.apiAddress, { host: '::1', port: 7001 });
});

test('our own keys override the defaults; unknown [gossip] keys are reported', () => {
  const c = parseGossipConfig(
    'hostkey = k.pem\n[gossip]\np2p_address = 127.0.0.1:6001\napi_address = 127.0.0.1:7001\npow_bits = 8\ncache_bytes = 1024\nfanout = 3\n',
    'peer.ini',
    '/x',
  );
  assert.equal(c.params.powBits, 8);
  assert.equal(c.params.cacheBytes, 1024);
  assert.equal(c.params.heartbeatMs, GOSSIP_DEFAULTS.heartbeatMs);
  assert.deepEqual(c.warnings, ['peer.ini:7: unknown key "fanout" in [gossip] (ignored)']);
});

test('a missing hostkey is an error that shows the keygen command', () => {
  assert.throws(
    () =>
      parseGossipConfig('[gossip]\np2p_address = 127.0.0.1:1\napi_address = 127.0.0.1:2\n', 'peer.ini', '/x'),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.code === 'ERR_CONFIG_HOSTKEY' &&
      /peer\.ini: hostkey: missing/.test(e.message) &&
      /tollgate keygen/.test(e.message),
  );
});

test('errors name the file, the line, the key and what is wrong', () => {
  const base = 'hostkey = k.pem\n[gossip]\np2p_address = 127.0.0.1:6001\napi_address = 127.0.0.1:7001\n';
  const cases: [string, RegExp][] = [
    [`${base}degree = many\n`, /peer\.ini:5: degree: expected a whole number, got "many"/],
    [`${base}degree = 256\n`, /peer\.ini:5: degree: 256 is outside 1\.\.255/],
    [`${base}cache_size = 1000001\n`, /cache_size: 1000001 is outside 0\.\.1000000/],
    [`${base}bootstrapper = ::1:6001\n`, /bootstrapper: an IPv6 address needs brackets/],
    [`${base}bootstrapper = 127.0.0.1:0\n`, /bootstrapper: port 0 is outside 1\.\.65535/],
    [`${base}bootstrapper = 127.0.0.1:65536\n`, /bootstrapper: port 65536 is outside/],
    [`${base}bootstrapper = bad_host!:1\n`, /bootstrapper: not an IP address or host name/],
    [`${base}degree = 3\ndegree = 4\n`, /peer\.ini:6: duplicate key "degree" \(first on line 5\)/],
    [`${base}just words\n`, /peer\.ini:5: not "key = value"/],
    [
      'hostkey = k.pem\n[gossip]\napi_address = 127.0.0.1:7001\n',
      /peer\.ini: p2p_address: missing in \[gossip\]/,
    ],
    ['hostkey = k.pem\n[onion]\nhops = 2\n', /peer\.ini: \[gossip\]: section missing/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(() => parseGossipConfig(text, 'peer.ini', '/x'), pattern, text);
  }
});

test('syntax other modules may use in their sections is not our business', () => {
  const c = parseGossipConfig(`${SPEC_EXAMPLE}[dht]\nthis line is theirs\n`, 'peer.ini', '/x');
  assert.equal(c.params.degree, 30);
});

test('addresses split on the last colon; host names kept, IPs canonical', () => {
  assert.deepEqual(parseHostPort('localhost:7001'), { host: 'localhost', port: 7001 });
  assert.deepEqual(parseHostPort('[2001:DB8::1]:1'), { host: '2001:db8::1', port: 1 });
  assert.deepEqual(parseHostPort('10.0.0.1:65535'), { host: '10.0.0.1', port: 65535 });
  assert.match(String(parseHostPort('10.0.0.1')), /expected host:port/);
  assert.match(String(parseHostPort('10.0.0.1:x')), /bad port/);
  assert.match(String(parseHostPort('300.1.1.1:1')), /not an IP address or host name/);
});

test('a bootstrap config listens on p2p_address or else on its bootstrapper line', () => {
  const c = parseGossipConfig('hostkey = k.pem\n[gossip]\nbootstrapper = 127.0.0.1:6000\n', 'b.ini', '/x', {
    role: 'bootstrap',
  });
  assert.deepEqual(c.p2pAddress, { host: '127.0.0.1', port: 6000 });
  assert.equal(c.apiAddress, undefined);
});

test('loadGossipConfig reads a file and names it in errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-config-'));
  const file = join(dir, 'peer.ini');
  writeFileSync(file, SPEC_EXAMPLE.replace('hostkey = /hostkey.pem', 'hostkey = hostkey.pem'));
  assert.equal(loadGossipConfig(file).hostkey, join(dir, 'hostkey.pem'));
  assert.throws(() => loadGossipConfig(join(dir, 'missing.ini')), /missing\.ini: cannot read/);
});

test('KEEP keys: defaults in the one table, read from [gossip], and relations checked naming the key', () => {
  const base = 'hostkey = k.pem\n[gossip]\np2p_address = 127.0.0.1:6001\napi_address = 127.0.0.1:7001\n';
  const plain = parseGossipConfig(base, 'peer.ini', '/x');
  assert.equal(plain.params.keepBits, 22);
  assert.equal(plain.params.keepPeriodMs, 60_000);
  assert.equal(plain.params.keepWindowMs, 5_000);
  const set = parseGossipConfig(
    `${base}keep_bits = 20\nkeep_period_ms = 30000\nkeep_window_ms = 4000\n`,
    'peer.ini',
    '/x',
  );
  assert.deepEqual(
    [set.params.keepBits, set.params.keepPeriodMs, set.params.keepWindowMs],
    [20, 30_000, 4_000],
  );
  assert.equal(parseGossipConfig(`${base}keep_period_ms = 0\n`, 'peer.ini', '/x').params.keepPeriodMs, 0);
  assert.throws(
    () => parseGossipConfig(`${base}keep_window_ms = 2000\n`, 'peer.ini', '/x'),
    /peer\.ini:5: keep_window_ms: must exceed keepCollectMs \+ keepSkewMs/,
  );
  assert.throws(
    () => parseGossipConfig(`${base}keep_period_ms = 5500\n`, 'peer.ini', '/x'),
    /peer\.ini:5: keep_period_ms: must exceed keepWindowMs \+ keepSkewMs/,
  );
  assert.throws(
    () => parseGossipConfig(`${base}keep_bits = 41\n`, 'peer.ini', '/x'),
    /keep_bits: 41 is outside 0\.\.40/,
  );
});

const KEEP_FIT: Record<string, string> = {
  keep_window_ms: 'keep_period_ms = 3600000\n',
  keep_collect_ms: 'keep_window_ms = 600000\nkeep_period_ms = 3600000\n',
  keep_skew_ms: 'keep_collect_ms = 100000\nkeep_window_ms = 600000\nkeep_period_ms = 3600000\n',
};

test('every config key of the gossip limits registry is refused at max + 1 and min - 1, naming the INI key', () => {
  const base = 'hostkey = k.pem\n[gossip]\np2p_address = 127.0.0.1:6001\napi_address = 127.0.0.1:7001\n';
  assert.ok(GOSSIP_KEYS.length >= 17, 'the spec keys and ours');
  for (const { key, param, min, max } of GOSSIP_KEYS) {
    const spec: LimitSpec = GOSSIP_LIMITS.specs[param];
    assert.equal(spec.configKey, key);
    // The KEEP keys are bound by relations too (collect > skew, window > collect + skew,
    // period > window + skew): at their max the others are set to fit (after line 5).
    const fit = KEEP_FIT[key] ?? '';
    const at = parseGossipConfig(`${base}${key} = ${max}\n${fit}`, 'peer.ini', '/x');
    assert.equal(at.params[param], max, key);
    assert.throws(
      () => parseGossipConfig(`${base}${key} = ${max + 1}\n${fit}`, 'peer.ini', '/x'),
      (e: unknown) => e instanceof ConfigError && e.key === key && /peer\.ini:5: /.test(e.message),
      key,
    );
    if (min > 0) {
      assert.throws(
        () => parseGossipConfig(`${base}${key} = ${min - 1}\n`, 'peer.ini', '/x'),
        (e: unknown) => e instanceof ConfigError && e.key === key,
        key,
      );
    }
  }
});
