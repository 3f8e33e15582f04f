/**
 * `npm run bench:secure-findings`: the secure-channel attacks of issue 9 (findings 1 to 4,
 * and 5 with the real CLI), each measured on loopback against the code of this tree, so that
 * running it on an older commit gives the "before" figures. Bounded in count and time.
 * `-- --json` prints one JSON object on the last line.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  HandshakeError,
  identityKey,
  type PowEngine,
  publicPem,
  SecureContext,
  type SecureStandaloneOptions,
  secureAccept,
  secureConnect,
  TrustStore,
} from '../src/secure/index.js';
import { defaultLimits } from '../src/secure/limits.js';
import { defaultPowEngine } from '../src/secure/pow-engine.js';
import { decodeKeyShare, HEADER_BYTES } from '../src/wire/handshake.js';

const json = process.argv.includes('--json');
const log = (s: string) => {
  if (!json) process.stdout.write(`${s}\n`);
};

function pair(extra: Partial<SecureStandaloneOptions> = {}) {
  const a = identityKey(generateKeyPairSync('ed25519').privateKey);
  const b = identityKey(generateKeyPairSync('ed25519').privateKey);
  const trust = TrustStore.fromKeys([a, b]);
  return {
    client: { key: a, trust, ...extra } as SecureStandaloneOptions,
    server: { key: b, trust, ...extra } as SecureStandaloneOptions,
    a,
    b,
  };
}

async function listen(
  handler: (s: Socket) => void,
): Promise<{ port: number; close: () => void; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    handler(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    sockets,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

async function dial(port: number, localAddress: string): Promise<Socket> {
  const s = tcpConnect({ port, host: '127.0.0.1', localAddress });
  s.on('error', () => {});
  await once(s, 'connect');
  return s;
}

async function honest(port: number, options: SecureStandaloneOptions, timeoutMs = 5000): Promise<string> {
  const s = await dial(port, '127.0.0.1');
  const timer = setTimeout(() => s.destroy(), timeoutMs);
  try {
    (await secureConnect(s, options)).destroy();
    return 'ok';
  } catch (e) {
    return e instanceof HandshakeError ? `${e.code}${e.detail ? `:${e.detail}` : ''}` : String(e);
  } finally {
    clearTimeout(timer);
    s.destroy();
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** 1: 256 idle connections from 127.0.0.2, then 20 honest handshakes from 127.0.0.1. */
async function finding1() {
  const { client, server } = pair();
  const context = new SecureContext(server);
  const srv = await listen((s) =>
    secureAccept(s, { ...server, context }).then(
      (c) => c.destroy(),
      () => {},
    ),
  );
  const idle: Socket[] = [];
  for (let i = 0; i < 256; i++) idle.push(await dial(srv.port, '127.0.0.2'));
  while (srv.sockets.length < 256) await delay(5);
  const results: string[] = [];
  for (let i = 0; i < 20; i++) results.push(await honest(srv.port, client));
  for (const s of idle) s.destroy();
  srv.close();
  const ok = results.filter((r) => r === 'ok').length;
  return { honestOk: ok, honestTried: 20, refusedWith: [...new Set(results.filter((r) => r !== 'ok'))] };
}

/** 2: a valid HELLO whose scrypt check is stalled, then up to 512 MiB sent within 2 s. */
async function finding2() {
  const pow = { kind: 'scrypt', bits: 1, N: 16, r: 1, p: 1 } as const;
  const { client, server } = pair({ pow });
  const engine: PowEngine = { solve: async () => 0n, verify: () => new Promise<boolean>(() => {}) };
  const context = new SecureContext({ ...server, powEngine: engine });
  const srv = await listen((s) => void secureAccept(s, { ...server, context }).catch(() => {}));
  const rss0 = process.memoryUsage().rss;
  const s = await dial(srv.port, '127.0.0.2');
  void secureConnect(s, client).catch(() => {});
  await delay(200);
  const chunk = new Uint8Array(1 << 20);
  const until = Date.now() + 2000;
  let offered = 0;
  while (Date.now() < until && offered < 512 && !s.destroyed) {
    if (!s.write(chunk))
      await Promise.race([once(s, 'drain'), once(s, 'close'), delay(until - Date.now())]).catch(() => {});
    offered++;
  }
  const read = srv.sockets[0]?.bytesRead ?? 0;
  const rss1 = process.memoryUsage().rss;
  s.destroy();
  srv.close();
  return {
    offeredMiB: offered,
    responderReadMiB: +(read / 2 ** 20).toFixed(2),
    rssGrowthMiB: +((rss1 - rss0) / 2 ** 20).toFixed(1),
  };
}

/** 3: 100 HELLOs naming a trusted key with junk PoW and signature, scrypt at the default cost. */
async function finding3() {
  const pow = { kind: 'scrypt', bits: 4 } as const;
  const { client, server } = pair({ pow });
  const inner = defaultPowEngine(defaultLimits);
  let scrypts = 0;
  const engine: PowEngine = {
    solve: (p, i, sig) => inner.solve(p, i, sig),
    verify: (p, i, n) => {
      scrypts++;
      return inner.verify(p, i, n);
    },
  };
  const context = new SecureContext({ ...server, powEngine: engine });
  const srv = await listen((s) => void secureAccept(s, { ...server, context }).catch(() => {}));
  // One genuine HELLO to copy the trusted key from.
  let genuine: Uint8Array | undefined;
  const cap = await listen((s) =>
    s.once('data', (c: Buffer) => {
      genuine = new Uint8Array(c);
      s.destroy();
    }),
  );
  const cs = await dial(cap.port, '127.0.0.1');
  await secureConnect(cs, {
    ...client,
    checkAddress: false,
    remoteAddress: { host: '127.0.0.1', port: srv.port },
  }).catch(() => {});
  cap.close();
  const d = decodeKeyShare(genuine!, 1);
  if (!d.ok) throw new Error('no hello');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const n = 100;
  for (let i = 0; i < n; i++) {
    const junk = Uint8Array.from(genuine!);
    new DataView(junk.buffer).setBigUint64(d.value.mEnd, BigInt(1000 + i));
    const s = (await dial(srv.port, '127.0.0.3')).resume();
    s.write(junk);
    await Promise.race([once(s, 'close'), delay(2000)]);
    s.destroy();
  }
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  srv.close();
  return {
    junkHellos: n,
    scryptEvaluations: scrypts,
    cpuMsPerJunkHello: +((cpu.user + cpu.system) / 1000 / n).toFixed(2),
    wallMsPerJunkHello: +(wall / n).toFixed(2),
  };
}

/** 4: a HELLO captured from a finished handshake, replayed to a fresh (restarted) responder. */
async function finding4() {
  const { client, server } = pair();
  let context = new SecureContext(server);
  const seen: Buffer[][] = [];
  const srv = await listen((s) => {
    const chunks: Buffer[] = [];
    seen.push(chunks);
    s.on('data', (c: Buffer) => chunks.push(c));
    void secureAccept(s, { ...server, context }).then(
      (c) => c.destroy(),
      () => {},
    );
  });
  await honest(srv.port, client);
  const all = Buffer.concat(seen[0]!);
  const hello = all.subarray(0, HEADER_BYTES + all.readUInt16BE(2));
  await delay(2100); // the restart happens two seconds later, well within t_max
  context = new SecureContext(server);
  const s = await dial(srv.port, '127.0.0.1');
  s.write(hello);
  const [answer] = (await Promise.race([once(s, 'data'), delay(3000).then(() => [Buffer.alloc(0)])])) as [
    Buffer,
  ];
  s.destroy();
  srv.close();
  const type = answer[1];
  return {
    restartReplayAnswer:
      type === 2
        ? 'REPLY (accepted)'
        : type === 4
          ? `ALERT ${answer.subarray(5).toString('latin1')}`
          : 'none',
  };
}

/** 5: the real CLI: an idle connection first, then an honest `secure connect`. */
async function finding5() {
  const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-findings-'));
  const keys = ['a', 'b'].map((n) => {
    const k = generateKeyPairSync('ed25519');
    const file = join(dir, `${n}.key`);
    writeFileSync(file, k.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    return { file, pem: publicPem(identityKey(k.privateKey)) };
  });
  mkdirSync(join(dir, 'trust'));
  for (const [i, k] of keys.entries()) writeFileSync(join(dir, 'trust', `${i}.pem`), k.pem);
  const run = (args: string[]) =>
    spawn(process.execPath, ['--import', 'tsx', cli, 'secure', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const listener = run([
    'listen',
    '--key',
    keys[1]!.file,
    '--trust',
    join(dir, 'trust'),
    '--listen',
    '127.0.0.1:0',
    '--timeout',
    '30000',
  ]);
  let lerr = '';
  const port = await new Promise<number>((resolve) =>
    listener.stderr.setEncoding('utf8').on('data', (c: string) => {
      lerr += c;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(lerr);
      if (m) resolve(Number(m[1]));
    }),
  );
  listener.stdin.end('x\n');
  const idle = await dial(port, '127.0.0.2');
  const t0 = performance.now();
  const c = run([
    'connect',
    '--key',
    keys[0]!.file,
    '--trust',
    join(dir, 'trust'),
    '--timeout',
    '20000',
    `127.0.0.1:${port}`,
  ]);
  c.stdin.end('y\n');
  c.stdout.resume();
  c.stderr.resume();
  const [code] = (await once(c, 'close')) as [number];
  const ms = performance.now() - t0;
  idle.destroy();
  listener.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  return { connectExit: code, connectMsBehindIdleSocket: Math.round(ms) };
}

const results = {
  finding1: await finding1(),
  finding2: await finding2(),
  finding3: await finding3(),
  finding4: await finding4(),
  finding5: await finding5(),
};
for (const [k, v] of Object.entries(results)) log(`${k}: ${JSON.stringify(v)}`);
if (json) process.stdout.write(`${JSON.stringify(results)}\n`);
process.exit(0);
