/*
 * log_softmax_f32_avx2.c - AVX2+FMA kernels (8 lanes), compiled with
 * -mavx2 -mfma. Main loops take 32 elements (4 vectors, 4 accumulators),
 * then one vector at a time, then a masked tail (vmaskmovps loads; its
 * stores: store_avx2.h).
 *
 * The same structure as the AVX-512 file (see there for why): the sum pass
 * uses the sum-only exp (s4j_expsum_f32_avx2, rr1_p5: 12 ops per 8 elements
 * instead of 23 for the general exp), rows of at most 64 columns are held
 * in registers, medium rows go in groups, long rows (and streamed medium
 * ones) find the max and the sum in one read, pipelined with the previous
 * row's output, the backward's
 * exp (rr1_p6) takes a one-constant reduction and leaves out the lower clamp,
 * the backward sums the next row's gradients in the loop that writes the
 * current row's, and large outputs use non-temporal stores.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include <immintrin.h>

#include "kernels/log_softmax_f32.h"
#include "kernels/store_avx2.h"
#include "math/exp_f32_avx2.h"
#include "math/lanes_avx2.h"
#include "math/log_f32_avx2.h"

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
                                     const struct s4j_expsum_f32_avx2_consts *k) {
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
      vacc0 = _mm256_add_ps(vacc0, s4j_expsum_f32_avx2(vx0, k));
      vacc1 = _mm256_add_ps(vacc1, s4j_expsum_f32_avx2(vx1, k));
      vacc2 = _mm256_add_ps(vacc2, s4j_expsum_f32_avx2(vx2, k));
      vacc3 = _mm256_add_ps(vacc3, s4j_expsum_f32_avx2(vx3, k));
    }
    for (; i + 8 <= block_end; i += 8) {
      const __m256 vx = _mm256_sub_ps(_mm256_loadu_ps(x + i), vm);
      vacc0 = _mm256_add_ps(vacc0, s4j_expsum_f32_avx2(vx, k));
    }
    if (i < block_end) {
      /* Masked-off lanes load 0; their exp(0 - m) is dropped by the AND. */
      const __m256i vmask = s4j_tail_mask(block_end - i);
      const __m256 vx = _mm256_sub_ps(_mm256_maskload_ps(x + i, vmask), vm);
      const __m256 ve = _mm256_and_ps(s4j_expsum_f32_avx2(vx, k), _mm256_castsi256_ps(vmask));
      vacc1 = _mm256_add_ps(vacc1, ve);
      i = block_end;
    }
    vacc0 = _mm256_add_ps(_mm256_add_ps(vacc0, vacc1), _mm256_add_ps(vacc2, vacc3));
    vsum = s4j_add_block(vsum, vacc0);
  }
  return s4j_hsum_pd(vsum);
}

/*
 * max and sum(exp(x - max)) of one row in one read, for long rows: the same
 * scheme as s4j_online_* of the AVX-512 file (see there), with the
 * slack checked as x - ref > SLACK (no rounding mode on AVX2 additions), so
 * the exp never sees an argument above SLACK.
 */
#define S4J_ONLINE_SLACK 8.0f
#define S4J_ONLINE_MIN_COLS 4096

static inline void s4j_rescale(__m256 *vref, __m256 vblk, __m256 *vacc, __m256d *vsum_lo,
                               __m256d *vsum_hi, const struct s4j_expsum_f32_avx2_consts *k) {
  const __m256 vref_new = _mm256_max_ps(vblk, *vref);
  const __m256 vscale = s4j_expsum_f32_avx2(_mm256_sub_ps(*vref, vref_new), k);
  for (int j = 0; j < 4; j++) vacc[j] = _mm256_mul_ps(vacc[j], vscale);
  *vsum_lo = _mm256_mul_pd(*vsum_lo, _mm256_cvtps_pd(_mm256_castps256_ps128(vscale)));
  *vsum_hi = _mm256_mul_pd(*vsum_hi, _mm256_cvtps_pd(_mm256_extractf128_ps(vscale, 1)));
  *vref = vref_new;
}

/* The running state of the one-read max and sum of one row. */
struct s4j_online {
  __m256 vref, vmax;
  __m256d vsum_lo, vsum_hi;
};

static inline void s4j_online_init(struct s4j_online *o) {
  /* -FLT_MAX, not -inf: x = -inf must give exp(-inf - ref) = 0, not NaN. */
  o->vref = _mm256_set1_ps(-0x1.fffffep+127f);
  o->vmax = _mm256_set1_ps(-__builtin_inff());
  o->vsum_lo = o->vsum_hi = _mm256_setzero_pd();
}

/* Adds x[0 .. n) (n <= S4J_AVX2_BLOCK: one float block) to the state. */
static inline void s4j_online_block(struct s4j_online *o, size_t n, const float *x,
                                    const struct s4j_expsum_f32_avx2_consts *k) {
  const __m256 vneg_inf = _mm256_set1_ps(-__builtin_inff());
  const __m256 vslack = _mm256_set1_ps(S4J_ONLINE_SLACK);
  __m256 vacc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                    _mm256_setzero_ps()};
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256 vx0 = _mm256_loadu_ps(x + i + 0);
    const __m256 vx1 = _mm256_loadu_ps(x + i + 8);
    const __m256 vx2 = _mm256_loadu_ps(x + i + 16);
    const __m256 vx3 = _mm256_loadu_ps(x + i + 24);
    const __m256 vblk = _mm256_max_ps(_mm256_max_ps(vx0, vx1), _mm256_max_ps(vx2, vx3));
    o->vmax = _mm256_max_ps(o->vmax, vblk);
    const __m256 vfar = _mm256_cmp_ps(_mm256_sub_ps(vblk, o->vref), vslack, _CMP_GT_OQ);
    if (__builtin_expect(_mm256_movemask_ps(vfar) != 0, 0)) {
      s4j_rescale(&o->vref, vblk, vacc, &o->vsum_lo, &o->vsum_hi, k);
    }
    vacc[0] = _mm256_add_ps(vacc[0], s4j_expsum_f32_avx2(_mm256_sub_ps(vx0, o->vref), k));
    vacc[1] = _mm256_add_ps(vacc[1], s4j_expsum_f32_avx2(_mm256_sub_ps(vx1, o->vref), k));
    vacc[2] = _mm256_add_ps(vacc[2], s4j_expsum_f32_avx2(_mm256_sub_ps(vx2, o->vref), k));
    vacc[3] = _mm256_add_ps(vacc[3], s4j_expsum_f32_avx2(_mm256_sub_ps(vx3, o->vref), k));
  }
  for (; i < n; i += 8) {
    __m256 vx;
    if (n - i >= 8) {
      vx = _mm256_loadu_ps(x + i);
    } else {
      /* Masked-off lanes become -inf: exp(-inf - ref) = 0. */
      const __m256i vmask = s4j_tail_mask(n - i);
      vx = _mm256_blendv_ps(vneg_inf, _mm256_maskload_ps(x + i, vmask), _mm256_castsi256_ps(vmask));
    }
    o->vmax = _mm256_max_ps(o->vmax, vx);
    const __m256 vfar = _mm256_cmp_ps(_mm256_sub_ps(vx, o->vref), vslack, _CMP_GT_OQ);
    if (_mm256_movemask_ps(vfar) != 0) s4j_rescale(&o->vref, vx, vacc, &o->vsum_lo, &o->vsum_hi, k);
    vacc[0] = _mm256_add_ps(vacc[0], s4j_expsum_f32_avx2(_mm256_sub_ps(vx, o->vref), k));
  }
  const __m256 vacc_all = _mm256_add_ps(_mm256_add_ps(vacc[0], vacc[1]),
                                        _mm256_add_ps(vacc[2], vacc[3]));
  o->vsum_lo = _mm256_add_pd(o->vsum_lo, _mm256_cvtps_pd(_mm256_castps256_ps128(vacc_all)));
  o->vsum_hi = _mm256_add_pd(o->vsum_hi, _mm256_cvtps_pd(_mm256_extractf128_ps(vacc_all, 1)));
}

/* The row's max (*m_out) and sum(exp(x - max)). */
static inline double s4j_online_finish(const struct s4j_online *o, float *m_out) {
  const float m = s4j_hmax_ps(o->vmax);
  *m_out = m;
  /* sum = sum over the lanes of sum_l * exp(ref_l - m), with the tested exp. */
  const struct s4j_exp_f32_avx2_consts kx = s4j_exp_f32_avx2_init();
  const __m256 vw = s4j_exp_f32_avx2(_mm256_sub_ps(o->vref, _mm256_set1_ps(m)), &kx);
  const __m256d vsum_lo = _mm256_mul_pd(o->vsum_lo, _mm256_cvtps_pd(_mm256_castps256_ps128(vw)));
  const __m256d vsum_hi = _mm256_mul_pd(o->vsum_hi, _mm256_cvtps_pd(_mm256_extractf128_ps(vw, 1)));
  return s4j_hsum_pd(_mm256_add_pd(vsum_lo, vsum_hi));
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

/* Elements before out is 32-byte aligned (non-temporal stores need it). */
static inline size_t s4j_stream_head(const float *out, size_t n) {
  const size_t mis = (size_t) (((uintptr_t) out & 31u) / sizeof(float));
  const size_t head = mis == 0 ? 0 : 8 - mis;
  return head < n ? head : n;
}

/* y = (x - m) - logsum over one row, in that order; non-temporal stores for
 * the aligned middle of the row when `stream`. */
static inline void s4j_row_output(size_t n, const float *x, float *y, float m, float logsum,
                                  int stream) {
  const __m256 vm = _mm256_set1_ps(m);
  const __m256 vlogsum = _mm256_set1_ps(logsum);
  size_t i = 0;
  if (stream) {
    const size_t head = s4j_stream_head(y, n);
    for (; i < head; i++) y[i] = (x[i] - m) - logsum;
    for (; i + 32 <= n; i += 32) {
      const __m256 vy0 = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i + 0), vm), vlogsum);
      const __m256 vy1 = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vm), vlogsum);
      const __m256 vy2 = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i + 16), vm), vlogsum);
      const __m256 vy3 = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i + 24), vm), vlogsum);
      _mm256_stream_ps(y + i + 0, vy0);
      _mm256_stream_ps(y + i + 8, vy1);
      _mm256_stream_ps(y + i + 16, vy2);
      _mm256_stream_ps(y + i + 24, vy3);
    }
    for (; i + 8 <= n; i += 8) {
      _mm256_stream_ps(y + i, _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm), vlogsum));
    }
  } else {
    for (; i + 32 <= n; i += 32) {
      const __m256 vy0 = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i + 0), vm), vlogsum);
      const __m256 vy1 = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vm), vlogsum);
      const __m256 vy2 = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i + 16), vm), vlogsum);
      const __m256 vy3 = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i + 24), vm), vlogsum);
      _mm256_storeu_ps(y + i + 0, vy0);
      _mm256_storeu_ps(y + i + 8, vy1);
      _mm256_storeu_ps(y + i + 16, vy2);
      _mm256_storeu_ps(y + i + 24, vy3);
    }
    for (; i + 8 <= n; i += 8) {
      _mm256_storeu_ps(y + i, _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm), vlogsum));
    }
  }
  if (i < n) {
    const __m256i vmask = s4j_tail_mask(n - i);
    const __m256 vx = _mm256_maskload_ps(x + i, vmask);
    s4j_store_prefix_ps(y + i, vmask, _mm256_sub_ps(_mm256_sub_ps(vx, vm), vlogsum));
  }
}

/*
 * Rows of at most S4J_AVX2_SHORT_COLS columns: the whole row in registers
 * (up to 8 vectors, half of the 16 registers), read once, reductions
 * across the lanes in registers and the float log of log_f32.h on the
 * broadcast sum, as in the AVX-512 file (see there for why). Float tree
 * sum: at most 8 terms per lane, then 3 levels across lanes.
 */
#define S4J_AVX2_SHORT_COLS (8 * S4J_SHORT_ROW_VECS)

/* `nr` rows (1 or 4, a constant) `cols` apart, nv = ceil(cols / 8)
 * vectors each (a constant in each instantiation), step by step; only the
 * last vector of a row can be partial. */
static inline __attribute__((always_inline)) void s4j_fwd_short_step(
    size_t cols, const float *x, float *y, const int nv, const int nr, int stream, __m256i vmask,
    const struct s4j_expsum_f32_avx2_consts *k) {
  __m256 v[S4J_SHORT_STEP_ROWS][S4J_SHORT_ROW_VECS], vmax[S4J_SHORT_STEP_ROWS], vlogsum[S4J_SHORT_STEP_ROWS];
  s4j_short_rows_load_max(cols, x, nv, nr, vmask, v, vmax);
#pragma GCC unroll 4
  for (int q = 0; q < nr; q++) {
    __m256 ve[S4J_SHORT_ROW_VECS];
#pragma GCC unroll 8
    for (int j = 0; j < nv; j++) {
      v[q][j] = _mm256_sub_ps(v[q][j], vmax[q]);
      ve[j] = s4j_expsum_f32_avx2(v[q][j], k);
    }
    /* Pairwise over the vectors, then across the lanes. */
#pragma GCC unroll 8
    for (int w = 1; w < nv; w *= 2) {
#pragma GCC unroll 8
      for (int j = 0; j + w < nv; j += 2 * w) ve[j] = _mm256_add_ps(ve[j], ve[j + w]);
    }
    vlogsum[q] = ve[0];
  }
#pragma GCC unroll 4
  for (int q = 0; q < nr; q++) vlogsum[q] = s4j_log_f32_avx2(s4j_allsum(vlogsum[q]));
#pragma GCC unroll 4
  for (int q = 0; q < nr; q++) {
    float *yq = y + (size_t) q * cols;
    if (stream) {
#pragma GCC unroll 8
      for (int j = 0; j < nv; j++) _mm256_stream_ps(yq + 8 * j, _mm256_sub_ps(v[q][j], vlogsum[q]));
    } else {
#pragma GCC unroll 8
      for (int j = 0; j < nv - 1; j++) _mm256_storeu_ps(yq + 8 * j, _mm256_sub_ps(v[q][j], vlogsum[q]));
      s4j_store_prefix_ps(yq + 8 * (nv - 1), vmask, _mm256_sub_ps(v[q][nv - 1], vlogsum[q]));
    }
  }
}

/* All rows, four at a time (s4j_fwd_short_step), the last ones alone. Four
 * rows of more than two vectors do not fit the 16 registers and spill, but
 * one row's chain of max, exp, sum and log alone leaves the core waiting
 * on its latency, as on AVX-512 (and in the AVX2 softmax short rows): B/A
 * against one row a step, four rows [1024,10] 0.72, [4096,16] 0.76,
 * [16384,33] 0.72, [4096,64] 0.77, [65536,64] 0.74 (streamed); two rows
 * 0.82-0.86 on the same. */
static inline __attribute__((always_inline)) void s4j_fwd_short_rows(
    size_t rows, size_t cols, const float *x, float *y, const int nv, int stream,
    const struct s4j_expsum_f32_avx2_consts *k) {
  const size_t last = cols - (size_t) (nv - 1) * 8;
  const __m256i vmask = last == 8 ? _mm256_set1_epi32(-1) : s4j_tail_mask(last);
  size_t r = 0;
  for (; r + 4 <= rows; r += 4) s4j_fwd_short_step(cols, x + r * cols, y + r * cols, nv, 4, stream, vmask, k);
  for (; r < rows; r++) s4j_fwd_short_step(cols, x + r * cols, y + r * cols, nv, 1, stream, vmask, k);
}

static void s4j_fwd_short(size_t rows, size_t cols, const float *x, float *y, int stream,
                          const struct s4j_expsum_f32_avx2_consts *k) {
  assert(cols <= S4J_AVX2_SHORT_COLS);
  /* Streamed rows must be whole aligned vectors. */
  stream = stream && cols % 8 == 0 && ((uintptr_t) y & 31u) == 0;
  switch ((cols + 7) / 8) {
    case 1: s4j_fwd_short_rows(rows, cols, x, y, 1, stream, k); break;
    case 2: s4j_fwd_short_rows(rows, cols, x, y, 2, stream, k); break;
    case 3: s4j_fwd_short_rows(rows, cols, x, y, 3, stream, k); break;
    case 4: s4j_fwd_short_rows(rows, cols, x, y, 4, stream, k); break;
    case 5: s4j_fwd_short_rows(rows, cols, x, y, 5, stream, k); break;
    case 6: s4j_fwd_short_rows(rows, cols, x, y, 6, stream, k); break;
    case 7: s4j_fwd_short_rows(rows, cols, x, y, 7, stream, k); break;
    default: s4j_fwd_short_rows(rows, cols, x, y, 8, stream, k); break;
  }
  if (stream) _mm_sfence();
}

/*
 * Rows of S4J_AVX2_SHORT_COLS .. S4J_ONLINE_MIN_COLS - 1 columns, in groups,
 * one pass at a time over the whole group (as in the AVX-512 file); the
 * group's logs are two vector logs (log_f32.h, on the double sums rounded
 * to float); unused lanes take log(1).
 */
/*
 * sum(exp(x - m)) over one row (as s4j_row_sum_exp) while writing the output
 * of the previous row, yp = (xp - mp) - lp, in the same loop (as in the
 * AVX-512 file). Cached stores only.
 */
static inline double s4j_row_sum_exp_output(size_t n, const float *x, float m, const float *xp,
                                            float *yp, float mp, float lp,
                                            const struct s4j_expsum_f32_avx2_consts *k) {
  const __m256 vm = _mm256_set1_ps(m), vmp = _mm256_set1_ps(mp), vlp = _mm256_set1_ps(lp);
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
      _mm256_storeu_ps(yp + i + 0, _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(xp + i + 0), vmp), vlp));
      _mm256_storeu_ps(yp + i + 8, _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(xp + i + 8), vmp), vlp));
      _mm256_storeu_ps(yp + i + 16, _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(xp + i + 16), vmp), vlp));
      _mm256_storeu_ps(yp + i + 24, _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(xp + i + 24), vmp), vlp));
      vacc0 = _mm256_add_ps(vacc0, s4j_expsum_f32_avx2(vx0, k));
      vacc1 = _mm256_add_ps(vacc1, s4j_expsum_f32_avx2(vx1, k));
      vacc2 = _mm256_add_ps(vacc2, s4j_expsum_f32_avx2(vx2, k));
      vacc3 = _mm256_add_ps(vacc3, s4j_expsum_f32_avx2(vx3, k));
    }
    for (; i + 8 <= block_end; i += 8) {
      const __m256 vx = _mm256_sub_ps(_mm256_loadu_ps(x + i), vm);
      _mm256_storeu_ps(yp + i, _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(xp + i), vmp), vlp));
      vacc0 = _mm256_add_ps(vacc0, s4j_expsum_f32_avx2(vx, k));
    }
    if (i < block_end) {
      /* Masked-off lanes load 0; their exp(0 - m) is dropped by the AND. */
      const __m256i vmask = s4j_tail_mask(block_end - i);
      const __m256 vx = _mm256_sub_ps(_mm256_maskload_ps(x + i, vmask), vm);
      const __m256 vyp = _mm256_sub_ps(_mm256_sub_ps(_mm256_maskload_ps(xp + i, vmask), vmp), vlp);
      s4j_store_prefix_ps(yp + i, vmask, vyp);
      const __m256 ve = _mm256_and_ps(s4j_expsum_f32_avx2(vx, k), _mm256_castsi256_ps(vmask));
      vacc1 = _mm256_add_ps(vacc1, ve);
      i = block_end;
    }
    vacc0 = _mm256_add_ps(_mm256_add_ps(vacc0, vacc1), _mm256_add_ps(vacc2, vacc3));
    vsum = s4j_add_block(vsum, vacc0);
  }
  return s4j_hsum_pd(vsum);
}

static inline float s4j_log_one(double sum) {
  return _mm256_cvtss_f32(s4j_log_f32_avx2(_mm256_set1_ps((float) sum)));
}

/* Medium rows, cached stores, more than one row: each row's sum pass writes
 * the previous row's output (s4j_row_sum_exp_output). */
static void s4j_fwd_medium_fused(size_t rows, size_t cols, const float *x, float *y,
                                 const struct s4j_expsum_f32_avx2_consts *k) {
  float m_prev = s4j_row_max(cols, x);
  float logsum_prev = s4j_log_one(s4j_row_sum_exp(cols, x, m_prev, k));
  for (size_t r = 1; r < rows; r++) {
    const float *xr = x + r * cols;
    const float m = s4j_row_max(cols, xr);
    const double sum = s4j_row_sum_exp_output(cols, xr, m, xr - cols, y + (r - 1) * cols, m_prev,
                                              logsum_prev, k);
    m_prev = m;
    logsum_prev = s4j_log_one(sum);
  }
  s4j_row_output(cols, x + (rows - 1) * cols, y + (rows - 1) * cols, m_prev, logsum_prev, 0);
}

static void s4j_fwd_medium(size_t rows, size_t cols, const float *x, float *y, int stream,
                           const struct s4j_expsum_f32_avx2_consts *k) {
  const size_t group = s4j_row_group(cols);
  float m[S4J_ROW_GROUP_MAX], logsum[S4J_ROW_GROUP_MAX];
  for (size_t r = 0; r < rows; r += group) {
    const size_t g = rows - r < group ? rows - r : group;
    const float *xg = x + r * cols;
    float *yg = y + r * cols;
    for (size_t j = 0; j < g; j++) m[j] = s4j_row_max(cols, xg + j * cols);
    for (size_t j = 0; j < S4J_ROW_GROUP_MAX; j++) {
      logsum[j] = j < g ? (float) s4j_row_sum_exp(cols, xg + j * cols, m[j], k) : 1.0f;
    }
    for (size_t j = 0; j < S4J_ROW_GROUP_MAX; j += 8) {
      _mm256_storeu_ps(logsum + j, s4j_log_f32_avx2(_mm256_loadu_ps(logsum + j)));
    }
    for (size_t j = 0; j < g; j++) {
      s4j_row_output(cols, xg + j * cols, yg + j * cols, m[j], logsum[j], stream);
    }
  }
}

/*
 * Rows of at least S4J_ONLINE_MIN_COLS columns, and streamed rows of at
 * least S4J_STREAM_PIPE_MIN_COLS, pipelined over the rows as in the AVX-512
 * file: chunk by chunk, the one read of row r alternates with
 * the output of row r - 1.
 */
#define S4J_AVX2_PIPE_CHUNK 128

static void s4j_fwd_pipelined(size_t rows, size_t cols, const float *x, float *y, int stream,
                              const struct s4j_expsum_f32_avx2_consts *k) {
  /* One row has nothing to overlap with: whole float blocks then. */
  const size_t chunk = rows == 1 ? S4J_AVX2_BLOCK : S4J_AVX2_PIPE_CHUNK;
  float m_prev = 0.0f, logsum_prev = 0.0f;
  for (size_t r = 0; r <= rows; r++) {
    const int have_cur = r < rows, have_prev = r > 0;
    const float *xr = x + (have_cur ? r : 0) * cols;
    const float *xp = x + (have_prev ? r - 1 : 0) * cols;
    float *yp = y + (have_prev ? r - 1 : 0) * cols;
    struct s4j_online o;
    s4j_online_init(&o);
    for (size_t i = 0; i < cols; i += chunk) {
      const size_t n = cols - i < chunk ? cols - i : chunk;
      if (have_cur) s4j_online_block(&o, n, xr + i, k);
      if (have_prev) s4j_row_output(n, xp + i, yp + i, m_prev, logsum_prev, stream);
    }
    if (have_cur) {
      const float sum = (float) s4j_online_finish(&o, &m_prev);
      logsum_prev = _mm256_cvtss_f32(s4j_log_f32_avx2(_mm256_set1_ps(sum)));
    }
  }
}

void s4j_f32_log_softmax_fwd_ukernel__avx2_rr2_p6_u32_acc4(
    size_t rows, size_t cols, const float *x, float *y) {
  assert(rows != 0 && cols != 0);
  assert(x != NULL && y != NULL);

  const struct s4j_expsum_f32_avx2_consts k = s4j_expsum_f32_avx2_init();
  const int stream = s4j_use_stream_stores(rows, cols, y);
  if (cols <= S4J_AVX2_SHORT_COLS) {
    s4j_fwd_short(rows, cols, x, y, stream, &k);
    return;
  }
  if (cols >= S4J_ONLINE_MIN_COLS || (stream && cols >= S4J_STREAM_PIPE_MIN_COLS)) {
    s4j_fwd_pipelined(rows, cols, x, y, stream, &k);
  } else if (rows > 1 && !stream) {
    s4j_fwd_medium_fused(rows, cols, x, y, &k);
    return;
  } else {
    s4j_fwd_medium(rows, cols, x, y, stream, &k);
  }
  if (stream) _mm_sfence();
}

/* A store of 8 floats: non-temporal (to a 32-byte aligned address) or cached. */
static inline __attribute__((always_inline)) void s4j_store(float *p, __m256 v, const int stream) {
  if (stream) {
    _mm256_stream_ps(p, v);
  } else {
    _mm256_storeu_ps(p, v);
  }
}

/* Out of cache, the backward's loop asks for y and the next row's gy this
 * many floats ahead, running on into the rows after them (as the AVX-512
 * file; 4 KiB instead of 2: s4j_ab B/A [256,32000] 0.89, [4096,4096] 0.87,
 * [32,128256] 0.95, [8192,1024] 0.89). */
#define S4J_AVX2_BWD_PREFETCH 1024

/*
 * gx = gy - exp(y) * vsum over one row, one rounding (vfnmadd), and, when
 * `fuse`, the sum of the next row's gradients gyn (the return value, in
 * double as s4j_row_sum) in the same loop: the exp keeps the FMA units busy
 * while the sum needs loads, conversions and adds, and out of cache the
 * next row's reads overlap the arithmetic instead of taking a pass of their
 * own. `stream`: non-temporal stores for the 32-byte aligned middle of the
 * row. fuse and stream are constants in each instantiation.
 */
static inline __attribute__((always_inline)) double s4j_row_grad_sum(
    size_t n, const float *gy, const float *y, float *gx, __m256 vsum, const float *gyn,
    const int fuse, const int stream, const struct s4j_exp_f32_avx2_consts *k) {
  __m256d vacc0 = _mm256_setzero_pd(), vacc1 = _mm256_setzero_pd();
  __m256d vacc2 = _mm256_setzero_pd(), vacc3 = _mm256_setzero_pd();
  size_t i = 0;
  if (stream) {
    const size_t head = s4j_stream_head(gx, n);
    if (head != 0) {
      const __m256i vmask = s4j_tail_mask(head);
      const __m256 ve = s4j_expgrad_f32_avx2(_mm256_maskload_ps(y, vmask), k);
      s4j_store_prefix_ps(gx, vmask, _mm256_fnmadd_ps(ve, vsum, _mm256_maskload_ps(gy, vmask)));
      if (fuse) vacc2 = s4j_add_block(vacc2, _mm256_maskload_ps(gyn, vmask));
      i = head;
    }
  }
  for (; i + 32 <= n; i += 32) {
    const __m256 ve0 = s4j_expgrad_f32_avx2(_mm256_loadu_ps(y + i + 0), k);
    const __m256 ve1 = s4j_expgrad_f32_avx2(_mm256_loadu_ps(y + i + 8), k);
    const __m256 ve2 = s4j_expgrad_f32_avx2(_mm256_loadu_ps(y + i + 16), k);
    const __m256 ve3 = s4j_expgrad_f32_avx2(_mm256_loadu_ps(y + i + 24), k);
    s4j_store(gx + i + 0, _mm256_fnmadd_ps(ve0, vsum, _mm256_loadu_ps(gy + i + 0)), stream);
    s4j_store(gx + i + 8, _mm256_fnmadd_ps(ve1, vsum, _mm256_loadu_ps(gy + i + 8)), stream);
    s4j_store(gx + i + 16, _mm256_fnmadd_ps(ve2, vsum, _mm256_loadu_ps(gy + i + 16)), stream);
    s4j_store(gx + i + 24, _mm256_fnmadd_ps(ve3, vsum, _mm256_loadu_ps(gy + i + 24)), stream);
    if (stream) {
      /* Addresses, not pointers (as in the AVX-512 file): past the row's end
       * they are the next rows or beyond the buffers (a no-op). */
      const uintptr_t ahead_y = (uintptr_t) (y + i) + S4J_AVX2_BWD_PREFETCH * sizeof(float);
      const uintptr_t ahead_gyn = (uintptr_t) (gyn + i) + S4J_AVX2_BWD_PREFETCH * sizeof(float);
      for (size_t l = 0; l < 32; l += 16) {
        _mm_prefetch((const char *) (ahead_y + l * sizeof(float)), _MM_HINT_T0);
        if (fuse) _mm_prefetch((const char *) (ahead_gyn + l * sizeof(float)), _MM_HINT_T0);
      }
    }
    if (fuse) {
      vacc0 = _mm256_add_pd(vacc0, _mm256_cvtps_pd(_mm_loadu_ps(gyn + i + 0)));
      vacc1 = _mm256_add_pd(vacc1, _mm256_cvtps_pd(_mm_loadu_ps(gyn + i + 4)));
      vacc2 = _mm256_add_pd(vacc2, _mm256_cvtps_pd(_mm_loadu_ps(gyn + i + 8)));
      vacc3 = _mm256_add_pd(vacc3, _mm256_cvtps_pd(_mm_loadu_ps(gyn + i + 12)));
      vacc0 = _mm256_add_pd(vacc0, _mm256_cvtps_pd(_mm_loadu_ps(gyn + i + 16)));
      vacc1 = _mm256_add_pd(vacc1, _mm256_cvtps_pd(_mm_loadu_ps(gyn + i + 20)));
      vacc2 = _mm256_add_pd(vacc2, _mm256_cvtps_pd(_mm_loadu_ps(gyn + i + 24)));
      vacc3 = _mm256_add_pd(vacc3, _mm256_cvtps_pd(_mm_loadu_ps(gyn + i + 28)));
    }
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 ve = s4j_expgrad_f32_avx2(_mm256_loadu_ps(y + i), k);
    s4j_store(gx + i, _mm256_fnmadd_ps(ve, vsum, _mm256_loadu_ps(gy + i)), stream);
    if (fuse) vacc0 = s4j_add_block(vacc0, _mm256_loadu_ps(gyn + i));
  }
  if (i < n) {
    const __m256i vmask = s4j_tail_mask(n - i);
    const __m256 ve = s4j_expgrad_f32_avx2(_mm256_maskload_ps(y + i, vmask), k);
    const __m256 vgx = _mm256_fnmadd_ps(ve, vsum, _mm256_maskload_ps(gy + i, vmask));
    s4j_store_prefix_ps(gx + i, vmask, vgx);
    if (fuse) vacc2 = s4j_add_block(vacc2, _mm256_maskload_ps(gyn + i, vmask));
  }
  if (!fuse) return 0.0;
  return s4j_hsum_pd(_mm256_add_pd(_mm256_add_pd(vacc0, vacc1), _mm256_add_pd(vacc2, vacc3)));
}

/* Every row but the last computes the next row's sum alongside its gradient
 * (s4j_row_grad_sum); only the first row's sum is a pass of its own. */
static inline __attribute__((always_inline)) void s4j_bwd_rows(
    size_t rows, size_t cols, const float *gy, const float *y, float *gx, const int stream,
    const struct s4j_exp_f32_avx2_consts *k) {
  float sum = (float) s4j_row_sum(cols, gy);
  for (size_t r = 0; r + 1 < rows; r++, gy += cols, y += cols, gx += cols) {
    sum = (float) s4j_row_grad_sum(cols, gy, y, gx, _mm256_set1_ps(sum), gy + cols, 1, stream, k);
  }
  s4j_row_grad_sum(cols, gy, y, gx, _mm256_set1_ps(sum), NULL, 0, stream, k);
}

void s4j_f32_log_softmax_bwd_ukernel__avx2_rr2_p6_u32_acc4(
    size_t rows, size_t cols, const float *gy, const float *y, float *gx) {
  assert(rows != 0 && cols != 0);
  assert(gy != NULL && y != NULL && gx != NULL);

  const struct s4j_exp_f32_avx2_consts k = s4j_exp_f32_avx2_init();
  if (s4j_use_stream_stores(rows, cols, gx)) {
    s4j_bwd_rows(rows, cols, gy, y, gx, 1, &k);
    _mm_sfence();
  } else {
    s4j_bwd_rows(rows, cols, gy, y, gx, 0, &k);
  }
}
