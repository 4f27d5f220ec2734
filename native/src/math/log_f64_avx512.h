/*
 * log_f64_avx512.h - 8-lane natural log of doubles, for the log of per-column
 * sums of exponentials (always >= 1, +inf or NaN). The algorithm and its
 * error are those of s4j_log_f64 in log_f64.h; every step is the same IEEE
 * operation in the same order (no FMA), so each lane gives the same bits as
 * the scalar function. Inputs below 1 (zero, negative, subnormal) are
 * outside the domain: the sums never are.
 */
#ifndef S4J_MATH_LOG_F64_AVX512_H
#define S4J_MATH_LOG_F64_AVX512_H

#include <immintrin.h>

#include "math/log_f64.h"

static inline __m512d s4j_log_f64_avx512(__m512d x) {
  const __m512i bits = _mm512_castpd_si512(x);
  __m512i k = _mm512_sub_epi64(_mm512_srli_epi64(bits, 52), _mm512_set1_epi64(1023));
  const __m512i mantissa = _mm512_and_si512(bits, _mm512_set1_epi64(0x000fffffffffffffLL));
  __m512d m = _mm512_castsi512_pd(_mm512_or_si512(mantissa, _mm512_set1_epi64(0x3ff0000000000000LL)));
  /* m in [1, 2); move it to [sqrt(1/2), sqrt(2)) as the scalar code does. */
  const __mmask8 high = _mm512_cmp_pd_mask(m, _mm512_set1_pd(S4J_LOG_F64_SQRT2), _CMP_GT_OQ);
  m = _mm512_mask_mul_pd(m, high, m, _mm512_set1_pd(0.5));
  k = _mm512_mask_add_epi64(k, high, k, _mm512_set1_epi64(1));

  const __m512d f = _mm512_sub_pd(m, _mm512_set1_pd(1.0));
  const __m512d s = _mm512_div_pd(f, _mm512_add_pd(_mm512_set1_pd(2.0), f));
  const __m512d s2 = _mm512_mul_pd(s, s);
  __m512d t = _mm512_set1_pd(0x1.af286bca1af28p-5);
  t = _mm512_add_pd(_mm512_mul_pd(t, s2), _mm512_set1_pd(0x1.e1e1e1e1e1e1ep-5));
  t = _mm512_add_pd(_mm512_mul_pd(t, s2), _mm512_set1_pd(0x1.1111111111111p-4));
  t = _mm512_add_pd(_mm512_mul_pd(t, s2), _mm512_set1_pd(0x1.3b13b13b13b14p-4));
  t = _mm512_add_pd(_mm512_mul_pd(t, s2), _mm512_set1_pd(0x1.745d1745d1746p-4));
  t = _mm512_add_pd(_mm512_mul_pd(t, s2), _mm512_set1_pd(0x1.c71c71c71c71cp-4));
  t = _mm512_add_pd(_mm512_mul_pd(t, s2), _mm512_set1_pd(0x1.2492492492492p-3));
  t = _mm512_add_pd(_mm512_mul_pd(t, s2), _mm512_set1_pd(0x1.999999999999ap-3));
  t = _mm512_add_pd(_mm512_mul_pd(t, s2), _mm512_set1_pd(0x1.5555555555555p-2));
  const __m512d two_s = _mm512_add_pd(s, s);
  const __m512d log_m = _mm512_add_pd(two_s, _mm512_mul_pd(two_s, _mm512_mul_pd(s2, t)));

  const __m512d dk = _mm512_cvtepi64_pd(k);
  const __m512d r = _mm512_add_pd(_mm512_mul_pd(dk, _mm512_set1_pd(S4J_LOG_F64_LN2_HI)),
                                  _mm512_add_pd(log_m, _mm512_mul_pd(dk, _mm512_set1_pd(S4J_LOG_F64_LN2_LO))));
  /* +inf and NaN (unordered) are their own log. */
  const __mmask8 special = _mm512_cmp_pd_mask(x, _mm512_set1_pd(HUGE_VAL), _CMP_NLT_UQ);
  return _mm512_mask_mov_pd(r, special, x);
}

#endif /* S4J_MATH_LOG_F64_AVX512_H */
