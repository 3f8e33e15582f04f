/**
 * `tollgate gossip --config peer.ini` runs one Gossip peer; `tollgate bootstrap --config FILE`
 * runs the bootstrap service. Both run until SIGINT/SIGTERM, then close every socket and exit.
 */
import { startGossipService } from '../../services/gossip/index.js';
import { ArgumentError } from '../../util/errors.js';
import { type Command, parseCommandArgs } from '../command.js';
import { OBSERVE_FLAGS, OBSERVE_HELP, observeFromFlags } from '../flags.js';

const HELP = `Usage: tollgate gossip --config FILE

Runs one VoidPhone Gossip peer (spec/voidphone-gossip.md): the API server on api_address and
the P2P server on p2p_address, joining through bootstrapper. Peers are verified by a
sha256-bits PoW (pow_bits, 24 by default) before they become neighbours.

Options:
  --config FILE            the peer's INI file (top-level hostkey, [gossip] section; see docs/gossip.md)
${OBSERVE_HELP}

Prints one line per change of state; stops on SIGINT or SIGTERM.`;

const BOOT_HELP = `Usage: tollgate bootstrap --config FILE

Runs the bootstrap service of a Gossip network: answers PEER REQUESTs and hands out only peers
that proved their PoW to it. Listens on [gossip] p2p_address, or else on the address of its
bootstrapper line (so the peers' own INI file works as is).

Options:
  --config FILE            INI file with a top-level hostkey and a [gossip] section
${OBSERVE_HELP}

Stops on SIGINT or SIGTERM.`;

export function gossipCommand(role: 'peer' | 'bootstrap'): Command {
  return {
    async run(argv) {
      const parsed = parseCommandArgs(
        argv,
        { config: { type: 'string' }, ...OBSERVE_FLAGS },
        role === 'peer' ? HELP : BOOT_HELP,
      );
      if (parsed === null) return 0;
      const file = parsed.values.config;
      if (file === undefined) throw new ArgumentError('--config', 'required');
      // Handlers first: a signal that arrives while starting still ends in a clean close.
      let stop: () => void = () => {};
      const stopped = new Promise<void>((resolve) => {
        stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
      });
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      // Counters, gauges and logs of the node: items announced, delivered, dropped by reason,
      // links, solves, queue depths (src/util/codes.ts EVENTS.gossip), as JSON logs and metrics.
      const obs = await observeFromFlags(parsed.values, [role === 'peer' ? 'gossip' : 'bootstrap']);
      let service: Awaited<ReturnType<typeof startGossipService>>;
      try {
        service = await startGossipService(
          file,
          role,
          (line) => process.stdout.write(`${line}\n`),
          (line) => process.stderr.write(`warning: ${line}\n`),
        );
      } catch (error) {
        stop();
        await obs.close();
        throw error;
      }
      await stopped;
      await service.close();
      await obs.close();
      process.stdout.write('stopped\n');
      return 0;
    },
  };
}

export const bootstrapCommand = gossipCommand('bootstrap');
export default gossipCommand('peer');
