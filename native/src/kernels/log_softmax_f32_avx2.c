/*
 * log_softmax_f32_avx2.c - AVX2+FMA kernels (8 lanes), compiled with
 * -mavx2 -mfma. Main loops take 32 elements (4 vectors, 4 accumulators),
 * then one vector at a time, then a masked tail (vmaskmovps).
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include <immintrin.h>

#include "kernels/log_softmax_f32.h"
#include "math/exp_f32_avx2.h"
#include "math/log_f64.h"

/* Elements summed in float (32 per lane) before the block total is added to
 * the double row total; a multiple of the 32-element main loop. */
#define S4J_AVX2_BLOCK 1024

/* Sliding window: loading 8 lanes at s4j_tail_mask_table + 8 - rem gives
 * rem lanes of all-ones, then zeros. */
static const int32_t s4j_tail_mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                0,  0,  0,  0,  0,  0,  0,  0};

static inline __m256i s4j_tail_mask(size_t rem) {
  assert(rem > 0 && rem < 8);
  return _mm256_loadu_si256((const __m256i *) (s4j_tail_mask_table + 8 - rem));
}

static inline float s4j_hmax_ps(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

static inline double s4j_hsum_pd(__m256d v) {
  __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
  return _mm_cvtsd_f64(s);
}

/* The double row total += the 8 float lanes of a block. */
static inline __m256d s4j_add_block(__m256d vsum, __m256 vacc) {
  vsum = _mm256_add_pd(vsum, _mm256_cvtps_pd(_mm256_castps256_ps128(vacc)));
  return _mm256_add_pd(vsum, _mm256_cvtps_pd(_mm256_extractf128_ps(vacc, 1)));
}

static inline float s4j_row_max(size_t n, const float *x) {
  const __m256 vneg_inf = _mm256_set1_ps(-__builtin_inff());
  __m256 vmax0 = vneg_inf, vmax1 = vneg_inf, vmax2 = vneg_inf, vmax3 = vneg_inf;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    vmax0 = _mm256_max_ps(vmax0, _mm256_loadu_ps(x + i + 0));
    vmax1 = _mm256_max_ps(vmax1, _mm256_loadu_ps(x + i + 8));
    vmax2 = _mm256_max_ps(vmax2, _mm256_loadu_ps(x + i + 16));
    vmax3 = _mm256_max_ps(vmax3, _mm256_loadu_ps(x + i + 24));
  }
  for (; i + 8 <= n; i += 8) vmax0 = _mm256_max_ps(vmax0, _mm256_loadu_ps(x + i));
  if (i < n) {
    const __m256i vmask = s4j_tail_mask(n - i);
    const __m256 vx = _mm256_maskload_ps(x + i, vmask);
    vmax1 = _mm256_max_ps(vmax1, _mm256_blendv_ps(vneg_inf, vx, _mm256_castsi256_ps(vmask)));
  }
  vmax0 = _mm256_max_ps(_mm256_max_ps(vmax0, vmax1), _mm256_max_ps(vmax2, vmax3));
  return s4j_hmax_ps(vmax0);
}

static inline double s4j_row_sum_exp(size_t n, const float *x, float m,
                                     const struct s4j_exp_f32_avx2_consts *k) {
  const __m256 vm = _mm256_set1_ps(m);
  __m256d vsum = _mm256_setzero_pd();
  size_t i = 0;
  while (i < n) {
    const size_t block_end = n - i > S4J_AVX2_BLOCK ? i + S4J_AVX2_BLOCK : n;
    __m256 vacc0 = _mm256_setzero_ps(), vacc1 = _mm256_setzero_ps();
    __m256 vacc2 = _mm256_setzero_ps(), vacc3 = _mm256_setzero_ps();
    for (; i + 32 <= block_end; i += 32) {
      const __m256 vx0 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 0), vm);
      const __m256 vx1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vm);
      const __m256 vx2 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 16), vm);
      const __m256 vx3 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 24), vm);
      vacc0 = _mm256_add_ps(vacc0, s4j_exp_f32_avx2(vx0, k));
      vacc1 = _mm256_add_ps(vacc1, s4j_exp_f32_avx2(vx1, k));
      vacc2 = _mm256_add_ps(vacc2, s4j_exp_f32_avx2(vx2, k));
      vacc3 = _mm256_add_ps(vacc3, s4j_exp_f32_avx2(vx3, k));
    }
    for (; i + 8 <= block_end; i += 8) {
      const __m256 vx = _mm256_sub_ps(_mm256_loadu_ps(x + i), vm);
      vacc0 = _mm256_add_ps(vacc0, s4j_exp_f32_avx2(vx, k));
    }
    if (i < block_end) {
      /* Masked-off lanes load 0; their exp(0 - m) is dropped by the AND. */
      const __m256i vmask = s4j_tail_mask(block_end - i);
      const __m256 vx = _mm256_sub_ps(_mm256_maskload_ps(x + i, vmask), vm);
      const __m256 ve = _mm256_and_ps(s4j_exp_f32_avx2(vx, k), _mm256_castsi256_ps(vmask));
      vacc1 = _mm256_add_ps(vacc1, ve);
      i = block_end;
    }
    vacc0 = _mm256_add_ps(_mm256_add_ps(vacc0, vacc1), _mm256_add_ps(vacc2, vacc3));
    vsum = s4j_add_block(vsum, vacc0);
  }
  return s4j_hsum_pd(vsum);
}

/* The gradients can cancel, so their sum is accumulated in double
 * throughout: each float is widened exactly, 4 at a time. */
static inline double s4j_row_sum(size_t n, const float *x) {
  __m256d vacc0 = _mm256_setzero_pd(), vacc1 = _mm256_setzero_pd();
  __m256d vacc2 = _mm256_setzero_pd(), vacc3 = _mm256_setzero_pd();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    vacc0 = _mm256_add_pd(vacc0, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 0)));
    vacc1 = _mm256_add_pd(vacc1, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4)));
    vacc2 = _mm256_add_pd(vacc2, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 8)));
    vacc3 = _mm256_add_pd(vacc3, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 12)));
    vacc0 = _mm256_add_pd(vacc0, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 16)));
    vacc1 = _mm256_add_pd(vacc1, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 20)));
    vacc2 = _mm256_add_pd(vacc2, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 24)));
    vacc3 = _mm256_add_pd(vacc3, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 28)));
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 vx = _mm256_loadu_ps(x + i);
    vacc0 = _mm256_add_pd(vacc0, _mm256_cvtps_pd(_mm256_castps256_ps128(vx)));
    vacc1 = _mm256_add_pd(vacc1, _mm256_cvtps_pd(_mm256_extractf128_ps(vx, 1)));
  }
  if (i < n) {
    const __m256 vx = _mm256_maskload_ps(x + i, s4j_tail_mask(n - i));
    vacc2 = _mm256_add_pd(vacc2, _mm256_cvtps_pd(_mm256_castps256_ps128(vx)));
    vacc3 = _mm256_add_pd(vacc3, _mm256_cvtps_pd(_mm256_extractf128_ps(vx, 1)));
  }
  return s4j_hsum_pd(_mm256_add_pd(_mm256_add_pd(vacc0, vacc1), _mm256_add_pd(vacc2, vacc3)));
}

void s4j_f32_log_softmax_fwd_ukernel__avx2_rr2_p6_u32_acc4(
    size_t rows, size_t cols, const float *x, float *y) {
  assert(rows != 0 && cols != 0);
  assert(x != NULL && y != NULL);

  const struct s4j_exp_f32_avx2_consts k = s4j_exp_f32_avx2_init();
  for (size_t r = 0; r < rows; r++, x += cols, y += cols) {
    const float m = s4j_row_max(cols, x);
    const float logsum = (float) s4j_log_f64(s4j_row_sum_exp(cols, x, m, &k));

    /* (x - m) - log(sum), in that order. */
    const __m256 vm = _mm256_set1_ps(m);
    const __m256 vlogsum = _mm256_set1_ps(logsum);
    size_t i = 0;
    for (; i + 32 <= cols; i += 32) {
      const __m256 vy0 = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i + 0), vm), vlogsum);
      const __m256 vy1 = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vm), vlogsum);
      const __m256 vy2 = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i + 16), vm), vlogsum);
      const __m256 vy3 = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i + 24), vm), vlogsum);
      _mm256_storeu_ps(y + i + 0, vy0);
      _mm256_storeu_ps(y + i + 8, vy1);
      _mm256_storeu_ps(y + i + 16, vy2);
      _mm256_storeu_ps(y + i + 24, vy3);
    }
    for (; i + 8 <= cols; i += 8) {
      _mm256_storeu_ps(y + i, _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm), vlogsum));
    }
    if (i < cols) {
      const __m256i vmask = s4j_tail_mask(cols - i);
      const __m256 vx = _mm256_maskload_ps(x + i, vmask);
      _mm256_maskstore_ps(y + i, vmask, _mm256_sub_ps(_mm256_sub_ps(vx, vm), vlogsum));
    }
  }
}

void s4j_f32_log_softmax_bwd_ukernel__avx2_rr2_p6_u32_acc4(
    size_t rows, size_t cols, const float *gy, const float *y, float *gx) {
  assert(rows != 0 && cols != 0);
  assert(gy != NULL && y != NULL && gx != NULL);

  const struct s4j_exp_f32_avx2_consts k = s4j_exp_f32_avx2_init();
  for (size_t r = 0; r < rows; r++, gy += cols, y += cols, gx += cols) {
    const __m256 vsum = _mm256_set1_ps((float) s4j_row_sum(cols, gy));

    /* gx = gy - exp(y) * sum, one rounding (vfnmadd). */
    size_t i = 0;
    for (; i + 32 <= cols; i += 32) {
      const __m256 ve0 = s4j_exp_f32_avx2(_mm256_loadu_ps(y + i + 0), &k);
      const __m256 ve1 = s4j_exp_f32_avx2(_mm256_loadu_ps(y + i + 8), &k);
      const __m256 ve2 = s4j_exp_f32_avx2(_mm256_loadu_ps(y + i + 16), &k);
      const __m256 ve3 = s4j_exp_f32_avx2(_mm256_loadu_ps(y + i + 24), &k);
      const __m256 vgx0 = _mm256_fnmadd_ps(ve0, vsum, _mm256_loadu_ps(gy + i + 0));
      const __m256 vgx1 = _mm256_fnmadd_ps(ve1, vsum, _mm256_loadu_ps(gy + i + 8));
      const __m256 vgx2 = _mm256_fnmadd_ps(ve2, vsum, _mm256_loadu_ps(gy + i + 16));
      const __m256 vgx3 = _mm256_fnmadd_ps(ve3, vsum, _mm256_loadu_ps(gy + i + 24));
      _mm256_storeu_ps(gx + i + 0, vgx0);
      _mm256_storeu_ps(gx + i + 8, vgx1);
      _mm256_storeu_ps(gx + i + 16, vgx2);
      _mm256_storeu_ps(gx + i + 24, vgx3);
    }
    for (; i + 8 <= cols; i += 8) {
      const __m256 ve = s4j_exp_f32_avx2(_mm256_loadu_ps(y + i), &k);
      _mm256_storeu_ps(gx + i, _mm256_fnmadd_ps(ve, vsum, _mm256_loadu_ps(gy + i)));
    }
    if (i < cols) {
      const __m256i vmask = s4j_tail_mask(cols - i);
      const __m256 ve = s4j_exp_f32_avx2(_mm256_maskload_ps(y + i, vmask), &k);
      const __m256 vgx = _mm256_fnmadd_ps(ve, vsum, _mm256_maskload_ps(gy + i, vmask));
      _mm256_maskstore_ps(gx + i, vmask, vgx);
    }
  }
}
