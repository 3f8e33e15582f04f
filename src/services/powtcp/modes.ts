/**
 * The three admission modes of the powtcp server (see admission.ts).
 *
 * Stateless mode runs DESIGN's admission pipeline on `3:<header>`, cheapest check first:
 *   1. shape: the header parses (hashcash v1), `rand` is strict base64 of a sealed blob;
 *   2. `resource` names this client's ip:port (a check the open makes anyway, one string
 *      compare, so before the bucket);
 *   2b. the per-address token bucket (IPv4 /32, IPv6 /64);
 *   3. the hash has the leading zeros the header's `bits` claims (one SHA-1; `bits` must be
 *      the sealed difficulty, so this is a check the open would make anyway);
 *   3b. the sealed challenge opens under our key ring, for this client ip:port and this
 *      service's address, and has not expired; the header's `bits`, `date` and `resource`
 *      are the sealed ones (spec/powtcp.md: the server binds what it issued);
 *   4. the leading hex zeros counted in 3 >= the sealed difficulty;
 *   5. the replay guard marks the challenge, only after 4 passed.
 * Nothing is stored for a puzzle that was only issued: its state rides in `rand`.
 */
import { randomInt } from 'node:crypto';
import type { DifficultyController } from '../../admission/difficulty.js';
import { type Endpoint, formatEndpoint } from '../../admission/endpoint.js';
import { capGroupOf, RateLimiter } from '../../admission/rate-limit.js';
import { admitSolved, ReplayGuard } from '../../admission/replay.js';
import type { ChallengeSealer, ChallengeState } from '../../admission/sealed.js';
import type { Store } from '../../admission/store.js';
import {
  formatHashcash,
  formatHashcashDate,
  type HashcashHeader,
  hashcashDigest,
  leadingHexZeros,
  newHashcash,
  parseHashcash,
  parseHashcashDate,
  puzzleText,
} from '../../pow/hashcash.js';
import { PowtcpPricing } from '../../protocol/powtcp/pricing.js';
import type { Clock } from '../../util/clock.js';
import { accept, reject, type Verdict } from '../../util/errors.js';
import type { ConnInfo, PowtcpAdmission } from './admission.js';

/** Picks an index in [0, n); injected so tests can fix the quote served. */
export type Pick = (n: number) => number;
const defaultPick: Pick = (n) => randomInt(n);

/**
 * `ip:port` (`[ip]:port` for IPv6) of a connection's client: the puzzle's `resource`. The
 * shell hands the client's endpoint over in canonical form already, so no parsing here.
 */
function resourceOf(client: Endpoint): string {
  return client.host.includes(':') ? `[${client.host}]:${client.port}` : `${client.host}:${client.port}`;
}

/** Leading `0` characters of the lowercase hex SHA-1 of the header as received. */
function hexZeros(header: string): number {
  return leadingHexZeros(hashcashDigest(header));
}

/**
 * Step 1 of the pipeline: the header parses. A header that fails only for its base64 fields
 * (`rand`, `counter`) gets its own reason, since that is a distinct client bug.
 */
function parseHeader(text: string): Verdict<HashcashHeader> {
  const parsed = parseHashcash(text);
  if (parsed.ok) return parsed;
  const fields = text.split(':');
  if (fields.length >= 7) {
    fields[fields.length - 2] = 'AA==';
    fields[fields.length - 1] = 'MA==';
    if (parseHashcash(fields.join(':')).ok) return reject('ERR_POWTCP_BAD_BASE64', parsed.detail);
  }
  return reject('ERR_POWTCP_BAD_HEADER', parsed.detail);
}

/** The first header field that differs from what was sealed, or undefined. */
function mismatchedField(h: HashcashHeader, state: ChallengeState, resource: string): string | undefined {
  if (state.kind !== 'hashcash-sha1') return 'kind';
  if (h.bits !== state.difficulty) return 'bits';
  if (h.date !== formatHashcashDate(state.issuedAt)) return 'date';
  if (h.resource !== resource) return 'resource';
  if (h.ext !== '') return 'ext';
  return undefined;
}

export interface StatelessOptions {
  readonly sealer: ChallengeSealer;
  /** Replay marks and token buckets (MemoryStore, or RedisStore shared by instances). */
  readonly store: Store;
  readonly quotes: readonly string[];
  readonly clock: Clock;
  readonly puzzleTtlMs: number;
  /** Floor and ceiling of the difficulty in hex digits. */
  readonly minDifficulty: number;
  readonly maxDifficulty: number;
  /** Seed 003's q and the rate at which the virtual queue drains (requests/s). */
  readonly queueSize: number;
  readonly serviceRatePerSec: number;
  /** The fewest identities that together can fill the queue, and the share counters kept. */
  readonly loadShareIdentities: number;
  readonly maxLoadShareIdentities: number;
  /** Per-address token bucket. */
  readonly ratePerSec: number;
  readonly burst: number;
  readonly pick?: Pick;
}

/**
 * Ours: stateless sealed puzzles, load-driven difficulty priced per identity
 * (protocol/powtcp/pricing.ts), per-address rate limits, replay guard.
 */
export class StatelessAdmission implements PowtcpAdmission {
  readonly mode = 'stateless' as const;
  readonly puzzlesHeld = 0;
  readonly pricing: PowtcpPricing;
  private readonly rate: RateLimiter;
  private readonly guard: ReplayGuard;
  private readonly pick: Pick;

  constructor(private readonly o: StatelessOptions) {
    this.pricing = new PowtcpPricing(o, o.clock.now());
    this.rate = new RateLimiter({ store: o.store, ratePerSec: o.ratePerSec, burst: o.burst, clock: o.clock });
    this.guard = new ReplayGuard(o.store);
    this.pick = o.pick ?? defaultPick;
  }

  /** Seed 003's controller behind the global price. */
  get controller(): DifficultyController {
    return this.pricing.controller;
  }

  /** The price of a newcomer's puzzle now, in hex digits. */
  get difficulty(): number {
    return this.pricing.price(this.o.clock.now());
  }

  async issue(conn: ConnInfo): Promise<Verdict<string>> {
    const limited = await this.rate.take(conn.client.host);
    if (!limited.ok) return reject(limited.code, `retry after ${limited.retryAfterMs} ms`);
    const now = this.o.clock.now();
    const difficulty = this.pricing.arrive(capGroupOf(conn.client.host), now);
    // One clock reading for the sealed issue time and the header's date, so both agree to the
    // second without opening the fresh seal again (issue 8: one AES-GCM less per `1:`).
    const sealed = this.o.sealer.seal({
      kind: 'hashcash-sha1',
      difficulty,
      client: conn.client,
      server: conn.server,
      ttlMs: this.o.puzzleTtlMs,
      issuedAt: now,
    });
    // Every field is ours (a canonical resource, our sealed bytes): no re-parse per `1:`.
    return accept(
      puzzleText({ bits: difficulty, resource: resourceOf(conn.client), nowMs: now, rand: sealed }),
    );
  }

  async redeem(conn: ConnInfo, text: string): Promise<Verdict<string>> {
    // 1. shape
    const parsed = parseHeader(text);
    if (!parsed.ok) return parsed;
    const h = parsed.value;
    // 2. The seal binds the client's ip:port, which the header names in `resource`: a
    // solution shown from another connection is refused with the open's verdict by one string
    // compare, before the bucket and the AES-GCM open, both dearer (issue 12 item 1).
    const resource = resourceOf(conn.client);
    if (h.resource !== resource) {
      return reject('ERR_CHALLENGE_ENDPOINT', 'the header names another client endpoint');
    }
    // 2b. rate limit (and the request counts as load)
    const limited = await this.rate.take(conn.client.host);
    if (!limited.ok) return reject(limited.code, `retry after ${limited.retryAfterMs} ms`);
    const group = capGroupOf(conn.client.host);
    this.pricing.arrive(group, this.o.clock.now());
    // 3. The header's `bits` must be the sealed difficulty, so a hash short of the bits it
    // claims fails whatever the seal holds: one SHA-1 of a short line before the open. After
    // the bucket, so that unsolved `3:` still drain it (seed 003: junk earns nothing).
    const zeros = hexZeros(text);
    if (zeros < h.bits) return reject('ERR_POW_INSUFFICIENT');
    // parseHashcash accepted `rand` as canonical base64.
    const sealed = new Uint8Array(Buffer.from(h.rand, 'base64'));
    // 3b.-5. open and bind, the zeros against the sealed difficulty, then the replay mark (admitSolved keeps this order).
    let mismatch: string | undefined;
    const verdict = await admitSolved({
      sealer: this.o.sealer,
      guard: this.guard,
      sealed,
      client: conn.client,
      server: conn.server,
      // The sealed difficulty is what this server asked for at issue time (at least seed 003's
      // internal d then, with its margin of one). Demanding today's d instead would fail every
      // honest puzzle in flight when a burst from many addresses lifts d by several steps in
      // a few milliseconds; new puzzles carry the new price.
      verify: (state, difficulty) => {
        mismatch = mismatchedField(h, state, resource);
        return mismatch === undefined && zeros >= difficulty;
      },
    });
    // A header that differs from its seal is its own verdict; admitSolved saw a failed check,
    // so nothing was marked.
    if (mismatch !== undefined) {
      return reject('ERR_POWTCP_HEADER_MISMATCH', `header ${mismatch} differs from the sealed challenge`);
    }
    if (!verdict.ok) return reject(verdict.code, verdict.detail);
    // Seed 003's fallback identity: a verified, redeemed solve refunds the token its `3:`
    // took, so behind a shared address (NAT) the work pays for the quote and only requests
    // that never solve drain the bucket. One token, never more: credit is capped at burst
    // and each solve counts once (replay guard), so no one can bank work for a flood.
    await this.rate.credit(conn.client.host, 1).catch(() => undefined);
    this.pricing.solved(group, this.o.clock.now());
    return accept(this.o.quotes[this.pick(this.o.quotes.length)]!);
  }

  /** The store, for its live sizes in tests and metrics (MemoryStore has `stats()`). */
  get store(): Store {
    return this.o.store;
  }

  close(): Promise<void> {
    return this.o.store.close();
  }
}

export interface ReferenceOptions {
  readonly quotes: readonly string[];
  readonly clock: Clock;
  /** Fixed difficulty in hex digits (the reference's default is 5). */
  readonly difficulty: number;
  readonly puzzleTtlMs: number;
  /** Memory guard for the benchmark host: beyond this many puzzles new ones are refused. */
  readonly maxPuzzles: number;
  readonly pick?: Pick;
  /** 4 random bytes per puzzle (the reference's salt). */
  readonly random?: () => Uint8Array;
}

/**
 * The reference design of seed 001, for comparison: fixed difficulty, every issued puzzle in a
 * TTL map keyed by (bits, date, resource, rand), deleted on success; checks in the reference
 * order (parse, known, resource, age, hash). No rate limit and no load control: memory grows
 * with the rate of `1:` times the TTL, which is what the puzzle-request flood shows.
 */
export class ReferenceAdmission implements PowtcpAdmission {
  readonly mode = 'reference' as const;
  /** key -> expiry; insertion order is expiry order (one TTL), so sweeping stops at the first live entry. */
  private readonly puzzles = new Map<string, number>();
  private readonly pick: Pick;
  private readonly random: () => Uint8Array;

  constructor(private readonly o: ReferenceOptions) {
    this.pick = o.pick ?? defaultPick;
    this.random = o.random ?? (() => Uint8Array.from(Buffer.alloc(4).map(() => randomInt(256))));
  }

  get difficulty(): number {
    return this.o.difficulty;
  }

  get puzzlesHeld(): number {
    return this.puzzles.size;
  }

  private sweep(now: number): void {
    for (const [key, exp] of this.puzzles) {
      if (exp > now) break;
      this.puzzles.delete(key);
    }
  }

  async issue(conn: ConnInfo): Promise<Verdict<string>> {
    const now = this.o.clock.now();
    this.sweep(now);
    if (this.puzzles.size >= this.o.maxPuzzles) return reject('ERR_POWTCP_PUZZLE_CACHE_FULL');
    const h = newHashcash({
      bits: this.o.difficulty,
      resource: formatEndpoint(conn.client),
      nowMs: now,
      rand: this.random(),
    });
    this.puzzles.set(`${h.bits}:${h.date}:${h.resource}:${h.rand}`, now + this.o.puzzleTtlMs);
    return accept(formatHashcash(h));
  }

  async redeem(conn: ConnInfo, text: string): Promise<Verdict<string>> {
    const now = this.o.clock.now();
    this.sweep(now);
    const parsed = parseHeader(text);
    if (!parsed.ok) return parsed;
    const h = parsed.value;
    const key = `${h.bits}:${h.date}:${h.resource}:${h.rand}`;
    if (!this.puzzles.has(key)) return reject('ERR_POWTCP_UNKNOWN_PUZZLE');
    if (h.resource !== formatEndpoint(conn.client)) return reject('ERR_CHALLENGE_ENDPOINT');
    const issued = parseHashcashDate(h.date);
    if (issued === undefined || now - issued > this.o.puzzleTtlMs) return reject('ERR_CHALLENGE_EXPIRED');
    const zeros = hexZeros(text);
    if (zeros < h.bits) return reject('ERR_POW_INSUFFICIENT');
    this.puzzles.delete(key);
    return accept(this.o.quotes[this.pick(this.o.quotes.length)]!);
  }

  async close(): Promise<void> {
    this.puzzles.clear();
  }
}

/**
 * No proof of work at all, for the benchmark's floor: `1:` gets a one-digit puzzle (the
 * format's minimum; ~16 hashes) that is never checked, and any `3:` that parses gets a quote.
 */
export class NoPowAdmission implements PowtcpAdmission {
  readonly mode = 'nopow' as const;
  readonly difficulty = 1;
  readonly puzzlesHeld = 0;
  private readonly pick: Pick;

  constructor(
    private readonly o: { readonly quotes: readonly string[]; readonly clock: Clock; readonly pick?: Pick },
  ) {
    this.pick = o.pick ?? defaultPick;
  }

  async issue(conn: ConnInfo): Promise<Verdict<string>> {
    return accept(
      formatHashcash(
        newHashcash({
          bits: 1,
          resource: formatEndpoint(conn.client),
          nowMs: this.o.clock.now(),
          rand: new Uint8Array(4),
        }),
      ),
    );
  }

  async redeem(_conn: ConnInfo, text: string): Promise<Verdict<string>> {
    const parsed = parseHeader(text);
    if (!parsed.ok) return parsed;
    return accept(this.o.quotes[this.pick(this.o.quotes.length)]!);
  }

  async close(): Promise<void> {}
}
