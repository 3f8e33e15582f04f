/**
 * Network endpoints (ip:port) in one canonical form, so that a sealed challenge binds the
 * same bytes whichever way a socket or a config file spelled the address (seed 000: the
 * cookie carries "IP of both").
 *
 * Canonical host: IPv4 dotted decimal without leading zeros; IPv6 lowercase, compressed as
 * RFC 5952 (longest run of two or more zero groups as "::", the first on a tie), without
 * brackets or zone; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 address, since
 * a dual-stack socket reports IPv4 peers that way; an IPv6 zone ("%eth0") is dropped.
 *
 * Binary form (inside sealed challenges and handshakes), big-endian:
 *
 * ```
 *  +--------+---------------------------+-----------+
 *  | family | address                   | port u16  |
 *  | 4 or 6 | 4 bytes (4) / 16 bytes (6)|           |
 *  +--------+---------------------------+-----------+
 *     1               4 | 16                 2        = 7 or 19 bytes
 * ```
 * Decoding is canonical: family 6 holding an IPv4-mapped address is refused.
 */
import { ArgumentError } from '../util/errors.js';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export const FAMILY_V4 = 4;
export const FAMILY_V6 = 6;
export const ENCODED_V4_BYTES = 7;
export const ENCODED_V6_BYTES = 19;

const V4_RE =
  /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

function parseV4(text: string): Uint8Array | undefined {
  const m = V4_RE.exec(text);
  if (m === null) return undefined;
  return Uint8Array.of(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]));
}

function parseV6(text: string): Uint8Array | undefined {
  if (text.length < 2 || text.length > 45 || text.includes('%')) return undefined;
  const out = new Uint8Array(16);
  let head = text;
  let tail4: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) !== -1) {
    tail4 = parseV4(text.slice(lastColon + 1));
    if (tail4 === undefined) return undefined;
    head = text.slice(0, lastColon + 1);
    // "::1.2.3.4" leaves "::"; "64:ff9b::1.2.3.4" leaves "64:ff9b::"; "1:2:3:4:5:6:1.2.3.4" leaves "...6:".
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const groupsWanted = tail4 === undefined ? 8 : 6;
  const double = head.indexOf('::');
  if (double !== -1 && head.indexOf('::', double + 1) !== -1) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      groups.push(Number.parseInt(g, 16));
    }
    return groups;
  };
  let groups: number[];
  if (double === -1) {
    const all = parseGroups(head);
    if (all === undefined || all.length !== groupsWanted) return undefined;
    groups = all;
  } else {
    const left = parseGroups(head.slice(0, double));
    const right = parseGroups(head.slice(double + 2));
    if (left === undefined || right === undefined) return undefined;
    const missing = groupsWanted - left.length - right.length;
    // RFC 4291 2.2: "::" stands for one or more groups of zeros.
    if (missing < 1) return undefined;
    groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  }
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  if (tail4 !== undefined) out.set(tail4, 12);
  return out;
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

function formatV4(b: Uint8Array, offset = 0): string {
  return `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
}

/** RFC 5952 section 4 text form of 16 address bytes (not IPv4-mapped). */
function formatV6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((b[2 * i]! << 8) | b[2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  // RFC 5952 4.2.2: a single zero group is not shortened to "::".
  if (bestLen < 2) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** Address bytes of a host in any accepted spelling, or undefined; 4 bytes for IPv4 (also IPv4-mapped). */
function addressBytes(host: string): Uint8Array | undefined {
  // A zone ("fe80::1%eth0", as sockets report link-local peers) names a local interface, not
  // part of the peer's address: it is dropped, so the same peer binds the same bytes.
  const zone = host.indexOf('%');
  if (zone !== -1) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(host.slice(zone + 1))) return undefined;
    const v6 = parseV6(host.slice(0, zone));
    return v6 === undefined || isV4Mapped(v6) ? undefined : v6;
  }
  const v4 = parseV4(host);
  if (v4 !== undefined) return v4;
  const v6 = parseV6(host);
  if (v6 === undefined) return undefined;
  return isV4Mapped(v6) ? v6.slice(12) : v6;
}

function formatAddress(bytes: Uint8Array): string {
  return bytes.length === 4 ? formatV4(bytes) : formatV6(bytes);
}

/** Canonical text of 4 or 16 address bytes (16 IPv4-mapped bytes give the IPv4 text). */
export function formatAddressBytes(bytes: Uint8Array): string {
  if (bytes.length === 16 && isV4Mapped(bytes)) return formatV4(bytes, 12);
  if (bytes.length !== 4 && bytes.length !== 16)
    throw new ArgumentError('bytes', 'expected 4 or 16 address bytes');
  return formatAddress(bytes);
}

/** The canonical text of an IP address; throws ArgumentError naming `name` when it is not one. */
export function canonicalHost(host: string, name = 'host'): string {
  if (typeof host !== 'string') throw new ArgumentError(name, 'expected an IP address string');
  const bytes = addressBytes(host);
  if (bytes === undefined)
    throw new ArgumentError(name, `not an IPv4 or IPv6 address: ${JSON.stringify(host)}`);
  return formatAddress(bytes);
}

/** true when `host` is already in canonical form. */
export function isCanonicalHost(host: string): boolean {
  const bytes = addressBytes(host);
  return bytes !== undefined && formatAddress(bytes) === host;
}

function checkPort(port: unknown, name: string): asserts port is number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ArgumentError(name, `expected a port in [0, 65535], got ${String(port)}`);
  }
}

/**
 * An endpoint in canonical form from a host in any accepted spelling (for example a socket's
 * `remoteAddress`, which may be "::ffff:1.2.3.4") and a port. Port 0 is allowed and means
 * "any port": a service that re-connects for the answer can bind only the client's address.
 */
export function endpoint(host: string, port: number, name = 'endpoint'): Endpoint {
  checkPort(port, `${name}.port`);
  return { host: canonicalHost(host, `${name}.host`), port };
}

/** Canonical form of an endpoint given by the caller. */
export function canonicalEndpoint(e: Endpoint, name = 'endpoint'): Endpoint {
  if (typeof e !== 'object' || e === null) throw new ArgumentError(name, 'expected { host, port }');
  return endpoint(e.host, e.port, name);
}

/** Parses "1.2.3.4:5" or "[::1]:5" (IPv6 needs brackets); throws ArgumentError otherwise. */
export function parseEndpoint(text: string, name = 'endpoint'): Endpoint {
  if (typeof text !== 'string') throw new ArgumentError(name, 'expected "ip:port" or "[ipv6]:port"');
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1 || text[close + 1] !== ':')
      throw new ArgumentError(name, `expected "[ipv6]:port", got ${JSON.stringify(text)}`);
    host = text.slice(1, close);
    if (parseV4(host) !== undefined || addressBytes(host) === undefined)
      throw new ArgumentError(name, `not an IPv6 address: ${JSON.stringify(host)}`);
    portText = text.slice(close + 2);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon === -1 || text.indexOf(':') !== colon) {
      throw new ArgumentError(name, `expected "ip:port" or "[ipv6]:port", got ${JSON.stringify(text)}`);
    }
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
  }
  if (!/^(0|[1-9]\d{0,4})$/.test(portText))
    throw new ArgumentError(name, `bad port ${JSON.stringify(portText)}`);
  const port = Number(portText);
  checkPort(port, name);
  return { host: canonicalHost(host, name), port };
}

/** "1.2.3.4:5" or "[::1]:5"; the endpoint is canonicalised first. */
export function formatEndpoint(e: Endpoint): string {
  const c = canonicalEndpoint(e);
  return c.host.includes(':') ? `[${c.host}]:${c.port}` : `${c.host}:${c.port}`;
}

/** true when both name the same endpoint (after canonicalisation). */
export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  const x = canonicalEndpoint(a, 'a');
  const y = canonicalEndpoint(b, 'b');
  return x.host === y.host && x.port === y.port;
}

// Hot path cache: host text (any spelling) -> address bytes and canonical text. Sealed
// challenges are opened at a high rate for a bounded set of hosts; the cache is cleared
// whole when it reaches its size, so it never grows without bound.
const HOST_CACHE_MAX = 4096;
interface CachedHost {
  readonly bytes: Uint8Array;
  readonly text: string;
}
const hostCache = new Map<string, CachedHost>();

function lookupHost(host: unknown): CachedHost | undefined {
  if (typeof host !== 'string') return undefined;
  let hit = hostCache.get(host);
  if (hit === undefined) {
    const bytes = addressBytes(host);
    if (bytes === undefined) return undefined;
    hit = { bytes, text: formatAddress(bytes) };
    if (hostCache.size >= HOST_CACHE_MAX) hostCache.clear();
    hostCache.set(host, hit);
  }
  return hit;
}

function cachedAddress(host: string, name: string): Uint8Array {
  const hit = lookupHost(host);
  if (hit === undefined)
    throw new ArgumentError(name, `not an IPv4 or IPv6 address: ${JSON.stringify(host)}`);
  return hit.bytes;
}

/** Canonical text of `host` through the hot-path cache; undefined when it is not an IP address. */
export function canonicalHostCached(host: unknown): string | undefined {
  return lookupHost(host)?.text;
}

/** Bytes of the binary form of `e` (7 or 19). */
export function encodedEndpointLength(e: Endpoint, name = 'endpoint'): number {
  if (typeof e !== 'object' || e === null) throw new ArgumentError(name, 'expected { host, port }');
  checkPort(e.port, `${name}.port`);
  return cachedAddress(e.host, `${name}.host`).length === 4 ? ENCODED_V4_BYTES : ENCODED_V6_BYTES;
}

/** Writes the binary form of `e` at `offset`; returns the offset after it. */
export function encodeEndpointInto(e: Endpoint, out: Uint8Array, offset: number, name = 'endpoint'): number {
  checkPort(e.port, `${name}.port`);
  const addr = cachedAddress(e.host, `${name}.host`);
  out[offset] = addr.length === 4 ? FAMILY_V4 : FAMILY_V6;
  out.set(addr, offset + 1);
  const p = offset + 1 + addr.length;
  out[p] = e.port >>> 8;
  out[p + 1] = e.port & 0xff;
  return p + 2;
}

export function encodeEndpoint(e: Endpoint): Uint8Array {
  const out = new Uint8Array(encodedEndpointLength(e));
  encodeEndpointInto(e, out, 0);
  return out;
}

/**
 * true when the binary endpoint at `bytes[offset..]` is exactly the encoding of `e`; compares
 * bytes without decoding (the hot path of opening a sealed challenge).
 */
export function endpointMatches(bytes: Uint8Array, offset: number, e: Endpoint): boolean {
  const addr = lookupHost(e.host)?.bytes;
  if (addr === undefined || !Number.isInteger(e.port)) return false;
  const len = addr.length;
  if (offset + len + 3 > bytes.length) return false;
  if (bytes[offset] !== (len === 4 ? FAMILY_V4 : FAMILY_V6)) return false;
  for (let i = 0; i < len; i++) if (bytes[offset + 1 + i] !== addr[i]) return false;
  return bytes[offset + 1 + len] === e.port >>> 8 && bytes[offset + 2 + len] === (e.port & 0xff);
}

/**
 * Decodes one binary endpoint at `offset`. Returns undefined on a bad family, a short buffer
 * or a non-canonical form (IPv4-mapped address under family 6).
 */
export function decodeEndpoint(
  bytes: Uint8Array,
  offset = 0,
): { readonly endpoint: Endpoint; readonly next: number } | undefined {
  const family = bytes[offset];
  const len = family === FAMILY_V4 ? 4 : family === FAMILY_V6 ? 16 : -1;
  if (len === -1 || offset + 1 + len + 2 > bytes.length) return undefined;
  const addr = bytes.subarray(offset + 1, offset + 1 + len);
  if (len === 16 && isV4Mapped(addr)) return undefined;
  const port = (bytes[offset + 1 + len]! << 8) | bytes[offset + 2 + len]!;
  return { endpoint: { host: formatAddress(addr), port }, next: offset + 3 + len };
}

/** Address bytes of a canonical or non-canonical host (4 for IPv4, 16 for IPv6); throws ArgumentError. */
export function hostBytes(host: string, name = 'host'): Uint8Array {
  const bytes = addressBytes(host);
  if (bytes === undefined)
    throw new ArgumentError(name, `not an IPv4 or IPv6 address: ${JSON.stringify(host)}`);
  return bytes;
}
