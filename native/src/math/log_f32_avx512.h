/*
 * log_f32_avx512.h - 16-lane float log for AVX-512F translation units: the
 * steps of log_f32.h, lane by lane, bit-identical to the AVX2 version.
 */
#ifndef S4J_MATH_LOG_F32_AVX512_H
#define S4J_MATH_LOG_F32_AVX512_H

#include <immintrin.h>

#include "math/log_f32.h"

static inline __m512 s4j_log_f32_avx512(__m512 vx) {
  const __m512i vu = _mm512_castps_si512(vx);
  const __m512i vk = _mm512_srai_epi32(
      _mm512_sub_epi32(vu, _mm512_set1_epi32((int32_t) S4J_LOG_F32_SQRT_HALF_BITS)), 23);
  const __m512 vm = _mm512_castsi512_ps(_mm512_sub_epi32(vu, _mm512_slli_epi32(vk, 23)));
  const __m512 vone = _mm512_set1_ps(1.0f);
  const __m512 vf = _mm512_sub_ps(vm, vone);
  const __m512 vs = _mm512_div_ps(vf, _mm512_add_ps(_mm512_set1_ps(2.0f), vf));
  const __m512 vs2 = _mm512_mul_ps(vs, vs);
  __m512 vt = _mm512_fmadd_ps(_mm512_set1_ps(S4J_LOG_F32_C9), vs2, _mm512_set1_ps(S4J_LOG_F32_C7));
  vt = _mm512_fmadd_ps(vt, vs2, _mm512_set1_ps(S4J_LOG_F32_C5));
  vt = _mm512_fmadd_ps(vt, vs2, _mm512_set1_ps(S4J_LOG_F32_C3));
  const __m512 vw = _mm512_fnmadd_ps(_mm512_add_ps(vs2, vs2), vt, vf);
  const __m512 vlog_m = _mm512_fnmadd_ps(vs, vw, vf);
  const __m512 vkf = _mm512_cvtepi32_ps(vk);
  const __m512 vr = _mm512_fmadd_ps(vkf, _mm512_set1_ps(S4J_EXP_F32_LN2_HI),
                                    _mm512_fmadd_ps(vkf, _mm512_set1_ps(S4J_EXP_F32_LN2_LO), vlog_m));
  /* +inf and NaN (not <= FLT_MAX, unordered included) give x + x. */
  const __mmask16 vbig = _mm512_cmp_ps_mask(vx, _mm512_set1_ps(0x1.fffffep+127f), _CMP_NLE_UQ);
  return _mm512_mask_add_ps(vr, vbig, vx, vx);
}

#endif /* S4J_MATH_LOG_F32_AVX512_H */
