/**
 * Structured logs: one JSON object a line with `--json-logs` (for log collectors), short text
 * lines otherwise. Rejections of network input go out at debug level (DESIGN "Limits,
 * errors, logs"); no secret, key or full sealed challenge is ever a field.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export interface LoggerOptions {
  readonly json?: boolean;
  readonly level?: LogLevel;
  /** Where lines go; default stderr (stdout is for a command's result). */
  readonly write?: (line: string) => void;
  readonly now?: () => number;
}

export function isLogLevel(value: string): value is LogLevel {
  return value in RANK;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const min = RANK[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const now = options.now ?? Date.now;
  const json = options.json ?? false;
  const emit = (level: LogLevel, msg: string, fields: LogFields = {}) => {
    if (RANK[level] < min) return;
    const time = new Date(now()).toISOString();
    if (json) {
      write(`${JSON.stringify({ time, level, msg, ...fields })}\n`);
    } else {
      const rest = Object.entries(fields)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${typeof v === 'string' && /[\s"=]/.test(v) ? JSON.stringify(v) : String(v)}`)
        .join(' ');
      write(`${time} ${level.padEnd(5)} ${msg}${rest ? ` ${rest}` : ''}\n`);
    }
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
