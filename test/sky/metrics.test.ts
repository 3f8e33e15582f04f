/**
 * `tollgate sky` and `tollgate earth` on the one observability mechanism: the same flags as
 * every daemon (--json-logs, --log-level, --metrics), counts and refusals by reason code and
 * gauges scraped from /metrics.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { CliProcess } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait.js';

const T = { timeout: 120_000 };

async function stderrMatch(p: CliProcess, pattern: RegExp): Promise<RegExpMatchArray> {
  let m: RegExpMatchArray | null = null;
  await waitFor(
    `${pattern} on stderr`,
    () => {
      m = p.stderr.match(pattern);
      return m !== null || p.child.exitCode !== null;
    },
    { timeoutMs: 60_000, intervalMs: 20 },
  );
  if (m === null) throw new Error(`exited before ${pattern}: ${p.stderr}`);
  return m;
}

async function scrape(at: string): Promise<string> {
  const res = await fetch(`http://${at}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

const value = (text: string, line: RegExp): number => Number(text.match(line)?.[1] ?? Number.NaN);

test(
  'sky and earth publish counts, refusals by reason and gauges at /metrics; logs are JSON',
  T,
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-sky-metrics-'));
    const sky = new CliProcess([
      'sky',
      '--listen',
      '127.0.0.1:0',
      '--metrics',
      '127.0.0.1:0',
      '--json-logs',
      '--log-level',
      'debug',
    ]);
    const procs = [sky];
    try {
      const [, skyAt] = await stderrMatch(sky, /sky listening on (\S+?)"/);
      const [, skyMetrics] = await stderrMatch(sky, /metrics on http:\/\/([^/]+)\/metrics/);
      const bob = new CliProcess([
        'earth',
        '--key',
        join(dir, 'bob.pem'),
        '--sky',
        skyAt!,
        '--listen',
        '127.0.0.1:0',
        '--inbox-bytes',
        '4096',
        '--metrics',
        '127.0.0.1:0',
      ]);
      procs.push(bob);
      const [, bobId] = await stderrMatch(bob, /earth ([0-9a-f]{64})\n/);
      const [, bobMetrics] = await stderrMatch(bob, /metrics on http:\/\/([^/]+)\/metrics/);
      const sent = await runCli([
        'earth',
        'send',
        '--key',
        join(dir, 'alice.pem'),
        '--sky',
        skyAt!,
        '--to',
        bobId!,
        'hi',
      ]);
      assert.equal(sent.code, 0, sent.stderr);
      const refused = await runCli([
        'earth',
        'send',
        '--key',
        join(dir, 'alice.pem'),
        '--sky',
        skyAt!,
        '--to',
        'cd'.repeat(32),
        'x',
      ]);
      assert.equal(refused.code, 1);
      await bob.waitFor(/ hi\n/);

      const s = await scrape(skyMetrics!);
      assert.equal(value(s, /^tollgate_sky_rejections_total\{reason="ERR_SKY_NO_LEASE"\} (\d+)$/m), 1, s);
      // bob, then alice twice (one lease per send).
      assert.ok(value(s, /^tollgate_sky_leased_total (\d+)$/m) >= 3, s);
      assert.ok(value(s, /^tollgate_sky_lookups_total (\d+)$/m) >= 1, s);
      assert.ok(value(s, /^tollgate_sky_connections_total (\d+)$/m) >= 3, s);
      assert.ok(value(s, /^tollgate_sky_leases (\d+)$/m) >= 2, s);
      assert.ok(value(s, /^tollgate_sky_open_connections (\d+)$/m) >= 1, s);
      assert.match(s, /^tollgate_sky_difficulty 0$/m);
      assert.match(s, /^process_resident_memory_bytes \d+/m);

      const e = await scrape(bobMetrics!);
      assert.equal(value(e, /^tollgate_earth_received_total (\d+)$/m), 1, e);
      assert.ok(value(e, /^tollgate_earth_leased_total (\d+)$/m) >= 1, e);
      assert.ok(value(e, /^tollgate_earth_known_leases (\d+)$/m) >= 1, e);
      assert.match(e, /^tollgate_earth_inbox_bytes 0$/m);

      // --json-logs: every stderr line of the sky node is one JSON object.
      for (const line of sky.stderr.split('\n').filter((l) => l !== '')) {
        const o = JSON.parse(line) as { service: string; level: string };
        assert.equal(o.service, 'sky');
      }
      assert.match(sky.stderr, /"reason":"ERR_SKY_NO_LEASE"/);
    } finally {
      for (const p of procs) await p.stop();
    }
  },
);
