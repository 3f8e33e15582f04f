/*
 * Nonce search loops (DESIGN "Speed rules": one compression per attempt, one native call
 * per range).
 *
 * Message = fixed part || variable field. The fixed part's full 64-byte blocks are
 * compressed once (midstate). The final block(s) hold the fixed part's tail, the variable
 * field and the padding. Per attempt only a "window" of at most 8 bytes of the variable
 * field changes; it is passed as a 64-bit value in memory order and merged into the
 * final block:
 * - SHA extensions: the final block is kept as byte-swapped vectors with the window
 *   zeroed; each attempt ORs in the window bytes with one pshufb per vector. The message
 *   never goes through memory, so no store has to be forwarded into a wider load.
 * - portable: the window bytes are stored into the final block and it is compressed.
 *
 * One final block when tail + field + 9 padding bytes fit in 64 (sha256-bits: challenge
 * length mod 64 <= 47). Otherwise two: the state after the first final block is cached
 * and recomputed only when window bytes lying in that block change (for sha256-bits with
 * a tail of 57..63 bytes, every 2^8..2^56 nonces), so most attempts still cost one
 * compression; a tail of 48..56 bytes puts the whole nonce in the first block and costs
 * two compressions per attempt.
 */
#include <string.h>

#include "sha1_impl.h"
#include "tg.h"

/* ---------------------------------------------------------------------------------------- */
/* Final-block layout shared by both puzzles and both implementations.                      */

typedef struct {
  uint8_t buf[128]; /* final block(s); the window bytes are zero */
  unsigned nb;      /* number of final blocks: 1 or 2 */
  unsigned win;     /* offset of the window in buf */
  unsigned wlen;    /* window length in bytes, 1..8 */
  uint64_t b0mask;  /* window bytes (memory order) that lie in the first of two final blocks */
} tg_layout;

static void tg_layout_window(tg_layout *l, unsigned win, unsigned wlen) {
  l->win = win;
  l->wlen = wlen;
  for (unsigned k = 0; k < wlen; k++) l->buf[win + k] = 0;
  if (l->nb == 1 || win + wlen <= 64) {
    l->b0mask = ~(uint64_t)0;
  } else if (win >= 64) {
    l->b0mask = 0;
  } else {
    l->b0mask = (((uint64_t)1) << (8 * (64 - win))) - 1;
  }
}

TG_INLINE void tg_layout_put(tg_layout *l, uint64_t v) {
  for (unsigned k = 0; k < l->wlen; k++) l->buf[l->win + k] = (uint8_t)(v >> (8 * k));
}

static inline uint32_t tg_first_mask(unsigned bits) {
  return bits == 0 ? 0 : bits >= 32 ? 0xffffffffu : ~0u << (32 - bits);
}

/* The digest words h[0..nwords) start with at least `bits` zero bits. */
static int tg_meets(const uint32_t *h, unsigned nwords, unsigned bits) {
  for (unsigned i = 0; i < nwords && bits > 0; i++) {
    if (bits < 32) return (h[i] >> (32 - bits)) == 0;
    if (h[i] != 0) return 0;
    bits -= 32;
  }
  return 1;
}

static inline int tg_stopped(const int32_t *stop) {
  return stop != NULL && tg_load_flag(stop) != 0;
}

#if TG_X86_SHANI
/* The final block(s) as message vectors, and per vector the pshufb mask placing the window. */
typedef struct {
  __m128i base[8];
  __m128i q[8];
} tg_xmsg;

/*
 * `sha1` selects the word order of the vectors: SHA-256 wants W[i] in lane i, SHA-1 wants
 * W[0] in lane 3. Either way vector byte p holds one byte of the block, big-endian in its word.
 */
TG_SHANI_TARGET static void tg_xmsg_init(tg_xmsg *x, const tg_layout *l, int sha1) {
  for (unsigned v = 0; v < 4 * l->nb; v++) {
    uint8_t perm[16], q[16];
    for (unsigned p = 0; p < 16; p++) {
      unsigned byte = sha1 ? 15 - p : (p & ~3u) + (3 - (p & 3u));
      unsigned pos = 16 * v + byte;
      perm[p] = (uint8_t)byte;
      q[p] = pos >= l->win && pos < l->win + l->wlen ? (uint8_t)(pos - l->win) : 0x80;
    }
    __m128i raw = _mm_loadu_si128((const __m128i *)(l->buf + 16 * v));
    x->base[v] = _mm_shuffle_epi8(raw, _mm_loadu_si128((const __m128i *)perm));
    x->q[v] = _mm_loadu_si128((const __m128i *)q);
  }
}

#define TG_XMSG(x, vv, i) _mm_or_si128((x)->base[i], _mm_shuffle_epi8((vv), (x)->q[i]))
#endif

/* ---------------------------------------------------------------------------------------- */
/* sha256-bits: variable field = u64be(nonce), window = the whole field.                    */

typedef struct {
  uint32_t mid[8]; /* state after the challenge's full blocks */
  tg_layout l;
} tg_bits_job;

/* The midstate is computed once per call with the portable code: its speed does not matter. */
static void tg_bits_setup(tg_bits_job *j, const uint8_t *challenge, size_t len) {
  size_t full = len / 64;
  memcpy(j->mid, tg_sha256_iv, sizeof j->mid);
  for (size_t i = 0; i < full; i++) tg_sha256_block_portable(j->mid, challenge + 64 * i);
  j->l.nb = (unsigned)tg_pad_final(j->l.buf, challenge + 64 * full, len % 64, 8, (uint64_t)len + 8);
  tg_layout_window(&j->l, (unsigned)(len % 64), 8);
}

static tg_result tg_bits_portable(const tg_bits_job *j, unsigned bits, uint64_t start, uint64_t count,
                                  const int32_t *stop) {
  tg_layout l = j->l;
  uint32_t mid2[8], h[8], w1[64];
  /* nonce wholly in the first of two final blocks: the second is the same every attempt */
  const int const_b1 = l.nb == 2 && l.win + l.wlen <= 64;
  if (const_b1) tg_sha256_expand(l.buf + 64, w1);
  uint64_t prev0 = 0;
  int have_mid2 = 0;
  const uint32_t mask0 = tg_first_mask(bits);
  tg_result r = {0, start, 0};
  uint64_t nonce = start, left = count;
  while (left > 0) {
    if (tg_stopped(stop)) break;
    uint64_t n = left < TG_POLL_INTERVAL ? left : TG_POLL_INTERVAL;
    for (uint64_t i = 0; i < n; i++, nonce++) {
      uint64_t v = tg_bswap64(nonce);
      tg_layout_put(&l, v);
      memcpy(h, j->mid, sizeof h);
      if (const_b1) {
        tg_sha256_block_portable(h, l.buf);
        tg_sha256_rounds_portable(h, w1);
      } else if (l.nb == 2) {
        if (!have_mid2 || (v & l.b0mask) != prev0) {
          memcpy(mid2, j->mid, sizeof mid2);
          tg_sha256_block_portable(mid2, l.buf);
          prev0 = v & l.b0mask;
          have_mid2 = 1;
        }
        memcpy(h, mid2, sizeof h);
        tg_sha256_block_portable(h, l.buf + 64);
      } else {
        tg_sha256_block_portable(h, l.buf);
      }
      if ((h[0] & mask0) == 0 && tg_meets(h, 8, bits)) {
        r.found = 1;
        r.nonce = nonce;
        r.attempts = count - left + i + 1;
        return r;
      }
    }
    left -= n;
  }
  r.nonce = nonce;
  r.attempts = count - left;
  return r;
}

#if TG_X86_SHANI
/*
 * One final block. The nonce starts at byte `win`, so the first win/16 message vectors are
 * constant: their rounds are run once here (`skip` groups of four rounds, up to 3 of 16).
 */
TG_SHANI_INLINE tg_result tg_bits_shani_1(const tg_bits_job *j, const tg_xmsg *x, const int skip, unsigned bits,
                                          uint64_t start, uint64_t count, const int32_t *stop) {
  const tg_s256x mid = tg_s256x_from_words(j->mid);
  const tg_s256x pre = tg_s256x_first_quads(mid, skip, x->base[0], x->base[1], x->base[2]);
  const uint32_t mask0 = tg_first_mask(bits);
  tg_result r = {0, start, 0};
  uint64_t nonce = start, left = count;
  while (left > 0) {
    if (tg_stopped(stop)) break;
    uint64_t n = left < TG_POLL_INTERVAL ? left : TG_POLL_INTERVAL;
    for (uint64_t i = 0; i < n; i++, nonce++) {
      __m128i vv = _mm_set_epi64x(0, (long long)tg_bswap64(nonce));
      tg_s256x s = tg_s256x_rounds(pre, mid, skip, TG_XMSG(x, vv, 0), TG_XMSG(x, vv, 1), TG_XMSG(x, vv, 2),
                                   TG_XMSG(x, vv, 3));
      if ((tg_s256x_a(s) & mask0) != 0) continue;
      uint32_t h[8];
      tg_s256x_to_words(s, h);
      if (tg_meets(h, 8, bits)) {
        r.found = 1;
        r.nonce = nonce;
        r.attempts = count - left + i + 1;
        return r;
      }
    }
    left -= n;
  }
  r.nonce = nonce;
  r.attempts = count - left;
  return r;
}

/* Two final blocks; the state after the first is cached while its nonce bytes stay the same. */
TG_SHANI_TARGET static tg_result tg_bits_shani_2(const tg_bits_job *j, const tg_xmsg *x, unsigned bits,
                                                 uint64_t start, uint64_t count, const int32_t *stop) {
  const tg_s256x mid = tg_s256x_from_words(j->mid);
  /* two final blocks means a tail of 48 bytes or more: the first 48 bytes of the first are constant */
  const tg_s256x pre = tg_s256x_first_quads(mid, 3, x->base[0], x->base[1], x->base[2]);
  tg_s256x mid2 = mid;
  const uint64_t b0mask = j->l.b0mask;
  /* nonce wholly in the first final block: the second is the same every attempt */
  const int const_b1 = j->l.win + j->l.wlen <= 64;
  tg_s256x_wk wk1;
  if (const_b1) tg_s256x_schedule(j->l.buf + 64, &wk1);
  uint64_t prev0 = 0;
  int have_mid2 = 0;
  const uint32_t mask0 = tg_first_mask(bits);
  tg_result r = {0, start, 0};
  uint64_t nonce = start, left = count;
  while (left > 0) {
    if (tg_stopped(stop)) break;
    uint64_t n = left < TG_POLL_INTERVAL ? left : TG_POLL_INTERVAL;
    for (uint64_t i = 0; i < n; i++, nonce++) {
      uint64_t v = tg_bswap64(nonce);
      __m128i vv = _mm_set_epi64x(0, (long long)v);
      if (!have_mid2 || (v & b0mask) != prev0) {
        mid2 = tg_s256x_rounds(pre, mid, 3, TG_XMSG(x, vv, 0), TG_XMSG(x, vv, 1), TG_XMSG(x, vv, 2),
                               TG_XMSG(x, vv, 3));
        prev0 = v & b0mask;
        have_mid2 = 1;
      }
      tg_s256x s = const_b1 ? tg_s256x_block_wk(mid2, &wk1)
                            : tg_s256x_block_m(mid2, TG_XMSG(x, vv, 4), TG_XMSG(x, vv, 5), TG_XMSG(x, vv, 6),
                                               TG_XMSG(x, vv, 7));
      if ((tg_s256x_a(s) & mask0) != 0) continue;
      uint32_t h[8];
      tg_s256x_to_words(s, h);
      if (tg_meets(h, 8, bits)) {
        r.found = 1;
        r.nonce = nonce;
        r.attempts = count - left + i + 1;
        return r;
      }
    }
    left -= n;
  }
  r.nonce = nonce;
  r.attempts = count - left;
  return r;
}

TG_SHANI_TARGET static tg_result tg_bits_shani(const tg_bits_job *j, unsigned bits, uint64_t start,
                                               uint64_t count, const int32_t *stop) {
  tg_xmsg x;
  tg_xmsg_init(&x, &j->l, 0);
  if (j->l.nb == 2) return tg_bits_shani_2(j, &x, bits, start, count, stop);
  switch (j->l.win / 16) {
    case 0:
      return tg_bits_shani_1(j, &x, 0, bits, start, count, stop);
    case 1:
      return tg_bits_shani_1(j, &x, 1, bits, start, count, stop);
    default: /* win <= 47 with one final block */
      return tg_bits_shani_1(j, &x, 2, bits, start, count, stop);
  }
}
#endif

tg_result tg_search_sha256_bits(tg_impl impl, const uint8_t *challenge, size_t len, unsigned bits,
                                uint64_t start, uint64_t count, const int32_t *stop) {
  tg_bits_job j;
  tg_bits_setup(&j, challenge, len);
#if TG_X86_SHANI
  if (impl == TG_IMPL_SHANI) return tg_bits_shani(&j, bits, start, count, stop);
#endif
  return tg_bits_portable(&j, bits, start, count, stop);
}

/* ---------------------------------------------------------------------------------------- */
/*
 * hashcash: variable field = base64(decimal(counter)). Base64 turns each 3 digits into 4
 * characters, so only the last one or two groups change from one counter to the next.
 * The window is the last two groups (8 bytes; the last group alone while the counter has
 * at most 3 digits), looked up per attempt from two small tables: `tab3` for a full group
 * of 3 digits, `tabl` for the last group of 1..3 digits with its '=' padding. A carry out
 * of the window (every 10^4..10^6 counters, or a new digit) lays the block out again.
 */

static const char tg_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 of 1..3 bytes, padded to 4 characters, packed in memory order. */
static uint32_t tg_b64_group(const uint8_t *in, unsigned n) {
  uint32_t v = (uint32_t)in[0] << 16 | (n > 1 ? (uint32_t)in[1] << 8 : 0) | (n > 2 ? in[2] : 0);
  uint32_t c0 = (uint8_t)tg_b64[(v >> 18) & 63];
  uint32_t c1 = (uint8_t)tg_b64[(v >> 12) & 63];
  uint32_t c2 = n > 1 ? (uint8_t)tg_b64[(v >> 6) & 63] : '=';
  uint32_t c3 = n > 2 ? (uint8_t)tg_b64[v & 63] : '=';
  return c0 | c1 << 8 | c2 << 16 | c3 << 24;
}

static const uint32_t tg_pow10[4] = {1, 10, 100, 1000};

typedef struct {
  uint32_t mid[5];      /* state after the prefix's full blocks */
  const uint8_t *rest;  /* the prefix's bytes after its full blocks */
  size_t rest_len;      /* prefix length mod 64 */
  uint64_t prefix_len;
  uint32_t tab3[1000];  /* base64 of "000".."999" */
  uint32_t tabl[1000];  /* base64 of the last group for the current digit count */
  unsigned tabl_digits; /* digits in the last group that tabl was built for (0 = none) */
  /* current layout */
  tg_layout l;
  uint32_t lo;  /* value of the last group's digits */
  uint32_t lo2; /* value of the group before it (when there is one) */
  uint32_t lo_end;
  int two_groups;
} tg_hc_job;

static void tg_hc_setup(tg_hc_job *j, const uint8_t *prefix, size_t len) {
  size_t full = len / 64;
  memcpy(j->mid, tg_sha1_iv, sizeof j->mid);
  for (size_t i = 0; i < full; i++) tg_sha1_block_portable(j->mid, prefix + 64 * i);
  j->rest = prefix + 64 * full;
  j->rest_len = len % 64;
  j->prefix_len = len;
  for (unsigned i = 0; i < 1000; i++) {
    uint8_t d[3] = {(uint8_t)('0' + i / 100), (uint8_t)('0' + i / 10 % 10), (uint8_t)('0' + i % 10)};
    j->tab3[i] = tg_b64_group(d, 3);
  }
  j->tabl_digits = 0;
}

/* Lays out the final block(s) for `counter`; called at the start and on every carry out of the window. */
static void tg_hc_layout(tg_hc_job *j, uint64_t counter) {
  uint8_t digits[24];
  unsigned n = 0;
  char tmp[24];
  uint64_t c = counter;
  do {
    tmp[n++] = (char)('0' + c % 10);
    c /= 10;
  } while (c > 0);
  for (unsigned i = 0; i < n; i++) digits[i] = (uint8_t)tmp[n - 1 - i];
  unsigned groups = (n + 2) / 3, last = n - 3 * (groups - 1);
  unsigned field = 4 * groups;
  tg_layout *l = &j->l;
  l->nb = (unsigned)tg_pad_final(l->buf, j->rest, j->rest_len, field, j->prefix_len + field);
  unsigned at = (unsigned)j->rest_len;
  for (unsigned g = 0; g < groups; g++) {
    unsigned k = g + 1 < groups ? 3 : last;
    uint32_t enc = tg_b64_group(digits + 3 * g, k);
    memcpy(l->buf + at + 4 * g, &enc, 4);
  }
  if (j->tabl_digits != last) {
    for (unsigned i = 0; i < tg_pow10[last]; i++) {
      uint8_t d[3] = {0, 0, 0};
      for (unsigned k = 0, v = i; k < last; k++, v /= 10) d[last - 1 - k] = (uint8_t)('0' + v % 10);
      j->tabl[i] = tg_b64_group(d, last);
    }
    j->tabl_digits = last;
  }
  j->lo = (uint32_t)(counter % tg_pow10[last]);
  j->lo_end = tg_pow10[last];
  j->two_groups = groups >= 2;
  if (j->two_groups) {
    j->lo2 = (uint32_t)(counter / tg_pow10[last] % 1000);
    tg_layout_window(l, at + field - 8, 8);
  } else {
    j->lo2 = 0;
    tg_layout_window(l, at + field - 4, 4);
  }
}

/* The window value of the current counter, in memory order. */
TG_INLINE uint64_t tg_hc_value(const tg_hc_job *j) {
  return j->two_groups ? (uint64_t)j->tab3[j->lo2] | (uint64_t)j->tabl[j->lo] << 32 : j->tabl[j->lo];
}

/* Steps to the next counter; returns 1 when the block must be laid out again. */
TG_INLINE int tg_hc_step(tg_hc_job *j) {
  if (++j->lo < j->lo_end) return 0;
  j->lo = 0;
  if (!j->two_groups || ++j->lo2 == 1000) return 1;
  return 0;
}

/* The counter lies wholly in the first of two final blocks: the second is the same every attempt. */
#define TG_HC_CONST_B1_PORTABLE()                                   \
  do {                                                              \
    const_b1 = j->l.nb == 2 && j->l.win + j->l.wlen <= 64;          \
    if (const_b1) tg_sha1_expand(j->l.buf + 64, w1);                \
  } while (0)

static tg_result tg_hc_portable(tg_hc_job *j, unsigned bits, uint64_t start, uint64_t count,
                                const int32_t *stop) {
  uint32_t mid2[5], h[5], w1[80];
  uint64_t prev0 = 0;
  int have_mid2 = 0, const_b1;
  const uint32_t mask0 = tg_first_mask(bits);
  tg_result r = {0, start, 0};
  uint64_t counter = start, left = count;
  tg_hc_layout(j, counter);
  TG_HC_CONST_B1_PORTABLE();
  while (left > 0) {
    if (tg_stopped(stop)) break;
    uint64_t n = left < TG_POLL_INTERVAL ? left : TG_POLL_INTERVAL;
    for (uint64_t i = 0; i < n; i++) {
      uint64_t v = tg_hc_value(j);
      tg_layout_put(&j->l, v);
      if (const_b1) {
        memcpy(h, j->mid, sizeof h);
        tg_sha1_block_portable(h, j->l.buf);
        tg_sha1_rounds_portable(h, w1);
      } else if (j->l.nb == 2) {
        if (!have_mid2 || (v & j->l.b0mask) != prev0) {
          memcpy(mid2, j->mid, sizeof mid2);
          tg_sha1_block_portable(mid2, j->l.buf);
          prev0 = v & j->l.b0mask;
          have_mid2 = 1;
        }
        memcpy(h, mid2, sizeof h);
        tg_sha1_block_portable(h, j->l.buf + 64);
      } else {
        memcpy(h, j->mid, sizeof h);
        tg_sha1_block_portable(h, j->l.buf);
      }
      if ((h[0] & mask0) == 0 && tg_meets(h, 5, bits)) {
        r.found = 1;
        r.nonce = counter;
        r.attempts = count - left + i + 1;
        return r;
      }
      counter++;
      if (tg_hc_step(j)) {
        tg_hc_layout(j, counter);
        TG_HC_CONST_B1_PORTABLE();
        have_mid2 = 0;
      }
    }
    left -= n;
  }
  r.nonce = counter;
  r.attempts = count - left;
  return r;
}

#if TG_X86_SHANI
/* Where the changing bytes sit, and so how an attempt is compressed (one plan per layout). */
typedef enum {
  TG_HC_ONE,      /* one final block */
  TG_HC_CONST_B1, /* two; the window in the first, the second constant (its schedule kept) */
  TG_HC_IN_B1,    /* two; the window in the second, the first constant (its state kept) */
  TG_HC_SPLIT,    /* two; the window split between them */
} tg_hc_mode;

typedef struct {
  tg_hc_mode mode;
  int skip;       /* constant leading groups of rounds in the block holding the window */
  tg_s1x base;    /* chaining value entering that block */
  tg_s1x_pre pre; /* state after its constant leading groups */
  __m128i w1[20]; /* TG_HC_CONST_B1: schedule of the second block */
} tg_hc_plan;

TG_SHANI_INLINE void tg_hc_plan_make(tg_hc_plan *p, const tg_layout *l, const tg_xmsg *x, tg_s1x mid) {
  unsigned win = l->win;
  if (l->nb == 2 && win >= 64) {
    p->mode = TG_HC_IN_B1;
    p->base = tg_s1x_block_m(mid, x->base[0], x->base[1], x->base[2], x->base[3]);
    win -= 64;
  } else {
    p->mode = l->nb == 1 ? TG_HC_ONE : win + l->wlen <= 64 ? TG_HC_CONST_B1 : TG_HC_SPLIT;
    p->base = mid;
  }
  if (p->mode == TG_HC_CONST_B1) tg_s1x_schedule(l->buf + 64, p->w1);
  p->skip = p->mode == TG_HC_SPLIT ? 0 : win / 16 < 3 ? (int)(win / 16) : 3;
  unsigned b = p->mode == TG_HC_IN_B1 ? 4 : 0;
  p->pre = tg_s1x_first_groups(p->base, p->skip, x->base[b], x->base[b + 1], x->base[b + 2]);
}

TG_SHANI_TARGET static tg_result tg_hc_shani(tg_hc_job *j, unsigned bits, uint64_t start, uint64_t count,
                                             const int32_t *stop) {
  tg_xmsg x;
  tg_hc_plan plan;
  const tg_s1x mid = tg_s1x_from_words(j->mid);
  tg_s1x mid2 = mid;
  uint64_t prev0 = 0;
  int have_mid2 = 0;
  const uint32_t mask0 = tg_first_mask(bits);
  tg_result r = {0, start, 0};
  uint64_t counter = start, left = count;
  tg_hc_layout(j, counter);
  tg_xmsg_init(&x, &j->l, 1);
  tg_hc_plan_make(&plan, &j->l, &x, mid);
  while (left > 0) {
    if (tg_stopped(stop)) break;
    uint64_t n = left < TG_POLL_INTERVAL ? left : TG_POLL_INTERVAL;
    for (uint64_t i = 0; i < n; i++) {
      uint64_t v = tg_hc_value(j);
      __m128i vv = _mm_set_epi64x(0, (long long)v);
      tg_s1x s;
      if (plan.mode == TG_HC_IN_B1) {
        s = tg_s1x_rounds(plan.base, plan.pre, plan.skip, TG_XMSG(&x, vv, 4), TG_XMSG(&x, vv, 5),
                          TG_XMSG(&x, vv, 6), TG_XMSG(&x, vv, 7));
      } else if (plan.mode != TG_HC_SPLIT) {
        s = tg_s1x_rounds(plan.base, plan.pre, plan.skip, TG_XMSG(&x, vv, 0), TG_XMSG(&x, vv, 1),
                          TG_XMSG(&x, vv, 2), TG_XMSG(&x, vv, 3));
        if (plan.mode == TG_HC_CONST_B1) s = tg_s1x_block_w(s, plan.w1);
      } else {
        if (!have_mid2 || (v & j->l.b0mask) != prev0) {
          mid2 = tg_s1x_block_m(mid, TG_XMSG(&x, vv, 0), TG_XMSG(&x, vv, 1), TG_XMSG(&x, vv, 2),
                                TG_XMSG(&x, vv, 3));
          prev0 = v & j->l.b0mask;
          have_mid2 = 1;
        }
        s = tg_s1x_block_m(mid2, TG_XMSG(&x, vv, 4), TG_XMSG(&x, vv, 5), TG_XMSG(&x, vv, 6),
                           TG_XMSG(&x, vv, 7));
      }
      if ((tg_s1x_a(s) & mask0) == 0) {
        uint32_t h[5];
        tg_s1x_to_words(s, h);
        if (tg_meets(h, 5, bits)) {
          r.found = 1;
          r.nonce = counter;
          r.attempts = count - left + i + 1;
          return r;
        }
      }
      counter++;
      if (tg_hc_step(j)) {
        tg_hc_layout(j, counter);
        tg_xmsg_init(&x, &j->l, 1);
        tg_hc_plan_make(&plan, &j->l, &x, mid);
        have_mid2 = 0;
      }
    }
    left -= n;
  }
  r.nonce = counter;
  r.attempts = count - left;
  return r;
}
#endif

tg_result tg_search_hashcash(tg_impl impl, const uint8_t *prefix, size_t len, unsigned hex_zeros,
                             uint64_t start, uint64_t count, const int32_t *stop) {
  tg_hc_job j; /* about 8 KiB of tables, on the caller's stack */
  tg_hc_setup(&j, prefix, len);
#if TG_X86_SHANI
  if (impl == TG_IMPL_SHANI) return tg_hc_shani(&j, 4 * hex_zeros, start, count, stop);
#endif
  return tg_hc_portable(&j, 4 * hex_zeros, start, count, stop);
}
