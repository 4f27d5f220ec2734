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

/*
 * A partial vector read or written touching only its n floats (0 < n < 16).
 *
 * A masked load or store of a 16-lane vector counts as touching all its 64
 * bytes when the core checks loads against the stores in flight, whatever
 * the mask, and a masked store does not forward its data to a later load.
 * So a call's masked load waits for the last call's masked store to reach
 * the cache when it reaches into the bytes that store covered: one small
 * buffer right after another, as Java allocates arrays and malloc hands out
 * chunks (s4j_bench's `1x10 packed`: 42-44 ns forward against 17-20 with
 * the buffers apart, 17-18 ns backward against 7-8).
 *
 * These move the n floats as pieces of 8, 4, 2 and 1 floats (the bits of
 * n, from the lowest address up), so that nothing outside the n floats is
 * touched. The kernels use them for the partial vectors at the end of a
 * call's buffers when another buffer of the call lies that close
 * (s4j_buffers_near, log_softmax_f32.h). They do not help where a load
 * meets a store of its own footprint (in place, or a forward's y read by
 * the next backward): the same pieces stored and loaded still waited there.
 * n is a constant in each case of the switch below, so every shuffle has a
 * fixed position. The 2-float pieces move as unaligned 64-bit integers
 * (_mm_loadu_si64): a float pointer need not be 8-byte aligned, as a
 * double's must.
 */
static inline __attribute__((always_inline)) __m512 s4j_load_pieces(const float *p, const unsigned n,
                                                                   __m512 fill) {
  const __m128 zero = _mm_setzero_ps();
  const float *q = p + (n & 8u), *q2 = q + (n & 4u);
  __m128 r21 = zero; /* the 2-piece in lanes 0-1, then the 1-piece */
  if (n & 2u) r21 = _mm_castsi128_ps(_mm_loadu_si64(q2));
  if (n & 1u) r21 = (n & 2u) ? _mm_insert_ps(r21, _mm_load_ss(q2 + 2), 0x20) : _mm_load_ss(q2);
  const __m256 rest = (n & 4u) ? _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(q)), r21, 1)
                               : _mm256_castps128_ps256(r21);
  const __m512 v = (n & 8u) ? _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(p)), rest, 1)
                            : _mm512_castps256_ps512(rest);
  return _mm512_mask_mov_ps(fill, (__mmask16) ((1u << n) - 1u), v);
}

static inline __attribute__((always_inline)) void s4j_store_pieces(float *p, const unsigned n, __m512 v) {
  if (n & 8u) _mm256_storeu_ps(p, _mm512_castps512_ps256(v));
  const __m256 rest = (n & 8u) ? _mm512_extractf32x8_ps(v, 1) : _mm512_castps512_ps256(v);
  float *q = p + (n & 8u), *q2 = q + (n & 4u);
  if (n & 4u) _mm_storeu_ps(q, _mm256_castps256_ps128(rest));
  const __m128 r21 = (n & 4u) ? _mm256_extractf128_ps(rest, 1) : _mm256_castps256_ps128(rest);
  if (n & 2u) _mm_storeu_si64(q2, _mm_castps_si128(r21));
  if (n & 1u) _mm_store_ss(q2 + (n & 2u), (n & 2u) ? _mm_movehl_ps(r21, r21) : r21);
}

#define S4J_PIECES_CASES(X) \
  X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)

/* The first n floats at p into lanes 0..n-1, lanes n..15 = fill. */
static inline __m512 s4j_load_exact(const float *p, size_t n, __m512 fill) {
  switch (n) {
#define S4J_LOAD_CASE(c) \
  case c:                \
    return s4j_load_pieces(p, c, fill);
    S4J_PIECES_CASES(S4J_LOAD_CASE)
#undef S4J_LOAD_CASE
    default: return fill;
  }
}

/* Lanes 0..n-1 of v to the n floats at p. */
static inline void s4j_store_exact(float *p, size_t n, __m512 v) {
  switch (n) {
#define S4J_STORE_CASE(c)        \
  case c:                        \
    s4j_store_pieces(p, c, v);   \
    break;
    S4J_PIECES_CASES(S4J_STORE_CASE)
#undef S4J_STORE_CASE
    default: break;
  }
}

/* The vectors of one short row at most (the short-row kernels hold a row
 * of up to 128 floats in registers) and of the rows of one step. */
#define S4J_SHORT_ROW_VECS 8
#define S4J_SHORT_STEP_ROWS 4

/* The first part of a short-row step: `nr` rows `cols` apart from x, nv
 * vectors each (both constants after inlining), into v with their
 * masked-off lanes (vmask[j]) as -inf, the identity of max and exp = 0;
 * and each row's max in every lane of vmax[q]. A NaN that vmaxps drops
 * still makes its exp, and the sum, NaN. `last` (a constant): the step
 * ends the call, so its last row's partial vector is read exactly
 * (s4j_load_exact). */
static inline __attribute__((always_inline)) void s4j_short_rows_load_max(
    size_t cols, const float *x, const int nv, const int nr, const __mmask16 *vmask, const int last,
    __m512 v[S4J_SHORT_STEP_ROWS][S4J_SHORT_ROW_VECS], __m512 *vmax) {
  const __m512 neg_inf = _mm512_set1_ps(-__builtin_inff());
#pragma GCC unroll 4
  for (int q = 0; q < nr; q++) {
#pragma GCC unroll 8
    for (int j = 0; j < nv; j++) {
      const float *p = x + (size_t) q * cols + 16 * j;
      if (last && q == nr - 1 && j == nv - 1 && cols % 16 != 0) {
        v[q][j] = s4j_load_exact(p, cols % 16, neg_inf);
      } else {
        v[q][j] = _mm512_mask_loadu_ps(neg_inf, vmask[j], p);
      }
    }
    vmax[q] = v[q][0];
#pragma GCC unroll 8
    for (int j = 1; j < nv; j++) vmax[q] = _mm512_max_ps(vmax[q], v[q][j]);
  }
#pragma GCC unroll 4
  for (int q = 0; q < nr; q++) vmax[q] = s4j_allmax(vmax[q]);
}

#endif /* S4J_MATH_LANES_AVX512_H */
