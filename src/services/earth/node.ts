/**
 * An earth node (seed 003): holds leases at sky nodes, receives messages over the secure
 * channel, and stores messages for the nodes that announced their lease to it, within each
 * one's declared size. The IO shell: sockets, timers and sky links here; the ring and the
 * price in protocol/sky/inbox.ts, the byte layouts in wire/earth.ts.
 */

import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import type { Endpoint } from '../../admission/endpoint.js';
import { solveSha256Bits, verifySha256Bits } from '../../pow/sha256-bits.js';
import { InboxRing, priceBits } from '../../protocol/sky/inbox.js';
import { identityOfRaw, NO_HOLDER, publicKeyOfRaw, rawOfPublicKey } from '../../protocol/sky/lease.js';
import { EARTH_LIMITS, type EarthLimits } from '../../protocol/sky/limits.js';
import { punchCandidates } from '../../protocol/sky/punch.js';
import { type SecureChannel, SecureContext, secureAccept, secureConnect } from '../../secure/index.js';
import { type IdentityKey, type PublicIdentity, publicIdentity } from '../../secure/keys.js';
import type { TrustPolicy } from '../../secure/trust.js';
import { type Clock, systemClock } from '../../util/clock.js';
import { peerCode } from '../../util/codes.js';
import { TollgateError } from '../../util/errors.js';
import {
  ANNOUNCE_BYTES,
  decodeAnnounce,
  decodeEarth,
  type EarthMessage,
  EarthType,
  encodeAnnounce,
  encodeDeliver,
  encodeForward,
  encodeResult,
  ResultStatus,
  SUBSCRIBE,
  storeChallenge,
} from '../../wire/earth.js';
import type { FoundMsg, PunchAtMsg } from '../../wire/sky.js';
import { SkyClient, SkyRefusedError } from '../sky/client.js';
import { publish, sampleEarth } from './observe.js';

export interface EarthNodeOptions {
  readonly key: IdentityKey;
  readonly skies: readonly Endpoint[];
  /** Where we accept links; port 0 picks one. Undefined: no listener (a sender only). */
  readonly listen?: Endpoint;
  /** The node that stores for us while we are away (its identity, hex). */
  readonly holder?: string;
  readonly limits?: Partial<EarthLimits>;
  readonly clock?: Clock;
  /** Local address to dial the sky nodes from (namespaces with several addresses). */
  readonly localAddress?: string;
  readonly onMessage?: (from: string, data: Uint8Array) => void;
  readonly onEvent?: (event: string, reason?: string) => void;
}

/** A send could not be completed; `code` says why. */
export class EarthSendError extends TollgateError {}

export interface SendResult {
  readonly status: 'delivered' | 'stored' | 'relayed';
  readonly via: 'direct' | 'punch' | 'holder';
}

interface Known {
  readonly pub: PublicIdentity;
  readonly expiresAt: number;
  readonly inboxBytes: number;
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
const bytesOf = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

/** Reads exactly `n` bytes from a paused socket, leaving the rest buffered for the next reader. */
function readExactly(socket: Socket, n: number, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error, value?: Uint8Array) => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(value!);
    };
    const onReadable = () => {
      const chunk = socket.read(n) as Buffer | null;
      if (chunk !== null) done(undefined, new Uint8Array(chunk));
    };
    const onClose = () => done(new EarthSendError('ERR_EARTH_CLOSED', 'link closed'));
    const timer = setTimeout(
      () => done(new EarthSendError('ERR_EARTH_TIMEOUT', 'no announce in time')),
      timeoutMs,
    );
    socket.on('readable', onReadable);
    socket.once('close', onClose);
    onReadable();
  });
}

function dial(
  to: Endpoint,
  timeoutMs: number,
  local?: { port: number; address?: string | undefined },
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({
      host: to.host,
      port: to.port,
      noDelay: true,
      ...(local ? { localPort: local.port, ...(local.address ? { localAddress: local.address } : {}) } : {}),
    });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new EarthSendError('ERR_EARTH_UNREACHABLE', 'connect timed out'));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.removeAllListeners('error');
      s.on('error', () => {});
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      s.destroy();
      reject(e);
    });
  });
}

function nextMessage(channel: SecureChannel, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      channel.off('data', onData);
      channel.off('close', onClose);
      channel.off('error', onClose);
    };
    const onData = (m: Uint8Array) => {
      cleanup();
      resolve(m);
    };
    const onClose = () => {
      cleanup();
      reject(new EarthSendError('ERR_EARTH_CLOSED', 'link closed before an answer'));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new EarthSendError('ERR_EARTH_TIMEOUT', 'no answer in time'));
    }, timeoutMs);
    channel.on('data', onData);
    channel.once('close', onClose);
    channel.once('error', onClose);
  });
}

export class EarthNode {
  readonly key: IdentityKey;
  readonly identity: string;
  readonly rawKey: Uint8Array;
  readonly limits: EarthLimits;
  readonly skies: SkyClient[] = [];
  readonly counts = new Map<string, number>();
  /** Leases other nodes announced to us, until they expire (seed 003). */
  readonly #known = new Map<string, Known>();
  /** What we store for nodes that subscribed, and their live links. */
  readonly held = new Map<string, InboxRing>();
  readonly #subscribers = new Map<string, SecureChannel>();
  readonly #links = new Set<Socket>();
  readonly #options: EarthNodeOptions;
  readonly #clock: Clock;
  readonly #context: SecureContext;
  #server: Server | undefined;
  #address: Endpoint | undefined;
  #renew: NodeJS.Timeout | undefined;
  #holderLink: SecureChannel | undefined;

  constructor(options: EarthNodeOptions) {
    this.#options = options;
    this.key = options.key;
    this.identity = options.key.identity;
    this.rawKey = rawOfPublicKey(options.key.publicKey);
    this.limits = EARTH_LIMITS.resolve(options.limits ?? {}, { prefix: 'limits' });
    this.#clock = options.clock ?? systemClock;
    const trust: TrustPolicy = { lookup: (id) => this.#liveKnown(id)?.pub };
    this.#context = new SecureContext({
      key: options.key,
      trust,
      clock: this.#clock,
      limits: {
        maxMessageBytes: this.limits.maxMessageBytes + 64,
        handshakeTimeoutMs: this.limits.handshakeMs,
      },
    });
  }

  count(event: string, reason?: string): void {
    const k = reason === undefined ? event : `${event}:${reason}`;
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    this.#options.onEvent?.(event, reason);
    publish(event, reason);
  }

  get address(): Endpoint | undefined {
    return this.#address;
  }

  #liveKnown(id: string): Known | undefined {
    const k = this.#known.get(id);
    if (k === undefined) return undefined;
    if (k.expiresAt <= this.#clock.now()) {
      this.#known.delete(id);
      return undefined;
    }
    return k;
  }

  #remember(found: FoundMsg): Known | undefined {
    const id = identityOfRaw(found.key);
    const now = this.#clock.now();
    if (!this.#known.has(id) && this.#known.size >= this.limits.maxKnownLeases) {
      for (const [k, v] of this.#known) if (v.expiresAt <= now) this.#known.delete(k);
      if (this.#known.size >= this.limits.maxKnownLeases) return undefined;
    }
    const known = {
      pub: publicIdentity(publicKeyOfRaw(found.key)),
      expiresAt: found.expiresAt,
      inboxBytes: found.inboxBytes,
    };
    this.#known.set(id, known);
    return known;
  }

  /** Looks `identity` up at our sky nodes, first answer wins; remembers the lease. */
  async lookup(identity: string): Promise<FoundMsg> {
    let last: unknown = new EarthSendError('ERR_EARTH_NO_SKY', 'no sky node');
    for (const sky of this.skies) {
      if (sky.closed) continue;
      try {
        const found = await sky.lookup(bytesOf(identity));
        if (identityOfRaw(found.key) !== identity)
          throw new SkyRefusedError('ERR_SKY_MALFORMED', 'key does not match');
        this.#remember(found);
        return found;
      } catch (e) {
        last = e;
        if (e instanceof SkyRefusedError && e.code === 'ERR_SKY_NO_LEASE') continue;
      }
    }
    throw last;
  }

  /** Listens, connects to the sky nodes and takes the leases. Resolves once one lease is held. */
  async start(): Promise<void> {
    const o = this.#options;
    this.#unsample ??= sampleEarth({
      links: () => this.#links.size,
      knownLeases: () => this.#known.size,
      heldRecipients: () => this.held.size,
      inboxBytes: () => {
        let n = 0;
        for (const ring of this.held.values()) n += ring.bytes;
        return n;
      },
    });
    let listenPort = 0;
    if (o.listen !== undefined) {
      const server = createServer({ pauseOnConnect: true }, (socket) => this.#incoming(socket));
      server.on('error', () => {});
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(o.listen!.port, o.listen!.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      this.#server = server;
      const a = server.address() as { address: string; port: number };
      this.#address = { host: a.address, port: a.port };
      listenPort = a.port;
    }
    const errors: unknown[] = [];
    const listenHost = o.listen?.host;
    const localAddress =
      o.localAddress ??
      (listenHost !== undefined && listenHost !== '0.0.0.0' && listenHost !== '::' ? listenHost : undefined);
    for (const sky of o.skies) {
      try {
        const client = await SkyClient.connect(sky, {
          key: this.key,
          clock: this.#clock,
          // Dial the sky from the address we listen on, so the address it observes for our
          // lease is the one our listener answers at (a host with several addresses).
          ...(localAddress ? { localAddress } : {}),
        });
        client.on('punch', (m: PunchAtMsg) => this.#punched(client, m));
        client.on('error', () => {});
        this.skies.push(client);
      } catch (e) {
        errors.push(e);
      }
    }
    this.#listenPort = listenPort;
    // No sky node reached: say why (the first connect error), not only that none was.
    if (this.skies.length === 0) throw errors[0] ?? new EarthSendError('ERR_EARTH_NO_SKY', 'no sky node');
    await this.#lease();
    if (!this.skies.some((s) => !s.closed))
      throw errors[0] ?? new EarthSendError('ERR_EARTH_NO_SKY', 'no sky node');
    const half = Math.max(1000, (this.limits.leaseSec * 1000) / 2);
    this.#renew = setInterval(() => {
      this.#lease().catch(() => this.count('lease_failed'));
    }, half);
    this.#renew.unref();
    if (o.holder !== undefined) await this.#subscribe(o.holder).catch(() => this.count('subscribe_failed'));
  }

  #listenPort = 0;
  #unsample: (() => void) | undefined;

  async #lease(): Promise<void> {
    const holder = this.#options.holder === undefined ? NO_HOLDER : bytesOf(this.#options.holder);
    const results = await Promise.allSettled(
      this.skies.map((s) =>
        s.lease({
          durationSec: this.limits.leaseSec,
          listenPort: this.#listenPort,
          inboxBytes: this.limits.inboxBytes,
          holder,
        }),
      ),
    );
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    if (ok === 0) {
      const first = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
      throw first?.reason ?? new EarthSendError('ERR_EARTH_NO_SKY', 'no sky node');
    }
    this.count('leased');
  }

  /** Keeps a link to our holder: it hands us what it stored, and relays what arrives. */
  async #subscribe(holder: string): Promise<void> {
    const found = await this.lookup(holder);
    const channel = await this.#dialFound(found);
    this.#holderLink = channel;
    channel.on('data', (m: Uint8Array) => this.#onChannelMessage(channel, m, holder));
    channel.on('error', () => {});
    channel.write(SUBSCRIBE);
  }

  async close(): Promise<void> {
    this.#unsample?.();
    this.#unsample = undefined;
    if (this.#renew !== undefined) clearInterval(this.#renew);
    for (const s of this.skies) s.close();
    for (const l of this.#links) l.destroy();
    this.#holderLink?.destroy();
    if (this.#server !== undefined) await new Promise<void>((r) => this.#server!.close(() => r()));
  }

  // --- links ---------------------------------------------------------------------------

  #track(socket: Socket): boolean {
    if (this.#links.size >= this.limits.maxLinks) {
      this.count('refused', 'ERR_EARTH_BUSY');
      socket.destroy();
      return false;
    }
    this.#links.add(socket);
    socket.once('close', () => this.#links.delete(socket));
    socket.on('error', () => {});
    return true;
  }

  #incoming(socket: Socket): void {
    if (!this.#track(socket)) return;
    this.#accept(socket).catch((e: unknown) => {
      this.count('refused', e instanceof TollgateError ? e.code : 'ERR_EARTH_CLOSED');
      socket.destroy();
    });
  }

  /** Responder side: ANNOUNCE, the announcer's lease checked at a sky node, then the handshake. */
  async #accept(socket: Socket): Promise<void> {
    const announce = decodeAnnounce(await readExactly(socket, ANNOUNCE_BYTES, this.limits.handshakeMs));
    if (!announce.ok) throw new EarthSendError(announce.code, 'announce');
    const id = identityOfRaw(announce.value);
    if (this.#liveKnown(id) === undefined) {
      // Seed 003: only nodes that hold a lease are kept track of; the sky node vouches for it.
      await this.lookup(id);
    }
    const channel = await secureAccept(socket, { ...this.#contextOptions(), context: this.#context });
    channel.on('error', () => {});
    channel.on('data', (m: Uint8Array) => this.#onChannelMessage(channel, m, channel.peer.identity));
  }

  #contextOptions() {
    return { checkAddress: false } as const;
  }

  /** Initiator side over a connected socket. */
  async #handshake(socket: Socket, peer: string): Promise<SecureChannel> {
    socket.write(encodeAnnounce(this.rawKey));
    const channel = await secureConnect(socket, {
      ...this.#contextOptions(),
      context: this.#context,
      expectIdentity: peer,
    });
    channel.on('error', () => {});
    return channel;
  }

  async #dialFound(found: FoundMsg): Promise<SecureChannel> {
    const peer = identityOfRaw(found.key);
    this.#remember(found);
    const socket = await dial({ host: found.observed.host, port: found.listenPort }, this.limits.handshakeMs);
    if (!this.#track(socket)) throw new EarthSendError('ERR_EARTH_BUSY', 'too many links');
    return this.#handshake(socket, peer);
  }

  /** The sky node relayed a punch request: dial the peer from our sky port at the agreed moment. */
  #punched(sky: SkyClient, m: PunchAtMsg): void {
    this.count('punch_requested');
    this.#remember({
      type: 0x82,
      reqId: 0,
      key: m.peerKey,
      observed: m.observed,
      listenPort: 0,
      inboxBytes: 0,
      holder: NO_HOLDER,
      expiresAt: this.#clock.now() + this.limits.handshakeMs,
    });
    this.#punchDial(sky, m, true)
      .then((socket) => {
        if (!this.#track(socket)) return;
        return this.#accept(socket);
      })
      .catch(() => this.count('punch_failed'));
  }

  /**
   * Dials the peer from our sky port (docs/sky-earth.md "Hole punching"): its observed
   * endpoint, and the rest of the aligned block of `punchWindow` ports around it
   * (protocol/sky/punch.ts), paced over `punchSpreadMs`. Every socket binds the sky port
   * (SO_REUSEADDR, see SkyClient.connect), so an endpoint-independent NAT keeps our observed
   * mapping for all of them and an address-dependent one uses a single new mapping toward the
   * peer's address; the SYN that hits the peer's mapping toward us crosses the SYN it sent to
   * that mapping (TCP simultaneous open). The first socket to connect wins; the others are
   * destroyed. Bounded: at most `punchWindow` sockets, for at most `punchTimeoutMs`.
   *
   * The two sides take turns. A SYN that reaches a host before its socket for that 4-tuple
   * exists is answered by a RST, and a Linux NAT then leaves the pair's entry in a state that
   * lets the next packets out untranslated: that 4-tuple is dead for the punch. It happens
   * when the NAT still holds an unanswered entry from an earlier punch between the same two
   * (conntrack keeps SYN_SENT entries 2 minutes; RFC 5382 REQ-5 keeps transitory mappings at
   * least 4). So the peer that was asked (`first`) dials at the agreed moment, and the
   * requester dials `punchSpreadMs + punchStaggerMs` later, when every socket of the first is
   * there to meet its SYNs. Until then the requester listens on its sky port, so that a SYN
   * of the first that its NAT lets in early is accepted, not reset.
   */
  async #punchDial(sky: SkyClient, m: PunchAtMsg, first: boolean): Promise<Socket> {
    if (first) await new Promise((r) => setTimeout(r, m.delayMs));
    else {
      const early = await this.#punchListen(
        sky,
        m.observed.host,
        m.delayMs + this.limits.punchSpreadMs + this.limits.punchStaggerMs,
      );
      if (early !== undefined) {
        this.count('punch_accepted');
        return early;
      }
    }
    const ports = punchCandidates(m.observed.port, this.limits.punchWindow);
    const spreadMs = this.limits.punchSpreadMs;
    const deadline = this.#clock.now() + this.limits.punchTimeoutMs;
    const local = { port: sky.localPort, address: sky.bindAddress };
    this.count('punch_dials', String(ports.length));
    return new Promise<Socket>((resolve, reject) => {
      const open = new Set<Socket>();
      const timers = new Set<NodeJS.Timeout>();
      let done = false;
      const later = (ms: number, f: () => void) => {
        const t = setTimeout(() => {
          timers.delete(t);
          f();
        }, ms);
        timers.add(t);
      };
      const finish = (winner: Socket | undefined) => {
        if (done) return;
        done = true;
        for (const t of timers) clearTimeout(t);
        timers.clear();
        for (const s of open) if (s !== winner) s.destroy();
        open.clear();
        if (winner !== undefined) resolve(winner);
        else reject(new EarthSendError('ERR_EARTH_PUNCH_FAILED', 'hole punch timed out'));
      };
      // The socket of each port in flight, and the ports being re-dialled after a refusal.
      const live = new Map<number, Socket>();
      const redialling = new Set<number>();
      const dialOne = (port: number) => {
        if (done) return;
        live.get(port)?.destroy();
        const s = tcpConnect({
          host: m.observed.host,
          port,
          noDelay: true,
          localPort: local.port,
          ...(local.address ? { localAddress: local.address } : {}),
        });
        open.add(s);
        live.set(port, s);
        const forget = () => {
          open.delete(s);
          if (live.get(port) === s) live.delete(port);
        };
        s.once('connect', () => {
          forget();
          s.removeAllListeners('error');
          s.on('error', () => {});
          if (done) s.destroy();
          else finish(s);
        });
        s.once('close', forget);
        s.once('error', (e: NodeJS.ErrnoException) => {
          forget();
          s.destroy();
          this.count('punch_dial_error', e.code ?? 'unknown');
          // EADDRNOTAVAIL: we already hold a connection with this 4-tuple (an earlier link to
          // the same mapping); no SYN of ours can make a second one.
          if (e.code === 'EADDRNOTAVAIL' || redialling.has(port)) return;
          // Refused: our SYN reached the peer's host before its socket for us existed (a path
          // without NAT, or a peer NAT that kept an entry from an earlier punch; the turns
          // above make the second rare). The port is right, the moment was early: dial it
          // afresh after 25 ms, then at doubling intervals up to 400 ms, whatever became of
          // the previous try (after a RST the NATs may drop that socket's retransmissions):
          // about a dozen SYNs a port at most, within `punchTimeoutMs`.
          redialling.add(port);
          let wait = 25;
          const again = () => {
            if (done || this.#clock.now() >= deadline) return;
            dialOne(port);
            wait = Math.min(400, wait * 2);
            later(wait, again);
          };
          later(wait, again);
        });
      };
      later(Math.max(0, deadline - this.#clock.now()), () => finish(undefined));
      dialOne(ports[0]!);
      const rest = ports.length - 1;
      for (let i = 1; i <= rest; i++) {
        const port = ports[i]!;
        const at = Math.floor((i * spreadMs) / rest);
        if (at === 0) dialOne(port);
        else later(at, () => dialOne(port));
      }
    });
  }

  /**
   * Listens on the sky port for `ms`, and returns the first connection from `peerHost`, or
   * undefined. Linux lets a socket listen on a port that connected SO_REUSEADDR sockets share
   * (the sky link stays), but no new socket may bind the port while it listens: hence the
   * listener closes before the requester dials. Where listening fails, we only wait.
   */
  #punchListen(sky: SkyClient, peerHost: string, ms: number): Promise<Socket | undefined> {
    return new Promise((resolve) => {
      let done = false;
      const server = createServer({ pauseOnConnect: true }, (socket) => {
        if (done || socket.remoteAddress?.replace(/^::ffff:/, '') !== peerHost) {
          socket.destroy();
          return;
        }
        finish(socket);
      });
      const finish = (socket: Socket | undefined) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        // close() calls back once the listening handle is gone (so the port can be bound
        // again); it would wait for accepted connections too, so a winner resolves at once.
        server.close(() => resolve(socket));
        if (socket !== undefined) {
          socket.on('error', () => {});
          resolve(socket);
        }
      };
      const timer = setTimeout(() => finish(undefined), ms);
      // Not listening (the port is not ours to listen on here): we just wait out the turn.
      server.on('error', () => {});
      server.listen({ port: sky.localPort, host: sky.bindAddress });
    });
  }

  // --- messages ------------------------------------------------------------------------

  #onChannelMessage(channel: SecureChannel, bytes: Uint8Array, from: string): void {
    const d = decodeEarth(bytes, this.limits.maxMessageBytes);
    if (!d.ok) {
      this.count('rejected', d.code);
      channel.destroy();
      return;
    }
    this.#handle(channel, d.value, from);
  }

  #handle(channel: SecureChannel, m: EarthMessage, from: string): void {
    const now = this.#clock.now();
    if (m.type === EarthType.forward) {
      this.count('received');
      this.#options.onMessage?.(hex(m.from), m.data);
      return;
    }
    if (m.type === EarthType.subscribe) {
      const known = this.#liveKnown(from);
      if (known === undefined) {
        channel.write(encodeResult(ResultStatus.refused, 'ERR_SKY_NO_LEASE'));
        return;
      }
      let ring = this.held.get(from);
      if (ring === undefined) {
        let total = 0;
        for (const r of this.held.values()) total += r.capacity;
        if (
          this.held.size >= this.limits.maxHeldRecipients ||
          total + known.inboxBytes > this.limits.maxHeldBytes
        ) {
          channel.write(encodeResult(ResultStatus.refused, 'ERR_EARTH_HOLDER_FULL'));
          return;
        }
        ring = new InboxRing(known.inboxBytes, this.limits.priceBitsPerUnit > 0);
        this.held.set(from, ring);
      }
      this.#subscribers.get(from)?.destroy();
      this.#subscribers.set(from, channel);
      channel.once('close', () => {
        if (this.#subscribers.get(from) === channel) this.#subscribers.delete(from);
      });
      for (const h of ring.drain(now)) channel.write(encodeForward(h.from, h.data));
      this.count('subscribed');
      return;
    }
    if (m.type !== EarthType.deliver) {
      channel.write(encodeResult(ResultStatus.refused, 'ERR_EARTH_MALFORMED'));
      return;
    }
    const to = hex(m.to);
    if (to === this.identity) {
      this.count('received');
      this.#options.onMessage?.(from, m.data);
      channel.write(encodeResult(ResultStatus.delivered));
      return;
    }
    const ring = this.held.get(to);
    if (ring === undefined || this.#liveKnown(to) === undefined) {
      channel.write(encodeResult(ResultStatus.refused, 'ERR_EARTH_NOT_HOLDER'));
      return;
    }
    const bits = priceBits(m.data.length, m.keepSec, this.limits);
    if (bits > 0) {
      const challenge = storeChallenge(bytesOf(from), m.to, m.keepSec, m.data);
      if (m.keepSec < 1 || !verifySha256Bits({ challenge, difficulty: bits }, m.nonce)) {
        this.count('refused', 'ERR_EARTH_UNPAID');
        channel.write(encodeResult(ResultStatus.refused, 'ERR_EARTH_UNPAID', bits));
        return;
      }
    }
    const live = this.#subscribers.get(to);
    if (live !== undefined && !live.destroyed) {
      live.write(encodeForward(bytesOf(from), m.data));
      this.count('relayed');
      channel.write(encodeResult(ResultStatus.relayed));
      return;
    }
    const pushed = ring.push(bytesOf(from), m.data, Math.max(1, m.keepSec), now);
    if (!pushed.ok) {
      this.count('refused', pushed.code);
      channel.write(encodeResult(ResultStatus.refused, pushed.code));
      return;
    }
    this.count('stored');
    channel.write(encodeResult(ResultStatus.stored));
  }

  // --- sending -------------------------------------------------------------------------

  async #deliverOn(
    channel: SecureChannel,
    to: Uint8Array,
    data: Uint8Array,
    keepSec: number,
    nonce: bigint,
  ): Promise<EarthMessage> {
    const answer = nextMessage(channel, this.limits.handshakeMs);
    channel.write(encodeDeliver(to, keepSec, nonce, data));
    const bytes = await answer;
    const d = decodeEarth(bytes, this.limits.maxMessageBytes);
    if (!d.ok) throw new EarthSendError(d.code, 'answer');
    return d.value;
  }

  /**
   * Delivers one message: straight to the recipient when it can be reached (its listening
   * address, else a hole punch through a sky node we share), else to its holder, which
   * relays it at once if the recipient is linked to it, or stores it.
   */
  async send(
    to: string,
    data: Uint8Array,
    options: { readonly paths?: readonly SendResult['via'][] } = {},
  ): Promise<SendResult> {
    const paths = options.paths ?? ['direct', 'punch', 'holder'];
    if (data.length > this.limits.maxMessageBytes)
      throw new EarthSendError('ERR_EARTH_TOO_LARGE', `${data.length} bytes`);
    const found = await this.lookup(to);
    const toBytes = bytesOf(to);
    const finish = (m: EarthMessage, via: SendResult['via']): SendResult => {
      if (m.type !== EarthType.result) throw new EarthSendError('ERR_EARTH_MALFORMED', 'expected RESULT');
      if (m.status === ResultStatus.refused)
        throw new EarthSendError(peerCode(m.code, 'ERR_EARTH_REFUSED'), 'refused');
      return {
        status:
          m.status === ResultStatus.delivered
            ? 'delivered'
            : m.status === ResultStatus.stored
              ? 'stored'
              : 'relayed',
        via,
      };
    };
    if (found.listenPort !== 0 && paths.includes('direct')) {
      try {
        const ch = await this.#dialFound(found);
        try {
          return finish(await this.#deliverOn(ch, toBytes, data, 0, 0n), 'direct');
        } finally {
          ch.end();
        }
      } catch (e) {
        this.count('direct_failed', e instanceof TollgateError ? e.code : undefined);
      }
    }
    const punched = paths.includes('punch') ? await this.#tryPunch(toBytes) : undefined;
    if (punched !== undefined) {
      try {
        return finish(await this.#deliverOn(punched, toBytes, data, 0, 0n), 'punch');
      } finally {
        punched.end();
      }
    }
    if (paths.includes('holder') && !found.holder.every((b) => b === 0))
      return this.#viaHolder(hex(found.holder), toBytes, data);
    throw new EarthSendError('ERR_EARTH_UNREACHABLE', 'recipient unreachable and no holder');
  }

  async #tryPunch(to: Uint8Array): Promise<SecureChannel | undefined> {
    for (const sky of this.skies) {
      if (sky.closed) continue;
      try {
        const at = await sky.punch(to);
        const socket = await this.#punchDial(sky, at, false);
        if (!this.#track(socket)) return undefined;
        this.#remember({
          type: 0x82,
          reqId: 0,
          key: at.peerKey,
          observed: at.observed,
          listenPort: 0,
          inboxBytes: 0,
          holder: NO_HOLDER,
          expiresAt: this.#clock.now() + this.limits.handshakeMs,
        });
        this.count('punched');
        return await this.#handshake(socket, hex(at.peer));
      } catch (e) {
        this.count('punch_failed', e instanceof TollgateError ? e.code : undefined);
      }
    }
    return undefined;
  }

  async #viaHolder(holder: string, to: Uint8Array, data: Uint8Array): Promise<SendResult> {
    const found = await this.lookup(holder);
    const ch = await this.#dialFound(found);
    try {
      const keepSec = this.limits.keepSec;
      let m = await this.#deliverOn(ch, to, data, keepSec, 0n);
      if (m.type === EarthType.result && m.status === ResultStatus.refused && m.code === 'ERR_EARTH_UNPAID') {
        const challenge = storeChallenge(bytesOf(this.identity), to, keepSec, data);
        const { nonce } = await solveSha256Bits({ challenge, difficulty: m.bits });
        this.count('paid_storage');
        m = await this.#deliverOn(ch, to, data, keepSec, nonce);
      }
      if (m.type !== EarthType.result) throw new EarthSendError('ERR_EARTH_MALFORMED', 'expected RESULT');
      if (m.status === ResultStatus.refused)
        throw new EarthSendError(peerCode(m.code, 'ERR_EARTH_REFUSED'), 'refused by the holder');
      return {
        status:
          m.status === ResultStatus.stored
            ? 'stored'
            : m.status === ResultStatus.relayed
              ? 'relayed'
              : 'delivered',
        via: 'holder',
      };
    } finally {
      ch.end();
    }
  }
}
