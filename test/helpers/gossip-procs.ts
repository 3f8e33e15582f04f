import { readFileSync, writeFileSync } from 'node:fs';
import { CliProcess } from './procs.js';

/**
 * Starts `tollgate gossip --config ini` and returns the process and the API port it bound. The
 * course used fixed API ports (7001, 7003, 7005); a port that another process takes between our
 * check and the peer's bind is not a failure of the test: the peer is restarted once with
 * `api_address = 127.0.0.1:0` and the port it bound is read back from its first line.
 */
export async function startPeer(ini: string): Promise<{ proc: CliProcess; apiPort: number }> {
  for (let attempt = 0; ; attempt++) {
    const proc = new CliProcess(['gossip', '--config', ini]);
    try {
      const m = await proc.waitFor(/gossip peer \w+ p2p \S+ api \S+:(\d+)/, 60_000);
      return { proc, apiPort: Number(m[1]) };
    } catch (error) {
      await proc.stop(2_000);
      if (attempt > 0 || !/api_address: cannot listen .*EADDRINUSE/.test(proc.stderr)) throw error;
      const text = readFileSync(ini, 'utf8');
      writeFileSync(ini, text.replace(/^api_address = .*$/m, 'api_address = 127.0.0.1:0'));
    }
  }
}
