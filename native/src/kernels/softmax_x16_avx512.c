/*
 * softmax_x16_avx512.c - bfloat16 and float16 log-softmax and softmax over
 * any dimension with AVX-512F: 16 elements per vector, widened to float on
 * load, computed as the float32 kernels do (exp rr2_p6 in float, sums in
 * double, log in double), rounded to nearest even on store.
 *
 * inner == 1: each row reduced along its length; inner > 1: 16 positions
 * per vector walking `dim`. Partial vectors (row and group tails) go
 * through a 16-element buffer, so the variant needs no AVX-512BW.
 */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kernels/softmax_x16.h"
#include "math/exp_f32_avx512.h"
#include "math/half.h"
#include "math/log_f64.h"
#include "math/log_f64_avx512.h"

static inline __m512 s4j_load16(enum s4j_half_format fmt, const uint16_t *p) {
  const __m256i h = _mm256_loadu_si256((const __m256i *) (const void *) p);
  if (fmt == S4J_HALF_BF16) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
  return _mm512_cvtph_ps(h);
}

/* The first n < 16 elements; the other lanes are +0. */
static inline __m512 s4j_load_part(enum s4j_half_format fmt, const uint16_t *p, size_t n) {
  uint16_t buf[16] = {0};
  memcpy(buf, p, n * sizeof *p);
  return s4j_load16(fmt, buf);
}

static inline __m256i s4j_narrow(enum s4j_half_format fmt, __m512 v) {
  if (fmt == S4J_HALF_F16) return _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  /* half.h's bfloat16 rounding, 16 lanes at a time. */
  const __m512i bits = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  const __m512i bias = _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff));
  const __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(bits, bias), 16);
  const __m512i quiet = _mm512_or_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(0x40));
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  return _mm512_cvtepi32_epi16(_mm512_mask_mov_epi32(rounded, nan, quiet));
}

static inline void s4j_store16(enum s4j_half_format fmt, uint16_t *p, __m512 v) {
  _mm256_storeu_si256((__m256i *) (void *) p, s4j_narrow(fmt, v));
}

static inline void s4j_store_part(enum s4j_half_format fmt, uint16_t *p, __m512 v, size_t n) {
  uint16_t buf[16];
  _mm256_storeu_si256((__m256i *) (void *) buf, s4j_narrow(fmt, v));
  memcpy(p, buf, n * sizeof *p);
}

/* Element i of a row or a group: a full vector or the n-lane tail. */
static inline __m512 s4j_load(enum s4j_half_format fmt, const uint16_t *p, size_t n) {
  return n == 16 ? s4j_load16(fmt, p) : s4j_load_part(fmt, p, n);
}

static inline void s4j_store(enum s4j_half_format fmt, uint16_t *p, __m512 v, size_t n) {
  if (n == 16) {
    s4j_store16(fmt, p, v);
  } else {
    s4j_store_part(fmt, p, v, n);
  }
}

/* Both halves of a float vector, widened, added to two double vectors. */
static inline void s4j_add_wide(__m512d *lo, __m512d *hi, __m512 v) {
  *lo = _mm512_add_pd(*lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
  *hi = _mm512_add_pd(*hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
}

static inline __mmask16 s4j_lanes(size_t n) {
  return (__mmask16) ((1u << n) - 1u);
}

static void s4j_forward_row(enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t n,
                            const uint16_t *x, uint16_t *y,
                            const struct s4j_exp_f32_avx512_consts *k) {
  __m512 vm = _mm512_set1_ps(-__builtin_inff());
  for (size_t i = 0; i < n; i += 16) {
    const size_t w = n - i < 16 ? n - i : 16;
    vm = _mm512_mask_max_ps(vm, s4j_lanes(w), vm, s4j_load(fmt, x + i, w));
  }
  /* A NaN the max drops still makes its exp, and the sum, NaN. */
  const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(vm));

  /* Runs of S4J_DIM_FLOAT_RUN vectors add up in float (each lane's terms
   * are <= 1: at most 7 ulp relative per run), each run's total in double,
   * as the float32 dim kernels do. */
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  const size_t full = n & ~(size_t) 15;
  for (size_t i0 = 0; i0 < full; i0 += 16 * S4J_DIM_FLOAT_RUN) {
    const size_t i1 = full - i0 < 16 * S4J_DIM_FLOAT_RUN ? full : i0 + 16 * S4J_DIM_FLOAT_RUN;
    __m512 run0 = _mm512_setzero_ps(), run1 = _mm512_setzero_ps();
    size_t i = i0;
    for (; i + 32 <= i1; i += 32) {
      run0 = _mm512_add_ps(run0, s4j_exp_f32_avx512(_mm512_sub_ps(s4j_load16(fmt, x + i), m), k));
      run1 = _mm512_add_ps(run1, s4j_exp_f32_avx512(_mm512_sub_ps(s4j_load16(fmt, x + i + 16), m), k));
    }
    if (i < i1) run0 = _mm512_add_ps(run0, s4j_exp_f32_avx512(_mm512_sub_ps(s4j_load16(fmt, x + i), m), k));
    s4j_add_wide(&lo, &hi, run0);
    s4j_add_wide(&lo, &hi, run1);
  }
  if (full < n) {
    const __m512 e = s4j_exp_f32_avx512(_mm512_sub_ps(s4j_load_part(fmt, x + full, n - full), m), k);
    s4j_add_wide(&lo, &hi, _mm512_maskz_mov_ps(s4j_lanes(n - full), e));
  }
  const double s = _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));

  if (kind == S4J_KIND_LOG_SOFTMAX) {
    const __m512 t = _mm512_set1_ps((float) s4j_log_f64(s));
    for (size_t i = 0; i < n; i += 16) {
      const size_t w = n - i < 16 ? n - i : 16;
      s4j_store(fmt, y + i, _mm512_sub_ps(_mm512_sub_ps(s4j_load(fmt, x + i, w), m), t), w);
    }
  } else {
    const __m512 t = _mm512_set1_ps((float) (1.0 / s));
    for (size_t i = 0; i < n; i += 16) {
      const size_t w = n - i < 16 ? n - i : 16;
      const __m512 e = s4j_exp_f32_avx512(_mm512_sub_ps(s4j_load(fmt, x + i, w), m), k);
      s4j_store(fmt, y + i, _mm512_mul_ps(e, t), w);
    }
  }
}

/* The backward's sum terms, widened: gy, or gy * y (exact in double). */
static inline void s4j_add_terms(enum s4j_softmax_kind kind, __m512d *lo, __m512d *hi, __m512 g,
                                 __m512 o) {
  if (kind == S4J_KIND_LOG_SOFTMAX) {
    s4j_add_wide(lo, hi, g);
    return;
  }
  const __m512d glo = _mm512_cvtps_pd(_mm512_castps512_ps256(g));
  const __m512d ghi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(g), 1)));
  const __m512d olo = _mm512_cvtps_pd(_mm512_castps512_ps256(o));
  const __m512d ohi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(o), 1)));
  *lo = _mm512_add_pd(*lo, _mm512_mul_pd(glo, olo));
  *hi = _mm512_add_pd(*hi, _mm512_mul_pd(ghi, ohi));
}

static inline __m512 s4j_backward_lanes(enum s4j_softmax_kind kind, __m512 g, __m512 o, __m512 sum,
                                        const struct s4j_exp_f32_avx512_consts *k) {
  /* Two roundings, as the float32 kernels: exp(y) * S, then gy minus it. */
  return kind == S4J_KIND_LOG_SOFTMAX ? _mm512_sub_ps(g, _mm512_mul_ps(s4j_exp_f32_avx512(o, k), sum))
                                      : _mm512_mul_ps(o, _mm512_sub_ps(g, sum));
}

static void s4j_backward_row(enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t n,
                             const uint16_t *gy, const uint16_t *y, uint16_t *gx,
                             const struct s4j_exp_f32_avx512_consts *k) {
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  for (size_t i = 0; i < n; i += 16) {
    const size_t w = n - i < 16 ? n - i : 16;
    /* Partial loads fill the other lanes with +0: they add nothing. */
    s4j_add_terms(kind, &lo, &hi, s4j_load(fmt, gy + i, w), s4j_load(fmt, y + i, w));
  }
  const __m512 sum = _mm512_set1_ps((float) _mm512_reduce_add_pd(_mm512_add_pd(lo, hi)));
  for (size_t i = 0; i < n; i += 16) {
    const size_t w = n - i < 16 ? n - i : 16;
    s4j_store(fmt, gx + i, s4j_backward_lanes(kind, s4j_load(fmt, gy + i, w), s4j_load(fmt, y + i, w), sum, k), w);
  }
}

/* Both double halves through f, back to one float vector. */
static inline __m512 s4j_join(__m512d lo, __m512d hi) {
  return _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo)), _mm512_cvtpd_ps(hi), 1);
}

/* One group of w <= 16 positions of a [dim, inner] slab. */
static void s4j_forward_group(enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t dim,
                              size_t inner, size_t w, const uint16_t *x, uint16_t *y,
                              const struct s4j_exp_f32_avx512_consts *k) {
  __m512 m = s4j_load(fmt, x, w);
  for (size_t c = 1; c < dim; c++) m = _mm512_max_ps(m, s4j_load(fmt, x + c * inner, w));
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  for (size_t c = 0; c < dim; c++) {
    s4j_add_wide(&lo, &hi, s4j_exp_f32_avx512(_mm512_sub_ps(s4j_load(fmt, x + c * inner, w), m), k));
  }
  if (kind == S4J_KIND_LOG_SOFTMAX) {
    /* Lanes past w summed exp(0 - 0) terms: >= 1, inside the log's domain. */
    const __m512 t = s4j_join(s4j_log_f64_avx512(lo), s4j_log_f64_avx512(hi));
    for (size_t c = 0; c < dim; c++) {
      const __m512 v = s4j_load(fmt, x + c * inner, w);
      s4j_store(fmt, y + c * inner, _mm512_sub_ps(_mm512_sub_ps(v, m), t), w);
    }
  } else {
    const __m512d one = _mm512_set1_pd(1.0);
    const __m512 t = s4j_join(_mm512_div_pd(one, lo), _mm512_div_pd(one, hi));
    for (size_t c = 0; c < dim; c++) {
      const __m512 e = s4j_exp_f32_avx512(_mm512_sub_ps(s4j_load(fmt, x + c * inner, w), m), k);
      s4j_store(fmt, y + c * inner, _mm512_mul_ps(e, t), w);
    }
  }
}

static void s4j_backward_group(enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t dim,
                               size_t inner, size_t w, const uint16_t *gy, const uint16_t *y,
                               uint16_t *gx, const struct s4j_exp_f32_avx512_consts *k) {
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  for (size_t c = 0; c < dim; c++) {
    s4j_add_terms(kind, &lo, &hi, s4j_load(fmt, gy + c * inner, w), s4j_load(fmt, y + c * inner, w));
  }
  const __m512 sum = s4j_join(lo, hi);
  for (size_t c = 0; c < dim; c++) {
    const __m512 g = s4j_load(fmt, gy + c * inner, w);
    const __m512 o = s4j_load(fmt, y + c * inner, w);
    s4j_store(fmt, gx + c * inner, s4j_backward_lanes(kind, g, o, sum, k), w);
  }
}

/* LogSumExp (kind S4J_KIND_LOGSUMEXP): y is [outer, inner], and the
 * backward's second tensor is the input x. Exps in float, sums in double (a
 * row's in float runs carried in double, as the softmax rows do), m + log(s)
 * in double rounded once to the format; the backward's gy * softmax(x) in
 * float, rounded once. */

/* A row's max (broadcast) and the sum of exp(x - max). */
static double s4j_lse_row_max_sum(enum s4j_half_format fmt, size_t n, const uint16_t *x,
                                  __m512 *max, const struct s4j_exp_f32_avx512_consts *k) {
  __m512 vm = _mm512_set1_ps(-__builtin_inff());
  for (size_t i = 0; i < n; i += 16) {
    const size_t w = n - i < 16 ? n - i : 16;
    vm = _mm512_mask_max_ps(vm, s4j_lanes(w), vm, s4j_load(fmt, x + i, w));
  }
  /* A NaN the max drops still makes its exp, and the sum, NaN. */
  const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(vm));
  /* Runs of S4J_DIM_FLOAT_RUN vectors add up in float (terms <= 1: at most
   * 7 ulp relative per run, far below the formats' ulp), each run's total in
   * double; two accumulators keep the adds independent. */
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  const size_t full = n & ~(size_t) 15;
  for (size_t i0 = 0; i0 < full; i0 += 16 * S4J_DIM_FLOAT_RUN) {
    const size_t i1 = full - i0 < 16 * S4J_DIM_FLOAT_RUN ? full : i0 + 16 * S4J_DIM_FLOAT_RUN;
    __m512 run0 = _mm512_setzero_ps(), run1 = _mm512_setzero_ps();
    size_t i = i0;
    for (; i + 32 <= i1; i += 32) {
      run0 = _mm512_add_ps(run0, s4j_exp_f32_avx512(_mm512_sub_ps(s4j_load16(fmt, x + i), m), k));
      run1 = _mm512_add_ps(run1, s4j_exp_f32_avx512(_mm512_sub_ps(s4j_load16(fmt, x + i + 16), m), k));
    }
    if (i < i1) run0 = _mm512_add_ps(run0, s4j_exp_f32_avx512(_mm512_sub_ps(s4j_load16(fmt, x + i), m), k));
    s4j_add_wide(&lo, &hi, _mm512_add_ps(run0, run1));
  }
  if (full < n) {
    const __m512 e = s4j_exp_f32_avx512(_mm512_sub_ps(s4j_load_part(fmt, x + full, n - full), m), k);
    s4j_add_wide(&lo, &hi, _mm512_maskz_mov_ps(s4j_lanes(n - full), e));
  }
  *max = m;
  return _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
}

/* A group's max per lane and the sum of exp(x - max) in two double halves;
 * lanes past w sum exp(0 - 0) terms. */
static __m512 s4j_lse_group_max_sum(enum s4j_half_format fmt, size_t dim, size_t inner, size_t w,
                                    const uint16_t *x, __m512d *lo, __m512d *hi,
                                    const struct s4j_exp_f32_avx512_consts *k) {
  __m512 m = s4j_load(fmt, x, w);
  for (size_t c = 1; c < dim; c++) m = _mm512_max_ps(m, s4j_load(fmt, x + c * inner, w));
  *lo = _mm512_setzero_pd();
  *hi = _mm512_setzero_pd();
  for (size_t c = 0; c < dim; c++) {
    s4j_add_wide(lo, hi, s4j_exp_f32_avx512(_mm512_sub_ps(s4j_load(fmt, x + c * inner, w), m), k));
  }
  return m;
}

static void s4j_lse_forward(enum s4j_half_format fmt, size_t outer, size_t dim, size_t inner,
                            const uint16_t *x, uint16_t *y) {
  const struct s4j_exp_f32_avx512_consts k = s4j_exp_f32_avx512_init();
  for (size_t o = 0; o < outer; o++) {
    const uint16_t *slab = x + o * dim * inner;
    if (inner == 1) {
      __m512 m;
      const double s = s4j_lse_row_max_sum(fmt, dim, slab, &m, &k);
      y[o] = s4j_f64_to_half(fmt, (double) _mm512_cvtss_f32(m) + s4j_log_f64(s));
      continue;
    }
    for (size_t j = 0; j < inner; j += 16) {
      const size_t w = inner - j < 16 ? inner - j : 16;
      __m512d lo, hi;
      const __m512 m = s4j_lse_group_max_sum(fmt, dim, inner, w, slab + j, &lo, &hi, &k);
      float ml[16];
      double sl[16];
      _mm512_storeu_ps(ml, m);
      _mm512_storeu_pd(sl, lo);
      _mm512_storeu_pd(sl + 8, hi);
      /* One log and one rounding per position: dim times fewer than the
       * exps, so scalar is enough. */
      for (size_t l = 0; l < w; l++) {
        y[o * inner + j + l] = s4j_f64_to_half(fmt, (double) ml[l] + s4j_log_f64(sl[l]));
      }
    }
  }
}

static void s4j_lse_backward(enum s4j_half_format fmt, size_t outer, size_t dim, size_t inner,
                             const uint16_t *gy, const uint16_t *x, uint16_t *gx) {
  const struct s4j_exp_f32_avx512_consts k = s4j_exp_f32_avx512_init();
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    if (inner == 1) {
      __m512 m;
      const double s = s4j_lse_row_max_sum(fmt, dim, x + base, &m, &k);
      const __m512 t = _mm512_set1_ps((float) (1.0 / s));
      const __m512 g = _mm512_set1_ps(s4j_half_to_f32(fmt, gy[o]));
      for (size_t i = 0; i < dim; i += 16) {
        const size_t w = dim - i < 16 ? dim - i : 16;
        const __m512 p = _mm512_mul_ps(s4j_exp_f32_avx512(_mm512_sub_ps(s4j_load(fmt, x + base + i, w), m), &k), t);
        s4j_store(fmt, gx + base + i, _mm512_mul_ps(g, p), w);
      }
      continue;
    }
    for (size_t j = 0; j < inner; j += 16) {
      const size_t w = inner - j < 16 ? inner - j : 16;
      __m512d lo, hi;
      const __m512 m = s4j_lse_group_max_sum(fmt, dim, inner, w, x + base + j, &lo, &hi, &k);
      const __m512d one = _mm512_set1_pd(1.0);
      const __m512 t = s4j_join(_mm512_div_pd(one, lo), _mm512_div_pd(one, hi));
      const __m512 g = s4j_load(fmt, gy + o * inner + j, w);
      for (size_t c = 0; c < dim; c++) {
        const uint16_t *row = x + base + j + c * inner;
        const __m512 p = _mm512_mul_ps(s4j_exp_f32_avx512(_mm512_sub_ps(s4j_load(fmt, row, w), m), &k), t);
        s4j_store(fmt, gx + base + j + c * inner, _mm512_mul_ps(g, p), w);
      }
    }
  }
}

void s4j_x16_softmax_fwd_ukernel__avx512(enum s4j_half_format fmt, enum s4j_softmax_kind kind,
                                         size_t outer, size_t dim, size_t inner,
                                         const uint16_t *x, uint16_t *y) {
  if (kind == S4J_KIND_LOGSUMEXP) {
    s4j_lse_forward(fmt, outer, dim, inner, x, y);
    return;
  }
  const struct s4j_exp_f32_avx512_consts k = s4j_exp_f32_avx512_init();
  if (inner == 1) {
    for (size_t o = 0; o < outer; o++) s4j_forward_row(fmt, kind, dim, x + o * dim, y + o * dim, &k);
    return;
  }
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    for (size_t j = 0; j < inner; j += 16) {
      const size_t w = inner - j < 16 ? inner - j : 16;
      s4j_forward_group(fmt, kind, dim, inner, w, x + base + j, y + base + j, &k);
    }
  }
}

void s4j_x16_softmax_bwd_ukernel__avx512(enum s4j_half_format fmt, enum s4j_softmax_kind kind,
                                         size_t outer, size_t dim, size_t inner,
                                         const uint16_t *gy, const uint16_t *y, uint16_t *gx) {
  if (kind == S4J_KIND_LOGSUMEXP) {
    s4j_lse_backward(fmt, outer, dim, inner, gy, y, gx);
    return;
  }
  const struct s4j_exp_f32_avx512_consts k = s4j_exp_f32_avx512_init();
  if (inner == 1) {
    for (size_t o = 0; o < outer; o++) {
      s4j_backward_row(fmt, kind, dim, gy + o * dim, y + o * dim, gx + o * dim, &k);
    }
    return;
  }
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    for (size_t j = 0; j < inner; j += 16) {
      const size_t w = inner - j < 16 ? inner - j : 16;
      s4j_backward_group(fmt, kind, dim, inner, w, gy + base + j, y + base + j, gx + base + j, &k);
    }
  }
}

void s4j_math_half_narrow__avx512(enum s4j_half_format fmt, size_t n, const float *x, uint16_t *y) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) s4j_store16(fmt, y + i, _mm512_loadu_ps(x + i));
  if (i < n) s4j_store_part(fmt, y + i, _mm512_maskz_loadu_ps(s4j_lanes(n - i), x + i), n - i);
}
