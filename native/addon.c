/*
 * Node-API bindings of the native solver. Every argument is checked here and a bad one
 * throws a JS error with code ERR_INVALID_ARG and a message starting with the argument's
 * name; nothing a caller passes can make the process crash.
 *
 * Exports:
 *   sha256(data, impl?) -> Buffer             sha1(data, impl?) -> Buffer
 *   searchSha256Bits(challenge, bits, start, count, stop?, impl?) -> { found, nonce, attempts }
 *   searchHashcash(prefix, hexZeros, start, count, stop?, impl?)  -> { found, nonce, attempts }
 *   checkSha256Bits(challenge, bits, nonce) -> bool   (one hash: the server's PoW check)
 *   features() -> { shani, aead }             maxFixedBytes, pollInterval
 *   aeadNew(key, encrypt) -> context | null   (AES-256-GCM, one context per key and direction)
 *   aeadOpen(context, iv, aad, buf) -> bool   buf = ciphertext || tag, decrypted in place
 *   aeadSeal(context, iv, aad, buf)           buf = plaintext || 16 spare bytes, sealed in place
 * impl: 'auto' (default: SHA extensions when the CPU has them), 'portable' or 'shani'.
 */
#define NAPI_VERSION 8
#include <math.h>
#include <node_api.h>
#include <stdio.h>
#include <string.h>

#include "tg.h"

#define CHECK(call)                                                  \
  do {                                                               \
    if ((call) != napi_ok) {                                         \
      napi_throw_error(env, NULL, "tollgate_native: " #call " failed"); \
      return NULL;                                                   \
    }                                                                \
  } while (0)

static napi_value throw_arg(napi_env env, int range, const char *name, const char *problem) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", name, problem);
  if (range) {
    napi_throw_range_error(env, "ERR_INVALID_ARG", msg);
  } else {
    napi_throw_type_error(env, "ERR_INVALID_ARG", msg);
  }
  return NULL;
}

/* Reads a Uint8Array (or Buffer) argument of at most max_len bytes. Returns 0 after throwing. */
static int get_bytes(napi_env env, napi_value v, const char *name, size_t max_len, const uint8_t **data,
                     size_t *len) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) {
    throw_arg(env, 0, name, "expected a Uint8Array");
    return 0;
  }
  napi_typedarray_type type;
  void *ptr = NULL;
  if (napi_get_typedarray_info(env, v, &type, len, &ptr, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    throw_arg(env, 0, name, "expected a Uint8Array");
    return 0;
  }
  if (*len > max_len) {
    char problem[80];
    snprintf(problem, sizeof problem, "expected at most %zu bytes, got %zu", max_len, *len);
    throw_arg(env, 1, name, problem);
    return 0;
  }
  static const uint8_t empty[1] = {0};
  *data = ptr != NULL ? (const uint8_t *)ptr : empty;
  return 1;
}

static int get_int(napi_env env, napi_value v, const char *name, double min, double max, double *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) {
    throw_arg(env, 0, name, "expected a number");
    return 0;
  }
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !isfinite(d) || floor(d) != d || d < min || d > max) {
    char problem[96];
    snprintf(problem, sizeof problem, "expected an integer in [%.0f, %.0f]", min, max);
    throw_arg(env, 1, name, problem);
    return 0;
  }
  *out = d;
  return 1;
}

static int is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return 0;
  return t == napi_undefined || t == napi_null;
}

/* impl argument: absent/'auto', 'portable' or 'shani'. Returns 0 after throwing. */
static int get_impl(napi_env env, napi_value v, tg_impl *out) {
  int shani = tg_cpu_has_shani();
  if (v == NULL || is_nullish(env, v)) {
    *out = shani ? TG_IMPL_SHANI : TG_IMPL_PORTABLE;
    return 1;
  }
  napi_valuetype t;
  char s[16];
  size_t n = 0;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string ||
      napi_get_value_string_utf8(env, v, s, sizeof s, &n) != napi_ok) {
    throw_arg(env, 0, "impl", "expected 'auto', 'portable' or 'shani'");
    return 0;
  }
  if (strcmp(s, "auto") == 0) {
    *out = shani ? TG_IMPL_SHANI : TG_IMPL_PORTABLE;
  } else if (strcmp(s, "portable") == 0) {
    *out = TG_IMPL_PORTABLE;
  } else if (strcmp(s, "shani") == 0) {
    if (!shani) {
      throw_arg(env, 1, "impl", "this CPU has no SHA extensions");
      return 0;
    }
    *out = TG_IMPL_SHANI;
  } else {
    throw_arg(env, 1, "impl", "expected 'auto', 'portable' or 'shani'");
    return 0;
  }
  return 1;
}

static napi_value hash_common(napi_env env, napi_callback_info info, int sha1) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  const uint8_t *data;
  size_t len;
  tg_impl impl;
  if (argc < 1) return throw_arg(env, 0, "data", "expected a Uint8Array");
  if (!get_bytes(env, argv[0], "data", (size_t)1 << 30, &data, &len)) return NULL;
  if (!get_impl(env, argc > 1 ? argv[1] : NULL, &impl)) return NULL;
  uint8_t out[32];
  size_t out_len = sha1 ? 20 : 32;
  if (sha1) {
    tg_sha1(impl, data, len, out);
  } else {
    tg_sha256(impl, data, len, out);
  }
  napi_value result;
  CHECK(napi_create_buffer_copy(env, out_len, out, NULL, &result));
  return result;
}

static napi_value js_sha256(napi_env env, napi_callback_info info) { return hash_common(env, info, 0); }
static napi_value js_sha1(napi_env env, napi_callback_info info) { return hash_common(env, info, 1); }

static napi_value search_common(napi_env env, napi_callback_info info, int hashcash) {
  size_t argc = 6;
  napi_value argv[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  const char *fixed_name = hashcash ? "prefix" : "challenge";
  const char *diff_name = hashcash ? "hexZeros" : "bits";
  if (argc < 4) return throw_arg(env, 0, "arguments", "expected at least 4");

  const uint8_t *fixed;
  size_t fixed_len;
  if (!get_bytes(env, argv[0], fixed_name, TG_MAX_FIXED, &fixed, &fixed_len)) return NULL;

  double diff;
  if (!get_int(env, argv[1], diff_name, 0, hashcash ? 40 : 256, &diff)) return NULL;

  napi_valuetype t;
  CHECK(napi_typeof(env, argv[2], &t));
  if (t != napi_bigint) return throw_arg(env, 0, "start", "expected a bigint");
  uint64_t start;
  bool lossless = false;
  CHECK(napi_get_value_bigint_uint64(env, argv[2], &start, &lossless));
  if (!lossless) return throw_arg(env, 1, "start", "expected an integer in [0, 2^64 - 1]");

  double count_d;
  if (!get_int(env, argv[3], "count", 0, 9007199254740991.0, &count_d)) return NULL;
  uint64_t count = (uint64_t)count_d;
  if (count > 0 && count - 1 > UINT64_MAX - start) {
    return throw_arg(env, 1, "count", "start + count must not exceed 2^64");
  }

  const int32_t *stop = NULL;
  if (argc > 4 && !is_nullish(env, argv[4])) {
    bool is_ta = false;
    napi_typedarray_type type;
    size_t len = 0;
    void *ptr = NULL;
    if (napi_is_typedarray(env, argv[4], &is_ta) != napi_ok || !is_ta ||
        napi_get_typedarray_info(env, argv[4], &type, &len, &ptr, NULL, NULL) != napi_ok ||
        type != napi_int32_array || len < 1 || ptr == NULL) {
      return throw_arg(env, 0, "stop", "expected an Int32Array of at least one element");
    }
    stop = (const int32_t *)ptr;
  }

  tg_impl impl;
  if (!get_impl(env, argc > 5 ? argv[5] : NULL, &impl)) return NULL;

  tg_result r = hashcash ? tg_search_hashcash(impl, fixed, fixed_len, (unsigned)diff, start, count, stop)
                         : tg_search_sha256_bits(impl, fixed, fixed_len, (unsigned)diff, start, count, stop);

  napi_value obj, found, nonce, attempts;
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_get_boolean(env, r.found != 0, &found));
  if (r.found) {
    CHECK(napi_create_bigint_uint64(env, r.nonce, &nonce));
  } else {
    /* the first nonce not tried is start + attempts, which is 2^64 after the very last one */
    uint64_t words[2] = {start + r.attempts, start + r.attempts < start ? 1u : 0u};
    CHECK(napi_create_bigint_words(env, 0, words[1] ? 2 : 1, words, &nonce));
  }
  CHECK(napi_create_double(env, (double)r.attempts, &attempts));
  CHECK(napi_set_named_property(env, obj, "found", found));
  CHECK(napi_set_named_property(env, obj, "nonce", nonce));
  CHECK(napi_set_named_property(env, obj, "attempts", attempts));
  return obj;
}

static napi_value js_search_sha256_bits(napi_env env, napi_callback_info info) {
  return search_common(env, info, 0);
}
static napi_value js_search_hashcash(napi_env env, napi_callback_info info) {
  return search_common(env, info, 1);
}

/* SHA-256(challenge || u64be(nonce)) has at least `bits` leading zero bits. */
static napi_value js_check_sha256_bits(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3] = {NULL, NULL, NULL};
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return throw_arg(env, 0, "arguments", "expected 3");
  const uint8_t *challenge;
  size_t len;
  if (!get_bytes(env, argv[0], "challenge", TG_MAX_FIXED, &challenge, &len)) return NULL;
  double bits;
  if (!get_int(env, argv[1], "bits", 0, 256, &bits)) return NULL;
  napi_valuetype t;
  CHECK(napi_typeof(env, argv[2], &t));
  if (t != napi_bigint) return throw_arg(env, 0, "nonce", "expected a bigint");
  uint64_t nonce;
  bool lossless = false;
  CHECK(napi_get_value_bigint_uint64(env, argv[2], &nonce, &lossless));
  if (!lossless) return throw_arg(env, 1, "nonce", "expected an integer in [0, 2^64 - 1]");
  uint8_t msg[TG_MAX_FIXED + 8];
  memcpy(msg, challenge, len);
  for (int i = 0; i < 8; i++) msg[len + i] = (uint8_t)(nonce >> (56 - 8 * i));
  uint8_t digest[32];
  tg_sha256(tg_cpu_has_shani() ? TG_IMPL_SHANI : TG_IMPL_PORTABLE, msg, len + 8, digest);
  unsigned need = (unsigned)bits, have = 0;
  for (int i = 0; i < 32 && have < need; i++) {
    if (digest[i] == 0) {
      have += 8;
      continue;
    }
    for (uint8_t b = digest[i]; !(b & 0x80); b <<= 1) have++;
    break;
  }
  napi_value result;
  CHECK(napi_get_boolean(env, have >= need, &result));
  return result;
}

/* Tags the externals made by aeadNew, so that no other external can pass for one. */
static const napi_type_tag aead_tag = {0x746f6c6c67617465ULL, 0x6165616467636d31ULL};

static void aead_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  tg_aead_free((tg_aead *)data);
}

static napi_value js_aead_new(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return throw_arg(env, 0, "arguments", "expected 2");
  const uint8_t *key;
  size_t key_len;
  if (!get_bytes(env, argv[0], "key", 32, &key, &key_len)) return NULL;
  if (key_len != 32) return throw_arg(env, 1, "key", "expected 32 bytes");
  bool encrypt = false;
  if (napi_get_value_bool(env, argv[1], &encrypt) != napi_ok) {
    return throw_arg(env, 0, "encrypt", "expected a boolean");
  }
  napi_value result;
  tg_aead *a = tg_aead_new(key, encrypt ? 1 : 0);
  if (a == NULL) {
    CHECK(napi_get_null(env, &result));
    return result;
  }
  if (napi_create_external(env, a, aead_finalize, NULL, &result) != napi_ok) {
    tg_aead_free(a);
    napi_throw_error(env, NULL, "tollgate_native: napi_create_external failed");
    return NULL;
  }
  CHECK(napi_type_tag_object(env, result, &aead_tag));
  return result;
}

/* The context, iv, aad and buffer of aeadOpen/aeadSeal. Returns 0 after throwing. */
static int aead_args(napi_env env, napi_callback_info info, tg_aead **a, const uint8_t **iv,
                     const uint8_t **aad, size_t *aad_len, uint8_t **buf, size_t *buf_len) {
  size_t argc = 4;
  napi_value argv[4] = {NULL, NULL, NULL, NULL};
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4) {
    throw_arg(env, 0, "arguments", "expected 4");
    return 0;
  }
  napi_valuetype t;
  bool tagged = false;
  void *ptr = NULL;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external ||
      napi_check_object_type_tag(env, argv[0], &aead_tag, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, argv[0], &ptr) != napi_ok || ptr == NULL) {
    throw_arg(env, 0, "context", "expected a context from aeadNew");
    return 0;
  }
  *a = (tg_aead *)ptr;
  size_t iv_len;
  if (!get_bytes(env, argv[1], "iv", 12, iv, &iv_len)) return 0;
  if (iv_len != 12) {
    throw_arg(env, 1, "iv", "expected 12 bytes");
    return 0;
  }
  if (!get_bytes(env, argv[2], "aad", (size_t)1 << 30, aad, aad_len)) return 0;
  const uint8_t *b;
  if (!get_bytes(env, argv[3], "buf", (size_t)1 << 30, &b, buf_len)) return 0;
  if (*buf_len < 16) {
    throw_arg(env, 1, "buf", "expected at least 16 bytes (the tag)");
    return 0;
  }
  *buf = (uint8_t *)b;
  return 1;
}

static napi_value js_aead_open(napi_env env, napi_callback_info info) {
  tg_aead *a;
  const uint8_t *iv, *aad;
  uint8_t *buf;
  size_t aad_len, buf_len;
  if (!aead_args(env, info, &a, &iv, &aad, &aad_len, &buf, &buf_len)) return NULL;
  int r = tg_aead_open(a, iv, aad, aad_len, buf, buf_len - 16, buf + buf_len - 16, buf);
  if (r < 0) return throw_arg(env, 1, "context", "not a decrypting context, or the cipher failed");
  napi_value result;
  CHECK(napi_get_boolean(env, r == 1, &result));
  return result;
}

static napi_value js_aead_seal(napi_env env, napi_callback_info info) {
  tg_aead *a;
  const uint8_t *iv, *aad;
  uint8_t *buf;
  size_t aad_len, buf_len;
  if (!aead_args(env, info, &a, &iv, &aad, &aad_len, &buf, &buf_len)) return NULL;
  if (tg_aead_seal(a, iv, aad, aad_len, buf, buf_len - 16, buf, buf + buf_len - 16) < 0) {
    return throw_arg(env, 1, "context", "not an encrypting context, or the cipher failed");
  }
  return NULL;
}

static napi_value js_features(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value obj, shani;
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_get_boolean(env, tg_cpu_has_shani() != 0, &shani));
  CHECK(napi_set_named_property(env, obj, "shani", shani));
  napi_value aead;
  CHECK(napi_get_boolean(env, tg_aead_available() != 0, &aead));
  CHECK(napi_set_named_property(env, obj, "aead", aead));
  return obj;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value max_fixed, poll;
  CHECK(napi_create_uint32(env, TG_MAX_FIXED, &max_fixed));
  CHECK(napi_create_uint32(env, TG_POLL_INTERVAL, &poll));
  napi_property_descriptor props[] = {
      {"sha256", NULL, js_sha256, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sha1", NULL, js_sha1, NULL, NULL, NULL, napi_enumerable, NULL},
      {"searchSha256Bits", NULL, js_search_sha256_bits, NULL, NULL, NULL, napi_enumerable, NULL},
      {"searchHashcash", NULL, js_search_hashcash, NULL, NULL, NULL, napi_enumerable, NULL},
      {"checkSha256Bits", NULL, js_check_sha256_bits, NULL, NULL, NULL, napi_enumerable, NULL},
      {"aeadNew", NULL, js_aead_new, NULL, NULL, NULL, napi_enumerable, NULL},
      {"aeadOpen", NULL, js_aead_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"aeadSeal", NULL, js_aead_seal, NULL, NULL, NULL, napi_enumerable, NULL},
      {"features", NULL, js_features, NULL, NULL, NULL, napi_enumerable, NULL},
      {"maxFixedBytes", NULL, NULL, NULL, NULL, max_fixed, napi_enumerable, NULL},
      {"pollInterval", NULL, NULL, NULL, NULL, poll, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}
