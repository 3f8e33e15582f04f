/**
 * Shared pieces of the attack lab: starting the servers under test in their own processes
 * (the real CLI for powtcp and `secure listen`, secure-server.ts for the library responder),
 * raw loopback sockets from chosen source addresses, and the honest secure-channel client.
 * Every wait here is bounded by a timeout.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  type HandshakePow,
  identityKey,
  type PublicIdentity,
  parsePublicKey,
  SecureContext,
  secureConnect,
} from '../../src/secure/index.js';

export const root = fileURLToPath(new URL('../..', import.meta.url));
/** The compiled CLI: servers run as deployed, without the TypeScript loader in their RSS. */
export const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

/** Waits for a child's exit, killing it after `ms`. */
export function stopProcess(child: ChildProcess, ms = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export interface PowtcpProc {
  child: ChildProcess;
  port: number;
  metricsUrl: string | undefined;
  stdout: () => string;
  stderr: () => string;
}

/** Starts `tollgate powtcp serve` with `extra` options; resolves once it listens (or rejects with its output). */
export function startPowtcp(extra: string[], timeoutMs = 20_000): Promise<PowtcpProc> {
  const child = spawn(
    process.execPath,
    ['--expose-gc', cli, 'powtcp', 'serve', '--listen', '127.0.0.1:0', '--log-level', 'error', ...extra],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => {
    err += c;
  });
  const wantMetrics = extra.includes('--metrics');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`powtcp did not start: ${out}${err}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(
        Object.assign(new Error(`powtcp exited with ${code}: ${err.trim()}`), {
          exitCode: code,
          stderr: err,
        }),
      );
    });
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const port = /powtcp listening on [\d.]+:(\d+)/.exec(out)?.[1];
      const metrics = /metrics on (http:\/\/\S+)/.exec(out)?.[1];
      if (port !== undefined && (!wantMetrics || metrics !== undefined)) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ child, port: Number(port), metricsUrl: metrics, stdout: () => out, stderr: () => err });
      }
    });
  });
}

/** Opens a TCP connection from `source` (a loopback address); rejects on error or after `timeoutMs`. */
export function open(
  port: number,
  source: string,
  opts: { localPort?: number; timeoutMs?: number; host?: string; allowHalfOpen?: boolean } = {},
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({
      host: opts.host ?? '127.0.0.1',
      port,
      localAddress: source,
      noDelay: true,
      // An attacker keeps writing after the server's FIN; an honest client closes with it.
      allowHalfOpen: opts.allowHalfOpen === true,
      ...(opts.localPort === undefined ? {} : { localPort: opts.localPort }),
    });
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error('connect timeout'));
    }, opts.timeoutMs ?? 5000);
    s.once('connect', () => {
      clearTimeout(t);
      s.removeAllListeners('error');
      s.on('error', () => {});
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/** Sends `line` and waits for one reply line, the close (undefined) or the timeout (undefined). */
export function exchange(s: Socket, line: string | Buffer, timeoutMs = 5000): Promise<string | undefined> {
  return new Promise((resolve) => {
    let buf = '';
    const done = (v: string | undefined) => {
      clearTimeout(t);
      s.off('data', onData);
      s.off('close', onClose);
      resolve(v);
    };
    const onData = (d: Buffer) => {
      buf += d.toString('latin1');
      const nl = buf.indexOf('\n');
      if (nl !== -1) done(buf.slice(0, nl));
    };
    const onClose = () => done(undefined);
    const t = setTimeout(() => done(undefined), timeoutMs);
    s.on('data', onData);
    s.on('close', onClose);
    s.write(line);
  });
}

/** Resolves when `s` closes, destroying it after `timeoutMs`. */
export function closed(s: Socket, timeoutMs = 3000): Promise<void> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve();
    const t = setTimeout(() => {
      s.destroy();
      resolve();
    }, timeoutMs);
    s.once('close', () => {
      clearTimeout(t);
      resolve();
    });
    s.resume();
  });
}

export interface Keypair {
  privatePem: string;
  publicPem: string;
  identity: string;
}

export function newKey(): Keypair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem,
    identity: parsePublicKey(publicPem).identity,
  };
}

export interface SecureServerProc {
  child: ChildProcess;
  port: number;
  stats(): Promise<SecureStats | undefined>;
  stop(): Promise<void>;
}

export interface SecureStats {
  rssMb: number;
  cpuS: number;
  admitted: number;
  served: number;
  servedBy: Record<string, number>;
  pending: number;
  open: number;
  reasons: Record<string, number>;
}

/** Forks secure-server.ts (the library responder with a shared context and a costly resource). */
export function startSecureServer(args: {
  port?: number;
  key: Keypair;
  trusted: Keypair[];
  pow: HandshakePow;
  workMs: number;
  capacity?: number;
  handshakeTimeoutMs?: number;
}): Promise<SecureServerProc> {
  const child = fork(
    fileURLToPath(new URL('./secure-server.ts', import.meta.url)),
    [
      JSON.stringify({
        host: '127.0.0.1',
        port: args.port ?? 0,
        key: args.key.privatePem,
        trusted: args.trusted.map((k) => k.publicPem),
        pow: args.pow,
        workMs: args.workMs,
        capacity: args.capacity ?? 1_000_000,
        ...(args.handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs: args.handshakeTimeoutMs }),
      }),
    ],
    { cwd: root, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
  );
  const stats = (): Promise<SecureStats | undefined> =>
    new Promise((resolve) => {
      if (!child.connected) return resolve(undefined);
      const t = setTimeout(() => {
        child.off('message', on);
        resolve(undefined);
      }, 5000);
      const on = (m: { type: string } & SecureStats) => {
        if (m.type !== 'stats') return;
        clearTimeout(t);
        child.off('message', on);
        resolve(m);
      };
      child.on('message', on);
      child.send({ type: 'stats' });
    });
  const stop = async () => {
    if (child.connected) child.send({ type: 'stop' });
    await stopProcess(child, 3000);
  };
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('secure server did not start'));
    }, 20_000);
    child.once('exit', (code) => reject(new Error(`secure server exited with ${code}`)));
    child.once('message', (m: { type: string; port: number }) => {
      clearTimeout(t);
      child.removeAllListeners('exit');
      resolve({ child, port: m.port, stats, stop });
    });
  });
}

/** An initiator context for `key`, trusting `server`. */
export function clientContext(key: Keypair, server: Keypair, pow: HandshakePow): SecureContext {
  const trust = new Map<string, PublicIdentity>([[server.identity, parsePublicKey(server.publicPem)]]);
  return new SecureContext({
    key: identityKey(key.privatePem),
    trust: { lookup: (id) => trust.get(id) },
    pow,
  });
}

export interface HonestOutcome {
  ok: boolean;
  ms: number;
  reason?: string;
}

/**
 * One honest use of a secure service: connect from `source`, handshake, send one request,
 * wait for the one-message answer. Bounded by `timeoutMs` as a whole.
 */
export async function secureRequest(
  port: number,
  source: string,
  ctx: SecureContext,
  timeoutMs: number,
): Promise<HonestOutcome> {
  const t0 = performance.now();
  const abort = new AbortController();
  let socket: Socket | undefined;
  const timer = setTimeout(() => {
    abort.abort();
    socket?.destroy();
  }, timeoutMs);
  try {
    socket = await open(port, source, { timeoutMs });
    const channel = await secureConnect(socket, {
      key: ctx.config.identity,
      trust: ctx.config.trust,
      context: ctx,
      signal: abort.signal,
    });
    channel.on('error', () => {});
    const answer = await new Promise<string | undefined>((resolve) => {
      channel.once('data', (m: Uint8Array) => resolve(Buffer.from(m).toString('latin1')));
      channel.once('close', () => resolve(undefined));
      abort.signal.addEventListener('abort', () => resolve(undefined), { once: true });
      channel.write(new TextEncoder().encode('request'));
    });
    channel.destroy();
    return answer === 'ok'
      ? { ok: true, ms: performance.now() - t0 }
      : {
          ok: false,
          ms: performance.now() - t0,
          reason: answer !== undefined ? answer : abort.signal.aborted ? 'timeout' : 'closed',
        };
  } catch (error) {
    return {
      ok: false,
      ms: performance.now() - t0,
      reason: abort.signal.aborted ? 'timeout' : failureReason(error),
    };
  } finally {
    clearTimeout(timer);
    socket?.destroy();
  }
}

export function countReasons(outcomes: { ok: boolean; reason?: string }[]): Record<string, number> {
  const r: Record<string, number> = {};
  for (const o of outcomes) if (!o.ok) r[o.reason ?? '?'] = (r[o.reason ?? '?'] ?? 0) + 1;
  return r;
}

/**
 * The reason an honest outcome failed: the error's code, and for an alert from the server the
 * code it named (a registry code, so the set stays bounded), so that a report says which
 * refusal honest clients met.
 */
export function failureReason(error: unknown): string {
  const e = error as { code?: string; detail?: string; message?: string };
  if (e.code === 'ERR_HS_PEER_ALERT' && e.detail !== undefined) return `${e.code}:${e.detail}`;
  return e.code ?? e.message ?? String(error);
}
