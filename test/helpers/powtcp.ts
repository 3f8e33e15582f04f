import { type ChildProcess, spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { cliEntry } from './cli.js';

/** A raw client that records every byte the server sends, for byte-exact tests. */
export class RawClient {
  readonly socket: Socket;
  private data = '';
  private closedFlag = false;
  private waiters: (() => void)[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.data += chunk;
      this.wake();
    });
    socket.on('close', () => {
      this.closedFlag = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static open(port: number, options: { localAddress?: string; localPort?: number } = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, ...options });
      s.once('connect', () => {
        s.removeListener('error', reject);
        resolve(new RawClient(s));
      });
      s.once('error', reject);
    });
  }

  get localPort(): number {
    return this.socket.localPort!;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Everything received so far. */
  get received(): string {
    return this.data;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  send(text: string | Uint8Array): void {
    this.socket.write(text);
  }

  /** Resolves with the next complete line (without `\n`), taken off the received data. */
  async line(): Promise<string> {
    for (;;) {
      const nl = this.data.indexOf('\n');
      if (nl !== -1) {
        const line = this.data.slice(0, nl);
        this.data = this.data.slice(nl + 1);
        return line;
      }
      if (this.closedFlag) throw new Error(`closed without a full line; got ${JSON.stringify(this.data)}`);
      await this.wait();
    }
  }

  /** Resolves once the server closed the connection, with what was left unread. */
  async end(): Promise<string> {
    while (!this.closedFlag) await this.wait();
    return this.data;
  }

  /** Sends a line and returns the one reply line. */
  async request(line: string): Promise<string> {
    this.send(line);
    return this.line();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export interface ServeProcess {
  readonly port: number;
  readonly metricsUrl: string | undefined;
  readonly child: ChildProcess;
  readonly stderr: () => string;
  stop(): Promise<number | null>;
}

/** Starts `tollgate powtcp serve` in a child process and waits for its "listening" line. */
export function startServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', cliEntry, 'powtcp', 'serve', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => {
    err += c;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not start: ${out} ${err}`));
    }, 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${out} ${err}`));
    });
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const port = /powtcp listening on \S+:(\d+)\n/.exec(out)?.[1];
      const wantsMetrics = args.includes('--metrics');
      const metricsUrl = /metrics on (\S+)\n/.exec(out)?.[1];
      if (port !== undefined && (!wantsMetrics || metricsUrl !== undefined)) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({
          port: Number(port),
          metricsUrl,
          child,
          stderr: () => err,
          stop: () =>
            new Promise((done) => {
              if (child.exitCode !== null) return done(child.exitCode);
              child.once('exit', (code) => done(code));
              child.kill('SIGTERM');
            }),
        });
      }
    });
  });
}
