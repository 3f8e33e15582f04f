/**
 * The one registry of codes (DESIGN "Limits, errors, logs"; STYLE 4): every thrown error code,
 * every reason code of a verdict on network input, and every counted event, each with a doc
 * line. `docs/errors.md` and `docs/observability.md` are generated from this file
 * (`npm run docs`) and test/docs-codes.test.ts keeps them equal. Codes are stable: match on
 * them, use them as metric labels (the set is fixed, so label sets stay bounded).
 */

/** Thrown to the caller of an API (a mistake) or for a local failure (config, key, store). */
export const ERRORS = {
  ERR_INVALID_ARG: 'a caller passed a bad argument; the message names it',
  ERR_ABORTED: 'work was cancelled through an AbortSignal',
  ERR_POWTCP_REFUSED: 'the powtcp server answered `0:<reason>`; the message carries the reason',
  ERR_POWTCP_PROTOCOL:
    'the powtcp server closed early, sent a bad or unexpected line, or did not answer in time',
  ERR_LISTEN_FAILED:
    'a server could not listen on the address it was given (in use, not local, no permission)',
  ERR_POW_BUDGET:
    'a solve spent its budget (`maxAttempts`, `timeoutMs`, or the nonce space) without a solution',
  ERR_POOL_CLOSED: 'a job was given to, or was waiting in, a worker pool that was closed',
  ERR_WORKER_FAILED: 'a pool worker thread failed or exited while running a job',
  ERR_NATIVE_UNAVAILABLE:
    'the native backend was requested but the addon does not load; the message says why',
  ERR_STORE_CLOSED: 'a store (`MemoryStore`) was used after `close()`',
  ERR_CONFIG:
    'a configuration file is unreadable or wrong; the message names the file, the line, the key and what is wrong',
  ERR_CONFIG_HOSTKEY:
    'the configuration has no `hostkey`; the message shows the `tollgate keygen` command that makes one',
  ERR_GOSSIP_CLIENT: '`tollgate gossip-client` (or `GossipApiClient`) cannot reach the Gossip API address',
  ERR_KEY:
    'secure: an identity key file cannot be read, or its type/size is not accepted (RSA 2048/3072/4096 with e = 65537, Ed25519)',
  ERR_SC_CLOSED: 'secure: a message was written to a channel whose connection is already closed',
  ERR_SKY_CLOSED: 'sky/earth: the connection to a sky node closed while a request was in hand',
  ERR_SKY_TIMEOUT: 'sky/earth: a sky node did not answer a request in time',
  ERR_EARTH_NO_SKY: 'earth: no sky node could be reached, so no lease and no look-up',
  ERR_EARTH_UNREACHABLE:
    'earth: the recipient could not be reached directly or by hole punching, and it names no holder',
  ERR_EARTH_PUNCH_FAILED:
    'earth: a hole punch did not connect within `punchTimeoutMs` (the sender then tries the holder)',
  ERR_EARTH_CLOSED: 'earth: an earth-to-earth link closed before the answer',
  ERR_EARTH_TIMEOUT: 'earth: an earth-to-earth link sent no announce or answer in time',
  ERR_EARTH_REFUSED: 'earth: the other node refused a message without naming a reason',
} as const;

export const REASONS = {
  ERR_GOSSIP_API_SHORT_SIZE: {
    layer: 'wire (gossip API)',
    doc: "a message's `size` is below the 4-byte header; the API connection is closed",
  },
  ERR_GOSSIP_API_BAD_SIZE: {
    layer: 'wire (gossip API)',
    doc: '`size` does not fit the type (NOTIFY/VALIDATION not 8, ANNOUNCE below 8); the API connection is closed',
  },
  ERR_GOSSIP_API_UNKNOWN_TYPE: {
    layer: 'wire (gossip API)',
    doc: 'a type outside 500-503; the API connection is closed',
  },
  ERR_GOSSIP_API_WRONG_DIRECTION: {
    layer: 'wire (gossip API)',
    doc: 'a module sent NOTIFICATION (502), which only Gossip sends; the API connection is closed',
  },
  ERR_GOSSIP_P2P_SIZE: {
    layer: 'wire (gossip P2P)',
    doc: '`size` differs from the message length, or counts and sizes disagree; the frame is dropped',
  },
  ERR_GOSSIP_P2P_TYPE: {
    layer: 'wire (gossip P2P)',
    doc: 'a type outside 504-511 and 515-516 on the channel; the frame is dropped',
  },
  ERR_GOSSIP_P2P_RESERVED: {
    layer: 'wire (gossip P2P)',
    doc: 'a reserved field or flag is not zero, or the HELLO version is unknown; the frame is dropped',
  },
  ERR_GOSSIP_P2P_ID: {
    layer: 'wire (gossip P2P)',
    doc: 'a PUSH whose message id is not the hash of its content; the frame is dropped',
  },
  ERR_GOSSIP_P2P_ADDRESS: {
    layer: 'wire (gossip P2P)',
    doc: 'an advertised address is unspecified, IPv4-mapped IPv6 or has port 0; the frame is dropped',
  },
  ERR_GOSSIP_P2P_ORDER: {
    layer: 'wire (gossip P2P)',
    doc: 'a KEEP_POW whose entries are not in strictly ascending Chall order (one list, one encoding); the frame is dropped',
  },
  ERR_HASHCASH_MALFORMED: {
    layer: 'pow',
    doc: 'a hashcash header does not parse canonically; the detail names the field',
  },
  ERR_CHALLENGE_MALFORMED: {
    layer: 'admission',
    doc: 'a sealed challenge has the wrong size, version, length field or puzzle kind (checked before any cryptography)',
  },
  ERR_CHALLENGE_KEY_UNKNOWN: {
    layer: 'admission',
    doc: "a sealed challenge names a key id that is neither the current nor the previous period's key (rotated out, or never ours)",
  },
  ERR_CHALLENGE_TAG: {
    layer: 'admission',
    doc: 'a sealed challenge fails AES-256-GCM authentication: altered, forged, or sealed by another key with the same id',
  },
  ERR_CHALLENGE_EXPIRED: {
    layer: 'admission',
    doc: 'a sealed challenge is past its expiry, or its issue time lies further in the future than the allowed clock skew',
  },
  ERR_CHALLENGE_ENDPOINT: {
    layer: 'admission',
    doc: 'a sealed challenge was issued to another client or by another server address (ip:port)',
  },
  ERR_CHALLENGE_REPLAYED: {
    layer: 'admission',
    doc: 'a solved challenge was already redeemed (replay guard)',
  },
  ERR_POW_INSUFFICIENT: {
    layer: 'pow, admission',
    doc: 'the proof of work does not meet the difficulty (the sealed one, or the current internal one if higher)',
  },
  ERR_POOL_BUSY: {
    layer: 'pow, admission',
    doc: "the bounded verify pool's queue is full; the proof was not checked (shed the request); thrown by the pool, a verdict in admission",
  },
  ERR_VERIFY_FAILED: {
    layer: 'admission',
    doc: 'the verifier failed locally (closed pool, dead worker); the request is refused and the detail names the local error',
  },
  ERR_RATE_LIMITED: {
    layer: 'admission',
    doc: 'the identity (IPv4 /32, IPv6 /64) has no tokens left; the verdict carries `retryAfterMs`',
  },
  ERR_STORE_FULL: {
    layer: 'admission',
    doc: 'a bounded store is at its cap and refuses new replay marks or identities (fail closed); also thrown by stores as `StoreFullError`',
  },
  ERR_POWTCP_MALFORMED: {
    layer: 'wire (powtcp)',
    doc: 'a line is not `<digit>:<payload>` after trimming, or not UTF-8',
  },
  ERR_POWTCP_UNKNOWN_COMMAND: { layer: 'wire (powtcp)', doc: 'the command digit is not 0..4' },
  ERR_POWTCP_UNEXPECTED_COMMAND: {
    layer: 'protocol (powtcp)',
    doc: 'a client sent a server command (`0:`, `2:` or `4:`)',
  },
  ERR_POWTCP_LINE_TOO_LONG: {
    layer: 'protocol (powtcp)',
    doc: 'a line exceeded `maxLineBytes`; it is dropped unread and the connection ends',
  },
  ERR_POWTCP_PIPELINE_LIMIT: {
    layer: 'protocol (powtcp)',
    doc: 'more than `maxPipelinedMessages` lines arrived before the server could answer',
  },
  ERR_POWTCP_TOO_MANY_MESSAGES: {
    layer: 'protocol (powtcp)',
    doc: 'more than `maxMessagesPerConnection` requests on one connection',
  },
  ERR_POWTCP_IDLE_TIMEOUT: {
    layer: 'protocol (powtcp)',
    doc: 'no complete line within `firstMessageTimeoutMs` of connecting',
  },
  ERR_POWTCP_MESSAGE_TIMEOUT: {
    layer: 'protocol (powtcp)',
    doc: 'a line was not finished within `messageTimeoutMs` of its first byte',
  },
  ERR_POWTCP_CONNECTION_TIMEOUT: {
    layer: 'protocol (powtcp)',
    doc: 'the connection outlived `connectionTimeoutMs`',
  },
  ERR_STORE_UNAVAILABLE: {
    layer: 'admission',
    doc: 'the shared store (Redis) failed or did not answer in time; requests that need it are refused',
  },
  ERR_POWTCP_TOO_MANY_CONNECTIONS: {
    layer: 'service (powtcp)',
    doc: 'the server holds `maxConnections` connections and none could be evicted; a new one is answered and closed at once',
  },
  ERR_POWTCP_TOO_MANY_CONNECTIONS_FROM_ADDRESS: {
    layer: 'service (powtcp)',
    doc: "the client's address group (IPv4 /32, IPv6 /48) holds `maxConnectionsPerAddress` connections",
  },
  ERR_POWTCP_EVICTED: {
    layer: 'service (powtcp)',
    doc: 'the server reached `maxConnections` and this connection was the oldest idle one of the address group holding the most',
  },
  ERR_POWTCP_INTERNAL: {
    layer: 'service (powtcp)',
    doc: 'the server failed while handling a request (logged); the client may retry',
  },
  ERR_POWTCP_BAD_HEADER: {
    layer: 'protocol (powtcp)',
    doc: 'the payload of `3:` is not a hashcash v1 header',
  },
  ERR_POWTCP_BAD_BASE64: {
    layer: 'protocol (powtcp)',
    doc: "the header's `rand` is not strict base64 (with padding)",
  },
  ERR_POWTCP_HEADER_MISMATCH: {
    layer: 'protocol (powtcp)',
    doc: "the header's `bits`, `date`, `resource` or `ext` differ from what was sealed into `rand`",
  },
  ERR_POWTCP_UNKNOWN_PUZZLE: {
    layer: 'protocol (powtcp, reference mode)',
    doc: "the puzzle is not in the reference mode's map (never issued, expired or already redeemed)",
  },
  ERR_POWTCP_PUZZLE_CACHE_FULL: {
    layer: 'protocol (powtcp, reference mode)',
    doc: "the reference mode's puzzle map reached its memory guard",
  },
  ERR_GOSSIP_API_UNKNOWN_ID: {
    layer: 'protocol (gossip)',
    doc: 'a VALIDATION names a message ID nothing waits for (late after a timeout, or made up); counted, the API connection stays',
  },
  ERR_GOSSIP_ITEM_TOO_LARGE: {
    layer: 'protocol (gossip)',
    doc: 'an ANNOUNCE carries more than 65503 data bytes, which a P2P PUSH (16-byte id, 8-byte salt) cannot hold; the item is refused, the API connection stays',
  },
  ERR_GOSSIP_SEEN_FULL: {
    layer: 'protocol (gossip)',
    doc: "the seen set is at `maxSeen` and the link (or local announcements) already holds its fair share of it; the new item is refused, and only that link's items are (a link below its share takes the place of the heaviest link's oldest id)",
  },
  ERR_GOSSIP_PENDING_FULL: {
    layer: 'protocol (gossip)',
    doc: '`maxPending` items already wait for local validation (or a connection has 32768 outstanding NOTIFICATIONs); the item is dropped and may come back by repair',
  },
  ERR_GOSSIP_VALIDATION_TIMEOUT: {
    layer: 'protocol (gossip)',
    doc: 'a local subscriber did not answer within `validationTimeoutMs`; the item is dropped, not spread, and its sender not charged',
  },
  ERR_GOSSIP_INVALID_ITEM: {
    layer: 'protocol (gossip)',
    doc: 'a local module answered V = 0: the item is dropped and its sender charged; after `invalidLimit` such items the link is closed and the peer forgotten',
  },
  ERR_GOSSIP_UNVERIFIED: {
    layer: 'protocol (gossip)',
    doc: 'an item, or a PEER REQUEST/RESPONSE, from a peer that has not proven its PoW yet; dropped',
  },
  ERR_GOSSIP_UNSOLICITED: {
    layer: 'protocol (gossip)',
    doc: 'a VERIFICATION RESPONSE or PEER RESPONSE whose nonce answers nothing we asked; dropped',
  },
  ERR_GOSSIP_POW_INVALID: {
    layer: 'protocol (gossip)',
    doc: 'a VERIFICATION RESPONSE whose SHA-256 has fewer than `powBits` leading zero bits; the link is closed',
  },
  ERR_GOSSIP_TOO_MANY_REQUESTS: {
    layer: 'protocol (gossip)',
    doc: 'a peer asked for more PoW solutions than `maxSolvesPerLink` (link closed), or sent PEER REQUESTs faster than `peerRequestMinIntervalMs` (dropped)',
  },
  ERR_GOSSIP_VERIFY_TIMEOUT: {
    layer: 'protocol (gossip)',
    doc: 'a peer did not prove its PoW within `verifyTimeoutMs` of the link opening (or the bootstrap link overstayed); the link is closed',
  },
  ERR_GOSSIP_EVICTED: {
    layer: 'protocol (gossip)',
    doc: 'an inbound link closed to make room for a newcomer when the inbound places were full: the newest link of the most crowded address group, never a useful one nor one of the oldest quarter (diversity.ts)',
  },
  ERR_GOSSIP_TOO_MANY_LINKS: {
    layer: 'protocol (gossip)',
    doc: 'a new link beyond `maxLinks` (`maxBootstrapLinks` at a bootstrapper); it is closed',
  },
  ERR_GOSSIP_INBOUND_ADDRESS_CAP: {
    layer: 'protocol (gossip)',
    doc: 'an inbound link from an address that already holds `maxInboundPerAddress` of our inbound links is refused',
  },
  ERR_GOSSIP_INBOUND_GROUP_CAP: {
    layer: 'protocol (gossip)',
    doc: 'an inbound link from an address group (IPv4 /16, IPv6 /32) that already holds `maxInboundPerGroup` of our inbound links is refused',
  },
  ERR_GOSSIP_DUPLICATE_LINK: {
    layer: 'protocol (gossip)',
    doc: 'a second link to the same identity; the one dialled by the larger identity is closed',
  },
  ERR_GOSSIP_SELF_LINK: {
    layer: 'protocol (gossip)',
    doc: 'a link whose peer is ourselves (our own address was offered to us); closed and the address forgotten',
  },
  ERR_GOSSIP_SEND_FAILED: {
    layer: 'protocol (gossip)',
    doc: 'a send to a peer failed; the peer is removed from the known-peers list (seed 002)',
  },
  ERR_GOSSIP_DIAL_FAILED: {
    layer: 'protocol (gossip)',
    doc: 'dialling a known or offered peer failed; the address is forgotten',
  },
  ERR_GOSSIP_BOOTSTRAP_UNREACHABLE: {
    layer: 'protocol (gossip)',
    doc: 'dialling the configured bootstrapper failed; retried after `joinRetryMs`',
  },
  ERR_GOSSIP_API_TOO_MANY: {
    layer: 'services (gossip)',
    doc: 'an API connection beyond `maxApiConnections`; it is closed at once',
  },
  ERR_GOSSIP_API_SLOW: {
    layer: 'services (gossip)',
    doc: 'a module left more than `maxApiBufferedBytes` of notifications unread; its connection is closed',
  },
  ERR_GOSSIP_QUEUE_FULL: {
    layer: 'services (gossip)',
    doc: "the node's receive queue holds `maxQueuedEvents` P2P events; further P2P messages are dropped (API events never)",
  },
  ERR_GOSSIP_LINK_CLOSED: {
    layer: 'services (gossip)',
    doc: 'a PUSH for a link that closed before it could be written; the item is dropped for that neighbour (it may still fetch it from others by IWANT)',
  },
  ERR_GOSSIP_SUBSCRIBER_GONE: {
    layer: 'services (gossip)',
    doc: 'a NOTIFICATION for a local module whose API connection had already closed; dropped',
  },
  ERR_HS_MALFORMED: {
    layer: 'secure',
    doc: 'a handshake message is not in canonical form (lengths, reserved bytes, unknown algorithm, trailing bytes)',
  },
  ERR_HS_VERSION: { layer: 'secure', doc: 'a handshake message of an unknown protocol version' },
  ERR_HS_TOO_LARGE: { layer: 'secure', doc: 'a handshake message header announces more than 1400 bytes' },
  ERR_HS_UNEXPECTED: { layer: 'secure', doc: 'a handshake message of the wrong type for the step' },
  ERR_HS_EXPIRED: { layer: 'secure', doc: 'the handshake timestamp T is more than t_max seconds old' },
  ERR_HS_FUTURE: { layer: 'secure', doc: 'the handshake timestamp T is more than t_max seconds ahead' },
  ERR_HS_WRONG_ADDRESS: {
    layer: 'secure',
    doc: "the address field is not this side's address (seed 004 §3, §4)",
  },
  ERR_HS_UNTRUSTED: { layer: 'secure', doc: "the peer's identity key is not in the trust store" },
  ERR_HS_WRONG_PEER: {
    layer: 'secure',
    doc: 'the responder is trusted but not the identity the initiator asked for',
  },
  ERR_HS_REPLAY: { layer: 'secure', doc: 'the same identity and nonce were accepted within t_max' },
  ERR_HS_TIME_REGRESSED: {
    layer: 'secure',
    doc: "the peer's handshake timestamp is older than its last accepted one",
  },
  ERR_HS_STALE: {
    layer: 'secure',
    doc: "the HELLO's timestamp is more than a second older than the responder's start, whose replay memory it could have escaped",
  },
  ERR_HS_BUSY: {
    layer: 'secure',
    doc: "the address group's pending handshakes, the PoW pool queue or the replay window are full, or the shared replay store is unreachable; refused, not queued",
  },
  ERR_HS_POW: {
    layer: 'secure',
    doc: "the handshake's proof of work is missing, weaker than required or wrong",
  },
  ERR_HS_BAD_SIGNATURE: { layer: 'secure', doc: 'a handshake signature does not verify' },
  ERR_HS_BAD_KEY_SHARE: {
    layer: 'secure',
    doc: "the peer's X25519 share gives the all-zero secret (low-order point)",
  },
  ERR_HS_BAD_CONFIRM: {
    layer: 'secure',
    doc: 'the key confirmation MAC does not match (the peer derived other keys)',
  },
  ERR_HS_TIMEOUT: {
    layer: 'secure',
    doc: 'no HELLO within the HELLO deadline, or the handshake did not finish within the handshake timeout',
  },
  ERR_HS_EVICTED: {
    layer: 'secure',
    doc: 'at the global pending-handshake cap, this oldest handshake of the address group holding the most was dropped for a newcomer',
  },
  ERR_HS_OVERRUN: {
    layer: 'secure',
    doc: 'the peer sent more than `maxHandshakeBufferBytes` while its last handshake message was still being checked',
  },
  ERR_HS_CLOSED: { layer: 'secure', doc: 'the connection closed (or was aborted) during the handshake' },
  ERR_HS_PEER_ALERT: {
    layer: 'secure',
    doc: 'the peer refused the handshake; the detail carries its reason code',
  },
  ERR_SC_AUTH: {
    layer: 'secure',
    doc: 'a frame fails AES-GCM authentication: a flipped bit, a reordered, replayed or dropped frame',
  },
  ERR_SC_TRUNCATED: {
    layer: 'secure',
    doc: "the stream ended without the peer's close frame, or inside a frame",
  },
  ERR_SC_FRAME_TOO_LARGE: { layer: 'secure', doc: 'a frame length above the message size limit' },
  ERR_SC_MALFORMED: {
    layer: 'secure',
    doc: 'a frame shorter than its overhead, an unknown frame type, or bytes after the close frame',
  },
  ERR_SC_REKEY_OVERDUE: {
    layer: 'secure',
    doc: 'the peer sent more messages under one key than the limit without rekeying',
  },
  ERR_GOSSIP_SOLVE_FAILED: {
    layer: 'protocol (gossip)',
    doc: "our solver could not answer a peer's VERIFICATION REQUEST (pool busy, aborted); the link is closed instead of waiting for a proof that will never be sent",
  },
  ERR_GOSSIP_SOLVE_BUSY: {
    layer: 'protocol (gossip)',
    doc: 'a VERIFICATION REQUEST while `maxSolving` solves run and `maxSolveQueue` wait; its link is closed',
  },
  ERR_GOSSIP_FLOOD: {
    layer: 'protocol (gossip)',
    doc: 'a link sent more than `maxUnwantedPerLink` pushes we cannot use (types nobody here subscribed to, items over its seen-set share) within `seenTtlMs`; it is closed',
  },
  ERR_GOSSIP_SUBSCRIBER_BEHIND: {
    layer: 'protocol (gossip)',
    doc: 'a local subscriber already holds its share of `maxPending` unanswered NOTIFICATIONs (`maxPending` / subscribers of the type); it is not notified of this item and its vote does not gate it',
  },
  ERR_GOSSIP_HELLO_REPEATED: {
    layer: 'protocol (gossip)',
    doc: 'a second HELLO on one link; ignored (one listen address per identity)',
  },
  ERR_GOSSIP_PROBE_FAILED: {
    layer: 'protocol (gossip)',
    doc: "the dial back to the address a peer's HELLO claimed did not reach that identity; the address is not listed",
  },
  ERR_GOSSIP_CONN_MALFORMED: {
    layer: 'wire (gossip CONN)',
    doc: 'a CONN_INIT, CONN_CHALL or CONN_OK that is not canonical (size, flags, padding, cookie shape), a second challenge request, or bytes sent before CONN_OK; the connection is closed without CONN_OK',
  },
  ERR_GOSSIP_CONN_TIMEOUT: {
    layer: 'protocol (gossip)',
    doc: 'no whole CONN_INIT within `connInitTimeoutMs` of accept, or no solution before the CONN_CHALL cookie expired (listener); no CONN_CHALL or CONN_OK in time (dialler); the connection is closed',
  },
  ERR_GOSSIP_CONN_BUSY: {
    layer: 'protocol (gossip)',
    doc: 'more than `maxUnpaidConns` connections waiting to pay, or a paid connection found the handshake queue (`connQueueSize`) full; closed without CONN_OK, the dialler asks again at the raised difficulty',
  },
  ERR_GOSSIP_CONN_REFUSED: {
    layer: 'protocol (gossip)',
    doc: 'dialler: the listener closed the connection without CONN_OK (its solution was refused, or the listener is busy)',
  },
  ERR_GOSSIP_CONN_TOO_HARD: {
    layer: 'protocol (gossip)',
    doc: 'dialler: a CONN_CHALL asked for more than `connMaxSolveBits`; the dial fails rather than burn the CPU',
  },
  ERR_GOSSIP_KEEP_MISSING: {
    layer: 'protocol (gossip)',
    doc: "no valid KEEP_POW for our KEEP_CHALL by the end of the round's window (`keep_window_ms` + `keep_skew_ms`); the link is torn down (seed 000 step 6)",
  },
  ERR_GOSSIP_KEEP_INVALID: {
    layer: 'protocol (gossip)',
    doc: "a KEEP_POW that does not list our KEEP_CHALL as sent, lists more than `keepMaxChalls`, or whose PoW misses `keep_bits` for the link's identity; the link is torn down",
  },
  ERR_GOSSIP_KEEP_UNSOLICITED: {
    layer: 'protocol (gossip)',
    doc: 'a KEEP_POW for a round we did not challenge that link in (or a repeat), a second KEEP_CHALL on a link in one round, or a KEEP_CHALL to a bootstrapper; dropped',
  },
  ERR_GOSSIP_KEEP_ROUND: {
    layer: 'protocol (gossip)',
    doc: "a KEEP_CHALL for a round more than `keep_skew_ms` ahead of our clock, or one we have already solved; not listed (the sender's clock is off by more than the skew)",
  },
  ERR_SKY_MALFORMED: {
    layer: 'wire (sky)',
    doc: 'a sky message with a wrong version, type or size, a non-zero padding or reserved byte, a non-canonical address; or an answer type sent by a client. The connection is closed',
  },
  ERR_SKY_NO_LEASE: {
    layer: 'protocol (sky)',
    doc: 'a look-up for an identity that holds no live lease: the constant-size refusal (seed 003)',
  },
  ERR_SKY_LEASES_FULL: {
    layer: 'protocol (sky)',
    doc: 'the lease table is at `maxLeases`, or the address group at `maxLeasesPerGroup`',
  },
  ERR_SKY_BAD_SIGNATURE: {
    layer: 'protocol (sky)',
    doc: 'a LEASE whose Ed25519 signature does not verify, or whose key is not a curve point',
  },
  ERR_SKY_STALE_LEASE: {
    layer: 'protocol (sky)',
    doc: "a LEASE whose time is further than `leaseSkewMs` from the sky node's clock, or not newer than the live lease it would renew",
  },
  ERR_SKY_BAD_DURATION: {
    layer: 'protocol (sky)',
    doc: 'a LEASE asking for less than `minLeaseSec` or more than `maxLeaseSec`',
  },
  ERR_SKY_NOT_LEASED: { layer: 'protocol (sky)', doc: 'a PUNCH from a connection that holds no live lease' },
  ERR_SKY_PEER_OFFLINE: {
    layer: 'protocol (sky)',
    doc: 'a PUNCH for a lease holder that has no open connection at this sky node',
  },
  ERR_SKY_BUSY: {
    layer: 'sky',
    doc: 'the shared store did not answer; the request is refused and the node keeps running',
  },
  ERR_SKY_UNSOLICITED_SOLVE: {
    layer: 'protocol (sky)',
    doc: 'a SOLVE on a connection that has no challenge outstanding',
  },
  ERR_SKY_PIPELINE_LIMIT: {
    layer: 'protocol (sky)',
    doc: 'more than `maxInFlight` requests of one connection waiting; the connection is closed',
  },
  ERR_SKY_FIRST_MESSAGE_TIMEOUT: {
    layer: 'protocol (sky)',
    doc: 'no whole message within `firstMessageMs` of accept (slowloris); closed',
  },
  ERR_SKY_MESSAGE_TIMEOUT: {
    layer: 'protocol (sky)',
    doc: 'a message unfinished `messageMs` after its first byte (slowloris); closed',
  },
  ERR_SKY_IDLE_TIMEOUT: {
    layer: 'protocol (sky)',
    doc: 'nothing for `idleMs` and no live lease on the connection; closed',
  },
  ERR_SKY_TOO_MANY_CONNECTIONS: {
    layer: 'sky',
    doc: 'the address group already has `maxConnectionsPerGroup` connections; the new one is closed before a byte is read',
  },
  ERR_SKY_EVICTED: {
    layer: 'sky',
    doc: 'at `maxConnections`, the oldest connection of the group holding most was closed to make room',
  },
  ERR_SKY_SLOW_READER: {
    layer: 'sky',
    doc: 'answers for a peer that does not read passed `maxWriteBufferBytes`; closed',
  },
  ERR_EARTH_MALFORMED: {
    layer: 'wire (earth)',
    doc: 'a bad ANNOUNCE or channel message between earth nodes; the link is closed',
  },
  ERR_EARTH_TOO_LARGE: {
    layer: 'earth',
    doc: "message data above `maxMessageBytes`, or above the recipient's declared inbox",
  },
  ERR_EARTH_INBOX_FULL: {
    layer: 'earth',
    doc: "with storage pricing, the recipient's ring is full of paid, unexpired messages: the new one is refused, none evicted",
  },
  ERR_EARTH_UNPAID: {
    layer: 'earth',
    doc: 'a message to be stored lacks the PoW its size x keep time costs; RESULT carries the bits asked for',
  },
  ERR_EARTH_NOT_HOLDER: {
    layer: 'earth',
    doc: 'a message for a node that did not subscribe to this one, or whose lease ended',
  },
  ERR_EARTH_HOLDER_FULL: {
    layer: 'earth',
    doc: 'storing for one more node would pass `maxHeldRecipients` or `maxHeldBytes`',
  },
  ERR_EARTH_BUSY: { layer: 'earth', doc: '`maxLinks` earth-to-earth links are open; the new one is closed' },
} as const;

export type ErrorCode = keyof typeof ERRORS;
/** A verdict on untrusted input: returned, counted and logged, never thrown out of a handler. */
export type ReasonCode = keyof typeof REASONS;
export type Code = ErrorCode | ReasonCode;

export function isReasonCode(value: string): value is ReasonCode {
  return Object.hasOwn(REASONS, value);
}

/** A code named by a peer (a string off the wire), or `fallback` when it is not one of ours. */
export function peerCode<C extends Code>(value: string, fallback: C): Code {
  return Object.hasOwn(REASONS, value) || Object.hasOwn(ERRORS, value) ? (value as Code) : fallback;
}

/** Events of a gossip peer, and of the bootstrapper (the same engine). */
const GOSSIP_EVENTS = {
  rejections: 'P2P and API input refused, links closed, by reason code',
  items_dropped:
    'items dropped, by reason code: received and not taken (queue full, pending full, seen-set share, unverified sender, too large), not spread (validation timeout, invalid), not delivered to one subscriber (subscriber behind or gone, API slow) or not sent to one neighbour (link closed, send failed)',
  announced: 'items announced by local modules',
  notified: 'NOTIFICATIONs sent to local subscribers (items delivered)',
  validated: 'items from peers validated by every subscriber and spread on',
  received: 'new items received from peers',
  duplicate: 'copies of items already seen',
  unsubscribed: 'pushes of types nobody here subscribed to (not forwarded)',
  unvalidated: 'items whose subscribers all left before answering (not spread)',
  ttl_end: 'items delivered here whose TTL ends here',
  push_sent: 'PUSH messages sent (spreading and IWANT answers)',
  ihave_sent: 'IHAVE messages sent',
  ihave_truncated: 'IHAVE messages longer than maxIhaveEntries (rest ignored)',
  iwant_sent: 'IWANT messages sent',
  iwant_served: 'items sent again on IWANT',
  iwant_refused: 'IWANT entries not served (unknown, or served maxServesPerItem times)',
  peer_verified: 'peers that proved their verification PoW (seed 002)',
  peer_request_served: 'PEER REQUESTs answered',
  join: 'joins through the bootstrapper',
  probe: 'dial backs to a HELLO address',
  probe_skipped: 'dial backs not made (backoff, cap)',
  known_full: 'verified peers not listed: known list full of linked peers',
  known_group_full: 'verified peers not listed: their address group is full of linked peers',
  solves: 'PoW solves started for peers',
  keep_solves: 'KEEP PoWs started: one per round (per `keepMaxChalls` KEEP_CHALLs received), seed 000 step 3',
  links_opened: 'P2P links opened (after the secure handshake)',
  bootstrap_done: 'bootstrap links closed after their answer',
  bootstrap_link_expired: 'bootstrapper: links closed at bootstrapLinkMs',
} as const;

/**
 * Counted events per service, one doc line each. A metric is `tollgate_<service>_<event>_total`;
 * an event counted with a reason code gets the label `reason="<code>"`. Gauges are
 * `tollgate_<service>_<gauge>`.
 */
export const EVENTS = {
  powtcp: {
    connections: 'TCP connections accepted',
    puzzles_issued: 'puzzles sent in `2:` replies',
    solutions_accepted: 'solutions accepted and answered with a quote',
    rejections: 'requests refused or connections closed, by reason code',
    rate_limited: 'requests refused by the per-identity token bucket',
  },
  secure: {
    handshakes: 'handshakes completed',
    rejections: 'handshakes refused or channels closed, by reason code',
  },
  gossip: GOSSIP_EVENTS,

  // The bootstrapper runs the same engine, so it counts the same events under its own name.
  bootstrap: GOSSIP_EVENTS,
  sky: {
    connections: 'TCP connections accepted',
    rejections:
      'requests refused, connections closed or refused at accept, by reason code (ERR_SKY_NO_LEASE: a look-up without a live lease)',
    leased: 'leases taken or renewed',
    lookups: 'look-ups answered FOUND (a live lease)',
    challenged: 'sealed challenges sent (bucket empty or node loaded)',
    solved: 'challenges solved and redeemed (credit for the connection)',
    paid: 'requests paid by credit a solve earned (the PoW-earned identity)',
    punches: 'hole punches coordinated (PUNCH_AT to both sides)',
    leases_evicted:
      "leases dropped at `maxLeases` for a newcomer from a lighter address group: the heaviest group's oldest",
    store_failed: 'requests refused because the shared store did not answer',
  },
  earth: {
    rejections: 'messages, links and announcements refused, by reason code',
    leased: 'lease rounds at the sky nodes with at least one lease taken or renewed',
    lease_failed: 'lease rounds that took no lease',
    received: 'messages received for this node (delivered to it, or forwarded by its holder)',
    stored: 'messages stored for a node that subscribed to this one',
    relayed: 'messages relayed at once to a subscriber that is linked',
    subscribed: 'nodes that subscribed to this one as their holder',
    subscribe_failed: 'subscriptions to our holder that failed',
    punch_requested: 'hole punches another node asked for through a sky node',
    punched: 'hole punches of ours that connected',
    punch_failed: 'hole punches that did not connect',
    direct_failed: 'direct deliveries that failed (the sender then punches or uses the holder)',
    paid_storage: 'storage prices paid by this node as a sender',
  },
} as const satisfies Record<string, Record<string, string>>;

export const GAUGES = {
  powtcp: {
    open_connections: 'connections open now',
    difficulty: 'difficulty given to a new puzzle now (hex digits)',
    puzzles_held: 'puzzles held by the reference mode (stateful servers grow this under a flood)',
  },
  secure: {
    pending_handshakes: 'handshakes in progress now',
  },
  gossip: {
    neighbours: 'verified neighbour links now',
    links: 'P2P links now (neighbours, pending, bootstrap)',
    queue_depth: 'events waiting for the engine now',
    pending_validations: 'items waiting for local VALIDATION now',
    seen_ids: 'ids in the seen set now',
    known_peers: 'peers in the known-peers list now',
  },
  bootstrap: {
    links: 'P2P links now',
    queue_depth: 'events waiting for the engine now',
    known_peers: 'peers the bootstrapper hands out now',
  },
  sky: {
    open_connections: 'connections open now',
    leases: 'live leases in the table now (in-memory table; the shared Redis table is not counted)',
    difficulty: "internal difficulty d of seed 003's controller now (bits)",
  },
  earth: {
    links: 'earth-to-earth links open now',
    known_leases: 'leases other nodes announced to this one, kept until they expire',
    held_recipients: 'nodes this one stores messages for now',
    inbox_bytes: 'bytes of messages held for other nodes now (each within its declared inbox size)',
  },
} as const satisfies Record<keyof typeof EVENTS, Record<string, string>>;

export type Service = keyof typeof EVENTS;
export type EventName<S extends Service = Service> = keyof (typeof EVENTS)[S] & string;
export type GaugeName<S extends Service = Service> = keyof (typeof GAUGES)[S] & string;
