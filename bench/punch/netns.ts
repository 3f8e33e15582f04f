/**
 * A small Internet in network namespaces for hole-punching tests (issue 11 item 3):
 *
 *   [A host 198.19.1.2] -- [NAT a: lan 198.19.1.1 | wan 198.18.0.11] --+
 *                                                                       +-- bridge "pub":
 *   [B host 198.19.2.2] -- [NAT b: lan 198.19.2.1 | wan 198.18.0.12] --+    sky 198.18.0.2,
 *                                                                            holder 198.18.0.3
 *
 * Addresses come from 198.18.0.0/15 (RFC 2544 benchmarking); no namespace has a link to the
 * host's own, so nothing is routed out. Each NAT forwards only what its LAN started
 * (conntrack: address-and-port-dependent filtering, RFC 4787 section 5) and drops unsolicited
 * packets to itself, as home routers do. Its mapping (RFC 4787 section 4.1) is one of:
 *
 *   eim       endpoint-independent: `masquerade`, which keeps the source port when it is free
 *             (Linux tries the original tuple first), so one socket has one public port.
 *   adm       address-dependent, allocating inside a port block: the LAN host's ports are the
 *             256-port block 40960-41215 and the public port is the source port XOR a key
 *             chosen by the destination address (the sky node, the holder, the other NAT and
 *             the rest each have theirs). So the mapping toward the peer is another port than
 *             the sky node saw, the same for every port of the peer's address, and inside the
 *             same aligned block: a carrier-grade NAT's per-subscriber block (RFC 7422) with a
 *             per-destination allocation inside it.
 *   adm-wide  the unfavourable address-dependent case: the same with a 4096-port block
 *             (40960-45055) and keys that always put the mapping toward the peer in another
 *             256-port block than the one the sky node saw: beyond any window we dial.
 *   apdm      address-and-port-dependent (symmetric): `masquerade random`, a random port in
 *             1024-65535 for every new connection.
 *
 * Why not `snat to ip:range`: measured on this kernel (6.18), it picks a scattered port in the
 * range for each new source port and then keeps it for every destination (one source port
 * gave one public port toward two addresses and three ports each; six fresh sockets gave six
 * scattered ports): endpoint-independent per socket, not address-dependent. (Kernels up to
 * 4.x took the next port from a shared rover: sequential.) The previous lab's per-destination
 * ranges were thus three EIM ranges, not one address-dependent NAT.
 * The XOR mapping is stateless, so it cannot move a colliding mapping
 * aside as a stateful NAT would; confining the LAN host's ephemeral ports to the block
 * (`net.ipv4.ip_local_port_range`) makes it a permutation per destination, so no two
 * sockets ever collide (and `tcp_tw_reuse=1` keeps the confined host from tripping over its
 * own TIME_WAIT 4-tuples, see nat()).
 */
import { execFileSync, spawnSync } from 'node:child_process';

export type NatKind = 'eim' | 'adm' | 'adm-wide' | 'apdm';
export const NAT_KINDS: readonly NatKind[] = ['eim', 'adm', 'adm-wide', 'apdm'];

/** Per-destination XOR keys of the address-dependent NATs (see above). */
const ADM = {
  adm: { ports: [40960, 41215], sky: 0x5a, holder: 0xa5, peer: 0x3c, other: 0xc3 },
  // Bits 8-11 of the sky and peer keys differ: the two mappings are in different 256-blocks.
  'adm-wide': { ports: [40960, 45055], sky: 0x15a, holder: 0x2a5, peer: 0xa3c, other: 0x5c3 },
} as const;

export const SKY_ADDR = '198.18.0.2';
export const HOLDER_ADDR = '198.18.0.3';
export const A_HOST = '198.19.1.2';
export const B_HOST = '198.19.2.2';

/** Why namespaces cannot be used here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (ip netns needs CAP_SYS_ADMIN)';
  for (const tool of ['ip', 'nft']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
      return `${tool} not installed (apt-get install ${tool === 'ip' ? 'iproute2' : 'nftables'})`;
    }
  }
  const probe = `tgprobe${process.pid}`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.status !== 0) return `ip netns add failed: ${r.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return undefined;
}

function sh(args: string[], input?: string): void {
  execFileSync(args[0]!, args.slice(1), { stdio: ['pipe', 'ignore', 'pipe'], ...(input ? { input } : {}) });
}

export class NatLab {
  readonly prefix: string;
  readonly ns: { pub: string; na: string; nb: string; ha: string; hb: string };

  constructor() {
    this.prefix = `tg${process.pid}`;
    const p = this.prefix;
    this.ns = { pub: `${p}-pub`, na: `${p}-na`, nb: `${p}-nb`, ha: `${p}-ha`, hb: `${p}-hb` };
  }

  #cleanup = () => this.down();
  #onSignal = (signal: NodeJS.Signals) => {
    this.down();
    process.kill(process.pid, signal);
  };

  /**
   * Makes the namespaces. They are deleted by down(), and also when this process exits or is
   * interrupted, and by the next up() of any run if this process died without either.
   */
  up(): void {
    const { pub, na, nb, ha, hb } = this.ns;
    this.down();
    sweepStale();
    process.once('exit', this.#cleanup);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, this.#onSignal);
    for (const n of [pub, na, nb, ha, hb]) {
      sh(['ip', 'netns', 'add', n]);
      sh(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
    }
    sh(['ip', '-n', pub, 'link', 'add', 'br0', 'type', 'bridge']);
    sh(['ip', '-n', pub, 'link', 'set', 'br0', 'up']);
    sh(['ip', '-n', pub, 'addr', 'add', `${SKY_ADDR}/24`, 'dev', 'br0']);
    sh(['ip', '-n', pub, 'addr', 'add', `${HOLDER_ADDR}/24`, 'dev', 'br0']);
    const side = (nat: string, host: string, wan: string, lanNet: string, peerIf: string) => {
      sh(['ip', 'link', 'add', 'wan', 'netns', nat, 'type', 'veth', 'peer', 'name', peerIf, 'netns', pub]);
      sh(['ip', '-n', pub, 'link', 'set', peerIf, 'master', 'br0', 'up']);
      sh(['ip', '-n', nat, 'addr', 'add', `${wan}/24`, 'dev', 'wan']);
      sh(['ip', '-n', nat, 'link', 'set', 'wan', 'up']);
      sh(['ip', 'link', 'add', 'lan', 'netns', nat, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host]);
      sh(['ip', '-n', nat, 'addr', 'add', `${lanNet}.1/24`, 'dev', 'lan']);
      sh(['ip', '-n', nat, 'link', 'set', 'lan', 'up']);
      sh(['ip', '-n', host, 'addr', 'add', `${lanNet}.2/24`, 'dev', 'eth0']);
      sh(['ip', '-n', host, 'link', 'set', 'eth0', 'up']);
      sh(['ip', '-n', host, 'route', 'add', 'default', 'via', `${lanNet}.1`]);
      sh(['ip', 'netns', 'exec', nat, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    };
    side(na, ha, '198.18.0.11', '198.19.1', 'pa');
    side(nb, hb, '198.18.0.12', '198.19.2', 'pb');
  }

  /** Sets the mapping behaviour of NAT `which` ('a' or 'b'). */
  nat(which: 'a' | 'b', kind: NatKind): void {
    const ns = which === 'a' ? this.ns.na : this.ns.nb;
    const wan = which === 'a' ? '198.18.0.11' : '198.18.0.12';
    const other = which === 'a' ? '198.18.0.12' : '198.18.0.11';
    const host = which === 'a' ? this.ns.ha : this.ns.hb;
    const adm = kind === 'adm' || kind === 'adm-wide' ? ADM[kind] : undefined;
    sh([
      'ip',
      'netns',
      'exec',
      host,
      'sysctl',
      '-qw',
      `net.ipv4.ip_local_port_range=${adm ? `${adm.ports[0]} ${adm.ports[1]}` : '32768 60999'}`,
    ]);
    // With its ports confined to the block, the host meets its own recent 4-tuples again (a
    // fresh socket on a port whose last connection to the same peer is in TIME_WAIT, 60 s):
    // connect() then fails with EADDRNOTAVAIL, which a host with 28,000 ephemeral ports
    // behind a real NAT would not see. tcp_tw_reuse=1 lets it reuse a TIME_WAIT 4-tuple.
    sh(['ip', 'netns', 'exec', host, 'sysctl', '-qw', `net.ipv4.tcp_tw_reuse=${adm ? 1 : 2}`]);
    const xor = (daddr: string | undefined, key: number) =>
      `oifname "wan" meta l4proto tcp ${daddr ? `ip daddr ${daddr} ` : ''}snat ip to ${wan} : tcp sport ^ ${key}`;
    const map =
      kind === 'eim'
        ? 'oifname "wan" masquerade'
        : kind === 'apdm'
          ? 'oifname "wan" masquerade random'
          : [
              xor(SKY_ADDR, adm!.sky),
              xor(HOLDER_ADDR, adm!.holder),
              xor(other, adm!.peer),
              xor(undefined, adm!.other),
              'oifname "wan" masquerade',
            ].join('\n    ');
    const rules = `flush ruleset
table ip nat {
  chain tg_post {
    type nat hook postrouting priority srcnat; policy accept;
    ${map}
  }
}
table ip filter {
  chain tg_forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan" accept
  }
  chain tg_input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    iifname "lo" accept
    iifname "lan" accept
  }
}
`;
    sh(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], rules);
  }

  down(): void {
    process.off('exit', this.#cleanup);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(sig, this.#onSignal);
    for (const n of Object.values(this.ns)) spawnSync('ip', ['netns', 'del', n]);
  }
}

/** Deletes the namespaces of runs whose process is gone (`tg<pid>-...`, see NatLab). */
function sweepStale(): void {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of list.split('\n')) {
    const m = /^(tg(\d+)-(?:pub|na|nb|ha|hb))\b/.exec(line);
    if (m === null) continue;
    const pid = Number(m[2]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) spawnSync('ip', ['netns', 'del', m[1]!]);
  }
}
