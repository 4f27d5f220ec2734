/*
 * softmax_rows_f32.h - softmax over the rows of a contiguous [rows, cols]
 * float32 matrix (the last dimension), forward and backward; log-softmax
 * rows have their own ukernels (log_softmax_f32.h).
 *
 * Forward, per row, 3 passes: m = max(x); y = exp(x - m) with
 * s = sum(y) (float lanes over blocks of S4J_SOFTMAX_ROWS_BLOCK elements,
 * block totals carried in double); y *= (float) (1 / s). On AVX-512, rows
 * of at most 128 floats are held in registers instead and read once, the
 * sum a float tree and the scale one float division (softmax_rows_f32_avx512.c);
 * on AVX2 rows of at most 64 (softmax_rows_f32_avx2.c).
 * Backward, per row, 2 passes: S = sum(gy * y), each product exact in
 * double and summed there (the terms may cancel); gx = y * (gy - S), with
 * non-temporal stores for outputs of S4J_STREAM_MIN_BYTES or more, as the
 * log-softmax backward (log_softmax_f32.h). On AVX2 and AVX-512 the
 * gradient loop of each row also sums the next row (the same bits as the
 * row's sum on its own), so the first row's sum is the only pass that has
 * memory to itself: s4j_ab B/A against a sum pass per row, AVX-512 / AVX2,
 * [4096,4096] 0.80 / 0.63, [8192,1024] 0.78 / 0.74, [256,32000] 0.96 /
 * 0.73, [64,1000] 0.86 / 0.87, [2048,100] 0.88 / 0.84, [64,10] 0.96 /
 * 0.82, [65536,128] 1.01 (AVX-512).
 * LogSumExp, per row, 2 passes: out = (float) (m + log(sum(exp(x - m)))),
 * the sum with the sum-only exp of exp_f32.h (it is not an output), the
 * addition in double; its special values come out as NaN where PyTorch
 * gives +-inf, which the caller fixes (logsumexp.c).
 * LogSumExp backward, per row, 3 passes over the saved input x and one
 * output gx = gy * softmax(x): m = max(x); gx = exp(x - m) with s = sum(gx)
 * as the softmax forward; gx *= (float) (gy / s), the quotient in double.
 * Each output rounds the faithful exp once, the scale once and the product
 * once (the two-pass way rounded the softmax's scale and product, then the
 * product with gy). A row whose forward is not finite (all -inf, +inf,
 * NaN) gives NaN throughout, as the other dtypes.
 *
 * Special values as for log-softmax: a -inf entry gives 0; a row of -inf,
 * or with +inf or NaN, gives NaN throughout.
 *
 * Preconditions, checked by the callers: rows, cols > 0, non-NULL pointers,
 * sizes fit. Allowed aliasing: y == x; gx == gy or gx == y; LogSumExp
 * backward gx == x.
 * The ukernels end in the exact variant name of registry.h.
 */
#ifndef S4J_KERNELS_SOFTMAX_ROWS_F32_H
#define S4J_KERNELS_SOFTMAX_ROWS_F32_H

#include <stddef.h>

/* Elements summed in float lanes before the block total goes to double:
 * each lane adds at most 256 / 16 (two AVX2 vectors) terms <= 1, so its
 * float sum rounds by at most 15 ulp relative in the worst case, and
 * typically by a few. The scalar code sums in double directly. */
#define S4J_SOFTMAX_ROWS_BLOCK 256

/*
 * The exp pass of a row (softmax forward, LogSumExp forward and backward)
 * reads the row again from cache and leaves memory idle, so it asks for
 * the lines this many floats ahead, 0 for none: the next row's, and at
 * least 16 KB ahead, the rows being contiguous. Rows under 1024 floats skip
 * it (65536x128: 1.03-1.16 x the time with it), and so do rows over 32768
 * floats that the pass writes (the softmax forward and the LogSumExp
 * backward keep their exps in the output), whose row, exps and next row no
 * longer fit in L2 together (64x128256 softmax: 1.13-1.14 x). Against none,
 * alternating calls (2026-12-03), AVX-512: LogSumExp forward 256x32000
 * 0.65-0.70, 4096x4096 0.66-0.69, 64x128256 0.74-0.87, backward 256x32000
 * 0.83; softmax forward 256x32000 0.73-0.84, 4096x4096 0.76-0.86. AVX2:
 * LogSumExp forward 0.72-0.79 on those three, softmax 0.85-0.87 on the two.
 * The last row asks for nothing.
 */
static inline size_t s4j_rows_prefetch_ahead(size_t cols, int writes) {
  if (cols < 1024 || (writes && cols > 32768)) return 0;
  return cols > 4096 ? cols : 4096;
}

typedef void (*s4j_f32_softmax_rows_fwd_ukernel_fn)(size_t rows, size_t cols, const float *x,
                                                    float *y);
typedef void (*s4j_f32_softmax_rows_bwd_ukernel_fn)(size_t rows, size_t cols, const float *gy,
                                                    const float *y, float *gx);

typedef void (*s4j_f32_logsumexp_rows_ukernel_fn)(size_t rows, size_t cols, const float *x,
                                                  float *out);

void s4j_f32_logsumexp_rows_ukernel__scalar(size_t rows, size_t cols, const float *x, float *out);
void s4j_f32_logsumexp_rows_ukernel__avx2(size_t rows, size_t cols, const float *x, float *out);
void s4j_f32_logsumexp_rows_ukernel__avx512(size_t rows, size_t cols, const float *x, float *out);

/* gy has one float per row; x is the forward's input. */
typedef void (*s4j_f32_logsumexp_rows_bwd_ukernel_fn)(size_t rows, size_t cols, const float *gy,
                                                      const float *x, float *gx);
void s4j_f32_logsumexp_rows_bwd_ukernel__scalar(size_t rows, size_t cols, const float *gy,
                                                const float *x, float *gx);
void s4j_f32_logsumexp_rows_bwd_ukernel__avx2(size_t rows, size_t cols, const float *gy,
                                              const float *x, float *gx);
void s4j_f32_logsumexp_rows_bwd_ukernel__avx512(size_t rows, size_t cols, const float *gy,
                                                const float *x, float *gx);

void s4j_f32_softmax_rows_fwd_ukernel__scalar(size_t rows, size_t cols, const float *x, float *y);
void s4j_f32_softmax_rows_bwd_ukernel__scalar(size_t rows, size_t cols, const float *gy,
                                              const float *y, float *gx);
void s4j_f32_softmax_rows_fwd_ukernel__avx2(size_t rows, size_t cols, const float *x, float *y);
void s4j_f32_softmax_rows_bwd_ukernel__avx2(size_t rows, size_t cols, const float *gy,
                                            const float *y, float *gx);
void s4j_f32_softmax_rows_fwd_ukernel__avx512(size_t rows, size_t cols, const float *x, float *y);
void s4j_f32_softmax_rows_bwd_ukernel__avx512(size_t rows, size_t cols, const float *gy,
                                              const float *y, float *gx);

#endif /* S4J_KERNELS_SOFTMAX_ROWS_F32_H */
