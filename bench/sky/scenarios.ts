/**
 * The sky node's attack scenarios (issue 11 item 5), as functions that the benchmark
 * (bench/sky.ts), the regression tests (test/sky/attacks.test.ts) and the attack lab can
 * run against any sky node address. Every loop is bounded by `durationMs`; attackers come
 * from loopback addresses of their own (127.0.2.0/23 etc.), honest clients from others, so
 * per-address limits see them as the seed's costly identities.
 */
import { fork } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Endpoint } from '../../src/admission/endpoint.js';
import { rawOfPublicKey } from '../../src/protocol/sky/lease.js';
import { identityKey } from '../../src/secure/keys.js';
import { SkyClient } from '../../src/services/sky/client.js';
import {
  encodeLeaseBody,
  encodeLookup,
  leaseSignedInput,
  SkySplitter,
  SkyType,
  withSignature,
} from '../../src/wire/sky.js';

export type SkyScenario =
  | 'baseline'
  | 'lookup-flood-1'
  | 'lookup-flood-1000'
  | 'lease-flood'
  | 'shared-address'
  | 'slowloris';
export const SKY_SCENARIOS: readonly SkyScenario[] = [
  'lookup-flood-1',
  'lookup-flood-1000',
  'lease-flood',
  'shared-address',
  'slowloris',
];

export interface ScenarioOptions {
  readonly sky: Endpoint;
  readonly durationMs: number;
  /** Honest clients, and the ms between two requests of one client. */
  readonly honestClients?: number;
  readonly honestIntervalMs?: number;
  /** Attacker addresses for the many-address scenarios (default 1000). */
  readonly attackerAddresses?: number;
  /** Requests each attacker connection keeps in flight. */
  readonly window?: number;
}

/** One honest request: when it was sent (ms from the measured window's start), how long it took. */
export interface HonestOutcome {
  readonly t: number;
  readonly op: 'lookup' | 'lease';
  readonly ok: boolean;
  readonly ms: number;
  readonly reason?: string;
}

export interface ScenarioResult {
  readonly scenario: SkyScenario;
  readonly outcomes: readonly HonestOutcome[];
  readonly lookups: { sent: number; ok: number };
  readonly leases: { sent: number; ok: number };
  readonly attackerAnswers: number;
  readonly attackerConnections: number;
  readonly honestSolves: number;
  readonly honestFailures: Record<string, number>;
}

/** 127.0.x.y addresses from `base` on: 127.0.2.1, 127.0.2.2, ... */
export function loopbackAddresses(n: number, thirdOctet = 2): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(`127.0.${thirdOctet + Math.floor(i / 250)}.${(i % 250) + 1}`);
  return out;
}

const randomId = () => {
  const b = new Uint8Array(32);
  for (let i = 0; i < 32; i++) b[i] = (Math.random() * 256) | 0;
  return b;
};

export interface Attack {
  stop(): void;
  answers(): number;
  connections(): number;
}

/** Keeps `window` requests in flight per connection, re-opening closed connections, until stop. */
function flood(
  sky: Endpoint,
  addresses: readonly string[],
  window: number,
  next: () => Uint8Array,
  perAddress = 1,
): Attack {
  let answers = 0;
  let opened = 0;
  let stopped = false;
  const sockets = new Set<Socket>();
  const open = (address: string) => {
    if (stopped) return;
    opened++;
    const s = connect({ host: sky.host, port: sky.port, localAddress: address, noDelay: true });
    sockets.add(s);
    const splitter = new SkySplitter();
    s.on('connect', () => {
      for (let i = 0; i < window; i++) s.write(next());
    });
    s.on('data', (chunk: Buffer) => {
      splitter.push(chunk, () => {
        answers++;
        if (!stopped) s.write(next());
      });
    });
    s.on('error', () => {});
    s.on('close', () => {
      sockets.delete(s);
      if (!stopped) setTimeout(() => open(address), 50);
    });
  };
  for (const a of addresses) for (let k = 0; k < perAddress; k++) open(a);
  return {
    stop() {
      stopped = true;
      for (const s of sockets) s.destroy();
    },
    answers: () => answers,
    connections: () => opened,
  };
}

export function lookupFlood(
  sky: Endpoint,
  addresses: readonly string[],
  window: number,
  perAddress = 1,
): Attack {
  return flood(sky, addresses, window, () => encodeLookup(SkyType.lookup, 1, randomId()), perAddress);
}

/**
 * Valid, signed LEASEs, each under a new key: each one a lease the table would have to keep
 * (an Ed25519 key costs the attacker some 50 us; the sky node's signature check costs more).
 */
export function leaseFlood(sky: Endpoint, addresses: readonly string[], window: number): Attack {
  let t = Date.now();
  return flood(sky, addresses, window, () => {
    const priv = generateKeyPairSync('ed25519').privateKey;
    const body = encodeLeaseBody({
      key: rawOfPublicKey(identityKey(priv).publicKey),
      time: Math.max(++t, Date.now()),
      durationSec: 3600,
      listenPort: 1,
      inboxBytes: 1 << 30,
      holder: new Uint8Array(32),
    });
    return withSignature(body, new Uint8Array(sign(null, leaseSignedInput(body), priv)));
  });
}

/** Connections that send one byte and then nothing (slowloris), re-opened when closed. */
export function slowloris(sky: Endpoint, addresses: readonly string[], perAddress: number): Attack {
  let opened = 0;
  let stopped = false;
  const sockets = new Set<Socket>();
  const open = (address: string) => {
    if (stopped) return;
    opened++;
    const s = connect({ host: sky.host, port: sky.port, localAddress: address });
    sockets.add(s);
    s.on('connect', () => s.write(Uint8Array.from([1])));
    s.on('error', () => {});
    s.on('close', () => {
      sockets.delete(s);
      if (!stopped) setTimeout(() => open(address), 100);
    });
  };
  for (const a of addresses) for (let k = 0; k < perAddress; k++) open(a);
  return {
    stop() {
      stopped = true;
      for (const s of sockets) s.destroy();
    },
    answers: () => 0,
    connections: () => opened,
  };
}

/**
 * Honest earth nodes: each takes a lease, then alternates look-ups of the others (4 of 5)
 * and lease renewals (1 of 5), paying challenges when asked. A request counts as a success
 * when its answer is FOUND or LEASED within the client's timeout.
 */
async function honest(
  sky: Endpoint,
  addresses: readonly string[],
  intervalMs: number,
  durationMs: number,
): Promise<{
  lookups: { sent: number; ok: number };
  leases: { sent: number; ok: number };
  solves: number;
  failures: Record<string, number>;
  outcomes: HonestOutcome[];
}> {
  const outcomes: HonestOutcome[] = [];
  let windowStart = Date.now();
  const lookups = { sent: 0, ok: 0 };
  const leases = { sent: 0, ok: 0 };
  const failures: Record<string, number> = {};
  const failed = (e: unknown) => {
    const code = (e as { code?: string }).code ?? String(e);
    failures[code] = (failures[code] ?? 0) + 1;
  };
  let solves = 0;
  const clients: SkyClient[] = [];
  const lease = async (c: SkyClient) => {
    leases.sent++;
    const t0 = Date.now();
    try {
      await c.lease({ durationSec: 60, listenPort: 1, inboxBytes: 1024 });
      leases.ok++;
      outcomes.push({ t: t0 - windowStart, op: 'lease', ok: true, ms: Date.now() - t0 });
    } catch (e) {
      failed(e);
      const reason = (e as { code?: string }).code ?? String(e);
      outcomes.push({ t: t0 - windowStart, op: 'lease', ok: false, ms: Date.now() - t0, reason });
    }
  };
  await Promise.all(
    addresses.map(async (address) => {
      try {
        const c = await SkyClient.connect(sky, {
          key: identityKey(generateKeyPairSync('ed25519').privateKey),
          localAddress: address,
          timeoutMs: 20_000,
        });
        clients.push(c);
        await lease(c);
      } catch (e) {
        failed(e);
        leases.sent++;
        const reason = (e as { code?: string }).code ?? String(e);
        outcomes.push({ t: 0, op: 'lease', ok: false, ms: 0, reason });
      }
    }),
  );
  // The measured window starts once every honest node holds its lease.
  windowStart = Date.now();
  const until = Date.now() + durationMs;
  const ids = clients.map((c) => new Uint8Array(Buffer.from(c.key.identity, 'hex')));
  await Promise.all(
    clients.map(async (c, i) => {
      let n = 0;
      while (Date.now() < until && !c.closed) {
        await new Promise((r) => setTimeout(r, intervalMs * (0.5 + Math.random())));
        if (++n % 5 === 0) {
          await lease(c);
          continue;
        }
        lookups.sent++;
        const t0 = Date.now();
        try {
          await c.lookup(ids[(i + 1 + Math.floor(Math.random() * (ids.length - 1))) % ids.length]!);
          lookups.ok++;
          outcomes.push({ t: t0 - windowStart, op: 'lookup', ok: true, ms: Date.now() - t0 });
        } catch (e) {
          failed(e);
          const reason = (e as { code?: string }).code ?? String(e);
          outcomes.push({ t: t0 - windowStart, op: 'lookup', ok: false, ms: Date.now() - t0, reason });
        }
      }
    }),
  );
  for (const c of clients) {
    solves += c.solvedBits.length;
    c.close();
  }
  return { lookups, leases, solves, failures, outcomes };
}

/** Starts the attack of `scenario` in this process (the attacker child runs this). */
export function startAttack(scenario: SkyScenario, o: ScenarioOptions): Attack {
  const many = o.attackerAddresses ?? 1000;
  const window = o.window ?? 16;
  switch (scenario) {
    case 'baseline':
      return { stop() {}, answers: () => 0, connections: () => 0 };
    case 'lookup-flood-1':
      // Windows stay within the sky node's maxInFlight (32): a deeper pipeline is closed at once.
      return lookupFlood(o.sky, ['127.0.0.3'], window, 8);
    case 'lookup-flood-1000':
      return lookupFlood(o.sky, loopbackAddresses(many), Math.max(1, Math.floor(window / 4)));
    case 'lease-flood':
      return leaseFlood(o.sky, ['127.0.0.3', ...loopbackAddresses(Math.min(many, 100))], window);
    case 'shared-address':
      // The flooder sits behind the honest clients' NAT address (seed 003: "one public IP
      // address can be shared by up to tens of thousands of honest clients").
      return lookupFlood(o.sky, ['127.0.0.4'], window, 8);
    case 'slowloris':
      return slowloris(o.sky, loopbackAddresses(many), 4);
  }
}

/**
 * Runs one scenario: the attacker in a child process of its own (so that its flood does not
 * starve the honest clients' event loop here), honest clients in this process.
 */
export async function runScenario(scenario: SkyScenario, o: ScenarioOptions): Promise<ScenarioResult> {
  const honestN = o.honestClients ?? 20;
  const honestAddresses =
    scenario === 'shared-address'
      ? Array.from({ length: honestN }, () => '127.0.0.4')
      : loopbackAddresses(honestN, 200);
  const child = fork(
    fileURLToPath(new URL('./attacker.ts', import.meta.url)),
    [JSON.stringify({ scenario, o })],
    {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    },
  );
  try {
    await once(child, 'message');
    const h = await honest(o.sky, honestAddresses, o.honestIntervalMs ?? 100, o.durationMs);
    const done = once(child, 'message') as Promise<[{ answers: number; connections: number }]>;
    child.send('stop');
    const [a] = await done;
    return {
      scenario,
      outcomes: h.outcomes,
      lookups: h.lookups,
      leases: h.leases,
      attackerAnswers: a.answers,
      attackerConnections: a.connections,
      honestSolves: h.solves,
      honestFailures: h.failures,
    };
  } finally {
    child.kill();
  }
}
