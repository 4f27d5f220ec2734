/*
 * exp_f64_avx512.h - 8-lane exp of doubles for AVX-512F translation units.
 * The algorithm, constants, range policy and error bound are in exp_f64.h;
 * here the reduction and the Horner steps are fused (FMA) and vscalefpd
 * does the reconstruction, subnormal results included.
 */
#ifndef S4J_MATH_EXP_F64_AVX512_H
#define S4J_MATH_EXP_F64_AVX512_H

#include <immintrin.h>

#include "math/exp_f64.h"

static inline __m512d s4j_exp_f64_avx512(__m512d vx) {
  /* vmaxpd/vminpd return the SECOND operand when either is NaN: x goes
   * second so a NaN lane stays NaN. The clamps keep n finite for +-inf. */
  __m512d vxc = _mm512_max_pd(_mm512_set1_pd(S4J_EXP_F64_X_MIN), vx);
  vxc = _mm512_min_pd(_mm512_set1_pd(S4J_EXP_F64_X_MAX), vxc);

  const __m512d vn = _mm512_roundscale_pd(_mm512_mul_pd(vxc, _mm512_set1_pd(S4J_EXP_F64_LOG2E)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512d vr = _mm512_fmadd_pd(vn, _mm512_set1_pd(-S4J_EXP_F64_LN2_HI), vxc);
  vr = _mm512_fmadd_pd(vn, _mm512_set1_pd(-S4J_EXP_F64_LN2_LO), vr);

  __m512d vq = _mm512_fmadd_pd(_mm512_set1_pd(S4J_EXP_F64_C13), vr, _mm512_set1_pd(S4J_EXP_F64_C12));
  vq = _mm512_fmadd_pd(vq, vr, _mm512_set1_pd(S4J_EXP_F64_C11));
  vq = _mm512_fmadd_pd(vq, vr, _mm512_set1_pd(S4J_EXP_F64_C10));
  vq = _mm512_fmadd_pd(vq, vr, _mm512_set1_pd(S4J_EXP_F64_C9));
  vq = _mm512_fmadd_pd(vq, vr, _mm512_set1_pd(S4J_EXP_F64_C8));
  vq = _mm512_fmadd_pd(vq, vr, _mm512_set1_pd(S4J_EXP_F64_C7));
  vq = _mm512_fmadd_pd(vq, vr, _mm512_set1_pd(S4J_EXP_F64_C6));
  vq = _mm512_fmadd_pd(vq, vr, _mm512_set1_pd(S4J_EXP_F64_C5));
  vq = _mm512_fmadd_pd(vq, vr, _mm512_set1_pd(S4J_EXP_F64_C4));
  vq = _mm512_fmadd_pd(vq, vr, _mm512_set1_pd(S4J_EXP_F64_C3));
  vq = _mm512_fmadd_pd(vq, vr, _mm512_set1_pd(S4J_EXP_F64_C2));
  vq = _mm512_fmadd_pd(vq, vr, _mm512_set1_pd(1.0));
  const __m512d vp = _mm512_fmadd_pd(vq, vr, _mm512_set1_pd(1.0));
  return _mm512_scalef_pd(vp, vn);
}

#endif /* S4J_MATH_EXP_F64_AVX512_H */
