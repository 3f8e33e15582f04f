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
  deadlineOf,
  initialState,
  type ServerConnState,
  type ServerEffect,
  type ServerEvent,
  step,
} from '../../protocol/powtcp/connection.js';
import { type Clock, systemClock } from '../../util/clock.js';
import type { ReasonCode } from '../../util/codes.js';
import { reject, TollgateError, type Verdict } from '../../util/errors.js';
import { observer, observing } from '../../util/observe.js';
import { encodeMessage, formatMessage, LineSplitter } from '../../wire/powtcp.js';
import { ConnectionTable } from '../conn-table.js';
import { destroyLater } from '../socket.js';
import type { ConnInfo, PowtcpAdmission } from './admission.js';
import { type PowtcpLimitOverrides, type PowtcpLimits, powtcpLimits } from './limits.js';

export interface PowtcpServerOptions {
  readonly admission: PowtcpAdmission;
  readonly limits?: PowtcpLimitOverrides;
  /** The address clients reach this service at, bound into challenges; default the listening address. */
  readonly publicAddress?: Endpoint;
  readonly clock?: Clock;
}

/**
 * The peer's canonical endpoint. Node reports a link-local peer as `fe80::1%<interface name>`,
 * and Linux allows names that `endpoint` refuses as a zone (`tg+0`, `a@b`); the zone names our
 * interface, not the peer, and the canonical form drops it anyway, so it is cut here.
 */
function peerEndpoint(raw: string, port: number): Endpoint | undefined {
  const zone = raw.indexOf('%');
  try {
    return endpoint(zone === -1 ? raw : raw.slice(0, zone), port);
  } catch {
    return undefined;
  }
}

/**
 * An IPv4 peer as the kernel reports it (inet_ntop: dotted decimal, no leading zeros) is
 * already canonical, so its endpoint and cap group need no parsing at accept; anything with a
 * colon (IPv6, IPv4-mapped) goes through the canonical parser.
 */
function isPlainV4(raw: string): boolean {
  return raw.indexOf(':') === -1 && raw.indexOf('%') === -1;
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

/** What every connection of one server shares: one object, not one closure per connection. */
interface Shell {
  readonly limits: PowtcpLimits;
  readonly clock: Clock;
  readonly admission: PowtcpAdmission;
  readonly table: ConnectionTable<OpenConn>;
  readonly sockets: Set<Socket>;
  publicAddress: Endpoint | undefined;
}

/**
 * `0:<code>\n` for each refusal code, encoded once: a refusal is answered with bytes ready
 * to write, not a message encoded per connection.
 */
const refusals = new Map<string, Uint8Array>();
function refusalBytes(code: string): Uint8Array {
  let bytes = refusals.get(code);
  if (bytes === undefined) {
    bytes = encodeMessage({ command: 0, payload: code });
    refusals.set(code, bytes);
  }
  return bytes;
}

const kConn = Symbol('powtcp.conn');
type ConnSocket = Socket & { [kConn]?: Conn };

// Socket listeners shared by every connection (`this` is the socket): nothing is allocated per
// connection for them.
function onSocketData(this: ConnSocket, chunk: Buffer): void {
  this[kConn]?.data(chunk);
}
function onSocketEnd(this: ConnSocket): void {
  this[kConn]?.dispatch({ type: 'end' });
}
function onSocketError(this: ConnSocket, err: Error): void {
  if (observing()) {
    obs.log('debug', 'socket error', {
      client: `${this.remoteAddress}:${this.remotePort}`,
      error: err.message,
    });
  }
}
function onSocketClose(this: ConnSocket): void {
  this[kConn]?.closed();
}
function ignore(): void {}

/**
 * One admitted connection: the pure connection logic's state and the shell around it. The
 * line splitter and the endpoint in canonical form are made when first needed, so that a
 * stranger refused at its first line costs this object, the state and one timer.
 */
class Conn implements OpenConn {
  private state: ServerConnState;
  private splitter: LineSplitter | undefined;
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Number.NaN;
  private closing = false;
  private evicted = false;
  private readAfterClose = 0;
  private info: ConnInfo | undefined;

  constructor(
    private readonly shell: Shell,
    private readonly socket: ConnSocket,
    private readonly group: string,
    private readonly client: Endpoint,
  ) {
    this.state = initialState(shell.clock.now());
  }

  get idle(): boolean {
    return this.state.phase === 'idle';
  }

  evict(): void {
    this.evicted = true;
    this.dispatch({ type: 'evict' });
  }

  start(): void {
    const s = this.socket;
    s[kConn] = this;
    s.on('data', onSocketData);
    s.on('end', onSocketEnd);
    s.on('error', onSocketError);
    s.on('close', onSocketClose);
    s.resume();
    this.arm(deadlineOf(this.state, this.shell.limits).at);
  }

  data(chunk: Buffer): void {
    if (this.closing) {
      // The answer is queued; keep reading only to see the peer's FIN, and drop a peer that
      // keeps pushing (issue 9 item 8: the grace period is not a free sink).
      this.readAfterClose += chunk.length;
      if (this.readAfterClose > this.shell.limits.maxBytesAfterClose) this.socket.destroy();
      return;
    }
    this.splitter ??= new LineSplitter(this.shell.limits.maxLineBytes);
    const items = this.splitter.push(chunk);
    this.dispatch({ type: 'read', items, partial: this.splitter.buffered > 0 });
  }

  closed(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.state = { ...this.state, phase: 'closed' };
    this.shell.sockets.delete(this.socket);
    this.shell.table.delete(this.group, this);
    obs.gauge('open_connections', this.shell.sockets.size);
  }

  dispatch(event: ServerEvent): void {
    const r = step(this.state, event, this.shell.clock.now(), this.shell.limits);
    this.state = r.state;
    for (const e of r.effects) this.run(e);
  }

  private conn(): ConnInfo {
    this.info ??= { client: this.client, server: this.shell.publicAddress! };
    return this.info;
  }

  private settle(type: 'issued' | 'redeemed', p: Promise<Verdict<string>>): void {
    p.then(
      (result) => this.dispatch({ type, result }),
      (err: unknown) => {
        obs.log('warn', 'admission failed', { error: err instanceof Error ? err.message : String(err) });
        const code = (err as { code?: unknown }).code;
        this.dispatch({
          type,
          result: reject(
            code === 'ERR_STORE_FULL' || code === 'ERR_STORE_UNAVAILABLE' ? code : 'ERR_POWTCP_INTERNAL',
          ),
        });
      },
    );
  }

  private arm(at: number): void {
    // A deadline no earlier than the armed one keeps the armed timer: it fires early, the step
    // finds the deadline not reached and asks for it again, and only then is it re-armed. A
    // request answered before the first-line deadline (every refusal, every puzzle) so costs
    // one timer, not one more per answer.
    if (at >= this.armedAt) return;
    this.armedAt = at;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(onConnTimer, Math.max(0, at - this.shell.clock.now()), this);
    this.timer.unref();
  }

  /** The connection's one timer fired. */
  fire(): void {
    // A timer may fire a little before the clock reaches `at`; the step then asks for the
    // same deadline again, which must re-arm.
    this.armedAt = Number.NaN;
    this.dispatch({ type: 'timer' });
  }

  private run(e: ServerEffect): void {
    const socket = this.socket;
    switch (e.type) {
      case 'send':
        if (e.message.command === 0) {
          if (!socket.destroyed && socket.writable) socket.write(refusalBytes(e.message.payload));
          break;
        }
        // Only a connection that gets work done pays for TCP_NODELAY (one system call): a
        // stranger refused at its first line never needs it.
        socket.setNoDelay(true);
        // A string goes to the socket as is (no encoder, no copy); formatMessage checks it.
        if (!socket.destroyed && socket.writable) socket.write(formatMessage(e.message));
        if (e.message.command === 2) obs.count('puzzles_issued');
        if (e.message.command === 4) obs.count('solutions_accepted');
        break;
      case 'issue':
        this.settle('issued', this.shell.admission.issue(this.conn()));
        break;
      case 'redeem':
        this.settle('redeemed', this.shell.admission.redeem(this.conn(), e.header));
        break;
      case 'rejected':
        if (observing()) count(e.code, { client: formatEndpoint(this.client), detail: e.detail });
        break;
      case 'deadline':
        this.arm(e.at);
        break;
      case 'close':
        if (this.closing) break;
        this.closing = true;
        if (this.timer !== undefined) clearTimeout(this.timer);
        this.shell.table.delete(this.group, this);
        if (socket.writableLength === 0) {
          socket.destroy();
          break;
        }
        if (this.evicted) {
          // An evicted connection's place is taken now; its descriptor goes once the answer is
          // flushed, so that eviction churn cannot pile up sockets in their grace period.
          socket.end(() => socket.destroy());
        } else {
          socket.end();
        }
        destroyLater(socket, this.shell.limits.closeGraceMs);
        break;
    }
  }
}

function onConnTimer(conn: Conn): void {
  conn.fire();
}

export class PowtcpServer {
  readonly limits: PowtcpLimits;
  private readonly admission: PowtcpAdmission;
  private unsample: (() => void)[] = [];
  private readonly server: Server;
  private readonly shell: Shell;
  private bound: Endpoint | undefined;

  constructor(options: PowtcpServerOptions) {
    this.admission = options.admission;
    this.limits = powtcpLimits(options.limits);
    this.shell = {
      limits: this.limits,
      clock: options.clock ?? systemClock,
      admission: options.admission,
      table: new ConnectionTable<OpenConn>(),
      sockets: new Set<Socket>(),
      publicAddress: options.publicAddress,
    };
    // allowHalfOpen: a client that sends its line and half-closes still gets its answer.
    // pauseOnConnect: a socket starts reading only once admitted, so a stranger refused at
    // accept costs no registration with the event loop's poller (one system call less).
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) =>
      this.accept(socket),
    );
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
        this.shell.publicAddress ??= this.bound;
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
    return this.shell.sockets.size;
  }

  /** Stops accepting, ends every connection, closes the admission's store. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.shell.sockets) s.destroy();
    for (const stop of this.unsample.splice(0)) stop();
    await closed;
    await this.admission.close();
  }

  /**
   * Answers `0:<code>` at accept with one write, and closes at once when the kernel took it
   * all (it always does for one short line on a fresh connection): no listener, timer or
   * shutdown round trip is spent on a refused stranger (issue 12 item 1).
   */
  private refuse(
    socket: Socket,
    code: 'ERR_POWTCP_TOO_MANY_CONNECTIONS' | 'ERR_POWTCP_TOO_MANY_CONNECTIONS_FROM_ADDRESS',
  ): void {
    count(code);
    socket.on('error', ignore);
    socket.write(refusalBytes(code));
    if (socket.writableLength === 0) {
      socket.destroy();
      return;
    }
    // Not after a grace period: a flood of refused connections whose peers never close
    // (slowloris) would otherwise hold one descriptor each for the whole grace period.
    socket.end(() => socket.destroy());
    destroyLater(socket, this.limits.closeGraceMs);
  }

  /** Evicts the oldest idle connection (else the oldest) of the heaviest group. */
  private evictOne(): boolean {
    const heaviest = this.shell.table.heaviest();
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
    const raw = socket.remoteAddress;
    const port = socket.remotePort;
    if (raw === undefined || port === undefined || this.shell.publicAddress === undefined) {
      socket.destroy();
      return;
    }
    let client: Endpoint | undefined;
    let group: string;
    if (isPlainV4(raw)) {
      client = { host: raw, port };
      group = `v4:${raw}`;
    } else {
      client = peerEndpoint(raw, port);
      if (client === undefined) {
        socket.destroy();
        return;
      }
      group = capGroupOf(client.host);
    }
    const table = this.shell.table;
    // DESIGN pipeline step 2: a group at its cap is refused before any state is kept for it.
    if (table.countOf(group) >= this.limits.maxConnectionsPerAddress) {
      this.refuse(socket, 'ERR_POWTCP_TOO_MANY_CONNECTIONS_FROM_ADDRESS');
      return;
    }
    // At the global cap the group holding the most gives up its oldest idle connection: never
    // the newcomer, whose group holds fewer (issue 9 item 7).
    if (table.size >= this.limits.maxConnections && !this.evictOne()) {
      this.refuse(socket, 'ERR_POWTCP_TOO_MANY_CONNECTIONS');
      return;
    }
    const sockets = this.shell.sockets;
    sockets.add(socket);
    obs.count('connections');
    obs.gauge('open_connections', sockets.size);
    const conn = new Conn(this.shell, socket, group, client);
    table.add(group, conn);
    conn.start();
  }
}
