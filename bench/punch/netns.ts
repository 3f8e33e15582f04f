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
 * (conntrack: address-and-port-dependent filtering) and drops unsolicited packets to itself,
 * as home routers do; its mapping is one of:
 *   eim   endpoint-independent mapping: masquerade, source port kept (one mapping per socket)
 *   adm   address-dependent mapping: the public port comes from a range chosen by the
 *         destination address, so the sky node sees another port than the peer would
 *   apdm  address-and-port-dependent (symmetric): masquerade random, a new port per 5-tuple
 */
import { execFileSync, spawnSync } from 'node:child_process';

export type NatKind = 'eim' | 'adm' | 'apdm';
export const NAT_KINDS: readonly NatKind[] = ['eim', 'adm', 'apdm'];

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
    this.prefix = `tg${process.pid % 100_000}`;
    const p = this.prefix;
    this.ns = { pub: `${p}-pub`, na: `${p}-na`, nb: `${p}-nb`, ha: `${p}-ha`, hb: `${p}-hb` };
  }

  up(): void {
    const { pub, na, nb, ha, hb } = this.ns;
    this.down();
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
    const map =
      kind === 'eim'
        ? 'oifname "wan" masquerade'
        : kind === 'apdm'
          ? 'oifname "wan" masquerade random'
          : [
              `oifname "wan" meta l4proto tcp ip daddr ${SKY_ADDR} snat ip to ${wan}:20000-24999`,
              `oifname "wan" meta l4proto tcp ip daddr ${HOLDER_ADDR} snat ip to ${wan}:25000-29999`,
              `oifname "wan" meta l4proto tcp ip daddr ${other} snat ip to ${wan}:30000-34999`,
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
    for (const n of Object.values(this.ns)) spawnSync('ip', ['netns', 'del', n]);
  }
}
