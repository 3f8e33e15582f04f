/**
 * The attacker of one sky scenario in its own process (bench/sky/scenarios.ts runScenario):
 * sends 'ready' once the attack runs, and on 'stop' answers with its volume and exits.
 * Bounded: it also stops by itself after the scenario's duration plus a margin.
 */
import { type ScenarioOptions, type SkyScenario, startAttack } from './scenarios.js';

const { scenario, o } = JSON.parse(process.argv[2] ?? '{}') as { scenario: SkyScenario; o: ScenarioOptions };
const attack = startAttack(scenario, o);
const stop = () => {
  attack.stop();
  process.send?.({ answers: attack.answers(), connections: attack.connections() }, () => process.exit(0));
};
process.on('message', stop);
process.on('disconnect', () => process.exit(0));
setTimeout(stop, o.durationMs + 60_000).unref();
setTimeout(() => process.send?.('ready'), 500);
