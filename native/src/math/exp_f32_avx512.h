/*
 * exp_f32_avx512.h - 16-lane exp for AVX-512F translation units. The
 * algorithm, constants, range policy and error bound are in exp_f32.h; this
 * is the same computation with vscalefps for the reconstruction,
 * bit-identical to the AVX2 version.
 */
#ifndef S4J_MATH_EXP_F32_AVX512_H
#define S4J_MATH_EXP_F32_AVX512_H

#include <immintrin.h>

#include "math/exp_f32.h"

/* The constants, broadcast once per kernel call. */
struct s4j_exp_f32_avx512_consts {
  __m512 cutoff, x_max, log2e, magic_bias, minus_ln2_hi, minus_ln2_lo;
  __m512 c2, c3, c4, c5, c6, one;
  __m512 minus_ln2; /* the backward exp's one-constant reduction */
};

static inline struct s4j_exp_f32_avx512_consts s4j_exp_f32_avx512_init(void) {
  struct s4j_exp_f32_avx512_consts k;
  k.cutoff = _mm512_set1_ps(S4J_EXP_F32_CUTOFF);
  k.x_max = _mm512_set1_ps(S4J_EXP_F32_X_MAX);
  k.log2e = _mm512_set1_ps(S4J_EXP_F32_LOG2E);
  k.magic_bias = _mm512_set1_ps(S4J_EXP_F32_MAGIC_BIAS);
  k.minus_ln2_hi = _mm512_set1_ps(-S4J_EXP_F32_LN2_HI);
  k.minus_ln2_lo = _mm512_set1_ps(-S4J_EXP_F32_LN2_LO);
  k.c2 = _mm512_set1_ps(S4J_EXP_F32_C2);
  k.c3 = _mm512_set1_ps(S4J_EXP_F32_C3);
  k.c4 = _mm512_set1_ps(S4J_EXP_F32_C4);
  k.c5 = _mm512_set1_ps(S4J_EXP_F32_C5);
  k.c6 = _mm512_set1_ps(S4J_EXP_F32_C6);
  k.one = _mm512_set1_ps(1.0f);
  k.minus_ln2 = _mm512_set1_ps(-S4J_EXP_F32_SUM_LN2);
  return k;
}

/*
 * Steps 1 and 2 of exp_f32.h: *vn gets n, the result is p = exp(r) on the
 * reduced argument. x must already be clamped.
 */
static inline __m512 s4j_exp_f32_avx512_reduce_poly(__m512 vxc, const struct s4j_exp_f32_avx512_consts *k,
                                                    __m512 *vn) {
  const __m512 vz = _mm512_fmadd_ps(vxc, k->log2e, k->magic_bias);
  *vn = _mm512_sub_ps(vz, k->magic_bias);
  __m512 vr = _mm512_fmadd_ps(*vn, k->minus_ln2_hi, vxc);
  vr = _mm512_fmadd_ps(*vn, k->minus_ln2_lo, vr);

  __m512 vq = _mm512_fmadd_ps(k->c6, vr, k->c5);
  vq = _mm512_fmadd_ps(vq, vr, k->c4);
  vq = _mm512_fmadd_ps(vq, vr, k->c3);
  vq = _mm512_fmadd_ps(vq, vr, k->c2);
  vq = _mm512_fmadd_ps(vq, vr, k->one);
  return _mm512_fmadd_ps(vq, vr, k->one);
}

static inline __m512 s4j_exp_f32_avx512(__m512 vx, const struct s4j_exp_f32_avx512_consts *k) {
  /* vmaxps/vminps return the SECOND operand when either is NaN: x goes
   * second so a NaN lane stays NaN. The clamps keep n finite for +-inf. */
  __m512 vxc = _mm512_max_ps(k->cutoff, vx);
  vxc = _mm512_min_ps(k->x_max, vxc);

  __m512 vn;
  const __m512 vp = s4j_exp_f32_avx512_reduce_poly(vxc, k, &vn);

  /* Lanes with x >= CUTOFF or NaN (unordered) keep p * 2^n; the others
   * (x < CUTOFF, -inf) become +0. */
  const __mmask16 vkeep = _mm512_cmp_ps_mask(vx, k->cutoff, _CMP_NLT_UQ);
  return _mm512_maskz_scalef_ps(vkeep, vp, vn);
}

/*
 * The backward exp, rr1_p6 (exp_f32.h): the steps of s4j_exp_f32_avx512 with
 * a one-constant reduction, absolute error < 0.75 * 2^-24 for x <= 0. The
 * lower clamp is left out too: it only kept garbage out of lanes that the
 * underflow mask zeroes anyway (x < CUTOFF, -inf); the upper one keeps n <=
 * 128 for +inf and huge x, as there.
 */
static inline __m512 s4j_expgrad_f32_avx512(__m512 vx, const struct s4j_exp_f32_avx512_consts *k) {
  const __m512 vxc = _mm512_min_ps(k->x_max, vx); /* x second: NaN kept */

  const __m512 vz = _mm512_fmadd_ps(vxc, k->log2e, k->magic_bias);
  const __m512 vn = _mm512_sub_ps(vz, k->magic_bias);
  const __m512 vr = _mm512_fmadd_ps(vn, k->minus_ln2, vxc);

  __m512 vq = _mm512_fmadd_ps(k->c6, vr, k->c5);
  vq = _mm512_fmadd_ps(vq, vr, k->c4);
  vq = _mm512_fmadd_ps(vq, vr, k->c3);
  vq = _mm512_fmadd_ps(vq, vr, k->c2);
  vq = _mm512_fmadd_ps(vq, vr, k->one);
  const __m512 vp = _mm512_fmadd_ps(vq, vr, k->one);

  const __mmask16 vkeep = _mm512_cmp_ps_mask(vx, k->cutoff, _CMP_NLT_UQ);
  return _mm512_maskz_scalef_ps(vkeep, vp, vn);
}

/* The sum-only rr1_p5 exp (exp_f32.h): constants, broadcast once. */
struct s4j_expsum_f32_avx512_consts {
  __m512 cutoff, log2e, minus_ln2, p1, p2, p3, p4, p5, one;
};

static inline struct s4j_expsum_f32_avx512_consts s4j_expsum_f32_avx512_init(void) {
  struct s4j_expsum_f32_avx512_consts k;
  k.cutoff = _mm512_set1_ps(S4J_EXP_F32_CUTOFF);
  k.log2e = _mm512_set1_ps(S4J_EXP_F32_LOG2E);
  k.minus_ln2 = _mm512_set1_ps(-S4J_EXP_F32_SUM_LN2);
  k.p1 = _mm512_set1_ps(S4J_EXP_F32_SUM_P1);
  k.p2 = _mm512_set1_ps(S4J_EXP_F32_SUM_P2);
  k.p3 = _mm512_set1_ps(S4J_EXP_F32_SUM_P3);
  k.p4 = _mm512_set1_ps(S4J_EXP_F32_SUM_P4);
  k.p5 = _mm512_set1_ps(S4J_EXP_F32_SUM_P5);
  k.one = _mm512_set1_ps(1.0f);
  return k;
}

/*
 * exp(x) for x <= 8 or NaN, for a sum only: relative error < 4e-7 (not
 * faithfully rounded, see exp_f32.h), 10 vector ops. x < CUTOFF and -inf
 * give +0: their lanes compute garbage (-inf: r = NaN) that the zeroing
 * mask of vscalefps drops. Not for x > 8.
 */
static inline __m512 s4j_expsum_f32_avx512(__m512 vx, const struct s4j_expsum_f32_avx512_consts *k) {
  const __m512 vn = _mm512_roundscale_ps(_mm512_mul_ps(vx, k->log2e),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 vr = _mm512_fmadd_ps(vn, k->minus_ln2, vx);

  __m512 vp = _mm512_fmadd_ps(k->p5, vr, k->p4);
  vp = _mm512_fmadd_ps(vp, vr, k->p3);
  vp = _mm512_fmadd_ps(vp, vr, k->p2);
  vp = _mm512_fmadd_ps(vp, vr, k->p1);
  vp = _mm512_fmadd_ps(vp, vr, k->one);

  /* Keep x >= CUTOFF and NaN (unordered); the rest become +0. */
  const __mmask16 vkeep = _mm512_cmp_ps_mask(vx, k->cutoff, _CMP_NLT_UQ);
  return _mm512_maskz_scalef_ps(vkeep, vp, vn);
}

#endif /* S4J_MATH_EXP_F32_AVX512_H */
