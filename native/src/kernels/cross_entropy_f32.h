/*
 * cross_entropy_f32.h - the per-position microkernels of the fused
 * cross-entropy: one pair per ISA file, for a position whose classes are
 * contiguous (inner == 1), plus the portable strided pair (scalar file) for
 * inner > 1. The loops over positions, the targets, weights and the loss
 * arithmetic live in cross_entropy.c; these do the O(classes) work.
 *
 * stats: m = max(x) and log_sum = log(sum_c exp(x_c - m)), the sum carried
 *   in double (float lanes summed over blocks, block totals added in
 *   double), so the loss (m - x_t) + log_sum keeps its accuracy when the
 *   classes are many. Special values as in log_softmax_f32.h: +inf or NaN
 *   anywhere, or all -inf, give a NaN log_sum.
 * grad: gx_c = alpha * p_c - w_c * (beta * t_c + gamma), with
 *   p_c = exp((x_c - m) - log_sum) in that order (as the log-softmax
 *   kernels round it), w_c = 1 when w is NULL and the t term absent when t
 *   is NULL. One form covers both target kinds: class-index targets pass
 *   t = NULL and fix the target class afterwards; probability targets pass
 *   their row of t.
 *
 * Preconditions (checked by cross_entropy.c): classes > 0, non-NULL x, gx.
 */
#ifndef S4J_KERNELS_CROSS_ENTROPY_F32_H
#define S4J_KERNELS_CROSS_ENTROPY_F32_H

#include <stddef.h>

/*
 * The stats' exp pass, which reads a row already in cache and leaves memory
 * idle, asks for the lines this many floats ahead: the next row's (the
 * positions of a contiguous [n, classes] batch follow each other), and for
 * rows under 4096 floats those of a row 16 KB ahead, so that a short row's
 * lines have time to arrive. Against none (`s4j_ab --op cross_entropy`,
 * 2026-12-03), AVX-512: [4096,1000] 0.53-0.80, [256,32000] 0.66-0.70,
 * [1024,4096] 0.66-0.70, [64,128256] 0.69-0.73, [32768,128] 0.94-1.01 x
 * the time; AVX2: [4096,1000] 0.85-0.94, [256,32000] 0.79-0.87,
 * [1024,4096] 0.76, [64,128256] 0.84-0.88. A fixed 2048 or 4096 floats
 * ahead gave [256,32000] nothing (0.98-1.00). Past the batch's end a
 * prefetch is a no-op.
 */
static inline size_t s4j_xent_prefetch_ahead(size_t classes) {
  return classes > 4096 ? classes : 4096;
}

typedef void (*s4j_f32_xent_stats_ukernel_fn)(size_t classes, const float *x,
                                              float *max, double *log_sum);
typedef void (*s4j_f32_xent_grad_ukernel_fn)(size_t classes, const float *x, float max,
                                             float log_sum, float alpha, float beta,
                                             float gamma, const float *t, const float *w,
                                             float *gx);

void s4j_f32_xent_stats_ukernel__scalar_rr2_p6(size_t classes, const float *x, float *max,
                                               double *log_sum);
void s4j_f32_xent_grad_ukernel__scalar_rr2_p6(size_t classes, const float *x, float max,
                                              float log_sum, float alpha, float beta,
                                              float gamma, const float *t, const float *w,
                                              float *gx);

void s4j_f32_xent_stats_ukernel__avx2_rr2_p6_u32_acc4(size_t classes, const float *x,
                                                      float *max, double *log_sum);
void s4j_f32_xent_grad_ukernel__avx2_rr2_p6_u8(size_t classes, const float *x, float max,
                                               float log_sum, float alpha, float beta,
                                               float gamma, const float *t, const float *w,
                                               float *gx);

void s4j_f32_xent_stats_ukernel__avx512f_rr2_p6_u64_acc4(size_t classes, const float *x,
                                                         float *max, double *log_sum);
void s4j_f32_xent_grad_ukernel__avx512f_rr2_p6_u16(size_t classes, const float *x, float max,
                                                   float log_sum, float alpha, float beta,
                                                   float gamma, const float *t, const float *w,
                                                   float *gx);

/*
 * The strided forms for inner > 1: element c of the position is x[c * stride]
 * (and t, gx alike; w stays contiguous). Portable C, one position at a time:
 * the forward uses them only when the caller keeps no stats; cross_entropy.c
 * otherwise runs the dim kernels (softmax_dim_f32.h), vectorised along the
 * inner dimension, for both directions.
 */
void s4j_f32_xent_stats_ukernel__scalar_strided(size_t classes, size_t stride, const float *x,
                                                float *max, double *log_sum);
void s4j_f32_xent_grad_ukernel__scalar_strided(size_t classes, size_t stride, const float *x,
                                               float max, float log_sum, float alpha, float beta,
                                               float gamma, const float *t, const float *w,
                                               float *gx);

#endif /* S4J_KERNELS_CROSS_ENTROPY_F32_H */
