/*
 * lanes_avx512.h - reductions across the 16 lanes of a float vector that
 * leave the result in every lane, for the short-row kernels: no scalar
 * round trip between the reduction and its use (a broadcast max to subtract,
 * a broadcast sum to take the log of).
 */
#ifndef S4J_MATH_LANES_AVX512_H
#define S4J_MATH_LANES_AVX512_H

#include <immintrin.h>

/* Every lane gets the max of all 16 lanes. A NaN lane may be dropped (the
 * callers' exps carry it into their sums). */
static inline __m512 s4j_allmax(__m512 v) {
  v = _mm512_max_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_max_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(2, 3, 0, 1)));
  v = _mm512_max_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(1, 0, 3, 2)));
  return _mm512_max_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(2, 3, 0, 1)));
}

/* Every lane gets the sum of all 16 lanes: a tree of 4 levels. */
static inline __m512 s4j_allsum(__m512 v) {
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(2, 3, 0, 1)));
  v = _mm512_add_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(1, 0, 3, 2)));
  return _mm512_add_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(2, 3, 0, 1)));
}

#endif /* S4J_MATH_LANES_AVX512_H */
