/**
 * `npm run bench:secure-refusal [-- --json] [-- --quick]`: the secure responder's CPU per
 * refused connection over real TCP, beside node:net's own floors measured in the same run
 * (issue 12, item 1). Each server runs in its own process and reports its own CPU
 * (process.cpuUsage, user + system); the clients run here, 16 connections in flight.
 *
 * Floors: accept and destroy; accept, read one short message, answer one line, close.
 * Ours: `secureAccept` refusing a junk HELLO (bad version), an expired HELLO and a HELLO
 * from an untrusted key. Target: a refusal after the first message <= 1.25x the
 * accept-read-answer-close floor.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  identityKey,
  memoryPair,
  SecureContext,
  secureAccept,
  secureConnect,
  TrustStore,
} from '../src/secure/index.js';
import { ManualClock } from '../src/util/clock.js';

const json = process.argv.includes('--json');
const quick = process.argv.includes('--quick');

// ---------------------------------------------------------------------------------------
// The server process: `secure-refusal.ts server MODE`, keys as PEM in the environment.

async function server(mode: string): Promise<void> {
  let onConnection: (socket: Socket) => void;
  if (mode === 'accept-destroy') onConnection = (s) => s.destroy();
  else if (mode === 'accept-read-answer-close') {
    onConnection = (s) => {
      s.once('data', () => {
        s.write('ERR\n');
        s.destroy();
      });
      s.on('error', () => {});
    };
  } else {
    const key = identityKey(process.env.SERVER_KEY!);
    const client = identityKey(process.env.CLIENT_KEY!);
    const context = new SecureContext({ key, trust: TrustStore.fromKeys([key, client]) });
    onConnection = (s) => {
      s.on('error', () => {});
      secureAccept(s, { context }).then(
        (c) => c.destroy(),
        () => {},
      );
    };
  }
  const srv = createServer(onConnection);
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  process.stdout.write(`${(srv.address() as { port: number }).port}\n`);
  process.stdin.setEncoding('utf8').on('data', () => {
    const u = process.cpuUsage();
    process.stdout.write(`${u.user + u.system}\n`);
  });
  process.stdin.on('end', () => process.exit(0));
}

// ---------------------------------------------------------------------------------------
// The measuring side.

interface ServerProc {
  readonly port: number;
  cpu(): Promise<number>;
  stop(): void;
}

async function startServer(mode: string, env: NodeJS.ProcessEnv): Promise<ServerProc> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'server', mode], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  child.stdout.setEncoding('utf8');
  const lines: string[] = [];
  let waiting: (() => void) | undefined;
  let buf = '';
  child.stdout.on('data', (c: string) => {
    buf += c;
    let i = buf.indexOf('\n');
    while (i >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
      i = buf.indexOf('\n');
    }
    waiting?.();
  });
  const line = async () => {
    while (lines.length === 0) await new Promise<void>((r) => (waiting = r));
    return lines.shift()!;
  };
  const port = Number(await line());
  return {
    port,
    cpu: async () => {
      child.stdin.write('cpu\n');
      return Number(await line());
    },
    stop: () => child.stdin.end(),
  };
}

/** Opens `n` connections (16 in flight), each sending `payload` and waiting for the close. */
async function hammer(port: number, n: number, payload: Uint8Array | undefined): Promise<void> {
  let started = 0;
  const one = async () => {
    while (started < n) {
      started++;
      const s = tcpConnect(port, '127.0.0.1');
      s.on('error', () => {});
      s.resume();
      if (payload !== undefined) s.once('connect', () => s.write(payload));
      await once(s, 'close');
    }
  };
  await Promise.all(Array.from({ length: 16 }, one));
}

async function measureMode(mode: string, env: NodeJS.ProcessEnv, payload: Uint8Array | undefined, n: number) {
  const srv = await startServer(mode, env);
  await hammer(srv.port, Math.min(500, n), payload); // warm-up
  const before = await srv.cpu();
  const t0 = performance.now();
  await hammer(srv.port, n, payload);
  const wall = performance.now() - t0;
  const after = await srv.cpu();
  srv.stop();
  return { cpuUsPerConnection: (after - before) / n, connectionsPerSec: (n / wall) * 1000 };
}

async function captureHello(options: Parameters<typeof secureConnect>[1]): Promise<Uint8Array> {
  const [x, y] = memoryPair({ b: { host: '127.0.0.1', port: 1 } });
  const got = once(y, 'data');
  const done = secureConnect(x, options).catch(() => undefined);
  const [chunk] = (await got) as [Buffer];
  y.destroy();
  await done;
  return new Uint8Array(chunk);
}

async function main(): Promise<void> {
  const pem = () =>
    generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const serverPem = pem();
  const clientPem = pem();
  const strangerPem = pem();
  const env = { SERVER_KEY: serverPem, CLIENT_KEY: clientPem };
  const client = identityKey(clientPem);
  const trust = TrustStore.fromKeys([identityKey(serverPem), client]);
  // The HELLOs are refused before the address check matters (version, time, trust).
  const expired = await captureHello({ key: client, trust, clock: new ManualClock(Date.now() - 3_600_000) });
  const untrusted = await captureHello({ key: identityKey(strangerPem), trust });
  const junk = Uint8Array.of(9, 1, 0, 4, 1, 2, 3, 4);
  const n = quick ? 2000 : 8000;
  const rows: Record<string, { cpuUsPerConnection: number; connectionsPerSec: number }> = {};
  const log = (s: string) => {
    if (!json) process.stdout.write(`${s}\n`);
  };
  log(`server CPU per connection over loopback TCP, ${n} connections each, 16 in flight`);
  rows['floor: accept, destroy'] = await measureMode('accept-destroy', env, undefined, n);
  rows['floor: accept, read, answer, close'] = await measureMode('accept-read-answer-close', env, junk, n);
  rows['secure: junk HELLO (ERR_HS_VERSION)'] = await measureMode('secure', env, junk, n);
  rows['secure: expired HELLO (ERR_HS_EXPIRED)'] = await measureMode('secure', env, expired, n);
  rows['secure: untrusted key (ERR_HS_UNTRUSTED)'] = await measureMode('secure', env, untrusted, n);
  const floor = rows['floor: accept, read, answer, close']!.cpuUsPerConnection;
  log('');
  log('| server | CPU us / connection | x floor (read-answer-close) | connections / s |');
  log('| --- | ---: | ---: | ---: |');
  for (const [name, r] of Object.entries(rows)) {
    log(
      `| ${name} | ${r.cpuUsPerConnection.toFixed(1)} | ${(r.cpuUsPerConnection / floor).toFixed(2)} | ${r.connectionsPerSec.toFixed(0)} |`,
    );
  }
  const worst = Math.max(
    ...Object.entries(rows)
      .filter(([k]) => k.startsWith('secure'))
      .map(([, r]) => r.cpuUsPerConnection / floor),
  );
  log('');
  log(
    `target: refusal after the first message <= 1.25x floor: worst ${worst.toFixed(2)}x ${worst <= 1.25 ? 'met' : 'NOT met'}`,
  );
  if (json)
    process.stdout.write(
      `${JSON.stringify({ rows, worstRatio: worst, target: 1.25, met: worst <= 1.25 })}\n`,
    );
}

if (process.argv[2] === 'server') await server(process.argv[3]!);
else await main();
