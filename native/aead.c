/*
 * AES-256-GCM with a context kept per key, on the OpenSSL that the running Node carries.
 *
 * Why: node:crypto builds (and tears down) a cipher context for every createCipheriv /
 * createDecipheriv, which is most of the cost of opening a 100-byte sealed challenge (issue
 * 12: open alone ran at 162,000/s while the AES and GHASH work is a few hundred ns). Here the
 * key schedule is done once per key and each call only sets the IV.
 *
 * The functions are looked up at run time in the process (dlsym(RTLD_DEFAULT)), not linked:
 * a Node built without exported OpenSSL symbols (or with BoringSSL) still loads the addon,
 * `tg_aead_available()` is 0, and the TypeScript path is used. Only the few EVP entry points
 * below are used, declared here with opaque pointers, so no OpenSSL header is needed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tg.h"

#if defined(_WIN32)
int tg_aead_available(void) { return 0; }
tg_aead *tg_aead_new(const uint8_t key[32], int encrypt) {
  (void)key;
  (void)encrypt;
  return NULL;
}
void tg_aead_free(tg_aead *a) { (void)a; }
int tg_aead_open(tg_aead *a, const uint8_t *iv, const uint8_t *aad, size_t aad_len, const uint8_t *ct,
                 size_t ct_len, const uint8_t *tag, uint8_t *out) {
  (void)a, (void)iv, (void)aad, (void)aad_len, (void)ct, (void)ct_len, (void)tag, (void)out;
  return -1;
}
int tg_aead_seal(tg_aead *a, const uint8_t *iv, const uint8_t *aad, size_t aad_len, const uint8_t *pt,
                 size_t pt_len, uint8_t *out, uint8_t *tag) {
  (void)a, (void)iv, (void)aad, (void)aad_len, (void)pt, (void)pt_len, (void)out, (void)tag;
  return -1;
}
#else
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdatomic.h>

typedef void EVP_CIPHER_CTX;
typedef void EVP_CIPHER;
typedef void ENGINE;

/* From OpenSSL's evp.h (stable since 1.1.0). */
#define TG_EVP_CTRL_GCM_GET_TAG 0x10
#define TG_EVP_CTRL_GCM_SET_TAG 0x11

static struct {
  EVP_CIPHER_CTX *(*ctx_new)(void);
  void (*ctx_free)(EVP_CIPHER_CTX *);
  const EVP_CIPHER *(*aes_256_gcm)(void);
  int (*cipher_init)(EVP_CIPHER_CTX *, const EVP_CIPHER *, ENGINE *, const unsigned char *,
                     const unsigned char *, int);
  int (*cipher_update)(EVP_CIPHER_CTX *, unsigned char *, int *, const unsigned char *, int);
  int (*cipher_final)(EVP_CIPHER_CTX *, unsigned char *, int *);
  int (*ctrl)(EVP_CIPHER_CTX *, int, int, void *);
} evp;

/* 0 not looked up yet, 1 available, -1 not available. */
static atomic_int evp_state;

static int evp_resolve(void) {
  int s = atomic_load(&evp_state);
  if (s != 0) return s > 0;
  /* EVP_CipherInit_ex / EVP_CipherUpdate / EVP_CipherFinal_ex serve both directions (enc flag). */
  void *p[7] = {
      dlsym(RTLD_DEFAULT, "EVP_CIPHER_CTX_new"),  dlsym(RTLD_DEFAULT, "EVP_CIPHER_CTX_free"),
      dlsym(RTLD_DEFAULT, "EVP_aes_256_gcm"),     dlsym(RTLD_DEFAULT, "EVP_CipherInit_ex"),
      dlsym(RTLD_DEFAULT, "EVP_CipherUpdate"),    dlsym(RTLD_DEFAULT, "EVP_CipherFinal_ex"),
      dlsym(RTLD_DEFAULT, "EVP_CIPHER_CTX_ctrl"),
  };
  int ok = 1;
  for (int i = 0; i < 7; i++) ok &= p[i] != NULL;
  if (ok) {
    *(void **)&evp.ctx_new = p[0];
    *(void **)&evp.ctx_free = p[1];
    *(void **)&evp.aes_256_gcm = p[2];
    *(void **)&evp.cipher_init = p[3];
    *(void **)&evp.cipher_update = p[4];
    *(void **)&evp.cipher_final = p[5];
    *(void **)&evp.ctrl = p[6];
  }
  atomic_store(&evp_state, ok ? 1 : -1);
  return ok;
}

struct tg_aead {
  EVP_CIPHER_CTX *ctx;
  int encrypt;
};

int tg_aead_available(void) { return evp_resolve(); }

tg_aead *tg_aead_new(const uint8_t key[32], int encrypt) {
  if (!evp_resolve()) return NULL;
  EVP_CIPHER_CTX *ctx = evp.ctx_new();
  if (ctx == NULL) return NULL;
  /* The key schedule (and GHASH key) are computed here, once; calls set only the IV. */
  if (evp.cipher_init(ctx, evp.aes_256_gcm(), NULL, key, NULL, encrypt ? 1 : 0) != 1) {
    evp.ctx_free(ctx);
    return NULL;
  }
  tg_aead *a = (tg_aead *)calloc(1, sizeof *a);
  if (a == NULL) {
    evp.ctx_free(ctx);
    return NULL;
  }
  a->ctx = ctx;
  a->encrypt = encrypt ? 1 : 0;
  return a;
}

void tg_aead_free(tg_aead *a) {
  if (a == NULL) return;
  evp.ctx_free(a->ctx);
  free(a);
}

/* 1 authentic (plaintext in out), 0 forged or corrupt, -1 wrong direction or internal failure. */
int tg_aead_open(tg_aead *a, const uint8_t *iv, const uint8_t *aad, size_t aad_len, const uint8_t *ct,
                 size_t ct_len, const uint8_t *tag, uint8_t *out) {
  if (a == NULL || a->encrypt || aad_len > INT32_MAX || ct_len > INT32_MAX) return -1;
  int n = 0;
  if (evp.cipher_init(a->ctx, NULL, NULL, NULL, iv, 0) != 1) return -1;
  if (aad_len > 0 && evp.cipher_update(a->ctx, NULL, &n, aad, (int)aad_len) != 1) return -1;
  if (ct_len > 0 && evp.cipher_update(a->ctx, out, &n, ct, (int)ct_len) != 1) return -1;
  if (evp.ctrl(a->ctx, TG_EVP_CTRL_GCM_SET_TAG, 16, (void *)tag) != 1) return -1;
  uint8_t end[16];
  return evp.cipher_final(a->ctx, end, &n) == 1 ? 1 : 0;
}

/* 1 sealed (ciphertext in out, tag in tag), -1 wrong direction or internal failure. */
int tg_aead_seal(tg_aead *a, const uint8_t *iv, const uint8_t *aad, size_t aad_len, const uint8_t *pt,
                 size_t pt_len, uint8_t *out, uint8_t *tag) {
  if (a == NULL || !a->encrypt || aad_len > INT32_MAX || pt_len > INT32_MAX) return -1;
  int n = 0;
  if (evp.cipher_init(a->ctx, NULL, NULL, NULL, iv, 1) != 1) return -1;
  if (aad_len > 0 && evp.cipher_update(a->ctx, NULL, &n, aad, (int)aad_len) != 1) return -1;
  if (pt_len > 0 && evp.cipher_update(a->ctx, out, &n, pt, (int)pt_len) != 1) return -1;
  uint8_t end[16];
  if (evp.cipher_final(a->ctx, end, &n) != 1) return -1;
  return evp.ctrl(a->ctx, TG_EVP_CTRL_GCM_GET_TAG, 16, tag) == 1 ? 1 : -1;
}
#endif
