/*
 * softmax_x16.h - log-softmax and softmax over any dimension of a
 * contiguous [outer, dim, inner] tensor of 16-bit floats, bfloat16 or
 * float16 (math/half.h), forward and backward.
 *
 * Storage only: each element is loaded to float (exact), everything is
 * computed as the float32 kernels do (softmax_dim_f32.h: float exp rr2_p6,
 * sums of exponentials in double; gradient sums in double; the log in
 * double; the AVX-512 rows of 16 elements or more as the float32 row
 * kernels: the log-softmax sum with the sum-only exp rr1_p5, sums in float
 * blocks of 1024 elements carried in double, rows of at most 128 in
 * registers with a float sum tree and the float log, and the log-softmax
 * gradient gy - exp(y) * sum with one rounding), and
 * each output is rounded once, to nearest even, on store. So the result is
 * the float32 result of the widened inputs, rounded: within one ulp of the
 * 16-bit format of the exact value, and equal to its correct rounding
 * except where the exact value lies within a float32 error (~2e-6
 * relative) of a halfway point. A 16-bit accumulator would not do: a row of
 * 512 equal bfloat16 logits gives exactly log(1/512) here.
 *
 * Special values as for float32; NaN stores as NaN.
 *
 * kind S4J_KIND_LOGSUMEXP (logsumexp.c):
 *   forward   y has outer * inner elements: y[o, j] = m + log(s) in double,
 *             rounded once to the format (s4j_f64_to_half); NaN where the
 *             slice is not finite (the caller puts PyTorch's values there).
 *   backward  called as (kind, outer, dim, inner, gy, x, gx): gy has
 *             outer * inner elements and the second tensor is the saved
 *             INPUT x; gx = gy[o, j] * (exp(x - m) * (float) (1 / s)) in
 *             float, rounded once (the softmax is not rounded to 16 bits
 *             first). gx may be x.
 *
 * Preconditions as in softmax_dim_f32.h, the elements 2 bytes each.
 * Aliasing: y == x; gx == gy or gx == y.
 */
#ifndef S4J_KERNELS_SOFTMAX_X16_H
#define S4J_KERNELS_SOFTMAX_X16_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/softmax_dim_f32.h" /* enum s4j_softmax_kind */
#include "math/half.h"               /* enum s4j_half_format */

typedef void (*s4j_x16_softmax_fwd_ukernel_fn)(enum s4j_half_format fmt,
                                               enum s4j_softmax_kind kind, size_t outer,
                                               size_t dim, size_t inner, const uint16_t *x,
                                               uint16_t *y);
typedef void (*s4j_x16_softmax_bwd_ukernel_fn)(enum s4j_half_format fmt,
                                               enum s4j_softmax_kind kind, size_t outer,
                                               size_t dim, size_t inner, const uint16_t *gy,
                                               const uint16_t *y, uint16_t *gx);

/* scalar: groups of 16 positions, exact conversions of half.h. */
void s4j_x16_softmax_fwd_ukernel__scalar(enum s4j_half_format fmt, enum s4j_softmax_kind kind,
                                         size_t outer, size_t dim, size_t inner,
                                         const uint16_t *x, uint16_t *y);
void s4j_x16_softmax_bwd_ukernel__scalar(enum s4j_half_format fmt, enum s4j_softmax_kind kind,
                                         size_t outer, size_t dim, size_t inner,
                                         const uint16_t *gy, const uint16_t *y, uint16_t *gx);

/* avx2: bfloat16 8 elements per vector, widened by a shift, narrowed by
 * half.h's integer rounding; float16 runs the scalar kernels (F16C is not
 * among the avx2 variant's requirements). */
void s4j_x16_softmax_fwd_ukernel__avx2(enum s4j_half_format fmt, enum s4j_softmax_kind kind,
                                       size_t outer, size_t dim, size_t inner, const uint16_t *x,
                                       uint16_t *y);
void s4j_x16_softmax_bwd_ukernel__avx2(enum s4j_half_format fmt, enum s4j_softmax_kind kind,
                                       size_t outer, size_t dim, size_t inner, const uint16_t *gy,
                                       const uint16_t *y, uint16_t *gx);

/* avx512: 16 elements per vector; bfloat16 widened by a shift and narrowed
 * by the integer round-to-nearest-even of half.h, float16 by vcvtph2ps and
 * vcvtps2ph (AVX-512F). */
void s4j_x16_softmax_fwd_ukernel__avx512(enum s4j_half_format fmt, enum s4j_softmax_kind kind,
                                         size_t outer, size_t dim, size_t inner,
                                         const uint16_t *x, uint16_t *y);
void s4j_x16_softmax_bwd_ukernel__avx512(enum s4j_half_format fmt, enum s4j_softmax_kind kind,
                                         size_t outer, size_t dim, size_t inner,
                                         const uint16_t *gy, const uint16_t *y, uint16_t *gx);

/* The kernels each registry variant runs, by its name. */
#define S4J_X16_ISA_avx512 avx512
#define S4J_X16_ISA_avx2 avx2
#define S4J_X16_ISA_scalar scalar
#define S4J_X16_PASTE_(a, b) a##b
#define S4J_X16_PASTE(a, b) S4J_X16_PASTE_(a, b)
#define S4J_X16_FORWARD(name) S4J_X16_PASTE(s4j_x16_softmax_fwd_ukernel__, S4J_X16_ISA_##name)
#define S4J_X16_BACKWARD(name) S4J_X16_PASTE(s4j_x16_softmax_bwd_ukernel__, S4J_X16_ISA_##name)

#endif /* S4J_KERNELS_SOFTMAX_X16_H */
