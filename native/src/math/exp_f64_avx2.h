/*
 * exp_f64_avx2.h - 4-lane exp of doubles for AVX2+FMA translation units.
 * The algorithm, constants, range policy and error bound are in exp_f64.h;
 * the reduction and the Horner steps are fused (FMA) as on AVX-512, and the
 * reconstruction is the scalar form's two exact factors
 * (p * 2^floor(n/2)) * 2^ceil(n/2), built from integer bits, so a subnormal
 * result is rounded once. Each lane gives the AVX-512 form's bits.
 */
#ifndef S4J_MATH_EXP_F64_AVX2_H
#define S4J_MATH_EXP_F64_AVX2_H

#include <immintrin.h>

#include "math/exp_f64.h"

/* 2^k for integral k in [-1022, 1023] held in a double vector. */
static inline __m256d s4j_exp2i_f64_avx2(__m256d k) {
  const __m256i ki = _mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(k));
  return _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_add_epi64(ki, _mm256_set1_epi64x(1023)), 52));
}

static inline __m256d s4j_exp_f64_avx2(__m256d vx) {
  /* vmaxpd/vminpd return the SECOND operand when either is NaN: x goes
   * second so a NaN lane stays NaN (its scale factors are garbage, p is
   * NaN). The clamps keep n in [-1077, 1024] for +-inf. */
  __m256d vxc = _mm256_max_pd(_mm256_set1_pd(S4J_EXP_F64_X_MIN), vx);
  vxc = _mm256_min_pd(_mm256_set1_pd(S4J_EXP_F64_X_MAX), vxc);

  const __m256d vn = _mm256_round_pd(_mm256_mul_pd(vxc, _mm256_set1_pd(S4J_EXP_F64_LOG2E)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256d vr = _mm256_fmadd_pd(vn, _mm256_set1_pd(-S4J_EXP_F64_LN2_HI), vxc);
  vr = _mm256_fmadd_pd(vn, _mm256_set1_pd(-S4J_EXP_F64_LN2_LO), vr);

  __m256d vq = _mm256_fmadd_pd(_mm256_set1_pd(S4J_EXP_F64_C13), vr, _mm256_set1_pd(S4J_EXP_F64_C12));
  vq = _mm256_fmadd_pd(vq, vr, _mm256_set1_pd(S4J_EXP_F64_C11));
  vq = _mm256_fmadd_pd(vq, vr, _mm256_set1_pd(S4J_EXP_F64_C10));
  vq = _mm256_fmadd_pd(vq, vr, _mm256_set1_pd(S4J_EXP_F64_C9));
  vq = _mm256_fmadd_pd(vq, vr, _mm256_set1_pd(S4J_EXP_F64_C8));
  vq = _mm256_fmadd_pd(vq, vr, _mm256_set1_pd(S4J_EXP_F64_C7));
  vq = _mm256_fmadd_pd(vq, vr, _mm256_set1_pd(S4J_EXP_F64_C6));
  vq = _mm256_fmadd_pd(vq, vr, _mm256_set1_pd(S4J_EXP_F64_C5));
  vq = _mm256_fmadd_pd(vq, vr, _mm256_set1_pd(S4J_EXP_F64_C4));
  vq = _mm256_fmadd_pd(vq, vr, _mm256_set1_pd(S4J_EXP_F64_C3));
  vq = _mm256_fmadd_pd(vq, vr, _mm256_set1_pd(S4J_EXP_F64_C2));
  vq = _mm256_fmadd_pd(vq, vr, _mm256_set1_pd(1.0));
  const __m256d vp = _mm256_fmadd_pd(vq, vr, _mm256_set1_pd(1.0));

  const __m256d n1 = _mm256_floor_pd(_mm256_mul_pd(vn, _mm256_set1_pd(0.5)));
  const __m256d n2 = _mm256_sub_pd(vn, n1);
  return _mm256_mul_pd(_mm256_mul_pd(vp, s4j_exp2i_f64_avx2(n1)), s4j_exp2i_f64_avx2(n2));
}

#endif /* S4J_MATH_EXP_F64_AVX2_H */
