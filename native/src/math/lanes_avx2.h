/*
 * lanes_avx2.h - reductions across the 8 lanes of a float vector that leave
 * the result in every lane, for the AVX2 short-row kernels (as
 * lanes_avx512.h for AVX-512): no scalar round trip between the reduction
 * and its use.
 */
#ifndef S4J_MATH_LANES_AVX2_H
#define S4J_MATH_LANES_AVX2_H

#include <immintrin.h>

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

#endif /* S4J_MATH_LANES_AVX2_H */
