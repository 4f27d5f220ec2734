/*
 * log_f32_avx2.h - 8-lane float log for AVX2+FMA translation units: the
 * steps of log_f32.h, lane by lane, bit-identical to the AVX-512 version.
 */
#ifndef S4J_MATH_LOG_F32_AVX2_H
#define S4J_MATH_LOG_F32_AVX2_H

#include <immintrin.h>

#include "math/log_f32.h"

static inline __m256 s4j_log_f32_avx2(__m256 vx) {
  const __m256i vu = _mm256_castps_si256(vx);
  const __m256i vk = _mm256_srai_epi32(
      _mm256_sub_epi32(vu, _mm256_set1_epi32((int32_t) S4J_LOG_F32_SQRT_HALF_BITS)), 23);
  const __m256 vm = _mm256_castsi256_ps(_mm256_sub_epi32(vu, _mm256_slli_epi32(vk, 23)));
  const __m256 vone = _mm256_set1_ps(1.0f);
  const __m256 vf = _mm256_sub_ps(vm, vone);
  const __m256 vs = _mm256_div_ps(vf, _mm256_add_ps(_mm256_set1_ps(2.0f), vf));
  const __m256 vs2 = _mm256_mul_ps(vs, vs);
  __m256 vt = _mm256_fmadd_ps(_mm256_set1_ps(S4J_LOG_F32_C9), vs2, _mm256_set1_ps(S4J_LOG_F32_C7));
  vt = _mm256_fmadd_ps(vt, vs2, _mm256_set1_ps(S4J_LOG_F32_C5));
  vt = _mm256_fmadd_ps(vt, vs2, _mm256_set1_ps(S4J_LOG_F32_C3));
  const __m256 vw = _mm256_fnmadd_ps(_mm256_add_ps(vs2, vs2), vt, vf);
  const __m256 vlog_m = _mm256_fnmadd_ps(vs, vw, vf);
  const __m256 vkf = _mm256_cvtepi32_ps(vk);
  const __m256 vr = _mm256_fmadd_ps(vkf, _mm256_set1_ps(S4J_EXP_F32_LN2_HI),
                                    _mm256_fmadd_ps(vkf, _mm256_set1_ps(S4J_EXP_F32_LN2_LO), vlog_m));
  /* +inf and NaN (not <= FLT_MAX, unordered included) give x + x. */
  const __m256 vbig = _mm256_cmp_ps(vx, _mm256_set1_ps(0x1.fffffep+127f), _CMP_NLE_UQ);
  return _mm256_blendv_ps(vr, _mm256_add_ps(vx, vx), vbig);
}

#endif /* S4J_MATH_LOG_F32_AVX2_H */
