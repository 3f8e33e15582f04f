import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { EVENTS, GAUGES, type Service } from '../util/codes.js';
import { TollgateError } from '../util/errors.js';
import {
  type LogFields,
  type LogLevel,
  type ObserveMessage,
  sampledGauges,
  subscribe,
} from '../util/observe.js';

/**
 * The edge subscribers of the one observability mechanism (src/util/observe.ts), offered by
 * every daemon through the same flags: `--json-logs` (one JSON object a line, else short text
 * lines), `--log-level`, and `--metrics HOST:PORT` (Prometheus text at `/metrics`).
 *
 * Metrics use prom-client: it keeps the exposition format right (escaping, TYPE/HELP, content
 * type) and supplies the standard process collectors (`process_resident_memory_bytes`,
 * `process_cpu_seconds_total`, which the attack lab reads from inside the server), which a
 * hand-written renderer would have to keep up with by hand.
 */
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function isLogLevel(value: string): value is LogLevel {
  return Object.hasOwn(RANK, value);
}

export interface ObservabilityOptions {
  /** The services whose counters and gauges are exported (each at 0 until it counts). */
  readonly services: readonly Service[];
  readonly jsonLogs?: boolean;
  readonly logLevel?: LogLevel;
  /** Where to serve `/metrics`; omitted: no metrics server. */
  readonly metrics?: { readonly host: string; readonly port: number };
  /** Where log lines go; default stderr (stdout is for a command's result). */
  readonly write?: (line: string) => void;
  readonly now?: () => number;
}

export interface Observability {
  /** The bound metrics address (port 0 resolved), when serving metrics. */
  readonly metricsAddress: { readonly host: string; readonly port: number } | undefined;
  /** The Prometheus text, as `/metrics` serves it. */
  metricsText(): Promise<string>;
  close(): Promise<void>;
}

function formatLine(json: boolean, time: string, message: Extract<ObserveMessage, { kind: 'log' }>): string {
  const fields: LogFields = message.fields ?? {};
  if (json)
    return `${JSON.stringify({ time, level: message.level, service: message.service, msg: message.msg, ...fields })}\n`;
  const rest = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' && /[\s"=]/.test(v) ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  return `${time} ${message.level.padEnd(5)} ${message.service}: ${message.msg}${rest ? ` ${rest}` : ''}\n`;
}

export async function startObservability(options: ObservabilityOptions): Promise<Observability> {
  const min = RANK[options.logLevel ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const now = options.now ?? Date.now;
  const json = options.jsonLogs ?? false;
  const wanted = new Set<Service>(options.services);

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const counters = new Map<string, Counter<'reason'>>();
  const pushed = new Map<string, number>();
  for (const service of wanted) {
    for (const [event, help] of Object.entries(EVENTS[service])) {
      const counter = new Counter({
        name: `tollgate_${service}_${event}_total`,
        help,
        labelNames: ['reason'],
        registers: [registry],
      });
      // Events counted without a reason read 0 from the start, so a rate() has a first point.
      if (event !== 'rejections') counter.inc(0);
      counters.set(`${service}:${event}`, counter);
    }
    for (const [gauge, help] of Object.entries(GAUGES[service] as Record<string, string>)) {
      const key = `${service}:${gauge}`;
      new Gauge({
        name: `tollgate_${service}_${gauge}`,
        help,
        registers: [registry],
        collect() {
          let value = pushed.get(key) ?? 0;
          for (const s of sampledGauges()) if (s.service === service && s.gauge === gauge) value = s.read();
          this.set(value);
        },
      });
    }
  }

  const unsubscribe = subscribe((message) => {
    if (!wanted.has(message.service)) return;
    switch (message.kind) {
      case 'count': {
        const counter = counters.get(`${message.service}:${message.event}`);
        if (counter === undefined) return;
        if (message.reason === undefined) counter.inc(message.n);
        else counter.inc({ reason: message.reason }, message.n);
        return;
      }
      case 'gauge':
        pushed.set(`${message.service}:${message.gauge}`, message.value);
        return;
      case 'log':
        if (RANK[message.level] < min) return;
        write(formatLine(json, new Date(now()).toISOString(), message));
        return;
    }
  });

  let server: Server | undefined;
  let metricsAddress: { host: string; port: number } | undefined;
  if (options.metrics !== undefined) {
    server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: unknown) =>
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(error)}\n`),
      );
    });
    // A scraper that never finishes its request must not hold a socket for ever.
    server.requestTimeout = 10_000;
    server.headersTimeout = 5_000;
    const srv = server;
    const { host, port } = options.metrics;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', (error: NodeJS.ErrnoException) => {
        unsubscribe();
        reject(
          new TollgateError(
            'ERR_LISTEN_FAILED',
            `metrics: cannot listen on ${host}:${port}: ${error.code ?? error.message}`,
            {
              cause: error,
            },
          ),
        );
      });
      srv.listen(port, host, () => resolve());
    });
    metricsAddress = { host, port: (srv.address() as AddressInfo).port };
  }

  return {
    metricsAddress,
    metricsText: () => registry.metrics(),
    async close() {
      unsubscribe();
      if (server !== undefined) {
        const srv = server;
        await new Promise<void>((resolve) => srv.close(() => resolve()));
        srv.closeAllConnections();
      }
    },
  };
}
