/*
 * dispatch.c - detect the CPU once, pick a kernel variant from the registry
 * (or the one SOFTMAX4J_ISA forces), and cache the choice.
 */
#include "dispatch.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/registry.h"
#include "softmax4j.h"

#if defined(__x86_64__) || defined(__i386__)
#  include <cpuid.h>
#  define S4J_HAVE_CPUID 1
#else
#  define S4J_HAVE_CPUID 0
#endif

struct s4j_variant {
  const char *name;
  uint32_t required;
  s4j_f32_log_softmax_fwd_ukernel_fn forward;
  s4j_f32_log_softmax_bwd_ukernel_fn backward;
};

static const struct s4j_variant s4j_variants[] = {
#define S4J_VARIANT_ENTRY(name, required, fwd, bwd, vexp) {#name, required, fwd, bwd},
    S4J_VARIANTS(S4J_VARIANT_ENTRY)
#undef S4J_VARIANT_ENTRY
};
#define S4J_VARIANT_COUNT (sizeof s4j_variants / sizeof s4j_variants[0])

static pthread_once_t s4j_dispatch_once = PTHREAD_ONCE_INIT;
/* Set (release) once the table is filled: every later call reads it with
 * one acquire load instead of a call into pthread_once (a tiny row's call
 * is ~20 ns, of which that call was ~1). */
static int s4j_dispatch_ready;
static struct s4j_dispatch s4j_dispatch_table;
static char s4j_cpu_features_buffer[128];

#if S4J_HAVE_CPUID
static uint64_t s4j_xgetbv0(void) {
  uint32_t lo, hi;
  /* Only called when CPUID says OSXSAVE, so XGETBV is available. */
  __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0u));
  return ((uint64_t) hi << 32) | lo;
}
#endif

static uint32_t s4j_detect_cpu_features(void) {
  uint32_t features = 0;
#if S4J_HAVE_CPUID
  unsigned int eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
  const int osxsave = (ecx >> 27) & 1;
  if (!osxsave) return 0;  /* the OS does not save any AVX state */

  const uint64_t xcr0 = s4j_xgetbv0();
  const int ymm_usable = (xcr0 & 0x6) == 0x6;    /* XMM | YMM_Hi128 */
  const int zmm_usable = (xcr0 & 0xe6) == 0xe6;  /* + opmask | ZMM_Hi256 | Hi16_ZMM */
  if (!ymm_usable || !((ecx >> 28) & 1)) return 0;

  features |= S4J_CPU_AVX;
  if ((ecx >> 12) & 1) features |= S4J_CPU_FMA;
  if ((ecx >> 29) & 1) features |= S4J_CPU_F16C;

  if (__get_cpuid_max(0, NULL) >= 7) {
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    if ((ebx >> 5) & 1) features |= S4J_CPU_AVX2;
    if (zmm_usable) {
      if ((ebx >> 16) & 1) features |= S4J_CPU_AVX512F;
      if ((ebx >> 17) & 1) features |= S4J_CPU_AVX512DQ;
      if ((ebx >> 30) & 1) features |= S4J_CPU_AVX512BW;
      if ((ebx >> 31) & 1) features |= S4J_CPU_AVX512VL;
    }
  }
#endif
  return features;
}

static void s4j_format_cpu_features(uint32_t features, char *out, size_t size) {
  static const struct {
    uint32_t bit;
    const char *name;
  } names[] = {
      {S4J_CPU_AVX, "avx"},           {S4J_CPU_AVX2, "avx2"},
      {S4J_CPU_FMA, "fma"},           {S4J_CPU_F16C, "f16c"},
      {S4J_CPU_AVX512F, "avx512f"},   {S4J_CPU_AVX512DQ, "avx512dq"},
      {S4J_CPU_AVX512BW, "avx512bw"}, {S4J_CPU_AVX512VL, "avx512vl"},
  };
  size_t used = 0;
  out[0] = '\0';
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (!(features & names[i].bit)) continue;
    const size_t len = strlen(names[i].name);
    if (used + len + 2 > size) break;
    if (used > 0) out[used++] = ' ';
    memcpy(out + used, names[i].name, len + 1);
    used += len;
  }
}

static const struct s4j_variant *s4j_find_variant(const char *name) {
  for (size_t i = 0; i < S4J_VARIANT_COUNT; i++) {
    if (strcmp(s4j_variants[i].name, name) == 0) return &s4j_variants[i];
  }
  return NULL;
}

static int s4j_variant_runs(const struct s4j_variant *v, uint32_t features) {
  return (features & v->required) == v->required;
}

static void s4j_dispatch_init(void) {
  struct s4j_dispatch *d = &s4j_dispatch_table;
  d->cpu_features = s4j_detect_cpu_features();
  s4j_format_cpu_features(d->cpu_features, s4j_cpu_features_buffer,
                          sizeof s4j_cpu_features_buffer);
  d->cpu_features_text = s4j_cpu_features_buffer;

  const struct s4j_variant *chosen = NULL;
  const char *forced = getenv("SOFTMAX4J_ISA");
  if (forced != NULL && forced[0] != '\0' && strcmp(forced, "auto") != 0) {
    const struct s4j_variant *v = s4j_find_variant(forced);
    if (v != NULL && s4j_variant_runs(v, d->cpu_features)) chosen = v;
  } else {
    /* The registry lists the preferred variants first; scalar always runs. */
    for (size_t i = 0; i < S4J_VARIANT_COUNT && chosen == NULL; i++) {
      if (s4j_variant_runs(&s4j_variants[i], d->cpu_features)) chosen = &s4j_variants[i];
    }
  }

  if (chosen != NULL) {
    d->isa = chosen->name;
    d->status = S4J_OK;
    d->variant = (int) (chosen - s4j_variants);
    d->forward = chosen->forward;
    d->backward = chosen->backward;
  } else {
    d->isa = "none";
    d->status = S4J_ERR_UNSUPPORTED_ISA;
    d->variant = -1;
    d->forward = NULL;
    d->backward = NULL;
  }
}

static void s4j_dispatch_init_once(void) {
  s4j_dispatch_init();
  __atomic_store_n(&s4j_dispatch_ready, 1, __ATOMIC_RELEASE);
}

const struct s4j_dispatch *s4j_dispatch_get(void) {
  if (__builtin_expect(!__atomic_load_n(&s4j_dispatch_ready, __ATOMIC_ACQUIRE), 0)) {
    (void) pthread_once(&s4j_dispatch_once, s4j_dispatch_init_once);
  }
  return &s4j_dispatch_table;
}

int s4j_dispatch_supports(const char *isa) {
  if (isa == NULL) return 0;
  const struct s4j_variant *v = s4j_find_variant(isa);
  return v != NULL && s4j_variant_runs(v, s4j_dispatch_get()->cpu_features);
}
