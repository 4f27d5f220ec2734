/*
 * softmax_x16_avx2.c - bfloat16 and float16 log-softmax and softmax over any
 * dimension with AVX2+FMA: the AVX-512 kernels' design (softmax_x16_avx512.c)
 * with 8 elements per vector; bfloat16 widened by a shift and narrowed by
 * the integer round-to-nearest-even of half.h, float16 converted by F16C
 * (vcvtph2ps, vcvtps2ph with round-to-nearest-even). This variant does not
 * require F16C of the CPU, so this file alone is compiled with -mf16c and
 * its float16 paths run only where dispatch saw F16C; elsewhere float16
 * takes the scalar kernels.
 */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "dispatch.h"
#include "kernels/softmax_x16.h"
#include "math/exp_f32_avx2.h"
#include "math/half.h"
#include "math/log_f64.h"
#include "math/log_f64_avx2.h"

#define S4J_W 8

/* Whether this CPU converts float16 in hardware (F16C). */
static int s4j_have_f16c(void) {
  return (s4j_dispatch_get()->cpu_features & S4J_CPU_F16C) != 0;
}

static inline __m256 s4j_load16(enum s4j_half_format fmt, const uint16_t *p) {
  const __m128i h = _mm_loadu_si128((const __m128i *) (const void *) p);
  if (fmt == S4J_HALF_F16) return _mm256_cvtph_ps(h);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* The first n < 8 elements; the other lanes are +0. */
static inline __m256 s4j_load_part(enum s4j_half_format fmt, const uint16_t *p, size_t n) {
  uint16_t buf[S4J_W] = {0};
  memcpy(buf, p, n * sizeof *p);
  return s4j_load16(fmt, buf);
}

static inline __m128i s4j_narrow(enum s4j_half_format fmt, __m256 v) {
  if (fmt == S4J_HALF_F16) return _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256i bits = _mm256_castps_si256(v);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
  const __m256i bias = _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff));
  const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(bits, bias), 16);
  const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(0x40));
  const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  const __m256i r = _mm256_blendv_epi8(rounded, quiet, nan);
  /* 32 -> 16 bits: every lane is <= 0xffff, so the saturating pack is exact. */
  const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0xd8);
  return _mm256_castsi256_si128(packed);
}

static inline void s4j_store16(enum s4j_half_format fmt, uint16_t *p, __m256 v) {
  _mm_storeu_si128((__m128i *) (void *) p, s4j_narrow(fmt, v));
}

static inline void s4j_store_part(enum s4j_half_format fmt, uint16_t *p, __m256 v, size_t n) {
  uint16_t buf[S4J_W];
  _mm_storeu_si128((__m128i *) (void *) buf, s4j_narrow(fmt, v));
  memcpy(p, buf, n * sizeof *p);
}

/* Element i of a row or a group: a full vector or the n-lane tail. */
static inline __m256 s4j_load(enum s4j_half_format fmt, const uint16_t *p, size_t n) {
  return n == S4J_W ? s4j_load16(fmt, p) : s4j_load_part(fmt, p, n);
}

static inline void s4j_store(enum s4j_half_format fmt, uint16_t *p, __m256 v, size_t n) {
  if (n == S4J_W) {
    s4j_store16(fmt, p, v);
  } else {
    s4j_store_part(fmt, p, v, n);
  }
}

/* Both halves of a float vector, widened, added to two double vectors. */
static inline void s4j_add_wide(__m256d *lo, __m256d *hi, __m256 v) {
  *lo = _mm256_add_pd(*lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
  *hi = _mm256_add_pd(*hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

/* Lanes [0, n) of a mask vector, n in [0, 8]. */
static inline __m256 s4j_lanes(size_t n) {
  static const int32_t bits[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *) (const void *) (bits + 8 - n)));
}

static inline double s4j_reduce_add(__m256d v) {
  double l[4];
  _mm256_storeu_pd(l, v);
  return (l[0] + l[1]) + (l[2] + l[3]);
}

static inline float s4j_reduce_max(__m256 v) {
  float l[8];
  _mm256_storeu_ps(l, v);
  float m = l[0];
  for (int i = 1; i < 8; i++) m = l[i] > m ? l[i] : m;
  return m;
}

static void s4j_forward_row(enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t n,
                            const uint16_t *x, uint16_t *y,
                            const struct s4j_exp_f32_avx2_consts *k) {
  __m256 vm = _mm256_set1_ps(-__builtin_inff());
  for (size_t i = 0; i < n; i += S4J_W) {
    const size_t w = n - i < S4J_W ? n - i : S4J_W;
    vm = _mm256_blendv_ps(vm, _mm256_max_ps(vm, s4j_load(fmt, x + i, w)), s4j_lanes(w));
  }
  /* A NaN the max drops still makes its exp, and the sum, NaN. */
  const __m256 m = _mm256_set1_ps(s4j_reduce_max(vm));

  /* Runs of S4J_DIM_FLOAT_RUN vectors add up in float (each lane's terms
   * are <= 1: at most 7 ulp relative per run), each run's total in double,
   * as the float32 dim kernels do. */
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  const size_t full = n & ~(size_t) (S4J_W - 1);
  for (size_t i0 = 0; i0 < full; i0 += S4J_W * S4J_DIM_FLOAT_RUN) {
    const size_t i1 = full - i0 < S4J_W * S4J_DIM_FLOAT_RUN ? full : i0 + S4J_W * S4J_DIM_FLOAT_RUN;
    __m256 run0 = _mm256_setzero_ps(), run1 = _mm256_setzero_ps();
    size_t i = i0;
    for (; i + 2 * S4J_W <= i1; i += 2 * S4J_W) {
      run0 = _mm256_add_ps(run0, s4j_exp_f32_avx2(_mm256_sub_ps(s4j_load16(fmt, x + i), m), k));
      run1 = _mm256_add_ps(run1, s4j_exp_f32_avx2(_mm256_sub_ps(s4j_load16(fmt, x + i + S4J_W), m), k));
    }
    if (i < i1) run0 = _mm256_add_ps(run0, s4j_exp_f32_avx2(_mm256_sub_ps(s4j_load16(fmt, x + i), m), k));
    s4j_add_wide(&lo, &hi, run0);
    s4j_add_wide(&lo, &hi, run1);
  }
  if (full < n) {
    const __m256 e = s4j_exp_f32_avx2(_mm256_sub_ps(s4j_load_part(fmt, x + full, n - full), m), k);
    s4j_add_wide(&lo, &hi, _mm256_and_ps(e, s4j_lanes(n - full)));
  }
  const double s = s4j_reduce_add(_mm256_add_pd(lo, hi));

  if (kind == S4J_KIND_LOG_SOFTMAX) {
    const __m256 t = _mm256_set1_ps((float) s4j_log_f64(s));
    for (size_t i = 0; i < n; i += S4J_W) {
      const size_t w = n - i < S4J_W ? n - i : S4J_W;
      s4j_store(fmt, y + i, _mm256_sub_ps(_mm256_sub_ps(s4j_load(fmt, x + i, w), m), t), w);
    }
  } else {
    const __m256 t = _mm256_set1_ps((float) (1.0 / s));
    for (size_t i = 0; i < n; i += S4J_W) {
      const size_t w = n - i < S4J_W ? n - i : S4J_W;
      const __m256 e = s4j_exp_f32_avx2(_mm256_sub_ps(s4j_load(fmt, x + i, w), m), k);
      s4j_store(fmt, y + i, _mm256_mul_ps(e, t), w);
    }
  }
}

/* The backward's sum terms, widened: gy, or gy * y (exact in double). */
static inline void s4j_add_terms(enum s4j_softmax_kind kind, __m256d *lo, __m256d *hi, __m256 g,
                                 __m256 o) {
  if (kind == S4J_KIND_LOG_SOFTMAX) {
    s4j_add_wide(lo, hi, g);
    return;
  }
  const __m256d glo = _mm256_cvtps_pd(_mm256_castps256_ps128(g));
  const __m256d ghi = _mm256_cvtps_pd(_mm256_extractf128_ps(g, 1));
  const __m256d olo = _mm256_cvtps_pd(_mm256_castps256_ps128(o));
  const __m256d ohi = _mm256_cvtps_pd(_mm256_extractf128_ps(o, 1));
  *lo = _mm256_add_pd(*lo, _mm256_mul_pd(glo, olo));
  *hi = _mm256_add_pd(*hi, _mm256_mul_pd(ghi, ohi));
}

static inline __m256 s4j_backward_lanes(enum s4j_softmax_kind kind, __m256 g, __m256 o, __m256 sum,
                                        const struct s4j_exp_f32_avx2_consts *k) {
  /* Two roundings, as the float32 kernels: exp(y) * S, then gy minus it. */
  return kind == S4J_KIND_LOG_SOFTMAX ? _mm256_sub_ps(g, _mm256_mul_ps(s4j_exp_f32_avx2(o, k), sum))
                                      : _mm256_mul_ps(o, _mm256_sub_ps(g, sum));
}

static void s4j_backward_row(enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t n,
                             const uint16_t *gy, const uint16_t *y, uint16_t *gx,
                             const struct s4j_exp_f32_avx2_consts *k) {
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  for (size_t i = 0; i < n; i += S4J_W) {
    const size_t w = n - i < S4J_W ? n - i : S4J_W;
    /* Partial loads fill the other lanes with +0: they add nothing. */
    s4j_add_terms(kind, &lo, &hi, s4j_load(fmt, gy + i, w), s4j_load(fmt, y + i, w));
  }
  const __m256 sum = _mm256_set1_ps((float) s4j_reduce_add(_mm256_add_pd(lo, hi)));
  for (size_t i = 0; i < n; i += S4J_W) {
    const size_t w = n - i < S4J_W ? n - i : S4J_W;
    s4j_store(fmt, gx + i, s4j_backward_lanes(kind, s4j_load(fmt, gy + i, w), s4j_load(fmt, y + i, w), sum, k), w);
  }
}

/* Both double halves through f, back to one float vector. */
static inline __m256 s4j_join(__m256d lo, __m256d hi) {
  return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps(lo)), _mm256_cvtpd_ps(hi), 1);
}

/* One group of w <= 8 positions of a [dim, inner] slab. */
static void s4j_forward_group(enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t dim,
                              size_t inner, size_t w, const uint16_t *x, uint16_t *y,
                              const struct s4j_exp_f32_avx2_consts *k) {
  __m256 m = s4j_load(fmt, x, w);
  for (size_t c = 1; c < dim; c++) m = _mm256_max_ps(m, s4j_load(fmt, x + c * inner, w));
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  for (size_t c = 0; c < dim; c++) {
    s4j_add_wide(&lo, &hi, s4j_exp_f32_avx2(_mm256_sub_ps(s4j_load(fmt, x + c * inner, w), m), k));
  }
  if (kind == S4J_KIND_LOG_SOFTMAX) {
    /* Lanes past w summed exp(0 - 0) terms: >= 1, inside the log's domain. */
    const __m256 t = s4j_join(s4j_log_f64_avx2(lo), s4j_log_f64_avx2(hi));
    for (size_t c = 0; c < dim; c++) {
      const __m256 v = s4j_load(fmt, x + c * inner, w);
      s4j_store(fmt, y + c * inner, _mm256_sub_ps(_mm256_sub_ps(v, m), t), w);
    }
  } else {
    const __m256d one = _mm256_set1_pd(1.0);
    const __m256 t = s4j_join(_mm256_div_pd(one, lo), _mm256_div_pd(one, hi));
    for (size_t c = 0; c < dim; c++) {
      const __m256 e = s4j_exp_f32_avx2(_mm256_sub_ps(s4j_load(fmt, x + c * inner, w), m), k);
      s4j_store(fmt, y + c * inner, _mm256_mul_ps(e, t), w);
    }
  }
}

static void s4j_backward_group(enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t dim,
                               size_t inner, size_t w, const uint16_t *gy, const uint16_t *y,
                               uint16_t *gx, const struct s4j_exp_f32_avx2_consts *k) {
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  for (size_t c = 0; c < dim; c++) {
    s4j_add_terms(kind, &lo, &hi, s4j_load(fmt, gy + c * inner, w), s4j_load(fmt, y + c * inner, w));
  }
  const __m256 sum = s4j_join(lo, hi);
  for (size_t c = 0; c < dim; c++) {
    const __m256 g = s4j_load(fmt, gy + c * inner, w);
    const __m256 o = s4j_load(fmt, y + c * inner, w);
    s4j_store(fmt, gx + c * inner, s4j_backward_lanes(kind, g, o, sum, k), w);
  }
}

/* LogSumExp (kind S4J_KIND_LOGSUMEXP): y is [outer, inner], and the
 * backward's second tensor is the input x. Exps in float, sums in double (a
 * row's in float runs carried in double, as the softmax rows do), m + log(s)
 * in double rounded once to the format; the backward's gy * softmax(x) in
 * float, rounded once. float16 without F16C takes the scalar kernels, as the
 * other kinds do. */

/* A row's max (broadcast) and the sum of exp(x - max). */
static double s4j_lse_row_max_sum(enum s4j_half_format fmt, size_t n, const uint16_t *x,
                                  __m256 *max, const struct s4j_exp_f32_avx2_consts *k) {
  __m256 vm = _mm256_set1_ps(-__builtin_inff());
  for (size_t i = 0; i < n; i += S4J_W) {
    const size_t w = n - i < S4J_W ? n - i : S4J_W;
    vm = _mm256_blendv_ps(vm, _mm256_max_ps(vm, s4j_load(fmt, x + i, w)), s4j_lanes(w));
  }
  /* A NaN the max drops still makes its exp, and the sum, NaN. */
  const __m256 m = _mm256_set1_ps(s4j_reduce_max(vm));
  /* Runs of S4J_DIM_FLOAT_RUN vectors add up in float (terms <= 1: at most
   * 7 ulp relative per run, far below the formats' ulp), each run's total in
   * double; two accumulators keep the adds independent. */
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  const size_t full = n & ~(size_t) (S4J_W - 1);
  for (size_t i0 = 0; i0 < full; i0 += S4J_W * S4J_DIM_FLOAT_RUN) {
    const size_t i1 = full - i0 < S4J_W * S4J_DIM_FLOAT_RUN ? full : i0 + S4J_W * S4J_DIM_FLOAT_RUN;
    __m256 run0 = _mm256_setzero_ps(), run1 = _mm256_setzero_ps();
    size_t i = i0;
    for (; i + 2 * S4J_W <= i1; i += 2 * S4J_W) {
      run0 = _mm256_add_ps(run0, s4j_exp_f32_avx2(_mm256_sub_ps(s4j_load16(fmt, x + i), m), k));
      run1 = _mm256_add_ps(run1, s4j_exp_f32_avx2(_mm256_sub_ps(s4j_load16(fmt, x + i + S4J_W), m), k));
    }
    if (i < i1) run0 = _mm256_add_ps(run0, s4j_exp_f32_avx2(_mm256_sub_ps(s4j_load16(fmt, x + i), m), k));
    s4j_add_wide(&lo, &hi, _mm256_add_ps(run0, run1));
  }
  if (full < n) {
    const __m256 e = s4j_exp_f32_avx2(_mm256_sub_ps(s4j_load_part(fmt, x + full, n - full), m), k);
    s4j_add_wide(&lo, &hi, _mm256_and_ps(e, s4j_lanes(n - full)));
  }
  *max = m;
  return s4j_reduce_add(_mm256_add_pd(lo, hi));
}

/* A group's max per lane and the sum of exp(x - max) in two double halves;
 * lanes past w sum exp(0 - 0) terms. */
static __m256 s4j_lse_group_max_sum(enum s4j_half_format fmt, size_t dim, size_t inner, size_t w,
                                    const uint16_t *x, __m256d *lo, __m256d *hi,
                                    const struct s4j_exp_f32_avx2_consts *k) {
  __m256 m = s4j_load(fmt, x, w);
  for (size_t c = 1; c < dim; c++) m = _mm256_max_ps(m, s4j_load(fmt, x + c * inner, w));
  *lo = _mm256_setzero_pd();
  *hi = _mm256_setzero_pd();
  for (size_t c = 0; c < dim; c++) {
    s4j_add_wide(lo, hi, s4j_exp_f32_avx2(_mm256_sub_ps(s4j_load(fmt, x + c * inner, w), m), k));
  }
  return m;
}

static void s4j_lse_forward(enum s4j_half_format fmt, size_t outer, size_t dim, size_t inner,
                            const uint16_t *x, uint16_t *y) {
  if (fmt == S4J_HALF_F16 && !s4j_have_f16c()) {
    s4j_x16_softmax_fwd_ukernel__scalar(fmt, S4J_KIND_LOGSUMEXP, outer, dim, inner, x, y);
    return;
  }
  const struct s4j_exp_f32_avx2_consts k = s4j_exp_f32_avx2_init();
  for (size_t o = 0; o < outer; o++) {
    const uint16_t *slab = x + o * dim * inner;
    if (inner == 1) {
      __m256 m;
      const double s = s4j_lse_row_max_sum(fmt, dim, slab, &m, &k);
      y[o] = s4j_f64_to_half(fmt, (double) _mm256_cvtss_f32(m) + s4j_log_f64(s));
      continue;
    }
    for (size_t j = 0; j < inner; j += S4J_W) {
      const size_t w = inner - j < S4J_W ? inner - j : S4J_W;
      __m256d lo, hi;
      const __m256 m = s4j_lse_group_max_sum(fmt, dim, inner, w, slab + j, &lo, &hi, &k);
      float ml[S4J_W];
      double sl[S4J_W];
      _mm256_storeu_ps(ml, m);
      _mm256_storeu_pd(sl, lo);
      _mm256_storeu_pd(sl + 4, hi);
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
  if (fmt == S4J_HALF_F16 && !s4j_have_f16c()) {
    s4j_x16_softmax_bwd_ukernel__scalar(fmt, S4J_KIND_LOGSUMEXP, outer, dim, inner, gy, x, gx);
    return;
  }
  const struct s4j_exp_f32_avx2_consts k = s4j_exp_f32_avx2_init();
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    if (inner == 1) {
      __m256 m;
      const double s = s4j_lse_row_max_sum(fmt, dim, x + base, &m, &k);
      const __m256 t = _mm256_set1_ps((float) (1.0 / s));
      const __m256 g = _mm256_set1_ps(s4j_half_to_f32(fmt, gy[o]));
      for (size_t i = 0; i < dim; i += S4J_W) {
        const size_t w = dim - i < S4J_W ? dim - i : S4J_W;
        const __m256 p = _mm256_mul_ps(s4j_exp_f32_avx2(_mm256_sub_ps(s4j_load(fmt, x + base + i, w), m), &k), t);
        s4j_store(fmt, gx + base + i, _mm256_mul_ps(g, p), w);
      }
      continue;
    }
    for (size_t j = 0; j < inner; j += S4J_W) {
      const size_t w = inner - j < S4J_W ? inner - j : S4J_W;
      __m256d lo, hi;
      const __m256 m = s4j_lse_group_max_sum(fmt, dim, inner, w, x + base + j, &lo, &hi, &k);
      const __m256d one = _mm256_set1_pd(1.0);
      const __m256 t = s4j_join(_mm256_div_pd(one, lo), _mm256_div_pd(one, hi));
      const __m256 g = s4j_load(fmt, gy + o * inner + j, w);
      for (size_t c = 0; c < dim; c++) {
        const uint16_t *row = x + base + j + c * inner;
        const __m256 p = _mm256_mul_ps(s4j_exp_f32_avx2(_mm256_sub_ps(s4j_load(fmt, row, w), m), &k), t);
        s4j_store(fmt, gx + base + j + c * inner, _mm256_mul_ps(g, p), w);
      }
    }
  }
}

void s4j_x16_softmax_fwd_ukernel__avx2(enum s4j_half_format fmt, enum s4j_softmax_kind kind,
                                         size_t outer, size_t dim, size_t inner,
                                         const uint16_t *x, uint16_t *y) {
  if (kind == S4J_KIND_LOGSUMEXP) {
    s4j_lse_forward(fmt, outer, dim, inner, x, y);
    return;
  }
  if (fmt == S4J_HALF_F16 && !s4j_have_f16c()) {
    s4j_x16_softmax_fwd_ukernel__scalar(fmt, kind, outer, dim, inner, x, y);
    return;
  }
  const struct s4j_exp_f32_avx2_consts k = s4j_exp_f32_avx2_init();
  if (inner == 1) {
    for (size_t o = 0; o < outer; o++) s4j_forward_row(fmt, kind, dim, x + o * dim, y + o * dim, &k);
    return;
  }
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    for (size_t j = 0; j < inner; j += S4J_W) {
      const size_t w = inner - j < S4J_W ? inner - j : S4J_W;
      s4j_forward_group(fmt, kind, dim, inner, w, x + base + j, y + base + j, &k);
    }
  }
}

void s4j_x16_softmax_bwd_ukernel__avx2(enum s4j_half_format fmt, enum s4j_softmax_kind kind,
                                         size_t outer, size_t dim, size_t inner,
                                         const uint16_t *gy, const uint16_t *y, uint16_t *gx) {
  if (kind == S4J_KIND_LOGSUMEXP) {
    s4j_lse_backward(fmt, outer, dim, inner, gy, y, gx);
    return;
  }
  if (fmt == S4J_HALF_F16 && !s4j_have_f16c()) {
    s4j_x16_softmax_bwd_ukernel__scalar(fmt, kind, outer, dim, inner, gy, y, gx);
    return;
  }
  const struct s4j_exp_f32_avx2_consts k = s4j_exp_f32_avx2_init();
  if (inner == 1) {
    for (size_t o = 0; o < outer; o++) {
      s4j_backward_row(fmt, kind, dim, gy + o * dim, y + o * dim, gx + o * dim, &k);
    }
    return;
  }
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    for (size_t j = 0; j < inner; j += S4J_W) {
      const size_t w = inner - j < S4J_W ? inner - j : S4J_W;
      s4j_backward_group(fmt, kind, dim, inner, w, gy + base + j, y + base + j, gx + base + j, &k);
    }
  }
}

void s4j_math_half_narrow__avx2(enum s4j_half_format fmt, size_t n, const float *x, uint16_t *y) {
  if (fmt == S4J_HALF_F16 && !s4j_have_f16c()) {
    s4j_math_half_narrow__scalar(fmt, n, x, y);
    return;
  }
  size_t i = 0;
  for (; i + S4J_W <= n; i += S4J_W) s4j_store16(fmt, y + i, _mm256_loadu_ps(x + i));
  if (i < n) s4j_store_part(fmt, y + i, _mm256_maskload_ps(x + i, _mm256_castps_si256(s4j_lanes(n - i))), n - i);
}
