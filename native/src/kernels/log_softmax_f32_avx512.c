/*
 * log_softmax_f32_avx512.c - AVX-512 kernels (16 lanes), compiled with
 * -mavx512f -mavx512dq -mavx2 -mfma. Main loops take 64 elements (4 vectors,
 * 4 accumulators), then one vector at a time, then an opmask tail.
 *
 * What makes them fast (each choice measured with native/bench):
 *  - The sum pass uses the sum-only exp (s4j_expsum_f32_avx512, rr1_p5 in
 *    exp_f32.h): arguments x - max <= 0 and only the sum's relative error
 *    matters, so one-constant reduction, a degree-5 polynomial and
 *    vscalefps, 10 vector ops per 16 elements instead of 12 (relative error
 *    < 4e-7 per term, exactly +0 below CUTOFF).
 *  - Rows of at least S4J_ONLINE_MIN_COLS find the max and the sum in one
 *    read (s4j_online_*): out of cache the separate max pass costs a
 *    read of the row from memory (256x32000: 3.1 -> 4.2 elements/ns).
 *  - Rows of at most 128 columns are held in registers (s4j_fwd_short): one
 *    read, reductions across lanes in registers, a float log on the
 *    broadcast sum (1x10: 41 -> 17 ns a call; 65536x128: 2.7 -> 1.9 x copy).
 *  - Medium rows (129-4095 columns), several, cached stores: each row's sum
 *    pass writes the previous row's output in the same loop (64x1000: ~12 %).
 *    Otherwise in groups (s4j_row_group): each pass runs over the whole
 *    group, so the per-row reductions and logs overlap.
 *  - Long rows are pipelined (s4j_fwd_pipelined): the read of one row
 *    alternates, 128 elements at a time, with the output of the row before.
 *    So are medium rows whose output is streamed (out of cache), from
 *    S4J_STREAM_PIPE_MIN_COLS: in groups, the max pass waited on memory
 *    while the exp pass left it idle.
 *  - The backward's exp (s4j_expgrad_f32_avx512, rr1_p6 in exp_f32.h) takes
 *    a one-constant reduction, one FMA fewer per vector (its absolute error,
 *    which is what the gradient sees, is rr2_p6's), and leaves out the
 *    lower clamp (the gradient loop alone over 32000 floats in cache:
 *    3.73-3.84 -> 3.42-3.47 us).
 *  - The backward sums the next row's gradients in the loop that writes the
 *    current row's (s4j_row_grad_sum), so only the first row has a sum pass
 *    of its own, and out of cache the reads of the next row overlap the
 *    exp instead of waiting for it.
 *  - Outputs of at least S4J_STREAM_MIN_BYTES are written with non-temporal
 *    stores: they would not stay in cache anyway, and streaming them saves
 *    the read-for-ownership of every output line.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include <immintrin.h>

#include "kernels/log_softmax_f32.h"
#include "math/exp_f32_avx512.h"
#include "math/lanes_avx512.h"
#include "math/log_f32_avx512.h"

/* Elements summed in float (16 per lane) before the block total is added to
 * the double row total; a multiple of the 64-element main loop. */
#define S4J_AVX512_BLOCK 1024

static inline __mmask16 s4j_tail_mask(size_t rem) {
  assert(rem > 0 && rem < 16);
  return _cvtu32_mask16((UINT32_C(1) << (uint32_t) rem) - 1u);
}

/* The double row total (two 8-lane halves) += the 16 float lanes of a block. */
static inline void s4j_add_block(__m512d *vsum_lo, __m512d *vsum_hi, __m512 vacc) {
  *vsum_lo = _mm512_add_pd(*vsum_lo, _mm512_cvtps_pd(_mm512_castps512_ps256(vacc)));
  *vsum_hi = _mm512_add_pd(*vsum_hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(vacc, 1)));
}

static inline float s4j_row_max(size_t n, const float *x) {
  const __m512 vneg_inf = _mm512_set1_ps(-__builtin_inff());
  __m512 vmax0 = vneg_inf, vmax1 = vneg_inf, vmax2 = vneg_inf, vmax3 = vneg_inf;
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    vmax0 = _mm512_max_ps(vmax0, _mm512_loadu_ps(x + i + 0));
    vmax1 = _mm512_max_ps(vmax1, _mm512_loadu_ps(x + i + 16));
    vmax2 = _mm512_max_ps(vmax2, _mm512_loadu_ps(x + i + 32));
    vmax3 = _mm512_max_ps(vmax3, _mm512_loadu_ps(x + i + 48));
  }
  for (; i + 16 <= n; i += 16) vmax0 = _mm512_max_ps(vmax0, _mm512_loadu_ps(x + i));
  if (i < n) {
    /* Masked-off lanes read as -inf, the identity of max. */
    const __mmask16 vmask = s4j_tail_mask(n - i);
    vmax1 = _mm512_max_ps(vmax1, _mm512_mask_loadu_ps(vneg_inf, vmask, x + i));
  }
  vmax0 = _mm512_max_ps(_mm512_max_ps(vmax0, vmax1), _mm512_max_ps(vmax2, vmax3));
  return _mm512_reduce_max_ps(vmax0);
}

/* sum(exp(x - m)) over one row. */
static inline double s4j_row_sum_exp(size_t n, const float *x, float m,
                                     const struct s4j_expsum_f32_avx512_consts *k) {
  const __m512 vm = _mm512_set1_ps(m);
  __m512d vsum_lo = _mm512_setzero_pd(), vsum_hi = _mm512_setzero_pd();
  size_t i = 0;
  while (i < n) {
    const size_t block_end = n - i > S4J_AVX512_BLOCK ? i + S4J_AVX512_BLOCK : n;
    __m512 vacc0 = _mm512_setzero_ps(), vacc1 = _mm512_setzero_ps();
    __m512 vacc2 = _mm512_setzero_ps(), vacc3 = _mm512_setzero_ps();
    for (; i + 64 <= block_end; i += 64) {
      const __m512 vx0 = _mm512_sub_ps(_mm512_loadu_ps(x + i + 0), vm);
      const __m512 vx1 = _mm512_sub_ps(_mm512_loadu_ps(x + i + 16), vm);
      const __m512 vx2 = _mm512_sub_ps(_mm512_loadu_ps(x + i + 32), vm);
      const __m512 vx3 = _mm512_sub_ps(_mm512_loadu_ps(x + i + 48), vm);
      vacc0 = _mm512_add_ps(vacc0, s4j_expsum_f32_avx512(vx0, k));
      vacc1 = _mm512_add_ps(vacc1, s4j_expsum_f32_avx512(vx1, k));
      vacc2 = _mm512_add_ps(vacc2, s4j_expsum_f32_avx512(vx2, k));
      vacc3 = _mm512_add_ps(vacc3, s4j_expsum_f32_avx512(vx3, k));
    }
    for (; i + 16 <= block_end; i += 16) {
      const __m512 vx = _mm512_sub_ps(_mm512_loadu_ps(x + i), vm);
      vacc0 = _mm512_add_ps(vacc0, s4j_expsum_f32_avx512(vx, k));
    }
    if (i < block_end) {
      const __mmask16 vmask = s4j_tail_mask(block_end - i);
      const __m512 vx = _mm512_sub_ps(_mm512_maskz_loadu_ps(vmask, x + i), vm);
      vacc1 = _mm512_mask_add_ps(vacc1, vmask, vacc1, s4j_expsum_f32_avx512(vx, k));
      i = block_end;
    }
    vacc0 = _mm512_add_ps(_mm512_add_ps(vacc0, vacc1), _mm512_add_ps(vacc2, vacc3));
    s4j_add_block(&vsum_lo, &vsum_hi, vacc0);
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(vsum_lo, vsum_hi));
}

/*
 * max and sum(exp(x - max)) of one row in one read (an "online" softmax sum),
 * for long rows, where a separate max pass would read the row from memory
 * once more (out of cache: +25-35 % forward). Each lane sums exp(x - ref)
 * against its own reference ref, which moves up only when a value exceeds it
 * by more than S4J_ONLINE_SLACK: the exp then sees arguments <= SLACK (the
 * sum-only exp is swept up to 8 too), and a rescale, by exp(ref_old -
 * ref_new) < exp(-SLACK), shrinks the sum it rounds, so however often it
 * happens (a rising row) its errors stay below the last one's. The lanes are
 * combined at the end, with the true row max m, in double.
 */
#define S4J_ONLINE_SLACK 8.0f
#define S4J_ONLINE_MIN_COLS 4096

static inline void s4j_rescale(__m512 *vref, __m512 *vthr, __m512 vblk, __m512 *vacc,
                               __m512d *vsum_lo, __m512d *vsum_hi,
                               const struct s4j_expsum_f32_avx512_consts *k) {
  /* A NaN never moves the reference (ordered compare); it reaches the sum
   * through its exp. */
  const __m512 vref_new = _mm512_max_ps(vblk, *vref);
  const __m512 vscale = s4j_expsum_f32_avx512(_mm512_sub_ps(*vref, vref_new), k);
  for (int j = 0; j < 4; j++) vacc[j] = _mm512_mul_ps(vacc[j], vscale);
  *vsum_lo = _mm512_mul_pd(*vsum_lo, _mm512_cvtps_pd(_mm512_castps512_ps256(vscale)));
  *vsum_hi = _mm512_mul_pd(*vsum_hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(vscale, 1)));
  *vref = vref_new;
  /* Rounded down, so that x <= thr keeps x - ref <= SLACK exactly. */
  *vthr = _mm512_add_round_ps(vref_new, _mm512_set1_ps(S4J_ONLINE_SLACK),
                              _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
}

/* The running state of the one-read max and sum of one row. */
struct s4j_online {
  __m512 vref, vthr, vmax;
  __m512d vsum_lo, vsum_hi;
};

static inline void s4j_online_init(struct s4j_online *o) {
  /* -FLT_MAX, not -inf: x = -inf must give exp(-inf - ref) = 0, not NaN. */
  o->vref = o->vthr = _mm512_set1_ps(-0x1.fffffep+127f);
  o->vmax = _mm512_set1_ps(-__builtin_inff());
  o->vsum_lo = o->vsum_hi = _mm512_setzero_pd();
}

/* Adds x[0 .. n) (n <= S4J_AVX512_BLOCK: one float block) to the state. */
static inline void s4j_online_block(struct s4j_online *o, size_t n, const float *x,
                                    const struct s4j_expsum_f32_avx512_consts *k) {
  const __m512 vneg_inf = _mm512_set1_ps(-__builtin_inff());
  __m512 vacc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                    _mm512_setzero_ps()};
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512 vx0 = _mm512_loadu_ps(x + i + 0);
    const __m512 vx1 = _mm512_loadu_ps(x + i + 16);
    const __m512 vx2 = _mm512_loadu_ps(x + i + 32);
    const __m512 vx3 = _mm512_loadu_ps(x + i + 48);
    const __m512 vblk = _mm512_max_ps(_mm512_max_ps(vx0, vx1), _mm512_max_ps(vx2, vx3));
    o->vmax = _mm512_max_ps(o->vmax, vblk);
    if (__builtin_expect(_mm512_cmp_ps_mask(vblk, o->vthr, _CMP_GT_OQ) != 0, 0)) {
      s4j_rescale(&o->vref, &o->vthr, vblk, vacc, &o->vsum_lo, &o->vsum_hi, k);
    }
    vacc[0] = _mm512_add_ps(vacc[0], s4j_expsum_f32_avx512(_mm512_sub_ps(vx0, o->vref), k));
    vacc[1] = _mm512_add_ps(vacc[1], s4j_expsum_f32_avx512(_mm512_sub_ps(vx1, o->vref), k));
    vacc[2] = _mm512_add_ps(vacc[2], s4j_expsum_f32_avx512(_mm512_sub_ps(vx2, o->vref), k));
    vacc[3] = _mm512_add_ps(vacc[3], s4j_expsum_f32_avx512(_mm512_sub_ps(vx3, o->vref), k));
  }
  for (; i < n; i += 16) {
    /* Masked-off lanes read as -inf: exp(-inf - ref) = 0. */
    const __mmask16 vmask = n - i >= 16 ? (__mmask16) 0xffff : s4j_tail_mask(n - i);
    const __m512 vx = _mm512_mask_loadu_ps(vneg_inf, vmask, x + i);
    o->vmax = _mm512_max_ps(o->vmax, vx);
    if (_mm512_cmp_ps_mask(vx, o->vthr, _CMP_GT_OQ) != 0) {
      s4j_rescale(&o->vref, &o->vthr, vx, vacc, &o->vsum_lo, &o->vsum_hi, k);
    }
    vacc[0] = _mm512_add_ps(vacc[0], s4j_expsum_f32_avx512(_mm512_sub_ps(vx, o->vref), k));
  }
  const __m512 vacc01 = _mm512_add_ps(vacc[0], vacc[1]);
  s4j_add_block(&o->vsum_lo, &o->vsum_hi, _mm512_add_ps(vacc01, _mm512_add_ps(vacc[2], vacc[3])));
}

/* The row's max (*m_out) and sum(exp(x - max)). */
static inline double s4j_online_finish(const struct s4j_online *o, float *m_out) {
  const float m = _mm512_reduce_max_ps(o->vmax);
  *m_out = m;
  /* sum = sum over the lanes of sum_l * exp(ref_l - m), with the tested
   * (< 1 ulp) exp. ref_l - m is exact while ref_l >= m/2 (Sterbenz), which
   * covers the lanes that carry the sum when m > 0. */
  const struct s4j_exp_f32_avx512_consts kx = s4j_exp_f32_avx512_init();
  const __m512 vw = s4j_exp_f32_avx512(_mm512_sub_ps(o->vref, _mm512_set1_ps(m)), &kx);
  const __m512d vsum_lo = _mm512_mul_pd(o->vsum_lo, _mm512_cvtps_pd(_mm512_castps512_ps256(vw)));
  const __m512d vsum_hi = _mm512_mul_pd(o->vsum_hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(vw, 1)));
  return _mm512_reduce_add_pd(_mm512_add_pd(vsum_lo, vsum_hi));
}

/* The gradients can cancel, so their sum is accumulated in double
 * throughout: each float is widened exactly, 8 at a time. `exact` (a
 * constant): the partial vector is read exactly (s4j_load_exact). */
static inline __attribute__((always_inline)) double s4j_row_sum(size_t n, const float *x, const int exact) {
  __m512d vacc0 = _mm512_setzero_pd(), vacc1 = _mm512_setzero_pd();
  __m512d vacc2 = _mm512_setzero_pd(), vacc3 = _mm512_setzero_pd();
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    vacc0 = _mm512_add_pd(vacc0, _mm512_cvtps_pd(_mm256_loadu_ps(x + i + 0)));
    vacc1 = _mm512_add_pd(vacc1, _mm512_cvtps_pd(_mm256_loadu_ps(x + i + 8)));
    vacc2 = _mm512_add_pd(vacc2, _mm512_cvtps_pd(_mm256_loadu_ps(x + i + 16)));
    vacc3 = _mm512_add_pd(vacc3, _mm512_cvtps_pd(_mm256_loadu_ps(x + i + 24)));
    vacc0 = _mm512_add_pd(vacc0, _mm512_cvtps_pd(_mm256_loadu_ps(x + i + 32)));
    vacc1 = _mm512_add_pd(vacc1, _mm512_cvtps_pd(_mm256_loadu_ps(x + i + 40)));
    vacc2 = _mm512_add_pd(vacc2, _mm512_cvtps_pd(_mm256_loadu_ps(x + i + 48)));
    vacc3 = _mm512_add_pd(vacc3, _mm512_cvtps_pd(_mm256_loadu_ps(x + i + 56)));
  }
  for (; i + 16 <= n; i += 16) {
    const __m512 vx = _mm512_loadu_ps(x + i);
    vacc0 = _mm512_add_pd(vacc0, _mm512_cvtps_pd(_mm512_castps512_ps256(vx)));
    vacc1 = _mm512_add_pd(vacc1, _mm512_cvtps_pd(_mm512_extractf32x8_ps(vx, 1)));
  }
  if (i < n) {
    const __m512 vx = exact ? s4j_load_exact(x + i, n - i, _mm512_setzero_ps())
                            : _mm512_maskz_loadu_ps(s4j_tail_mask(n - i), x + i);
    vacc2 = _mm512_add_pd(vacc2, _mm512_cvtps_pd(_mm512_castps512_ps256(vx)));
    vacc3 = _mm512_add_pd(vacc3, _mm512_cvtps_pd(_mm512_extractf32x8_ps(vx, 1)));
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(vacc0, vacc1), _mm512_add_pd(vacc2, vacc3)));
}

/* Elements before out + i is 64-byte aligned (non-temporal stores need it). */
static inline size_t s4j_stream_head(const float *out, size_t n) {
  const size_t mis = (size_t) (((uintptr_t) out & 63u) / sizeof(float));
  const size_t head = mis == 0 ? 0 : 16 - mis;
  return head < n ? head : n;
}

/* y = (x - m) - logsum over one row, in that order. `stream`: non-temporal
 * stores for the 64-byte aligned middle of the row. */
static inline void s4j_row_output(size_t n, const float *x, float *y, float m, float logsum,
                                  int stream) {
  const __m512 vm = _mm512_set1_ps(m);
  const __m512 vlogsum = _mm512_set1_ps(logsum);
  size_t i = 0;
  if (stream) {
    const size_t head = s4j_stream_head(y, n);
    if (head != 0) {
      const __mmask16 vmask = s4j_tail_mask(head);
      const __m512 vx = _mm512_maskz_loadu_ps(vmask, x);
      _mm512_mask_storeu_ps(y, vmask, _mm512_sub_ps(_mm512_sub_ps(vx, vm), vlogsum));
      i = head;
    }
    for (; i + 64 <= n; i += 64) {
      const __m512 vy0 = _mm512_sub_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i + 0), vm), vlogsum);
      const __m512 vy1 = _mm512_sub_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16), vm), vlogsum);
      const __m512 vy2 = _mm512_sub_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i + 32), vm), vlogsum);
      const __m512 vy3 = _mm512_sub_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i + 48), vm), vlogsum);
      _mm512_stream_ps(y + i + 0, vy0);
      _mm512_stream_ps(y + i + 16, vy1);
      _mm512_stream_ps(y + i + 32, vy2);
      _mm512_stream_ps(y + i + 48, vy3);
    }
    for (; i + 16 <= n; i += 16) {
      _mm512_stream_ps(y + i, _mm512_sub_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), vm), vlogsum));
    }
  } else {
    for (; i + 64 <= n; i += 64) {
      const __m512 vy0 = _mm512_sub_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i + 0), vm), vlogsum);
      const __m512 vy1 = _mm512_sub_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16), vm), vlogsum);
      const __m512 vy2 = _mm512_sub_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i + 32), vm), vlogsum);
      const __m512 vy3 = _mm512_sub_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i + 48), vm), vlogsum);
      _mm512_storeu_ps(y + i + 0, vy0);
      _mm512_storeu_ps(y + i + 16, vy1);
      _mm512_storeu_ps(y + i + 32, vy2);
      _mm512_storeu_ps(y + i + 48, vy3);
    }
    for (; i + 16 <= n; i += 16) {
      _mm512_storeu_ps(y + i, _mm512_sub_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), vm), vlogsum));
    }
  }
  if (i < n) {
    const __mmask16 vmask = s4j_tail_mask(n - i);
    const __m512 vx = _mm512_maskz_loadu_ps(vmask, x + i);
    _mm512_mask_storeu_ps(y + i, vmask, _mm512_sub_ps(_mm512_sub_ps(vx, vm), vlogsum));
  }
}

/*
 * Rows of at most S4J_AVX512_SHORT_COLS columns: the whole row in
 * registers (up to 8 vectors), read once, with every reduction done across
 * the lanes in registers (no scalar round trip) and the float log of
 * log_f32.h on the broadcast sum. For such rows the three passes, the
 * scalar reductions and the double log of the long-row path cost more than
 * the arithmetic (1x10: ~40 ns a call). The sum is a float tree (at most
 * 8 terms per lane, then 4 levels across lanes): relative error <= 7 * 2^-24
 * = 4.2e-7, besides the sum-only exp's 2e-7 on the terms that matter.
 */
#define S4J_AVX512_SHORT_COLS (16 * S4J_SHORT_ROW_VECS)

/*
 * `nr` rows (1 to 4, a constant) from x and y, rows `cols` apart, nv =
 * ceil(cols / 16) vectors each (a constant in each instantiation). Each
 * step runs on both rows before the next step: one row's chain (max across
 * the lanes, exp, sum across the lanes, log) is about 140 cycles of
 * dependent latency, which the core overlaps poorly with the next row's on
 * its own.
 */
static inline __attribute__((always_inline)) void s4j_fwd_short_step(
    size_t cols, const float *x, float *y, const int nv, const int nr, int stream,
    const __mmask16 *vmask, const int last, const struct s4j_expsum_f32_avx512_consts *k) {
  if (stream) {
#pragma GCC unroll 4
    for (int q = 0; q < nr; q++) {
      const uintptr_t ahead = (uintptr_t) (x + (size_t) q * cols) + S4J_ROW_PREFETCH_AHEAD * sizeof(float);
#pragma GCC unroll 8
      for (int j = 0; j < nv; j++) _mm_prefetch((const char *) (ahead + 64u * (unsigned) j), _MM_HINT_T0);
    }
  }
  __m512 v[S4J_SHORT_STEP_ROWS][S4J_SHORT_ROW_VECS], vmax[S4J_SHORT_STEP_ROWS], vlogsum[S4J_SHORT_STEP_ROWS];
  s4j_short_rows_load_max(cols, x, nv, nr, vmask, last, v, vmax);
#pragma GCC unroll 4
  for (int q = 0; q < nr; q++) {
    __m512 ve[S4J_SHORT_ROW_VECS];
#pragma GCC unroll 8
    for (int j = 0; j < nv; j++) {
      v[q][j] = _mm512_sub_ps(v[q][j], vmax[q]);
      ve[j] = s4j_expsum_f32_avx512(v[q][j], k);
    }
    /* Pairwise over the vectors, then across the lanes. */
#pragma GCC unroll 8
    for (int w = 1; w < nv; w *= 2) {
#pragma GCC unroll 8
      for (int j = 0; j + w < nv; j += 2 * w) ve[j] = _mm512_add_ps(ve[j], ve[j + w]);
    }
    vlogsum[q] = ve[0];
  }
#pragma GCC unroll 4
  for (int q = 0; q < nr; q++) vlogsum[q] = s4j_log_f32_avx512(s4j_allsum(vlogsum[q]));
#pragma GCC unroll 4
  for (int q = 0; q < nr; q++) {
    float *out = y + (size_t) q * cols;
    if (stream) {
#pragma GCC unroll 8
      for (int j = 0; j < nv; j++) _mm512_stream_ps(out + 16 * j, _mm512_sub_ps(v[q][j], vlogsum[q]));
    } else {
#pragma GCC unroll 8
      for (int j = 0; j < nv; j++) {
        const __m512 o = _mm512_sub_ps(v[q][j], vlogsum[q]);
        if (last && q == nr - 1 && j == nv - 1 && cols % 16 != 0) {
          s4j_store_exact(out + 16 * j, cols % 16, o);
        } else {
          _mm512_mask_storeu_ps(out + 16 * j, vmask[j], o);
        }
      }
    }
  }
}

/* All rows, a few at a time (s4j_fwd_short_step), the last ones alone.
 * `near` (x and y less than a vector apart, s4j_buffers_near): the call's
 * last row reads and writes its partial vector exactly. */
static inline __attribute__((always_inline)) void s4j_fwd_short_rows(
    size_t rows, size_t cols, const float *x, float *y, const int nv, int stream, int near,
    const struct s4j_expsum_f32_avx512_consts *k) {
  __mmask16 vmask[S4J_SHORT_ROW_VECS];
  for (int j = 0; j < nv; j++) {
    const size_t left = cols - (size_t) j * 16;
    vmask[j] = left >= 16 ? (__mmask16) 0xffff : s4j_tail_mask(left);
  }
  /* Four rows at a time up to 64 columns, two above: four rows of more
   * vectors spill (B/A against one row at a time, out of cache and in: two
   * rows, [65536,128] 0.83, [512,128] 0.79, [2048,100] 0.77; four rows,
   * [4096,10] 0.68, [4096,64] 0.72, [16384,33] 0.70, where two gave 0.84
   * and 0.83 on the first two). */
  const int nr = nv <= 4 ? 4 : 2;
  size_t r = 0;
  for (; r + (size_t) nr < rows; r += (size_t) nr) {
    if (nr == 4) {
      s4j_fwd_short_step(cols, x + r * cols, y + r * cols, nv, 4, stream, vmask, 0, k);
    } else {
      s4j_fwd_short_step(cols, x + r * cols, y + r * cols, nv, 2, stream, vmask, 0, k);
    }
  }
  if (r + (size_t) nr == rows) {
    if (nr == 4 && near) {
      s4j_fwd_short_step(cols, x + r * cols, y + r * cols, nv, 4, stream, vmask, 1, k);
    } else if (nr == 4) {
      s4j_fwd_short_step(cols, x + r * cols, y + r * cols, nv, 4, stream, vmask, 0, k);
    } else if (near) {
      s4j_fwd_short_step(cols, x + r * cols, y + r * cols, nv, 2, stream, vmask, 1, k);
    } else {
      s4j_fwd_short_step(cols, x + r * cols, y + r * cols, nv, 2, stream, vmask, 0, k);
    }
    return;
  }
  for (; r + 1 < rows; r++) s4j_fwd_short_step(cols, x + r * cols, y + r * cols, nv, 1, stream, vmask, 0, k);
  if (near) {
    s4j_fwd_short_step(cols, x + r * cols, y + r * cols, nv, 1, stream, vmask, 1, k);
  } else {
    s4j_fwd_short_step(cols, x + r * cols, y + r * cols, nv, 1, stream, vmask, 0, k);
  }
}

/* One function for every vector count: split into one function per count,
 * rows of 24-128 columns ran 2-3x slower. Inlined into the ukernel: as a
 * call of its own, 1x10 took 21-25 ns instead of 17. */
static inline __attribute__((always_inline)) void s4j_fwd_short(
    size_t rows, size_t cols, const float *x, float *y, int stream, int near,
    const struct s4j_expsum_f32_avx512_consts *k) {
  assert(cols <= S4J_AVX512_SHORT_COLS);
  switch ((cols + 15) / 16) {
    case 1: s4j_fwd_short_rows(rows, cols, x, y, 1, stream, near, k); break;
    case 2: s4j_fwd_short_rows(rows, cols, x, y, 2, stream, near, k); break;
    case 3: s4j_fwd_short_rows(rows, cols, x, y, 3, stream, near, k); break;
    case 4: s4j_fwd_short_rows(rows, cols, x, y, 4, stream, near, k); break;
    case 5: s4j_fwd_short_rows(rows, cols, x, y, 5, stream, near, k); break;
    case 6: s4j_fwd_short_rows(rows, cols, x, y, 6, stream, near, k); break;
    case 7: s4j_fwd_short_rows(rows, cols, x, y, 7, stream, near, k); break;
    default: s4j_fwd_short_rows(rows, cols, x, y, 8, stream, near, k); break;
  }
}

/*
 * Rows of S4J_AVX512_SHORT_COLS .. S4J_ONLINE_MIN_COLS - 1 columns, in
 * groups (s4j_row_group), one pass at a time over the whole group, so the
 * rows' reductions and logs overlap instead of queueing. The group's logs
 * are one vector log (log_f32.h, on the double sums rounded to float:
 * 6e-8 relative); unused lanes take log(1).
 */
/*
 * sum(exp(x - m)) over one row (as s4j_row_sum_exp) while writing the output
 * of the previous row, yp = (xp - mp) - lp, in the same loop: the exp keeps
 * the FMA units busy, the previous row's stores the store unit, and neither
 * waits for the other. Cached stores only.
 */
static inline double s4j_row_sum_exp_output(size_t n, const float *x, float m, const float *xp,
                                            float *yp, float mp, float lp,
                                            const struct s4j_expsum_f32_avx512_consts *k) {
  const __m512 vm = _mm512_set1_ps(m), vmp = _mm512_set1_ps(mp), vlp = _mm512_set1_ps(lp);
  __m512d vsum_lo = _mm512_setzero_pd(), vsum_hi = _mm512_setzero_pd();
  size_t i = 0;
  while (i < n) {
    const size_t block_end = n - i > S4J_AVX512_BLOCK ? i + S4J_AVX512_BLOCK : n;
    __m512 vacc0 = _mm512_setzero_ps(), vacc1 = _mm512_setzero_ps();
    __m512 vacc2 = _mm512_setzero_ps(), vacc3 = _mm512_setzero_ps();
    for (; i + 64 <= block_end; i += 64) {
      const __m512 vx0 = _mm512_sub_ps(_mm512_loadu_ps(x + i + 0), vm);
      const __m512 vx1 = _mm512_sub_ps(_mm512_loadu_ps(x + i + 16), vm);
      const __m512 vx2 = _mm512_sub_ps(_mm512_loadu_ps(x + i + 32), vm);
      const __m512 vx3 = _mm512_sub_ps(_mm512_loadu_ps(x + i + 48), vm);
      _mm512_storeu_ps(yp + i + 0, _mm512_sub_ps(_mm512_sub_ps(_mm512_loadu_ps(xp + i + 0), vmp), vlp));
      _mm512_storeu_ps(yp + i + 16, _mm512_sub_ps(_mm512_sub_ps(_mm512_loadu_ps(xp + i + 16), vmp), vlp));
      _mm512_storeu_ps(yp + i + 32, _mm512_sub_ps(_mm512_sub_ps(_mm512_loadu_ps(xp + i + 32), vmp), vlp));
      _mm512_storeu_ps(yp + i + 48, _mm512_sub_ps(_mm512_sub_ps(_mm512_loadu_ps(xp + i + 48), vmp), vlp));
      vacc0 = _mm512_add_ps(vacc0, s4j_expsum_f32_avx512(vx0, k));
      vacc1 = _mm512_add_ps(vacc1, s4j_expsum_f32_avx512(vx1, k));
      vacc2 = _mm512_add_ps(vacc2, s4j_expsum_f32_avx512(vx2, k));
      vacc3 = _mm512_add_ps(vacc3, s4j_expsum_f32_avx512(vx3, k));
    }
    for (; i < block_end; i += 16) {
      const __mmask16 vmask = block_end - i >= 16 ? (__mmask16) 0xffff : s4j_tail_mask(block_end - i);
      const __m512 vx = _mm512_sub_ps(_mm512_maskz_loadu_ps(vmask, x + i), vm);
      const __m512 vxp = _mm512_maskz_loadu_ps(vmask, xp + i);
      _mm512_mask_storeu_ps(yp + i, vmask, _mm512_sub_ps(_mm512_sub_ps(vxp, vmp), vlp));
      vacc1 = _mm512_mask_add_ps(vacc1, vmask, vacc1, s4j_expsum_f32_avx512(vx, k));
    }
    i = block_end;
    vacc0 = _mm512_add_ps(_mm512_add_ps(vacc0, vacc1), _mm512_add_ps(vacc2, vacc3));
    s4j_add_block(&vsum_lo, &vsum_hi, vacc0);
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(vsum_lo, vsum_hi));
}

static inline float s4j_log_one(double sum) {
  return _mm512_cvtss_f32(s4j_log_f32_avx512(_mm512_set1_ps((float) sum)));
}

/* Medium rows, cached stores, more than one row: each row's sum pass writes
 * the previous row's output (s4j_row_sum_exp_output). */
static void s4j_fwd_medium_fused(size_t rows, size_t cols, const float *x, float *y,
                                 const struct s4j_expsum_f32_avx512_consts *k) {
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
                           const struct s4j_expsum_f32_avx512_consts *k) {
  const size_t group = s4j_row_group(cols);
  float m[S4J_ROW_GROUP_MAX], logsum[S4J_ROW_GROUP_MAX];
  for (size_t r = 0; r < rows; r += group) {
    const size_t g = rows - r < group ? rows - r : group;
    const float *xg = x + r * cols;
    float *yg = y + r * cols;
    for (size_t j = 0; j < g; j++) m[j] = s4j_row_max(cols, xg + j * cols);
    __m512 vsum = _mm512_set1_ps(1.0f);
    for (size_t j = 0; j < g; j++) {
      const float sum = (float) s4j_row_sum_exp(cols, xg + j * cols, m[j], k);
      vsum = _mm512_mask_mov_ps(vsum, (__mmask16) (1u << j), _mm512_set1_ps(sum));
    }
    _mm512_storeu_ps(logsum, s4j_log_f32_avx512(vsum));
    for (size_t j = 0; j < g; j++) {
      s4j_row_output(cols, xg + j * cols, yg + j * cols, m[j], logsum[j], stream);
    }
  }
}

/*
 * Rows of at least S4J_ONLINE_MIN_COLS columns, and streamed rows of at
 * least S4J_STREAM_PIPE_MIN_COLS, pipelined over the rows: chunk by chunk, the one read of row r (its max and sum) alternates with
 * the output of row r - 1, so the exp's arithmetic, the memory reads of row
 * r and the stores of row r - 1 overlap instead of taking turns. The chunk
 * is small enough for a chunk of each to be in flight at once (out of cache,
 * 4096x4096 and 32x128256: 1.7-2.7 -> 1.2-1.4 x the copy time at 128;
 * 1024 was slower than no pipelining).
 */
#define S4J_AVX512_PIPE_CHUNK 128


static void s4j_fwd_pipelined(size_t rows, size_t cols, const float *x, float *y, int stream,
                              const struct s4j_expsum_f32_avx512_consts *k) {
  /* One row has nothing to overlap with: whole float blocks then. */
  const size_t chunk = rows == 1 ? S4J_AVX512_BLOCK : S4J_AVX512_PIPE_CHUNK;
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
      if (have_cur) {
        /* An address, not a pointer: past the row's end it is the next
         * row (read next) or beyond the buffer, where a prefetch is a no-op. */
        const uintptr_t ahead = (uintptr_t) (xr + i) + S4J_ROW_PREFETCH_AHEAD * sizeof(float);
        for (size_t l = 0; l < n; l += 16) {
          _mm_prefetch((const char *) (ahead + l * sizeof(float)), _MM_HINT_T0);
        }
        s4j_online_block(&o, n, xr + i, k);
      }
      if (have_prev) s4j_row_output(n, xp + i, yp + i, m_prev, logsum_prev, stream);
    }
    if (have_cur) {
      const float sum = (float) s4j_online_finish(&o, &m_prev);
      logsum_prev = _mm512_cvtss_f32(s4j_log_f32_avx512(_mm512_set1_ps(sum)));
    }
  }
}

void s4j_f32_log_softmax_fwd_ukernel__avx512f_rr2_p6_u64_acc4(
    size_t rows, size_t cols, const float *x, float *y) {
  assert(rows != 0 && cols != 0);
  assert(x != NULL && y != NULL);

  const int stream = s4j_use_stream_stores(rows, cols, y);
  if (cols <= S4J_AVX512_SHORT_COLS) {
    /* Streamed rows must be whole aligned vectors. */
    const int stream_short = stream && cols % 16 == 0 && ((uintptr_t) y & 63u) == 0;
    const struct s4j_expsum_f32_avx512_consts k = s4j_expsum_f32_avx512_init();
    s4j_fwd_short(rows, cols, x, y, stream_short, s4j_buffers_near(x, y, rows * cols * sizeof(float), cols), &k);
    if (stream_short) _mm_sfence();
    return;
  }
  const struct s4j_expsum_f32_avx512_consts k = s4j_expsum_f32_avx512_init();
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

/* A store of 16 floats: non-temporal (to a 64-byte aligned address) or cached. */
static inline __attribute__((always_inline)) void s4j_store(float *p, __m512 v, const int stream) {
  if (stream) {
    _mm512_stream_ps(p, v);
  } else {
    _mm512_storeu_ps(p, v);
  }
}

/*
 * Out of cache (streamed outputs), the backward's loop asks for the lines of
 * y and of the next row's gy this many floats (4 KiB) ahead. First 2 KiB
 * (the kernel timed against a streamed c = a + b on the same buffers, 4
 * alternating runs: 256x32000 1.15-1.39 -> 0.90-1.13 x, 4096x4096 1.40-1.51
 * -> 1.19-1.34 x). Near a row's end it asks for the start of the rows after
 * them (the next y, the gy after next) instead of nothing: s4j_ab, B/A,
 * [8192,1024] 0.69, [16384,1000] 0.82, [4096,4096] 0.89-0.96, [65536,256]
 * 0.95, [256,32000] 0.93-1.07. Then 4 KiB instead of 2 (once the prefetch
 * ran on across rows): [256,32000] 0.85, 0.94, [4096,4096] 0.92, 0.92,
 * [32,128256] 0.91, 0.83, [8192,1024] 0.96, [65536,128] 0.88; 8 KiB gave
 * 0.91, 1.00, 0.87, 0.90.
 */
#define S4J_AVX512_BWD_PREFETCH 1024

/*
 * gx = gy - exp(y) * vsum over one row, one rounding (vfnmadd), and, when
 * `fuse`, the sum of the next row's gradients gyn (the return value, in
 * double as s4j_row_sum) in the same loop. The exp keeps the FMA units busy
 * and the sum only needs loads, conversions and adds, so the next row's sum
 * costs little beside the exp, and out of cache its reads overlap the
 * arithmetic instead of taking a pass of their own. `stream`: non-temporal
 * stores for the 64-byte aligned middle of the row. fuse and stream are
 * constants in each instantiation.
 */
static inline __attribute__((always_inline)) double s4j_row_grad_sum(
    size_t n, const float *gy, const float *y, float *gx, __m512 vsum, const float *gyn,
    const int fuse, const int stream, const int exact, const struct s4j_exp_f32_avx512_consts *k) {
  __m512d vacc0 = _mm512_setzero_pd(), vacc1 = _mm512_setzero_pd();
  __m512d vacc2 = _mm512_setzero_pd(), vacc3 = _mm512_setzero_pd();
  size_t i = 0;
  if (stream) {
    const size_t head = s4j_stream_head(gx, n);
    if (head != 0) {
      const __mmask16 vmask = s4j_tail_mask(head);
      const __m512 ve = s4j_expgrad_f32_avx512(_mm512_maskz_loadu_ps(vmask, y), k);
      _mm512_mask_storeu_ps(gx, vmask, _mm512_fnmadd_ps(ve, vsum, _mm512_maskz_loadu_ps(vmask, gy)));
      if (fuse) {
        const __m512 vn = _mm512_maskz_loadu_ps(vmask, gyn);
        vacc2 = _mm512_add_pd(vacc2, _mm512_cvtps_pd(_mm512_castps512_ps256(vn)));
        vacc3 = _mm512_add_pd(vacc3, _mm512_cvtps_pd(_mm512_extractf32x8_ps(vn, 1)));
      }
      i = head;
    }
  }
  for (; i + 64 <= n; i += 64) {
    const __m512 ve0 = s4j_expgrad_f32_avx512(_mm512_loadu_ps(y + i + 0), k);
    const __m512 ve1 = s4j_expgrad_f32_avx512(_mm512_loadu_ps(y + i + 16), k);
    const __m512 ve2 = s4j_expgrad_f32_avx512(_mm512_loadu_ps(y + i + 32), k);
    const __m512 ve3 = s4j_expgrad_f32_avx512(_mm512_loadu_ps(y + i + 48), k);
    s4j_store(gx + i + 0, _mm512_fnmadd_ps(ve0, vsum, _mm512_loadu_ps(gy + i + 0)), stream);
    s4j_store(gx + i + 16, _mm512_fnmadd_ps(ve1, vsum, _mm512_loadu_ps(gy + i + 16)), stream);
    s4j_store(gx + i + 32, _mm512_fnmadd_ps(ve2, vsum, _mm512_loadu_ps(gy + i + 32)), stream);
    s4j_store(gx + i + 48, _mm512_fnmadd_ps(ve3, vsum, _mm512_loadu_ps(gy + i + 48)), stream);
    if (stream) {
      /* Addresses, not pointers: past the row's end they are the next rows
       * (read next) or beyond the buffers, where a prefetch is a no-op. */
      const uintptr_t ahead_y = (uintptr_t) (y + i) + S4J_AVX512_BWD_PREFETCH * sizeof(float);
      const uintptr_t ahead_gyn = (uintptr_t) (gyn + i) + S4J_AVX512_BWD_PREFETCH * sizeof(float);
      for (size_t l = 0; l < 64; l += 16) {
        _mm_prefetch((const char *) (ahead_y + l * sizeof(float)), _MM_HINT_T0);
        if (fuse) _mm_prefetch((const char *) (ahead_gyn + l * sizeof(float)), _MM_HINT_T0);
      }
    }
    if (fuse) {
      vacc0 = _mm512_add_pd(vacc0, _mm512_cvtps_pd(_mm256_loadu_ps(gyn + i + 0)));
      vacc1 = _mm512_add_pd(vacc1, _mm512_cvtps_pd(_mm256_loadu_ps(gyn + i + 8)));
      vacc2 = _mm512_add_pd(vacc2, _mm512_cvtps_pd(_mm256_loadu_ps(gyn + i + 16)));
      vacc3 = _mm512_add_pd(vacc3, _mm512_cvtps_pd(_mm256_loadu_ps(gyn + i + 24)));
      vacc0 = _mm512_add_pd(vacc0, _mm512_cvtps_pd(_mm256_loadu_ps(gyn + i + 32)));
      vacc1 = _mm512_add_pd(vacc1, _mm512_cvtps_pd(_mm256_loadu_ps(gyn + i + 40)));
      vacc2 = _mm512_add_pd(vacc2, _mm512_cvtps_pd(_mm256_loadu_ps(gyn + i + 48)));
      vacc3 = _mm512_add_pd(vacc3, _mm512_cvtps_pd(_mm256_loadu_ps(gyn + i + 56)));
    }
  }
  for (; i + 16 <= n; i += 16) {
    const __m512 ve = s4j_expgrad_f32_avx512(_mm512_loadu_ps(y + i), k);
    s4j_store(gx + i, _mm512_fnmadd_ps(ve, vsum, _mm512_loadu_ps(gy + i)), stream);
    if (fuse) {
      const __m512 vn = _mm512_loadu_ps(gyn + i);
      vacc0 = _mm512_add_pd(vacc0, _mm512_cvtps_pd(_mm512_castps512_ps256(vn)));
      vacc1 = _mm512_add_pd(vacc1, _mm512_cvtps_pd(_mm512_extractf32x8_ps(vn, 1)));
    }
  }
  if (i < n && exact) {
    /* Not fused: the exact path is the last row's alone (s4j_bwd_last_row). */
    const __m512 zero = _mm512_setzero_ps();
    const __m512 ve = s4j_expgrad_f32_avx512(s4j_load_exact(y + i, n - i, zero), k);
    s4j_store_exact(gx + i, n - i, _mm512_fnmadd_ps(ve, vsum, s4j_load_exact(gy + i, n - i, zero)));
  } else if (i < n) {
    const __mmask16 vmask = s4j_tail_mask(n - i);
    const __m512 ve = s4j_expgrad_f32_avx512(_mm512_maskz_loadu_ps(vmask, y + i), k);
    const __m512 vgx = _mm512_fnmadd_ps(ve, vsum, _mm512_maskz_loadu_ps(vmask, gy + i));
    _mm512_mask_storeu_ps(gx + i, vmask, vgx);
    if (fuse) {
      const __m512 vn = _mm512_maskz_loadu_ps(vmask, gyn + i);
      vacc2 = _mm512_add_pd(vacc2, _mm512_cvtps_pd(_mm512_castps512_ps256(vn)));
      vacc3 = _mm512_add_pd(vacc3, _mm512_cvtps_pd(_mm512_extractf32x8_ps(vn, 1)));
    }
  }
  if (!fuse) return 0.0;
  return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(vacc0, vacc1), _mm512_add_pd(vacc2, vacc3)));
}

/* Every row but the last computes the next row's sum alongside its gradient
 * (s4j_row_grad_sum); only the first row's sum is a pass of its own. */
static inline __attribute__((always_inline)) void s4j_bwd_rows(
    size_t rows, size_t cols, const float *gy, const float *y, float *gx, const int stream,
    const struct s4j_exp_f32_avx512_consts *k) {
  float sum = (float) s4j_row_sum(cols, gy, 0);
  for (size_t r = 0; r + 1 < rows; r++, gy += cols, y += cols, gx += cols) {
    sum = (float) s4j_row_grad_sum(cols, gy, y, gx, _mm512_set1_ps(sum), gy + cols, 1, stream, 0, k);
  }
  s4j_row_grad_sum(cols, gy, y, gx, _mm512_set1_ps(sum), NULL, 0, stream, 0, k);
}

/* The backward of one row whose partial last vector is read and written
 * exactly (s4j_load_exact): the last row of a call two of whose buffers lie
 * less than a vector apart (s4j_buffers_near). A function of its own, so
 * that the common loop's code stays as it was (with the exact path inlined
 * in it, [64,10] took 3-5 % longer). */
static void s4j_bwd_last_row(size_t cols, const float *gy, const float *y, float *gx, const int stream,
                             const struct s4j_exp_f32_avx512_consts *k) {
  const float sum = (float) s4j_row_sum(cols, gy, 1);
  if (stream) {
    s4j_row_grad_sum(cols, gy, y, gx, _mm512_set1_ps(sum), NULL, 0, 1, 1, k);
  } else {
    s4j_row_grad_sum(cols, gy, y, gx, _mm512_set1_ps(sum), NULL, 0, 0, 1, k);
  }
}

void s4j_f32_log_softmax_bwd_ukernel__avx512f_rr2_p6_u64_acc4(
    size_t rows, size_t cols, const float *gy, const float *y, float *gx) {
  assert(rows != 0 && cols != 0);
  assert(gy != NULL && y != NULL && gx != NULL);

  const struct s4j_exp_f32_avx512_consts k = s4j_exp_f32_avx512_init();
  const int stream = s4j_use_stream_stores(rows, cols, gx);
  /* The last row alone, when the buffers are near. */
  const size_t exact_rows = (size_t) s4j_backward_buffers_near(gy, y, gx, rows * cols * sizeof(float), cols);
  const size_t rest = rows - exact_rows;
  if (rest != 0 && stream) {
    s4j_bwd_rows(rest, cols, gy, y, gx, 1, &k);
  } else if (rest != 0) {
    s4j_bwd_rows(rest, cols, gy, y, gx, 0, &k);
  }
  if (exact_rows != 0) {
    const size_t at = rest * cols;
    s4j_bwd_last_row(cols, gy + at, y + at, gx + at, stream, &k);
  }
  if (stream) _mm_sfence();
}
