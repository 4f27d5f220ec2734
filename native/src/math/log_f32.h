/*
 * log_f32.h - float32 natural log for the once-per-row log of the sum of
 * exponentials in the forward's short-row path (rows held in registers,
 * where the log's latency is a large part of the row's time). Constants,
 * derivation, error bound and the scalar version; log_f32_avx512.h and
 * log_f32_avx2.h do the same steps lane by lane.
 *
 * Domain: x a positive normal float, +inf or NaN. (The forward's sums are
 * >= 1 or NaN.) log(+inf) = +inf, log(NaN) = NaN; zero, negative and
 * subnormal x are outside the domain and give garbage.
 *
 *   1. x = 2^k * m with m in [sqrt(1/2), sqrt(2)), from the bits alone:
 *      t = bits(x) - bits(SQRT_HALF); k = t >> 23 (arithmetic shift);
 *      bits(m) = bits(x) - (k << 23). So log(x) = k*ln2 + log(m).
 *   2. log(m) = 2*atanh(s) = 2s + 2s*(s^2/3 + s^4/5 + s^6/7 + s^8/9),
 *      s = f/(2 + f), f = m - 1 (exact: Sterbenz). Evaluated as
 *      f - s*(f - 2*s^2*t), t the bracket above, since 2s = f - s*f
 *      exactly: the exact f carries the result, the rounded s only the
 *      correction s*f (|s| < 0.18), so the division's rounding is damped. |s| <= (sqrt2 - 1)/
 *      (sqrt2 + 1) = 0.1716, s^2 <= 0.02944. The series left out starts at
 *      s^10/11 and is below s^2^5/11/(1 - s^2) = 2.1e-9 relative to 2s
 *      (about 0.02 ulp): a truncated Taylor series, no fitted coefficients.
 *   3. log(x) = k*LN2_HI + (k*LN2_LO + log(m)) with the two-float ln2 of
 *      exp_f32.h (k*LN2_HI exact for |k| <= 511; here |k| <= 128).
 *
 * Error, measured by test_exp against the double log over every float in
 * [1, 2^20) and every 1021st positive normal float (169.9e6 inputs,
 * `ctest -R exp -V`): avx512, avx2 max 0.898 ulp at x = 0x1.92c586p+0,
 * bit-identical to each other; scalar (no FMA) max 0.890 ulp. Documented
 * bound, enforced by the test: < 1 ulp of the float result (faithfully
 * rounded); log(1) = 0 exactly. In the forward this moves
 * y = (x - max) - log(sum) by < 1 ulp of log(sum) <= 1.2e-7 * |y|
 * (|y| >= log(sum) since x <= max): a sixteenth of the library's bound
 * 2e-6 * max(1, |y|).
 */
#ifndef S4J_MATH_LOG_F32_H
#define S4J_MATH_LOG_F32_H

#include <stddef.h>
#include <stdint.h>

#include "math/exp_f32.h" /* S4J_FMADD_F32, bit casts, LN2_HI/LN2_LO */

#define S4J_LOG_F32_SQRT_HALF_BITS UINT32_C(0x3f3504f3) /* sqrt(1/2), rounded */
#define S4J_LOG_F32_C3 0x1.555556p-2f                  /* 1/3 */
#define S4J_LOG_F32_C5 0x1.99999ap-3f                  /* 1/5 */
#define S4J_LOG_F32_C7 0x1.249250p-3f                  /* 1/7 */
#define S4J_LOG_F32_C9 0x1.c71c72p-4f                  /* 1/9 */

static inline float s4j_log_f32_scalar(float x) {
  const uint32_t u = s4j_f32_to_bits(x);
  const int32_t k = (int32_t) (u - S4J_LOG_F32_SQRT_HALF_BITS) >> 23;
  const float m = s4j_f32_from_bits(u - ((uint32_t) k << 23));
  const float f = m - 1.0f;
  const float s = f / (2.0f + f);
  const float s2 = s * s;
  float t = S4J_FMADD_F32(S4J_LOG_F32_C9, s2, S4J_LOG_F32_C7);
  t = S4J_FMADD_F32(t, s2, S4J_LOG_F32_C5);
  t = S4J_FMADD_F32(t, s2, S4J_LOG_F32_C3);
  /* 2s = f - s*f exactly (s*(2 + f) = f), so log(m) = f - s*(f - 2*s2*t):
   * f is exact and the rounded part is at most a fifth of it. */
  const float w = S4J_FMADD_F32(-(s2 + s2), t, f);
  const float log_m = S4J_FMADD_F32(-s, w, f);
  const float kf = (float) k;
  const float r = S4J_FMADD_F32(kf, S4J_EXP_F32_LN2_HI, S4J_FMADD_F32(kf, S4J_EXP_F32_LN2_LO, log_m));
  /* +inf and NaN: the bit steps above made a finite value of them. */
  return x <= 0x1.fffffep+127f ? r : x + x; /* x + x: NaN stays NaN, +inf stays +inf */
}

/* y[i] = log(x[i]) for i < n through each ISA's vector log (defined in
 * exp_f32_<isa>.c, the translation units built for that ISA), for test_exp. */
void s4j_math_f32_log__avx2(size_t n, const float *x, float *y);
void s4j_math_f32_log__avx512f(size_t n, const float *x, float *y);

#endif /* S4J_MATH_LOG_F32_H */
