/**
 * Which ports of the peer's address a hole punch dials (issue 11 item 3; docs/sky-earth.md
 * "Hole punching"). Pure: no IO.
 *
 * The sky node tells each side the mapping it observed for the other. Behind an
 * endpoint-independent NAT (RFC 4787 REQ-1, RFC 5382 REQ-1) that mapping is also the one the
 * peer's SYN leaves through. Behind an address-dependent NAT (RFC 4787 section 4.1) the
 * mapping toward us is a new one, unknown to anyone; but NATs allocate new mappings near the
 * old: port preservation (RFC 4787 section 4.2.1), a carrier-grade NAT's per-subscriber port
 * block (RFC 7422's deterministic port ranges; block sizes of 256 to 2048 are common) with any
 * allocation inside it, or a sequential allocator. So we dial the aligned block of `window` ports that
 * holds the observed port: the observed port first (the endpoint-independent case costs
 * nothing more), then the ports above it (sequential allocators count up), then the ports
 * below it. A mapping outside that block is not reached; the sender then falls back to the
 * recipient's holder.
 */

/** Largest power of two <= n (n >= 1). */
function floorPow2(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

/**
 * The ports to dial at the peer's address, in order: `observed` first, then the rest of its
 * aligned block of `window` ports (rounded down to a power of two), upward from `observed`,
 * then downward. Port 0 is never a candidate.
 */
export function punchCandidates(observed: number, window: number): number[] {
  if (!Number.isInteger(observed) || observed < 1 || observed > 0xffff)
    throw new RangeError(`observed port ${observed}`);
  const size = floorPow2(Math.max(1, Math.min(0x10000, Math.floor(window))));
  const base = observed - (observed % size);
  const out = [observed];
  for (let p = observed + 1; p < base + size; p++) out.push(p);
  for (let p = observed - 1; p >= base; p--) if (p !== 0) out.push(p);
  return out;
}
