/**
 * The P2P transport seen by a Gossip node: links that carry whole P2P messages between two
 * authenticated identities. Two implementations: `MemoryTransport` (in-process, for tests
 * and demos) and `TcpSecureTransport` (TCP + the secure channel, the real one).
 *
 * Connection setup, in order; each step is a place where seed 000/003 admission slots in:
 *   1. TCP accept: per-IP rate limit and global caps (admission `RateLimiter`, later issue);
 *   2. admission PoW to connect (seed 000 CONN_INIT/CONN_CHALL/CONN_OK, types 512-514), stateless
 *      for the listener through a sealed challenge (TcpSecureTransport; the in-memory transport
 *      has no listener CPU to protect and skips it);
 *   3. secure channel handshake: the peer's identity (SHA-256 of its public key);
 *   4. Gossip: HELLO, then VERIFICATION REQUEST/RESPONSE (seed 002's 24-bit PoW) before the
 *      peer is a neighbour; then the keep-alive PoW rounds (seed 000 KEEP_CHALL/KEEP_POW,
 *      515-516, src/protocol/gossip/keep.ts) run on the established link and tear it down
 *      when its peer does not pay.
 */
import type { HostPort } from './config.js';

export interface LinkHandlers {
  onMessage(frame: Uint8Array): void;
  /** The link is gone; `failed` when a send failed or the connection broke (not a clean close). */
  onClose(failed: boolean): void;
}

export interface P2PLink {
  /** The authenticated identity of the peer (hex SHA-256 of its DER SPKI). */
  readonly identity: string;
  /** The peer's address as the connection shows it (inbound caps per address and group). */
  readonly remote?: HostPort | undefined;
  /** Starts delivery to `handlers` (messages that arrived before are held until then). */
  start(handlers: LinkHandlers): void;
  /** Queues a message; false when the link is already broken (a failed send). */
  send(frame: Uint8Array): boolean;
  close(): void;
}

export interface P2PTransport {
  /** Listens on `address`; returns the bound address (port 0 becomes the real port). */
  listen(address: HostPort, onLink: (link: P2PLink) => void): Promise<HostPort>;
  dial(address: HostPort, signal?: AbortSignal): Promise<P2PLink>;
  close(): Promise<void>;
}
