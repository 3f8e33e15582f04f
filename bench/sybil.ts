/**
 * `npm run bench:sybil` (`-- --json`: one JSON object on the last line; `-- --k 10,100` and
 * `-- --peers N --groups G` to resize): issue 10 item 5. 1,000 honest peers in 250 IPv4 /16
 * groups under a fake clock (`test/harness/sybilnet.ts`), an attacker with k machines
 * (k addresses in k/4 groups, k times one honest peer's hash power) for k = 10, 100, 1,000,
 * under four admission settings (no PoW, verification PoW, + CONN, + KEEP) with the structural
 * defences of `diversity.ts`, and the anchor: today's policy without them (first come, first
 * served; uniform choice), measured in the same run. Then the trade-off curve: KEEP price
 * against identities one machine keeps alive against honest CPU.
 *
 * Hash power is accounted as sha256-bits attempts per simulated second (not by solving):
 * the rate of one machine is measured here on the native solver (one core), and each
 * puzzle's cost is 2^bits attempts at the difficulty the real parameters give.
 */
import { diffieHellman, generateKeyPairSync, sign } from 'node:crypto';
import { parseArgs } from 'node:util';
import { getBackend } from '../src/pow/backend.js';
import {
  defaultCosts,
  KEEP_DEFAULTS,
  runSybil,
  SETTINGS,
  type Strategy,
  type SybilCosts,
  type SybilResult,
} from '../test/harness/sybilnet.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean' },
    k: { type: 'string' },
    peers: { type: 'string' },
    groups: { type: 'string' },
  },
});
const ks = (values.k ?? '10,100,1000').split(',').map(Number);
const honest = Number(values.peers ?? 1000);
const groups = Number(values.groups ?? 250);
const log = (line: string) => {
  if (!values.json) process.stderr.write(`${line}\n`);
};
const started = performance.now();

/**
 * sha256-bits attempts per CPU second of one core, on the solver the daemon uses. Per CPU
 * second, not per wall second: "1 % of one core" is CPU time, and a shared machine's load
 * would otherwise be counted as slowness of the hash.
 */
function measureHashRate(): { rate: number; wallRate: number; backend: string } {
  const backend = getBackend('auto');
  const prefix = new Uint8Array(44);
  let n = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  while (performance.now() - t0 < 1000) {
    backend.searchSha256Bits(prefix, 64, BigInt(n), 500_000);
    n += 500_000;
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { rate: n / cpuSeconds, wallRate: n / ((performance.now() - t0) / 1000), backend: backend.name };
}

/** One handshake's CPU for the attacker: an X25519 key pair and agreement, an Ed25519 signature. */
function measureHandshakeSeconds(): number {
  const id = generateKeyPairSync('ed25519');
  const peer = generateKeyPairSync('x25519');
  const rounds = 200;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < rounds; i++) {
    const eph = generateKeyPairSync('x25519');
    const secret = diffieHellman({ privateKey: eph.privateKey, publicKey: peer.publicKey });
    sign(null, secret, id.privateKey);
  }
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / 1e6 / rounds;
}

const hash = measureHashRate();
const handshakeSeconds = measureHandshakeSeconds();
const costs: SybilCosts = defaultCosts(hash.rate, Math.round(handshakeSeconds * hash.rate));
log(
  `one machine: ${(hash.rate / 1e6).toFixed(2)} M sha256-bits attempts per CPU second (${hash.backend}; ` +
    `${(hash.wallRate / 1e6).toFixed(2)} M per wall second on this machine now), ` +
    `handshake ${(handshakeSeconds * 1e3).toFixed(3)} ms = ${costs.handshakeAttempts} attempts`,
);

const STRATEGIES: readonly Strategy[] = ['identities', 'links', 'eclipse'];
const runs: SybilResult[] = [];
for (const k of ks) {
  for (const setting of SETTINGS)
    for (const strategy of STRATEGIES) {
      log(`k = ${k}: ${setting}, ${strategy}...`);
      runs.push(runSybil({ honest, groups, k, setting, strategy, structure: true, costs, seed: k }));
    }
  // The anchor: the same attacks on today's neighbour policy, with no PoW and with every PoW.
  for (const setting of ['none', 'keep'] as const)
    for (const strategy of ['links', 'eclipse'] as const) {
      log(`k = ${k}: ${setting}, ${strategy}, no structural defences...`);
      runs.push(runSybil({ honest, groups, k, setting, strategy, structure: false, costs, seed: k }));
    }
}

// Trade-off curve: KEEP price -> identities one machine keeps alive (simulated, k = 10) -> honest CPU.
const curve = [18, 20, 22, 24, 26].map((keepBits) => {
  log(`curve: keep_bits = ${keepBits}...`);
  const c = { ...costs, keepBits };
  const r = runSybil({
    honest,
    groups,
    k: 10,
    setting: 'keep',
    strategy: 'identities',
    structure: true,
    costs: c,
    seed: 5,
  });
  return {
    keepBits,
    identitiesPerMachine: r.maxIdentities / 10,
    boundPerMachine: (hash.rate * (c.keepWindowMs / 1000)) / 2 ** keepBits,
    honestKeepCpu: r.honestKeepCpu,
    honestKeepFailuresPerPeerDay:
      (Math.exp((-hash.rate * (c.honestSolveMs / 1000)) / 2 ** keepBits) * 86_400_000) / c.keepPeriodMs,
  };
});

const find = (k: number, setting: string, strategy: Strategy, structure = true) =>
  runs.find(
    (r) =>
      r.options.k === k &&
      r.options.setting === setting &&
      r.options.strategy === strategy &&
      r.options.structure === structure,
  );

// What one machine solves within one KEEP window: the most identities it can keep alive.
const keepPerMachine = (hash.rate * (costs.keepWindowMs / 1000)) / 2 ** costs.keepBits;
const at100 = (['identities', 'links', 'eclipse'] as const)
  .map((s) => find(100, 'keep', s))
  .filter((r) => r !== undefined);
const perMachine = ks.map((k) => ({
  k,
  perMachine: (find(k, 'keep', 'identities')?.maxIdentities ?? 0) / k,
}));
const targets = [
  {
    target: `identities kept alive grow at most linearly with k (<= ${keepPerMachine.toFixed(2)} per machine at the defaults)`,
    value: perMachine.map((p) => `k=${p.k}: ${p.perMachine.toFixed(2)}/machine`).join(', '),
    met: perMachine.every((p) => p.perMachine <= keepPerMachine + 1e-9),
  },
  {
    target: '0 honest peers eclipsed at k = 100 (defaults: + KEEP, structure)',
    value: at100
      .map(
        (r) =>
          `${r.options.strategy}: ${r.maxEclipsed}${r.options.strategy === 'eclipse' ? `, victim ${r.victimEclipsed ? 'eclipsed' : `kept >= ${r.victimMinHonest} honest`}` : ''}`,
      )
      .join('; '),
    met: at100.length > 0 && at100.every((r) => r.maxEclipsed === 0 && !r.victimEclipsed),
  },
  {
    target: '100 % delivery to honest subscribers at k = 100 (defaults)',
    value: at100.map((r) => `${r.options.strategy}: ${(r.minDelivery * 100).toFixed(2)} %`).join('; '),
    met: at100.length > 0 && at100.every((r) => r.minDelivery === 1),
  },
  {
    target: 'KEEP costs an honest peer <= 1 % of one core (defaults)',
    value: `${((2 ** costs.keepBits / (hash.rate * (costs.keepPeriodMs / 1000))) * 100).toFixed(3)} % at ${(hash.rate / 1e6).toFixed(2)} M attempts/s`,
    met: 2 ** costs.keepBits / (hash.rate * (costs.keepPeriodMs / 1000)) <= 0.01,
  },
];

// What a held link costs per hour, attacker (KEEP, links strategy, k = 100) vs an honest peer.
const linksRun = find(100, 'keep', 'links');
const honestPerHour = (3_600_000 / costs.keepPeriodMs) * 2 ** costs.keepBits;
const honestLinks = linksRun?.honestLinksPerPeer ?? Number.NaN;
const perLink = {
  honestLinksPerPeer: honestLinks,
  honestKeepAttemptsPerLinkHour: honestPerHour / honestLinks,
  attackerAttemptsPerLinkHour: linksRun?.attackerAttemptsPerLinkHour ?? Number.NaN,
  attackerCoreSecondsPerLinkHour: (linksRun?.attackerAttemptsPerLinkHour ?? Number.NaN) / hash.rate,
  attackerFloorAttemptsPerLinkHour: honestPerHour / KEEP_DEFAULTS.maxKeepChalls,
  honestKeepAttemptsPerHour: honestPerHour,
  honestKeepCoreSecondsPerHour: honestPerHour / hash.rate,
};
const wallMs = performance.now() - started;

if (values.json) {
  console.log(
    JSON.stringify({
      hashRate: hash.rate,
      wallHashRate: hash.wallRate,
      backend: hash.backend,
      handshakeSeconds,
      costs,
      honest,
      groups,
      runs,
      curve,
      perLink,
      targets,
      wallMs,
    }),
  );
} else {
  const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
  const rows = runs.map((r) => {
    const s = (min: number) => r.samples.find((x) => x.at === min * 60_000);
    return [
      String(r.options.k),
      r.options.setting + (r.options.structure ? '' : ' (anchor: no structure)'),
      r.options.strategy,
      `${s(10)?.identities ?? '-'} / ${s(30)?.identities ?? '-'} / ${s(60)?.identities ?? '-'}`,
      `${s(10)?.links ?? '-'} / ${s(30)?.links ?? '-'} / ${s(60)?.links ?? '-'}`,
      String(r.maxEclipsed),
      r.options.strategy === 'eclipse'
        ? `${r.victimEclipsed ? 'ECLIPSED' : 'no'} (>= ${r.victimMinHonest} honest, <= ${r.victimMaxAttackerLinks} attacker)`
        : '',
      pct(r.minDelivery),
      pct(r.honestKeepCpu),
      pct(r.honestAdmissionCpu),
      r.attackerAttemptsPerLinkHour.toExponential(2),
    ];
  });
  const header = [
    'k',
    'setting',
    'attack',
    'identities 10/30/60 min',
    'links 10/30/60 min',
    'eclipsed (max)',
    'victim',
    'delivery (min)',
    'honest KEEP CPU',
    'honest verif+CONN CPU',
    'attacker attempts/link-hour',
  ];
  const table = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  for (const r of table) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  console.log('');
  console.log(
    'trade-off (k = 10, attack: identities): keep_bits  identities/machine (sim / bound)  honest KEEP CPU  honest KEEP misses/peer/day',
  );
  for (const c of curve)
    console.log(
      `  ${c.keepBits}  ${c.identitiesPerMachine.toFixed(1)} / ${c.boundPerMachine.toFixed(1)}  ${pct(c.honestKeepCpu)}  ${c.honestKeepFailuresPerPeerDay.toPrecision(2)}`,
    );
  console.log('');
  console.log(
    `per held link per hour: attacker ${perLink.attackerAttemptsPerLinkHour.toExponential(2)} attempts ` +
      `(${perLink.attackerCoreSecondsPerLinkHour.toFixed(2)} core-s; floor ${perLink.attackerFloorAttemptsPerLinkHour.toExponential(2)} with ${KEEP_DEFAULTS.maxKeepChalls} links per identity); ` +
      `honest peer KEEP ${perLink.honestKeepAttemptsPerHour.toExponential(2)} attempts/h (${perLink.honestKeepCoreSecondsPerHour.toFixed(1)} core-s) for all its ${honestLinks.toFixed(1)} links, ` +
      `${perLink.honestKeepAttemptsPerLinkHour.toExponential(2)} per link-hour`,
  );
  console.log('');
  for (const t of targets) console.log(`${t.met ? 'MET    ' : 'NOT MET'}  ${t.target}: ${t.value}`);
  console.log(`\nwall time ${(wallMs / 1000).toFixed(1)} s`);
}
