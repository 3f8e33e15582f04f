/* One-shot SHA-256 / SHA-1 of a buffer, used by the tests to check both compressions. */
#include <string.h>

#include "sha1_impl.h"
#include "tg.h"

#if TG_X86_SHANI
TG_SHANI_TARGET static void sha256_shani(const uint8_t *data, size_t len, uint32_t h[8]) {
  tg_s256x s = tg_s256x_from_words(tg_sha256_iv);
  size_t full = len / 64;
  for (size_t i = 0; i < full; i++) s = tg_s256x_block(s, data + 64 * i);
  uint8_t last[128];
  size_t nb = tg_pad_final(last, data + 64 * full, len % 64, 0, len);
  for (size_t i = 0; i < nb; i++) s = tg_s256x_block(s, last + 64 * i);
  tg_s256x_to_words(s, h);
}

TG_SHANI_TARGET static void sha1_shani(const uint8_t *data, size_t len, uint32_t h[5]) {
  tg_s1x s = tg_s1x_from_words(tg_sha1_iv);
  size_t full = len / 64;
  for (size_t i = 0; i < full; i++) s = tg_s1x_block(s, data + 64 * i);
  uint8_t last[128];
  size_t nb = tg_pad_final(last, data + 64 * full, len % 64, 0, len);
  for (size_t i = 0; i < nb; i++) s = tg_s1x_block(s, last + 64 * i);
  tg_s1x_to_words(s, h);
}
#endif

/* Both portable compressions over a whole buffer: full blocks, then the padded tail (1 or 2 blocks). */
static void digest_portable(void (*block)(uint32_t *h, const uint8_t *p), uint32_t *h, const uint8_t *data,
                            size_t len) {
  size_t full = len / 64;
  for (size_t i = 0; i < full; i++) block(h, data + 64 * i);
  uint8_t last[128];
  size_t nb = tg_pad_final(last, data + 64 * full, len % 64, 0, len);
  for (size_t i = 0; i < nb; i++) block(h, last + 64 * i);
}

void tg_sha256(tg_impl impl, const uint8_t *data, size_t len, uint8_t out[32]) {
  uint32_t h[8];
#if TG_X86_SHANI
  if (impl == TG_IMPL_SHANI) {
    sha256_shani(data, len, h);
  } else
#endif
  {
    (void)impl;
    memcpy(h, tg_sha256_iv, sizeof h);
    digest_portable(tg_sha256_block_portable, h, data, len);
  }
  for (int i = 0; i < 8; i++) tg_store_be32(out + 4 * i, h[i]);
}

void tg_sha1(tg_impl impl, const uint8_t *data, size_t len, uint8_t out[20]) {
  uint32_t h[5];
#if TG_X86_SHANI
  if (impl == TG_IMPL_SHANI) {
    sha1_shani(data, len, h);
  } else
#endif
  {
    (void)impl;
    memcpy(h, tg_sha1_iv, sizeof h);
    digest_portable(tg_sha1_block_portable, h, data, len);
  }
  for (int i = 0; i < 5; i++) tg_store_be32(out + 4 * i, h[i]);
}
