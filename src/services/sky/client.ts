/**
 * An earth node's link to one sky node: take and renew a lease, look up, ask for a punch,
 * and pay a challenge when the sky node asks for one. One request at a time, so every
 * answer belongs to the request in hand; PUNCH_AT messages the sky node sends on its own
 * (another node wants to punch to us) come out as 'punch' events.
 */

import { sign } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { type Socket, connect as tcpConnect } from 'node:net';
import type { Endpoint } from '../../admission/endpoint.js';
import { readSealedHeader } from '../../admission/sealed.js';
import { solveSha256Bits } from '../../pow/sha256-bits.js';
import { NO_HOLDER, rawOfPublicKey } from '../../protocol/sky/lease.js';
import type { IdentityKey } from '../../secure/keys.js';
import { type Clock, systemClock } from '../../util/clock.js';
import { peerCode } from '../../util/codes.js';
import { TollgateError } from '../../util/errors.js';
import {
  decodeSky,
  encodeLeaseBody,
  encodeLookup,
  encodeSolve,
  type FoundMsg,
  type LeasedMsg,
  leaseSignedInput,
  type PunchAtMsg,
  type SkyMessage,
  SkySplitter,
  SkyType,
  withSignature,
} from '../../wire/sky.js';

/** The sky node refused a request; `code` is its reason code. */
export class SkyRefusedError extends TollgateError {
  constructor(named: string, detail?: string) {
    // A code off the wire is kept when it is one of ours; anything else is malformed.
    const code = peerCode(named, 'ERR_SKY_MALFORMED');
    super(code, detail === undefined ? named : `${named}: ${detail}`);
  }
}

export interface SkyClientOptions {
  readonly key: IdentityKey;
  readonly clock?: Clock;
  /** Milliseconds an answer may take (solving a challenge not included). */
  readonly timeoutMs?: number;
  /** Local address to dial from; the port stays reusable for hole punching. */
  readonly localAddress?: string;
  /** Solves challenges; default the core's solver (for tests: a fake that counts). */
  readonly solve?: (challenge: Uint8Array, bits: number) => Promise<bigint>;
}

export interface LeaseRequest {
  readonly durationSec: number;
  readonly listenPort: number;
  readonly inboxBytes: number;
  readonly holder?: Uint8Array;
}

const defaultSolve = async (challenge: Uint8Array, bits: number): Promise<bigint> =>
  (await solveSha256Bits({ challenge, difficulty: bits })).nonce;

export class SkyClient extends EventEmitter {
  readonly sky: Endpoint;
  readonly socket: Socket;
  readonly key: IdentityKey;
  readonly rawKey: Uint8Array;
  /** Challenges solved, and the bits of each (for tests and the attack lab). */
  solvedBits: number[] = [];
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #solve: (challenge: Uint8Array, bits: number) => Promise<bigint>;
  readonly #splitter = new SkySplitter();
  #waiter: ((m: SkyMessage | Error) => void) | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #reqId = 1;
  #closed = false;
  /** The time of our last LEASE: a renewal must be newer than the live lease (lease.ts). */
  #leaseTime = 0;

  /** The address the sky socket was bound to; a punch dials from it and the same port. */
  readonly bindAddress: string;

  private constructor(sky: Endpoint, socket: Socket, options: SkyClientOptions, bindAddress: string) {
    super();
    this.bindAddress = bindAddress;
    this.sky = sky;
    this.socket = socket;
    this.key = options.key;
    if (options.key.algorithm !== 'ed25519')
      throw new SkyRefusedError('ERR_INVALID_ARG', 'earth keys are Ed25519');
    this.rawKey = rawOfPublicKey(options.key.publicKey);
    this.#clock = options.clock ?? systemClock;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#solve = options.solve ?? defaultSolve;
    socket.on('data', (chunk: Buffer) => {
      const ok = this.#splitter.push(chunk, (bytes) => {
        const d = decodeSky(bytes);
        if (!d.ok) return this.#fail(new SkyRefusedError(d.code, d.detail));
        if (d.value.type === SkyType.punchAt && d.value.reqId === 0) {
          this.emit('punch', d.value);
          return;
        }
        const w = this.#waiter;
        this.#waiter = undefined;
        w?.(d.value);
      });
      if (!ok) this.#fail(new SkyRefusedError('ERR_SKY_MALFORMED'));
    });
    socket.on('error', (e) => this.#fail(e));
    socket.on('close', () => {
      this.#closed = true;
      this.#fail(new SkyRefusedError('ERR_SKY_CLOSED', 'connection to the sky node closed'));
      this.emit('close');
    });
  }

  static async connect(sky: Endpoint, options: SkyClientOptions): Promise<SkyClient> {
    // An explicit local address makes Node bind before connecting, and libuv's bind sets
    // SO_REUSEADDR: the punch socket can then dial from the same port, so that an
    // endpoint-independent NAT reuses the mapping the sky node saw (without a bind, the
    // kernel's autobind at connect leaves the option off and the second bind fails).
    const bindAddress = options.localAddress ?? (sky.host.includes(':') ? '::' : '0.0.0.0');
    const socket = tcpConnect({
      host: sky.host,
      port: sky.port,
      localAddress: bindAddress,
      localPort: 0,
      noDelay: true,
    });
    await Promise.race([
      once(socket, 'connect'),
      once(socket, 'error').then(([e]) => Promise.reject(e as Error)),
    ]);
    return new SkyClient(sky, socket, options, bindAddress);
  }

  get closed(): boolean {
    return this.#closed;
  }

  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  close(): void {
    this.socket.destroy();
  }

  #fail(e: Error): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.(e);
  }

  #next(): Promise<SkyMessage> {
    return new Promise((resolve, reject) => {
      if (this.#closed)
        return reject(new SkyRefusedError('ERR_SKY_CLOSED', 'connection to the sky node closed'));
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new SkyRefusedError('ERR_SKY_TIMEOUT', 'no answer from the sky node'));
      }, this.#timeoutMs);
      this.#waiter = (m) => {
        clearTimeout(timer);
        if (m instanceof Error) reject(m);
        else resolve(m);
      };
    });
  }

  /** Sends `bytes` and returns the answer, paying challenges on the way. */
  #request(bytes: Uint8Array): Promise<SkyMessage> {
    const run = async (): Promise<SkyMessage> => {
      for (let attempt = 0; attempt < 4; attempt++) {
        const answer = this.#next();
        this.socket.write(bytes);
        const m = await answer;
        if (m.type !== SkyType.challenge) return m;
        const header = readSealedHeader(m.sealed);
        if (!header.ok) throw new SkyRefusedError('ERR_SKY_MALFORMED', 'challenge');
        const nonce = await this.#solve(header.value.challenge, header.value.difficulty);
        this.solvedBits.push(header.value.difficulty);
        const solved = this.#next();
        this.socket.write(encodeSolve(nonce, m.sealed));
        const s = await solved;
        if (s.type === SkyType.refused) throw new SkyRefusedError(s.code, 'solve');
        if (s.type !== SkyType.solved) throw new SkyRefusedError('ERR_SKY_MALFORMED', 'expected SOLVED');
      }
      throw new SkyRefusedError('ERR_RATE_LIMITED', 'challenged again after paying');
    };
    const p = this.#chain.then(run, run);
    this.#chain = p.catch(() => {});
    return p;
  }

  /** Takes or renews our lease. */
  async lease(req: LeaseRequest): Promise<LeasedMsg> {
    // Two renewals within one millisecond (or a clock that stepped back) would carry a time
    // the sky node calls stale; each LEASE is at least 1 ms newer than the one before.
    this.#leaseTime = Math.max(this.#clock.now(), this.#leaseTime + 1);
    const body = encodeLeaseBody({
      key: this.rawKey,
      time: this.#leaseTime,
      durationSec: req.durationSec,
      listenPort: req.listenPort,
      inboxBytes: req.inboxBytes,
      holder: req.holder ?? NO_HOLDER,
    });
    const signed = withSignature(
      body,
      new Uint8Array(sign(null, leaseSignedInput(body), this.key.privateKey)),
    );
    const m = await this.#request(signed);
    if (m.type === SkyType.leased) return m;
    if (m.type === SkyType.refused) throw new SkyRefusedError(m.code, 'lease');
    throw new SkyRefusedError('ERR_SKY_MALFORMED', 'expected LEASED');
  }

  async lookup(identity: Uint8Array): Promise<FoundMsg> {
    const reqId = this.#reqId++ >>> 0 || this.#reqId++;
    const m = await this.#request(encodeLookup(SkyType.lookup, reqId, identity));
    if (m.type === SkyType.found && m.reqId === reqId) return m;
    if (m.type === SkyType.refused) throw new SkyRefusedError(m.code, 'lookup');
    throw new SkyRefusedError('ERR_SKY_MALFORMED', 'expected FOUND');
  }

  async punch(identity: Uint8Array): Promise<PunchAtMsg> {
    const reqId = this.#reqId++ >>> 0 || this.#reqId++;
    const m = await this.#request(encodeLookup(SkyType.punch, reqId, identity));
    if (m.type === SkyType.punchAt && m.reqId === reqId) return m;
    if (m.type === SkyType.refused) throw new SkyRefusedError(m.code, 'punch');
    throw new SkyRefusedError('ERR_SKY_MALFORMED', 'expected PUNCH_AT');
  }
}
