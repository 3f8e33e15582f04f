import { type ChildProcess, spawn } from 'node:child_process';
import { cliEntry } from './cli.js';

/** A long-running CLI process whose output lines can be awaited. */
export class CliProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];

  /** `wrap` runs the CLI through another command, e.g. `['ip', 'netns', 'exec', name]`. */
  constructor(args: string[], wrap: readonly string[] = []) {
    const command = [...wrap, process.execPath, '--import', 'tsx', cliEntry, ...args];
    this.child = spawn(command[0]!, command.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      this.check();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  private check(): void {
    this.waiters = this.waiters.filter((w) => {
      const m = this.stdout.match(w.pattern);
      if (m !== null) w.resolve(m);
      return m === null;
    });
  }

  /** Resolves when stdout matches `pattern`; rejects after `timeoutMs` or if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    const now = this.stdout.match(pattern);
    if (now !== null) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`timed out waiting for ${pattern}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`),
          ),
        timeoutMs,
      );
      timer.unref();
      this.exited.then((code) => {
        clearTimeout(timer);
        reject(
          new Error(`exited (${code}) before ${pattern}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`),
        );
      });
      this.waiters.push({
        pattern,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  /** SIGTERM, then the exit code (SIGKILL after `graceMs`). */
  async stop(graceMs = 10_000): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}
