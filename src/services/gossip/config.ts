/**
 * The Gossip configuration (spec/voidphone-gossip.md "Configuration file"): the VoidPhone INI
 * file shared by all modules of a peer. We read the top-level `hostkey` (or `[global] hostkey`)
 * and the `[gossip]` section; other modules' sections are ignored; unknown `[gossip]` keys are
 * reported as warnings. Besides the spec's keys, `[gossip]` takes our own keys: every gossip
 * limit with a `configKey` (`GOSSIP_KEYS` below; docs/gossip.md's table is generated from the
 * same registry). Errors name the file, the line, the INI key as the user spells it and what
 * is wrong.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { canonicalHost } from '../../admission/endpoint.js';
import { checkKeepParams } from '../../protocol/gossip/keep.js';
import { GOSSIP_DEFAULTS, GOSSIP_LIMITS, type GossipParams } from '../../protocol/gossip/limits.js';
import { TollgateError } from '../../util/errors.js';
import type { LimitSpec } from '../../util/limits.js';
import { parseIni } from './ini.js';

export class ConfigError extends TollgateError {
  constructor(
    readonly file: string,
    readonly key: string | undefined,
    message: string,
    code: 'ERR_CONFIG' | 'ERR_CONFIG_HOSTKEY' = 'ERR_CONFIG',
  ) {
    super(code, `${file}${key === undefined ? '' : `: ${key}`}: ${message}`);
  }
}

/** An address as configured: an IP literal (canonical) or a host name, and a port. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface GossipConfig {
  readonly file: string;
  /** Absolute path of the peer's private hostkey (PEM). */
  readonly hostkey: string;
  /** Where the P2P server listens (a bootstrapper: `p2p_address`, else its `bootstrapper` line). */
  readonly p2pAddress: HostPort;
  /** The key `p2pAddress` came from (a bootstrapper without p2p_address listens on its bootstrapper line). */
  readonly p2pAddressKey: 'p2p_address' | 'bootstrapper';
  /** Where the API server listens; undefined for a bootstrapper. */
  readonly apiAddress: HostPort | undefined;
  readonly bootstrapper: HostPort | undefined;
  /** Address put in HELLO (default: p2p_address); must be an IP literal. */
  readonly advertiseAddress: HostPort | undefined;
  /**
   * Folder of the public keys of a closed network (out-of-band key exchange, spec); undefined
   * for open membership, the default (any key that pays its PoW may link).
   */
  readonly trustedKeys: string | undefined;
  readonly params: GossipParams;
  /** Unknown keys in [gossip], as "file:line: key". */
  readonly warnings: readonly string[];
}

type ParamKey = keyof GossipParams;

/**
 * Our own `[gossip]` keys: every gossip limit that has a `configKey` in the one registry
 * (src/protocol/gossip/limits.ts), with the registry's bounds. Defaults are GOSSIP_DEFAULTS.
 */
export const GOSSIP_KEYS: readonly { key: string; param: ParamKey; min: number; max: number }[] =
  Object.entries(GOSSIP_LIMITS.specs as Readonly<Record<ParamKey, LimitSpec>>).flatMap(([param, spec]) =>
    spec.configKey === undefined
      ? []
      : [{ key: spec.configKey, param: param as ParamKey, min: spec.min, max: spec.max }],
  );

export interface ConfigOptions {
  /** 'bootstrap': the file configures `tollgate bootstrap` (no API; listens on p2p_address or bootstrapper). */
  readonly role?: 'peer' | 'bootstrap';
}

const STRING_KEYS = new Set([
  'bootstrapper',
  'p2p_address',
  'api_address',
  'advertise_address',
  'trusted_keys',
]);

export function loadGossipConfig(file: string, options: ConfigOptions = {}): GossipConfig {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(file, undefined, `cannot read: ${(error as Error).message}`);
  }
  return parseGossipConfig(text, file, dirname(path), options);
}

export function parseGossipConfig(
  text: string,
  file: string,
  baseDir: string,
  options: ConfigOptions = {},
): GossipConfig {
  const { ini, problems } = parseIni(text, new Set(['', 'global', 'gossip']));
  const first = problems[0];
  if (first !== undefined) throw new ConfigError(`${file}:${first.line}`, undefined, first.message);
  const gossip = ini.get('gossip');
  if (gossip === undefined) throw new ConfigError(file, '[gossip]', 'section missing');

  const hostkeyEntry = ini.get('')!.get('hostkey') ?? ini.get('global')?.get('hostkey');
  if (hostkeyEntry === undefined || hostkeyEntry.value === '') {
    throw new ConfigError(
      file,
      'hostkey',
      'missing. Create a key with `tollgate keygen --out hostkey.pem` and add the line `hostkey = hostkey.pem` at the top of the file (before any section)',
      'ERR_CONFIG_HOSTKEY',
    );
  }
  const hostkey = resolve(baseDir, hostkeyEntry.value);

  const warnings: string[] = [];
  const known = new Set([...STRING_KEYS, ...GOSSIP_KEYS.map((k) => k.key)]);
  for (const [key, entry] of gossip) {
    if (!known.has(key)) warnings.push(`${file}:${entry.line}: unknown key "${key}" in [gossip] (ignored)`);
  }

  const params: Record<string, number> = { ...GOSSIP_DEFAULTS };
  for (const spec of GOSSIP_KEYS) {
    const entry = gossip.get(spec.key);
    if (entry === undefined) continue;
    if (!/^\d+$/.test(entry.value)) {
      throw new ConfigError(
        `${file}:${entry.line}`,
        spec.key,
        `expected a whole number, got ${JSON.stringify(entry.value)}`,
      );
    }
    const n = Number(entry.value);
    if (n < spec.min || n > spec.max) {
      throw new ConfigError(`${file}:${entry.line}`, spec.key, `${n} is outside ${spec.min}..${spec.max}`);
    }
    params[spec.param] = n;
  }
  // Links beyond `degree` come from others dialling us; keep room for them unless configured.
  const keep = checkKeepParams(params as unknown as GossipParams);
  if (keep !== undefined) {
    const spec = GOSSIP_KEYS.find((k) => k.param === keep.key);
    const entry = spec === undefined ? undefined : gossip.get(spec.key);
    throw new ConfigError(
      entry === undefined ? file : `${file}:${entry.line}`,
      spec?.key ?? keep.key,
      `${keep.message} (keep_collect_ms ${params.keepCollectMs}, keep_skew_ms ${params.keepSkewMs}, keep_window_ms ${params.keepWindowMs}, keep_period_ms ${params.keepPeriodMs})`,
    );
  }
  if (!gossip.has('max_links')) params.maxLinks = Math.max(GOSSIP_DEFAULTS.maxLinks, 2 * params.degree!);
  // PEER REQUEST's limit is a u8 on the wire (the registry's max).
  params.peerRequestLimit = Math.min(GOSSIP_LIMITS.specs.peerRequestLimit.max, 2 * params.degree!);

  const address = (key: string, allowZeroPort: boolean): HostPort | undefined => {
    const entry = gossip.get(key);
    if (entry === undefined) return undefined;
    const parsed = parseHostPort(entry.value, allowZeroPort);
    if (typeof parsed === 'string') throw new ConfigError(`${file}:${entry.line}`, key, parsed);
    return parsed;
  };
  const bootstrapper = address('bootstrapper', false);
  const isBootstrap = options.role === 'bootstrap';
  const p2pAddress = address('p2p_address', true) ?? (isBootstrap ? bootstrapper : undefined);
  const apiAddress = isBootstrap ? undefined : address('api_address', true);
  if (p2pAddress === undefined) throw new ConfigError(file, 'p2p_address', 'missing in [gossip]');
  if (apiAddress === undefined && !isBootstrap)
    throw new ConfigError(file, 'api_address', 'missing in [gossip]');
  const advertiseAddress = address('advertise_address', false);
  if (advertiseAddress !== undefined && isIP(advertiseAddress.host) === 0) {
    throw new ConfigError(file, 'advertise_address', 'must be an IP address (it is sent to other peers)');
  }
  const trusted = gossip.get('trusted_keys');
  if (trusted !== undefined && trusted.value === '') {
    throw new ConfigError(
      `${file}:${trusted.line}`,
      'trusted_keys',
      'empty; name the folder of the public keys of a closed network, or remove the line for open membership',
    );
  }
  return {
    file,
    hostkey,
    p2pAddress,
    p2pAddressKey: gossip.has('p2p_address') ? 'p2p_address' : 'bootstrapper',
    apiAddress,
    bootstrapper,
    advertiseAddress,
    trustedKeys: trusted === undefined ? undefined : resolve(baseDir, trusted.value),
    params: params as unknown as GossipParams,
    warnings,
  };
}

/**
 * "IPv4 a.b.c.d:port, IPv6 [::1]:port, or a host name; split on the last colon." Returns the
 * address or a message saying what is wrong.
 */
export function parseHostPort(text: string, allowZeroPort = false): HostPort | string {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) return `expected host:port, got ${JSON.stringify(text)}`;
  let host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText)) return `bad port ${JSON.stringify(portText)}`;
  const port = Number(portText);
  if (port > 65535 || (port === 0 && !allowZeroPort))
    return `port ${port} is outside ${allowZeroPort ? 0 : 1}..65535`;
  if (host.startsWith('[') && host.endsWith(']')) {
    host = host.slice(1, -1);
    if (isIP(host) !== 6) return `not an IPv6 address in brackets: ${JSON.stringify(host)}`;
    return { host: canonicalHost(host), port };
  }
  if (host.includes(':')) return `an IPv6 address needs brackets, as in [${host}]:${port}`;
  if (isIP(host) === 4) return { host: canonicalHost(host), port };
  // RFC 1123 host names: labels of letters, digits and hyphens, not starting or ending with '-'.
  const label = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
  if (host.length > 253 || !host.split('.').every((l) => label.test(l)) || /^[\d.]+$/.test(host)) {
    return `not an IP address or host name: ${JSON.stringify(host)}`;
  }
  return { host: host.toLowerCase(), port };
}
