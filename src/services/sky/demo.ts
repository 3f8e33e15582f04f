/**
 * The sky and earth part of `tollgate demo` (issue 11 item 7): a sky node and three earth
 * nodes; a message delivered straight to its recipient, one stored by the recipient's holder
 * and delivered when the recipient comes back, and a look-up for an identity without a lease
 * refused. Where the machine allows network namespaces (root, `ip netns`, `nft`), the
 * recipient runs behind a NAT made for the demo (addresses from 198.18.0.0/15, nothing routed
 * out of the namespaces); elsewhere all run on loopback, and the demo says why. Stops by
 * itself within seconds.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Endpoint } from '../../admission/endpoint.js';
import { identityKey, loadPrivateKey } from '../../secure/keys.js';
import { TollgateError } from '../../util/errors.js';
import { EarthNode, type SendResult } from '../earth/node.js';
import { SkyNode } from './server.js';

export interface SkyDemoStep {
  readonly what: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly ms: number;
}

export interface SkyDemoResult {
  /** Where the recipient ran: behind a NAT in a namespace, or on loopback (and why). */
  readonly placement: string;
  readonly steps: readonly SkyDemoStep[];
}

/** Why namespaces cannot be made here, or undefined when they can. */
export function namespacesUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  for (const tool of ['ip', 'nft']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} not installed`;
  }
  const probe = `tgdp${process.pid % 100_000}`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.status !== 0) return `ip netns add failed: ${r.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return undefined;
}

const HOST_ADDR = '198.18.0.1';
const NAT_WAN = '198.18.0.11';
const LAN_HOST = '198.19.1.2';

function sh(args: string[], input?: string): void {
  execFileSync(args[0]!, args.slice(1), { stdio: ['pipe', 'ignore', 'pipe'], ...(input ? { input } : {}) });
}

/**
 * host (198.18.0.1) -- veth -- [NAT: wan 198.18.0.11 | lan 198.19.1.1] -- [LAN: 198.19.1.2].
 * The NAT masquerades what its LAN starts (endpoint-independent mapping) and forwards inward
 * only what belongs to a connection its LAN started, as a home router does.
 */
class DemoNat {
  readonly nat: string;
  readonly lan: string;
  readonly hostIf: string;
  constructor() {
    const p = `tgd${process.pid % 100_000}`;
    this.nat = `${p}-nat`;
    this.lan = `${p}-lan`;
    this.hostIf = `${p}h`;
  }
  up(): void {
    this.down();
    for (const n of [this.nat, this.lan]) {
      sh(['ip', 'netns', 'add', n]);
      sh(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
    }
    sh(['ip', 'link', 'add', this.hostIf, 'type', 'veth', 'peer', 'name', 'wan', 'netns', this.nat]);
    sh(['ip', 'addr', 'add', `${HOST_ADDR}/24`, 'dev', this.hostIf]);
    sh(['ip', 'link', 'set', this.hostIf, 'up']);
    sh(['ip', '-n', this.nat, 'addr', 'add', `${NAT_WAN}/24`, 'dev', 'wan']);
    sh(['ip', '-n', this.nat, 'link', 'set', 'wan', 'up']);
    sh([
      'ip',
      'link',
      'add',
      'lan',
      'netns',
      this.nat,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      this.lan,
    ]);
    sh(['ip', '-n', this.nat, 'addr', 'add', '198.19.1.1/24', 'dev', 'lan']);
    sh(['ip', '-n', this.nat, 'link', 'set', 'lan', 'up']);
    sh(['ip', '-n', this.lan, 'addr', 'add', `${LAN_HOST}/24`, 'dev', 'eth0']);
    sh(['ip', '-n', this.lan, 'link', 'set', 'eth0', 'up']);
    sh(['ip', '-n', this.lan, 'route', 'add', 'default', 'via', '198.19.1.1']);
    sh(['ip', 'netns', 'exec', this.nat, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    sh(
      ['ip', 'netns', 'exec', this.nat, 'nft', '-f', '-'],
      `flush ruleset
table ip nat {
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" masquerade
  }
}
table ip filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan" accept
  }
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    iifname "lo" accept
    iifname "lan" accept
  }
}
`,
    );
  }
  down(): void {
    for (const n of [this.nat, this.lan]) spawnSync('ip', ['netns', 'del', n]);
    spawnSync('ip', ['link', 'del', this.hostIf]);
  }
}

/** An earth node in another process (inside the LAN namespace), driven by its CLI lines. */
class EarthProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  constructor(ns: string, args: string[]) {
    // The running CLI's own entry and loader flags (dist, or the sources under tsx in tests).
    const node = [process.execPath, ...process.execArgv, process.argv[1]!, 'earth', ...args];
    this.child = spawn('ip', ['netns', 'exec', ns, ...node], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      this.stdout += c;
    });
    this.child.stderr!.setEncoding('utf8').on('data', (c: string) => {
      this.stderr += c;
    });
  }
  async wait(where: 'stdout' | 'stderr', pattern: RegExp, ms: number): Promise<RegExpMatchArray> {
    const until = Date.now() + ms;
    for (;;) {
      const m = this[where].match(pattern);
      if (m !== null) return m;
      if (this.child.exitCode !== null || Date.now() > until) {
        throw new TollgateError('ERR_EARTH_TIMEOUT', `earth node: no ${pattern}: ${this.stderr.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      const t = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
      this.child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      this.child.kill('SIGTERM');
    });
  }
}

/** The recipient: in-process on loopback, or a CLI process behind the NAT. */
interface Recipient {
  readonly identity: string;
  /** Resolves with the next message text it receives. */
  received(ms: number): Promise<string>;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

export async function runSkyDemo(options: { onLine?: (line: string) => void } = {}): Promise<SkyDemoResult> {
  const say = options.onLine ?? (() => {});
  const why = namespacesUnavailable();
  const nat = why === undefined ? new DemoNat() : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-sky-demo-'));
  const host = nat === undefined ? '127.0.0.1' : HOST_ADDR;
  const sky = new SkyNode();
  const nodes: EarthNode[] = [];
  let recipient: Recipient | undefined;
  const steps: SkyDemoStep[] = [];
  try {
    nat?.up();
    const at: Endpoint = await sky.listen(0, host);
    say(`  sky node on ${host}:${at.port}`);
    const listen = { host, port: 0 };
    const holder = new EarthNode({
      key: identityKey(generateKeyPairSync('ed25519').privateKey),
      skies: [at],
      listen,
      limits: { inboxBytes: 0, leaseSec: 30 },
    });
    await holder.start();
    nodes.push(holder);
    const alice = new EarthNode({
      key: identityKey(generateKeyPairSync('ed25519').privateKey),
      skies: [at],
      listen,
      // A NAT drops the direct dial silently: give up on it soon and punch, to keep the demo short.
      limits: { inboxBytes: 0, leaseSec: 30, handshakeMs: 3_000 },
    });
    await alice.start();
    nodes.push(alice);
    recipient =
      nat === undefined
        ? await loopbackRecipient(at, holder.identity)
        : await natRecipient(nat, dir, at, holder.identity);
    const placement =
      nat === undefined
        ? `on loopback with the others (no network namespaces here: ${why})`
        : `behind a NAT in a network namespace (${LAN_HOST}, seen by the sky node as ${NAT_WAN})`;
    say(
      `  holder ${holder.identity.slice(0, 12)}…, sender ${alice.identity.slice(0, 12)}…, recipient ${recipient.identity.slice(0, 12)}… ${placement}`,
    );

    const timed = async (what: string, fn: () => Promise<{ ok: boolean; detail: string }>) => {
      const t0 = performance.now();
      let r: { ok: boolean; detail: string };
      try {
        r = await fn();
      } catch (e) {
        r = { ok: false, detail: e instanceof TollgateError ? e.code : String(e) };
      }
      const step = { what, ...r, ms: performance.now() - t0 };
      steps.push(step);
      say(`  ${what}: ${r.detail}`);
    };
    const r0 = recipient;
    await timed('message to the recipient', async () => {
      const got = r0.received(10_000);
      const sent: SendResult = await alice.send(r0.identity, Buffer.from('hello'));
      const text = await got;
      return { ok: text === 'hello', detail: `${sent.status} via ${sent.via}, received "${text}"` };
    });
    await timed('message while the recipient is away', async () => {
      await r0.stop();
      const sent = await alice.send(r0.identity, Buffer.from('while you were out'));
      const got = r0.received(15_000);
      await r0.restart();
      const text = await got;
      return {
        ok: sent.status === 'stored' && text === 'while you were out',
        detail: `${sent.status} via ${sent.via}; on its return the recipient received "${text}"`,
      };
    });
    await timed('look-up of an identity without a lease', async () => {
      try {
        await alice.send(randomBytes(32).toString('hex'), Buffer.from('x'));
        return { ok: false, detail: 'delivered?' };
      } catch (e) {
        const code = e instanceof TollgateError ? e.code : String(e);
        return { ok: code === 'ERR_SKY_NO_LEASE', detail: `refused: ${code}` };
      }
    });
    return { placement, steps };
  } finally {
    await recipient?.stop();
    for (const n of nodes) await n.close();
    await sky.close();
    nat?.down();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function loopbackRecipient(at: Endpoint, holder: string): Promise<Recipient> {
  const key = identityKey(generateKeyPairSync('ed25519').privateKey);
  const inbox: string[] = [];
  const start = async () => {
    const node = new EarthNode({
      key,
      skies: [at],
      listen: { host: '127.0.0.1', port: 0 },
      holder,
      limits: { inboxBytes: 4096, leaseSec: 30 },
      onMessage: (_from, data) => inbox.push(Buffer.from(data).toString()),
    });
    await node.start();
    return node;
  };
  let node: EarthNode | undefined = await start();
  return {
    identity: key.identity,
    async received(ms) {
      const until = Date.now() + ms;
      while (inbox.length === 0) {
        if (Date.now() > until) throw new TollgateError('ERR_EARTH_TIMEOUT', 'nothing received');
        await new Promise((r) => setTimeout(r, 10));
      }
      return inbox.shift()!;
    },
    async stop() {
      await node?.close();
      node = undefined;
    },
    async restart() {
      node = await start();
    },
  };
}

async function natRecipient(nat: DemoNat, dir: string, at: Endpoint, holder: string): Promise<Recipient> {
  const keyFile = join(dir, 'recipient.pem');
  writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
  });
  const identity = loadPrivateKey(keyFile).identity;
  const args = [
    '--key',
    keyFile,
    '--sky',
    `${at.host}:${at.port}`,
    '--listen',
    `${LAN_HOST}:0`,
    '--inbox-bytes',
    '4096',
    '--holder',
    holder,
    '--limit',
    'leaseSec=30',
  ];
  const start = async () => {
    const p = new EarthProcess(nat.lan, args);
    await p.wait('stderr', /earth [0-9a-f]{64}/, 20_000);
    return p;
  };
  let proc: EarthProcess | undefined = await start();
  let seen = 0;
  return {
    identity,
    async received(ms) {
      const until = Date.now() + ms;
      for (;;) {
        const lines = (proc?.stdout ?? '').split('\n').filter((l) => l !== '');
        if (lines.length > seen) {
          const line = lines[seen++]!;
          return line.slice(line.indexOf(' ') + 1);
        }
        if (Date.now() > until) throw new TollgateError('ERR_EARTH_TIMEOUT', 'nothing received');
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      await proc?.stop();
      proc = undefined;
      seen = 0;
    },
    async restart() {
      proc = await start();
    },
  };
}
