/**
 * The attack lab checks itself: a metered solver finds real solutions and accounts every
 * attempt it made (so an attacker's hash power is measured, not assumed), and the HTML report
 * has one section per service, its charts, and the summary of targets met and not met.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HashMeter, solveHashcashMetered } from '../../bench/attack/hashpower.js';
import { renderReport } from '../../bench/attack/report.js';
import type { RunResult, Target } from '../../bench/attack.js';
import { verifyHashcash } from '../../src/pow/hashcash.js';

describe('attack lab: metered hash power', () => {
  it('solves a real hashcash puzzle and counts the attempts it made', async () => {
    const meter = new HashMeter(10_000_000);
    const header = '1:2:20260101000000:127.0.0.1:4000::c2VlZA==:';
    const solved = await solveHashcashMetered(`${header}MA==`, meter);
    assert.ok(solved !== undefined);
    assert.ok(verifyHashcash(solved));
    assert.ok(meter.spent >= 1);
  });

  it('gives up when aborted', async () => {
    const meter = new HashMeter(1_000);
    const abort = new AbortController();
    abort.abort();
    assert.equal(
      await solveHashcashMetered('1:8:20260101000000:127.0.0.1:4000::c2VlZA==:MA==', meter, abort.signal),
      undefined,
    );
    assert.equal(meter.spent, 0);
  });
});

function result(service: string, scenario: string, mode: RunResult['mode']): RunResult {
  return {
    service,
    mode,
    scenario,
    about: scenario === 'idle' ? 'finding 1' : 'baseline',
    k: undefined,
    durationS: 4,
    honest: {
      sent: 8,
      ok: 8,
      successRate: 1,
      goodput: 2,
      goodputRatio: 1,
      p50Ms: 30,
      p99Ms: 60,
      reasons: {},
      hashes: 100,
    },
    attacker: { requests: 10, rps: 2.5, served: 0, hashes: 0, hashRate: 0 },
    shares: undefined,
    server: { peakRssMb: 60, rssGrowthMb: 0.5, cpuPct: 3, peakDifficulty: 1, served: 8 },
    series: {
      samples: [
        { t: 0, rssMb: 59, cpuS: 0, difficulty: 1 },
        { t: 1, rssMb: 60, cpuS: 0.1, difficulty: 2 },
      ],
      goodput: [
        { t: 0, ok: 1 },
        { t: 1, ok: 2 },
      ],
      honest: [{ t: 0.5, ms: 30, ok: true }],
    },
  };
}

describe('attack lab: HTML report', () => {
  const results = [
    result('powtcp', 'baseline', 'ours'),
    result('powtcp', 'baseline', 'nopow'),
    result('gossip', 'idle', 'ours'),
  ];
  const targets: Target[] = [
    {
      service: 'gossip',
      scenario: 'idle',
      mode: 'ours',
      name: 'ours: honest success >= 99 % <&>',
      met: false,
      detail: '0.0 % of 8',
    },
    {
      service: 'powtcp',
      scenario: 'baseline',
      mode: 'ours',
      name: 'ours: server RSS <= 150 MB',
      met: true,
      detail: 'peak 60 MB',
    },
  ];
  const html = renderReport({
    machine: 'test machine',
    durationMs: 4000,
    workMs: 5,
    capacity: 20,
    elapsedS: 12,
    services: [
      { name: 'powtcp', title: 'powtcp service', difficultyUnit: 'hex digits' },
      { name: 'gossip', title: 'gossip peer', difficultyUnit: '-' },
    ],
    results,
    targets,
    table: 'the <table>',
  });

  it('has one section per service with goodput, difficulty and RSS charts per scenario', () => {
    assert.equal(html.match(/<section>/g)?.length, 2);
    assert.match(html, /<h2>powtcp service<\/h2>/);
    assert.match(html, /<h2>gossip peer<\/h2>/);
    // 2 scenarios x 3 charts
    assert.equal(html.match(/<svg /g)?.length, 6);
    assert.match(html, /honest goodput/);
    assert.match(html, /difficulty/);
  });

  it('summarises targets met and not met, escaping text', () => {
    assert.match(html, /Targets: 1 of 2 met/);
    assert.match(html, /<tr class="miss">.*NOT MET/);
    assert.match(html, /&lt;&amp;&gt;/);
    assert.match(html, /the &lt;table&gt;/);
    assert.doesNotMatch(html, /<script/);
  });
});
