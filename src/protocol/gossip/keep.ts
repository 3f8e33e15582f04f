/**
 * Seed 000's continuous PoW ("Continuously asking for PoW"): KEEP_CHALL / KEEP_POW rounds on
 * every neighbour link. Pure logic: the time comes in as `now`, the randomness and the PoW
 * check are injected, and the answers are effects (send, close, solve) for the engine to
 * carry out. See docs/gossip.md "Keep-alive PoW" for the decisions; in short:
 *
 * - **Global rounds, no coordination**: round r = floor(unix ms / `keepPeriodMs`), starting at
 *   t0 = r x period on every peer's own clock.
 * - At t0 a peer sends each neighbour link (verified, not a bootstrap link) a KEEP_CHALL: the
 *   round, a fresh random 128-bit Chall, and both peers' listen addresses (seed 000 step 1).
 * - It collects the KEEP_CHALLs it receives for round r until t0 + `keepCollectMs` (step 2),
 *   then computes **one** PoW over all of them, sorted by Chall (step 3; the hashed bytes are
 *   `keepPowChallenge` in src/wire/gossip-p2p.ts: bound to its own identity and the round),
 *   and sends every challenger the KEEP_POW (Nonce + the list; step 4). More than
 *   `keepMaxChalls` challenges are cut, in Chall order, into lists of at most that many, one
 *   PoW each: the cost is one PoW per `keepMaxChalls` links, whatever the degree.
 * - A challenger checks that the list holds its own KEEP_CHALL exactly as sent, has at most
 *   `keepMaxChalls` entries, and that the PoW meets `keepBits` for the sender's identity (step
 *   5). No valid KEEP_POW by t0 + `keepWindowMs` + `keepSkewMs` tears the link down (step 6).
 * - **Clock skew**: a KEEP_CHALL for round r is taken from t0 - `keepSkewMs` until we solve
 *   round r (t0 + `keepCollectMs`), and the deadline is `keepSkewMs` after the window, so two
 *   peers whose clocks differ by up to `keepSkewMs` keep their link (collect >= skew + a round
 *   trip, window >= collect + skew + solving). Clocks further apart lose their links.
 * - **A link made mid-round** owes nothing for that round: only links that were neighbours at
 *   t0 got a KEEP_CHALL, and a KEEP_POW is due only for a KEEP_CHALL sent. Its first round is
 *   the next one, so a new link runs at most one period without KEEP (it paid the connection
 *   PoW and the verification PoW to get there).
 */
import {
  compareBytes,
  encodeP2P,
  equalBytes,
  GOSSIP_KEEP_CHALL,
  GOSSIP_KEEP_POW,
  type KeepChall,
  type KeepEntry,
  type KeepPow,
  keepPowChallenge,
  type PeerAddress,
} from '../../wire/gossip-p2p.js';
import type { GossipParams } from './limits.js';

/** The KEEP parameters (in the Gossip limits table, src/protocol/gossip/limits.ts). */
export type KeepParams = Pick<
  GossipParams,
  'keepBits' | 'keepPeriodMs' | 'keepWindowMs' | 'keepCollectMs' | 'keepSkewMs' | 'keepMaxChalls'
>;

/**
 * What bounds alone cannot say: the time left to solve after collecting (and allowing the
 * skew) must be positive, and rounds must not overlap. Returns the broken relation, if any.
 */
export function checkKeepParams(v: KeepParams): { key: keyof KeepParams; message: string } | undefined {
  if (v.keepPeriodMs === 0) return undefined;
  if (v.keepCollectMs <= v.keepSkewMs) {
    return {
      key: 'keepCollectMs',
      message: 'must exceed keepSkewMs (a challenge must reach a skewed peer before it solves)',
    };
  }
  if (v.keepCollectMs + v.keepSkewMs >= v.keepWindowMs) {
    return { key: 'keepWindowMs', message: 'must exceed keepCollectMs + keepSkewMs (time left to solve)' };
  }
  if (v.keepWindowMs + v.keepSkewMs >= v.keepPeriodMs) {
    return {
      key: 'keepPeriodMs',
      message: 'must exceed keepWindowMs + keepSkewMs (rounds must not overlap)',
    };
  }
  return undefined;
}

export type KeepCode =
  | 'ERR_GOSSIP_KEEP_MISSING'
  | 'ERR_GOSSIP_KEEP_INVALID'
  | 'ERR_GOSSIP_KEEP_UNSOLICITED'
  | 'ERR_GOSSIP_KEEP_ROUND';

/** What the KEEP logic needs to know of one link. */
export interface KeepLinkView {
  readonly id: number;
  readonly identity: string;
  /** A neighbour link that KEEP challenges (verified, not a bootstrap link). */
  readonly challenged: boolean;
  /** Both peers' listen addresses, for the KEEP_CHALL (undefined: not known yet, not challenged). */
  readonly ours: PeerAddress | undefined;
  readonly theirs: PeerAddress | undefined;
}

interface Sent {
  readonly round: number;
  readonly entry: KeepEntry;
  proven: boolean;
}

/** One peer's KEEP state. */
export interface KeepBook {
  /** The last round whose KEEP_CHALLs we sent (-1: none yet). */
  round: number;
  /** The last round we computed (or had nothing to compute) our KEEP_POW for. */
  solvedRound: number;
  /** Our KEEP_CHALL to each link, for the round it was sent in. */
  readonly sent: Map<number, Sent>;
  /** The KEEP_CHALLs received, by link, for the round they name. */
  readonly got: Map<number, { readonly round: number; readonly entry: KeepEntry }>;
}

export function newKeepBook(): KeepBook {
  return { round: -1, solvedRound: -1, sent: new Map(), got: new Map() };
}

export type KeepEffect =
  | { readonly kind: 'send'; readonly link: number; readonly frame: Uint8Array }
  | { readonly kind: 'close'; readonly link: number; readonly code: KeepCode }
  | { readonly kind: 'count'; readonly code: string }
  /**
   * Solve sha256-bits(challenge || nonce) >= bits, then hand the nonce to `keepSolved` with
   * this effect's `pow` and `links`.
   */
  | {
      readonly kind: 'solve';
      readonly round: number;
      readonly pow: KeepPow;
      readonly challenge: Uint8Array;
      readonly bits: number;
      readonly links: readonly number[];
    };

export interface KeepDeps {
  readonly params: KeepParams;
  /** Our own identity: the PoW is bound to it. */
  readonly identity: string;
  /** 16 random bytes for a Chall. */
  readonly randomChall: () => Uint8Array;
  readonly verifyPow: (challenge: Uint8Array, nonce: bigint, bits: number) => boolean;
}

export function keepRound(now: number, periodMs: number): number {
  return Math.floor(now / periodMs);
}

/**
 * The round's clock: start a round (send KEEP_CHALLs) once its t0 has passed, solve once the
 * collection time is over, and tear down links whose KEEP_POW is overdue. Call it often (the
 * engine's heartbeat); it does each thing once per round.
 */
export function keepTick(
  book: KeepBook,
  links: readonly KeepLinkView[],
  now: number,
  deps: KeepDeps,
): KeepEffect[] {
  const p = deps.params;
  const out: KeepEffect[] = [];
  if (p.keepPeriodMs === 0) return out;
  const r = keepRound(now, p.keepPeriodMs);
  const t0 = r * p.keepPeriodMs;

  // 6. Overdue proofs (of this round or an earlier one) tear their link down.
  for (const [link, sent] of book.sent) {
    if (sent.proven) continue;
    if (now >= sent.round * p.keepPeriodMs + p.keepWindowMs + p.keepSkewMs) {
      out.push({ kind: 'close', link, code: 'ERR_GOSSIP_KEEP_MISSING' });
      forgetLink(book, link);
    }
  }

  // 1. A new round: one KEEP_CHALL to every neighbour link. A peer that comes to a round too
  // late for its challenges to arrive before the neighbours solve (started mid-round, or a
  // stalled process) skips it: nothing sent, so nothing owed to it this round.
  if (r > book.round) {
    book.round = r;
    const late = now >= t0 + p.keepCollectMs - p.keepSkewMs;
    for (const l of late ? [] : links) {
      if (!l.challenged || l.ours === undefined || l.theirs === undefined) {
        // Not a neighbour at t0 (joined mid-round, or not verified yet): owes nothing this round.
        book.sent.delete(l.id);
        continue;
      }
      const entry: KeepEntry = { chall: deps.randomChall(), challenger: l.ours, prover: l.theirs };
      book.sent.set(l.id, { round: r, entry, proven: false });
      out.push({
        kind: 'send',
        link: l.id,
        frame: encodeP2P({ type: GOSSIP_KEEP_CHALL, round: BigInt(r), entry }),
      });
    }
  }

  // 3. The collection time is over: one PoW over every KEEP_CHALL received for this round.
  if (book.solvedRound < r && now >= t0 + p.keepCollectMs) {
    book.solvedRound = r;
    const received: { link: number; entry: KeepEntry }[] = [];
    for (const [link, got] of book.got) if (got.round === r) received.push({ link, entry: got.entry });
    received.sort((a, b) => compareBytes(a.entry.chall, b.entry.chall));
    // Two links sending the same Chall (a replayed one): list it once, answer both.
    const unique: { entry: KeepEntry; links: number[] }[] = [];
    for (const x of received) {
      const last = unique[unique.length - 1];
      if (last !== undefined && equalBytes(last.entry.chall, x.entry.chall)) last.links.push(x.link);
      else unique.push({ entry: x.entry, links: [x.link] });
    }
    for (let i = 0; i < unique.length; i += p.keepMaxChalls) {
      const part = unique.slice(i, i + p.keepMaxChalls);
      const pow: KeepPow = {
        type: GOSSIP_KEEP_POW,
        round: BigInt(r),
        nonce: 0n,
        entries: part.map((x) => x.entry),
      };
      out.push({
        kind: 'solve',
        round: r,
        pow,
        challenge: keepPowChallenge(deps.identity, encodeP2P(pow)),
        bits: p.keepBits,
        links: part.flatMap((x) => x.links),
      });
    }
    for (const [link, got] of book.got) if (got.round <= r) book.got.delete(link);
  }
  return out;
}

/** 4. Our PoW for `pow` is found: send the KEEP_POW to the challengers still linked. */
export function keepSolved(
  pow: KeepPow,
  nonce: bigint,
  links: readonly number[],
  open: (link: number) => boolean,
): KeepEffect[] {
  const frame = encodeP2P({ ...pow, nonce });
  return links.filter(open).map((link) => ({ kind: 'send' as const, link, frame }));
}

/** 2. A KEEP_CHALL from `link`. */
export function onKeepChall(
  book: KeepBook,
  link: number,
  msg: KeepChall,
  now: number,
  deps: KeepDeps,
): KeepEffect[] {
  const p = deps.params;
  if (p.keepPeriodMs === 0) return [{ kind: 'count', code: 'ERR_GOSSIP_KEEP_UNSOLICITED' }];
  const round = Number(msg.round);
  const t0 = round * p.keepPeriodMs;
  // Too early for our clock, even allowing the skew, or a round we have already solved.
  if (!Number.isSafeInteger(round) || now < t0 - p.keepSkewMs || round <= book.solvedRound) {
    return [{ kind: 'count', code: 'ERR_GOSSIP_KEEP_ROUND' }];
  }
  const had = book.got.get(link);
  // One KEEP_CHALL per link and round: a second one is not listed.
  if (had !== undefined && had.round === round)
    return [{ kind: 'count', code: 'ERR_GOSSIP_KEEP_UNSOLICITED' }];
  book.got.set(link, { round, entry: msg.entry });
  return [];
}

/** 5. A KEEP_POW from `link` (whose identity is `prover`). */
export function onKeepPow(
  book: KeepBook,
  link: number,
  prover: string,
  msg: KeepPow,
  frame: Uint8Array,
  now: number,
  deps: KeepDeps,
): KeepEffect[] {
  const p = deps.params;
  const sent = book.sent.get(link);
  if (sent === undefined || BigInt(sent.round) !== msg.round || sent.proven) {
    // Not asked for (a round we did not challenge, or a repeat): dropped, counted.
    return [{ kind: 'count', code: 'ERR_GOSSIP_KEEP_UNSOLICITED' }];
  }
  const close = (code: KeepCode): KeepEffect[] => {
    forgetLink(book, link);
    return [{ kind: 'close', link, code }];
  };
  if (now >= sent.round * p.keepPeriodMs + p.keepWindowMs + p.keepSkewMs)
    return close('ERR_GOSSIP_KEEP_MISSING');
  if (msg.entries.length > p.keepMaxChalls) return close('ERR_GOSSIP_KEEP_INVALID');
  const ours = msg.entries.find((e) => equalBytes(e.chall, sent.entry.chall));
  if (
    ours === undefined ||
    !equalBytes(
      encodeP2P({ type: GOSSIP_KEEP_CHALL, round: 0n, entry: ours }),
      encodeP2P({ type: GOSSIP_KEEP_CHALL, round: 0n, entry: sent.entry }),
    )
  ) {
    return close('ERR_GOSSIP_KEEP_INVALID');
  }
  if (!deps.verifyPow(keepPowChallenge(prover, frame), msg.nonce, p.keepBits))
    return close('ERR_GOSSIP_KEEP_INVALID');
  sent.proven = true;
  return [];
}

/** The link is gone: nothing is owed to it or by it. */
export function forgetLink(book: KeepBook, link: number): void {
  book.sent.delete(link);
  book.got.delete(link);
}
