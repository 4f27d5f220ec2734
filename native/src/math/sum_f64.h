/*
 * sum_f64.h - compensated double sums for the float64 kernels.
 *
 * Neumaier's variant of Kahan summation keeps, beside the running sum s, a
 * term c that gathers each addition's exact rounding error (Fast2Sum on the
 * larger and smaller magnitude); s + c is the total to about one rounding,
 * whatever the number of terms, instead of up to n - 1 roundings. The
 * vector kernels keep a Kahan pair per lane (c = the error to subtract,
 * which is the same algorithm when every term is no larger than the sum, as
 * the exp terms of a column after its max is), then merge lanes here.
 *
 * An inf or NaN sum makes the compensation NaN; the total is then the sum
 * as it stands, so inf stays inf.
 */
#ifndef S4J_MATH_SUM_F64_H
#define S4J_MATH_SUM_F64_H

static inline void s4j_neumaier_add(double *s, double *c, double t) {
  const double sum = *s + t;
  /* Magnitudes without fabs (no libm, and NaN just takes either branch). */
  if ((*s >= 0 ? *s : -*s) >= (t >= 0 ? t : -t)) {
    *c += (*s - sum) + t;
  } else {
    *c += (t - sum) + *s;
  }
  *s = sum;
}

static inline double s4j_neumaier_total(double s, double c) {
  return s - s == 0.0 ? s + c : s;
}

#endif /* S4J_MATH_SUM_F64_H */
