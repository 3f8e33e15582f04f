import { readFileSync } from 'node:fs';
/**
 * The `tollgate` command: a thin dispatcher. Each command lives in its own module under
 * `commands/` and is loaded only when used, so `tollgate pow` never loads the gossip daemon.
 */
import type { Command } from './command.js';

type Entry = { summary: string; load: () => Promise<Command> };

const commands: Record<string, Entry> = {
  // One line per command; each module default-exports a Command.
  demo: {
    summary: 'what `npm start` runs: every puzzle kind, powtcp under a flood, gossip across 5 peers',
    load: async () => (await import('./commands/demo.js')).default,
  },
  pow: {
    summary: 'solve or verify a proof-of-work puzzle',
    load: async () => (await import('./commands/pow.js')).default,
  },
  powtcp: {
    summary: 'PoW-protected quote server and client (seed 001)',
    load: async () => (await import('./commands/powtcp.js')).default,
  },
  keygen: {
    summary: 'make an identity key (RSA hostkey or Ed25519) for the secure channel',
    load: async () => (await import('./commands/keygen.js')).default,
  },
  secure: {
    summary: 'secure channel listener and client piping stdin/stdout (seed 004)',
    load: async () => (await import('./commands/secure.js')).default,
  },

  gossip: {
    summary: 'run a VoidPhone Gossip peer (API + P2P) from an INI file',
    load: async () => (await import('./commands/gossip.js')).default,
  },
  bootstrap: {
    summary: 'run the bootstrap service of a Gossip network (hands out PoW-verified peers)',
    load: async () => (await import('./commands/gossip.js')).bootstrapCommand,
  },
  sky: {
    summary: 'run a sky node: leases, look-ups and hole punching for earth nodes (seed 003)',
    load: async () => (await import('./commands/sky.js')).default,
  },
  earth: {
    summary: 'run an earth node, or `earth send` one message to another (seed 003)',
    load: async () => (await import('./commands/earth.js')).default,
  },
  'gossip-client': {
    summary: "talk to a Gossip peer's API: notify TYPE (print and validate) or announce TYPE DATA",
    load: async () => (await import('./commands/gossip-client.js')).default,
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`);
  return `Usage: tollgate <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun 'tollgate <command> --help' for the options of a command.\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const entry = commands[name];
  if (entry === undefined) {
    process.stderr.write(`tollgate: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const command = await entry.load();
  return command.run(rest);
}
