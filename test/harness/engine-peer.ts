/**
 * The smallest shell around the pure gossip step, for simulations and unit tests: it holds
 * one peer's state between steps, as services/gossip/node.ts does over real sockets.
 */
import {
  type Effect,
  type EngineDeps,
  type EngineEvent,
  type EngineState,
  initialState,
  step,
} from '../../src/protocol/gossip/engine.js';

export interface EnginePeer {
  readonly deps: EngineDeps;
  /** The peer's state as the last step returned it (read it, do not keep it across steps). */
  readonly state: EngineState;
  /** Applies one event at `now`; returns its effects. */
  step(event: EngineEvent, now: number): Effect[];
}

export function enginePeer(deps: EngineDeps): EnginePeer {
  let state = initialState(deps.params);
  return {
    deps,
    get state() {
      return state;
    },
    step(event, now) {
      const result = step(state, event, now, deps);
      state = result.state;
      return result.effects;
    },
  };
}
