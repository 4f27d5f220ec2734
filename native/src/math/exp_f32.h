/*
 * exp_f32.h - the float32 exp shared by every kernel: constants, derivation,
 * error bound, and the scalar version. The vector versions
 * (exp_f32_avx2.h, exp_f32_avx512.h) use these constants and the same steps.
 *
 * Algorithm "rr2_p6": two-constant range reduction, degree-6 polynomial.
 *
 *   1. Range reduction. n = round(x / ln2), r = x - n*ln2, so
 *      exp(x) = 2^n * exp(r) with |r| <= ln2/2 (+ a few 1e-6 from rounding).
 *      n is rounded with the magic-bias trick: z = x*log2(e) + 1.5*2^23 leaves
 *      n in the low mantissa bits of z (exact for |n| < 2^22), and
 *      n = z - 1.5*2^23 is exact.
 *      r uses a Cody-Waite split ln2 = LN2_HI + LN2_LO: LN2_HI has 15
 *      significant bits, so n*LN2_HI is exact for |n| <= 511 (we need <= 129)
 *      and x - n*LN2_HI is exact (Sterbenz), with or without FMA. LN2_LO is
 *      the rest, rounded to float (residual 5.5e-14, i.e. < 1e-11 in r).
 *
 *   2. Polynomial. exp(r) ~= 1 + r*(1 + r*(C2 + r*(C3 + r*(C4 + r*(C5 +
 *      r*C6))))), the minimax approximation of the relative error
 *      (p(r) - e^r) / e^r on [-ln2/2 - 1e-5, ln2/2 + 1e-5], with the terms of
 *      degree 0 and 1 pinned to 1 (so exp(0) == 1 exactly and nothing is lost
 *      rounding C1). Found by a Remez exchange in 40-digit arithmetic
 *      (exp_f32_remez.py beside this file): solve for C2..C6, round C2 to
 *      float, solve again for the rest, and so on. Relative error of the
 *      polynomial with these float coefficients: 3.19e-9 (2^-28.2), about
 *      0.05 ulp; the rest of the error is the rounding of the evaluation.
 *      (A degree-5 polynomial is 9.2e-8 = 2^-23.4 at best: 2.02 ulp overall.)
 *      Evaluated by Horner with FMA on AVX2/AVX-512; the scalar variant
 *      (compiled for the baseline, no FMA) uses a multiply and an add.
 *
 *   3. Reconstruction. exp(x) = p * 2^n. AVX-512 uses vscalefps. AVX2 and
 *      scalar build 2^n from bits, which covers only n in [-126, 127], while
 *      n reaches 128 for x in [88.38, 88.72] where exp(x) is still finite
 *      (exp(88.5) = 2.7e38): they scale twice, by 2^(n>>1) and 2^(n-(n>>1)),
 *      both exact, so the result is the same as one exact scaling.
 *
 * Range policy (identical on every ISA):
 *   - x < CUTOFF = -0x1.5d589ep+6 (-87.33654) gives exactly +0. CUTOFF is the
 *     smallest float with exp(x) >= FLT_MIN (exp(CUTOFF) = FLT_MIN * (1 +
 *     4.5e-6)), so no subnormal is ever produced: results below FLT_MIN flush
 *     to +0. exp(-inf) = +0.
 *   - x > ln(FLT_MAX) = 88.7228391 gives +inf (the rounding of the true
 *     value); exp(88.72283) = 3.4028e38 is finite, exp(88.72284) = +inf.
 *     +inf gives +inf.
 *   - NaN gives NaN. The clamps that keep n in range are written so that a
 *     NaN input survives them (see the operand order in the vector versions).
 *
 * Error, measured by test_exp over every float in [CUTOFF, 88.72283] (2.24e9
 * of them) against the double exp (`ctest -R exp -V`, or test/test_exp in
 * the build tree):
 *   avx512, avx2 (FMA):  max 0.891 ulp at x = -5.84864187; bit-identical to
 *                        each other
 *   scalar (no FMA):     max 1.167 ulp at x = -38.4349747
 * Documented bound, enforced by the test: < 1 ulp (faithfully rounded) with
 * FMA, < 1.5 ulp without; exp(0) = 1 exactly; no subnormal results.
 */
#ifndef S4J_MATH_EXP_F32_H
#define S4J_MATH_EXP_F32_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Inputs below CUTOFF give +0 (exp would be below FLT_MIN). */
#define S4J_EXP_F32_CUTOFF (-0x1.5d589ep+6f)      /* -87.33654 */
/* Upper clamp: anything above overflows anyway; keeps n <= 128. */
#define S4J_EXP_F32_X_MAX 0x1.64p+6f              /* 89.0 */

#define S4J_EXP_F32_LOG2E 0x1.715476p+0f          /* 1/ln2 rounded */
#define S4J_EXP_F32_MAGIC_BIAS 0x1.8p+23f         /* 1.5 * 2^23 */
#define S4J_EXP_F32_LN2_HI 0x1.62e4p-1f           /* 15 significant bits */
#define S4J_EXP_F32_LN2_LO 0x1.7f7d1cp-20f        /* ln2 - LN2_HI, rounded */

/* Minimax coefficients, see the header comment (C1 = 1 exactly). */
#define S4J_EXP_F32_C2 0x1.fffffcp-2f   /* 0.499999940 */
#define S4J_EXP_F32_C3 0x1.55548cp-3f   /* 0.166665167 */
#define S4J_EXP_F32_C4 0x1.555858p-5f   /* 0.0416681021 */
#define S4J_EXP_F32_C5 0x1.123de0p-7f   /* 0.00836919248 */
#define S4J_EXP_F32_C6 0x1.6ac74ep-10f  /* 0.00138389028 */

/*
 * a*b + c: one rounding where the translation unit is built with FMA (the
 * AVX2/AVX-512 files, so their scalar tails match their vector lanes), two
 * roundings in the baseline scalar variant (a libm fmaf call per element
 * would be far slower than the error it saves).
 */
#if defined(__FMA__)
#  define S4J_FMADD_F32(a, b, c) __builtin_fmaf((a), (b), (c))
#else
#  define S4J_FMADD_F32(a, b, c) ((a) * (b) + (c))
#endif

static inline uint32_t s4j_f32_to_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static inline float s4j_f32_from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* exp(x) for one float, with the range policy above. */
static inline float s4j_exp_f32_scalar(float x) {
  /* Comparisons with NaN are false, so NaN passes both clamps unchanged. */
  float xc = x < S4J_EXP_F32_CUTOFF ? S4J_EXP_F32_CUTOFF : x;
  xc = xc > S4J_EXP_F32_X_MAX ? S4J_EXP_F32_X_MAX : xc;

  const float z = S4J_FMADD_F32(xc, S4J_EXP_F32_LOG2E, S4J_EXP_F32_MAGIC_BIAS);
  const float n = z - S4J_EXP_F32_MAGIC_BIAS;
  float r = S4J_FMADD_F32(n, -S4J_EXP_F32_LN2_HI, xc);
  r = S4J_FMADD_F32(n, -S4J_EXP_F32_LN2_LO, r);

  float q = S4J_FMADD_F32(S4J_EXP_F32_C6, r, S4J_EXP_F32_C5);
  q = S4J_FMADD_F32(q, r, S4J_EXP_F32_C4);
  q = S4J_FMADD_F32(q, r, S4J_EXP_F32_C3);
  q = S4J_FMADD_F32(q, r, S4J_EXP_F32_C2);
  q = S4J_FMADD_F32(q, r, 1.0f);
  const float p = S4J_FMADD_F32(q, r, 1.0f);

  /* n in [-126, 128] as an integer, from the low bits of z (no float->int
   * conversion, which would be undefined for NaN). Unsigned arithmetic keeps
   * the garbage a NaN produces here well defined; p is NaN then anyway. */
  const uint32_t ni = s4j_f32_to_bits(z) - s4j_f32_to_bits(S4J_EXP_F32_MAGIC_BIAS);
  const uint32_t n1 = (uint32_t) ((int32_t) ni >> 1);  /* floor(n / 2) */
  const uint32_t n2 = ni - n1;                          /* ceil(n / 2) */
  const float s1 = s4j_f32_from_bits((n1 + 127u) << 23);
  const float s2 = s4j_f32_from_bits((n2 + 127u) << 23);
  const float e = (p * s1) * s2;

  return x < S4J_EXP_F32_CUTOFF ? 0.0f : e;
}

/*
 * Sum-only exp, algorithm "rr1_p5": for the sum pass of the forward only.
 *
 * The forward needs exp(x - max) inside sum(exp(x - max)) and nowhere else,
 * every argument is <= 0, and only the relative error of the sum matters.
 * All terms are positive, so a relative error of at most e per term gives
 * a sum within e of the exact one (relative), and log(sum) within e
 * (absolute) before its own rounding: e = 4e-7 (below) moves y by at most
 * a fifth of the library's bound 2e-6 * max(1, |y|). So this form trades
 * the < 1 ulp of rr2_p6 for 4 vector ops fewer per vector (AVX-512: 14 ->
 * 10 with the compare, counting from x):
 *
 *   1. n = round(x * log2(e)) (vrndscaleps on AVX-512; the magic-bias add
 *      on AVX2), r = x - n*LN2 with one float constant and one FMA. LN2 is
 *      ln2 rounded to float, 1.9e-9 too large, so r is off by -n * 1.9e-9
 *      and exp(r) by a relative +n * 1.9e-9: 0 at n = 0, 2.4e-7 at the
 *      cutoff (n = -126), where the term is 1e-38 of the largest one.
 *   2. p(r) = 1 + r*(P1 + r*(P2 + r*(P3 + r*(P4 + r*P5)))), 5 FMAs: the
 *      minimax approximation of the relative error (p(r) - e^r) / e^r on
 *      [-ln2/2 - 1e-5, ln2/2 + 1e-5], only the term of degree 0 pinned to
 *      1 (exp(0) == 1). Remez exchange in 40-digit arithmetic, coefficients
 *      rounded to float one at a time from P1 up (exp_f32_remez.py
 *      sum-p5). Relative error of the float polynomial: 9.19e-8
 *      (2^-23.4), about 1.5 ulp.
 *   3. exp(x) = p * 2^n: vscalefps on AVX-512; 2^n from bits on AVX2
 *      (x in [CUTOFF, 8] keeps n in [-126, 12]: one normal float).
 *
 * Range: x < CUTOFF (the same CUTOFF as rr2_p6) and -inf give exactly +0
 * (a compare mask, which also drops the NaN that r = -inf - (-inf) makes
 * for -inf); NaN gives NaN; no subnormal result. Arguments up to 8 are
 * allowed too (n <= 12): the AVX-512 forward sums long rows in one pass
 * against a per-lane reference that lags the max by up to 8.
 *
 * Error, measured by test_exp_sum over every float in [CUTOFF, 8]
 * (2.21e9 of them) against the double exp (`ctest -R exp_sum -V`):
 *   avx512, avx2:  max relative error 3.90e-7 at x = -87.0445023 (near
 *                  the cutoff, where the one-constant reduction adds its
 *                  2.4e-7); over [-16, 8] (the terms a float sum of at
 *                  least 1 can still see: exp(-16) = 1.1e-7) max 1.94e-7
 *                  at x = -15.650773. The same maxima at the same x on
 *                  both ISAs. (XNNPACK's rr1_p5 coefficients: polynomial
 *                  error 9.19e-8 as well.)
 * Documented bound, enforced by the test: relative error < 4e-7 over
 * [CUTOFF, 8], < 2e-7 over [-16, 8]; exactly +0 below CUTOFF.
 */
#define S4J_EXP_F32_SUM_LN2 0x1.62e430p-1f  /* ln2 rounded (+1.9e-9) */
#define S4J_EXP_F32_SUM_P1 0x1.fffff6p-1f   /* 0.999999702 */
#define S4J_EXP_F32_SUM_P2 0x1.fffdc4p-2f   /* 0.499991477 */
#define S4J_EXP_F32_SUM_P3 0x1.555a8ap-3f   /* 0.166676596 */
#define S4J_EXP_F32_SUM_P4 0x1.573accp-5f   /* 0.0418981537 */
#define S4J_EXP_F32_SUM_P5 0x1.0f992cp-7f   /* 0.00828852318 */

/*
 * y[i] = exp(x[i]) for i < n, one function per ISA (exp_f32_<isa>.c), so the
 * tests can sweep every float through each ISA's exp and the benchmark can
 * time it. The kernels inline the exp instead of calling these.
 */
void s4j_math_f32_exp__scalar_rr2_p6(size_t n, const float *x, float *y);
void s4j_math_f32_exp__avx2_rr2_p6(size_t n, const float *x, float *y);
void s4j_math_f32_exp__avx512f_rr2_p6(size_t n, const float *x, float *y);

/*
 * Backward exp, algorithm "rr1_p6": for gx = gy - exp(y) * sum(gy) only.
 *
 * There the argument is a log-softmax output (y <= 0, or -inf, or NaN) and
 * what matters is the absolute error of exp(y) (the gradient's bound is
 * absolute, 2e-6 * max(1, |gx|), and exp(y) <= 1 multiplies the same sum in
 * every lane). So the range reduction takes one constant instead of two:
 * r = x - n*LN2 with LN2 = S4J_EXP_F32_SUM_LN2 (ln2 rounded to float, 1.9e-9
 * too large), one FMA fewer per vector. The rest is rr2_p6 unchanged: the
 * same n, the same degree-6 polynomial, the same reconstruction and range
 * policy (x < CUTOFF and -inf give +0, NaN gives NaN, x > ln(FLT_MAX) and
 * +inf give +inf, exp(0) == 1 exactly, no subnormal result).
 *
 * The single constant moves r by n * 1.9e-9, so exp(x) by a relative
 * |n| * 1.9e-9: 0 at n = 0, 2.4e-7 (4 ulp) near CUTOFF or near 88.7; as an
 * absolute error, 2^n * |n| * 1.9e-9 < 1e-9 for n <= 0, 1/60 of 2^-24.
 * Measured over every float in [CUTOFF, 0] against the double exp (AVX-512;
 * AVX2 gives the same floats for a vector with no lane above 88): max
 * absolute error 0.732 * 2^-24 at x = -0.345298529, exactly rr2_p6's
 * maximum at the same x; max relative error 4.49 ulp at x = -86.6439438 (a
 * result of 2.3e-38). Over
 * (0, 88.72283] (no log-softmax output, allowed all the same): max 4.59 ulp.
 * Documented bound, enforced by test_exp_forms: absolute error < 0.75 *
 * 2^-24 over [CUTOFF, 0]; relative error < 5 ulp over [CUTOFF, 88.72283].
 */
#define S4J_EXP_F32_GRAD_ABS_BOUND (0.75 * 0x1p-24)
#define S4J_EXP_F32_GRAD_ULP_BOUND 5.0

/* The backward exp (above) over an array, for test_exp_forms; n must be a
 * multiple of the vector width (8 for avx2, 16 for avx512). */
void s4j_math_f32_expgrad__avx2_rr1_p6(size_t n, const float *x, float *y);
void s4j_math_f32_expgrad__avx512f_rr1_p6(size_t n, const float *x, float *y);

/* The sum-only rr1_p5 exp (above) over an array, for test_exp_sum; x <= 8
 * or NaN only, n a multiple of the vector width. */
void s4j_math_f32_expsum__avx2_rr1_p5(size_t n, const float *x, float *y);
void s4j_math_f32_expsum__avx512f_rr1_p5(size_t n, const float *x, float *y);

#endif /* S4J_MATH_EXP_F32_H */
