/**
 * The powtcp socket shell: accepts TCP connections, enforces the connection caps, splits
 * lines, runs the pure connection logic (protocol/powtcp/connection.ts) and carries out its
 * effects: writes, admission calls, the one timer per connection, closing. Everything a
 * hostile peer can make the server hold is bounded by a limit of limits.ts.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { type Endpoint, endpoint, formatEndpoint } from '../../admission/endpoint.js';
import { capGroupOf } from '../../admission/rate-limit.js';
import {
  initialState,
  type ServerConnState,
  type ServerEffect,
  type ServerEvent,
  step,
} from '../../protocol/powtcp/connection.js';
import { type Clock, systemClock } from '../../util/clock.js';
import type { ReasonCode } from '../../util/codes.js';
import { reject, TollgateError, type Verdict } from '../../util/errors.js';
import { observer } from '../../util/observe.js';
import { encodeMessage, LineSplitter } from '../../wire/powtcp.js';
import type { ConnInfo, PowtcpAdmission } from './admission.js';
import { ConnectionTable } from './conn-table.js';
import { type PowtcpLimitOverrides, type PowtcpLimits, powtcpLimits } from './limits.js';

export interface PowtcpServerOptions {
  readonly admission: PowtcpAdmission;
  readonly limits?: PowtcpLimitOverrides;
  /** The address clients reach this service at, bound into challenges; default the listening address. */
  readonly publicAddress?: Endpoint;
  readonly clock?: Clock;
}

/**
 * Destroys `socket` if it has not closed within `graceMs`. The timer goes as soon as the
 * socket closes: holding the socket for the whole grace period would keep every closed
 * connection of a flood alive long enough to reach the old generation of the heap.
 */
function destroyLater(socket: Socket, graceMs: number): void {
  const timer = setTimeout(() => socket.destroy(), graceMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/**
 * The peer's canonical endpoint. Node reports a link-local peer as `fe80::1%<interface name>`,
 * and Linux allows names that `endpoint` refuses as a zone (`tg+0`, `a@b`); the zone names our
 * interface, not the peer, and the canonical form drops it anyway, so it is cut here.
 */
function peerEndpoint(socket: Socket): Endpoint | undefined {
  const raw = socket.remoteAddress;
  const port = socket.remotePort;
  if (raw === undefined || port === undefined) return undefined;
  const zone = raw.indexOf('%');
  try {
    return endpoint(zone === -1 ? raw : raw.slice(0, zone), port);
  } catch {
    return undefined;
  }
}

const obs = observer('powtcp');

/** A verdict against a peer: `rejections{reason}` (and `rate_limited`), logged at debug. */
function count(code: ReasonCode, fields?: Record<string, string | undefined>): void {
  obs.reject(code, fields);
  if (code === 'ERR_RATE_LIMITED') obs.count('rate_limited');
}

/** What the connection table needs of an open connection. */
interface OpenConn {
  /** No request in hand (waiting for the peer's next line, or solving). */
  readonly idle: boolean;
  /** Ends the connection with `0:ERR_POWTCP_EVICTED`. */
  evict(): void;
}

export class PowtcpServer {
  readonly limits: PowtcpLimits;
  private readonly admission: PowtcpAdmission;
  private unsample: (() => void)[] = [];
  private readonly clock: Clock;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** Open connections by address group, for the per-group cap and eviction at the global cap. */
  private readonly table = new ConnectionTable<OpenConn>();
  private publicAddress: Endpoint | undefined;
  private bound: Endpoint | undefined;

  constructor(options: PowtcpServerOptions) {
    this.admission = options.admission;
    this.limits = powtcpLimits(options.limits);
    this.clock = options.clock ?? systemClock;
    this.publicAddress = options.publicAddress;
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.accept(socket));
  }

  /** Starts listening; resolves with the bound address (port 0 picks a free port). */
  listen(at: Endpoint): Promise<Endpoint> {
    return new Promise((resolve, rejectListen) => {
      this.server.once('error', (err) =>
        rejectListen(
          new TollgateError('ERR_LISTEN_FAILED', `cannot listen on ${at.host}:${at.port}: ${err.message}`),
        ),
      );
      this.server.listen({ host: at.host, port: at.port, backlog: 511 }, () => {
        this.server.removeAllListeners('error');
        this.server.on('error', (err) => obs.log('error', 'listener error', { error: err.message }));
        const a = this.server.address();
        if (typeof a !== 'object' || a === null) return rejectListen(new Error('no address'));
        this.bound = endpoint(a.address, a.port);
        this.publicAddress ??= this.bound;
        // Read at each scrape, so the metric shows the price a newcomer pays now.
        this.unsample = [
          obs.sample('difficulty', () => this.admission.difficulty),
          obs.sample('puzzles_held', () => this.admission.puzzlesHeld),
        ];
        obs.log('info', 'powtcp listening', {
          address: formatEndpoint(this.bound),
          mode: this.admission.mode,
          difficulty: this.admission.difficulty,
        });
        resolve(this.bound);
      });
    });
  }

  get address(): Endpoint | undefined {
    return this.bound;
  }

  get connections(): number {
    return this.sockets.size;
  }

  /** Stops accepting, ends every connection, closes the admission's store. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    for (const stop of this.unsample.splice(0)) stop();
    await closed;
    await this.admission.close();
  }

  /** Answers `0:<code>` at accept and closes as soon as the answer is handed to the kernel. */
  private refuse(
    socket: Socket,
    code: 'ERR_POWTCP_TOO_MANY_CONNECTIONS' | 'ERR_POWTCP_TOO_MANY_CONNECTIONS_FROM_ADDRESS',
  ): void {
    count(code);
    socket.on('error', () => {});
    // Not after a grace period: a flood of refused connections whose peers never close
    // (slowloris) would otherwise hold one descriptor each for the whole grace period.
    socket.end(encodeMessage({ command: 0, payload: code }), () => socket.destroy());
    destroyLater(socket, this.limits.closeGraceMs);
  }

  /** Evicts the oldest idle connection (else the oldest) of the heaviest group. */
  private evictOne(): boolean {
    const heaviest = this.table.heaviest();
    if (heaviest === undefined) return false;
    let victim: OpenConn | undefined;
    for (const c of heaviest.items) {
      victim ??= c;
      if (c.idle) {
        victim = c;
        break;
      }
    }
    victim?.evict();
    return victim !== undefined;
  }

  private accept(socket: Socket): void {
    // Nothing a peer controls may throw out of the connection listener: that would stop the
    // process (issue 9 item 10).
    try {
      this.admit(socket);
    } catch (err) {
      obs.log('error', 'accept failed', { error: err instanceof Error ? err.message : String(err) });
      socket.destroy();
    }
  }

  private admit(socket: Socket): void {
    const client = peerEndpoint(socket);
    if (client === undefined || this.publicAddress === undefined) {
      socket.destroy();
      return;
    }
    const group = capGroupOf(client.host);
    // DESIGN pipeline step 2: a group at its cap is refused before any state is kept for it.
    if (this.table.countOf(group) >= this.limits.maxConnectionsPerAddress) {
      this.refuse(socket, 'ERR_POWTCP_TOO_MANY_CONNECTIONS_FROM_ADDRESS');
      return;
    }
    // At the global cap the group holding the most gives up its oldest idle connection: never
    // the newcomer, whose group holds fewer (issue 9 item 7).
    if (this.table.size >= this.limits.maxConnections && !this.evictOne()) {
      this.refuse(socket, 'ERR_POWTCP_TOO_MANY_CONNECTIONS');
      return;
    }
    this.sockets.add(socket);
    obs.count('connections');
    obs.gauge('open_connections', this.sockets.size);

    const conn: ConnInfo = { client, server: this.publicAddress };
    const splitter = new LineSplitter(this.limits.maxLineBytes);
    let state: ServerConnState = initialState(this.clock.now());
    let timer: NodeJS.Timeout | undefined;
    let armedAt = Number.NaN;
    let closing = false;
    let evicted = false;
    const entry: OpenConn = {
      get idle() {
        return state.phase === 'idle';
      },
      evict: () => {
        evicted = true;
        dispatch({ type: 'evict' });
      },
    };
    this.table.add(group, entry);

    const dispatch = (event: ServerEvent): void => {
      const r = step(state, event, this.clock.now(), this.limits);
      state = r.state;
      for (const e of r.effects) run(e);
    };
    const settle = (type: 'issued' | 'redeemed', p: Promise<Verdict<string>>): void => {
      p.then(
        (result) => dispatch({ type, result }),
        (err: unknown) => {
          obs.log('warn', 'admission failed', { error: err instanceof Error ? err.message : String(err) });
          const code = (err as { code?: unknown }).code;
          dispatch({
            type,
            result: reject(
              code === 'ERR_STORE_FULL' || code === 'ERR_STORE_UNAVAILABLE' ? code : 'ERR_POWTCP_INTERNAL',
            ),
          });
        },
      );
    };
    const run = (e: ServerEffect): void => {
      switch (e.type) {
        case 'send':
          if (!socket.destroyed && socket.writable) socket.write(encodeMessage(e.message));
          if (e.message.command === 2) obs.count('puzzles_issued');
          if (e.message.command === 4) obs.count('solutions_accepted');
          break;
        case 'issue':
          settle('issued', this.admission.issue(conn));
          break;
        case 'redeem':
          settle('redeemed', this.admission.redeem(conn, e.header));
          break;
        case 'rejected':
          count(e.code, { client: formatEndpoint(client), detail: e.detail });
          break;
        case 'deadline':
          if (e.at !== armedAt) {
            armedAt = e.at;
            if (timer !== undefined) clearTimeout(timer);
            timer = setTimeout(
              () => {
                // A timer may fire a little before the clock reaches `at`; the step then asks
                // for the same deadline again, which must re-arm.
                armedAt = Number.NaN;
                dispatch({ type: 'timer' });
              },
              Math.max(0, e.at - this.clock.now()),
            );
            timer.unref();
          }
          break;
        case 'close':
          if (closing) break;
          closing = true;
          if (timer !== undefined) clearTimeout(timer);
          this.table.delete(group, entry);
          if (evicted) {
            // An evicted connection's place is taken now; its descriptor goes once the answer is
            // flushed, so that eviction churn cannot pile up sockets in their grace period.
            socket.end(() => socket.destroy());
          } else {
            socket.end();
          }
          destroyLater(socket, this.limits.closeGraceMs);
          break;
      }
    };

    let readAfterClose = 0;
    socket.on('data', (chunk: Buffer) => {
      if (closing) {
        // The answer is queued; keep reading only to see the peer's FIN, and drop a peer that
        // keeps pushing (issue 9 item 8: the grace period is not a free sink).
        readAfterClose += chunk.length;
        if (readAfterClose > this.limits.maxBytesAfterClose) socket.destroy();
        return;
      }
      const items = splitter.push(chunk);
      dispatch({ type: 'read', items, partial: splitter.buffered > 0 });
    });
    socket.on('end', () => dispatch({ type: 'end' }));
    socket.on('error', (err) => {
      obs.log('debug', 'socket error', { client: formatEndpoint(client), error: err.message });
    });
    socket.on('close', () => {
      if (timer !== undefined) clearTimeout(timer);
      state = { ...state, phase: 'closed' };
      this.sockets.delete(socket);
      this.table.delete(group, entry);
      obs.gauge('open_connections', this.sockets.size);
    });
    dispatch({ type: 'read', items: [], partial: false });
  }
}
