/**
 * The Gossip engine: `step(event, now)` returns the effects for the IO shell. All state lives
 * in `EngineState`; the logic is split by concern (items.ts: spreading and repair; peers.ts:
 * links, verification, peer exchange) rather than grown into one class.
 */
import { GOSSIP_ANNOUNCE, GOSSIP_NOTIFY, GOSSIP_VALIDATION } from '../../wire/gossip-api.js';
import {
  decodeP2P,
  GOSSIP_HELLO,
  GOSSIP_IHAVE,
  GOSSIP_IWANT,
  GOSSIP_PEER_REQUEST,
  GOSSIP_PEER_RESPONSE,
  GOSSIP_PUSH,
  GOSSIP_VERIFICATION_REQUEST,
  GOSSIP_VERIFICATION_RESPONSE,
} from '../../wire/gossip-p2p.js';
import {
  heartbeatItems,
  onAnnounce,
  onApiClose,
  onIHave,
  onIWant,
  onNotify,
  onPush,
  onValidation,
} from './items.js';
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
import {
  type Effect,
  type EngineDeps,
  type EngineEvent,
  type EngineState,
  initialState,
  Step,
} from './state.js';

export type { Effect, EngineDeps, EngineEvent, EngineState } from './state.js';

export class GossipEngine {
  readonly state: EngineState;

  constructor(readonly deps: EngineDeps) {
    this.state = initialState(deps.params);
  }

  /** Applies one event at time `now` (ms); returns what the shell must do, in order. */
  step(event: EngineEvent, now: number): Effect[] {
    const s = new Step(this.state, this.deps, now);
    switch (event.kind) {
      case 'tick':
        heartbeatItems(s);
        heartbeatPeers(s);
        break;
      case 'api-open':
        this.state.api.set(event.conn, { id: event.conn, subscriptions: new Set(), pending: new Map() });
        break;
      case 'api-close':
        onApiClose(s, event.conn);
        break;
      case 'api-message':
        if (!this.state.api.has(event.conn)) break;
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
      case 'peer-message':
        this.onPeerMessage(s, event.link, event.frame);
        break;
    }
    return s.effects;
  }

  private onPeerMessage(s: Step, linkId: number, frame: Uint8Array): void {
    const link = this.state.links.get(linkId);
    if (link === undefined) return;
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
    }
    // Items travel only between verified neighbours.
    if (!link.verified || link.bootstrap || this.deps.isBootstrapper) {
      s.count('ERR_GOSSIP_UNVERIFIED');
      return;
    }
    if (msg.type === GOSSIP_PUSH) onPush(s, linkId, msg);
    else if (msg.type === GOSSIP_IHAVE) onIHave(s, linkId, msg);
    else if (msg.type === GOSSIP_IWANT) onIWant(s, linkId, msg);
  }
}
