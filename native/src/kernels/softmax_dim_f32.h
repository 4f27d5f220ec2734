/*
 * softmax_dim_f32.h - log-softmax and softmax over a dimension that is not
 * the last: a contiguous [outer, dim, inner] float32 tensor reduced over
 * `dim`, element x[o, c, j] at o*dim*inner + c*inner + j.
 *
 * No transpose. The kernels vectorise along `inner` (contiguous in memory)
 * and walk `dim` with stride `inner`: for each outer index they take a
 * group of consecutive inner positions (a few vectors wide) and run all
 * their passes down its `dim` rows before the next group. A group's rows
 * span dim x 256 bytes (AVX-512; 64 on AVX2), which stay in L1 or L2 from
 * one pass to the next, and its per-position statistics (max, sum) stay in
 * registers:
 *
 *   forward   m[j] = max_c x[c, j]
 *             s[j] = sum_c exp(x[c, j] - m[j])   (float runs, carried in double;
 *                    the sum-only exp of exp_f32.h for log-softmax)
 *             log-softmax y = (x - m[j]) - log(s[j])   (the order of the row kernels)
 *             softmax     y = exp(x - m[j]) * (float) (1 / s[j])  (the exp kept
 *                         in y by the sum pass, scaled in place)
 *   backward  log-softmax S[j] = sum_c gy               (in double)
 *                         gx = gy - exp(y) * S[j]   (one rounding, the row
 *                         kernels' backward exp; AVX-512 and AVX2)
 *             softmax     S[j] = sum_c gy * y        (in double, exact products)
 *                         gx = y * (gy - S[j])
 *
 * Where a slice (one outer index) is a single group, its rows lie next to
 * each other and the passes over consecutive slices are fused where that
 * measured faster: the backward's gradient pass of a slice takes the next
 * slice's sums, and (slices of one or two vectors) the forward's exp pass
 * of a slice writes the previous slice's output. Where the rows are far
 * apart and the tensor goes to memory, the AVX-512 log-softmax forward
 * stores x - max in y in its exp pass and finishes it in place, and the
 * AVX softmax backward runs in wider blocks with its gradient streamed
 * (s4j_dim_streams below).
 *
 * The sums are carried in double because a column may be long (dim in the
 * thousands) and, in the backward, its terms may cancel.
 *
 * Special values as in log_softmax_f32.h, per (o, j) column: -inf entries
 * are masks, a column of -inf or one with +inf or NaN gives NaN throughout.
 *
 * Preconditions, checked by the callers in softmax_dim.c: outer, dim and
 * inner > 0, non-NULL pointers, outer * dim * inner * 4 fits in size_t.
 * Allowed aliasing: y == x (forward); gx == gy or gx == y (backward).
 *
 * The ukernels end in the exact variant name of registry.h, so the op's
 * dispatch table is an expansion of that one list.
 */
#ifndef S4J_KERNELS_SOFTMAX_DIM_F32_H
#define S4J_KERNELS_SOFTMAX_DIM_F32_H

#include <stddef.h>
#include <stdint.h>

/* Which member of the family a dim ukernel computes. */
enum s4j_softmax_kind {
  S4J_KIND_LOG_SOFTMAX = 0,
  S4J_KIND_SOFTMAX = 1,
  /* Forward: y is [outer, inner], y[o, j] = (float) (m + log s), the
   * addition in double. Its special values come out as NaN where PyTorch
   * gives +-inf, which the caller fixes (logsumexp.c).
   * Backward: gy is [outer, inner] and y is the forward's INPUT x:
   * gx = exp(x - m) * (float) (gy / s), the exp kept in gx by the passes of
   * the softmax forward and scaled in place, the quotient in double. A
   * column whose forward is not finite gives NaN; gx may be x.
   * The float64 and 16-bit kernels take it too (softmax_f64.h,
   * softmax_x16.h). */
  S4J_KIND_LOGSUMEXP = 2,
  /* Forward only, and y is [outer, inner, 2]: per position the max m and
   * (float) log(s), the statistics the fused cross-entropy saves. */
  S4J_KIND_STATS = 3,
};

/* The forward sums exp in float over runs of this many rows, then adds each
 * run's total to a double: a run of 8 terms, each <= 1, rounds by at most
 * 7 ulp relative (4.2e-7), and the double carry keeps long columns from
 * adding up more. */
#define S4J_DIM_FLOAT_RUN 8

/* Asks for the cache line at p, to read it or, with `write` (a constant),
 * to write it (prefetchw on x86 with -mprfchw: the line arrives owned, so
 * the store that follows does not wait for it). */
static inline void s4j_prefetch_line(const void *p, const int write) {
  if (write) {
    __builtin_prefetch(p, 1, 3);
  } else {
    __builtin_prefetch(p, 0, 3);
  }
}

/* Tensors smaller than this stay in cache: the dim kernels do not prefetch
 * for them ([2,81,300] forward 16% slower with the prefetches). */
#define S4J_DIM_PREFETCH_MIN_BYTES ((size_t) 8 << 20)

/*
 * Where the rows are far apart (inner longer than a group), a pass reads a
 * group's few lines of every row, dim rows apart: the hardware prefetchers
 * do not follow that, and the loads alone keep few rows in flight. So the
 * AVX kernels ask for the next groups' lines in a pass that leaves memory
 * idle (each kernel says which). This is the offset, in elements of
 * element_size bytes, from the group of `width` positions at [o, 0, j] to
 * the one `ahead` groups later in the order the kernels run them (along
 * inner, then the next outer index); 0 if there is none, if the rows are at
 * most one group long (a pass then reads whole rows that lie next to each
 * other, as the hardware prefetchers like), or if the tensor is under
 * S4J_DIM_PREFETCH_MIN_BYTES.
 */
static inline size_t s4j_group_ahead(size_t o, size_t j, size_t ahead, size_t width, size_t outer,
                                     size_t dim, size_t inner, size_t element_size) {
  if (inner <= width || outer * dim * inner < S4J_DIM_PREFETCH_MIN_BYTES / element_size) return 0;
  const size_t groups = (inner + width - 1) / width;
  const size_t at = o * groups + j / width + ahead;
  if (at >= outer * groups) return 0;
  return (at / groups - o) * dim * inner + (at % groups) * width - j;
}

/*
 * The AVX kernels' softmax backward where the rows are far apart (inner
 * longer than a group of `width` positions) and gx goes to memory (a tensor
 * of S4J_DIM_PREFETCH_MIN_BYTES or more) runs in blocks of positions along
 * inner: each group's sums, then the block's gradient row by row with
 * non-temporal stores, which need gx float-aligned (s4j_dim_streams says
 * whether a call does). A block is s4j_stream_block(dim, width) positions
 * wide: from 128 (rows of the block 512 bytes, whose non-temporal stores
 * keep up with memory; at 64 they were 2 x slower) to 1024, as many as keep
 * the block's gy and y within S4J_STREAM_BLOCK_BYTES, in L2 for its
 * gradient pass; a whole number of groups.
 */
#define S4J_STREAM_BLOCK_MIN ((size_t) 128)
#define S4J_STREAM_BLOCK_MAX ((size_t) 1024)
#define S4J_STREAM_BLOCK_BYTES ((size_t) 512 << 10)

static inline int s4j_dim_streams(size_t outer, size_t dim, size_t inner, size_t width,
                                  const float *gx) {
  return inner > width && outer * dim * inner >= S4J_DIM_PREFETCH_MIN_BYTES / sizeof(float) &&
         ((uintptr_t) gx & (sizeof(float) - 1)) == 0;
}

static inline size_t s4j_stream_block(size_t dim, size_t width) {
  const size_t w = S4J_STREAM_BLOCK_BYTES / (2 * sizeof(float) * dim) / width * width;
  return w < S4J_STREAM_BLOCK_MIN ? S4J_STREAM_BLOCK_MIN : w > S4J_STREAM_BLOCK_MAX ? S4J_STREAM_BLOCK_MAX : w;
}

typedef void (*s4j_f32_softmax_dim_fwd_ukernel_fn)(enum s4j_softmax_kind kind, size_t outer,
                                                   size_t dim, size_t inner, const float *x,
                                                   float *y);
typedef void (*s4j_f32_softmax_dim_bwd_ukernel_fn)(enum s4j_softmax_kind kind, size_t outer,
                                                   size_t dim, size_t inner, const float *gy,
                                                   const float *y, float *gx);

/* scalar: one position at a time, exp rr2_p6, log in double. */
void s4j_f32_softmax_dim_fwd_ukernel__scalar(enum s4j_softmax_kind kind, size_t outer,
                                             size_t dim, size_t inner, const float *x, float *y);
void s4j_f32_softmax_dim_bwd_ukernel__scalar(enum s4j_softmax_kind kind, size_t outer,
                                             size_t dim, size_t inner, const float *gy,
                                             const float *y, float *gx);

/* avx2: 8 positions per vector, exp rr2_p6, log in double 4 lanes at a time. */
void s4j_f32_softmax_dim_fwd_ukernel__avx2(enum s4j_softmax_kind kind, size_t outer,
                                           size_t dim, size_t inner, const float *x, float *y);
void s4j_f32_softmax_dim_bwd_ukernel__avx2(enum s4j_softmax_kind kind, size_t outer,
                                           size_t dim, size_t inner, const float *gy,
                                           const float *y, float *gx);

/* avx512: 16 positions per vector (opmask tails), exp rr2_p6, log in double
 * 8 lanes at a time. */
void s4j_f32_softmax_dim_fwd_ukernel__avx512(enum s4j_softmax_kind kind, size_t outer,
                                             size_t dim, size_t inner, const float *x, float *y);
void s4j_f32_softmax_dim_bwd_ukernel__avx512(enum s4j_softmax_kind kind, size_t outer,
                                             size_t dim, size_t inner, const float *gy,
                                             const float *y, float *gx);

#endif /* S4J_KERNELS_SOFTMAX_DIM_F32_H */
