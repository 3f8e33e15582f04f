import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CliProcess } from '../helpers/procs.js';

// Issue 10 item 1: a peer behind a port-forwarding NAT advertises an address its socket never
// shows. Two network namespaces made here (addresses from 198.18.0.0/15, the benchmarking
// range): A holds the bootstrapper and peer A; B holds peer B, which listens on 198.18.0.2:6001
// and advertises 198.18.0.3:7001, forwarded to it by a DNAT rule in A. B cannot dial A's P2P
// port (dropped in B), so the two can link only when A's dial through the NAT is accepted.

const tag = `${process.pid % 100_000}`;
const NS_A = `tg-nat-a-${tag}`;
const NS_B = `tg-nat-b-${tag}`;

function sh(...args: string[]): void {
  execFileSync(args[0]!, args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

function netnsUsable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to make network namespaces';
  try {
    sh('ip', 'netns', 'list');
    sh('nft', '--version');
  } catch {
    return 'needs the ip and nft commands (iproute2, nftables)';
  }
  return undefined;
}

function nft(ns: string, rules: string): void {
  execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: rules, timeout: 10_000 });
}

function ini(dir: string, name: string, lines: string[]): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(join(dir, `${name}.pem`), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const path = join(dir, `${name}.ini`);
  writeFileSync(path, `hostkey = ${name}.pem\n\n[gossip]\npow_bits = 8\ndegree = 4\n${lines.join('\n')}\n`);
  return path;
}

const skip = netnsUsable();
if (skip !== undefined) console.log(`nat.test.ts skipped: ${skip}`);

test('a peer behind NAT (advertise_address forwarded to its socket) links: no ERR_HS_WRONG_ADDRESS', {
  skip,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-nat-'));
  const procs: CliProcess[] = [];
  const vethA = `tgna${tag}`.slice(0, 15);
  const vethB = `tgnb${tag}`.slice(0, 15);
  try {
    sh('ip', 'netns', 'add', NS_A);
    sh('ip', 'netns', 'add', NS_B);
    sh('ip', 'link', 'add', vethA, 'type', 'veth', 'peer', 'name', vethB);
    sh('ip', 'link', 'set', vethA, 'netns', NS_A);
    sh('ip', 'link', 'set', vethB, 'netns', NS_B);
    sh('ip', '-n', NS_A, 'addr', 'add', '198.18.0.1/24', 'dev', vethA);
    sh('ip', '-n', NS_B, 'addr', 'add', '198.18.0.2/24', 'dev', vethB);
    for (const [ns, dev] of [
      [NS_A, vethA],
      [NS_B, vethB],
    ] as const) {
      sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
      sh('ip', '-n', ns, 'link', 'set', dev, 'up');
    }
    // The NAT in front of B: its public 198.18.0.3:7001 is forwarded to 198.18.0.2:6001.
    nft(
      NS_A,
      'table ip nat {\n chain out {\n  type nat hook output priority -100;\n  ip daddr 198.18.0.3 tcp dport 7001 dnat to 198.18.0.2:6001\n }\n}\n',
    );
    nft(
      NS_B,
      'table ip filter {\n chain out {\n  type filter hook output priority 0;\n  ip daddr 198.18.0.1 tcp dport 6002 drop\n }\n}\n',
    );
    const boot = ini(dir, 'boot', ['bootstrapper = 198.18.0.1:6000']);
    const a = ini(dir, 'a', [
      'bootstrapper = 198.18.0.1:6000',
      'p2p_address = 198.18.0.1:6002',
      'api_address = 127.0.0.1:0',
    ]);
    const b = ini(dir, 'b', [
      'bootstrapper = 198.18.0.1:6000',
      'p2p_address = 198.18.0.2:6001',
      'advertise_address = 198.18.0.3:7001',
      'api_address = 127.0.0.1:0',
    ]);
    const bootProc = new CliProcess(['bootstrap', '--config', boot], ['ip', 'netns', 'exec', NS_A]);
    procs.push(bootProc);
    await bootProc.waitFor(/listening on/, 30_000);
    const peerB = new CliProcess(['gossip', '--config', b], ['ip', 'netns', 'exec', NS_B]);
    procs.push(peerB);
    await peerB.waitFor(/gossip peer/, 30_000);
    const peerA = new CliProcess(['gossip', '--config', a], ['ip', 'netns', 'exec', NS_A]);
    procs.push(peerA);
    await Promise.all([peerA.waitFor(/neighbours 1/, 45_000), peerB.waitFor(/neighbours 1/, 45_000)]);
    for (const p of procs) assert.equal(await p.stop(), 0, p.stderr);
  } finally {
    await Promise.all(procs.map((p) => p.stop(2_000)));
    for (const ns of [NS_A, NS_B]) {
      try {
        sh('ip', 'netns', 'del', ns);
      } catch {
        // Not made (an earlier step failed).
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
