/**
 * The earth node's counts and gauges on the one observability channel (util/observe.ts), kept
 * apart from node.ts so that the node's own code says only `count(event, reason)`.
 */
import { type EventName, isReasonCode } from '../../util/codes.js';
import { observer } from '../../util/observe.js';

export const earthObserver = observer('earth');

const PUBLISHED: Record<string, EventName<'earth'>> = {
  leased: 'leased',
  lease_failed: 'lease_failed',
  received: 'received',
  stored: 'stored',
  relayed: 'relayed',
  subscribed: 'subscribed',
  subscribe_failed: 'subscribe_failed',
  punch_requested: 'punch_requested',
  punched: 'punched',
  punch_failed: 'punch_failed',
  direct_failed: 'direct_failed',
  paid_storage: 'paid_storage',
};

/**
 * A refusal (`refused` or `rejected` with a reason code) is one `rejections{reason}`; other
 * events by name, with their reason as the label when it is a reason code.
 */
export function publish(event: string, reason?: string): void {
  const code = reason !== undefined && isReasonCode(reason) ? reason : undefined;
  if (event === 'refused' || event === 'rejected') {
    if (code !== undefined) earthObserver.reject(code);
    return;
  }
  const name = PUBLISHED[event];
  if (name !== undefined) earthObserver.count(name, code);
}

/** Registers the node's gauges, read at each scrape; returns the function that removes them. */
export function sampleEarth(read: {
  links: () => number;
  knownLeases: () => number;
  heldRecipients: () => number;
  inboxBytes: () => number;
}): () => void {
  const stops = [
    earthObserver.sample('links', read.links),
    earthObserver.sample('known_leases', read.knownLeases),
    earthObserver.sample('held_recipients', read.heldRecipients),
    earthObserver.sample('inbox_bytes', read.inboxBytes),
  ];
  return () => {
    for (const stop of stops) stop();
  };
}
