/*
 * cross_entropy_f32_avx2.c - AVX2+FMA cross-entropy kernels for one position
 * whose classes are contiguous: 8 lanes, 4 accumulators in the max and the
 * sum, a masked tail (vmaskmovps loads; its stores: store_avx2.h). Compiled
 * with -mavx2 -mfma only.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include <immintrin.h>

#include "kernels/cross_entropy_f32.h"
#include "kernels/store_avx2.h"
#include "math/exp_f32_avx2.h"
#include "math/log_f64.h"

/* Elements summed in float (32 per lane) before the block total goes to
 * double; a multiple of the 32-element main loop. */
#define S4J_XENT_AVX2_BLOCK 1024

/* Loading 8 lanes at s4j_xent_mask_table + 8 - rem gives rem lanes of ones. */
static const int32_t s4j_xent_mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                0,  0,  0,  0,  0,  0,  0,  0};

static inline __m256i s4j_xent_tail_mask(size_t rem) {
  assert(rem > 0 && rem < 8);
  return _mm256_loadu_si256((const __m256i *) (s4j_xent_mask_table + 8 - rem));
}

static inline float s4j_xent_hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

static inline double s4j_xent_hsum_block(__m256 v) {
  __m256d d = _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)),
                            _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
  __m128d s = _mm_add_pd(_mm256_castpd256_pd128(d), _mm256_extractf128_pd(d, 1));
  s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
  return _mm_cvtsd_f64(s);
}

void s4j_f32_xent_stats_ukernel__avx2_rr2_p6_u32_acc4(size_t classes, const float *x,
                                                      float *max, double *log_sum) {
  assert(classes > 0);
  const __m256 vneg_inf = _mm256_set1_ps(-__builtin_inff());
  __m256 vmax0 = vneg_inf, vmax1 = vneg_inf, vmax2 = vneg_inf, vmax3 = vneg_inf;
  size_t i = 0;
  for (; i + 32 <= classes; i += 32) {
    vmax0 = _mm256_max_ps(vmax0, _mm256_loadu_ps(x + i + 0));
    vmax1 = _mm256_max_ps(vmax1, _mm256_loadu_ps(x + i + 8));
    vmax2 = _mm256_max_ps(vmax2, _mm256_loadu_ps(x + i + 16));
    vmax3 = _mm256_max_ps(vmax3, _mm256_loadu_ps(x + i + 24));
  }
  for (; i + 8 <= classes; i += 8) vmax0 = _mm256_max_ps(vmax0, _mm256_loadu_ps(x + i));
  if (i < classes) {
    /* Masked-off lanes become -inf, the identity of max. */
    const __m256i vmask = s4j_xent_tail_mask(classes - i);
    const __m256 vx = _mm256_maskload_ps(x + i, vmask);
    vmax1 = _mm256_max_ps(vmax1, _mm256_blendv_ps(vneg_inf, vx, _mm256_castsi256_ps(vmask)));
  }
  const float m = s4j_xent_hmax(_mm256_max_ps(_mm256_max_ps(vmax0, vmax1), _mm256_max_ps(vmax2, vmax3)));

  const struct s4j_exp_f32_avx2_consts k = s4j_exp_f32_avx2_init();
  const __m256 vm = _mm256_set1_ps(m);
  /* An address, not a pointer: it may lie past the batch (a no-op there). */
  const uintptr_t ahead = (uintptr_t) x + s4j_xent_prefetch_ahead(classes) * sizeof(float);
  double sum = 0.0;
  i = 0;
  while (i < classes) {
    const size_t end = classes - i > S4J_XENT_AVX2_BLOCK ? i + S4J_XENT_AVX2_BLOCK : classes;
    __m256 vacc0 = _mm256_setzero_ps(), vacc1 = _mm256_setzero_ps();
    __m256 vacc2 = _mm256_setzero_ps(), vacc3 = _mm256_setzero_ps();
    for (; i + 32 <= end; i += 32) {
      for (size_t l = 0; l < 32; l += 16) _mm_prefetch((const char *) (ahead + (i + l) * sizeof(float)), _MM_HINT_T0);
      vacc0 = _mm256_add_ps(vacc0, s4j_exp_f32_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i + 0), vm), &k));
      vacc1 = _mm256_add_ps(vacc1, s4j_exp_f32_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vm), &k));
      vacc2 = _mm256_add_ps(vacc2, s4j_exp_f32_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i + 16), vm), &k));
      vacc3 = _mm256_add_ps(vacc3, s4j_exp_f32_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i + 24), vm), &k));
    }
    for (; i + 8 <= end; i += 8) {
      vacc0 = _mm256_add_ps(vacc0, s4j_exp_f32_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm), &k));
    }
    if (i < end) {
      /* Only the last block has a tail. Masked-off lanes are zeroed after
       * the exp, so whatever it makes of them never reaches the sum. */
      const __m256i vmask = s4j_xent_tail_mask(end - i);
      const __m256 ve = s4j_exp_f32_avx2(_mm256_sub_ps(_mm256_maskload_ps(x + i, vmask), vm), &k);
      vacc1 = _mm256_add_ps(vacc1, _mm256_and_ps(ve, _mm256_castsi256_ps(vmask)));
      i = end;
    }
    sum += s4j_xent_hsum_block(_mm256_add_ps(_mm256_add_ps(vacc0, vacc1), _mm256_add_ps(vacc2, vacc3)));
  }
  *max = m;
  *log_sum = s4j_log_f64(sum);
}

/* gx = alpha * exp((x - m) - log_sum) - w * (beta * t + gamma) on 8 lanes. */
static inline __m256 s4j_xent_grad8(__m256 vx, __m256 vm, __m256 vls, __m256 valpha, __m256 vw,
                                    __m256 vq, const struct s4j_exp_f32_avx2_consts *k) {
  const __m256 vp = s4j_exp_f32_avx2(_mm256_sub_ps(_mm256_sub_ps(vx, vm), vls), k);
  return _mm256_sub_ps(_mm256_mul_ps(valpha, vp), _mm256_mul_ps(vw, vq));
}

void s4j_f32_xent_grad_ukernel__avx2_rr2_p6_u8(size_t classes, const float *x, float max,
                                               float log_sum, float alpha, float beta,
                                               float gamma, const float *t, const float *w,
                                               float *gx) {
  assert(classes > 0);
  const struct s4j_exp_f32_avx2_consts k = s4j_exp_f32_avx2_init();
  const __m256 vm = _mm256_set1_ps(max);
  const __m256 vls = _mm256_set1_ps(log_sum);
  const __m256 valpha = _mm256_set1_ps(alpha);
  const __m256 vbeta = _mm256_set1_ps(beta);
  const __m256 vgamma = _mm256_set1_ps(gamma);
  const __m256 vone = _mm256_set1_ps(1.0f);
  size_t i = 0;
  for (; i + 8 <= classes; i += 8) {
    const __m256 vw = w != NULL ? _mm256_loadu_ps(w + i) : vone;
    /* beta * t + gamma as a multiply and an add, as the scalar kernel rounds it. */
    const __m256 vq = t != NULL ? _mm256_add_ps(_mm256_mul_ps(vbeta, _mm256_loadu_ps(t + i)), vgamma) : vgamma;
    _mm256_storeu_ps(gx + i, s4j_xent_grad8(_mm256_loadu_ps(x + i), vm, vls, valpha, vw, vq, &k));
  }
  if (i < classes) {
    const __m256i vmask = s4j_xent_tail_mask(classes - i);
    const __m256 vw = w != NULL ? _mm256_maskload_ps(w + i, vmask) : vone;
    const __m256 vq =
        t != NULL ? _mm256_add_ps(_mm256_mul_ps(vbeta, _mm256_maskload_ps(t + i, vmask)), vgamma) : vgamma;
    s4j_store_prefix_ps(gx + i, vmask, s4j_xent_grad8(_mm256_maskload_ps(x + i, vmask), vm, vls, valpha, vw, vq, &k));
  }
}
