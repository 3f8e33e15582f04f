/**
 * Structural defences against Sybil and eclipse attacks (issue 10 item 5), pure functions the
 * engine's link upkeep and the Sybil simulation (test/harness/sybilnet.ts) share.
 *
 * PoW prices an identity, but an attacker who spends all of its machines on PoW outspends an
 * honest peer that spends 1 % of one core. What it cannot buy with hash power is address
 * diversity, so the neighbour choice is made to depend on address groups (Bitcoin addrman's
 * idea; Heilman et al., "Eclipse Attacks on Bitcoin's Peer-to-Peer Network", 2015):
 * - inbound links are capped per address and per address group, and a full peer makes room by
 *   evicting the newest link of its most crowded group, never a link that recently brought us
 *   an item first (a peer that drops what it should relay earns no protection) nor one of the
 *   longest-lived quarter (Bitcoin's `AttemptToEvictConnection`, reduced to what gossip sees);
 * - outbound neighbours are chosen group first (uniform over groups, at most one per group),
 *   then address: a thousand identities in one /16 weigh as much as one;
 * - a few outbound links go to anchors, peers verified long ago, kept across restarts and
 *   dialled first, so that a restart is not the moment an attacker wins.
 * A peer also always keeps `minOutbound` links it dialled itself, whatever its inbound count:
 * an attacker filling our inbound slots must not stop us from choosing neighbours ourselves.
 */
import { isIP } from 'node:net';
import { hostBytes } from '../../admission/endpoint.js';
import { defineLimits } from '../../util/limits.js';
import { type Random, shuffleInPlace } from '../../util/random.js';

export const diversityLimits = defineLimits('gossip-diversity', {
  maxInboundPerAddress: {
    default: 2,
    min: 1,
    max: 64,
    unit: 'count',
    doc: 'inbound links from one IP address (a few, for peers behind one NAT)',
  },
  maxInboundPerGroup: {
    default: 4,
    min: 1,
    max: 64,
    unit: 'count',
    doc: 'inbound links from one address group (IPv4 /16, IPv6 /32)',
  },
  minOutbound: {
    default: 8,
    min: 1,
    max: 64,
    unit: 'count',
    doc: 'links a peer always dials itself, across distinct groups, however many inbound links it has (Bitcoin: 8)',
  },
  anchors: {
    default: 2,
    min: 0,
    max: 8,
    unit: 'count',
    doc: 'outbound links kept to long-verified peers, remembered across restarts and dialled first',
  },
  anchorMinAgeMs: {
    default: 30 * 60_000,
    min: 0,
    max: 24 * 3_600_000,
    unit: 'ms',
    doc: 'how long an outbound link must have lived before its peer becomes an anchor',
  },
});

export type DiversityLimits = typeof diversityLimits.defaults;

export type GroupKey = string | number;

/**
 * IPv4 /16 or IPv6 /32: the unit an attacker pays for (a provider's block), not the address.
 * A host name (only ever configured, never learnt from peers) is its own group.
 */
export function addressGroup(host: string): string {
  if (isIP(host) === 0) return host;
  const b = hostBytes(host);
  if (b.length === 4) return `${b[0]}.${b[1]}`;
  return Buffer.from(b.subarray(0, 4)).toString('hex');
}

export interface InboundLink<K> {
  readonly key: K;
  readonly address: GroupKey;
  readonly group: GroupKey;
  readonly openedAt: number;
  /** The link recently brought us an item we had not seen (first copy). */
  readonly useful: boolean;
}

export type InboundVerdict<K> =
  | { readonly ok: true; readonly evict: K | undefined }
  | {
      readonly ok: false;
      readonly code:
        | 'ERR_GOSSIP_INBOUND_ADDRESS_CAP'
        | 'ERR_GOSSIP_INBOUND_GROUP_CAP'
        | 'ERR_GOSSIP_TOO_MANY_LINKS';
    };

/**
 * May a new inbound link from `address` in `group` join `inbound` (at most `maxInbound`)? When
 * full, the newest link of the most crowded group is evicted, among the links neither useful
 * nor in the longest-lived quarter; if every link is protected the newcomer is refused.
 */
export function admitInbound<K>(
  inbound: readonly InboundLink<K>[],
  address: GroupKey,
  group: GroupKey,
  maxInbound: number,
  limits: DiversityLimits,
): InboundVerdict<K> {
  let sameAddress = 0;
  let sameGroup = 0;
  for (const l of inbound) {
    if (l.address === address) sameAddress++;
    if (l.group === group) sameGroup++;
  }
  if (sameAddress >= limits.maxInboundPerAddress)
    return { ok: false, code: 'ERR_GOSSIP_INBOUND_ADDRESS_CAP' };
  if (sameGroup >= limits.maxInboundPerGroup) return { ok: false, code: 'ERR_GOSSIP_INBOUND_GROUP_CAP' };
  if (inbound.length < maxInbound) return { ok: true, evict: undefined };
  // Newest first; the oldest quarter is protected: links that proved stable are not churned out.
  const byAge = [...inbound].sort((a, b) => b.openedAt - a.openedAt);
  const counts = new Map<GroupKey, InboundLink<K>[]>();
  for (const l of byAge.slice(0, byAge.length - Math.floor(byAge.length / 4))) {
    if (l.useful) continue;
    const list = counts.get(l.group);
    if (list === undefined) counts.set(l.group, [l]);
    else list.push(l);
  }
  let crowd: InboundLink<K>[] = [];
  for (const list of counts.values()) if (list.length > crowd.length) crowd = list;
  if (crowd.length === 0) return { ok: false, code: 'ERR_GOSSIP_TOO_MANY_LINKS' };
  return { ok: true, evict: crowd[0]!.key };
}

/** Outbound links a peer should have: `degree` less its inbound links, never below `minOutbound`. */
export function outboundTarget(degree: number, inbound: number, limits: DiversityLimits): number {
  return Math.max(Math.min(limits.minOutbound, degree), degree - inbound);
}

/** Dialable entries by address group, for `pickOutbound`. */
export interface OutboundTable<T> {
  readonly groups: readonly GroupKey[];
  readonly byGroup: ReadonlyMap<GroupKey, readonly T[]>;
}

export function outboundTable<T>(entries: Iterable<T>, groupOf: (entry: T) => GroupKey): OutboundTable<T> {
  const byGroup = new Map<GroupKey, T[]>();
  for (const e of entries) {
    const g = groupOf(e);
    const list = byGroup.get(g);
    if (list === undefined) byGroup.set(g, [e]);
    else list.push(e);
  }
  return { groups: [...byGroup.keys()], byGroup };
}

/**
 * Picks the next outbound neighbour: a group uniformly among those with no outbound link of
 * ours yet, then an entry in it uniformly. The caller skips entries it is already linked to.
 */
export function pickOutbound<T>(
  table: OutboundTable<T>,
  usedGroups: ReadonlySet<GroupKey>,
  random: Random,
): T | undefined {
  const { groups, byGroup } = table;
  if (groups.length === 0) return undefined;
  // Usually few groups are used: sample and retry before listing the free ones.
  for (let i = 0; i < 8; i++) {
    const g = groups[random.int(groups.length)]!;
    if (!usedGroups.has(g)) {
      const list = byGroup.get(g)!;
      return list[random.int(list.length)];
    }
  }
  const free = groups.filter((g) => !usedGroups.has(g));
  if (free.length === 0) return undefined;
  const list = byGroup.get(free[random.int(free.length)]!)!;
  return list[random.int(list.length)];
}

/**
 * The order in which to dial `entries`: shuffled, then one entry of each group we have no
 * outbound link in, before any second entry of a group (`pickOutbound` for a dial loop that
 * takes candidates in turn).
 */
export function orderAcrossGroups<T>(
  entries: readonly T[],
  groupOf: (entry: T) => GroupKey,
  usedGroups: ReadonlySet<GroupKey>,
  random: Random,
): T[] {
  const shuffled = shuffleInPlace([...entries], random);
  const first: T[] = [];
  const rest: T[] = [];
  const seen = new Set<GroupKey>(usedGroups);
  for (const e of shuffled) {
    const g = groupOf(e);
    if (seen.has(g)) rest.push(e);
    else {
      seen.add(g);
      first.push(e);
    }
  }
  return [...first, ...rest];
}

export interface OutboundLink<K> {
  readonly key: K;
  /** When the peer on this link first proved its PoW to us. */
  readonly verifiedSince: number;
}

/** The anchors: the `limits.anchors` longest-verified outbound peers verified at least `anchorMinAgeMs`. */
export function chooseAnchors<K>(
  outbound: readonly OutboundLink<K>[],
  now: number,
  limits: DiversityLimits,
): K[] {
  return outbound
    .filter((l) => now - l.verifiedSince >= limits.anchorMinAgeMs)
    .sort((a, b) => a.verifiedSince - b.verifiedSince)
    .slice(0, limits.anchors)
    .map((l) => l.key);
}
