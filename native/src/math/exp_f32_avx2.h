/*
 * exp_f32_avx2.h - 8-lane exp for AVX2+FMA translation units. The algorithm,
 * constants, range policy and error bound are in exp_f32.h; this is the same
 * computation, lane by lane, bit-identical to the AVX-512 version.
 */
#ifndef S4J_MATH_EXP_F32_AVX2_H
#define S4J_MATH_EXP_F32_AVX2_H

#include <immintrin.h>

#include "math/exp_f32.h"

/* 1.5*2^23 + 127: z's low 9 bits hold n + 127, so z << 23 is 2^n. */
#define S4J_EXP_F32_SUM_MAGIC_BIAS 0x1.8000fep+23f

/* The constants, broadcast once per kernel call and passed by value so the
 * compiler keeps them in registers across the loop. */
struct s4j_exp_f32_avx2_consts {
  __m256 cutoff, x_max, log2e, magic_bias, minus_ln2_hi, minus_ln2_lo;
  __m256 c2, c3, c4, c5, c6, one;
  __m256i exp_bias;
  __m256 minus_ln2, magic_bias_exp; /* for the backward exp */
};

static inline struct s4j_exp_f32_avx2_consts s4j_exp_f32_avx2_init(void) {
  struct s4j_exp_f32_avx2_consts k;
  k.cutoff = _mm256_set1_ps(S4J_EXP_F32_CUTOFF);
  k.x_max = _mm256_set1_ps(S4J_EXP_F32_X_MAX);
  k.log2e = _mm256_set1_ps(S4J_EXP_F32_LOG2E);
  k.magic_bias = _mm256_set1_ps(S4J_EXP_F32_MAGIC_BIAS);
  k.minus_ln2_hi = _mm256_set1_ps(-S4J_EXP_F32_LN2_HI);
  k.minus_ln2_lo = _mm256_set1_ps(-S4J_EXP_F32_LN2_LO);
  k.c2 = _mm256_set1_ps(S4J_EXP_F32_C2);
  k.c3 = _mm256_set1_ps(S4J_EXP_F32_C3);
  k.c4 = _mm256_set1_ps(S4J_EXP_F32_C4);
  k.c5 = _mm256_set1_ps(S4J_EXP_F32_C5);
  k.c6 = _mm256_set1_ps(S4J_EXP_F32_C6);
  k.one = _mm256_set1_ps(1.0f);
  k.exp_bias = _mm256_set1_epi32(127);
  k.minus_ln2 = _mm256_set1_ps(-S4J_EXP_F32_SUM_LN2);
  k.magic_bias_exp = _mm256_set1_ps(S4J_EXP_F32_SUM_MAGIC_BIAS);
  return k;
}

/*
 * Steps 1 and 2 of exp_f32.h: *vz gets
 * x * log2(e) + MAGIC_BIAS (n in its low bits), the result is p = exp(r) on
 * the reduced argument. x must already be in the range its caller allows.
 */
static inline __m256 s4j_exp_f32_avx2_reduce_poly(__m256 vx, const struct s4j_exp_f32_avx2_consts *k,
                                                  __m256 *vz) {
  *vz = _mm256_fmadd_ps(vx, k->log2e, k->magic_bias);
  const __m256 vn = _mm256_sub_ps(*vz, k->magic_bias);
  __m256 vr = _mm256_fmadd_ps(vn, k->minus_ln2_hi, vx);
  vr = _mm256_fmadd_ps(vn, k->minus_ln2_lo, vr);

  __m256 vq = _mm256_fmadd_ps(k->c6, vr, k->c5);
  vq = _mm256_fmadd_ps(vq, vr, k->c4);
  vq = _mm256_fmadd_ps(vq, vr, k->c3);
  vq = _mm256_fmadd_ps(vq, vr, k->c2);
  vq = _mm256_fmadd_ps(vq, vr, k->one);
  return _mm256_fmadd_ps(vq, vr, k->one);
}

static inline __m256 s4j_exp_f32_avx2(__m256 vx, const struct s4j_exp_f32_avx2_consts *k) {
  /* vmaxps/vminps return the SECOND operand when either is NaN: x goes
   * second so a NaN lane stays NaN. */
  __m256 vxc = _mm256_max_ps(k->cutoff, vx);
  vxc = _mm256_min_ps(k->x_max, vxc);

  __m256 vz;
  const __m256 vp = s4j_exp_f32_avx2_reduce_poly(vxc, k, &vz);

  /* 2^n as two exact factors: n reaches 128, one factor would overflow. */
  const __m256i vni = _mm256_sub_epi32(_mm256_castps_si256(vz), _mm256_castps_si256(k->magic_bias));
  const __m256i vn1 = _mm256_srai_epi32(vni, 1);
  const __m256i vn2 = _mm256_sub_epi32(vni, vn1);
  const __m256 vs1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(vn1, k->exp_bias), 23));
  const __m256 vs2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(vn2, k->exp_bias), 23));
  const __m256 ve = _mm256_mul_ps(_mm256_mul_ps(vp, vs1), vs2);

  /* x < CUTOFF (and -inf) -> +0; ordered compare, so NaN is kept. */
  const __m256 vunderflow = _mm256_cmp_ps(vx, k->cutoff, _CMP_LT_OQ);
  return _mm256_andnot_ps(vunderflow, ve);
}

/*
 * The backward exp, rr1_p6 (exp_f32.h): the steps of s4j_exp_f32_avx2 with
 * a one-constant reduction, absolute error < 0.75 * 2^-24 for x <= 0, and
 * cheaper where the backward calls it (y <= 0 from a forward): the lower
 * clamp is left out (it only kept garbage out of lanes that the underflow
 * mask zeroes anyway: x < CUTOFF, -inf), and while no lane is above 88
 * (n <= 127), 2^n is one normal float, z << 23 (z's bias is 1.5*2^23 + 127
 * here, so its low 9 bits hold n + 127); a vector with a lane above 88 takes
 * s4j_exp_f32_avx2 (the two-factor scaling, and its two-constant
 * reduction, which is within the same bounds).
 */
#define S4J_EXP_F32_ONE_SCALE_MAX 88.0f /* round(88 * log2(e)) = 127 */

/* The backward exp for a vector with no lane above 88 (or a NaN). */
static inline __m256 s4j_expgrad_f32_avx2_small(__m256 vx, const struct s4j_exp_f32_avx2_consts *k) {
  const __m256 vz = _mm256_fmadd_ps(vx, k->log2e, k->magic_bias_exp);
  const __m256 vn = _mm256_sub_ps(vz, k->magic_bias_exp);
  const __m256 vr = _mm256_fmadd_ps(vn, k->minus_ln2, vx);

  __m256 vq = _mm256_fmadd_ps(k->c6, vr, k->c5);
  vq = _mm256_fmadd_ps(vq, vr, k->c4);
  vq = _mm256_fmadd_ps(vq, vr, k->c3);
  vq = _mm256_fmadd_ps(vq, vr, k->c2);
  vq = _mm256_fmadd_ps(vq, vr, k->one);
  const __m256 vp = _mm256_fmadd_ps(vq, vr, k->one);

  const __m256 vs = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(vz), 23));
  const __m256 ve = _mm256_mul_ps(vp, vs);

  /* x < CUTOFF (and -inf) -> +0; ordered compare, so NaN is kept. */
  const __m256 vunderflow = _mm256_cmp_ps(vx, k->cutoff, _CMP_LT_OQ);
  return _mm256_andnot_ps(vunderflow, ve);
}

static inline __m256 s4j_expgrad_f32_avx2(__m256 vx, const struct s4j_exp_f32_avx2_consts *k) {
  const __m256 vbig = _mm256_cmp_ps(vx, _mm256_set1_ps(S4J_EXP_F32_ONE_SCALE_MAX), _CMP_GT_OQ);
  if (__builtin_expect(_mm256_movemask_ps(vbig) != 0, 0)) return s4j_exp_f32_avx2(vx, k);
  return s4j_expgrad_f32_avx2_small(vx, k);
}

/* The sum-only rr1_p5 exp (exp_f32.h): constants, broadcast once. */
struct s4j_expsum_f32_avx2_consts {
  __m256 cutoff, log2e, magic_bias, minus_ln2, p1, p2, p3, p4, p5, one;
};

static inline struct s4j_expsum_f32_avx2_consts s4j_expsum_f32_avx2_init(void) {
  struct s4j_expsum_f32_avx2_consts k;
  k.cutoff = _mm256_set1_ps(S4J_EXP_F32_CUTOFF);
  k.log2e = _mm256_set1_ps(S4J_EXP_F32_LOG2E);
  k.magic_bias = _mm256_set1_ps(S4J_EXP_F32_SUM_MAGIC_BIAS);
  k.minus_ln2 = _mm256_set1_ps(-S4J_EXP_F32_SUM_LN2);
  k.p1 = _mm256_set1_ps(S4J_EXP_F32_SUM_P1);
  k.p2 = _mm256_set1_ps(S4J_EXP_F32_SUM_P2);
  k.p3 = _mm256_set1_ps(S4J_EXP_F32_SUM_P3);
  k.p4 = _mm256_set1_ps(S4J_EXP_F32_SUM_P4);
  k.p5 = _mm256_set1_ps(S4J_EXP_F32_SUM_P5);
  k.one = _mm256_set1_ps(1.0f);
  return k;
}

/*
 * exp(x) for x <= 8 or NaN, for a sum only: relative error < 4e-7 (not
 * faithfully rounded, see exp_f32.h), 12 vector ops. x in [CUTOFF, 8] keeps
 * n in [-126, 12], so 2^n is one normal float built from the low bits of z;
 * lanes below CUTOFF (and -inf, where r is NaN) compute garbage that the
 * final mask turns into +0. NaN stays NaN. Not for x > 8.
 */
static inline __m256 s4j_expsum_f32_avx2(__m256 vx, const struct s4j_expsum_f32_avx2_consts *k) {
  const __m256 vz = _mm256_fmadd_ps(vx, k->log2e, k->magic_bias);
  const __m256 vn = _mm256_sub_ps(vz, k->magic_bias);
  const __m256 vr = _mm256_fmadd_ps(vn, k->minus_ln2, vx);

  __m256 vp = _mm256_fmadd_ps(k->p5, vr, k->p4);
  vp = _mm256_fmadd_ps(vp, vr, k->p3);
  vp = _mm256_fmadd_ps(vp, vr, k->p2);
  vp = _mm256_fmadd_ps(vp, vr, k->p1);
  vp = _mm256_fmadd_ps(vp, vr, k->one);

  const __m256 vs = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(vz), 23));
  const __m256 ve = _mm256_mul_ps(vp, vs);

  /* x < CUTOFF (and -inf) -> +0; ordered compare, so NaN is kept. */
  const __m256 vunderflow = _mm256_cmp_ps(vx, k->cutoff, _CMP_LT_OQ);
  return _mm256_andnot_ps(vunderflow, ve);
}

#endif /* S4J_MATH_EXP_F32_AVX2_H */
