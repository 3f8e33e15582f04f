/**
 * The attack lab's HTML report: one self-contained page (no scripts, no external files) with
 * the summary table of targets met and not met, then one section per service and, per
 * scenario, inline SVG charts of honest goodput, difficulty and server RSS over time, one line
 * per mode.
 */
import type { Mode, RunResult, Target } from '../attack.js';

const COLORS: Record<Mode, string> = { ours: '#1f77b4', reference: '#d62728', nopow: '#7f7f7f' };
const LABELS: Record<Mode, string> = { ours: 'ours', reference: 'reference', nopow: 'no PoW' };

interface Line {
  color: string;
  points: [number, number][];
}

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function chart(title: string, unit: string, lines: Line[], w = 330, h = 180): string {
  const pad = { l: 44, r: 8, t: 22, b: 26 };
  const all = lines.flatMap((l) => l.points);
  const xMax = niceMax(Math.max(1, ...all.map((p) => p[0])));
  const yMax = niceMax(Math.max(0, ...all.map((p) => p[1])));
  const x = (v: number) => pad.l + (v / xMax) * (w - pad.l - pad.r);
  const y = (v: number) => h - pad.b - (v / yMax) * (h - pad.t - pad.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="10" role="img">`,
    `<title>${esc(title)}</title>`,
    `<text x="${w / 2}" y="13" text-anchor="middle" font-size="11">${esc(title)}</text>`,
    `<line x1="${pad.l}" y1="${h - pad.b}" x2="${w - pad.r}" y2="${h - pad.b}" stroke="#999"/>`,
    `<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${h - pad.b}" stroke="#999"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    parts.push(
      `<text x="${pad.l - 4}" y="${y(v) + 3}" text-anchor="end">${v >= 100 ? v.toFixed(0) : v.toPrecision(2)}</text>`,
      `<line x1="${pad.l}" y1="${y(v)}" x2="${w - pad.r}" y2="${y(v)}" stroke="#eee"/>`,
    );
    const xv = (xMax * i) / 4;
    parts.push(
      `<text x="${x(xv)}" y="${h - pad.b + 12}" text-anchor="middle">${Number.isInteger(xv) ? xv : xv.toFixed(1)}</text>`,
    );
  }
  parts.push(`<text x="${w - pad.r}" y="${h - 3}" text-anchor="end">time (s)</text>`);
  parts.push(`<text x="3" y="${pad.t - 6}">${esc(unit)}</text>`);
  for (const l of lines) {
    if (l.points.length === 0) continue;
    const d = l.points
      .map(([px, py], i) => `${i === 0 ? 'M' : 'L'}${x(px).toFixed(1)},${y(py).toFixed(1)}`)
      .join('');
    parts.push(`<path d="${d}" fill="none" stroke="${l.color}" stroke-width="1.6"/>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

export function renderReport(input: {
  machine: string;
  durationMs: number;
  workMs: number;
  capacity: number;
  elapsedS: number;
  services: { name: string; title: string; difficultyUnit: string }[];
  results: RunResult[];
  targets: Target[];
  table: string;
}): string {
  const legend = (Object.keys(LABELS) as Mode[])
    .map((m) => `<span style="color:${COLORS[m]}">&#9632; ${esc(LABELS[m])}</span>`)
    .join(' &nbsp; ');
  const met = input.targets.filter((t) => t.met).length;
  const summary = `<table><thead><tr><th>service</th><th>scenario</th><th>mode</th><th>target</th><th>result</th><th>measured</th></tr></thead><tbody>${input.targets
    .map(
      (t) =>
        `<tr class="${t.met ? 'met' : 'miss'}"><td>${esc(t.service)}</td><td>${esc(t.scenario)}</td><td>${esc(LABELS[t.mode])}</td><td>${esc(t.name)}</td><td>${t.met ? 'met' : 'NOT MET'}</td><td>${esc(t.detail)}</td></tr>`,
    )
    .join('')}</tbody></table>`;
  const sections = input.services.map((svc) => {
    const runs = input.results.filter((r) => r.service === svc.name);
    const scenarios = [...new Set(runs.map((r) => r.scenario))];
    const blocks = scenarios.map((s) => {
      const rs = runs.filter((r) => r.scenario === s);
      const about = rs[0]?.about ?? '';
      const line = (r: RunResult, points: [number, number][]): Line => ({ color: COLORS[r.mode], points });
      const charts = [
        chart(
          'honest goodput (successes/s)',
          '/s',
          rs.map((r) =>
            line(
              r,
              r.series.goodput.map((p) => [p.t, p.ok]),
            ),
          ),
        ),
        chart(
          'difficulty',
          svc.difficultyUnit,
          rs.map((r) =>
            line(
              r,
              r.series.samples.map((p) => [p.t, p.difficulty]),
            ),
          ),
        ),
        chart(
          'server RSS',
          'MB',
          rs.map((r) =>
            line(
              r,
              r.series.samples.map((p) => [p.t, p.rssMb]),
            ),
          ),
        ),
      ];
      const facts = rs
        .map(
          (r) =>
            `<li><b style="color:${COLORS[r.mode]}">${esc(LABELS[r.mode])}</b>: honest ${(r.honest.successRate * 100).toFixed(1)} % ok, goodput ${r.honest.goodput.toFixed(2)}/s (${(r.honest.goodputRatio * 100).toFixed(0)} % of baseline), p50 ${Number.isFinite(r.honest.p50Ms) ? r.honest.p50Ms.toFixed(0) : '-'} ms, p99 ${Number.isFinite(r.honest.p99Ms) ? r.honest.p99Ms.toFixed(0) : '-'} ms; attacker ${r.attacker.rps.toFixed(0)} req/s, ${r.attacker.served} served${r.shares === undefined ? '' : `, share of served ${(r.shares.served * 100).toFixed(1)} % vs hashes ${(r.shares.hashesSpent * 100).toFixed(1)} %`}; ${r.sky === undefined ? '' : `; look-ups ${r.sky.lookups.ok}/${r.sky.lookups.sent}, leases ${r.sky.leases.ok}/${r.sky.leases.sent}, challenges paid by honest nodes ${r.sky.solves}`}; server peak RSS ${r.server.peakRssMb.toFixed(1)} MB, CPU ${r.server.cpuPct.toFixed(0)} %${Object.keys(r.honest.reasons).length > 0 ? `; honest failures ${esc(JSON.stringify(r.honest.reasons))}` : ''}</li>`,
        )
        .join('');
      return `<h3>${esc(s)} <small>(${esc(about)})</small></h3><div class="charts">${charts.join('')}</div><ul>${facts}</ul>`;
    });
    return `<section><h2>${esc(svc.title)}</h2>${blocks.join('\n')}</section>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tollgate attack lab</title>
<style>
body{font-family:sans-serif;margin:2em;max-width:1400px}
pre{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:11px}
.charts{display:flex;flex-wrap:wrap;gap:10px}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:3px 6px;text-align:left}
tr.met td:nth-child(5){color:#2a7d2a}tr.miss td:nth-child(5){color:#b00020;font-weight:bold}
h3 small{font-weight:normal;color:#666}
</style></head><body>
<h1>tollgate attack lab</h1>
<p>${esc(input.machine)}; ${input.durationMs / 1000} s per run, ${input.elapsedS.toFixed(0)} s in all; protected resource: at most ${input.capacity} requests a second served, ${input.workMs} ms of server CPU each. ${legend}</p>
<h2>Targets: ${met} of ${input.targets.length} met</h2>
${summary}
<h2>All runs</h2>
<pre>${esc(input.table)}</pre>
${sections.join('\n')}
</body></html>
`;
}
