/*
 * log_f64_avx2.h - 4-lane natural log of doubles, for the log of per-column
 * sums of exponentials (always >= 1, +inf or NaN). The algorithm and its
 * error are those of s4j_log_f64 in log_f64.h; every step is the same IEEE
 * operation in the same order (no FMA), so each lane gives the same bits as
 * the scalar function. Inputs below 1 (zero, negative, subnormal) are
 * outside the domain: the sums never are.
 */
#ifndef S4J_MATH_LOG_F64_AVX2_H
#define S4J_MATH_LOG_F64_AVX2_H

#include <immintrin.h>

#include "math/log_f64.h"

static inline __m256d s4j_log_f64_avx2(__m256d x) {
  const __m256i bits = _mm256_castpd_si256(x);
  /* AVX2 has no int64 -> double conversion: the biased exponent (11 bits)
   * becomes a double by planting it in the mantissa of 2^52, exactly. */
  const __m256d two52 = _mm256_set1_pd(0x1p52);
  const __m256i exponent = _mm256_srli_epi64(bits, 52);
  __m256d dk = _mm256_sub_pd(
      _mm256_castsi256_pd(_mm256_or_si256(exponent, _mm256_castpd_si256(two52))), two52);
  dk = _mm256_sub_pd(dk, _mm256_set1_pd(1023.0));
  const __m256i mantissa = _mm256_and_si256(bits, _mm256_set1_epi64x(0x000fffffffffffffLL));
  __m256d m = _mm256_castsi256_pd(_mm256_or_si256(mantissa, _mm256_set1_epi64x(0x3ff0000000000000LL)));
  /* m in [1, 2); move it to [sqrt(1/2), sqrt(2)) as the scalar code does. */
  const __m256d high = _mm256_cmp_pd(m, _mm256_set1_pd(S4J_LOG_F64_SQRT2), _CMP_GT_OQ);
  m = _mm256_blendv_pd(m, _mm256_mul_pd(m, _mm256_set1_pd(0.5)), high);
  dk = _mm256_add_pd(dk, _mm256_and_pd(high, _mm256_set1_pd(1.0)));

  const __m256d f = _mm256_sub_pd(m, _mm256_set1_pd(1.0));
  const __m256d s = _mm256_div_pd(f, _mm256_add_pd(_mm256_set1_pd(2.0), f));
  const __m256d s2 = _mm256_mul_pd(s, s);
  __m256d t = _mm256_set1_pd(0x1.af286bca1af28p-5);
  t = _mm256_add_pd(_mm256_mul_pd(t, s2), _mm256_set1_pd(0x1.e1e1e1e1e1e1ep-5));
  t = _mm256_add_pd(_mm256_mul_pd(t, s2), _mm256_set1_pd(0x1.1111111111111p-4));
  t = _mm256_add_pd(_mm256_mul_pd(t, s2), _mm256_set1_pd(0x1.3b13b13b13b14p-4));
  t = _mm256_add_pd(_mm256_mul_pd(t, s2), _mm256_set1_pd(0x1.745d1745d1746p-4));
  t = _mm256_add_pd(_mm256_mul_pd(t, s2), _mm256_set1_pd(0x1.c71c71c71c71cp-4));
  t = _mm256_add_pd(_mm256_mul_pd(t, s2), _mm256_set1_pd(0x1.2492492492492p-3));
  t = _mm256_add_pd(_mm256_mul_pd(t, s2), _mm256_set1_pd(0x1.999999999999ap-3));
  t = _mm256_add_pd(_mm256_mul_pd(t, s2), _mm256_set1_pd(0x1.5555555555555p-2));
  const __m256d two_s = _mm256_add_pd(s, s);
  const __m256d log_m = _mm256_add_pd(two_s, _mm256_mul_pd(two_s, _mm256_mul_pd(s2, t)));

  const __m256d r = _mm256_add_pd(_mm256_mul_pd(dk, _mm256_set1_pd(S4J_LOG_F64_LN2_HI)),
                                  _mm256_add_pd(log_m, _mm256_mul_pd(dk, _mm256_set1_pd(S4J_LOG_F64_LN2_LO))));
  /* +inf and NaN (unordered) are their own log. */
  const __m256d special = _mm256_cmp_pd(x, _mm256_set1_pd(HUGE_VAL), _CMP_NLT_UQ);
  return _mm256_blendv_pd(r, x, special);
}

#endif /* S4J_MATH_LOG_F64_AVX2_H */
