/**
 * Peers: links, the PoW verification of seed 002, the known-peers list, peer exchange and
 * the upkeep that keeps `degree` neighbours and re-joins through the bootstrapper.
 *
 * Seed 002: "Peers will be validated before they are to be added to a known-peers-list or if
 * they provide peers via a GOSSIP PEER REQUEST and RESPONSE." So: a link carries items only
 * once its peer proved a 24-bit sha256-bits PoW over our VERIFICATION REQUEST's nonce; an
 * address enters the known list only then; offered addresses are mere candidates until we
 * dialled and verified them; PEER RESPONSEs are read only from verified peers and from the
 * configured bootstrapper.
 */

import { type Endpoint, formatAddressBytes, hostBytes } from '../../admission/endpoint.js';
import { shuffleInPlace } from '../../util/random.js';
import {
  encodeP2P,
  GOSSIP_HELLO,
  GOSSIP_PEER_REQUEST,
  GOSSIP_PEER_RESPONSE,
  GOSSIP_VERIFICATION_REQUEST,
  GOSSIP_VERIFICATION_RESPONSE,
  type Hello,
  PEER_REQUEST_LIMIT_MAX,
  type PeerRequest,
  type PeerResponse,
  type VerificationRequest,
  type VerificationResponse,
  verificationBinding,
  verificationPowParts,
  verificationPowPrefix,
  type PeerAddress as WireAddress,
} from '../../wire/gossip-p2p.js';
import {
  addressGroup,
  admitInbound,
  chooseAnchors,
  type DiversityLimits,
  diversityLimits,
  type GroupKey,
  type InboundLink,
  type OutboundLink,
  orderAcrossGroups,
  outboundTarget,
} from './diversity.js';
import { addressKey, type EngineState, type Link, type LinkId, type Step } from './state.js';

function toWire(e: Endpoint): WireAddress {
  return { addr: hostBytes(e.host), port: e.port };
}

function fromWire(w: WireAddress): Endpoint {
  return { host: formatAddressBytes(w.addr), port: w.port };
}

/** Links that carry items: verified, not the bootstrap link. */
export function neighbours(s: Step): LinkId[] {
  const out: LinkId[] = [];
  for (const link of s.state.links.values()) if (link.verified && !link.bootstrap) out.push(link.id);
  return out;
}

/** A nonce that is never 0 (0 marks "no challenge" in a PEER RESPONSE). */
function freshNonce(s: Step): bigint {
  const n = s.deps.random.u64();
  return n === 0n ? 1n : n;
}

/** Address and group of an inbound peer for the caps; loopback: every connection its own (a local testbed). */
function inboundKeys(remote: Endpoint): { address: string; group: string } {
  const group = knownGroup(remote);
  return group.startsWith('lo:') ? { address: group, group } : { address: remote.host, group };
}

/**
 * Inbound caps and eviction (diversity.ts, issue 10): at most `maxInboundPerAddress` links
 * from one IP and `maxInboundPerGroup` from one group, and at most `maxLinks` - `minOutbound`
 * inbound links, so that our own outbound dials always find room. When full, the newest link
 * of the most crowded group goes (never a useful one, nor one of the oldest quarter).
 */
function admitInboundLink(
  s: Step,
  remote: Endpoint,
): { ok: true; evict: Link | undefined } | { ok: false; code: string } {
  const lim = s.deps.diversity ?? diversityLimits.defaults;
  const p = s.deps.params;
  const inbound: InboundLink<Link>[] = [];
  for (const l of s.state.links.values()) {
    if (l.dialled !== undefined || l.bootstrap || l.remote === undefined) continue;
    const k = inboundKeys(l.remote);
    inbound.push({
      key: l,
      address: k.address,
      group: k.group,
      openedAt: l.openedAt,
      useful: s.now - l.lastUseful < USEFUL_MS,
    });
  }
  const k = inboundKeys(remote);
  const maxInbound = Math.max(1, p.maxLinks - Math.min(lim.minOutbound, p.degree));
  const verdict = admitInbound(inbound, k.address, k.group, maxInbound, lim);
  return verdict.ok ? { ok: true, evict: verdict.evict } : verdict;
}

/** A link that brought us an item first within this long is not evicted for a newcomer. */
const USEFUL_MS = 10 * 60_000;

export function onPeerOpen(
  s: Step,
  ev: { link: LinkId; identity: string; dialled?: Endpoint; remote?: Endpoint; bootstrap?: boolean },
): void {
  const st = s.state;
  const bootstrap = ev.bootstrap === true;
  if (bootstrap) st.bootstrapDialling = false;
  if (ev.dialled !== undefined) st.dialling.delete(addressKey(ev.dialled));
  if (ev.identity === s.deps.identity) {
    s.emit({ kind: 'peer-close', link: ev.link, code: 'ERR_GOSSIP_SELF_LINK' });
    s.count('ERR_GOSSIP_SELF_LINK');
    if (ev.dialled !== undefined) forgetAddress(s, ev.dialled);
    return;
  }
  const cap = s.deps.isBootstrapper ? s.deps.params.maxBootstrapLinks : s.deps.params.maxLinks;
  if (st.links.size >= cap && !bootstrap) {
    s.emit({ kind: 'peer-close', link: ev.link, code: 'ERR_GOSSIP_TOO_MANY_LINKS' });
    s.count('ERR_GOSSIP_TOO_MANY_LINKS');
    return;
  }
  if (!bootstrap) {
    // One link per identity. When both dialled each other at once, both keep the link dialled
    // by the smaller identity, so they agree without talking.
    for (const other of st.links.values()) {
      if (other.identity !== ev.identity || other.bootstrap) continue;
      const newDialler = ev.dialled !== undefined ? s.deps.identity : ev.identity;
      const oldDialler = other.dialled !== undefined ? s.deps.identity : other.identity;
      // A verified link is never given up for a new one: the new one is most often the peer's
      // probe of the address we claimed in HELLO, which it closes at once, so keeping the probe
      // (by the dialler rule below) dropped a working neighbour, half the time.
      if (other.verified || newDialler === oldDialler || oldDialler < newDialler) {
        s.emit({ kind: 'peer-close', link: ev.link, code: 'ERR_GOSSIP_DUPLICATE_LINK' });
        s.count('ERR_GOSSIP_DUPLICATE_LINK');
        return;
      }
      dropLink(s, other, 'ERR_GOSSIP_DUPLICATE_LINK', false);
      break;
    }
  }
  // After the one-link-per-identity rule: a second link from a peer we keep (its probe of our
  // HELLO address, most often) must not evict anyone on its way to being closed.
  if (!bootstrap && ev.dialled === undefined && ev.remote !== undefined && !s.deps.isBootstrapper) {
    const admitted = admitInboundLink(s, ev.remote);
    if (!admitted.ok) {
      s.emit({ kind: 'peer-close', link: ev.link, code: admitted.code });
      s.count(admitted.code);
      return;
    }
    if (admitted.evict !== undefined) dropLink(s, admitted.evict, 'ERR_GOSSIP_EVICTED', false);
  }
  const until = st.verifiedIds.get(ev.identity);
  const link: Link = {
    id: ev.link,
    identity: ev.identity,
    openedAt: s.now,
    dialled: ev.dialled,
    bootstrap,
    remote: ev.remote,
    lastUseful: Number.NEGATIVE_INFINITY,
    verifiedAt: bootstrap || (until !== undefined && until > s.now) ? s.now : undefined,
    listen: ev.dialled,
    // The configured bootstrapper is trusted by configuration, not by PoW (docs/gossip.md).
    verified: bootstrap || (until !== undefined && until > s.now),
    challenge: undefined,
    peerRequest: undefined,
    lastPeerRequestServed: Number.NEGATIVE_INFINITY,
    claimed: undefined,
    helloSeen: false,
    solves: 0,
    solving: false,
    deferredSolve: undefined,
    invalid: 0,
    unwanted: 0,
    unwantedSince: s.now,
    gotPeerResponse: false,
  };
  st.links.set(link.id, link);
  s.count('gossip_links_opened');
  s.emit({
    kind: 'peer-send',
    link: link.id,
    frame: encodeP2P({ type: GOSSIP_HELLO, listen: toWire(s.deps.listen) }),
  });
  // The bootstrapper asks for the PoW inside its PEER RESPONSE instead (one round trip less).
  if (!link.verified && !s.deps.isBootstrapper) {
    link.challenge = freshNonce(s);
    s.emit({
      kind: 'peer-send',
      link: link.id,
      frame: encodeP2P({ type: GOSSIP_VERIFICATION_REQUEST, nonce: link.challenge }),
    });
  }
  if (link.verified) markKnown(s, link);
  if (bootstrap) sendPeerRequest(s, link);
}

export function onHello(s: Step, link: Link, msg: Hello): void {
  // One HELLO per link, one listen address per identity: a peer that re-sends HELLO with new
  // addresses does not get to fill our known list with them (issue 10).
  if (link.helloSeen) {
    s.count('ERR_GOSSIP_HELLO_REPEATED');
    return;
  }
  link.helloSeen = true;
  // A dialled peer is known by the address we reached it on; HELLO matters for inbound links.
  if (link.dialled !== undefined) return;
  link.claimed = fromWire(msg.listen);
  if (link.verified) markKnown(s, link);
}

export function onVerificationRequest(s: Step, link: Link, msg: VerificationRequest): void {
  // The one who dialled proves first: on a link a stranger opened to us, we solve its puzzle
  // only once it solved ours, so that our CPU is never spent before the stranger spent as
  // much (issue 10: VERIFICATION REQUEST as a CPU amplifier). A link we dialled goes to a peer
  // we chose; we answer at once, and the two proofs cannot wait on each other.
  if (link.dialled === undefined && !link.verified && !link.bootstrap) {
    if (link.deferredSolve !== undefined || link.solving) {
      dropLink(s, link, 'ERR_GOSSIP_TOO_MANY_REQUESTS', false);
      return;
    }
    link.deferredSolve = msg.nonce;
    return;
  }
  askSolve(s, link, msg.nonce);
}

function askSolve(s: Step, link: Link, nonce: bigint): void {
  // Each solve costs us 2^pow_bits hashes on average: a peer gets a fixed number per link.
  if (link.solving || link.solves >= s.deps.params.maxSolvesPerLink) {
    dropLink(s, link, 'ERR_GOSSIP_TOO_MANY_REQUESTS', false);
    return;
  }
  const st = s.state;
  if (st.solving.size >= s.deps.params.maxSolving && st.solveQueue.length >= s.deps.params.maxSolveQueue) {
    dropLink(s, link, 'ERR_GOSSIP_SOLVE_BUSY', false);
    return;
  }
  link.solves++;
  link.solving = true;
  st.solveQueue.push({ link: link.id, nonce });
  pumpSolves(s);
}

/** Starts queued solves while fewer than `maxSolving` run: one global queue for every link. */
function pumpSolves(s: Step): void {
  const st = s.state;
  while (st.solving.size < s.deps.params.maxSolving) {
    const next = st.solveQueue.shift();
    if (next === undefined) return;
    const link = st.links.get(next.link);
    // A link closed while it waited is simply skipped: nothing was spent on it.
    if (link === undefined) continue;
    st.solving.add(link.id);
    s.count('gossip_solves');
    s.emit({
      kind: 'solve',
      link: link.id,
      nonce: next.nonce,
      // Bound to the asker (verifier) and us (prover): not solvable on anyone else's behalf.
      prefix: verificationPowPrefix(next.nonce, verificationBinding(link.identity, s.deps.identity)),
      bits: s.deps.params.powBits,
    });
  }
}

export function onSolved(s: Step, linkId: LinkId, nonce: bigint, solution: bigint): void {
  s.state.solving.delete(linkId);
  pumpSolves(s);
  const link = s.state.links.get(linkId);
  if (link === undefined) return;
  link.solving = false;
  s.emit({
    kind: 'peer-send',
    link: linkId,
    frame: encodeP2P({ type: GOSSIP_VERIFICATION_RESPONSE, nonce, challenge: solution }),
  });
}

/**
 * The solver gave up (its pool was busy, the link closed and the solve was cancelled, or it
 * failed): the peer will not get its proof, so the link cannot become a neighbour link. Closed
 * now rather than left "solving", which would also exempt it from the verification timeout.
 */
export function onSolveFailed(s: Step, linkId: LinkId, _nonce: bigint): void {
  s.state.solving.delete(linkId);
  pumpSolves(s);
  const link = s.state.links.get(linkId);
  if (link === undefined) return;
  link.solving = false;
  dropLink(s, link, 'ERR_GOSSIP_SOLVE_FAILED', false);
}

export function onVerificationResponse(
  s: Step,
  link: Link,
  msg: VerificationResponse,
  frame: Uint8Array,
): void {
  if (link.challenge === undefined || msg.nonce !== link.challenge) {
    s.count('ERR_GOSSIP_UNSOLICITED');
    return;
  }
  // Seed 002: SHA-256 of the whole VERIFICATION RESPONSE, as received, has >= 24 leading zero bits.
  const { challenge, nonce } = verificationPowParts(
    frame,
    verificationBinding(s.deps.identity, link.identity),
  );
  if (!s.deps.verifyPow(challenge, nonce, s.deps.params.powBits)) {
    dropLink(s, link, 'ERR_GOSSIP_POW_INVALID', false);
    return;
  }
  link.challenge = undefined;
  link.verified = true;
  link.verifiedAt = s.now;
  s.state.verifiedIds.set(link.identity, s.now + s.deps.params.verifiedTtlMs);
  s.count('gossip_peer_verified');
  markKnown(s, link);
  const deferred = link.deferredSolve;
  if (deferred !== undefined) {
    link.deferredSolve = undefined;
    askSolve(s, link, deferred);
  }
}

/**
 * Puts a verified peer into the known-peers list under its identity. Its address is one we
 * dialled and reached that identity on: the address we dialled, or the one its HELLO claimed
 * once a probe (a dial back) found the same identity there. So a peer cannot have us list,
 * hand out or dial an address that is not its own (issue 10: a reflection of our dials onto
 * third parties, and known lists filled with one attacker's made-up addresses).
 */
function markKnown(s: Step, link: Link): void {
  if (link.bootstrap) return;
  if (link.dialled !== undefined) {
    addKnown(s, link.identity, link.dialled);
    return;
  }
  const claimed = link.claimed;
  if (claimed === undefined) return;
  const key = addressKey(claimed);
  const entry = s.state.known.get(link.identity);
  if (entry !== undefined && addressKey(entry.address) === key) {
    entry.lastSeen = s.now;
    link.listen = entry.address;
    return;
  }
  const st = s.state;
  const last = st.probedAt.get(key);
  if (st.probes.has(key) || (last !== undefined && s.now - last < s.deps.params.probeBackoffMs)) {
    s.count('gossip_probe_skipped');
    return;
  }
  if (st.probes.size >= s.deps.params.maxProbes) {
    s.count('gossip_probe_skipped');
    return;
  }
  st.probes.set(key, link.identity);
  st.probedAt.set(key, s.now);
  s.emit({ kind: 'probe', address: claimed, identity: link.identity });
  s.count('gossip_probe');
}

/** A probe came back: `ok` when `address` answered as `identity`. */
export function onProbeResult(s: Step, address: Endpoint, identity: string, ok: boolean): void {
  const key = addressKey(address);
  if (s.state.probes.get(key) !== identity) return;
  s.state.probes.delete(key);
  if (!ok) {
    s.count('ERR_GOSSIP_PROBE_FAILED');
    return;
  }
  addKnown(s, identity, address);
  for (const link of s.state.links.values()) if (link.identity === identity) link.listen = address;
}

/** The address group of an IP: IPv4 /16, IPv6 /32 (the idea of Bitcoin's addrman buckets). */
export function knownGroup(address: Endpoint): string {
  const b = hostBytes(address.host);
  // Loopback is one machine's own test network: every port its own group, or a local testbed
  // of more than maxKnownPerGroup peers could not list them all.
  if ((b.length === 4 && b[0] === 127) || address.host === '::1') return `lo:${address.host}:${address.port}`;
  return b.length === 4 ? `4:${b[0]}.${b[1]}` : `6:${Buffer.from(b.subarray(0, 4)).toString('hex')}`;
}

function addKnown(s: Step, identity: string, address: Endpoint): void {
  const st = s.state;
  const key = addressKey(address);
  st.candidates.delete(key);
  // One identity per address, one address per identity: the newest proof wins.
  const holder = st.knownByAddress.get(key);
  if (holder !== undefined && holder !== identity) forgetKnown(s, holder);
  const entry = st.known.get(identity);
  if (entry !== undefined) forgetKnown(s, identity);
  const group = knownGroup(address);
  let inGroup = 0;
  for (const e of st.known.values()) if (e.group === group) inGroup++;
  // A full group (or list) makes room from its least recently seen peer we are not linked to;
  // with none, the newcomer is not listed (its link is unaffected).
  if (inGroup >= s.deps.params.maxKnownPerGroup && !evictOldestKnown(s, group)) {
    s.count('gossip_known_group_full');
    return;
  }
  if (st.known.size >= s.deps.params.maxKnownPeers && !evictOldestKnown(s, undefined)) {
    s.count('gossip_known_full');
    return;
  }
  st.known.set(identity, { address, identity, group, lastSeen: s.now });
  st.knownByAddress.set(key, identity);
}

function forgetKnown(s: Step, identity: string): void {
  const entry = s.state.known.get(identity);
  if (entry === undefined) return;
  s.state.known.delete(identity);
  s.state.knownByAddress.delete(addressKey(entry.address));
}

/** Evicts the least recently seen known peer (of `group`, if given) that we are not linked to. */
function evictOldestKnown(s: Step, group: string | undefined): boolean {
  const linked = new Set<string>();
  for (const link of s.state.links.values()) linked.add(link.identity);
  let oldest: string | undefined;
  let at = Number.POSITIVE_INFINITY;
  for (const entry of s.state.known.values()) {
    if (group !== undefined && entry.group !== group) continue;
    if (entry.lastSeen < at && !linked.has(entry.identity)) {
      at = entry.lastSeen;
      oldest = entry.identity;
    }
  }
  if (oldest === undefined) return false;
  forgetKnown(s, oldest);
  return true;
}

export function sendPeerRequest(s: Step, link: Link): void {
  const nonce = freshNonce(s);
  const limit = Math.min(PEER_REQUEST_LIMIT_MAX, Math.max(1, s.deps.params.peerRequestLimit));
  link.peerRequest = { nonce, at: s.now, left: limit };
  s.emit({ kind: 'peer-send', link: link.id, frame: encodeP2P({ type: GOSSIP_PEER_REQUEST, limit, nonce }) });
}

export function onPeerRequest(s: Step, link: Link, msg: PeerRequest): void {
  // The bootstrapper serves newcomers (that is its job); peers serve verified peers only.
  if (!link.verified && !s.deps.isBootstrapper) {
    s.count('ERR_GOSSIP_UNVERIFIED');
    return;
  }
  if (s.now - link.lastPeerRequestServed < s.deps.params.peerRequestMinIntervalMs) {
    s.count('ERR_GOSSIP_TOO_MANY_REQUESTS');
    return;
  }
  link.lastPeerRequestServed = s.now;
  // Only verified peers are handed out (seed 002; issue: "a bootstrapper that only hands out
  // verified peers"), never the asker itself.
  const chosen = diversePick(s, link.identity, msg.limit);
  let challenge = 0n;
  if (!link.verified && link.challenge === undefined) {
    link.challenge = freshNonce(s);
    challenge = link.challenge;
  }
  const v4 = chosen.filter((a) => !a.host.includes(':')).map(toWire);
  const v6 = chosen.filter((a) => a.host.includes(':')).map(toWire);
  // One family per message (the X flag); the challenge rides on the first one.
  const groups: [boolean, WireAddress[]][] = [[false, v4]];
  if (v6.length > 0) groups.push([true, v6]);
  for (const [ipv6, peers] of groups) {
    s.emit({
      kind: 'peer-send',
      link: link.id,
      frame: encodeP2P({ type: GOSSIP_PEER_RESPONSE, nonce: msg.nonce, challenge, ipv6, peers }),
    });
    challenge = 0n;
  }
  s.count('gossip_peer_request_served');
}

/**
 * Up to `limit` known peers other than `asker`, drawn from as many address groups as there
 * are: one from each group in random order, then a second from each, and so on. A newcomer
 * thus learns peers from across the network even when one group (one attacker's addresses)
 * holds most of the list (issue 10; the idea of Bitcoin's addrman buckets).
 */
function diversePick(s: Step, asker: string, limit: number): Endpoint[] {
  const groups = new Map<string, Endpoint[]>();
  for (const e of s.state.known.values()) {
    if (e.identity === asker) continue;
    let list = groups.get(e.group);
    if (list === undefined) {
      list = [];
      groups.set(e.group, list);
    }
    list.push(e.address);
  }
  const lists = [...groups.values()];
  shuffleInPlace(lists, s.deps.random);
  for (const list of lists) shuffleInPlace(list, s.deps.random);
  const out: Endpoint[] = [];
  for (let round = 0; out.length < limit; round++) {
    let any = false;
    for (const list of lists) {
      const a = list[round];
      if (a === undefined) continue;
      any = true;
      out.push(a);
      if (out.length >= limit) break;
    }
    if (!any) break;
  }
  return out;
}

export function onPeerResponse(s: Step, link: Link, msg: PeerResponse): void {
  const req = link.peerRequest;
  if (req === undefined || req.nonce !== msg.nonce || s.now - req.at > s.deps.params.verifyTimeoutMs) {
    s.count('ERR_GOSSIP_UNSOLICITED');
    return;
  }
  if (!link.verified) {
    s.count('ERR_GOSSIP_UNVERIFIED');
    return;
  }
  link.gotPeerResponse = true;
  const own = addressKey(s.deps.listen);
  const before = s.state.candidates.size;
  const perGroup = new Map<string, number>();
  for (const a of s.state.candidates.values()) {
    const g = knownGroup(a);
    perGroup.set(g, (perGroup.get(g) ?? 0) + 1);
  }
  for (const wire of msg.peers.slice(0, req.left)) {
    req.left--;
    const address = fromWire(wire);
    const key = addressKey(address);
    if (key === own || s.state.knownByAddress.has(key) || s.state.candidates.has(key)) continue;
    // Offered addresses are capped per group too: one responder cannot fill our candidates
    // with one network's addresses.
    const g = knownGroup(address);
    if ((perGroup.get(g) ?? 0) >= s.deps.params.maxKnownPerGroup) continue;
    perGroup.set(g, (perGroup.get(g) ?? 0) + 1);
    if (s.state.candidates.size >= s.deps.params.maxCandidates) {
      const first = s.state.candidates.keys().next().value;
      if (first !== undefined) s.state.candidates.delete(first);
    }
    s.state.candidates.set(key, address);
  }
  if (s.state.candidates.size > before) s.state.joinDelayMs = s.deps.params.joinRetryMs;
  if (msg.challenge !== 0n) askSolve(s, link, msg.challenge);
}

/**
 * The anchors to remember across a restart: the `anchors` outbound peers verified longest
 * (at least `anchorMinAgeMs`), by the address we dialled them at (diversity.ts `chooseAnchors`).
 */
export function currentAnchors(state: EngineState, now: number, limits: DiversityLimits): Endpoint[] {
  const outbound: OutboundLink<Endpoint>[] = [];
  for (const l of state.links.values()) {
    if (l.dialled === undefined || l.bootstrap || !l.verified || l.verifiedAt === undefined) continue;
    outbound.push({ key: l.dialled, verifiedSince: l.verifiedAt });
  }
  return chooseAnchors(outbound, now, limits);
}

/** Forgets a link (and, when `forget`, the peer's address: seed 002 "removed from the known-peers-list"). */
export function dropLink(s: Step, link: Link, code: string, forget: boolean): void {
  s.state.links.delete(link.id);
  s.state.cache.forgetLink(link.id);
  s.emit({ kind: 'peer-close', link: link.id, code });
  s.count(code);
  if (forget) {
    if (link.listen !== undefined) forgetAddress(s, link.listen);
    forgetKnown(s, link.identity);
    s.state.verifiedIds.delete(link.identity);
  }
}

export function forgetAddress(s: Step, address: Endpoint): void {
  const key = addressKey(address);
  const holder = s.state.knownByAddress.get(key);
  if (holder !== undefined) forgetKnown(s, holder);
  s.state.candidates.delete(key);
}

/** The transport reports a closed link, or a failed send on it. */
export function onPeerClose(s: Step, linkId: LinkId, failed: boolean): void {
  const link = s.state.links.get(linkId);
  if (link === undefined) return;
  s.state.links.delete(linkId);
  s.state.cache.forgetLink(linkId);
  if (failed && link.listen !== undefined) {
    // Seed 002: "detected when we want to send a message to it and the sending fails. The
    // peer is then removed from the known-peers-list."
    forgetAddress(s, link.listen);
    s.count('ERR_GOSSIP_SEND_FAILED');
  }
}

export function onDialFailed(s: Step, address: Endpoint, bootstrap: boolean): void {
  if (bootstrap) {
    s.state.bootstrapDialling = false;
    s.count('ERR_GOSSIP_BOOTSTRAP_UNREACHABLE');
    return;
  }
  s.state.dialling.delete(addressKey(address));
  forgetAddress(s, address);
  s.count('ERR_GOSSIP_DIAL_FAILED');
}

/** Heartbeat part of peer upkeep. */
export function heartbeatPeers(s: Step): void {
  const st = s.state;
  const p = s.deps.params;
  for (const [id, until] of st.verifiedIds) if (until <= s.now) st.verifiedIds.delete(id);
  for (const link of [...st.links.values()]) {
    // The bootstrap link has done its job once we have its peers (all families: closed on the
    // heartbeat after the first response) and it has our PoW.
    if (link.bootstrap && link.gotPeerResponse && !link.solving) {
      st.links.delete(link.id);
      s.emit({ kind: 'peer-close', link: link.id, code: 'gossip_bootstrap_done' });
      s.count('gossip_bootstrap_done');
    } else if (!link.verified && s.now - link.openedAt > p.verifyTimeoutMs && !link.solving) {
      dropLink(s, link, 'ERR_GOSSIP_VERIFY_TIMEOUT', false);
    } else if (link.bootstrap && s.now - link.openedAt > p.verifyTimeoutMs) {
      dropLink(s, link, 'ERR_GOSSIP_VERIFY_TIMEOUT', false);
    }
  }
  if (s.deps.isBootstrapper) {
    // Leases in all but name: a listed peer must re-join to stay listed (seed 003 later).
    for (const entry of [...st.known.values()])
      if (s.now - entry.lastSeen > p.peerTtlMs) forgetKnown(s, entry.identity);
    for (const [key, at] of st.probedAt) if (s.now - at >= p.probeBackoffMs) st.probedAt.delete(key);
    for (const link of [...st.links.values()]) {
      if (s.now - link.openedAt > p.bootstrapLinkMs)
        dropLink(s, link, 'gossip_bootstrap_link_expired', false);
    }
    return;
  }
  const current = neighbours(s);
  // Refresh our own entries for peers we are connected to, so that they are not evicted.
  for (const link of st.links.values()) {
    if (link.verified) {
      const entry = st.known.get(link.identity);
      if (entry !== undefined) entry.lastSeen = s.now;
    }
  }
  for (const [key, at] of st.probedAt) if (s.now - at >= p.probeBackoffMs) st.probedAt.delete(key);
  // Outbound links we dial ourselves: `degree` less the inbound ones, never below `minOutbound`
  // (diversity.ts `outboundTarget`): however many strangers dial us, a peer keeps neighbours of
  // its own choosing, across address groups (issue 10, item 5).
  const lim = s.deps.diversity ?? diversityLimits.defaults;
  let inbound = 0;
  let outbound = 0;
  for (const l of st.links.values()) {
    if (l.bootstrap) continue;
    if (l.dialled === undefined) inbound++;
    else outbound++;
  }
  let missing = Math.min(
    outboundTarget(p.degree, inbound, lim) - outbound - st.dialling.size,
    p.maxLinks - st.links.size - st.dialling.size,
  );
  const connected = new Set<string>();
  // An inbound link's address is known only once a probe confirmed it, but its identity is
  // known at once: a known peer we already have a link with is not dialled again. Dialling it
  // made a duplicate link that one side then closed, every heartbeat while we were short of
  // neighbours (the overlay never settled under bench:gossip (b), and items sent on the closed
  // links were lost, issue 12 item 5).
  const linked = new Set<string>();
  for (const link of st.links.values()) {
    linked.add(link.identity);
    if (link.listen !== undefined) connected.add(addressKey(link.listen));
  }
  const own = addressKey(s.deps.listen);
  const options = [
    ...st.candidates.entries(),
    ...[...st.known.values()]
      .filter((e) => !linked.has(e.identity))
      .map((e) => [addressKey(e.address), e.address] as const),
  ]
    .filter(([key]) => key !== own && !connected.has(key) && !st.dialling.has(key))
    .map(([key, address]) => ({ key, address }));
  const bootstrapper = s.deps.bootstrapper;
  if (
    bootstrapper !== undefined &&
    !st.bootstrapDialling &&
    ((missing > 0 && options.length === 0 && s.now - st.lastJoin >= st.joinDelayMs) ||
      s.now - st.lastJoin >= p.rejoinMs)
  ) {
    // A join made because we are short backs off (doubling up to rejoin_ms) until one brings
    // an address we did not have: a network smaller than `degree` is not a reason to dial the
    // bootstrapper every joinRetryMs forever (issue 10).
    if (missing > 0 && options.length === 0) st.joinDelayMs = Math.min(p.rejoinMs, 2 * st.joinDelayMs);
    // Seed 002: "periodically rejoin the network and get a new peer list from the bootstrap
    // server"; also whenever we are short of neighbours and have no address left to try.
    st.lastJoin = s.now;
    st.bootstrapDialling = true;
    s.emit({ kind: 'dial', address: bootstrapper, bootstrap: true });
    s.count('gossip_join');
  }
  if (missing > 0) {
    // Outbound neighbours across address groups first (diversity.ts, issue 10 item 5).
    const used = new Set<GroupKey>();
    for (const link of st.links.values())
      if (link.dialled !== undefined) used.add(addressGroup(link.dialled.host));
    let ordered = orderAcrossGroups(options, (o) => addressGroup(o.address.host), used, s.deps.random);
    // Anchors first, once, at start: the outbound peers we had verified longest before a
    // restart (diversity.ts): the restart an eclipse attacker waits for does not hand it the
    // choice of all our neighbours.
    if (!st.anchorsDialled) {
      st.anchorsDialled = true;
      const anchors = (s.deps.anchors ?? [])
        .map((address) => ({ key: addressKey(address), address }))
        .filter(({ key }) => key !== own && !connected.has(key) && !st.dialling.has(key));
      const keys = new Set(anchors.map((a) => a.key));
      ordered = [...anchors, ...ordered.filter((o) => !keys.has(o.key))];
    }
    for (const { key, address } of ordered) {
      if (missing <= 0 || st.dialling.size >= p.maxDials) break;
      st.dialling.add(key);
      st.candidates.delete(key);
      s.emit({ kind: 'dial', address, bootstrap: false });
      missing--;
    }
  }
  // Grow the known list by asking a random neighbour while it is short.
  if (current.length > 0 && st.known.size < 2 * p.degree && s.now - st.lastPeerExchange >= p.peerExchangeMs) {
    st.lastPeerExchange = s.now;
    const link = st.links.get(current[s.deps.random.int(current.length)]!)!;
    sendPeerRequest(s, link);
  }
}
