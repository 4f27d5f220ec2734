/* exp_f32_scalar.c - the scalar exp over an array, for tests and benchmarks. */
#include <assert.h>
#include <stddef.h>

#include "math/exp_f32.h"

void s4j_math_f32_exp__scalar_rr2_p6(size_t n, const float *x, float *y) {
  assert(n == 0 || (x != NULL && y != NULL));
  for (size_t i = 0; i < n; i++) {
    y[i] = s4j_exp_f32_scalar(x[i]);
  }
}
