/*
 * exp_f64.h - exp of a double for the float64 softmax kernels, algorithm
 * "rr2_p13": own code, so every platform gives the same result without a
 * libm call.
 *
 *   1. n = round(x * log2(e)) with the magic-bias add (1.5 * 2^52), x first
 *      clamped to [X_MIN, X_MAX] = [-746, 710] so n stays in [-1077, 1024].
 *   2. r = (x - n*LN2_HI) - n*LN2_LO, |r| <= ln2/2 + 2^-40. LN2_HI has 41
 *      significant bits and |n| needs 11, so n*LN2_HI and the first
 *      subtraction are exact (Sterbenz); only the LN2_LO step rounds.
 *   3. p = exp(r) by the Taylor polynomial of degree 13 in Horner form
 *      (coefficients 1/k!, each rounded to double). The first term left out,
 *      r^14/14! <= 4.2e-18, is 1/50 of an ulp of p.
 *   4. exp(x) = p * 2^n: here as (p * 2^floor(n/2)) * 2^ceil(n/2), the first
 *      product exact, so a subnormal result is rounded once; on AVX-512
 *      vscalefpd does the same in one instruction.
 *
 * Range: x <= -746 and -inf give +0 (exp(-746) is below half the smallest
 * subnormal); x >= 710 and +inf give +inf; NaN gives NaN; subnormal results
 * are produced (rounded once) down to exp(-745.13) = 4.9e-324.
 *
 * Error, measured by test_exp (`ctest -R '^exp$' -V`) against expl (x87
 * extended precision) over 2^24 evenly spaced x in [-745, 709.7] and every
 * 2^-20 step of [-1, 1] (18.9e6 inputs), on normal results: max 1.159 ulp
 * at x = -628.3296 for the scalar form (no FMA: r and the Horner steps
 * round twice each), max 0.870 ulp at x = -261.6554 for AVX2 and AVX-512
 * (FMA; the same bits). Documented bounds, enforced by the test: < 1.25
 * ulp scalar, < 1 ulp AVX2 and AVX-512 on normal results; subnormal results within one smallest
 * subnormal (measured 0.81 and 0.87).
 *
 * The scalar and vector forms differ only in FMA (the AVX2 and AVX-512
 * forms fuse the reduction and the Horner steps), so they may differ in the
 * last bit; AVX2 and AVX-512 give the same bits (exp_f64_avx2.h).
 */
#ifndef S4J_MATH_EXP_F64_H
#define S4J_MATH_EXP_F64_H

#include <stdint.h>
#include <string.h>

#define S4J_EXP_F64_X_MIN (-746.0)
#define S4J_EXP_F64_X_MAX 710.0
#define S4J_EXP_F64_LOG2E 0x1.71547652b82fep+0     /* 1/ln2 rounded */
#define S4J_EXP_F64_MAGIC_BIAS 0x1.8p+52           /* 1.5 * 2^52 */
#define S4J_EXP_F64_LN2_HI 0x1.62e42fefa38p-1       /* 41 significant bits */
#define S4J_EXP_F64_LN2_LO 0x1.ef35793c7673p-45     /* ln2 - LN2_HI, rounded */

/* 1/k!, k = 2..13, each correctly rounded. */
#define S4J_EXP_F64_C2 0x1.0000000000000p-1
#define S4J_EXP_F64_C3 0x1.5555555555555p-3
#define S4J_EXP_F64_C4 0x1.5555555555555p-5
#define S4J_EXP_F64_C5 0x1.1111111111111p-7
#define S4J_EXP_F64_C6 0x1.6c16c16c16c17p-10
#define S4J_EXP_F64_C7 0x1.a01a01a01a01ap-13
#define S4J_EXP_F64_C8 0x1.a01a01a01a01ap-16
#define S4J_EXP_F64_C9 0x1.71de3a556c734p-19
#define S4J_EXP_F64_C10 0x1.27e4fb7789f5cp-22
#define S4J_EXP_F64_C11 0x1.ae64567f544e4p-26
#define S4J_EXP_F64_C12 0x1.1eed8eff8d898p-29
#define S4J_EXP_F64_C13 0x1.6124613a86d09p-33

static inline uint64_t s4j_f64_to_bits(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

static inline double s4j_f64_from_bits(uint64_t u) {
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

/* exp(x) for one double, with the range policy above. */
static inline double s4j_exp_f64_scalar(double x) {
  /* Comparisons with NaN are false, so NaN passes both clamps unchanged. */
  double xc = x < S4J_EXP_F64_X_MIN ? S4J_EXP_F64_X_MIN : x;
  xc = xc > S4J_EXP_F64_X_MAX ? S4J_EXP_F64_X_MAX : xc;

  const double z = xc * S4J_EXP_F64_LOG2E + S4J_EXP_F64_MAGIC_BIAS;
  const double n = z - S4J_EXP_F64_MAGIC_BIAS;
  const double r = (xc - n * S4J_EXP_F64_LN2_HI) - n * S4J_EXP_F64_LN2_LO;

  double q = S4J_EXP_F64_C13;
  q = q * r + S4J_EXP_F64_C12;
  q = q * r + S4J_EXP_F64_C11;
  q = q * r + S4J_EXP_F64_C10;
  q = q * r + S4J_EXP_F64_C9;
  q = q * r + S4J_EXP_F64_C8;
  q = q * r + S4J_EXP_F64_C7;
  q = q * r + S4J_EXP_F64_C6;
  q = q * r + S4J_EXP_F64_C5;
  q = q * r + S4J_EXP_F64_C4;
  q = q * r + S4J_EXP_F64_C3;
  q = q * r + S4J_EXP_F64_C2;
  q = q * r + 1.0;
  const double p = q * r + 1.0;

  /* n in [-1077, 1024] as an integer from the low bits of z (no double->int
   * conversion, undefined for NaN); unsigned arithmetic keeps the garbage a
   * NaN makes here defined, and p is NaN then anyway. */
  const uint64_t ni = s4j_f64_to_bits(z) - s4j_f64_to_bits(S4J_EXP_F64_MAGIC_BIAS);
  const uint64_t n1 = (uint64_t) ((int64_t) ni >> 1); /* floor(n / 2) */
  const uint64_t n2 = ni - n1;                         /* ceil(n / 2) */
  const double s1 = s4j_f64_from_bits(((n1 + 1023u) & 0x7ffu) << 52);
  const double s2 = s4j_f64_from_bits(((n2 + 1023u) & 0x7ffu) << 52);
  return (p * s1) * s2;
}

/* n results of each form over an array, for the sweep test (defined in the
 * kernel file of the same ISA). */
#include <stddef.h>
void s4j_math_f64_exp__scalar(size_t n, const double *x, double *y);
void s4j_math_f64_exp__avx2(size_t n, const double *x, double *y);
void s4j_math_f64_exp__avx512(size_t n, const double *x, double *y);

#endif /* S4J_MATH_EXP_F64_H */
