/**
 * bench:gossip part (b)'s anchor, measured in the same run: what plain `node:net` does on this
 * machine right now with the same shape of network. 10 processes, each linked to about 6
 * others over loopback TCP, flood every item once to every neighbour (duplicates dropped by
 * sequence number) and hand it to one local subscriber over a second TCP connection. No secure
 * channel, no PoW, no validation round trip, no engine: a floor for our figures, so that a
 * shared, loaded machine shows in both at once.
 *
 * Run as `node --import tsx bench/gossip-anchor.ts peer` for one peer process (spawned by
 * `runAnchor`): it prints `ports <mesh> <api>`, reads `dial <port>,...` on stdin, and exits
 * when stdin closes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { quantile } from './gossip-sim.js';

/** One item on the wire: u32 sequence number, 64 bytes of data (bench:gossip's item size). */
const RECORD = 68;

export interface AnchorRate {
  readonly rate: number;
  readonly delivered: number;
  readonly expected: number;
  readonly p99Ms: number;
  readonly cpuUsPerItemPerPeer: number | undefined;
}

/** Splits a stream into fixed-size records, whatever the chunk boundaries. */
function records(socket: Socket, onRecord: (r: Buffer) => void): void {
  let rest = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    const buf = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
    let o = 0;
    for (; o + RECORD <= buf.length; o += RECORD) onRecord(buf.subarray(o, o + RECORD));
    rest = Buffer.from(buf.subarray(o));
  });
}

function peerMain(): void {
  const links: Socket[] = [];
  const seen = new Set<number>();
  let subscriber: Socket | undefined;
  const flood = (r: Buffer, from: Socket | undefined) => {
    const seq = r.readUInt32BE(0);
    if (seen.has(seq)) return;
    seen.add(seq);
    const copy = Buffer.from(r);
    subscriber?.write(copy);
    for (const l of links) if (l !== from) l.write(copy);
  };
  const adopt = (s: Socket) => {
    s.setNoDelay(true);
    links.push(s);
    records(s, (r) => flood(r, s));
    s.on('error', () => {});
  };
  const mesh = createServer(adopt);
  const api = createServer((s) => {
    s.setNoDelay(true);
    subscriber = s;
    // Announcements come in on the same connection (the bench's announcer).
    records(s, (r) => flood(r, undefined));
    s.on('error', () => {});
  });
  mesh.listen(0, '127.0.0.1', () =>
    api.listen(0, '127.0.0.1', () => {
      const port = (srv: typeof mesh) => (srv.address() as { port: number }).port;
      process.stdout.write(`ports ${port(mesh)} ${port(api)}\n`);
    }),
  );
  let line = '';
  process.stdin.setEncoding('utf8').on('data', (chunk: string) => {
    line += chunk;
    const m = line.match(/^dial ([\d,]*)\n/);
    if (m === null) return;
    line = '';
    for (const p of m[1]!.split(',').filter(Boolean)) adopt(connect(Number(p), '127.0.0.1'));
    process.stdout.write('dialled\n');
  });
  process.stdin.on('end', () => process.exit(0));
}

function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

function waitLine(child: ChildProcess, pattern: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: string) => {
      out += chunk;
      const m = out.match(pattern);
      if (m !== null) {
        child.stdout!.off('data', onData);
        resolve(m);
      }
    };
    child.stdout!.setEncoding('utf8').on('data', onData);
    child.once('exit', (code) => reject(new Error(`anchor peer exited with ${code}`)));
  });
}

/** Runs the anchor network at each rate (2 s each, as part (b) does). */
export async function runAnchor(
  peers: number,
  degree: number,
  rates: readonly number[],
): Promise<AnchorRate[]> {
  const self = fileURLToPath(import.meta.url);
  const children = Array.from({ length: peers }, () =>
    spawn(process.execPath, ['--import', 'tsx', self, 'peer'], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  const sockets: Socket[] = [];
  try {
    const ports = await Promise.all(
      children.map(async (c) => {
        const m = await waitLine(c, /ports (\d+) (\d+)\n/);
        return { mesh: Number(m[1]), api: Number(m[2]) };
      }),
    );
    // A ring (connected) plus chords: each peer dials degree / 2 others, about `degree` links each.
    for (let i = 0; i < peers; i++) {
      const targets = new Set<number>();
      for (let k = 1; targets.size < Math.min(degree / 2, peers - 1); k++) targets.add((i + k * k) % peers);
      targets.delete(i);
      const dialled = waitLine(children[i]!, /dialled\n/);
      children[i]!.stdin!.write(`dial ${[...targets].map((t) => ports[t]!.mesh).join(',')}\n`);
      await dialled;
    }
    const sentAt = new Map<number, number>();
    const arrivals: number[][] = [];
    for (let i = 0; i < peers; i++) {
      const s = connect(ports[i]!.api, '127.0.0.1');
      s.setNoDelay(true);
      sockets.push(s);
      await new Promise((r) => s.once('connect', r));
      if (i === 0) continue;
      records(s, (r) => {
        const seq = r.readUInt32BE(0);
        const t = sentAt.get(seq);
        if (t === undefined) return;
        const list = arrivals[seq] ?? [];
        arrivals[seq] = list;
        list.push(performance.now() - t);
      });
    }
    await new Promise((r) => setTimeout(r, 500));
    const announcer = sockets[0]!;
    let seq = 0;
    const results: AnchorRate[] = [];
    const cpu = () => {
      let total = 0;
      for (const c of children) {
        const s = cpuSeconds(c.pid);
        if (s === undefined) return undefined;
        total += s;
      }
      return total;
    };
    for (const rate of rates) {
      const count = rate * 2;
      const first = seq;
      const cpu0 = cpu();
      const t0 = performance.now();
      for (let i = 0; i < count; i++) {
        const r = Buffer.alloc(RECORD);
        r.writeUInt32BE(seq);
        sentAt.set(seq, performance.now());
        announcer.write(r);
        seq++;
        const wait = t0 + ((i + 1) * 1000) / rate - performance.now();
        if (wait > 0) await new Promise((res) => setTimeout(res, wait));
      }
      const expected = count * (peers - 1);
      const got = () => {
        let n = 0;
        for (let s = first; s < seq; s++) n += arrivals[s]?.length ?? 0;
        return n;
      };
      const until = performance.now() + 3_000;
      while (got() < expected && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
      const cpu1 = cpu();
      const lat: number[] = [];
      for (let s = first; s < seq; s++) lat.push(...(arrivals[s] ?? []));
      lat.sort((a, b) => a - b);
      results.push({
        rate,
        delivered: got(),
        expected,
        p99Ms: quantile(lat, 0.99),
        cpuUsPerItemPerPeer:
          cpu0 === undefined || cpu1 === undefined ? undefined : ((cpu1 - cpu0) * 1e6) / count / peers,
      });
    }
    return results;
  } finally {
    for (const s of sockets) s.destroy();
    for (const c of children) c.stdin?.end();
    await Promise.all(
      children.map((c) =>
        c.exitCode !== null ? undefined : new Promise<void>((resolve) => c.once('exit', () => resolve())),
      ),
    );
  }
}

if (process.argv[2] === 'peer') peerMain();
