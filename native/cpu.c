/* Run-time detection of the x86 SHA extensions (CPUID), so one binary runs everywhere. */
#include "tg.h"

#if TG_X86_SHANI
#include <cpuid.h>
#include <stdatomic.h>

static int detect(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  /* leaf 1, ECX: bit 9 SSSE3, bit 19 SSE4.1 (pshufb, pinsr/pextr, pblendw around the SHA code) */
  if (!(c & (1u << 9)) || !(c & (1u << 19))) return 0;
  if (__get_cpuid_max(0, 0) < 7) return 0;
  __cpuid_count(7, 0, a, b, c, d);
  /* leaf 7 subleaf 0, EBX bit 29: SHA */
  return (b >> 29) & 1;
}

/* Cached: CPUID exits to the hypervisor on virtual machines, microseconds per call. */
static atomic_int cached = -1;

int tg_cpu_has_shani(void) {
  int v = atomic_load_explicit(&cached, memory_order_relaxed);
  if (v < 0) {
    v = detect();
    atomic_store_explicit(&cached, v, memory_order_relaxed);
  }
  return v;
}
#else
int tg_cpu_has_shani(void) { return 0; }
#endif
