/**
 * The attack benchmark's HTML report: one self-contained page (no scripts, no external
 * files) with, per scenario, SVG charts of honest latency, server difficulty and RSS, and
 * attacker rate over time, one line per mode.
 */
import type { RunResult, Target } from '../attack.js';

const COLORS: Record<string, string> = { stateless: '#1f77b4', reference: '#d62728', nopow: '#7f7f7f' };
const LABELS: Record<string, string> = {
  stateless: '(a) ours',
  reference: '(b) reference',
  nopow: '(c) no PoW',
};

interface Line {
  name: string;
  color: string;
  points: [number, number][];
  dots?: boolean;
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

function chart(title: string, unit: string, lines: Line[], w = 360, h = 200): string {
  const pad = { l: 48, r: 10, t: 24, b: 28 };
  const all = lines.flatMap((l) => l.points);
  const xMax = niceMax(Math.max(1, ...all.map((p) => p[0])));
  const yMax = niceMax(Math.max(0, ...all.map((p) => p[1])));
  const x = (v: number) => pad.l + (v / xMax) * (w - pad.l - pad.r);
  const y = (v: number) => h - pad.b - (v / yMax) * (h - pad.t - pad.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="10" role="img">`,
    `<title>${esc(title)}</title>`,
    `<text x="${w / 2}" y="14" text-anchor="middle" font-size="12">${esc(title)}</text>`,
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
  parts.push(`<text x="${w - pad.r}" y="${h - 4}" text-anchor="end">time (s)</text>`);
  parts.push(`<text x="4" y="${pad.t - 8}">${esc(unit)}</text>`);
  for (const l of lines) {
    if (l.points.length === 0) continue;
    if (l.dots) {
      for (const [px, py] of l.points) {
        parts.push(
          `<circle cx="${x(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="1.8" fill="${l.color}" fill-opacity="0.7"/>`,
        );
      }
    } else {
      const d = l.points
        .map(([px, py], i) => `${i === 0 ? 'M' : 'L'}${x(px).toFixed(1)},${y(py).toFixed(1)}`)
        .join('');
      parts.push(`<path d="${d}" fill="none" stroke="${l.color}" stroke-width="1.5"/>`);
    }
  }
  parts.push('</svg>');
  return parts.join('');
}

export function renderReport(input: {
  machine: string;
  durationMs: number;
  results: RunResult[];
  targets: Target[];
  table: string;
}): string {
  const scenarios = [...new Set(input.results.map((r) => r.scenario))];
  const legend = Object.entries(LABELS)
    .map(([m, l]) => `<span style="color:${COLORS[m]}">&#9632; ${esc(l)}</span>`)
    .join(' &nbsp; ');
  const sections = scenarios.map((s) => {
    const runs = input.results.filter((r) => r.scenario === s);
    const line = (r: RunResult, points: [number, number][], dots = false): Line => ({
      name: r.mode,
      color: COLORS[r.mode] ?? '#000',
      points,
      dots,
    });
    const charts = [
      chart(
        'honest latency (successful gets)',
        'ms',
        runs.map((r) =>
          line(
            r,
            r.series.honest.filter((o) => o.ok).map((o) => [o.t, o.ms]),
            true,
          ),
        ),
      ),
      chart(
        'difficulty of new puzzles',
        'hex digits',
        runs.map((r) =>
          line(
            r,
            r.series.samples.map((p) => [p.t, p.difficulty]),
          ),
        ),
      ),
      chart(
        'attacker requests',
        'req/s',
        runs.map((r) =>
          line(
            r,
            r.series.attacker.map((p) => [p.t, p.requests]),
          ),
        ),
      ),
      chart(
        'server RSS',
        'MB',
        runs.map((r) =>
          line(
            r,
            r.series.samples.map((p) => [p.t, p.rssMb]),
          ),
        ),
      ),
    ];
    const checks = input.targets
      .filter((t) => t.scenario === s)
      .map(
        (t) =>
          `<li class="${t.met ? 'met' : 'miss'}">${t.met ? 'met' : 'NOT MET'}: ${esc(t.name)} (${esc(t.detail)})</li>`,
      )
      .join('');
    return `<section><h2>${esc(s)}</h2><div class="charts">${charts.join('')}</div><ul>${checks}</ul></section>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tollgate powtcp attack benchmark</title>
<style>
body{font-family:sans-serif;margin:2em;max-width:1600px}
pre{background:#f6f6f6;padding:1em;overflow-x:auto}
.charts{display:flex;flex-wrap:wrap;gap:12px}
.met{color:#2a7d2a}.miss{color:#b00020;font-weight:bold}
</style></head><body>
<h1>powtcp attack benchmark</h1>
<p>${esc(input.machine)}; ${input.durationMs / 1000} s per run. ${legend}</p>
<pre>${esc(input.table)}</pre>
${sections.join('\n')}
</body></html>
`;
}
