import { formatEndpoint, parseEndpoint } from '../admission/endpoint.js';
import { isLogLevel, type Observability, startObservability } from '../services/observability.js';
import type { Service } from '../util/codes.js';
import { ArgumentError } from '../util/errors.js';
import { observer } from '../util/observe.js';

/** The one CLI number parser: a decimal integer in [min, max], or an error naming the flag. */
export function parseIntegerFlag(flag: string, text: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(text.trim()))
    throw new ArgumentError(flag, `expected an integer, got ${JSON.stringify(text)}`);
  const value = Number(text.trim());
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ArgumentError(flag, `expected an integer in [${min}, ${max}], got ${text}`);
  }
  return value;
}

/** Like parseIntegerFlag, for an optional flag. */
export function optionalIntegerFlag(
  flag: string,
  text: string | undefined,
  min: number,
  max: number,
): number | undefined {
  return text === undefined ? undefined : parseIntegerFlag(flag, text, min, max);
}

/** The observability flags every daemon takes (parseArgs options), with one help text. */
export const OBSERVE_FLAGS = {
  'json-logs': { type: 'boolean', default: false },
  'log-level': { type: 'string', default: 'info' },
  metrics: { type: 'string' },
} as const;

export const OBSERVE_HELP = `  --json-logs              one JSON object per log line (stderr)
  --log-level LEVEL        debug, info (default), warn, error
  --metrics HOST:PORT      serve Prometheus metrics at http://HOST:PORT/metrics`;

/** Starts the edge subscribers from the parsed observability flags. */
export async function observeFromFlags(
  values: { 'json-logs'?: boolean; 'log-level'?: string; metrics?: string },
  services: readonly Service[],
): Promise<Observability> {
  const level = values['log-level'] ?? 'info';
  if (!isLogLevel(level)) throw new ArgumentError('--log-level', 'expected debug, info, warn or error');
  const metrics = values.metrics === undefined ? undefined : parseEndpoint(values.metrics, '--metrics');
  const obs = await startObservability({
    services,
    jsonLogs: values['json-logs'] === true,
    logLevel: level,
    ...(metrics === undefined ? {} : { metrics: { host: metrics.host, port: metrics.port } }),
  });
  // Through the log subscriber, so that with --json-logs this line is JSON like the rest.
  const first = services[0];
  if (obs.metricsAddress !== undefined && first !== undefined) {
    observer(first).log('info', `metrics on http://${formatEndpoint(obs.metricsAddress)}/metrics`);
  }
  return obs;
}
