/*
 * softmax_rows_f32_avx2.c - softmax over rows, 8 floats per vector, two
 * vectors per iteration, masked tails; the forward holds rows of at most 64
 * floats in registers, four rows a step. The algorithm is in
 * softmax_rows_f32.h.
 */
#include <immintrin.h>
#include <math.h> /* INFINITY */
#include <stddef.h>
#include <stdint.h>

#include "kernels/log_softmax_f32.h" /* s4j_use_stream_stores */
#include "kernels/softmax_rows_f32.h"
#include "kernels/store_avx2.h"
#include "math/exp_f32_avx2.h"
#include "math/lanes_avx2.h"
#include "math/log_f64.h"

#define S4J_LANES 8

/* The first `left` lanes (all when left >= 8), as vmaskmovps reads them. */
static inline __m256i s4j_tail(size_t left) {
  const int n = left >= S4J_LANES ? S4J_LANES : (int) left;
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline float s4j_hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

static inline double s4j_hsum_f64(__m256d v) {
  __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
  return _mm_cvtsd_f64(s);
}

static inline __m256d s4j_widen_sum(__m256 v) {
  return _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)),
                       _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

/* The row's maximum. Masked-off lanes become -inf: they never win. A NaN
 * that vmaxps drops still makes its exp, and the sum, NaN. */
static inline float s4j_row_max(const float *x, size_t cols) {
  const __m256 minus_inf = _mm256_set1_ps(-INFINITY);
  __m256 m0 = minus_inf, m1 = minus_inf;
  size_t i = 0;
  for (; i + 2 * S4J_LANES <= cols; i += 2 * S4J_LANES) {
    m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);
    m1 = _mm256_max_ps(_mm256_loadu_ps(x + i + S4J_LANES), m1);
  }
  for (; i < cols; i += S4J_LANES) {
    const __m256i mask = s4j_tail(cols - i);
    const __m256 v = _mm256_blendv_ps(minus_inf, _mm256_maskload_ps(x + i, mask), _mm256_castsi256_ps(mask));
    m0 = _mm256_max_ps(v, m0);
  }
  return s4j_hmax(_mm256_max_ps(m0, m1));
}

/* sum(exp(x - max)) in float blocks carried in double. With y, each exp is
 * also stored there (the faithful exp: it is an output); without, only the
 * sum is needed and the sum-only exp of exp_f32.h does. With `ahead` (a
 * constant 0 in the copy without), each line's read asks for the line
 * `ahead` floats further (s4j_rows_prefetch_ahead). */
static inline __attribute__((always_inline)) double s4j_row_sum_exp(
    const float *x, size_t cols, float max, float *y, size_t ahead,
    const struct s4j_exp_f32_avx2_consts *k, const struct s4j_expsum_f32_avx2_consts *ks) {
  const __m256 vmax = _mm256_set1_ps(max);
  /* Bytes, not a pointer: past the last row a prefetch is a no-op. */
  const uintptr_t pf = (uintptr_t) x + ahead * sizeof(float);
  double sum = 0.0;
  for (size_t b = 0; b < cols; b += S4J_SOFTMAX_ROWS_BLOCK) {
    const size_t end = cols - b < S4J_SOFTMAX_ROWS_BLOCK ? cols : b + S4J_SOFTMAX_ROWS_BLOCK;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0;
    size_t i = b;
    for (; i + 2 * S4J_LANES <= end; i += 2 * S4J_LANES) {
      if (ahead != 0) _mm_prefetch((const char *) (pf + i * sizeof(float)), _MM_HINT_T0);
      const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), vmax);
      const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + S4J_LANES), vmax);
      const __m256 e0 = y != NULL ? s4j_exp_f32_avx2(d0, k) : s4j_expsum_f32_avx2(d0, ks);
      const __m256 e1 = y != NULL ? s4j_exp_f32_avx2(d1, k) : s4j_expsum_f32_avx2(d1, ks);
      if (y != NULL) {
        _mm256_storeu_ps(y + i, e0);
        _mm256_storeu_ps(y + i + S4J_LANES, e1);
      }
      s0 = _mm256_add_ps(s0, e0);
      s1 = _mm256_add_ps(s1, e1);
    }
    for (; i < end; i += S4J_LANES) {
      const __m256i mask = s4j_tail(end - i);
      const __m256 d = _mm256_sub_ps(_mm256_maskload_ps(x + i, mask), vmax);
      const __m256 e = y != NULL ? s4j_exp_f32_avx2(d, k) : s4j_expsum_f32_avx2(d, ks);
      if (y != NULL) s4j_store_prefix_ps(y + i, mask, e);
      s0 = _mm256_add_ps(s0, _mm256_and_ps(e, _mm256_castsi256_ps(mask)));
    }
    sum += s4j_hsum_f64(s4j_widen_sum(_mm256_add_ps(s0, s1)));
  }
  return sum;
}

/* s4j_row_sum_exp for row r of `rows`, asking for the lines ahead
 * (s4j_rows_prefetch_ahead) where rows follow; the call without is a copy
 * of its own, free of the prefetches. */
static inline __attribute__((always_inline)) double s4j_row_sum_exp_ahead(
    const float *x, size_t cols, float max, float *y, int more, const struct s4j_exp_f32_avx2_consts *k,
    const struct s4j_expsum_f32_avx2_consts *ks) {
  const size_t ahead = more ? s4j_rows_prefetch_ahead(cols, y != NULL) : 0;
  if (ahead != 0) return s4j_row_sum_exp(x, cols, max, y, ahead, k, ks);
  return s4j_row_sum_exp(x, cols, max, y, 0, k, ks);
}

/*
 * Rows of at most S4J_SOFTMAX_SHORT_COLS columns: the whole row in registers
 * (up to 8 vectors), read once, every reduction across the lanes in
 * registers, as the log-softmax short rows (s4j_fwd_short_rows,
 * log_softmax_f32_avx2.c) and the AVX-512 softmax short rows: for such rows
 * the three passes and the scalar double reductions of the long path cost
 * more than the arithmetic (it ran 1.6-2.4 x the log-softmax forward's time
 * on [4096,64], [16384,33], [1024,10]). The sum is a float sum (at most 8
 * terms per lane in order, then 3 levels across the lanes: relative error
 * <= 10 * 2^-24 = 6e-7) and the scale one float division.
 *
 * Four rows a step at every width, although four rows of more than two
 * vectors do not fit the 16 registers and spill (the exp's constants come
 * from memory at any width): one row's chain of max, exp, sum and division
 * is latency bound, and the rows beside it hide that better than the
 * spills cost. Against one row a step, two ran 0.85-0.86 x the
 * time up to 16 columns ([1024,10], [4096,8], [4096,16], [8192,12]) and
 * 0.91-0.97 x from 24 to 64 ([4096,24 .. 64], [16384,33], [2048,60], and
 * streamed [65536,64], [262144,32]); against two, four ran 0.86-0.99 x up
 * to 32 columns and 0.91-0.96 x from 33 to 64 (in cache and streamed).
 */
#define S4J_SOFTMAX_SHORT_COLS (S4J_LANES * S4J_SHORT_ROW_VECS)

/* `nr` rows (1 or 4, a constant) `cols` apart, nv = ceil(cols / 8) vectors
 * each (a constant in each instantiation), step by step; only the last
 * vector of a row can be partial (vmask, its first lanes; all of them when
 * streamed, whose rows are whole aligned vectors). */
static inline __attribute__((always_inline)) void s4j_softmax_short_step(
    size_t cols, const float *x, float *y, const int nv, const int nr, const int stream,
    __m256i vmask, const struct s4j_exp_f32_avx2_consts *k) {
  const __m256 one = _mm256_set1_ps(1.0f);
  if (stream) {
    /* Streamed (out of cache): the lines 8 KB ahead, one per 64 bytes of
     * each row, as the AVX-512 short rows; without, the streamed
     * [262144,8] ran 1.06 x, [65536,64] 1.02 x and [262144,32] 1.01 x the
     * time. An address, not a pointer: past the last row a prefetch is a
     * no-op. */
#pragma GCC unroll 4
    for (int q = 0; q < nr; q++) {
      const uintptr_t ahead = (uintptr_t) (x + (size_t) q * cols) + S4J_ROW_PREFETCH_AHEAD * sizeof(float);
#pragma GCC unroll 4
      for (int j = 0; j < (nv + 1) / 2; j++) {
        _mm_prefetch((const char *) (ahead + 64u * (unsigned) j), _MM_HINT_T0);
      }
    }
  }
  __m256 v[S4J_SHORT_STEP_ROWS][S4J_SHORT_ROW_VECS], vmax[S4J_SHORT_STEP_ROWS], vscale[S4J_SHORT_STEP_ROWS];
  s4j_short_rows_load_max(cols, x, nv, nr, vmask, v, vmax);
#pragma GCC unroll 4
  for (int q = 0; q < nr; q++) {
    /* The faithful exp: it is the output; -inf lanes (masked off or not)
     * give +0. The sum runs along the vectors, as in the AVX-512 short
     * rows: copies to add pairwise would only spill more. */
    v[q][0] = s4j_exp_f32_avx2(_mm256_sub_ps(v[q][0], vmax[q]), k);
    vscale[q] = v[q][0];
#pragma GCC unroll 8
    for (int j = 1; j < nv; j++) {
      v[q][j] = s4j_exp_f32_avx2(_mm256_sub_ps(v[q][j], vmax[q]), k);
      vscale[q] = _mm256_add_ps(vscale[q], v[q][j]);
    }
  }
#pragma GCC unroll 4
  for (int q = 0; q < nr; q++) vscale[q] = _mm256_div_ps(one, s4j_allsum(vscale[q]));
#pragma GCC unroll 4
  for (int q = 0; q < nr; q++) {
    float *yq = y + (size_t) q * cols;
    if (stream) {
#pragma GCC unroll 8
      for (int j = 0; j < nv; j++) _mm256_stream_ps(yq + 8 * j, _mm256_mul_ps(v[q][j], vscale[q]));
    } else {
#pragma GCC unroll 8
      for (int j = 0; j < nv - 1; j++) _mm256_storeu_ps(yq + 8 * j, _mm256_mul_ps(v[q][j], vscale[q]));
      /* Plain stores of the first lanes (store_avx2.h: a vmaskmovps store
       * here would slow the next row's loads). */
      s4j_store_prefix_ps(yq + 8 * (nv - 1), vmask, _mm256_mul_ps(v[q][nv - 1], vscale[q]));
    }
  }
}

/* All rows, four at a time (s4j_softmax_short_step), the last ones alone. */
static inline __attribute__((always_inline)) void s4j_softmax_short_rows(
    size_t rows, size_t cols, const float *x, float *y, const int nv, const int stream,
    const struct s4j_exp_f32_avx2_consts *k) {
  const __m256i vmask = s4j_tail(cols - (size_t) (nv - 1) * S4J_LANES);
  size_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    s4j_softmax_short_step(cols, x + r * cols, y + r * cols, nv, 4, stream, vmask, k);
  }
  for (; r < rows; r++) s4j_softmax_short_step(cols, x + r * cols, y + r * cols, nv, 1, stream, vmask, k);
}

static inline __attribute__((always_inline)) void s4j_softmax_short(
    size_t rows, size_t cols, const float *x, float *y, const int stream,
    const struct s4j_exp_f32_avx2_consts *k) {
  switch ((cols + 7) / 8) {
    case 1: s4j_softmax_short_rows(rows, cols, x, y, 1, stream, k); break;
    case 2: s4j_softmax_short_rows(rows, cols, x, y, 2, stream, k); break;
    case 3: s4j_softmax_short_rows(rows, cols, x, y, 3, stream, k); break;
    case 4: s4j_softmax_short_rows(rows, cols, x, y, 4, stream, k); break;
    case 5: s4j_softmax_short_rows(rows, cols, x, y, 5, stream, k); break;
    case 6: s4j_softmax_short_rows(rows, cols, x, y, 6, stream, k); break;
    case 7: s4j_softmax_short_rows(rows, cols, x, y, 7, stream, k); break;
    default: s4j_softmax_short_rows(rows, cols, x, y, 8, stream, k); break;
  }
}

void s4j_f32_softmax_rows_fwd_ukernel__avx2(size_t rows, size_t cols, const float *x, float *y) {
  const struct s4j_exp_f32_avx2_consts k = s4j_exp_f32_avx2_init();
  /* Every short row takes the short path, as in the AVX2 log-softmax: an
   * output of 8 MiB or more is streamed where its rows are whole aligned
   * vectors (no reads for ownership, the cache left alone; alone on this
   * machine the short rows are bound by their arithmetic, and plain stores
   * measured the same, 0.98-1.00 x), with plain stores otherwise. Unlike on
   * AVX-512 those beat the long path out of cache as well, whose passes
   * cost more here than the stores' line misses: [65536,60] 0.64,
   * [65536,63] 0.61, [262144,33] 0.47, [131072,17] 0.40, [262144,10] 0.26 x
   * the long path's time; a prefetch 8 KB ahead gained nothing there
   * (1.00-1.01 x). */
  if (cols <= S4J_SOFTMAX_SHORT_COLS) {
    if (s4j_use_stream_stores(rows, cols, y) && cols % S4J_LANES == 0 && ((uintptr_t) y & 31u) == 0) {
      s4j_softmax_short(rows, cols, x, y, 1, &k);
      _mm_sfence();
    } else {
      s4j_softmax_short(rows, cols, x, y, 0, &k);
    }
    return;
  }
  const struct s4j_expsum_f32_avx2_consts ks = s4j_expsum_f32_avx2_init();
  for (size_t r = 0; r < rows; r++, x += cols, y += cols) {
    const double sum = s4j_row_sum_exp_ahead(x, cols, s4j_row_max(x, cols), y, r + 1 < rows, &k, &ks);
    const __m256 scale = _mm256_set1_ps((float) (1.0 / sum));
    for (size_t i = 0; i < cols; i += S4J_LANES) {
      const __m256i mask = s4j_tail(cols - i);
      s4j_store_prefix_ps(y + i, mask, _mm256_mul_ps(_mm256_maskload_ps(y + i, mask), scale));
    }
  }
}

void s4j_f32_logsumexp_rows_ukernel__avx2(size_t rows, size_t cols, const float *x, float *out) {
  const struct s4j_exp_f32_avx2_consts k = s4j_exp_f32_avx2_init();
  const struct s4j_expsum_f32_avx2_consts ks = s4j_expsum_f32_avx2_init();
  for (size_t r = 0; r < rows; r++, x += cols) {
    const float max = s4j_row_max(x, cols);
    out[r] = (float) ((double) max + s4j_log_f64(s4j_row_sum_exp_ahead(x, cols, max, NULL, r + 1 < rows, &k, &ks)));
  }
}

/* LogSumExp backward from the saved input: pass 2 leaves exp(x - max) in
 * gx (the faithful exp, as the softmax forward, so that the sum and the
 * outputs use the same values) and pass 3 scales it by gy / sum, the
 * quotient in double and rounded once. The row is in L1 or L2 between the
 * passes, so no pass goes to memory twice; for the same reason pass 3 does
 * not stream: its lines are already cached. gx may be x: each pass reads
 * an element before it writes it. */
void s4j_f32_logsumexp_rows_bwd_ukernel__avx2(size_t rows, size_t cols, const float *gy,
                                                const float *x, float *gx) {
  const struct s4j_exp_f32_avx2_consts k = s4j_exp_f32_avx2_init();
  const struct s4j_expsum_f32_avx2_consts ks = s4j_expsum_f32_avx2_init();
  for (size_t r = 0; r < rows; r++, x += cols, gx += cols) {
    const double sum = s4j_row_sum_exp_ahead(x, cols, s4j_row_max(x, cols), gx, r + 1 < rows, &k, &ks);
    const __m256 scale = _mm256_set1_ps((float) ((double) gy[r] / sum));
    size_t i = 0;
    for (; i + 4 * S4J_LANES <= cols; i += 4 * S4J_LANES) {
      const __m256 e0 = _mm256_loadu_ps(gx + i), e1 = _mm256_loadu_ps(gx + i + S4J_LANES);
      const __m256 e2 = _mm256_loadu_ps(gx + i + 2 * S4J_LANES), e3 = _mm256_loadu_ps(gx + i + 3 * S4J_LANES);
      _mm256_storeu_ps(gx + i, _mm256_mul_ps(e0, scale));
      _mm256_storeu_ps(gx + i + S4J_LANES, _mm256_mul_ps(e1, scale));
      _mm256_storeu_ps(gx + i + 2 * S4J_LANES, _mm256_mul_ps(e2, scale));
      _mm256_storeu_ps(gx + i + 3 * S4J_LANES, _mm256_mul_ps(e3, scale));
    }
    for (; i < cols; i += S4J_LANES) {
      const __m256i mask = s4j_tail(cols - i);
      s4j_store_prefix_ps(gx + i, mask, _mm256_mul_ps(_mm256_maskload_ps(gx + i, mask), scale));
    }
  }
}

/* The head of a streamed gradient row: gx = y * (gy - s) for the floats
 * before gx's next 32 bytes; returns how many. */
static inline size_t s4j_grad_head(size_t n, const float *gy, const float *y, float *gx, __m256 vs) {
  const size_t head = ((32u - ((uintptr_t) gx & 31u)) & 31u) / sizeof(float);
  const size_t h = head < n ? head : n;
  if (h != 0) {
    const __m256i mask = s4j_tail(h);
    const __m256 g = _mm256_maskload_ps(gy, mask), o = _mm256_maskload_ps(y, mask);
    s4j_store_prefix_ps(gx, mask, _mm256_mul_ps(o, _mm256_sub_ps(g, vs)));
  }
  return h;
}

/* gx = y * (gy - s) for one full vector; non-temporal when `stream` (gx
 * then 32-byte aligned). */
static inline __attribute__((always_inline)) void s4j_grad_vector(const float *gy, const float *y, float *gx,
                                                                  __m256 vs, int stream) {
  const __m256 r = _mm256_mul_ps(_mm256_loadu_ps(y), _mm256_sub_ps(_mm256_loadu_ps(gy), vs));
  if (stream) {
    _mm256_stream_ps(gx, r);
  } else {
    _mm256_storeu_ps(gx, r);
  }
}

/* gx = y * (gy - s) for the floats [i, n): full vectors (s4j_grad_vector),
 * then the partial last one. */
static inline __attribute__((always_inline)) void s4j_grad_rest(size_t i, size_t n, const float *gy,
                                                                const float *y, float *gx, __m256 vs,
                                                                int stream) {
  for (; i + S4J_LANES <= n; i += S4J_LANES) s4j_grad_vector(gy + i, y + i, gx + i, vs, stream);
  if (i < n) {
    const __m256i mask = s4j_tail(n - i);
    const __m256 g = _mm256_maskload_ps(gy + i, mask), o = _mm256_maskload_ps(y + i, mask);
    s4j_store_prefix_ps(gx + i, mask, _mm256_mul_ps(o, _mm256_sub_ps(g, vs)));
  }
}

/* gx = y * (gy - s) over a row, with non-temporal stores after a masked
 * head that aligns gx to 32 bytes when `stream`. */
static inline void s4j_row_grad(size_t n, const float *gy, const float *y, float *gx, __m256 vs,
                                int stream) {
  s4j_grad_rest(stream ? s4j_grad_head(n, gy, y, gx, vs) : 0, n, gy, y, gx, vs, stream);
}

/*
 * sum(gy * y) over a row in double (a product of two floats is exact there),
 * in two accumulators. Full vectors as 4-float loads widened straight from
 * memory: a masked load of a full vector is the slower, and widening the
 * upper half of an 8-float load takes a vextractf128 more. The pieces are
 * shared by the sum on its own and the sum inside the previous row's
 * gradient loop, so both give the same bits.
 */
static inline __attribute__((always_inline)) void s4j_dot_vector(__m256d *a0, __m256d *a1, const float *gy,
                                                                 const float *y) {
  *a0 = _mm256_add_pd(*a0, _mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(gy)), _mm256_cvtps_pd(_mm_loadu_ps(y))));
  *a1 = _mm256_add_pd(*a1, _mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(gy + 4)),
                                         _mm256_cvtps_pd(_mm_loadu_ps(y + 4))));
}

/* The floats [j, cols) after the last full vector, and the total. */
static inline __attribute__((always_inline)) double s4j_dot_finish(__m256d a0, __m256d a1, size_t j, size_t cols,
                                                                   const float *gy, const float *y) {
  if (j < cols) {
    const __m256i mask = s4j_tail(cols - j);
    const __m256 g = _mm256_maskload_ps(gy + j, mask), o = _mm256_maskload_ps(y + j, mask);
    a0 = _mm256_add_pd(a0, _mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(g)),
                                         _mm256_cvtps_pd(_mm256_castps256_ps128(o))));
    a1 = _mm256_add_pd(a1, _mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(g, 1)),
                                         _mm256_cvtps_pd(_mm256_extractf128_ps(o, 1))));
  }
  return s4j_hsum_f64(_mm256_add_pd(a0, a1));
}

static inline double s4j_row_dot(size_t cols, const float *gy, const float *y) {
  __m256d a0 = _mm256_setzero_pd(), a1 = a0;
  size_t j = 0;
  for (; j + S4J_LANES <= cols; j += S4J_LANES) s4j_dot_vector(&a0, &a1, gy + j, y + j);
  return s4j_dot_finish(a0, a1, j, cols, gy, y);
}

/* Out of cache, the fused loop asks for the next rows' lines this many
 * floats (4 KiB) ahead, as the log-softmax backward. */
#define S4J_SOFTMAX_BWD_PREFETCH 1024

/* The gradient of one row (as s4j_row_grad) and, in the same loop, the next
 * row's sum (returned, the same bits as s4j_row_dot's), as in the AVX-512
 * file: the next row's reads overlap the gradient pass. */
static inline __attribute__((always_inline)) double s4j_row_grad_next_dot(size_t n, const float *gy,
                                                                          const float *y, float *gx,
                                                                          __m256 vs, const float *gyn,
                                                                          const float *yn, const int stream) {
  __m256d a0 = _mm256_setzero_pd(), a1 = a0;
  size_t i = stream ? s4j_grad_head(n, gy, y, gx, vs) : 0, j = 0;
  for (; i + S4J_LANES <= n && j + S4J_LANES <= n; i += S4J_LANES, j += S4J_LANES) {
    s4j_grad_vector(gy + i, y + i, gx + i, vs, stream);
    if (stream && j % 16 == 0) {
      /* A line of each every 16 floats; addresses, not pointers: past the
       * row's end they are the rows after. */
      _mm_prefetch((const char *) ((uintptr_t) (gyn + j) + S4J_SOFTMAX_BWD_PREFETCH * sizeof(float)), _MM_HINT_T0);
      _mm_prefetch((const char *) ((uintptr_t) (yn + j) + S4J_SOFTMAX_BWD_PREFETCH * sizeof(float)), _MM_HINT_T0);
    }
    s4j_dot_vector(&a0, &a1, gyn + j, yn + j);
  }
  for (; j + S4J_LANES <= n; j += S4J_LANES) s4j_dot_vector(&a0, &a1, gyn + j, yn + j);
  s4j_grad_rest(i, n, gy, y, gx, vs, stream);
  return s4j_dot_finish(a0, a1, j, n, gyn, yn);
}

/* The first row's sum on its own, then each row's gradient with the next
 * row's sum (s4j_row_grad_next_dot). */
static inline __attribute__((always_inline)) void s4j_softmax_bwd_rows(size_t rows, size_t cols,
                                                                       const float *gy, const float *y,
                                                                       float *gx, const int stream) {
  float sum = (float) s4j_row_dot(cols, gy, y);
  for (size_t r = 0; r + 1 < rows; r++, gy += cols, y += cols, gx += cols) {
    sum = (float) s4j_row_grad_next_dot(cols, gy, y, gx, _mm256_set1_ps(sum), gy + cols, y + cols, stream);
  }
  s4j_row_grad(cols, gy, y, gx, _mm256_set1_ps(sum), stream);
}

void s4j_f32_softmax_rows_bwd_ukernel__avx2(size_t rows, size_t cols, const float *gy,
                                            const float *y, float *gx) {
  if (s4j_use_stream_stores(rows, cols, gx)) {
    s4j_softmax_bwd_rows(rows, cols, gy, y, gx, 1);
    _mm_sfence();
  } else {
    s4j_softmax_bwd_rows(rows, cols, gy, y, gx, 0);
  }
}
