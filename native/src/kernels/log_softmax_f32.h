/*
 * log_softmax_f32.h - the log-softmax microkernels, one pair per ISA file.
 *
 * A ukernel works on `rows` contiguous rows of `cols` floats (row stride =
 * cols). Preconditions, checked by the callers in softmax4j.c:
 * rows > 0, cols > 0, non-NULL pointers, rows * cols * 4 fits in size_t.
 * Allowed aliasing: y == x (forward); gx == gy or gx == y (backward).
 *
 * Forward, per row, 3 passes: m = max(x); s = sum(exp(x - m)) with float
 * lanes summed over blocks and the block totals carried in double;
 * y = (x - m) - (float) log(s), in that order.
 * Backward, per row, 2 passes: s = sum(gy), accumulated in double (the
 * gradients may cancel, so float blocks are not enough there);
 * gx = gy - exp(y) * s.
 *
 * Special values come out of the arithmetic, with no extra test in the hot
 * loops: a NaN or +inf anywhere makes exp(x - m) NaN for some element, so s,
 * log(s) and the whole row become NaN; a row of -inf has m = -inf and
 * x - m = NaN; a -inf element among finite ones gives exp = +0 and y = -inf.
 *
 * Name grammar (as in XNNPACK): s4j_<dtype>_<op>_<pass>_ukernel__<isa>_
 * <exp algorithm>_u<elements per main-loop iteration>_acc<accumulators>.
 */
#ifndef S4J_KERNELS_LOG_SOFTMAX_F32_H
#define S4J_KERNELS_LOG_SOFTMAX_F32_H

#include <stddef.h>

typedef void (*s4j_f32_log_softmax_fwd_ukernel_fn)(size_t rows, size_t cols,
                                                   const float *x, float *y);
typedef void (*s4j_f32_log_softmax_bwd_ukernel_fn)(size_t rows, size_t cols,
                                                   const float *gy, const float *y,
                                                   float *gx);

void s4j_f32_log_softmax_fwd_ukernel__scalar_rr2_p6_u4_acc4(
    size_t rows, size_t cols, const float *x, float *y);
void s4j_f32_log_softmax_bwd_ukernel__scalar_rr2_p6_u4_acc4(
    size_t rows, size_t cols, const float *gy, const float *y, float *gx);

void s4j_f32_log_softmax_fwd_ukernel__avx2_rr2_p6_u32_acc4(
    size_t rows, size_t cols, const float *x, float *y);
void s4j_f32_log_softmax_bwd_ukernel__avx2_rr2_p6_u32_acc4(
    size_t rows, size_t cols, const float *gy, const float *y, float *gx);

void s4j_f32_log_softmax_fwd_ukernel__avx512f_rr2_p6_u64_acc4(
    size_t rows, size_t cols, const float *x, float *y);
void s4j_f32_log_softmax_bwd_ukernel__avx512f_rr2_p6_u64_acc4(
    size_t rows, size_t cols, const float *gy, const float *y, float *gx);

#endif /* S4J_KERNELS_LOG_SOFTMAX_F32_H */
