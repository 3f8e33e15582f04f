/**
 * `npm run bench:punch [-- --json] [-- --quick]` (issue 11 item 3): hole punching between two
 * earth nodes behind NATs of each pair of kinds, in network namespaces made here (see
 * bench/punch/netns.ts), coordinated by a sky node. Prints success per pair over N tries and
 * the time to connect (PUNCH request to delivered message, including the sky node's
 * `punchDelayMs` of 200 ms); for pairs where punching fails, a second run with the fallback
 * on shows the relay through an earth node both reach (the recipient's holder), never the sky
 * node. Target: 100 % over 20 tries where neither side is symmetric.
 */
import { NAT_KINDS, type NatKind, NatLab, netnsUnavailable } from './punch/netns.js';
import { type PunchTry, punchPair } from './punch/run.js';

const argv = process.argv.slice(2);
const json = argv.includes('--json');
const quick = argv.includes('--quick');
const tries = quick ? 5 : 20;
const fallbackTries = quick ? 2 : 5;
const punchMs = 1_500;
const log = (s: string) => {
  if (!json) process.stderr.write(`${s}\n`);
};

interface Row {
  a: NatKind;
  b: NatKind;
  tries: number;
  ok: number;
  p50Ms: number | null;
  maxMs: number | null;
  fallback?: { tries: number; ok: number; via: string[] };
}

const median = (xs: number[]) =>
  xs.length === 0 ? null : [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const why = netnsUnavailable();
  if (why !== undefined) {
    process.stdout.write(`bench:punch cannot run here: ${why}\n`);
    process.stdout.write(`${JSON.stringify({ skipped: why })}\n`);
    process.exit(0);
  }
  const lab = new NatLab();
  const rows: Row[] = [];
  lab.up();
  try {
    for (let i = 0; i < NAT_KINDS.length; i++) {
      for (let j = i; j < NAT_KINDS.length; j++) {
        const a = NAT_KINDS[i]!;
        const b = NAT_KINDS[j]!;
        const r: PunchTry[] = await punchPair(lab, a, b, tries, punchMs, false);
        const ms = r.filter((t) => t.ok).map((t) => t.ms!);
        const row: Row = {
          a,
          b,
          tries: r.length,
          ok: ms.length,
          p50Ms: median(ms),
          maxMs: ms.length ? Math.max(...ms) : null,
        };
        if (ms.length < r.length) {
          const f = await punchPair(lab, a, b, fallbackTries, punchMs, true);
          row.fallback = {
            tries: f.length,
            ok: f.filter((t) => t.ok).length,
            via: [...new Set(f.map((t) => `${t.via ?? t.code}/${t.status ?? ''}`))],
          };
        }
        log(
          `  ${a} x ${b}: ${row.ok}/${row.tries}${row.fallback ? `, fallback ${row.fallback.ok}/${row.fallback.tries} ${row.fallback.via.join(',')}` : ''}`,
        );
        rows.push(row);
      }
    }
  } finally {
    lab.down();
  }
  if (!json) {
    const lines = [
      '',
      `| NAT a | NAT b | punched (of ${tries}) | time to connect p50 / max (ms) | fallback: relayed through an earth node | target |`,
      '| --- | --- | --- | --- | --- | --- |',
      ...rows.map((r) => {
        const symmetric = r.a === 'apdm' || r.b === 'apdm';
        const target = symmetric
          ? `documented outcome: ${r.fallback && r.fallback.ok === r.fallback.tries ? 'met (relay)' : 'NOT met'}`
          : `100 %: ${r.ok === r.tries ? 'met' : 'NOT met'}`;
        return `| ${r.a} | ${r.b} | ${((100 * r.ok) / r.tries).toFixed(0)} % (${r.ok}/${r.tries}) | ${r.p50Ms?.toFixed(0) ?? '-'} / ${r.maxMs?.toFixed(0) ?? '-'} | ${r.fallback ? `${r.fallback.ok}/${r.fallback.tries} (${r.fallback.via.join(', ')})` : '-'} | ${target} |`;
      }),
      '',
      'anchor: libp2p DCUtR, 70 % success in the wild (published measurement), not rerun here.',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  process.stdout.write(`${JSON.stringify({ tries, punchMs, rows })}\n`);
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
