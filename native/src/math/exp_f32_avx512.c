/* exp_f32_avx512.c - the AVX-512 exp (and row log) over an array, for tests and benchmarks. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include <immintrin.h>

#include "math/exp_f32_avx512.h"
#include "math/log_f32_avx512.h"

void s4j_math_f32_exp__avx512f_rr2_p6(size_t n, const float *x, float *y) {
  assert(n == 0 || (x != NULL && y != NULL));
  const struct s4j_exp_f32_avx512_consts k = s4j_exp_f32_avx512_init();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(y + i, s4j_exp_f32_avx512(_mm512_loadu_ps(x + i), &k));
  }
  if (i < n) {
    const __mmask16 vmask = _cvtu32_mask16((UINT32_C(1) << (uint32_t) (n - i)) - 1u);
    const __m512 vy = s4j_exp_f32_avx512(_mm512_maskz_loadu_ps(vmask, x + i), &k);
    _mm512_mask_storeu_ps(y + i, vmask, vy);
  }
}

void s4j_math_f32_expgrad__avx512f_rr1_p6(size_t n, const float *x, float *y) {
  assert(n % 16 == 0 && (n == 0 || (x != NULL && y != NULL)));
  const struct s4j_exp_f32_avx512_consts k = s4j_exp_f32_avx512_init();
  for (size_t i = 0; i < n; i += 16) {
    _mm512_storeu_ps(y + i, s4j_expgrad_f32_avx512(_mm512_loadu_ps(x + i), &k));
  }
}

void s4j_math_f32_expsum__avx512f_rr1_p5(size_t n, const float *x, float *y) {
  assert(n % 16 == 0 && (n == 0 || (x != NULL && y != NULL)));
  const struct s4j_expsum_f32_avx512_consts k = s4j_expsum_f32_avx512_init();
  for (size_t i = 0; i < n; i += 16) {
    _mm512_storeu_ps(y + i, s4j_expsum_f32_avx512(_mm512_loadu_ps(x + i), &k));
  }
}

void s4j_math_f32_log__avx512f(size_t n, const float *x, float *y) {
  assert(n % 16 == 0 && (n == 0 || (x != NULL && y != NULL)));
  for (size_t i = 0; i < n; i += 16) {
    _mm512_storeu_ps(y + i, s4j_log_f32_avx512(_mm512_loadu_ps(x + i)));
  }
}
