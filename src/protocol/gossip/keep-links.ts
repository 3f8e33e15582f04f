/**
 * KEEP rounds (keep.ts) on the engine's links: which links are challenged, with which
 * addresses, and how KEEP's effects become the engine's. A KEEP failure tears the link down
 * (seed 000 step 6) but does not forget the peer: a peer whose clock drifted, or that missed
 * one round, may dial again and pay again.
 */
import { type Endpoint, hostBytes, isCanonicalHost } from '../../admission/endpoint.js';
import type { KeepChall, KeepPow, PeerAddress } from '../../wire/gossip-p2p.js';
import {
  forgetLink,
  type KeepDeps,
  type KeepEffect,
  type KeepLinkView,
  keepSolved,
  keepTick,
  onKeepChall,
  onKeepPow,
} from './keep.js';
import { dropLink } from './peers.js';
import type { Link, Step } from './state.js';

function wire(e: Endpoint | undefined): PeerAddress | undefined {
  if (e === undefined || !isCanonicalHost(e.host) || e.port === 0) return undefined;
  try {
    return { addr: hostBytes(e.host), port: e.port };
  } catch {
    return undefined;
  }
}

function keepDeps(s: Step): KeepDeps {
  const p = s.deps.params;
  return {
    params: {
      keepBits: p.keepBits,
      keepPeriodMs: p.keepPeriodMs,
      keepWindowMs: p.keepWindowMs,
      keepCollectMs: p.keepCollectMs,
      keepSkewMs: p.keepSkewMs,
      keepMaxChalls: p.keepMaxChalls,
    },
    identity: s.deps.identity,
    randomChall: () => {
      const out = new Uint8Array(16);
      new DataView(out.buffer).setBigUint64(0, s.deps.random.u64());
      new DataView(out.buffer).setBigUint64(8, s.deps.random.u64());
      return out;
    },
    verifyPow: s.deps.verifyPow,
  };
}

/** A neighbour link KEEP challenges: verified, not the bootstrap link, and we are a peer. */
function challenged(s: Step, link: Link): boolean {
  return link.verified && !link.bootstrap && s.deps.isBootstrapper !== true;
}

function apply(s: Step, effects: readonly KeepEffect[]): void {
  for (const e of effects) {
    switch (e.kind) {
      case 'send':
        s.emit({ kind: 'peer-send', link: e.link, frame: e.frame });
        break;
      case 'close': {
        const link = s.state.links.get(e.link);
        if (link !== undefined) dropLink(s, link, e.code, false);
        break;
      }
      case 'count':
        s.count(e.code);
        break;
      case 'solve':
        s.count('gossip_keep_solves');
        s.emit({
          kind: 'keep-solve',
          round: e.round,
          pow: e.pow,
          challenge: e.challenge,
          bits: e.bits,
          links: e.links,
        });
        break;
    }
  }
}

/** The heartbeat's KEEP part: round start, solving, deadlines. */
export function heartbeatKeep(s: Step): void {
  if (s.deps.params.keepPeriodMs === 0 || s.deps.isBootstrapper === true) return;
  const book = s.state.keep;
  // Links closed since the last heartbeat owe nothing and are owed nothing.
  for (const id of [...book.sent.keys(), ...book.got.keys()])
    if (!s.state.links.has(id)) forgetLink(book, id);
  const ours = wire(s.deps.listen);
  const views: KeepLinkView[] = [];
  for (const link of s.state.links.values()) {
    views.push({
      id: link.id,
      identity: link.identity,
      challenged: challenged(s, link),
      ours,
      theirs: wire(link.listen ?? link.dialled ?? link.claimed),
    });
  }
  apply(s, keepTick(book, views, s.now, keepDeps(s)));
}

export function onKeepChallMessage(s: Step, link: Link, msg: KeepChall): void {
  // A bootstrapper spreads nothing and keeps no neighbours: nothing to prove to anyone.
  if (s.deps.isBootstrapper === true) {
    s.count('ERR_GOSSIP_KEEP_UNSOLICITED');
    return;
  }
  apply(s, onKeepChall(s.state.keep, link.id, msg, s.now, keepDeps(s)));
}

export function onKeepPowMessage(s: Step, link: Link, msg: KeepPow, frame: Uint8Array): void {
  apply(s, onKeepPow(s.state.keep, link.id, link.identity, msg, frame, s.now, keepDeps(s)));
}

/** Our KEEP_POW for one list is solved: send it to those challengers still linked. */
export function onKeepSolvedEvent(s: Step, pow: KeepPow, nonce: bigint, links: readonly number[]): void {
  apply(
    s,
    keepSolved(pow, nonce, links, (id) => s.state.links.has(id)),
  );
}
