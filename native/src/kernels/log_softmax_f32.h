/*
 * log_softmax_f32.h - the log-softmax microkernels, one pair per ISA file.
 *
 * A ukernel works on `rows` contiguous rows of `cols` floats (row stride =
 * cols). Preconditions, checked by the callers in softmax4j.c:
 * rows > 0, cols > 0, non-NULL pointers, rows * cols * 4 fits in size_t.
 * Allowed aliasing: y == x (forward); gx == gy or gx == y (backward).
 *
 * Forward, per row: m = max(x); s = sum(exp(x - m)) with float lanes summed
 * over blocks and the block totals carried in double; y = (x - m) - log(s),
 * in that order. The scalar variant does it in 3 passes with a double log.
 * The vector variants choose by row length (see their files): short rows
 * (up to 8 vectors) are held in registers and read once, with a float sum
 * and the float log of math/log_f32.h; medium rows take 3 passes in row
 * groups; long rows (>= 4096, or >= S4J_STREAM_PIPE_MIN_COLS when the output
 * is streamed) find m and s in one read and write the output of the
 * previous row alongside it. Every float log is < 1 ulp.
 * Backward, per row: s = sum(gy), accumulated in double (the gradients may
 * cancel, so float blocks are not enough there), then gx = gy - exp(y) * s.
 * The vector variants compute the next row's s in the loop that writes the
 * current row's gx, so only the first row's sum is a pass of its own.
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
#include <stdint.h>

/*
 * Outputs of at least this many bytes are written with non-temporal stores
 * (where the ISA has them): an output this large leaves the cache before
 * anyone reads it again, and streaming it saves the read-for-ownership of
 * every output line. Smaller outputs stay in cache for whoever reads them
 * next (measured with native/bench: the row-length series is 32 MiB per
 * tensor, the cache-resident shapes at most 256 KiB).
 */
#define S4J_STREAM_MIN_BYTES ((size_t) 8 << 20)

/*
 * Streamed (out-of-cache) log-softmax rows of at least this many columns
 * take the long rows' pipelined one-read plan even below its usual
 * S4J_ONLINE_MIN_COLS: in row groups, the max pass waits on memory and the
 * exp pass leaves it idle. Interleaved runs (s4j_ab), B/A against groups,
 * AVX-512 / AVX2: [8192,1024] 0.61 / 0.72, [4096,3000] 0.75 / 0.72,
 * [8192,1000] 0.85 / 0.84, [32768,200] 0.94 / 0.92; [40960,192] 0.99 /
 * 0.96, [49152,160] 1.03 / 0.95, [65536,130] 1.04 on AVX-512 (a row's
 * finish and log then weigh more than the overlap gains).
 */
#define S4J_STREAM_PIPE_MIN_COLS 192

/* Elements (8 KB) ahead of the read that out-of-cache rows prefetch: the
 * AVX-512 log-softmax's long rows in their pipelined read, and the short
 * rows of the AVX log-softmax and softmax when streamed or written to
 * memory: the hardware prefetchers alone leave the exp-heavy read waiting
 * on memory (log-softmax, interleaved runs, 256x32000: 1.53-1.64 -> 1.20-1.52
 * x the copy time, 512 and 1024 ahead gained less; 65536x128: 1.82-2.04 ->
 * 1.55-1.67). */
#define S4J_ROW_PREFETCH_AHEAD 2048

/*
 * Short rows are processed in groups of up to S4J_ROW_GROUP_MAX rows, one
 * pass (max, sum, output) over the whole group at a time: the per-row
 * reductions and the log then overlap across rows instead of forming one
 * long dependency chain per row. A group stays within ~16 KiB (L1).
 */
#define S4J_ROW_GROUP_MAX 16
#define S4J_ROW_GROUP_BYTES ((size_t) 16 << 10)

static inline size_t s4j_row_group(size_t cols) {
  const size_t g = S4J_ROW_GROUP_BYTES / (cols * sizeof(float));
  return g < 1 ? 1 : g > S4J_ROW_GROUP_MAX ? S4J_ROW_GROUP_MAX : g;
}

/*
 * Whether a masked access to the last partial vector of one of two distinct
 * buffers of a call (`bytes` long each, rows of `cols` floats, partial
 * vectors at multiples of 16 floats from a row's start) reaches into the
 * other: then a later call's load waits for the masked store that covered
 * those bytes (math/lanes_avx512.h, s4j_load_exact), and the kernels that
 * check this read and write those partial vectors exactly instead.
 */
static inline int s4j_buffers_near(const void *a, const void *b, size_t bytes, size_t cols) {
  const size_t reach = ((16 - cols % 16) % 16) * sizeof(float);
  const uintptr_t pa = (uintptr_t) a, pb = (uintptr_t) b;
  const uintptr_t gap = pa < pb ? pb - pa : pa - pb;
  return pa != pb && gap < bytes + reach;
}

/* s4j_buffers_near for a backward's three buffers: any two of them. */
static inline int s4j_backward_buffers_near(const void *gy, const void *y, const void *gx, size_t bytes,
                                            size_t cols) {
  return cols % 16 != 0 && (s4j_buffers_near(gy, y, bytes, cols) || s4j_buffers_near(gy, gx, bytes, cols) ||
                            s4j_buffers_near(y, gx, bytes, cols));
}

/* Whether a ukernel writing rows x cols floats to out streams its stores. */
static inline int s4j_use_stream_stores(size_t rows, size_t cols, const float *out) {
  return rows * cols >= S4J_STREAM_MIN_BYTES / sizeof(float) &&
         ((uintptr_t) out & (sizeof(float) - 1)) == 0;
}

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
