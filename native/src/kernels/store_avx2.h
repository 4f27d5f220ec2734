/*
 * store_avx2.h - the AVX2 kernels' stores of a row's last, partial vector.
 *
 * Every mask these kernels build sets its first n lanes and clears the
 * rest. A vmaskmovps store of such a mask is slow where a later load reads
 * the lanes it left out, or memory that 4 KiB-aliases them: on the AMD Zen 5
 * machine of the benchmarks, log-softmax backward over [69856, 81] rows (one
 * masked store per row, its cleared lanes over the start of the next row's
 * gx) took 12.4 ms with it and 4.6 ms with the plain stores below. So the
 * first n lanes go out as at most three plain stores (4, 2 and 1 lanes), and
 * a full mask as one.
 */
#ifndef S4J_KERNELS_STORE_AVX2_H
#define S4J_KERNELS_STORE_AVX2_H

#include <assert.h>
#include <immintrin.h>

/* The number of leading set lanes of a mask of `lanes` lanes whose sign
 * bits are `bits` (movemask), which must be 1...1 0...0. */
static inline unsigned s4j_prefix_lanes(unsigned bits, unsigned lanes) {
  assert((bits & (bits + 1u)) == 0u);
  return bits == (1u << lanes) - 1u ? lanes : (unsigned) __builtin_ctz(~bits);
}

/* _mm256_maskstore_ps(p, mask, v) for a mask whose set lanes come first. */
static inline void s4j_store_prefix_ps(float *p, __m256i mask, __m256 v) {
  unsigned n = s4j_prefix_lanes((unsigned) _mm256_movemask_ps(_mm256_castsi256_ps(mask)), 8);
  if (n == 8) {
    _mm256_storeu_ps(p, v);
    return;
  }
  __m128 part = _mm256_castps256_ps128(v);
  if (n >= 4) {
    _mm_storeu_ps(p, part);
    part = _mm256_extractf128_ps(v, 1);
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    _mm_storel_pi((__m64 *) (void *) p, part);
    part = _mm_movehl_ps(part, part);
    p += 2;
    n -= 2;
  }
  if (n != 0) _mm_store_ss(p, part);
}

/* _mm256_maskstore_pd(p, mask, v) for a mask whose set lanes come first. */
static inline void s4j_store_prefix_pd(double *p, __m256i mask, __m256d v) {
  unsigned n = s4j_prefix_lanes((unsigned) _mm256_movemask_pd(_mm256_castsi256_pd(mask)), 4);
  if (n == 4) {
    _mm256_storeu_pd(p, v);
    return;
  }
  __m128d part = _mm256_castpd256_pd128(v);
  if (n >= 2) {
    _mm_storeu_pd(p, part);
    part = _mm256_extractf128_pd(v, 1);
    p += 2;
    n -= 2;
  }
  if (n != 0) _mm_store_sd(p, part);
}

#endif /* S4J_KERNELS_STORE_AVX2_H */
