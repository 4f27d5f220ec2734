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

void s4j_f32_softmax_rows_fwd_ukernel__avx512(size_t rows, size_t cols, const float *x, float *y) {
  const struct s4j_exp_f32_avx512_consts k = s4j_exp_f32_avx512_init();
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

/* gx = y * (gy - s) over n floats, with non-temporal stores after a masked
 * head that aligns gx to 64 bytes when `stream`. */
static inline void s4j_row_grad(size_t n, const float *gy, const float *y, float *gx, __m512 vs,
                                int stream) {
  size_t i = 0;
  if (stream) {
    const size_t head = ((64u - ((uintptr_t) gx & 63u)) & 63u) / sizeof(float);
    if (head != 0) {
      const size_t h = head < n ? head : n;
      const __mmask16 mask = s4j_tail(h);
      const __m512 g = _mm512_maskz_loadu_ps(mask, gy), o = _mm512_maskz_loadu_ps(mask, y);
      _mm512_mask_storeu_ps(gx, mask, _mm512_mul_ps(o, _mm512_sub_ps(g, vs)));
      i = h;
    }
    for (; i + S4J_LANES <= n; i += S4J_LANES) {
      const __m512 g = _mm512_loadu_ps(gy + i), o = _mm512_loadu_ps(y + i);
      _mm512_stream_ps(gx + i, _mm512_mul_ps(o, _mm512_sub_ps(g, vs)));
    }
  } else {
    for (; i + S4J_LANES <= n; i += S4J_LANES) {
      const __m512 g = _mm512_loadu_ps(gy + i), o = _mm512_loadu_ps(y + i);
      _mm512_storeu_ps(gx + i, _mm512_mul_ps(o, _mm512_sub_ps(g, vs)));
    }
  }
  if (i < n) {
    const __mmask16 mask = s4j_tail(n - i);
    const __m512 g = _mm512_maskz_loadu_ps(mask, gy + i), o = _mm512_maskz_loadu_ps(mask, y + i);
    _mm512_mask_storeu_ps(gx + i, mask, _mm512_mul_ps(o, _mm512_sub_ps(g, vs)));
  }
}

void s4j_f32_softmax_rows_bwd_ukernel__avx512(size_t rows, size_t cols, const float *gy,
                                              const float *y, float *gx) {
  const int stream = s4j_use_stream_stores(rows, cols, gx);
  for (size_t r = 0; r < rows; r++, gy += cols, y += cols, gx += cols) {
    __m512d a0 = _mm512_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    /* gy * y in double: a product of two floats is exact there. Each 8
     * floats are widened straight from their load: widening the upper half
     * of a 16-float load takes a vextractf32x8 more, a shuffle that bound
     * this loop (as in softmax_dim_f32_avx512.c's s4j_add_row). */
    for (; i + 2 * S4J_LANES <= cols; i += 2 * S4J_LANES) {
      a0 = _mm512_add_pd(a0, _mm512_mul_pd(_mm512_cvtps_pd(_mm256_loadu_ps(gy + i)),
                                           _mm512_cvtps_pd(_mm256_loadu_ps(y + i))));
      a1 = _mm512_add_pd(a1, _mm512_mul_pd(_mm512_cvtps_pd(_mm256_loadu_ps(gy + i + 8)),
                                           _mm512_cvtps_pd(_mm256_loadu_ps(y + i + 8))));
      a2 = _mm512_add_pd(a2, _mm512_mul_pd(_mm512_cvtps_pd(_mm256_loadu_ps(gy + i + 16)),
                                           _mm512_cvtps_pd(_mm256_loadu_ps(y + i + 16))));
      a3 = _mm512_add_pd(a3, _mm512_mul_pd(_mm512_cvtps_pd(_mm256_loadu_ps(gy + i + 24)),
                                           _mm512_cvtps_pd(_mm256_loadu_ps(y + i + 24))));
    }
    for (; i < cols; i += S4J_LANES) {
      const __mmask16 mask = s4j_tail(cols - i);
      const __m512 g = _mm512_maskz_loadu_ps(mask, gy + i), o = _mm512_maskz_loadu_ps(mask, y + i);
      a0 = _mm512_add_pd(a0, _mm512_mul_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(g)),
                                           _mm512_cvtps_pd(_mm512_castps512_ps256(o))));
      a1 = _mm512_add_pd(a1, _mm512_mul_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(g, 1)),
                                           _mm512_cvtps_pd(_mm512_extractf32x8_ps(o, 1))));
    }
    const double sum = _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(a0, a1), _mm512_add_pd(a2, a3)));
    s4j_row_grad(cols, gy, y, gx, _mm512_set1_ps((float) sum), stream);
  }
  if (stream) _mm_sfence();
}
