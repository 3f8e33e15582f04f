/*
 * SHA-256 compression (FIPS 180-4 section 6.2.2), two ways:
 * - portable C on the state as eight words H0..H7;
 * - x86 SHA extensions on the state as two vectors in the order the instructions
 *   want it (ABEF, CDGH), so a search keeps it there between attempts.
 * Both are always-inline so that a search loop gets its compression inlined.
 */
#ifndef TG_SHA256_IMPL_H
#define TG_SHA256_IMPL_H

#include "tg.h"


static const uint32_t tg_k256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t tg_sha256_iv[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

TG_INLINE uint32_t tg_load_be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

TG_INLINE void tg_store_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

TG_INLINE uint32_t tg_rotr32(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

/* ---- portable ---- */

/* The 64 schedule words of a block (kept when the same block is compressed many times). */
TG_INLINE void tg_sha256_expand(const uint8_t *p, uint32_t w[64]) {
  for (int i = 0; i < 16; i++) w[i] = tg_load_be32(p + 4 * i);
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = tg_rotr32(w[i - 15], 7) ^ tg_rotr32(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = tg_rotr32(w[i - 2], 17) ^ tg_rotr32(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
}

/* The 64 rounds and the feed-forward, from the schedule words. */
TG_INLINE void tg_sha256_rounds_portable(uint32_t h[8], const uint32_t w[64]) {
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = hh + (tg_rotr32(e, 6) ^ tg_rotr32(e, 11) ^ tg_rotr32(e, 25)) + ((e & f) ^ (~e & g)) +
                  tg_k256[i] + w[i];
    uint32_t t2 = (tg_rotr32(a, 2) ^ tg_rotr32(a, 13) ^ tg_rotr32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
  h[5] += f;
  h[6] += g;
  h[7] += hh;
}

TG_INLINE void tg_sha256_block_portable(uint32_t h[8], const uint8_t *p) {
  uint32_t w[64];
  tg_sha256_expand(p, w);
  tg_sha256_rounds_portable(h, w);
}

/* ---- SHA extensions ---- */
#if TG_X86_SHANI
#include <immintrin.h>

#define TG_SHANI_TARGET __attribute__((target("sha,sse4.1,ssse3")))
#define TG_SHANI_INLINE static inline __attribute__((always_inline, target("sha,sse4.1,ssse3")))

typedef struct {
  __m128i abef; /* lanes 3..0: A B E F */
  __m128i cdgh; /* lanes 3..0: C D G H */
} tg_s256x;

TG_SHANI_INLINE tg_s256x tg_s256x_from_words(const uint32_t h[8]) {
  __m128i dcba = _mm_loadu_si128((const __m128i *)h);       /* lanes 3..0: D C B A */
  __m128i hgfe = _mm_loadu_si128((const __m128i *)(h + 4)); /* lanes 3..0: H G F E */
  __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);             /* C D A B */
  __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);             /* E F G H */
  tg_s256x s;
  s.abef = _mm_alignr_epi8(cdab, efgh, 8);     /* A B E F */
  s.cdgh = _mm_blend_epi16(efgh, cdab, 0xF0); /* C D G H */
  return s;
}

TG_SHANI_INLINE void tg_s256x_to_words(tg_s256x s, uint32_t h[8]) {
  __m128i feba = _mm_shuffle_epi32(s.abef, 0x1B); /* F E B A */
  __m128i dchg = _mm_shuffle_epi32(s.cdgh, 0xB1); /* D C H G */
  _mm_storeu_si128((__m128i *)h, _mm_blend_epi16(feba, dchg, 0xF0));      /* D C B A */
  _mm_storeu_si128((__m128i *)(h + 4), _mm_alignr_epi8(dchg, feba, 8)); /* H G F E */
}

/* First state word (the first 32 bits of the digest once fed forward). */
TG_SHANI_INLINE uint32_t tg_s256x_a(tg_s256x s) { return (uint32_t)_mm_extract_epi32(s.abef, 3); }

/* Four rounds with message words m (W[k..k+3]). */
#define TG_S256_QROUND(m, k)                                                                   \
  do {                                                                                         \
    __m128i wk_ = _mm_add_epi32((m), _mm_loadu_si128((const __m128i *)(tg_k256 + (k))));       \
    cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk_);                                             \
    abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk_, 0x0E));                    \
  } while (0)
/* ma <- the next four schedule words from ma..md (W[i-16..i-13] .. W[i-4..i-1]). */
#define TG_S256_SCHED(ma, mb, mc, md) \
  ma = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(ma, mb), _mm_alignr_epi8(md, mc, 4)), md)

/* pshufb mask turning 16 message bytes into four big-endian words W[i] in lane i. */
#define TG_S256_BSWAP _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL)

/*
 * The rounds of one compression from state `s`, which is the state after the first `skip`
 * groups of four rounds (0..3; those groups' words must then be constant across calls and
 * their effect precomputed with tg_s256x_first_quads). `feed` is the chaining value added
 * at the end. m0..m3 are the message words W[0..15].
 */
TG_SHANI_INLINE tg_s256x tg_s256x_rounds(tg_s256x s, tg_s256x feed, const int skip, __m128i m0, __m128i m1,
                                         __m128i m2, __m128i m3) {
  __m128i abef = s.abef, cdgh = s.cdgh;
  if (skip < 1) TG_S256_QROUND(m0, 0);
  if (skip < 2) TG_S256_QROUND(m1, 4);
  if (skip < 3) TG_S256_QROUND(m2, 8);
  TG_S256_QROUND(m3, 12);
  for (int k = 16; k < 64; k += 16) {
    TG_S256_SCHED(m0, m1, m2, m3);
    TG_S256_QROUND(m0, k);
    TG_S256_SCHED(m1, m2, m3, m0);
    TG_S256_QROUND(m1, k + 4);
    TG_S256_SCHED(m2, m3, m0, m1);
    TG_S256_QROUND(m2, k + 8);
    TG_S256_SCHED(m3, m0, m1, m2);
    TG_S256_QROUND(m3, k + 12);
  }
  tg_s256x out;
  out.abef = _mm_add_epi32(abef, feed.abef);
  out.cdgh = _mm_add_epi32(cdgh, feed.cdgh);
  return out;
}

/* The state after the first `quads` groups of four rounds (no feed-forward). */
TG_SHANI_INLINE tg_s256x tg_s256x_first_quads(tg_s256x s, int quads, __m128i m0, __m128i m1, __m128i m2) {
  __m128i abef = s.abef, cdgh = s.cdgh;
  if (quads > 0) TG_S256_QROUND(m0, 0);
  if (quads > 1) TG_S256_QROUND(m1, 4);
  if (quads > 2) TG_S256_QROUND(m2, 8);
  s.abef = abef;
  s.cdgh = cdgh;
  return s;
}

/* One compression of the message words m0..m3 (W[0..15]), including the feed-forward. */
TG_SHANI_INLINE tg_s256x tg_s256x_block_m(tg_s256x s, __m128i m0, __m128i m1, __m128i m2, __m128i m3) {
  return tg_s256x_rounds(s, s, 0, m0, m1, m2, m3);
}

/*
 * For a block compressed many times: its schedule words plus round constants, four per
 * vector, and the same moved to the low lanes for the second sha256rnds2 of each group.
 */
typedef struct {
  __m128i lo[16];
  __m128i hi[16];
} tg_s256x_wk;

TG_SHANI_INLINE void tg_s256x_schedule(const uint8_t *p, tg_s256x_wk *wk) {
  uint32_t w[64];
  tg_sha256_expand(p, w);
  for (int q = 0; q < 16; q++) {
    __m128i v = _mm_add_epi32(_mm_loadu_si128((const __m128i *)(w + 4 * q)),
                              _mm_loadu_si128((const __m128i *)(tg_k256 + 4 * q)));
    wk->lo[q] = v;
    wk->hi[q] = _mm_shuffle_epi32(v, 0x0E);
  }
}

/* One compression of a block whose schedule tg_s256x_schedule computed, with the feed-forward. */
TG_SHANI_INLINE tg_s256x tg_s256x_block_wk(tg_s256x s, const tg_s256x_wk *wk) {
  __m128i abef = s.abef, cdgh = s.cdgh;
  for (int q = 0; q < 16; q++) {
    cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk->lo[q]);
    abef = _mm_sha256rnds2_epu32(abef, cdgh, wk->hi[q]);
  }
  tg_s256x out;
  out.abef = _mm_add_epi32(abef, s.abef);
  out.cdgh = _mm_add_epi32(cdgh, s.cdgh);
  return out;
}

TG_SHANI_INLINE tg_s256x tg_s256x_block(tg_s256x s, const uint8_t *p) {
  const __m128i bswap = TG_S256_BSWAP;
  return tg_s256x_block_m(s, _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 0)), bswap),
                          _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), bswap),
                          _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), bswap),
                          _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), bswap));
}
#endif /* TG_X86_SHANI */

/*
 * Writes the padded final block(s) of a message of `total_len` bytes whose last `rest_len`
 * bytes (not yet compressed) are `rest`, followed by `var_len` bytes left zero for the
 * variable field. Returns the number of final blocks (1 or 2). SHA-1 pads the same way.
 */
static inline size_t tg_pad_final(uint8_t out[128], const uint8_t *rest, size_t rest_len, size_t var_len,
                                  uint64_t total_len) {
  size_t nb = rest_len + var_len + 9 <= 64 ? 1 : 2;
  for (size_t i = 0; i < 128; i++) out[i] = i < rest_len ? rest[i] : 0;
  out[rest_len + var_len] = 0x80;
  uint64_t bits = total_len * 8;
  for (int i = 0; i < 8; i++) out[nb * 64 - 1 - i] = (uint8_t)(bits >> (8 * i));
  return nb;
}

#endif
