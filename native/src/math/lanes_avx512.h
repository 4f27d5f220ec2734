/*
 * lanes_avx512.h - reductions across the 16 lanes of a float vector that
 * leave the result in every lane, for the short-row kernels: no scalar
 * round trip between the reduction and its use (a broadcast max to subtract,
 * a broadcast sum to take the log of).
 */
#ifndef S4J_MATH_LANES_AVX512_H
#define S4J_MATH_LANES_AVX512_H

#include <immintrin.h>
#include <stddef.h>

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

/* The vectors of one short row at most (the short-row kernels hold a row
 * of up to 128 floats in registers) and of the rows of one step. */
#define S4J_SHORT_ROW_VECS 8
#define S4J_SHORT_STEP_ROWS 4

/* The first part of a short-row step: `nr` rows `cols` apart from x, nv
 * vectors each (both constants after inlining), into v with their
 * masked-off lanes (vmask[j]) as -inf, the identity of max and exp = 0;
 * and each row's max in every lane of vmax[q]. A NaN that vmaxps drops
 * still makes its exp, and the sum, NaN. */
static inline __attribute__((always_inline)) void s4j_short_rows_load_max(
    size_t cols, const float *x, const int nv, const int nr, const __mmask16 *vmask,
    __m512 v[S4J_SHORT_STEP_ROWS][S4J_SHORT_ROW_VECS], __m512 *vmax) {
  const __m512 neg_inf = _mm512_set1_ps(-__builtin_inff());
#pragma GCC unroll 4
  for (int q = 0; q < nr; q++) {
#pragma GCC unroll 8
    for (int j = 0; j < nv; j++) v[q][j] = _mm512_mask_loadu_ps(neg_inf, vmask[j], x + (size_t) q * cols + 16 * j);
    vmax[q] = v[q][0];
#pragma GCC unroll 8
    for (int j = 1; j < nv; j++) vmax[q] = _mm512_max_ps(vmax[q], v[q][j]);
  }
#pragma GCC unroll 4
  for (int q = 0; q < nr; q++) vmax[q] = s4j_allmax(vmax[q]);
}

#endif /* S4J_MATH_LANES_AVX512_H */
