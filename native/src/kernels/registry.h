/*
 * registry.h - the one list of kernel variants. Dispatch, the exported
 * per-variant functions, the C tests and the benchmark all expand it, so a
 * new variant is wired, tested and benchmarked by adding one line here.
 *
 *   X(name, required CPU features, forward ukernel, backward ukernel, exp)
 *
 * `name` is what SOFTMAX4J_ISA and s4j_isa() use. Variants are listed from
 * most to least preferred: dispatch picks the first one the CPU supports.
 * The x86 variants exist only when CMake compiled their files
 * (S4J_HAVE_X86_VARIANTS); scalar is always there.
 */
#ifndef S4J_KERNELS_REGISTRY_H
#define S4J_KERNELS_REGISTRY_H

#include "dispatch.h"
#include "kernels/cross_entropy_f32.h"
#include "kernels/log_softmax_f32.h"
#include "math/exp_f32.h"

#if defined(S4J_HAVE_X86_VARIANTS) && S4J_HAVE_X86_VARIANTS
#define S4J_X86_VARIANTS(X)                                                   \
  X(avx512, S4J_CPU_AVX512F | S4J_CPU_AVX512DQ | S4J_CPU_AVX2 | S4J_CPU_FMA,   \
    s4j_f32_log_softmax_fwd_ukernel__avx512f_rr2_p6_u64_acc4,                   \
    s4j_f32_log_softmax_bwd_ukernel__avx512f_rr2_p6_u64_acc4,                   \
    s4j_math_f32_exp__avx512f_rr2_p6)                                           \
  X(avx2, S4J_CPU_AVX | S4J_CPU_AVX2 | S4J_CPU_FMA,                             \
    s4j_f32_log_softmax_fwd_ukernel__avx2_rr2_p6_u32_acc4,                      \
    s4j_f32_log_softmax_bwd_ukernel__avx2_rr2_p6_u32_acc4,                      \
    s4j_math_f32_exp__avx2_rr2_p6)
#else
#define S4J_X86_VARIANTS(X)
#endif

#define S4J_VARIANTS(X)                                                       \
  S4J_X86_VARIANTS(X)                                                         \
  X(scalar, 0u,                                                               \
    s4j_f32_log_softmax_fwd_ukernel__scalar_rr2_p6_u4_acc4,                     \
    s4j_f32_log_softmax_bwd_ukernel__scalar_rr2_p6_u4_acc4,                     \
    s4j_math_f32_exp__scalar_rr2_p6)

/*
 * The cross-entropy kernels of each variant, by the same names:
 *
 *   X(name, stats ukernel, grad ukernel)
 *
 * The loss entry points use the row of the variant dispatch chose (or the
 * one named), so both lists must name the same variants.
 */
#if defined(S4J_HAVE_X86_VARIANTS) && S4J_HAVE_X86_VARIANTS
#define S4J_X86_XENT_VARIANTS(X)                                              \
  X(avx512, s4j_f32_xent_stats_ukernel__avx512f_rr2_p6_u64_acc4,                \
    s4j_f32_xent_grad_ukernel__avx512f_rr2_p6_u16)                              \
  X(avx2, s4j_f32_xent_stats_ukernel__avx2_rr2_p6_u32_acc4,                     \
    s4j_f32_xent_grad_ukernel__avx2_rr2_p6_u8)
#else
#define S4J_X86_XENT_VARIANTS(X)
#endif

#define S4J_XENT_VARIANTS(X)                                                  \
  S4J_X86_XENT_VARIANTS(X)                                                    \
  X(scalar, s4j_f32_xent_stats_ukernel__scalar_rr2_p6,                          \
    s4j_f32_xent_grad_ukernel__scalar_rr2_p6)

#endif /* S4J_KERNELS_REGISTRY_H */
