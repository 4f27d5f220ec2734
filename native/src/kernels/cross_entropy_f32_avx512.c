/*
 * cross_entropy_f32_avx512.c - AVX-512 cross-entropy kernels for one position
 * whose classes are contiguous: 16 lanes, 4 accumulators in the max and the
 * sum, an opmask tail. Compiled with -mavx512f -mavx512dq -mavx2 -mfma only.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include <immintrin.h>

#include "kernels/cross_entropy_f32.h"
#include "math/exp_f32_avx512.h"
#include "math/log_f64.h"

/* Elements summed in float (64 per lane) before the block total goes to
 * double; a multiple of the 64-element main loop. */
#define S4J_XENT_AVX512_BLOCK 1024

static inline __mmask16 s4j_xent_tail_mask(size_t rem) {
  assert(rem > 0 && rem < 16);
  return _cvtu32_mask16((UINT32_C(1) << (uint32_t) rem) - 1u);
}

static inline double s4j_xent_hsum_block(__m512 v) {
  const __m512d d = _mm512_add_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(v)),
                                  _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
  return _mm512_reduce_add_pd(d);
}

void s4j_f32_xent_stats_ukernel__avx512f_rr2_p6_u64_acc4(size_t classes, const float *x,
                                                         float *max, double *log_sum) {
  assert(classes > 0);
  const __m512 vneg_inf = _mm512_set1_ps(-__builtin_inff());
  __m512 vmax0 = vneg_inf, vmax1 = vneg_inf, vmax2 = vneg_inf, vmax3 = vneg_inf;
  size_t i = 0;
  for (; i + 64 <= classes; i += 64) {
    vmax0 = _mm512_max_ps(vmax0, _mm512_loadu_ps(x + i + 0));
    vmax1 = _mm512_max_ps(vmax1, _mm512_loadu_ps(x + i + 16));
    vmax2 = _mm512_max_ps(vmax2, _mm512_loadu_ps(x + i + 32));
    vmax3 = _mm512_max_ps(vmax3, _mm512_loadu_ps(x + i + 48));
  }
  for (; i + 16 <= classes; i += 16) vmax0 = _mm512_max_ps(vmax0, _mm512_loadu_ps(x + i));
  if (i < classes) {
    /* Masked-off lanes keep vmax1's value: they change nothing. */
    const __mmask16 vmask = s4j_xent_tail_mask(classes - i);
    vmax1 = _mm512_mask_max_ps(vmax1, vmask, vmax1, _mm512_maskz_loadu_ps(vmask, x + i));
  }
  const float m = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(vmax0, vmax1), _mm512_max_ps(vmax2, vmax3)));

  const struct s4j_exp_f32_avx512_consts k = s4j_exp_f32_avx512_init();
  const __m512 vm = _mm512_set1_ps(m);
  /* An address, not a pointer: it may lie past the batch (a no-op there). */
  const uintptr_t ahead = (uintptr_t) x + s4j_xent_prefetch_ahead(classes) * sizeof(float);
  double sum = 0.0;
  i = 0;
  while (i < classes) {
    const size_t end = classes - i > S4J_XENT_AVX512_BLOCK ? i + S4J_XENT_AVX512_BLOCK : classes;
    __m512 vacc0 = _mm512_setzero_ps(), vacc1 = _mm512_setzero_ps();
    __m512 vacc2 = _mm512_setzero_ps(), vacc3 = _mm512_setzero_ps();
    for (; i + 64 <= end; i += 64) {
      for (size_t l = 0; l < 64; l += 16) _mm_prefetch((const char *) (ahead + (i + l) * sizeof(float)), _MM_HINT_T0);
      vacc0 = _mm512_add_ps(vacc0, s4j_exp_f32_avx512(_mm512_sub_ps(_mm512_loadu_ps(x + i + 0), vm), &k));
      vacc1 = _mm512_add_ps(vacc1, s4j_exp_f32_avx512(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16), vm), &k));
      vacc2 = _mm512_add_ps(vacc2, s4j_exp_f32_avx512(_mm512_sub_ps(_mm512_loadu_ps(x + i + 32), vm), &k));
      vacc3 = _mm512_add_ps(vacc3, s4j_exp_f32_avx512(_mm512_sub_ps(_mm512_loadu_ps(x + i + 48), vm), &k));
    }
    for (; i + 16 <= end; i += 16) {
      vacc0 = _mm512_add_ps(vacc0, s4j_exp_f32_avx512(_mm512_sub_ps(_mm512_loadu_ps(x + i), vm), &k));
    }
    if (i < end) {
      /* Only the last block has a tail; masked-off lanes add nothing. */
      const __mmask16 vmask = s4j_xent_tail_mask(end - i);
      const __m512 ve = s4j_exp_f32_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(vmask, x + i), vm), &k);
      vacc1 = _mm512_mask_add_ps(vacc1, vmask, vacc1, ve);
      i = end;
    }
    sum += s4j_xent_hsum_block(_mm512_add_ps(_mm512_add_ps(vacc0, vacc1), _mm512_add_ps(vacc2, vacc3)));
  }
  *max = m;
  *log_sum = s4j_log_f64(sum);
}

/* gx = alpha * exp((x - m) - log_sum) - w * (beta * t + gamma) on 16 lanes. */
static inline __m512 s4j_xent_grad16(__m512 vx, __m512 vm, __m512 vls, __m512 valpha, __m512 vw,
                                     __m512 vq, const struct s4j_exp_f32_avx512_consts *k) {
  const __m512 vp = s4j_exp_f32_avx512(_mm512_sub_ps(_mm512_sub_ps(vx, vm), vls), k);
  return _mm512_sub_ps(_mm512_mul_ps(valpha, vp), _mm512_mul_ps(vw, vq));
}

void s4j_f32_xent_grad_ukernel__avx512f_rr2_p6_u16(size_t classes, const float *x, float max,
                                                   float log_sum, float alpha, float beta,
                                                   float gamma, const float *t, const float *w,
                                                   float *gx) {
  assert(classes > 0);
  const struct s4j_exp_f32_avx512_consts k = s4j_exp_f32_avx512_init();
  const __m512 vm = _mm512_set1_ps(max);
  const __m512 vls = _mm512_set1_ps(log_sum);
  const __m512 valpha = _mm512_set1_ps(alpha);
  const __m512 vbeta = _mm512_set1_ps(beta);
  const __m512 vgamma = _mm512_set1_ps(gamma);
  const __m512 vone = _mm512_set1_ps(1.0f);
  size_t i = 0;
  for (; i + 16 <= classes; i += 16) {
    const __m512 vw = w != NULL ? _mm512_loadu_ps(w + i) : vone;
    /* beta * t + gamma as a multiply and an add, as the scalar kernel rounds it. */
    const __m512 vq = t != NULL ? _mm512_add_ps(_mm512_mul_ps(vbeta, _mm512_loadu_ps(t + i)), vgamma) : vgamma;
    _mm512_storeu_ps(gx + i, s4j_xent_grad16(_mm512_loadu_ps(x + i), vm, vls, valpha, vw, vq, &k));
  }
  if (i < classes) {
    const __mmask16 vmask = s4j_xent_tail_mask(classes - i);
    const __m512 vw = w != NULL ? _mm512_maskz_loadu_ps(vmask, w + i) : vone;
    const __m512 vq =
        t != NULL ? _mm512_add_ps(_mm512_mul_ps(vbeta, _mm512_maskz_loadu_ps(vmask, t + i)), vgamma) : vgamma;
    _mm512_mask_storeu_ps(gx + i, vmask,
                          s4j_xent_grad16(_mm512_maskz_loadu_ps(vmask, x + i), vm, vls, valpha, vw, vq, &k));
  }
}
