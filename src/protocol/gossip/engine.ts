/**
 * The Gossip engine as one pure step, the house shape of src/protocol (powtcp's
 * `protocol/powtcp/connection.ts`): `step(state, event, now, deps) -> { state, effects }`,
 * with `initialState(params)`. It reads no clock (`now` is an argument), draws randomness only
 * from `deps.random`, and does no IO: the shell (services/gossip/node.ts, or a simulation)
 * holds the state between steps and carries out the effects in order.
 *
 * The state is a mutable record, not a persistent value: with tens of thousands of items and
 * links in the maps, copying it per event would cost more than the step itself. The step owns
 * the record while it runs, updates it in place and returns it; a caller must treat the state
 * it passed in as consumed and keep only the returned one. The logic is split by concern
 * (items.ts: spreading and repair; peers.ts: links, verification, peer exchange).
 */
import { GOSSIP_ANNOUNCE, GOSSIP_NOTIFY, GOSSIP_VALIDATION } from '../../wire/gossip-api.js';
import {
  decodeP2P,
  GOSSIP_HELLO,
  GOSSIP_IHAVE,
  GOSSIP_IWANT,
  GOSSIP_KEEP_CHALL,
  GOSSIP_KEEP_POW,
  GOSSIP_PEER_REQUEST,
  GOSSIP_PEER_RESPONSE,
  GOSSIP_PUSH,
  GOSSIP_VERIFICATION_REQUEST,
  GOSSIP_VERIFICATION_RESPONSE,
  peekPushId,
} from '../../wire/gossip-p2p.js';
import {
  heartbeatItems,
  onAnnounce,
  onApiClose,
  onIHave,
  onIWant,
  onNotify,
  onPush,
  onPushCopy,
  onValidation,
} from './items.js';
import { heartbeatKeep, onKeepChallMessage, onKeepPowMessage, onKeepSolvedEvent } from './keep-links.js';
import {
  heartbeatPeers,
  onDialFailed,
  onHello,
  onPeerClose,
  onPeerOpen,
  onPeerRequest,
  onPeerResponse,
  onProbeResult,
  onSolved,
  onSolveFailed,
  onVerificationRequest,
  onVerificationResponse,
} from './peers.js';
import { type Effect, type EngineDeps, type EngineEvent, type EngineState, keyOf, Step } from './state.js';

export type { Effect, EngineDeps, EngineEvent, EngineState } from './state.js';
export { initialState } from './state.js';

export interface StepResult {
  /** The same record that was passed in, updated (see the module comment). */
  readonly state: EngineState;
  /** What the shell must do, in order. */
  readonly effects: Effect[];
}

/** Applies one event at time `now` (ms) to `state`; returns the state and the effects. */
export function step(state: EngineState, event: EngineEvent, now: number, deps: EngineDeps): StepResult {
  const s = new Step(state, deps, now);
  switch (event.kind) {
    case 'tick':
      heartbeatItems(s);
      heartbeatPeers(s);
      heartbeatKeep(s);
      break;
    case 'api-open':
      state.api.set(event.conn, { id: event.conn, subscriptions: new Set(), pending: new Map() });
      break;
    case 'api-close':
      onApiClose(s, event.conn);
      break;
    case 'api-message':
      if (!state.api.has(event.conn)) break;
      if (event.msg.type === GOSSIP_ANNOUNCE) onAnnounce(s, event.conn, event.msg);
      else if (event.msg.type === GOSSIP_NOTIFY) onNotify(s, event.conn, event.msg.dataType);
      else if (event.msg.type === GOSSIP_VALIDATION) onValidation(s, event.conn, event.msg);
      break;
    case 'peer-open':
      onPeerOpen(s, event);
      break;
    case 'peer-close':
      onPeerClose(s, event.link, event.failed);
      break;
    case 'dial-failed':
      onDialFailed(s, event.address, event.bootstrap === true);
      break;
    case 'solved':
      onSolved(s, event.link, event.nonce, event.solution);
      break;
    case 'probe-result':
      onProbeResult(s, event.address, event.identity, event.ok);
      break;
    case 'solve-failed':
      onSolveFailed(s, event.link, event.nonce);
      break;
    case 'keep-solved':
      onKeepSolvedEvent(s, event.pow, event.nonce, event.links);
      break;
    case 'peer-message':
      onPeerMessage(s, event.link, event.frame);
      break;
  }
  return { state, effects: s.effects };
}

function onPeerMessage(s: Step, linkId: number, frame: Uint8Array): void {
  const link = s.state.links.get(linkId);
  if (link === undefined) return;
  // Most PUSHes a peer gets are copies (every neighbour pushes each item): a copy of an id we
  // hold is counted and dropped before the decode hashes its content to check the id (the
  // hash was the largest cost per message under load, issue 12 item 5). A peer lying about an
  // id this way only stops us sending that item to it.
  if (link.verified && !link.bootstrap && s.deps.isBootstrapper !== true) {
    const id = peekPushId(frame);
    if (id !== undefined && onPushCopy(s, linkId, keyOf(id))) return;
  }
  const verdict = decodeP2P(frame);
  if (!verdict.ok) {
    // Seed 002: a damaged packet is dropped; no resend is asked for.
    s.count(verdict.code);
    return;
  }
  const msg = verdict.value;
  switch (msg.type) {
    case GOSSIP_HELLO:
      onHello(s, link, msg);
      return;
    case GOSSIP_VERIFICATION_REQUEST:
      onVerificationRequest(s, link, msg);
      return;
    case GOSSIP_VERIFICATION_RESPONSE:
      onVerificationResponse(s, link, msg, frame);
      return;
    case GOSSIP_PEER_REQUEST:
      onPeerRequest(s, link, msg);
      return;
    case GOSSIP_PEER_RESPONSE:
      onPeerResponse(s, link, msg);
      return;
    case GOSSIP_KEEP_CHALL:
      onKeepChallMessage(s, link, msg);
      return;
    case GOSSIP_KEEP_POW:
      onKeepPowMessage(s, link, msg, frame);
      return;
  }
  // Items travel only between verified neighbours.
  if (!link.verified || link.bootstrap || s.deps.isBootstrapper) {
    if (msg.type === GOSSIP_PUSH) s.drop('ERR_GOSSIP_UNVERIFIED');
    else s.count('ERR_GOSSIP_UNVERIFIED');
    return;
  }
  if (msg.type === GOSSIP_PUSH) onPush(s, linkId, msg);
  else if (msg.type === GOSSIP_IHAVE) onIHave(s, linkId, msg);
  else if (msg.type === GOSSIP_IWANT) onIWant(s, linkId, msg);
}
