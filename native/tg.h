/*
 * tollgate native solver: shared declarations.
 *
 * Layout of a search (DESIGN "Speed rules"): the fixed part of the message (challenge or
 * hashcash prefix) is compressed once, block by block, up to its last full 64-byte block
 * (the midstate). The rest of the message (the tail of the fixed part, the variable field
 * and the SHA padding) sits in one or two final blocks held in `tg_tail.buf`; each attempt
 * rewrites only the bytes of the variable field that changed and compresses the final
 * block(s) from the midstate.
 */
#ifndef TG_H
#define TG_H

#include <stddef.h>
#include <stdint.h>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define TG_X86_SHANI 1
#else
#define TG_X86_SHANI 0
#endif

/* Compiler specifics: GCC and Clang; MSVC gets the portable code only. */
#if defined(_MSC_VER) && !defined(__clang__)
#include <stdlib.h>
#define TG_INLINE static __forceinline
#define tg_bswap64(x) _byteswap_uint64(x)
/* a plain volatile read: the flag is only ever read here, and x86/ARM loads of an aligned int are atomic */
#define tg_load_flag(p) (*(const volatile int32_t *)(p))
#else
#define TG_INLINE static inline __attribute__((always_inline))
#define tg_bswap64(x) __builtin_bswap64(x)
#define tg_load_flag(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#endif

/* Longest challenge / hashcash prefix the search functions accept. */
#define TG_MAX_FIXED 4096
/* Attempts between two polls of the stop flag. */
#define TG_POLL_INTERVAL 65536u

typedef enum { TG_IMPL_PORTABLE = 0, TG_IMPL_SHANI = 1 } tg_impl;

typedef struct {
  int found;
  uint64_t nonce;    /* the winning nonce, or the first one not tried */
  uint64_t attempts; /* final-block sets compressed in this call */
} tg_result;

/* 1 when the CPU has the SHA extensions plus the SSSE3/SSE4.1 the code around them uses. */
int tg_cpu_has_shani(void);

/* One-shot hashes of a whole buffer (tests and cross-checks). */
void tg_sha256(tg_impl impl, const uint8_t *data, size_t len, uint8_t out[32]);
void tg_sha1(tg_impl impl, const uint8_t *data, size_t len, uint8_t out[20]);

/*
 * SHA-256(challenge || u64be(nonce)) with at least `bits` leading zero bits, for nonces
 * start, start+1, ... (count of them). `stop` may be NULL; a non-zero value read at a poll
 * ends the search with found = 0. The caller guarantees start + count <= 2^64.
 */
tg_result tg_search_sha256_bits(tg_impl impl, const uint8_t *challenge, size_t len, unsigned bits,
                                uint64_t start, uint64_t count, const int32_t *stop);

/*
 * SHA-1(prefix || base64(decimal(counter))) with at least `hex_zeros` leading zero hex
 * digits (powtcp hashcash: standard base64 with padding, e.g. "MA==" for 0).
 */
tg_result tg_search_hashcash(tg_impl impl, const uint8_t *prefix, size_t len, unsigned hex_zeros,
                             uint64_t start, uint64_t count, const int32_t *stop);

/*
 * AES-256-GCM with one OpenSSL context per key and direction (aead.c), on the OpenSSL of the
 * running Node, looked up at run time. tg_aead_available() is 0 where it is missing.
 */
typedef struct tg_aead tg_aead;
int tg_aead_available(void);
tg_aead *tg_aead_new(const uint8_t key[32], int encrypt);
void tg_aead_free(tg_aead *a);
/* 1 authentic (plaintext written to out, which may equal ct), 0 not authentic, -1 failure. */
int tg_aead_open(tg_aead *a, const uint8_t *iv, const uint8_t *aad, size_t aad_len, const uint8_t *ct,
                 size_t ct_len, const uint8_t *tag, uint8_t *out);
/* 1 sealed (ciphertext written to out, which may equal pt; tag to tag), -1 failure. */
int tg_aead_seal(tg_aead *a, const uint8_t *iv, const uint8_t *aad, size_t aad_len, const uint8_t *pt,
                 size_t pt_len, uint8_t *out, uint8_t *tag);

#endif
