/*
 * softmax_rows_f32_avx512.c - softmax over rows, 16 floats per vector, two
 * vectors per iteration, opmask tails. The algorithm is in
 * softmax_rows_f32.h.
 */
#include <immintrin.h>
#include <math.h> /* INFINITY */
#include <stddef.h>
#include <stdint.h>

#include "kernels/log_softmax_f32.h" /* s4j_use_stream_stores */
#include "kernels/softmax_rows_f32.h"
#include "math/exp_f32_avx512.h"
#include "math/lanes_avx512.h"
#include "math/log_f64.h"

#define S4J_LANES 16

static inline __mmask16 s4j_tail(size_t left) {
  return _cvtu32_mask16(left >= S4J_LANES ? 0xffffu : (1u << left) - 1u);
}

static inline double s4j_sum_f64(__m512 v) {
  const __m512d d = _mm512_add_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(v)),
                                  _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
  return _mm512_reduce_add_pd(d);
}

/* The row's maximum. Masked-off lanes read -inf: they never win. A NaN
 * that vmaxps drops still makes its exp, and the sum, NaN. */
static inline float s4j_row_max(const float *x, size_t cols) {
  const __m512 minus_inf = _mm512_set1_ps(-INFINITY);
  __m512 m0 = minus_inf, m1 = minus_inf;
  size_t i = 0;
  for (; i + 2 * S4J_LANES <= cols; i += 2 * S4J_LANES) {
    m0 = _mm512_max_ps(_mm512_loadu_ps(x + i), m0);
    m1 = _mm512_max_ps(_mm512_loadu_ps(x + i + S4J_LANES), m1);
  }
  for (; i < cols; i += S4J_LANES) {
    m0 = _mm512_max_ps(_mm512_mask_loadu_ps(minus_inf, s4j_tail(cols - i), x + i), m0);
  }
  return _mm512_reduce_max_ps(_mm512_max_ps(m0, m1));
}

/* sum(exp(x - max)) in float blocks carried in double. With y, each exp is
 * also stored there (the faithful exp: it is an output); without, only the
 * sum is needed and the sum-only exp of exp_f32.h does. With `ahead` (a
 * constant 0 in the copy without), each line's read asks for the line
 * `ahead` floats further (s4j_rows_prefetch_ahead). */
static inline __attribute__((always_inline)) double s4j_row_sum_exp(
    const float *x, size_t cols, float max, float *y, size_t ahead,
    const struct s4j_exp_f32_avx512_consts *k, const struct s4j_expsum_f32_avx512_consts *ks) {
  const __m512 vmax = _mm512_set1_ps(max);
  /* Bytes, not a pointer: past the last row a prefetch is a no-op. */
  const uintptr_t pf = (uintptr_t) x + ahead * sizeof(float);
  double sum = 0.0;
  for (size_t b = 0; b < cols; b += S4J_SOFTMAX_ROWS_BLOCK) {
    const size_t end = cols - b < S4J_SOFTMAX_ROWS_BLOCK ? cols : b + S4J_SOFTMAX_ROWS_BLOCK;
    __m512 s0 = _mm512_setzero_ps(), s1 = s0;
    size_t i = b;
    for (; i + 2 * S4J_LANES <= end; i += 2 * S4J_LANES) {
      if (ahead != 0) {
        _mm_prefetch((const char *) (pf + i * sizeof(float)), _MM_HINT_T0);
        _mm_prefetch((const char *) (pf + (i + S4J_LANES) * sizeof(float)), _MM_HINT_T0);
      }
      const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(x + i), vmax);
      const __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(x + i + S4J_LANES), vmax);
      const __m512 e0 = y != NULL ? s4j_exp_f32_avx512(d0, k) : s4j_expsum_f32_avx512(d0, ks);
      const __m512 e1 = y != NULL ? s4j_exp_f32_avx512(d1, k) : s4j_expsum_f32_avx512(d1, ks);
      if (y != NULL) {
        _mm512_storeu_ps(y + i, e0);
        _mm512_storeu_ps(y + i + S4J_LANES, e1);
      }
      s0 = _mm512_add_ps(s0, e0);
      s1 = _mm512_add_ps(s1, e1);
    }
    for (; i < end; i += S4J_LANES) {
      const __mmask16 mask = s4j_tail(end - i);
      const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(mask, x + i), vmax);
      const __m512 e = y != NULL ? s4j_exp_f32_avx512(d, k) : s4j_expsum_f32_avx512(d, ks);
      if (y != NULL) _mm512_mask_storeu_ps(y + i, mask, e);
      s0 = _mm512_mask_add_ps(s0, mask, s0, e);
    }
    sum += s4j_sum_f64(_mm512_add_ps(s0, s1));
  }
  return sum;
}

/* s4j_row_sum_exp for row r of `rows`, asking for the lines ahead
 * (s4j_rows_prefetch_ahead) where rows follow; the call without is a copy
 * of its own, free of the prefetches. */
static inline __attribute__((always_inline)) double s4j_row_sum_exp_ahead(
    const float *x, size_t cols, float max, float *y, int more, const struct s4j_exp_f32_avx512_consts *k,
    const struct s4j_expsum_f32_avx512_consts *ks) {
  const size_t ahead = more ? s4j_rows_prefetch_ahead(cols, y != NULL) : 0;
  if (ahead != 0) return s4j_row_sum_exp(x, cols, max, y, ahead, k, ks);
  return s4j_row_sum_exp(x, cols, max, y, 0, k, ks);
}

/*
 * Rows of at most S4J_SOFTMAX_SHORT_COLS columns: the whole row in registers
 * (up to 8 vectors), read once, every reduction across the lanes in
 * registers, two rows a step (four up to 64 columns), as the log-softmax
 * short rows (s4j_fwd_short_step, log_softmax_f32_avx512.c): for such rows
 * the three passes and the scalar double reductions of the long path cost
 * more than the arithmetic, and one row's chain of max, exp, sum and
 * division, run alone, leaves the core idle. The sum is a float sum along
 * the vectors (at most 8 terms per lane, then 4 levels across the lanes:
 * relative error <= 11 * 2^-24 = 6.6e-7) and the scale one float division.
 */
#define S4J_SOFTMAX_SHORT_COLS (S4J_LANES * S4J_SHORT_ROW_VECS)

/* How short rows write their output: into cache (an output under
 * S4J_STREAM_MIN_BYTES); streamed past it (whole aligned vectors); or to
 * memory through the cache, the lines of y asked for ahead, for writing. */
#define S4J_SHORT_CACHED 0
#define S4J_SHORT_STREAMED 1
#define S4J_SHORT_AHEAD 2

/* `nr` rows (1, 2 or 4, a constant) `cols` apart, nv = ceil(cols / 16)
 * vectors each (a constant in each instantiation), step by step; `out`
 * (a constant) one of the S4J_SHORT_* above. */
static inline __attribute__((always_inline)) void s4j_softmax_short_step(
    size_t cols, const float *x, float *y, const int nv, const int nr, const int out,
    const __mmask16 *vmask, const int last, const struct s4j_exp_f32_avx512_consts *k) {
  const __m512 one = _mm512_set1_ps(1.0f);
  if (out != S4J_SHORT_CACHED) {
    /* Out of cache: the lines of x 8 KB ahead, as the log-softmax short
     * rows (S4J_ROW_PREFETCH_AHEAD), and without streams those of y
     * too, for writing. Streamed without them, [65536,128] and [262144,32]
     * ran 0.84-2.5 x the long path's time from run to run, with them
     * 0.55-0.86; written through the cache without them, [65536,100] and
     * [65536,128] 1.4-2.5 x, with them [65536,100] 0.66, [279424,81] 0.76,
     * [131072,33] 0.47. An address, not a pointer: past the last row a
     * prefetch is a no-op. */
#pragma GCC unroll 4
    for (int q = 0; q < nr; q++) {
      const uintptr_t ahead = (uintptr_t) (x + (size_t) q * cols) + S4J_ROW_PREFETCH_AHEAD * sizeof(float);
#pragma GCC unroll 8
      for (int j = 0; j < nv; j++) _mm_prefetch((const char *) (ahead + 64u * (unsigned) j), _MM_HINT_T0);
      if (out == S4J_SHORT_AHEAD) {
        const uintptr_t wahead = (uintptr_t) (y + (size_t) q * cols) + S4J_ROW_PREFETCH_AHEAD * sizeof(float);
#pragma GCC unroll 8
        for (int j = 0; j < nv; j++) _m_prefetchw((void *) (wahead + 64u * (unsigned) j));
      }
    }
  }
  __m512 v[S4J_SHORT_STEP_ROWS][S4J_SHORT_ROW_VECS], vmax[S4J_SHORT_STEP_ROWS], vscale[S4J_SHORT_STEP_ROWS];
  s4j_short_rows_load_max(cols, x, nv, nr, vmask, last, v, vmax);
#pragma GCC unroll 4
  for (int q = 0; q < nr; q++) {
    /* The faithful exp: it is the output. The sum runs along the vectors
     * (no copies of them to add pairwise: with two rows of eight vectors
     * live, those spilled). */
    v[q][0] = s4j_exp_f32_avx512(_mm512_sub_ps(v[q][0], vmax[q]), k);
    vscale[q] = v[q][0];
#pragma GCC unroll 8
    for (int j = 1; j < nv; j++) {
      v[q][j] = s4j_exp_f32_avx512(_mm512_sub_ps(v[q][j], vmax[q]), k);
      vscale[q] = _mm512_add_ps(vscale[q], v[q][j]);
    }
  }
#pragma GCC unroll 4
  for (int q = 0; q < nr; q++) vscale[q] = _mm512_div_ps(one, s4j_allsum(vscale[q]));
#pragma GCC unroll 4
  for (int q = 0; q < nr; q++) {
    if (out == S4J_SHORT_STREAMED) {
#pragma GCC unroll 8
      for (int j = 0; j < nv; j++) _mm512_stream_ps(y + (size_t) q * cols + 16 * j, _mm512_mul_ps(v[q][j], vscale[q]));
    } else {
#pragma GCC unroll 8
      for (int j = 0; j < nv; j++) {
        const __m512 o = _mm512_mul_ps(v[q][j], vscale[q]);
        if (last && q == nr - 1 && j == nv - 1 && cols % 16 != 0) {
          s4j_store_exact(y + (size_t) q * cols + 16 * j, cols % 16, o);
        } else {
          _mm512_mask_storeu_ps(y + (size_t) q * cols + 16 * j, vmask[j], o);
        }
      }
    }
  }
}

/* All rows, a few at a time (s4j_softmax_short_step), the last ones alone. */
static inline __attribute__((always_inline)) void s4j_softmax_short_rows(
    size_t rows, size_t cols, const float *x, float *y, const int nv, const int out,
    const struct s4j_exp_f32_avx512_consts *k) {
  __mmask16 vmask[S4J_SHORT_ROW_VECS];
  for (int j = 0; j < nv; j++) vmask[j] = s4j_tail(cols - (size_t) j * 16);
  /* Four rows of more than four vectors would spill (as in the log-softmax
   * short rows). */
  const int nr = nv <= 4 ? 4 : 2;
  size_t r = 0;
  for (; r + (size_t) nr <= rows; r += (size_t) nr) {
    if (nr == 4) {
      s4j_softmax_short_step(cols, x + r * cols, y + r * cols, nv, 4, out, vmask, 0, k);
    } else {
      s4j_softmax_short_step(cols, x + r * cols, y + r * cols, nv, 2, out, vmask, 0, k);
    }
  }
  for (; r < rows; r++) s4j_softmax_short_step(cols, x + r * cols, y + r * cols, nv, 1, out, vmask, 0, k);
}

/* One short row whose partial last vector is read and written exactly: the
 * last row of a call whose x and y lie less than a vector apart
 * (s4j_buffers_near, log_softmax_f32.h). */
static void s4j_softmax_short_last_row(size_t cols, const float *x, float *y,
                                       const struct s4j_exp_f32_avx512_consts *k) {
  __mmask16 vmask[S4J_SHORT_ROW_VECS];
  const int nv = (int) ((cols + 15) / 16);
  for (int j = 0; j < nv; j++) vmask[j] = s4j_tail(cols - (size_t) j * 16);
  switch (nv) {
    case 1: s4j_softmax_short_step(cols, x, y, 1, 1, S4J_SHORT_CACHED, vmask, 1, k); break;
    case 2: s4j_softmax_short_step(cols, x, y, 2, 1, S4J_SHORT_CACHED, vmask, 1, k); break;
    case 3: s4j_softmax_short_step(cols, x, y, 3, 1, S4J_SHORT_CACHED, vmask, 1, k); break;
    case 4: s4j_softmax_short_step(cols, x, y, 4, 1, S4J_SHORT_CACHED, vmask, 1, k); break;
    case 5: s4j_softmax_short_step(cols, x, y, 5, 1, S4J_SHORT_CACHED, vmask, 1, k); break;
    case 6: s4j_softmax_short_step(cols, x, y, 6, 1, S4J_SHORT_CACHED, vmask, 1, k); break;
    case 7: s4j_softmax_short_step(cols, x, y, 7, 1, S4J_SHORT_CACHED, vmask, 1, k); break;
    default: s4j_softmax_short_step(cols, x, y, 8, 1, S4J_SHORT_CACHED, vmask, 1, k); break;
  }
}

static inline __attribute__((always_inline)) void s4j_softmax_short(
    size_t rows, size_t cols, const float *x, float *y, const int out,
    const struct s4j_exp_f32_avx512_consts *k) {
  switch ((cols + 15) / 16) {
    case 1: s4j_softmax_short_rows(rows, cols, x, y, 1, out, k); break;
    case 2: s4j_softmax_short_rows(rows, cols, x, y, 2, out, k); break;
    case 3: s4j_softmax_short_rows(rows, cols, x, y, 3, out, k); break;
    case 4: s4j_softmax_short_rows(rows, cols, x, y, 4, out, k); break;
    case 5: s4j_softmax_short_rows(rows, cols, x, y, 5, out, k); break;
    case 6: s4j_softmax_short_rows(rows, cols, x, y, 6, out, k); break;
    case 7: s4j_softmax_short_rows(rows, cols, x, y, 7, out, k); break;
    default: s4j_softmax_short_rows(rows, cols, x, y, 8, out, k); break;
  }
}

void s4j_f32_softmax_rows_fwd_ukernel__avx512(size_t rows, size_t cols, const float *x, float *y) {
  const struct s4j_exp_f32_avx512_consts k = s4j_exp_f32_avx512_init();
  if (cols <= S4J_SOFTMAX_SHORT_COLS) {
    const int stream = s4j_use_stream_stores(rows, cols, y);
    if (!stream && cols % 16 != 0 && s4j_buffers_near(x, y, rows * cols * sizeof(float), cols)) {
      /* x and y next to each other: the last row alone, read and written
       * exactly. */
      const size_t last = (rows - 1) * cols;
      if (rows > 1) s4j_softmax_short(rows - 1, cols, x, y, S4J_SHORT_CACHED, &k);
      s4j_softmax_short_last_row(cols, x + last, y + last, &k);
    } else if (!stream) {
      s4j_softmax_short(rows, cols, x, y, S4J_SHORT_CACHED, &k);
    } else if (cols % 16 == 0 && ((uintptr_t) y & 63u) == 0) {
      s4j_softmax_short(rows, cols, x, y, S4J_SHORT_STREAMED, &k);
      _mm_sfence();
    } else {
      s4j_softmax_short(rows, cols, x, y, S4J_SHORT_AHEAD, &k);
    }
    return;
  }
  const struct s4j_expsum_f32_avx512_consts ks = s4j_expsum_f32_avx512_init();
  for (size_t r = 0; r < rows; r++, x += cols, y += cols) {
    const double sum = s4j_row_sum_exp_ahead(x, cols, s4j_row_max(x, cols), y, r + 1 < rows, &k, &ks);
    const __m512 scale = _mm512_set1_ps((float) (1.0 / sum));
    size_t i = 0;
    for (; i + S4J_LANES <= cols; i += S4J_LANES) {
      _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_loadu_ps(y + i), scale));
    }
    if (i < cols) {
      const __mmask16 mask = s4j_tail(cols - i);
      _mm512_mask_storeu_ps(y + i, mask, _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, y + i), scale));
    }
  }
}

void s4j_f32_logsumexp_rows_ukernel__avx512(size_t rows, size_t cols, const float *x, float *out) {
  const struct s4j_exp_f32_avx512_consts k = s4j_exp_f32_avx512_init();
  const struct s4j_expsum_f32_avx512_consts ks = s4j_expsum_f32_avx512_init();
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
void s4j_f32_logsumexp_rows_bwd_ukernel__avx512(size_t rows, size_t cols, const float *gy,
                                                const float *x, float *gx) {
  const struct s4j_exp_f32_avx512_consts k = s4j_exp_f32_avx512_init();
  const struct s4j_expsum_f32_avx512_consts ks = s4j_expsum_f32_avx512_init();
  for (size_t r = 0; r < rows; r++, x += cols, gx += cols) {
    const double sum = s4j_row_sum_exp_ahead(x, cols, s4j_row_max(x, cols), gx, r + 1 < rows, &k, &ks);
    const __m512 scale = _mm512_set1_ps((float) ((double) gy[r] / sum));
    size_t i = 0;
    for (; i + 4 * S4J_LANES <= cols; i += 4 * S4J_LANES) {
      const __m512 e0 = _mm512_loadu_ps(gx + i), e1 = _mm512_loadu_ps(gx + i + S4J_LANES);
      const __m512 e2 = _mm512_loadu_ps(gx + i + 2 * S4J_LANES), e3 = _mm512_loadu_ps(gx + i + 3 * S4J_LANES);
      _mm512_storeu_ps(gx + i, _mm512_mul_ps(e0, scale));
      _mm512_storeu_ps(gx + i + S4J_LANES, _mm512_mul_ps(e1, scale));
      _mm512_storeu_ps(gx + i + 2 * S4J_LANES, _mm512_mul_ps(e2, scale));
      _mm512_storeu_ps(gx + i + 3 * S4J_LANES, _mm512_mul_ps(e3, scale));
    }
    for (; i < cols; i += S4J_LANES) {
      const __mmask16 mask = s4j_tail(cols - i);
      _mm512_mask_storeu_ps(gx + i, mask, _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, gx + i), scale));
    }
  }
}

/* The head of a streamed gradient row: gx = y * (gy - s) for the floats
 * before gx's next 64 bytes, masked; returns how many. */
static inline size_t s4j_grad_head(size_t n, const float *gy, const float *y, float *gx, __m512 vs) {
  const size_t head = ((64u - ((uintptr_t) gx & 63u)) & 63u) / sizeof(float);
  const size_t h = head < n ? head : n;
  if (h != 0) {
    const __mmask16 mask = s4j_tail(h);
    const __m512 g = _mm512_maskz_loadu_ps(mask, gy), o = _mm512_maskz_loadu_ps(mask, y);
    _mm512_mask_storeu_ps(gx, mask, _mm512_mul_ps(o, _mm512_sub_ps(g, vs)));
  }
  return h;
}

/* gx = y * (gy - s) for one full vector; non-temporal when `stream` (gx
 * then 64-byte aligned). */
static inline __attribute__((always_inline)) void s4j_grad_vector(const float *gy, const float *y, float *gx,
                                                                  __m512 vs, int stream) {
  const __m512 r = _mm512_mul_ps(_mm512_loadu_ps(y), _mm512_sub_ps(_mm512_loadu_ps(gy), vs));
  if (stream) {
    _mm512_stream_ps(gx, r);
  } else {
    _mm512_storeu_ps(gx, r);
  }
}

/* gx = y * (gy - s) for the floats [i, n): full vectors (s4j_grad_vector),
 * then the partial last one; `exact` (a constant): that one read and
 * written exactly (s4j_load_exact). */
static inline __attribute__((always_inline)) void s4j_grad_rest(size_t i, size_t n, const float *gy,
                                                                const float *y, float *gx, __m512 vs,
                                                                int stream, const int exact) {
  for (; i + S4J_LANES <= n; i += S4J_LANES) s4j_grad_vector(gy + i, y + i, gx + i, vs, stream);
  if (i < n && exact) {
    const __m512 zero = _mm512_setzero_ps();
    const __m512 g = s4j_load_exact(gy + i, n - i, zero), o = s4j_load_exact(y + i, n - i, zero);
    s4j_store_exact(gx + i, n - i, _mm512_mul_ps(o, _mm512_sub_ps(g, vs)));
  } else if (i < n) {
    const __mmask16 mask = s4j_tail(n - i);
    const __m512 g = _mm512_maskz_loadu_ps(mask, gy + i), o = _mm512_maskz_loadu_ps(mask, y + i);
    _mm512_mask_storeu_ps(gx + i, mask, _mm512_mul_ps(o, _mm512_sub_ps(g, vs)));
  }
}

/* gx = y * (gy - s) over a row, with non-temporal stores after a masked
 * head that aligns gx to 64 bytes when `stream`. */
static inline __attribute__((always_inline)) void s4j_row_grad(size_t n, const float *gy, const float *y,
                                                               float *gx, __m512 vs, int stream,
                                                               const int exact) {
  s4j_grad_rest(stream ? s4j_grad_head(n, gy, y, gx, vs) : 0, n, gy, y, gx, vs, stream, exact);
}

/*
 * sum(gy * y) over a row in double, a product of two floats being exact
 * there, in four accumulators: each 32-float block's quarters into a0..a3,
 * the rest 16 floats at a time into a0 and a1. Each 8 floats are widened
 * straight from their load: widening the upper half of a 16-float load
 * takes a vextractf32x8 more, a shuffle that bound this loop (as in
 * softmax_dim_f32_avx512.c's s4j_add_row). The pieces below are shared by
 * the sum on its own and the sum run inside the previous row's gradient
 * loop, so both give the same bits.
 */
struct s4j_dot {
  __m512d a0, a1, a2, a3;
};

static inline __attribute__((always_inline)) void s4j_dot_block(struct s4j_dot *d, const float *gy,
                                                                const float *y) {
  d->a0 = _mm512_add_pd(d->a0, _mm512_mul_pd(_mm512_cvtps_pd(_mm256_loadu_ps(gy)),
                                             _mm512_cvtps_pd(_mm256_loadu_ps(y))));
  d->a1 = _mm512_add_pd(d->a1, _mm512_mul_pd(_mm512_cvtps_pd(_mm256_loadu_ps(gy + 8)),
                                             _mm512_cvtps_pd(_mm256_loadu_ps(y + 8))));
  d->a2 = _mm512_add_pd(d->a2, _mm512_mul_pd(_mm512_cvtps_pd(_mm256_loadu_ps(gy + 16)),
                                             _mm512_cvtps_pd(_mm256_loadu_ps(y + 16))));
  d->a3 = _mm512_add_pd(d->a3, _mm512_mul_pd(_mm512_cvtps_pd(_mm256_loadu_ps(gy + 24)),
                                             _mm512_cvtps_pd(_mm256_loadu_ps(y + 24))));
}

/* The floats [j, cols) after the last whole block, 16 at a time; `exact`
 * (a constant): the partial last vector read exactly (s4j_load_exact). */
static inline __attribute__((always_inline)) double s4j_dot_finish(struct s4j_dot *d, size_t j, size_t cols,
                                                                   const float *gy, const float *y,
                                                                   const int exact) {
  for (; j < cols; j += S4J_LANES) {
    const __mmask16 mask = s4j_tail(cols - j);
    const int part = exact && cols - j < S4J_LANES;
    const __m512 zero = _mm512_setzero_ps();
    const __m512 g = part ? s4j_load_exact(gy + j, cols - j, zero) : _mm512_maskz_loadu_ps(mask, gy + j);
    const __m512 o = part ? s4j_load_exact(y + j, cols - j, zero) : _mm512_maskz_loadu_ps(mask, y + j);
    d->a0 = _mm512_add_pd(d->a0, _mm512_mul_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(g)),
                                               _mm512_cvtps_pd(_mm512_castps512_ps256(o))));
    d->a1 = _mm512_add_pd(d->a1, _mm512_mul_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(g, 1)),
                                               _mm512_cvtps_pd(_mm512_extractf32x8_ps(o, 1))));
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(d->a0, d->a1), _mm512_add_pd(d->a2, d->a3)));
}

static inline __attribute__((always_inline)) double s4j_row_dot(size_t cols, const float *gy, const float *y,
                                                                const int exact) {
  const __m512d zero = _mm512_setzero_pd();
  struct s4j_dot d = {zero, zero, zero, zero};
  size_t j = 0;
  for (; j + 2 * S4J_LANES <= cols; j += 2 * S4J_LANES) s4j_dot_block(&d, gy + j, y + j);
  return s4j_dot_finish(&d, j, cols, gy, y, exact);
}

/* Out of cache, the fused loop asks for the next rows' lines this many
 * floats (4 KiB) ahead, as the log-softmax backward. */
#define S4J_SOFTMAX_BWD_PREFETCH 1024

/*
 * The gradient of one row (as s4j_row_grad, not exact) and, in the same
 * loop, sum(gyn * yn) of the next row (returned, the same bits as
 * s4j_row_dot's). The gradient pass reads its row from cache and leaves
 * memory idle; the next row's reads, and out of cache the lines asked for
 * ahead of them, now overlap it.
 */
static inline __attribute__((always_inline)) double s4j_row_grad_next_dot(size_t n, const float *gy,
                                                                          const float *y, float *gx,
                                                                          __m512 vs, const float *gyn,
                                                                          const float *yn, const int stream) {
  const __m512d zero = _mm512_setzero_pd();
  struct s4j_dot d = {zero, zero, zero, zero};
  size_t i = stream ? s4j_grad_head(n, gy, y, gx, vs) : 0, j = 0;
  for (; i + 2 * S4J_LANES <= n && j + 2 * S4J_LANES <= n; i += 2 * S4J_LANES, j += 2 * S4J_LANES) {
    s4j_grad_vector(gy + i, y + i, gx + i, vs, stream);
    s4j_grad_vector(gy + i + S4J_LANES, y + i + S4J_LANES, gx + i + S4J_LANES, vs, stream);
    if (stream) {
      /* Addresses, not pointers: past the row's end they are the rows after. */
      const uintptr_t ahead_g = (uintptr_t) (gyn + j) + S4J_SOFTMAX_BWD_PREFETCH * sizeof(float);
      const uintptr_t ahead_y = (uintptr_t) (yn + j) + S4J_SOFTMAX_BWD_PREFETCH * sizeof(float);
      _mm_prefetch((const char *) ahead_g, _MM_HINT_T0);
      _mm_prefetch((const char *) (ahead_g + 64), _MM_HINT_T0);
      _mm_prefetch((const char *) ahead_y, _MM_HINT_T0);
      _mm_prefetch((const char *) (ahead_y + 64), _MM_HINT_T0);
    }
    s4j_dot_block(&d, gyn + j, yn + j);
  }
  for (; j + 2 * S4J_LANES <= n; j += 2 * S4J_LANES) s4j_dot_block(&d, gyn + j, yn + j);
  s4j_grad_rest(i, n, gy, y, gx, vs, stream, 0);
  return s4j_dot_finish(&d, j, n, gyn, yn, 0);
}

/* Rows that follow each other: the first row's sum on its own, then each
 * row's gradient with the next row's sum (s4j_row_grad_next_dot). */
static inline __attribute__((always_inline)) void s4j_softmax_bwd_rows(size_t rows, size_t cols,
                                                                       const float *gy, const float *y,
                                                                       float *gx, const int stream) {
  float sum = (float) s4j_row_dot(cols, gy, y, 0);
  for (size_t r = 0; r + 1 < rows; r++, gy += cols, y += cols, gx += cols) {
    sum = (float) s4j_row_grad_next_dot(cols, gy, y, gx, _mm512_set1_ps(sum), gy + cols, y + cols, stream);
  }
  s4j_row_grad(cols, gy, y, gx, _mm512_set1_ps(sum), stream, 0);
}

/* The last row alone, its partial last vector read and written exactly
 * (see the ukernel), the sum's loads too. */
static void s4j_softmax_bwd_last_row(size_t cols, const float *gy, const float *y, float *gx, int stream) {
  const double sum = s4j_row_dot(cols, gy, y, 1);
  s4j_row_grad(cols, gy, y, gx, _mm512_set1_ps((float) sum), stream, 1);
}

void s4j_f32_softmax_rows_bwd_ukernel__avx512(size_t rows, size_t cols, const float *gy,
                                              const float *y, float *gx) {
  const int stream = s4j_use_stream_stores(rows, cols, gx);
  /* Two of the buffers less than a vector apart (s4j_buffers_near): the
   * last row reads and writes their partial last vectors exactly. */
  const int near = s4j_backward_buffers_near(gy, y, gx, rows * cols * sizeof(float), cols);
  const size_t common = near ? rows - 1 : rows;
  if (common != 0 && stream) {
    s4j_softmax_bwd_rows(common, cols, gy, y, gx, 1);
  } else if (common != 0) {
    s4j_softmax_bwd_rows(common, cols, gy, y, gx, 0);
  }
  const size_t at = common * cols;
  if (near) s4j_softmax_bwd_last_row(cols, gy + at, y + at, gx + at, stream);
  if (stream) _mm_sfence();
}
