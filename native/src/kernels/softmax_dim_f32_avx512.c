/*
 * softmax_dim_f32_avx512.c - log-softmax and softmax over a middle dimension,
 * 32 inner positions (two vectors) per group, opmask tails. The algorithm is
 * in softmax_dim_f32.h.
 */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/softmax_dim_f32.h"
#include "math/exp_f32_avx512.h"
#include "math/log_f64_avx512.h"

#define S4J_LANES 16

/* The lanes of the vector `done` positions into a group of `left`. */
static inline __mmask16 s4j_lanes(size_t left, size_t done) {
  if (done >= left) return 0;
  return _cvtu32_mask16(left - done >= S4J_LANES ? 0xffffu : (1u << (left - done)) - 1u);
}

/* The 16 floats of v, widened, added to lo (lanes 0-7) and hi (8-15). */
static inline void s4j_add_f64(__m512d *lo, __m512d *hi, __m512 v) {
  *lo = _mm512_add_pd(*lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
  *hi = _mm512_add_pd(*hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
}

/* The 16 products a * b, exact in double, added to lo and hi. */
static inline void s4j_add_products_f64(__m512d *lo, __m512d *hi, __m512 a, __m512 b) {
  *lo = _mm512_add_pd(*lo, _mm512_mul_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(a)),
                                         _mm512_cvtps_pd(_mm512_castps512_ps256(b))));
  *hi = _mm512_add_pd(*hi, _mm512_mul_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(a, 1)),
                                         _mm512_cvtps_pd(_mm512_extractf32x8_ps(b, 1))));
}

static inline __m512 s4j_join_f32(__m512d lo, __m512d hi) {
  return _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo)), _mm512_cvtpd_ps(hi), 1);
}

/*
 * One group: the `left` (or 32, if fewer) positions from x (at [o, 0, j])
 * down all dim rows. `two` (a constant after inlining) says whether the
 * group has a second vector; a one-vector group skips its work entirely.
 */
static inline __attribute__((always_inline)) void s4j_forward_group(
    enum s4j_softmax_kind kind, int two, size_t dim, size_t inner, size_t left, const float *x,
    float *y, const struct s4j_exp_f32_avx512_consts *k, const struct s4j_expsum_f32_avx512_consts *ks) {
  const __mmask16 m0 = s4j_lanes(left, 0), m1 = s4j_lanes(left, S4J_LANES);

  /* Lanes outside the group load 0 and are never stored: harmless. */
  __m512 vmax0 = _mm512_maskz_loadu_ps(m0, x), vmax1 = _mm512_setzero_ps();
  if (two) vmax1 = _mm512_maskz_loadu_ps(m1, x + S4J_LANES);
  for (size_t c = 1; c < dim; c++) {
    const float *row = x + c * inner;
    /* A NaN that vmaxps drops here still makes its exp, and the sum, NaN. */
    vmax0 = _mm512_max_ps(_mm512_maskz_loadu_ps(m0, row), vmax0);
    if (two) vmax1 = _mm512_max_ps(_mm512_maskz_loadu_ps(m1, row + S4J_LANES), vmax1);
  }

  __m512d s0 = _mm512_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
  for (size_t c0 = 0; c0 < dim; c0 += S4J_DIM_FLOAT_RUN) {
    const size_t c1 = dim - c0 < S4J_DIM_FLOAT_RUN ? dim : c0 + S4J_DIM_FLOAT_RUN;
    __m512 f0 = _mm512_setzero_ps(), f1 = f0;
    for (size_t c = c0; c < c1; c++) {
      const float *row = x + c * inner;
      float *out = y + c * inner;
      const __m512 d0 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m0, row), vmax0);
      /* Log-softmax only needs the sum: the cheaper sum-only exp (exp_f32.h).
       * Softmax keeps each exp as its output: the faithful one. */
      const __m512 e0 = kind == S4J_KIND_SOFTMAX ? s4j_exp_f32_avx512(d0, k) : s4j_expsum_f32_avx512(d0, ks);
      f0 = _mm512_add_ps(f0, e0);
      /* Softmax keeps exp(x - max) in y, to scale it in place below. */
      if (kind == S4J_KIND_SOFTMAX) _mm512_mask_storeu_ps(out, m0, e0);
      if (two) {
        const __m512 d1 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m1, row + S4J_LANES), vmax1);
        const __m512 e1 = kind == S4J_KIND_SOFTMAX ? s4j_exp_f32_avx512(d1, k) : s4j_expsum_f32_avx512(d1, ks);
        f1 = _mm512_add_ps(f1, e1);
        if (kind == S4J_KIND_SOFTMAX) _mm512_mask_storeu_ps(out + S4J_LANES, m1, e1);
      }
    }
    s4j_add_f64(&s0, &s1, f0);
    if (two) s4j_add_f64(&s2, &s3, f1);
  }

  if (kind == S4J_KIND_STATS) {
    /* y is [outer, inner, 2]: each position's max and log of its sum. */
    float m[2 * S4J_LANES], l[2 * S4J_LANES];
    _mm512_storeu_ps(m, vmax0);
    _mm512_storeu_ps(l, s4j_join_f32(s4j_log_f64_avx512(s0), s4j_log_f64_avx512(s1)));
    if (two) {
      _mm512_storeu_ps(m + S4J_LANES, vmax1);
      _mm512_storeu_ps(l + S4J_LANES, s4j_join_f32(s4j_log_f64_avx512(s2), s4j_log_f64_avx512(s3)));
    }
    const size_t w = left < 2 * S4J_LANES ? left : 2 * S4J_LANES;
    for (size_t i = 0; i < w; i++) {
      y[2 * i] = m[i];
      y[2 * i + 1] = l[i];
    }
    return;
  }
  if (kind == S4J_KIND_LOGSUMEXP) {
    /* y is the [outer, inner] output here: m + log(s) in double, rounded once. */
    const __m512 lse0 = s4j_join_f32(
        _mm512_add_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(vmax0)), s4j_log_f64_avx512(s0)),
        _mm512_add_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(vmax0, 1)), s4j_log_f64_avx512(s1)));
    _mm512_mask_storeu_ps(y, m0, lse0);
    if (two) {
      const __m512 lse1 = s4j_join_f32(
          _mm512_add_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(vmax1)), s4j_log_f64_avx512(s2)),
          _mm512_add_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(vmax1, 1)), s4j_log_f64_avx512(s3)));
      _mm512_mask_storeu_ps(y + S4J_LANES, m1, lse1);
    }
    return;
  }

  /* log(s) for log-softmax, 1/s for softmax, rounded to float once. */
  __m512 t0, t1 = _mm512_setzero_ps();
  if (kind == S4J_KIND_LOG_SOFTMAX) {
    t0 = s4j_join_f32(s4j_log_f64_avx512(s0), s4j_log_f64_avx512(s1));
    if (two) t1 = s4j_join_f32(s4j_log_f64_avx512(s2), s4j_log_f64_avx512(s3));
  } else {
    const __m512d one = _mm512_set1_pd(1.0);
    t0 = s4j_join_f32(_mm512_div_pd(one, s0), _mm512_div_pd(one, s1));
    if (two) t1 = s4j_join_f32(_mm512_div_pd(one, s2), _mm512_div_pd(one, s3));
  }

  for (size_t c = 0; c < dim; c++) {
    const float *row = x + c * inner;
    float *out = y + c * inner;
    if (kind == S4J_KIND_LOG_SOFTMAX) {
      _mm512_mask_storeu_ps(out, m0, _mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m0, row), vmax0), t0));
      if (two) {
        _mm512_mask_storeu_ps(out + S4J_LANES, m1, _mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m1, row + S4J_LANES), vmax1), t1));
      }
    } else {
      _mm512_mask_storeu_ps(out, m0, _mm512_mul_ps(_mm512_maskz_loadu_ps(m0, out), t0));
      if (two) _mm512_mask_storeu_ps(out + S4J_LANES, m1, _mm512_mul_ps(_mm512_maskz_loadu_ps(m1, out + S4J_LANES), t1));
    }
  }
}

static inline __attribute__((always_inline)) void s4j_backward_group(
    enum s4j_softmax_kind kind, int two, size_t dim, size_t inner, size_t left, const float *gy,
    const float *y, float *gx, const struct s4j_exp_f32_avx512_consts *k) {
  const __mmask16 m0 = s4j_lanes(left, 0), m1 = s4j_lanes(left, S4J_LANES);

  __m512d s0 = _mm512_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
  for (size_t c = 0; c < dim; c++) {
    const float *g = gy + c * inner;
    const float *o = y + c * inner;
    const __m512 g0 = _mm512_maskz_loadu_ps(m0, g);
    if (kind == S4J_KIND_LOG_SOFTMAX) {
      /* This pass does not read y, the next one does, between exps: fetch
       * y's lines now, while this light pass leaves the miss buffers free,
       * so that the exp-heavy pass does not wait on memory a few rows at a
       * time. */
      _mm_prefetch((const char *) o, _MM_HINT_T0);
      if (two) _mm_prefetch((const char *) (o + S4J_LANES), _MM_HINT_T0);
      s4j_add_f64(&s0, &s1, g0);
    } else {
      s4j_add_products_f64(&s0, &s1, g0, _mm512_maskz_loadu_ps(m0, o));
    }
    if (two) {
      const __m512 g1 = _mm512_maskz_loadu_ps(m1, g + S4J_LANES);
      if (kind == S4J_KIND_LOG_SOFTMAX) {
        s4j_add_f64(&s2, &s3, g1);
      } else {
        s4j_add_products_f64(&s2, &s3, g1, _mm512_maskz_loadu_ps(m1, o + S4J_LANES));
      }
    }
  }
  const __m512 sum0 = s4j_join_f32(s0, s1), sum1 = s4j_join_f32(s2, s3);

  for (size_t c = 0; c < dim; c++) {
    const float *g = gy + c * inner;
    const float *o = y + c * inner;
    float *out = gx + c * inner;
    const __m512 g0 = _mm512_maskz_loadu_ps(m0, g), o0 = _mm512_maskz_loadu_ps(m0, o);
    if (kind == S4J_KIND_LOG_SOFTMAX) {
      _mm512_mask_storeu_ps(out, m0, _mm512_sub_ps(g0, _mm512_mul_ps(s4j_exp_f32_avx512(o0, k), sum0)));
    } else {
      _mm512_mask_storeu_ps(out, m0, _mm512_mul_ps(o0, _mm512_sub_ps(g0, sum0)));
    }
    if (two) {
      const __m512 g1 = _mm512_maskz_loadu_ps(m1, g + S4J_LANES);
      const __m512 o1 = _mm512_maskz_loadu_ps(m1, o + S4J_LANES);
      if (kind == S4J_KIND_LOG_SOFTMAX) {
        _mm512_mask_storeu_ps(out + S4J_LANES, m1,
                              _mm512_sub_ps(g1, _mm512_mul_ps(s4j_exp_f32_avx512(o1, k), sum1)));
      } else {
        _mm512_mask_storeu_ps(out + S4J_LANES, m1, _mm512_mul_ps(o1, _mm512_sub_ps(g1, sum1)));
      }
    }
  }
}

void s4j_f32_softmax_dim_fwd_ukernel__avx512(enum s4j_softmax_kind kind, size_t outer,
                                             size_t dim, size_t inner, const float *x, float *y) {
  const struct s4j_exp_f32_avx512_consts k = s4j_exp_f32_avx512_init();
  const struct s4j_expsum_f32_avx512_consts ks = s4j_expsum_f32_avx512_init();
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    /* LogSumExp writes one value per position: its output is [outer, inner]. */
    float *out = y + (kind == S4J_KIND_LOGSUMEXP ? o * inner : kind == S4J_KIND_STATS ? 2 * o * inner : base);
    for (size_t j = 0; j < inner; j += 2 * S4J_LANES) {
      if (inner - j > S4J_LANES) {
        s4j_forward_group(kind, 1, dim, inner, inner - j, x + base + j, out + (kind == S4J_KIND_STATS ? 2 * j : j), &k, &ks);
      } else {
        s4j_forward_group(kind, 0, dim, inner, inner - j, x + base + j, out + (kind == S4J_KIND_STATS ? 2 * j : j), &k, &ks);
      }
    }
  }
}

void s4j_f32_softmax_dim_bwd_ukernel__avx512(enum s4j_softmax_kind kind, size_t outer,
                                             size_t dim, size_t inner, const float *gy,
                                             const float *y, float *gx) {
  const struct s4j_exp_f32_avx512_consts k = s4j_exp_f32_avx512_init();
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    for (size_t j = 0; j < inner; j += 2 * S4J_LANES) {
      const size_t at = base + j;
      if (inner - j > S4J_LANES) {
        s4j_backward_group(kind, 1, dim, inner, inner - j, gy + at, y + at, gx + at, &k);
      } else {
        s4j_backward_group(kind, 0, dim, inner, inner - j, gy + at, y + at, gx + at, &k);
      }
    }
  }
}
