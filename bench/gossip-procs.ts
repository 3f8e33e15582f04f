/**
 * bench:gossip part (b): a bootstrapper and 10 `tollgate gossip` processes on loopback (TCP +
 * secure channel), one subscribed API client per peer in this process. Measures ANNOUNCE ->
 * NOTIFICATION latency at every other peer, then the highest announce rate one peer sustains
 * (every item reaches every subscriber, p99 latency under `SUSTAIN_P99_MS`, issue 12's target).
 * Every peer serves its metrics (`--metrics 127.0.0.1:0`); at the end the items each peer
 * dropped, by reason, and its other refusals are read from there and summed, so that a loss
 * shows its cause (issue 12 item 5: no silent loss).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GossipApiClient } from '../src/services/gossip/api-client.js';
import { writeTestbed } from '../src/services/gossip/testbed.js';
import { quantile } from './gossip-sim.js';

const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
export const SUSTAIN_P99_MS = 100;
const SETTLE_QUIET_MS = 3_000;
const SETTLE_MAX_MS = 30_000;
/** Announce rates tried in turn (items per second from one peer, 2 s each) until one fails. */
export const RATES = [100, 250, 500, 1000, 1500, 2000, 3000, 4000];

export interface ProcResult {
  readonly peers: number;
  readonly degree: number;
  readonly latencyItems: number;
  readonly deliveryRatio: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly sustainedRate: number;
  readonly rates: readonly {
    rate: number;
    delivered: number;
    expected: number;
    p99Ms: number;
    /**
     * CPU time (user + system) the peer processes spent during the run of this rate, per item
     * announced and per peer: less sensitive to a shared machine than latency is.
     */
    cpuUsPerItemPerPeer: number | undefined;
    /** Links opened (over all peers) while this rate ran: churn of the overlay. */
    linksOpened: number;
  }[];
  /** How long the overlay took to stop opening links before the runs. */
  readonly settleMs: number;
  /** Summed over the peers from their /metrics: items dropped and other refusals, by reason. */
  readonly itemsDropped: Readonly<Record<string, number>>;
  readonly rejections: Readonly<Record<string, number>>;
  /** Items delivered to local subscribers (NOTIFICATIONs sent), summed over the peers. */
  readonly notified: number;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); undefined elsewhere. */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
    return ticks / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** Linux's USER_HZ, the unit of /proc/<pid>/stat times (100 on every common build). */
const CLOCK_TICKS = 100;

/** Sums `<metric>{reason="X"} n` lines of Prometheus text by reason into `into`. */
function sumByReason(text: string, metric: string, into: Record<string, number>): void {
  const re = new RegExp(`^${metric}\\{reason="([A-Z0-9_]+)"\\} (\\d+(?:\\.\\d+)?(?:e\\+\\d+)?)$`, 'gm');
  for (const m of text.matchAll(re)) into[m[1]!] = (into[m[1]!] ?? 0) + Number(m[2]);
}

function metricValue(text: string, metric: string): number {
  const m = text.match(new RegExp(`^${metric} (\\d+(?:\\.\\d+)?(?:e\\+\\d+)?)$`, 'm'));
  return m === null ? 0 : Number(m[1]);
}

interface Started {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  /** Everything the process wrote to stdout so far. */
  readonly output: () => string;
  /** Where the process serves /metrics, once it said so. */
  metrics(): string | undefined;
  /** The API port a peer bound, once it said so. */
  apiPort(): number | undefined;
}

function start(args: string[], nodeArgs: readonly string[] = []): Started {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', cli, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (/listening on|neighbours [1-9]/.test(out)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${err}`)));
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  return {
    child,
    ready,
    output: () => out,
    metrics: () => (out + err).match(/metrics on (http:\/\/\S+\/metrics)/)?.[1],
    apiPort: () => {
      const m = out.match(/gossip peer \w+ p2p \S+ api \S+:(\d+)/);
      return m === null ? undefined : Number(m[1]);
    },
  };
}

/** `profileDir`: the peers run with `--cpu-prof` and write their profiles there on exit. */
export async function runProcs(
  peers = 10,
  degree = 6,
  profileDir?: string,
  rateList: readonly number[] = RATES,
): Promise<ProcResult> {
  const nodeArgs = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-gossip-'));
  const children: ChildProcess[] = [];
  const clients: GossipApiClient[] = [];
  const subs: ChildProcess[] = [];
  let settleMs = 0;
  try {
    const bed = await writeTestbed(dir, {
      peers,
      powBits: 16,
      degree,
      cacheSize: 2000,
      extra: 'heartbeat_ms = 50',
    });
    const boot = start(['bootstrap', '--config', bed.bootstrapIni]);
    children.push(boot.child);
    await boot.ready;
    // Every port is bound as port 0 and read back (a port chosen ahead could be taken by then,
    // e.g. by another peer's metrics server): the testbed's peers listen on port 0, and their
    // INIs name the port the bootstrapper bound.
    const bootAt = /listening on (\S+)/.exec(boot.output())![1]!;
    const procs = bed
      .writePeers(bootAt)
      .map((ini) => start(['gossip', '--config', ini, '--metrics', '127.0.0.1:0'], nodeArgs));
    children.push(...procs.map((p) => p.child));
    await Promise.all(procs.map((p) => p.ready));
    // Let the overlay settle: no link opened anywhere for SETTLE_QUIET_MS (bounded by
    // SETTLE_MAX_MS). Links still forming during a run lose the items sent on the ones that
    // close again (duplicate links) and make the repair path, not spreading, set the p99.
    const linksOpened = async (): Promise<number> => {
      let n = 0;
      for (const p of procs) {
        const url = p.metrics();
        if (url !== undefined)
          n += metricValue(await (await fetch(url)).text(), 'tollgate_gossip_links_opened_total');
      }
      return n;
    };
    const settleStart = performance.now();
    let opened = await linksOpened();
    let quietSince = performance.now();
    while (
      performance.now() - quietSince < SETTLE_QUIET_MS &&
      performance.now() - settleStart < SETTLE_MAX_MS
    ) {
      await new Promise((r) => setTimeout(r, 500));
      const now = await linksOpened();
      if (now !== opened) {
        opened = now;
        quietSince = performance.now();
      }
    }
    settleMs = performance.now() - settleStart;

    const sentAt = new Map<number, number>();
    const arrivals = new Map<number, number[]>();
    const apiPorts = procs.map((p) => {
      const port = p.apiPort();
      if (port === undefined) throw new Error('a peer did not report its API port');
      return port;
    });
    // Each peer's module runs in its own process (bench/gossip-sub.ts) and stamps arrivals
    // itself, so the bench's own event loop is not in the path of any hop.
    const sub = fileURLToPath(new URL('./gossip-sub.ts', import.meta.url));
    for (const port of apiPorts.slice(1)) {
      const child = spawn(process.execPath, ['--import', 'tsx', sub, String(port)], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      subs.push(child);
      let buffered = '';
      const subscribed = new Promise<void>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`a module exited with ${code}`)));
        child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
          buffered += chunk;
          const end = buffered.lastIndexOf('\n');
          if (end < 0) return;
          for (const line of buffered.slice(0, end).split('\n')) {
            if (line === 'subscribed') {
              resolve();
              continue;
            }
            const [seqText, atText] = line.split(' ');
            const seq = Number(seqText);
            const t = sentAt.get(seq);
            if (t === undefined) continue;
            let list = arrivals.get(seq);
            if (list === undefined) {
              list = [];
              arrivals.set(seq, list);
            }
            list.push(Number(atText) - t);
          }
          buffered = buffered.slice(end + 1);
        });
      });
      await subscribed;
    }
    const announcer = await GossipApiClient.connect({ host: '127.0.0.1', port: apiPorts[0]! });
    clients.push(announcer);
    await new Promise((r) => setTimeout(r, 300));
    let seq = 0;
    const announce = () => {
      const data = Buffer.alloc(64);
      data.writeUInt32BE(seq);
      sentAt.set(seq, performance.timeOrigin + performance.now());
      announcer.announce(7, data, 0);
      return seq++;
    };
    const peerCpu = (): number | undefined => {
      let total = 0;
      for (const p of procs) {
        const c = cpuSeconds(p.child.pid);
        if (c === undefined) return undefined;
        total += c;
      }
      return total;
    };
    const measure = async (count: number, perSecond: number) => {
      const cpu0 = peerCpu();
      const links0 = await linksOpened();
      const first = seq;
      const gap = 1000 / perSecond;
      const t0 = performance.now();
      for (let i = 0; i < count; i++) {
        announce();
        const wait = t0 + (i + 1) * gap - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const expected = count * (peers - 1);
      const until = performance.now() + 3_000;
      const got = () => {
        let n = 0;
        for (let s = first; s < seq; s++) n += arrivals.get(s)?.length ?? 0;
        return n;
      };
      while (got() < expected && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
      const lat: number[] = [];
      for (let s = first; s < seq; s++) lat.push(...(arrivals.get(s) ?? []));
      lat.sort((a, b) => a - b);
      const cpu1 = peerCpu();
      const linksDuring = (await linksOpened()) - links0;
      const cpuUsPerItemPerPeer =
        cpu0 === undefined || cpu1 === undefined ? undefined : ((cpu1 - cpu0) * 1e6) / count / peers;
      return { delivered: got(), expected, lat, cpuUsPerItemPerPeer, linksDuring };
    };
    // Latency at a gentle rate: 20 items/s.
    const gentle = await measure(100, 20);
    const rates: ProcResult['rates'][number][] = [];
    let sustainedRate = 0;
    for (const rate of rateList) {
      const r = await measure(Math.round(rate * 2), rate);
      const p99 = quantile(r.lat, 0.99);
      rates.push({
        rate,
        delivered: r.delivered,
        expected: r.expected,
        p99Ms: p99,
        cpuUsPerItemPerPeer: r.cpuUsPerItemPerPeer,
        linksOpened: r.linksDuring,
      });
      if (r.delivered === r.expected && p99 <= SUSTAIN_P99_MS) sustainedRate = rate;
      else if (rateList === RATES) break;
    }
    const itemsDropped: Record<string, number> = {};
    const rejections: Record<string, number> = {};
    let notified = 0;
    for (const p of procs) {
      const url = p.metrics();
      if (url === undefined) continue;
      const text = await (await fetch(url)).text();
      sumByReason(text, 'tollgate_gossip_items_dropped_total', itemsDropped);
      sumByReason(text, 'tollgate_gossip_rejections_total', rejections);
      // The secure channel under the links reports its own reasons (a link it closes).
      sumByReason(text, 'tollgate_secure_rejections_total', rejections);
      notified += metricValue(text, 'tollgate_gossip_notified_total');
    }
    return {
      settleMs,
      itemsDropped,
      rejections,
      notified,
      peers,
      degree,
      latencyItems: 100,
      deliveryRatio: gentle.delivered / gentle.expected,
      latencyP50Ms: quantile(gentle.lat, 0.5),
      latencyP99Ms: quantile(gentle.lat, 0.99),
      sustainedRate,
      rates,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    for (const child of subs) child.stdin?.end();
    await Promise.all(
      subs.map((child) =>
        child.exitCode !== null
          ? undefined
          : new Promise<void>((resolve) => child.once('exit', () => resolve())),
      ),
    );
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  }
}
