/**
 * Who may link with a Gossip peer. Open by default: seed 004 says "since there will be no CA,
 * we need Proof of Work for the identity", and a network of pre-shared keys has no Sybils for
 * the PoWs of seeds 000 and 002 to price. Any key may complete the secure handshake; what it
 * must pay before it carries items is the connection PoW (CONN_INIT), the verification PoW
 * (seed 002) and the keep-alive PoW (KEEP_POW). `trusted_keys` turns this into a closed
 * network of the listed keys (TrustStore), as before.
 */
import { createPublicKey } from 'node:crypto';
import { type PublicIdentity, publicIdentity, type TrustPolicy } from '../../secure/index.js';

/**
 * Admits any well-formed key the secure channel accepts (RSA 2048/3072/4096 with e = 65537,
 * Ed25519). The handshake reaches this only after its cheap checks (size, time, address,
 * replay) and, on the P2P port, after the connection PoW was paid; keys parsed here are kept
 * in a bounded cache so that a reconnecting peer is not parsed again.
 */
export class OpenTrust implements TrustPolicy {
  readonly #cache = new Map<string, PublicIdentity>();

  constructor(private readonly maxCached: number) {}

  lookup(identity: string, spki?: Uint8Array): PublicIdentity | undefined {
    const hit = this.#cache.get(identity);
    if (hit !== undefined) return hit;
    if (spki === undefined) return undefined;
    let parsed: PublicIdentity;
    try {
      parsed = publicIdentity(createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }));
    } catch {
      return undefined;
    }
    // A DER form that parses but is not the canonical encoding would hash to another identity:
    // the identity a peer is known by must be the hash of exactly the bytes it signed with.
    if (parsed.identity !== identity) return undefined;
    if (this.#cache.size >= this.maxCached) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(identity, parsed);
    return parsed;
  }
}
