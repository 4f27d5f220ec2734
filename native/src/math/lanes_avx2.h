/*
 * lanes_avx2.h - reductions across the 8 lanes of a float vector that leave
 * the result in every lane, for the AVX2 short-row kernels (as
 * lanes_avx512.h for AVX-512): no scalar round trip between the reduction
 * and its use.
 */
#ifndef S4J_MATH_LANES_AVX2_H
#define S4J_MATH_LANES_AVX2_H

#include <immintrin.h>
#include <stddef.h>

/* Every lane gets the max of all 8 lanes. A NaN lane may be dropped (the
 * callers' exps carry it into their sums). */
static inline __m256 s4j_allmax(__m256 v) {
  v = _mm256_max_ps(v, _mm256_permute2f128_ps(v, v, 1));
  v = _mm256_max_ps(v, _mm256_permute_ps(v, _MM_SHUFFLE(1, 0, 3, 2)));
  return _mm256_max_ps(v, _mm256_permute_ps(v, _MM_SHUFFLE(2, 3, 0, 1)));
}

/* Every lane gets the sum of all 8 lanes: a tree of 3 levels. */
static inline __m256 s4j_allsum(__m256 v) {
  v = _mm256_add_ps(v, _mm256_permute2f128_ps(v, v, 1));
  v = _mm256_add_ps(v, _mm256_permute_ps(v, _MM_SHUFFLE(1, 0, 3, 2)));
  return _mm256_add_ps(v, _mm256_permute_ps(v, _MM_SHUFFLE(2, 3, 0, 1)));
}

/* The vectors of one short row at most (the AVX2 short-row kernels hold a
 * row of up to 64 floats in registers) and of the rows of one step. */
#define S4J_SHORT_ROW_VECS 8
#define S4J_SHORT_STEP_ROWS 4

/* The first part of a short-row step: `nr` rows `cols` apart from x, nv
 * vectors each (both constants after inlining), into v, the last vector's
 * lanes outside vmask as -inf (the identity of max, and exp = 0); and each
 * row's max in every lane of vmax[q]. A NaN that vmaxps drops still makes
 * its exp, and the sum, NaN. */
static inline __attribute__((always_inline)) void s4j_short_rows_load_max(
    size_t cols, const float *x, const int nv, const int nr, __m256i vmask,
    __m256 v[S4J_SHORT_STEP_ROWS][S4J_SHORT_ROW_VECS], __m256 *vmax) {
  const __m256 neg_inf = _mm256_set1_ps(-__builtin_inff());
#pragma GCC unroll 4
  for (int q = 0; q < nr; q++) {
    const float *xq = x + (size_t) q * cols;
#pragma GCC unroll 8
    for (int j = 0; j < nv - 1; j++) v[q][j] = _mm256_loadu_ps(xq + 8 * j);
    v[q][nv - 1] = _mm256_blendv_ps(neg_inf, _mm256_maskload_ps(xq + 8 * (nv - 1), vmask),
                                    _mm256_castsi256_ps(vmask));
    vmax[q] = v[q][0];
#pragma GCC unroll 8
    for (int j = 1; j < nv; j++) vmax[q] = _mm256_max_ps(vmax[q], v[q][j]);
  }
#pragma GCC unroll 4
  for (int q = 0; q < nr; q++) vmax[q] = s4j_allmax(vmax[q]);
}

#endif /* S4J_MATH_LANES_AVX2_H */
