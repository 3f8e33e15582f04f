import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/**
 * A loopback port where nothing listens (bound on port 0, then released): for tests of an
 * unreachable server only. Servers under test bind port 0 themselves and report the port.
 */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface RedisProcess {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

const MISSING =
  'redis-server is not installed: install the Debian package redis-server (apt-get install redis-server)';

/**
 * Starts the installed `redis-server` on a loopback port, without persistence, and resolves once
 * it accepts connections. redis-server cannot bind port 0 and report it, so the port is drawn at
 * random from the ephemeral range and, when redis-server reports it in use, drawn again (the
 * binding process itself detects the clash: no release-then-bind race). Rejects with one line
 * naming the package when the binary is missing.
 */
export async function startRedis(): Promise<RedisProcess> {
  for (let attempt = 0; ; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    try {
      return await startRedisOn(port);
    } catch (error) {
      if (!(error instanceof PortInUse) || attempt >= 8) throw error;
    }
  }
}

class PortInUse extends Error {}

async function startRedisOn(port: number): Promise<RedisProcess> {
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server did not start within 10 s: ${out.slice(-500)}`));
    }, 10_000);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err.code === 'ENOENT' ? new Error(MISSING) : err);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(
        /Address already in use/i.test(out)
          ? new PortInUse(`port ${port} in use`)
          : new Error(`redis-server exited with ${code}: ${out.slice(-500)}`),
      );
    });
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.removeAllListeners('exit');
  child.stdout?.resume();
  child.stderr?.resume();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
