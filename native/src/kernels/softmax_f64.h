/*
 * softmax_f64.h - log-softmax and softmax over any dimension of a
 * contiguous [outer, dim, inner] float64 tensor (element [o, c, j] at
 * o*dim*inner + c*inner + j), forward and backward, to within a few ulp of
 * the exact result:
 *
 *   forward   m = max_c x[c]
 *             s = sum_c exp(x[c] - m)              (compensated: Kahan)
 *             log-softmax y = (x - m) - log(s)
 *             softmax     y = exp(x - m) * (1 / s)
 *   backward  log-softmax S = sum_c gy[c]          (compensated)
 *                         gx = gy - exp(y) * S
 *             softmax     S = sum_c gy[c] * y[c]   (compensated)
 *                         gx = y * (gy - S)
 *
 * exp is exp_f64.h (< 1 ulp), log is log_f64.h (< 2 ulp). The sums carry
 * their rounding error in a compensation term, so a long column adds no
 * more than about 2 ulp of its total however many terms it has; every term
 * of the forward sum is in [0, 1] and one of them is 1, so log(s) is
 * within a few ulp of 1 absolute, and y within a few ulp of max(1, |y|).
 * The tests hold log-softmax to 8 ulp of max(1, |ref|) and softmax to 8
 * ulp of its value plus 8 ulp of max(ref) against a long double reference;
 * the backward to 8 ulp of (|gy| + p * sum|gy|)-sized terms (cancellation
 * in the sum is the caller's conditioning, not ours).
 *
 * Special values are those of the float32 kernels (softmax_dim_f32.h).
 *
 * kind S4J_KIND_LOGSUMEXP (logsumexp.c):
 *   forward   y has outer * inner elements: y[o, j] = m + log(s), both
 *             passes as above; NaN where the slice is not finite (the
 *             caller puts PyTorch's values there).
 *   backward  called as (kind, outer, dim, inner, gy, x, gx): gy has
 *             outer * inner elements and the second tensor is the saved
 *             INPUT x; gx = gy[o, j] * (exp(x - m) * (1 / s)), m and s
 *             recomputed from x. gx may be x.
 *
 * inner == 1 (the last dimension) runs a row path vectorised along the row;
 * other inner values vectorise along inner, one group of positions at a
 * time through all its passes (the group's rows stay in cache).
 *
 * Preconditions (checked in softmax_dim.c): sizes > 0, non-NULL pointers,
 * the tensor's bytes fit in size_t. Aliasing: y == x; gx == gy or gx == y.
 */
#ifndef S4J_KERNELS_SOFTMAX_F64_H
#define S4J_KERNELS_SOFTMAX_F64_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/log_softmax_f32.h" /* S4J_STREAM_MIN_BYTES */
#include "kernels/softmax_dim_f32.h" /* enum s4j_softmax_kind */

/*
 * The vector kernels' shared choices:
 *
 * Chains of the row and group loops: each sum (and max) is kept as four
 * independent Kahan pairs (maxima), one per vector (row) of four, joined at
 * the end, so that no vector waits for the previous one's add: a Kahan add
 * is four dependent operations (AVX-512, in cache, [16,4096] backward:
 * 0.76-0.81 x the time of one chain; the forward, bound by its exps, 0.99).
 */
#define S4J_F64_CHAINS 4

/* Rows up to this many doubles (256 KiB, in L2) keep each exp of the
 * softmax sum pass in y and scale it in place; longer rows compute it again
 * in the output pass rather than read it back from memory. */
#define S4J_F64_KEEP_EXP_MAX ((size_t) 32768)

/* Whether the row path writes its rows x cols output with non-temporal
 * stores: from S4J_STREAM_MIN_BYTES on, as the float32 row kernels, since
 * such an output does not stay in cache and streaming it saves the read
 * for ownership of every line. */
static inline int s4j_f64_stream(size_t rows, size_t cols, const double *out) {
  return rows * cols >= S4J_STREAM_MIN_BYTES / sizeof(double) && ((uintptr_t) out & 7u) == 0;
}

typedef void (*s4j_f64_softmax_fwd_ukernel_fn)(enum s4j_softmax_kind kind, size_t outer,
                                               size_t dim, size_t inner, const double *x,
                                               double *y);
typedef void (*s4j_f64_softmax_bwd_ukernel_fn)(enum s4j_softmax_kind kind, size_t outer,
                                               size_t dim, size_t inner, const double *gy,
                                               const double *y, double *gx);

/* scalar: groups of 8 positions, Neumaier sums. */
void s4j_f64_softmax_fwd_ukernel__scalar(enum s4j_softmax_kind kind, size_t outer, size_t dim,
                                         size_t inner, const double *x, double *y);
void s4j_f64_softmax_bwd_ukernel__scalar(enum s4j_softmax_kind kind, size_t outer, size_t dim,
                                         size_t inner, const double *gy, const double *y,
                                         double *gx);

/* avx2: 4 doubles per vector (vmaskmovpd tails), Kahan sums per lane. */
void s4j_f64_softmax_fwd_ukernel__avx2(enum s4j_softmax_kind kind, size_t outer, size_t dim,
                                       size_t inner, const double *x, double *y);
void s4j_f64_softmax_bwd_ukernel__avx2(enum s4j_softmax_kind kind, size_t outer, size_t dim,
                                       size_t inner, const double *gy, const double *y,
                                       double *gx);

/* avx512: 8 doubles per vector (opmask tails), Kahan sums per lane. */
void s4j_f64_softmax_fwd_ukernel__avx512(enum s4j_softmax_kind kind, size_t outer, size_t dim,
                                         size_t inner, const double *x, double *y);
void s4j_f64_softmax_bwd_ukernel__avx512(enum s4j_softmax_kind kind, size_t outer, size_t dim,
                                         size_t inner, const double *gy, const double *y,
                                         double *gx);

/* The kernels each registry variant runs, by its name. */
#define S4J_F64_ISA_avx512 avx512
#define S4J_F64_ISA_avx2 avx2
#define S4J_F64_ISA_scalar scalar
#define S4J_F64_PASTE_(a, b) a##b
#define S4J_F64_PASTE(a, b) S4J_F64_PASTE_(a, b)
#define S4J_F64_FORWARD(name) S4J_F64_PASTE(s4j_f64_softmax_fwd_ukernel__, S4J_F64_ISA_##name)
#define S4J_F64_BACKWARD(name) S4J_F64_PASTE(s4j_f64_softmax_bwd_ukernel__, S4J_F64_ISA_##name)

#endif /* S4J_KERNELS_SOFTMAX_F64_H */
