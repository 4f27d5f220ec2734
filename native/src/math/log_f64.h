/*
 * log_f64.h - natural log of a double, for the once-per-row log of the sum of
 * exponentials (accumulated in double; >= 1, or +inf, or NaN). Own code so
 * every ISA and platform gives the same result and no libm call is made.
 *
 * Algorithm: x = 2^k * m with m in [sqrt(1/2), sqrt(2)), then
 *   log(x) = k*ln2 + log(m),  log(m) = 2*atanh(s) = 2s + 2s*(s^2/3 + s^4/5 + ...)
 *   with s = (m - 1)/(m + 1), |s| <= 0.1716, s^2 <= 0.02944.
 * m - 1 is exact (Sterbenz). The series is cut after s^18/19; the first term
 * left out is below s^20/21 < 2.4e-17 relative. k*LN2_HI is exact (LN2_HI
 * has 41 significant bits, |k| <= 1075 needs 11).
 *
 * Error, measured by test_exp against logl (x87 extended precision) over
 * every float in [1, 4), a stride of all positive floats, random doubles and
 * doubles in [1, 2e5] (20.9e6 inputs): max 1.75 ulp of the double result
 * (bound enforced: < 2 ulp), i.e. < 4e-16 relative. Rounded to float it gave
 * the correctly rounded float log for every one of those inputs.
 *
 * Special values: log(NaN) = NaN, log(+inf) = +inf, log(+-0) = -inf,
 * log(x < 0) = NaN, subnormals are handled.
 */
#ifndef S4J_MATH_LOG_F64_H
#define S4J_MATH_LOG_F64_H

#include <math.h> /* HUGE_VAL and NAN only: no libm call */
#include <stdint.h>
#include <string.h>

#define S4J_LOG_F64_LN2_HI 0x1.62e42fefa38p-1       /* 41 significant bits */
#define S4J_LOG_F64_LN2_LO 0x1.ef35793c7673p-45     /* ln2 - LN2_HI, rounded */
#define S4J_LOG_F64_SQRT2 0x1.6a09e667f3bcdp+0

static inline double s4j_log_f64(double x) {
  if (!(x > 0.0)) {                 /* NaN, zero, negative */
    if (x != x) return x;
    return x == 0.0 ? -HUGE_VAL : (double) NAN;
  }
  if (x == HUGE_VAL) return x;

  uint64_t bits;
  memcpy(&bits, &x, sizeof bits);
  int64_t k = 0;
  if ((bits >> 52) == 0) {          /* subnormal: make it normal first */
    x *= 0x1p54;
    memcpy(&bits, &x, sizeof bits);
    k = -54;
  }
  k += (int64_t) (bits >> 52) - 1023;
  bits = (bits & UINT64_C(0x000fffffffffffff)) | UINT64_C(0x3ff0000000000000);
  double m;
  memcpy(&m, &bits, sizeof m);      /* m in [1, 2) */
  if (m > S4J_LOG_F64_SQRT2) {
    m *= 0.5;
    k += 1;
  }

  const double f = m - 1.0;
  const double s = f / (2.0 + f);
  const double s2 = s * s;
  double t = 0x1.af286bca1af28p-5;  /* 1/19 */
  t = t * s2 + 0x1.e1e1e1e1e1e1ep-5; /* 1/17 */
  t = t * s2 + 0x1.1111111111111p-4; /* 1/15 */
  t = t * s2 + 0x1.3b13b13b13b14p-4; /* 1/13 */
  t = t * s2 + 0x1.745d1745d1746p-4; /* 1/11 */
  t = t * s2 + 0x1.c71c71c71c71cp-4; /* 1/9 */
  t = t * s2 + 0x1.2492492492492p-3; /* 1/7 */
  t = t * s2 + 0x1.999999999999ap-3; /* 1/5 */
  t = t * s2 + 0x1.5555555555555p-2; /* 1/3 */
  const double two_s = s + s;
  const double log_m = two_s + two_s * (s2 * t);

  const double dk = (double) k;
  return dk * S4J_LOG_F64_LN2_HI + (log_m + dk * S4J_LOG_F64_LN2_LO);
}

#endif /* S4J_MATH_LOG_F64_H */
