/**
 * Prometheus metrics of the powtcp service, in the text exposition format 0.0.4, written by
 * hand: a handful of counters and gauges with one bounded label (the reason code), which a
 * few dozen lines serve without a dependency; prom-client would add a registry, default
 * collectors and a histogram library that nothing here uses.
 *
 * The process's own RSS and CPU time are exported too (`process_resident_memory_bytes`,
 * `process_cpu_seconds_total`, the names prom-client uses), so that the attack benchmark
 * measures the server from inside the server process.
 */
import { createServer, type Server } from 'node:http';
import type { Endpoint } from '../../admission/endpoint.js';
import { TollgateError } from '../../util/errors.js';

export class PowtcpMetrics {
  puzzlesIssued = 0;
  solutionsAccepted = 0;
  rateLimited = 0;
  connectionsOpened = 0;
  openConnections = 0;
  difficulty = 0;
  /** Rejections by reason code; the codes are a fixed set, so the label set is bounded. */
  readonly rejections = new Map<string, number>();
  /** Extra gauges set by the server (e.g. puzzles kept by the reference mode). */
  readonly gauges = new Map<string, { help: string; value: () => number }>();
  private lastMemory: NodeJS.MemoryUsage = {
    rss: 0,
    heapTotal: 0,
    heapUsed: 0,
    external: 0,
    arrayBuffers: 0,
  };

  reject(code: string): void {
    this.rejections.set(code, (this.rejections.get(code) ?? 0) + 1);
    if (code === 'ERR_RATE_LIMITED') this.rateLimited++;
  }

  render(): string {
    const lines: string[] = [];
    const one = (name: string, type: 'counter' | 'gauge', help: string, value: number) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
    };
    one('tollgate_powtcp_puzzles_issued_total', 'counter', 'Puzzles sent in 2: replies.', this.puzzlesIssued);
    one(
      'tollgate_powtcp_solutions_accepted_total',
      'counter',
      'Solutions accepted and answered with a quote.',
      this.solutionsAccepted,
    );
    lines.push(
      '# HELP tollgate_powtcp_rejections_total Requests refused or connections closed, by reason code.',
      '# TYPE tollgate_powtcp_rejections_total counter',
    );
    for (const [code, n] of [...this.rejections].sort()) {
      lines.push(`tollgate_powtcp_rejections_total{reason="${code}"} ${n}`);
    }
    one(
      'tollgate_powtcp_rate_limited_total',
      'counter',
      'Requests refused by the per-address rate limit.',
      this.rateLimited,
    );
    one(
      'tollgate_powtcp_difficulty',
      'gauge',
      'Difficulty of new puzzles, in leading hex zeros.',
      this.difficulty,
    );
    one('tollgate_powtcp_open_connections', 'gauge', 'Open client connections.', this.openConnections);
    one(
      'tollgate_powtcp_connections_total',
      'counter',
      'Client connections accepted.',
      this.connectionsOpened,
    );
    for (const [name, g] of this.gauges) one(name, 'gauge', g.help, g.value());
    const usage = process.cpuUsage();
    one(
      'process_cpu_seconds_total',
      'counter',
      'User and system CPU time of this process in seconds.',
      (usage.user + usage.system) / 1e6,
    );
    // Reading RSS opens /proc/self/statm: out of file descriptors (a connection flood) it throws
    // EMFILE, and a metrics scrape must never take the server down; report the last reading.
    let mem = this.lastMemory;
    try {
      mem = process.memoryUsage();
      this.lastMemory = mem;
    } catch {}
    one('process_resident_memory_bytes', 'gauge', 'Resident memory of this process in bytes.', mem.rss);
    one('nodejs_heap_size_total_bytes', 'gauge', 'V8 heap size in bytes.', mem.heapTotal);
    one('nodejs_heap_size_used_bytes', 'gauge', 'V8 heap in use in bytes.', mem.heapUsed);
    one(
      'nodejs_external_memory_bytes',
      'gauge',
      'Memory outside the V8 heap (buffers) in bytes.',
      mem.external,
    );
    return `${lines.join('\n')}\n`;
  }
}

/** Serves `GET /metrics` on `at`; resolves with the bound endpoint. */
export function serveMetrics(
  metrics: PowtcpMetrics,
  at: Endpoint,
): Promise<{ server: Server; address: Endpoint }> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url === '/' || req.url === '/metrics?gc=1')) {
      // A benchmark that started the server with --expose-gc asks for a full collection
      // first, so that it reads retained memory rather than garbage not yet collected.
      const gc = (globalThis as { gc?: () => void }).gc;
      if (req.url === '/metrics?gc=1' && gc !== undefined) gc();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(metrics.render());
    } else {
      res.writeHead(404).end();
    }
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 5_000;
  server.requestTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once('error', (err) =>
      reject(
        new TollgateError('ERR_LISTEN_FAILED', `cannot listen on ${at.host}:${at.port}: ${err.message}`),
      ),
    );
    server.listen(at.port, at.host, () => {
      const a = server.address();
      if (typeof a !== 'object' || a === null) return reject(new Error('metrics server has no address'));
      resolve({ server, address: { host: a.address, port: a.port } });
    });
  });
}
