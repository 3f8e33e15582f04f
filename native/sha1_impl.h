/*
 * SHA-1 compression (FIPS 180-4 section 6.1.2), portable C and x86 SHA extensions.
 * SHA-1 is used only because powtcp's hashcash puzzle is defined with it.
 */
#ifndef TG_SHA1_IMPL_H
#define TG_SHA1_IMPL_H

#include "sha256_impl.h"

static const uint32_t tg_sha1_iv[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};

TG_INLINE uint32_t tg_rotl32(uint32_t x, unsigned n) { return (x << n) | (x >> (32 - n)); }

/* ---- portable ---- */

/* The 80 schedule words of a block (kept when the same block is compressed many times). */
TG_INLINE void tg_sha1_expand(const uint8_t *p, uint32_t w[80]) {
  for (int i = 0; i < 16; i++) w[i] = tg_load_be32(p + 4 * i);
  for (int i = 16; i < 80; i++) w[i] = tg_rotl32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
}

/* The 80 rounds and the feed-forward, from the schedule words. */
TG_INLINE void tg_sha1_rounds_portable(uint32_t h[5], const uint32_t w[80]) {
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
  for (int i = 0; i < 80; i++) {
    uint32_t f, k;
    if (i < 20) {
      f = (b & c) | (~b & d);
      k = 0x5a827999;
    } else if (i < 40) {
      f = b ^ c ^ d;
      k = 0x6ed9eba1;
    } else if (i < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8f1bbcdc;
    } else {
      f = b ^ c ^ d;
      k = 0xca62c1d6;
    }
    uint32_t t = tg_rotl32(a, 5) + f + e + k + w[i];
    e = d;
    d = c;
    c = tg_rotl32(b, 30);
    b = a;
    a = t;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
}

TG_INLINE void tg_sha1_block_portable(uint32_t h[5], const uint8_t *p) {
  uint32_t w[80];
  tg_sha1_expand(p, w);
  tg_sha1_rounds_portable(h, w);
}

/* ---- SHA extensions ---- */
#if TG_X86_SHANI

typedef struct {
  __m128i abcd; /* lanes 3..0: A B C D */
  __m128i e;    /* lane 3: E; other lanes zero */
} tg_s1x;

TG_SHANI_INLINE tg_s1x tg_s1x_from_words(const uint32_t h[5]) {
  tg_s1x s;
  s.abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)h), 0x1B);
  s.e = _mm_set_epi32((int)h[4], 0, 0, 0);
  return s;
}

TG_SHANI_INLINE void tg_s1x_to_words(tg_s1x s, uint32_t h[5]) {
  _mm_storeu_si128((__m128i *)h, _mm_shuffle_epi32(s.abcd, 0x1B));
  h[4] = (uint32_t)_mm_extract_epi32(s.e, 3);
}

TG_SHANI_INLINE uint32_t tg_s1x_a(tg_s1x s) { return (uint32_t)_mm_extract_epi32(s.abcd, 3); }

/*
 * Group g (rounds 4g..4g+3) with message vector mg; `prev` holds the state that entered
 * group g-1, from which sha1nexte derives E. Function/constant index is g / 5.
 */
#define TG_S1_GROUP(mg, f)                                 \
  do {                                                     \
    __m128i e_ = _mm_sha1nexte_epu32(prev, (mg));          \
    prev = abcd;                                           \
    abcd = _mm_sha1rnds4_epu32(abcd, e_, (f));             \
  } while (0)
/* ma <- W[i..i+3] from ma = W[i-16..], mb = W[i-12..], mc = W[i-8..], md = W[i-4..]. */
#define TG_S1_SCHED(ma, mb, mc, md) ma = _mm_sha1msg2_epu32(_mm_xor_si128(_mm_sha1msg1_epu32(ma, mb), mc), md)

/* pshufb mask turning 16 message bytes into W[0..3] with W[0] in lane 3. */
#define TG_S1_BSWAP _mm_set_epi64x(0x0001020304050607LL, 0x08090a0b0c0d0e0fLL)

/* The state after some groups of four rounds, and the state that entered the last of them. */
typedef struct {
  __m128i abcd;
  __m128i prev;
} tg_s1x_pre;

/* Runs the first `groups` (0..3) groups of four rounds, for message words that stay constant. */
TG_SHANI_INLINE tg_s1x_pre tg_s1x_first_groups(tg_s1x s, int groups, __m128i m0, __m128i m1, __m128i m2) {
  __m128i abcd = s.abcd, prev = abcd;
  if (groups > 0) abcd = _mm_sha1rnds4_epu32(abcd, _mm_add_epi32(s.e, m0), 0);
  if (groups > 1) TG_S1_GROUP(m1, 0);
  if (groups > 2) TG_S1_GROUP(m2, 0);
  tg_s1x_pre pre = {abcd, prev};
  return pre;
}

/*
 * One compression of the message vectors m0..m3 from chaining value `s`, whose first `skip`
 * groups tg_s1x_first_groups already ran (`pre`); including the feed-forward.
 */
TG_SHANI_INLINE tg_s1x tg_s1x_rounds(tg_s1x s, tg_s1x_pre pre, int skip, __m128i m0, __m128i m1, __m128i m2,
                                     __m128i m3) {
  __m128i abcd = pre.abcd, prev = pre.prev;
  if (skip < 1) abcd = _mm_sha1rnds4_epu32(abcd, _mm_add_epi32(s.e, m0), 0);
  if (skip < 2) TG_S1_GROUP(m1, 0);
  if (skip < 3) TG_S1_GROUP(m2, 0);
  TG_S1_GROUP(m3, 0);
  TG_S1_SCHED(m0, m1, m2, m3);
  TG_S1_GROUP(m0, 0); /* group 4 */
  TG_S1_SCHED(m1, m2, m3, m0);
  TG_S1_GROUP(m1, 1);
  TG_S1_SCHED(m2, m3, m0, m1);
  TG_S1_GROUP(m2, 1);
  TG_S1_SCHED(m3, m0, m1, m2);
  TG_S1_GROUP(m3, 1);
  TG_S1_SCHED(m0, m1, m2, m3);
  TG_S1_GROUP(m0, 1); /* group 8 */
  TG_S1_SCHED(m1, m2, m3, m0);
  TG_S1_GROUP(m1, 1);
  TG_S1_SCHED(m2, m3, m0, m1);
  TG_S1_GROUP(m2, 2);
  TG_S1_SCHED(m3, m0, m1, m2);
  TG_S1_GROUP(m3, 2);
  TG_S1_SCHED(m0, m1, m2, m3);
  TG_S1_GROUP(m0, 2); /* group 12 */
  TG_S1_SCHED(m1, m2, m3, m0);
  TG_S1_GROUP(m1, 2);
  TG_S1_SCHED(m2, m3, m0, m1);
  TG_S1_GROUP(m2, 2);
  TG_S1_SCHED(m3, m0, m1, m2);
  TG_S1_GROUP(m3, 3);
  TG_S1_SCHED(m0, m1, m2, m3);
  TG_S1_GROUP(m0, 3); /* group 16 */
  TG_S1_SCHED(m1, m2, m3, m0);
  TG_S1_GROUP(m1, 3);
  TG_S1_SCHED(m2, m3, m0, m1);
  TG_S1_GROUP(m2, 3);
  TG_S1_SCHED(m3, m0, m1, m2);
  TG_S1_GROUP(m3, 3);
  tg_s1x out;
  out.e = _mm_sha1nexte_epu32(prev, s.e);
  out.abcd = _mm_add_epi32(abcd, s.abcd);
  return out;
}

/* The 20 message vectors of a block that is compressed many times (W[4g] in lane 3 of w[g]). */
TG_SHANI_INLINE void tg_s1x_schedule(const uint8_t *p, __m128i w[20]) {
  const __m128i bswap = TG_S1_BSWAP;
  for (int g = 0; g < 4; g++) w[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), bswap);
  for (int g = 4; g < 20; g++) {
    w[g] = _mm_sha1msg2_epu32(_mm_xor_si128(_mm_sha1msg1_epu32(w[g - 4], w[g - 3]), w[g - 2]), w[g - 1]);
  }
}

#define TG_S1_GW(g, f)                                  \
  do {                                                  \
    __m128i e_ = _mm_sha1nexte_epu32(prev, w[g]);       \
    prev = abcd;                                        \
    abcd = _mm_sha1rnds4_epu32(abcd, e_, (f));          \
  } while (0)

/* One compression of a block whose schedule tg_s1x_schedule computed, with the feed-forward. */
TG_SHANI_INLINE tg_s1x tg_s1x_block_w(tg_s1x s, const __m128i w[20]) {
  __m128i abcd = s.abcd, prev = abcd;
  abcd = _mm_sha1rnds4_epu32(abcd, _mm_add_epi32(s.e, w[0]), 0);
  TG_S1_GW(1, 0);
  TG_S1_GW(2, 0);
  TG_S1_GW(3, 0);
  TG_S1_GW(4, 0);
  TG_S1_GW(5, 1);
  TG_S1_GW(6, 1);
  TG_S1_GW(7, 1);
  TG_S1_GW(8, 1);
  TG_S1_GW(9, 1);
  TG_S1_GW(10, 2);
  TG_S1_GW(11, 2);
  TG_S1_GW(12, 2);
  TG_S1_GW(13, 2);
  TG_S1_GW(14, 2);
  TG_S1_GW(15, 3);
  TG_S1_GW(16, 3);
  TG_S1_GW(17, 3);
  TG_S1_GW(18, 3);
  TG_S1_GW(19, 3);
  tg_s1x out;
  out.e = _mm_sha1nexte_epu32(prev, s.e);
  out.abcd = _mm_add_epi32(abcd, s.abcd);
  return out;
}

/* One compression of the message vectors m0..m3, including the feed-forward. */
TG_SHANI_INLINE tg_s1x tg_s1x_block_m(tg_s1x s, __m128i m0, __m128i m1, __m128i m2, __m128i m3) {
  tg_s1x_pre none = {s.abcd, s.abcd};
  return tg_s1x_rounds(s, none, 0, m0, m1, m2, m3);
}

TG_SHANI_INLINE tg_s1x tg_s1x_block(tg_s1x s, const uint8_t *p) {
  const __m128i bswap = TG_S1_BSWAP;
  return tg_s1x_block_m(s, _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 0)), bswap),
                        _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), bswap),
                        _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), bswap),
                        _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), bswap));
}
#endif /* TG_X86_SHANI */

#endif
