/**
 * Spreading: local announcements, items from peers, local validation, push to random
 * neighbours, and the lazy repair (IHAVE/IWANT). Spec clauses enforced here are quoted where
 * they are enforced; the choices the spec leaves open are in docs/gossip.md.
 */

import { shuffleInPlace } from '../../util/random.js';
import {
  type Announce,
  API_MESSAGE_IDS,
  encodeApi,
  GOSSIP_NOTIFICATION,
  type Validation,
} from '../../wire/gossip-api.js';
import {
  encodeP2P,
  GOSSIP_IHAVE,
  GOSSIP_IWANT,
  GOSSIP_PUSH,
  type IHave,
  type IWant,
  itemId,
  P2P_MAX_DATA,
  P2P_MAX_IHAVE,
  type Push,
} from '../../wire/gossip-p2p.js';
import type { CachedItem } from './cache.js';
import { dropLink, neighbours } from './peers.js';
import { type ApiConnId, keyOf, type LinkId, type PendingItem, type Step } from './state.js';

/** Hop rule of every implementation (spec "Semantics"): 1 ends here, >1 decrements, 0 stays. */
export function forwardTtl(received: number): number | undefined {
  if (received === 1) return undefined;
  return received === 0 ? 0 : received - 1;
}

export function onAnnounce(s: Step, conn: ApiConnId, msg: Announce): void {
  if (msg.data.length > P2P_MAX_DATA) {
    // Fits the API's u16 size but not a PUSH with its 16-byte id: refused, connection kept.
    s.drop('ERR_GOSSIP_ITEM_TOO_LARGE');
    return;
  }
  // A module that announces the same bytes twice means it (issue 10): each ANNOUNCE is a new
  // item, told apart by a random salt inside the id's hash input.
  const salt = s.deps.random.u64();
  const id = itemId(msg.dataType, salt, msg.data);
  const key = keyOf(id);
  if (!s.state.seen.add(key, s.now)) {
    s.drop('ERR_GOSSIP_SEEN_FULL');
    return;
  }
  s.count('gossip_announced');
  // "sent to every subscribed connection when an item of that type arrives ... from another
  // local module (never back to the announcing connection)". Local announcements are not gated
  // on these validations: API clients are trusted (spec), see docs/gossip.md.
  const subs = s.state.subscribers.get(msg.dataType);
  if (subs !== undefined) {
    for (const other of subs) if (other !== conn) notifyConn(s, other, key, msg.dataType, msg.data);
  }
  spread(s, { key, id, salt, dataType: msg.dataType, data: msg.data, ttl: msg.ttl, told: new Set() });
}

/**
 * A PUSH of an id we already hold (cached, pending or seen): the link is noted as having it,
 * the copy is counted and dropped; true then. False: a new id, to be decoded and checked.
 */
export function onPushCopy(s: Step, link: LinkId, key: string): boolean {
  const st = s.state;
  const cached = st.cache.get(key);
  if (cached !== undefined) cached.told.add(link);
  const pending = st.pending.get(key);
  if (pending !== undefined) pending.told.add(link);
  if (cached !== undefined || pending !== undefined || st.seen.has(key, s.now)) {
    s.count('gossip_duplicate');
    return true;
  }
  return false;
}

export function onPush(s: Step, link: LinkId, msg: Push): void {
  const st = s.state;
  const key = keyOf(msg.id);
  if (onPushCopy(s, link, key)) return;
  st.wanted.delete(key);
  const subs = st.subscribers.get(msg.dataType);
  if (subs === undefined || subs.size === 0) {
    // "items of a type that no local module subscribed to are not forwarded". Not marked
    // seen: such pushes would fill the seen set at no charge and make honest items of
    // subscribed types undeliverable (issue 10); they cost the sender its unwanted budget.
    s.count('gossip_unsubscribed');
    chargeUnwanted(s, link);
    return;
  }
  if (st.pending.size >= s.deps.params.maxPending) {
    // Not marked seen: the repair may bring it back once there is room.
    s.drop('ERR_GOSSIP_PENDING_FULL');
    return;
  }
  if (!st.seen.add(key, s.now, link)) {
    // This link is at its share of a full seen set: its item is refused, no one else's.
    s.drop('ERR_GOSSIP_SEEN_FULL');
    chargeUnwanted(s, link);
    return;
  }
  // The first copy of a new item: this link is useful to us (eviction spares it, diversity.ts).
  const from = st.links.get(link);
  if (from !== undefined) from.lastUseful = s.now;
  // Copy: the frame buffer belongs to the transport.
  const data = msg.data.slice();
  const item: PendingItem = {
    key,
    id: msg.id,
    salt: msg.salt,
    dataType: msg.dataType,
    data,
    ttl: msg.ttl,
    from: link,
    deadline: s.now + s.deps.params.validationTimeoutMs,
    waiting: new Map(),
    validCount: 0,
    told: new Set([link]),
  };
  st.pending.set(key, item);
  s.count('gossip_received');
  // Pending validations are shared fairly: a subscriber holds at most its share of
  // `maxPending`. One that sits on its share (a module that never answers) is not consulted on
  // new items until it answers or they time out, so it cannot starve the subscribers that do
  // answer (issue 10: one silent module let a well-behaved one get 1,024 of 10,000 items).
  const share = Math.max(1, Math.ceil(s.deps.params.maxPending / subs.size));
  for (const conn of subs) {
    if (st.api.get(conn)!.pending.size >= share) {
      s.drop('ERR_GOSSIP_SUBSCRIBER_BEHIND');
      continue;
    }
    const messageId = notifyConn(s, conn, key, msg.dataType, data);
    if (messageId !== undefined) item.waiting.set(conn, messageId);
  }
  if (item.waiting.size === 0) st.pending.delete(key);
}

/**
 * Pushes we cannot use (types nobody here subscribed to, items beyond the link's seen-set
 * share) cost decoding and a hash each; a link gets `maxUnwantedPerLink` of them per
 * `seenTtlMs` and is closed beyond that (ERR_GOSSIP_FLOOD). Honest neighbours send some: they
 * push every type they carry, not knowing ours.
 */
function chargeUnwanted(s: Step, linkId: LinkId): void {
  const link = s.state.links.get(linkId);
  if (link === undefined) return;
  if (s.now - link.unwantedSince >= s.deps.params.seenTtlMs) {
    link.unwantedSince = s.now;
    link.unwanted = 0;
  }
  if (++link.unwanted > s.deps.params.maxUnwantedPerLink) dropLink(s, link, 'ERR_GOSSIP_FLOOD', false);
}

/** Sends a NOTIFICATION with a fresh message ID unique among the connection's pending ones. */
function notifyConn(
  s: Step,
  connId: ApiConnId,
  key: string,
  dataType: number,
  data: Uint8Array,
): number | undefined {
  const conn = s.state.api.get(connId)!;
  // Half the ID space at most, so a free random ID is always found quickly.
  if (conn.pending.size >= s.deps.params.maxPendingPerApiConnection) {
    s.drop('ERR_GOSSIP_PENDING_FULL');
    return undefined;
  }
  let messageId = s.deps.random.int(API_MESSAGE_IDS);
  while (conn.pending.has(messageId)) messageId = (messageId + 1) % API_MESSAGE_IDS;
  conn.pending.set(messageId, { key, deadline: s.now + s.deps.params.validationTimeoutMs });
  s.emit({
    kind: 'api-send',
    conn: connId,
    frame: encodeApi({ type: GOSSIP_NOTIFICATION, messageId, dataType, data }),
  });
  s.count('gossip_notified');
  return messageId;
}

export function onValidation(s: Step, connId: ApiConnId, msg: Validation): void {
  const conn = s.state.api.get(connId);
  const key = conn?.pending.get(msg.messageId)?.key;
  if (conn === undefined || key === undefined) {
    // Late (after a timeout) or made up: nothing waits on it. Counted, connection kept.
    s.count('ERR_GOSSIP_API_UNKNOWN_ID');
    return;
  }
  conn.pending.delete(msg.messageId);
  const item = s.state.pending.get(key);
  // Validations of local announcements are answered but gate nothing.
  if (item === undefined || item.waiting.get(connId) !== msg.messageId) return;
  item.waiting.delete(connId);
  if (!msg.valid) {
    rejectItem(s, item);
    return;
  }
  item.validCount++;
  if (item.waiting.size === 0) acceptItem(s, item);
}

/**
 * "V = 0 means: drop it, never propagate it, and treat the sender as having sent garbage."
 * The id stays in the seen set, so the item is not fetched again.
 */
function rejectItem(s: Step, item: PendingItem): void {
  s.state.pending.delete(item.key);
  forgetPendingIds(s, item);
  s.drop('ERR_GOSSIP_INVALID_ITEM');
  if (item.from === undefined) return;
  const link = s.state.links.get(item.from);
  if (link === undefined) return;
  link.invalid++;
  if (link.invalid >= s.deps.params.invalidLimit) dropLink(s, link, 'ERR_GOSSIP_INVALID_ITEM', true);
}

/** "An item is spread further only after the local validation came back valid" (all of them). */
function acceptItem(s: Step, item: PendingItem): void {
  s.state.pending.delete(item.key);
  forgetPendingIds(s, item);
  if (item.validCount === 0) {
    // Every subscriber went away before answering: nobody here vouched for it.
    s.count('gossip_unvalidated');
    return;
  }
  s.count('gossip_validated');
  const ttl = forwardTtl(item.ttl);
  if (ttl === undefined) {
    s.count('gossip_ttl_end');
    return;
  }
  spread(s, {
    key: item.key,
    id: item.id,
    salt: item.salt,
    dataType: item.dataType,
    data: item.data,
    ttl,
    told: item.told,
  });
}

function forgetPendingIds(s: Step, item: PendingItem): void {
  for (const [connId, messageId] of item.waiting) s.state.api.get(connId)?.pending.delete(messageId);
  item.waiting.clear();
}

/** Caches the item and pushes it to `degree` random neighbours that have not told us they have it. */
function spread(
  s: Step,
  item: {
    key: string;
    id: Uint8Array;
    salt: bigint;
    dataType: number;
    data: Uint8Array;
    ttl: number;
    told: Set<LinkId>;
  },
): void {
  const cached: CachedItem = {
    key: item.key,
    id: item.id,
    salt: item.salt,
    dataType: item.dataType,
    data: item.data,
    ttl: item.ttl,
    acceptedAt: s.now,
    ihaveRounds: s.deps.params.ihaveRounds,
    told: new Set(item.told),
    sentTo: new Set(),
    served: new Map(),
  };
  s.state.cache.add(cached);
  const targets = neighbours(s).filter((l) => !cached.told.has(l));
  shuffleInPlace(targets, s.deps.random);
  const frame = encodeP2P({
    type: GOSSIP_PUSH,
    ttl: item.ttl,
    dataType: item.dataType,
    id: item.id,
    salt: item.salt,
    data: item.data,
  });
  for (const link of targets.slice(0, s.deps.params.degree)) {
    cached.sentTo.add(link);
    s.emit({ kind: 'peer-send', link, frame });
    s.count('gossip_push_sent');
  }
}

export function onIHave(s: Step, link: LinkId, msg: IHave): void {
  const want: Uint8Array[] = [];
  const max = Math.min(s.deps.params.maxIhaveEntries, msg.entries.length);
  if (msg.entries.length > max) s.count('gossip_ihave_truncated');
  for (let i = 0; i < max; i++) {
    const { dataType, id } = msg.entries[i]!;
    const key = keyOf(id);
    const cached = s.state.cache.get(key);
    if (cached !== undefined) {
      cached.told.add(link);
      continue;
    }
    const pending = s.state.pending.get(key);
    if (pending !== undefined) {
      pending.told.add(link);
      continue;
    }
    if (s.state.seen.has(key, s.now)) continue;
    const subs = s.state.subscribers.get(dataType);
    if (subs === undefined || subs.size === 0) continue;
    const again = s.state.wanted.get(key);
    if (again !== undefined && again > s.now) continue;
    if (s.state.wanted.size >= s.deps.params.maxPending && again === undefined) break;
    s.state.wanted.set(key, s.now + s.deps.params.iwantTimeoutMs);
    want.push(id);
  }
  if (want.length > 0) {
    s.emit({ kind: 'peer-send', link, frame: encodeP2P({ type: GOSSIP_IWANT, ids: want }) });
    s.count('gossip_iwant_sent');
  }
}

export function onIWant(s: Step, link: LinkId, msg: IWant): void {
  for (const id of msg.ids) {
    const item = s.state.cache.get(keyOf(id));
    // A neighbour is served an item a bounded number of times (a lost push, then a lost
    // repair), so IWANT cannot be used to amplify traffic.
    const times = item?.served.get(link) ?? 0;
    if (item === undefined || times >= s.deps.params.maxServesPerItem) {
      s.count('gossip_iwant_refused');
      continue;
    }
    item.served.set(link, times + 1);
    s.emit({
      kind: 'peer-send',
      link,
      frame: encodeP2P({
        type: GOSSIP_PUSH,
        ttl: item.ttl,
        dataType: item.dataType,
        id: item.id,
        salt: item.salt,
        data: item.data,
      }),
    });
    s.count('gossip_push_sent');
    s.count('gossip_iwant_served');
  }
}

/** Heartbeat part of spreading: IHAVE rounds, validation timeouts, expiry of seen/wanted. */
export function heartbeatItems(s: Step): void {
  const st = s.state;
  for (const item of [...st.pending.values()]) {
    if (item.deadline > s.now) continue;
    st.pending.delete(item.key);
    forgetPendingIds(s, item);
    s.drop('ERR_GOSSIP_VALIDATION_TIMEOUT');
  }
  for (const conn of st.api.values()) {
    for (const [messageId, p] of conn.pending) if (p.deadline <= s.now) conn.pending.delete(messageId);
  }
  st.seen.prune(s.now);
  for (const [key, at] of st.wanted) if (at <= s.now) st.wanted.delete(key);

  const links = neighbours(s);
  if (links.length === 0) return;
  const offers = new Map<LinkId, { dataType: number; id: Uint8Array }[]>();
  for (const item of st.cache.values()) {
    if (item.ihaveRounds <= 0) continue;
    item.ihaveRounds--;
    for (const link of links) {
      if (item.told.has(link)) continue;
      let list = offers.get(link);
      if (list === undefined) {
        list = [];
        offers.set(link, list);
      }
      list.push({ dataType: item.dataType, id: item.id });
    }
  }
  for (const [link, entries] of offers) {
    for (let at = 0; at < entries.length; at += P2P_MAX_IHAVE) {
      s.emit({
        kind: 'peer-send',
        link,
        frame: encodeP2P({ type: GOSSIP_IHAVE, entries: entries.slice(at, at + P2P_MAX_IHAVE) }),
      });
      s.count('gossip_ihave_sent');
    }
  }
}

/** API connection closes: "drop its subscriptions and its pending validations". */
export function onApiClose(s: Step, connId: ApiConnId): void {
  const conn = s.state.api.get(connId);
  if (conn === undefined) return;
  s.state.api.delete(connId);
  for (const dataType of conn.subscriptions) {
    const subs = s.state.subscribers.get(dataType);
    subs?.delete(connId);
    if (subs?.size === 0) s.state.subscribers.delete(dataType);
  }
  for (const { key } of conn.pending.values()) {
    const item = s.state.pending.get(key);
    if (item === undefined || !item.waiting.delete(connId)) continue;
    // The others' answers decide; a departed subscriber does not stall spreading.
    if (item.waiting.size === 0) acceptItem(s, item);
  }
}

export function onNotify(s: Step, connId: ApiConnId, dataType: number): void {
  const conn = s.state.api.get(connId);
  if (conn === undefined) return;
  conn.subscriptions.add(dataType);
  let subs = s.state.subscribers.get(dataType);
  if (subs === undefined) {
    subs = new Set();
    s.state.subscribers.set(dataType, subs);
  }
  subs.add(connId);
}
