/*
 * dispatch.h - CPU feature detection and the choice of kernel variant, made
 * once per process and cached.
 */
#ifndef S4J_DISPATCH_H
#define S4J_DISPATCH_H

#include <stdint.h>

#include "kernels/log_softmax_f32.h"

/* CPU features, each set only when usable: the CPU has it and the OS saves
 * the registers it needs (XCR0: ymm state for AVX*, opmask + zmm state for
 * AVX-512). */
enum {
  S4J_CPU_AVX = 1u << 0,
  S4J_CPU_AVX2 = 1u << 1,
  S4J_CPU_FMA = 1u << 2,
  S4J_CPU_F16C = 1u << 3,
  S4J_CPU_AVX512F = 1u << 4,
  S4J_CPU_AVX512DQ = 1u << 5,
  S4J_CPU_AVX512BW = 1u << 6,
  S4J_CPU_AVX512VL = 1u << 7,
};

/* The dispatch table: what the public entry points call. */
struct s4j_dispatch {
  const char *isa;  /* variant name, or "none" when status != S4J_OK */
  int status;       /* S4J_OK or S4J_ERR_UNSUPPORTED_ISA */
  int variant;      /* the variant's position in S4J_VARIANTS, -1 when none:
                       an op with its own table expands the same list */
  s4j_f32_log_softmax_fwd_ukernel_fn forward;   /* NULL when status != S4J_OK */
  s4j_f32_log_softmax_bwd_ukernel_fn backward;
  uint32_t cpu_features;                        /* S4J_CPU_* bits */
  const char *cpu_features_text;                /* space-separated names */
};

/* The table, filled on the first call (thread-safe), then constant. */
const struct s4j_dispatch *s4j_dispatch_get(void);

/* Whether the named variant is compiled in and can run on this CPU/OS. */
int s4j_dispatch_supports(const char *isa);

#endif /* S4J_DISPATCH_H */
