/* exp_f32_avx2.c - the AVX2 exp (and row log) over an array, for tests and benchmarks. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include <immintrin.h>

#include "math/exp_f32_avx2.h"
#include "math/log_f32_avx2.h"

void s4j_math_f32_exp__avx2_rr2_p6(size_t n, const float *x, float *y) {
  assert(n == 0 || (x != NULL && y != NULL));
  const struct s4j_exp_f32_avx2_consts k = s4j_exp_f32_avx2_init();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(y + i, s4j_exp_f32_avx2(_mm256_loadu_ps(x + i), &k));
  }
  for (; i < n; i++) {
    y[i] = s4j_exp_f32_scalar(x[i]);  /* FMA build: identical to a lane */
  }
}

void s4j_math_f32_expgrad__avx2_rr1_p6(size_t n, const float *x, float *y) {
  assert(n % 8 == 0 && (n == 0 || (x != NULL && y != NULL)));
  const struct s4j_exp_f32_avx2_consts k = s4j_exp_f32_avx2_init();
  for (size_t i = 0; i < n; i += 8) {
    _mm256_storeu_ps(y + i, s4j_expgrad_f32_avx2(_mm256_loadu_ps(x + i), &k));
  }
}

void s4j_math_f32_expsum__avx2_rr1_p5(size_t n, const float *x, float *y) {
  assert(n % 8 == 0 && (n == 0 || (x != NULL && y != NULL)));
  const struct s4j_expsum_f32_avx2_consts k = s4j_expsum_f32_avx2_init();
  for (size_t i = 0; i < n; i += 8) {
    _mm256_storeu_ps(y + i, s4j_expsum_f32_avx2(_mm256_loadu_ps(x + i), &k));
  }
}

void s4j_math_f32_log__avx2(size_t n, const float *x, float *y) {
  assert(n % 8 == 0 && (n == 0 || (x != NULL && y != NULL)));
  for (size_t i = 0; i < n; i += 8) {
    _mm256_storeu_ps(y + i, s4j_log_f32_avx2(_mm256_loadu_ps(x + i)));
  }
}
