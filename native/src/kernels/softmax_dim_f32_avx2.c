/*
 * softmax_dim_f32_avx2.c - log-softmax and softmax over a middle dimension,
 * 16 inner positions (two vectors) per group, masked loads and stores for
 * the tails. The algorithm is in softmax_dim_f32.h.
 */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/softmax_dim_f32.h"
#include "kernels/store_avx2.h"
#include "math/exp_f32_avx2.h"
#include "math/log_f64_avx2.h"

#define S4J_LANES 8

/* The lanes of the vector `done` positions into a group of `left`, as the
 * sign bits vmaskmovps reads. */
static inline __m256i s4j_lanes(size_t left, size_t done) {
  const int n = done >= left ? 0 : left - done >= S4J_LANES ? S4J_LANES : (int) (left - done);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* A vector of a row: with `full` (a constant after inlining; m then has all
 * lanes) a plain load or store, else the lanes of m (the rest load 0). The
 * vmaskmovps load of a full mask is the slower (B/A of plain against
 * masked loads and stores: log-softmax [64,1000,16] 0.84, [32,1000,12]
 * 0.84; softmax [64,1000,16] 0.88, [32,81,8732] 0.92). */
static inline __attribute__((always_inline)) __m256 s4j_load(int full, const float *p, __m256i m) {
  return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, m);
}

static inline __attribute__((always_inline)) void s4j_store(int full, float *p, __m256i m,
                                                          __m256 v) {
  if (full) {
    _mm256_storeu_ps(p, v);
  } else {
    s4j_store_prefix_ps(p, m, v);
  }
}

/* The 8 floats of v, widened, added to lo (lanes 0-3) and hi (4-7). */
static inline void s4j_add_f64(__m256d *lo, __m256d *hi, __m256 v) {
  *lo = _mm256_add_pd(*lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
  *hi = _mm256_add_pd(*hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

static inline __m256 s4j_join_f32(__m256d lo, __m256d hi) {
  return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps(lo)), _mm256_cvtpd_ps(hi), 1);
}

/* Positions per group, and how many groups ahead the prefetches look
 * ([32,81,8732], out of cache, against the kernel without them: forward
 * 0.48-0.63 x the time, backward 0.40-0.55 x, for 1, 2, 4 or 8 groups
 * ahead alike). */
#define S4J_GROUP (2 * S4J_LANES)
#define S4J_AHEAD ((size_t) 2)

/* s4j_group_ahead (softmax_dim_f32.h) for this file's groups of floats. */
static inline size_t s4j_ahead(size_t o, size_t j, size_t groups, size_t outer, size_t dim,
                               size_t inner) {
  return s4j_group_ahead(o, j, groups, S4J_GROUP, outer, dim, inner, sizeof(float));
}

/* Asks for the lines of the 16 floats at p (two when p is not
 * line-aligned), to read or to write (s4j_prefetch_line). */
static inline void s4j_prefetch_group(const float *p, const int write) {
  s4j_prefetch_line(p, write);
  s4j_prefetch_line(p + S4J_GROUP - 1, write);
}

/* The lanes of t that are NaN, all bits set. */
static inline __m256 s4j_nan_lanes(__m256 t) { return _mm256_cmp_ps(t, t, _CMP_UNORD_Q); }

/*
 * Pass 3 for one vector of one row, the value to store: log-softmax
 * y = (x - max) - log(s), softmax y = exp(x - max) * (1 / s), the exp
 * already in y; t is log(s) or 1 / s (s4j_output_scale).
 *
 * A NaN column's output must not depend on which inlined copy of the
 * passes wrote it (a slice's output is written by the next slice's exp
 * pass, the last slice's by a pass of its own): x - max and then - t keep
 * their operand order, and t is one NaN (s4j_output_scale), but the
 * compiler may swap the operands of the product, and exp and t may be NaNs
 * of different signs. So a softmax slice with a NaN column takes
 * s4j_output_pass, whose `canon` (a constant after inlining) ORs `nan`
 * (s4j_nan_lanes of t) into the product: all bits set where t is NaN.
 */
static inline __attribute__((always_inline)) __m256 s4j_output_value(
    enum s4j_softmax_kind kind, int full, __m256i m, const float *x, const float *y, __m256 vmax,
    __m256 t, int canon, __m256 nan) {
  if (kind == S4J_KIND_LOG_SOFTMAX) return _mm256_sub_ps(_mm256_sub_ps(s4j_load(full, x, m), vmax), t);
  const __m256 v = _mm256_mul_ps(s4j_load(full, y, m), t);
  return canon ? _mm256_or_ps(v, nan) : v;
}

/* Pass 3 for one row of a group (`two`, `full` and `off1` as in
 * s4j_group_stats): both vectors are read before either is written, as
 * they may overlap. */
static inline __attribute__((always_inline)) void s4j_output_row(
    enum s4j_softmax_kind kind, int two, int full, __m256i m0, __m256i m1, size_t off1,
    const float *x, float *y, __m256 vmax0, __m256 vmax1, __m256 t0, __m256 t1, int canon,
    __m256 nan0, __m256 nan1) {
  const int full0 = two || full;
  const __m256 r0 = s4j_output_value(kind, full0, m0, x, y, vmax0, t0, canon, nan0);
  const __m256 r1 = two ? s4j_output_value(kind, full, m1, x + off1, y + off1, vmax1, t1, canon, nan1)
                        : r0;
  s4j_store(full0, y, m0, r0);
  if (two) s4j_store(full, y + off1, m1, r1);
}

/* Pass 3 of a group on its own, from its max and t. */
static inline __attribute__((always_inline)) void s4j_output_pass(
    enum s4j_softmax_kind kind, int two, int full, size_t dim, size_t inner, __m256i m0,
    __m256i m1, size_t off1, const float *x, float *y, __m256 vmax0, __m256 vmax1, __m256 t0,
    __m256 t1) {
  const __m256 nan0 = s4j_nan_lanes(t0), nan1 = s4j_nan_lanes(t1);
  for (size_t c = 0; c < dim; c++) {
    const size_t at = c * inner;
    s4j_output_row(kind, two, full, m0, m1, off1, x + at, y + at, vmax0, vmax1, t0, t1, 1, nan0,
                   nan1);
  }
}

/* What pass 3 applies, from a vector's sum s (lanes 0-3 in lo, 4-7 in hi):
 * log(s) for log-softmax, 1/s for softmax, rounded to float once. A NaN
 * sum (a column with +inf or NaN) gives the NaN with all bits set: which
 * NaN a sum ends with depends on the order of its operands, which the
 * compiler may swap. */
static inline __m256 s4j_output_scale(enum s4j_softmax_kind kind, __m256d lo, __m256d hi) {
  __m256 t;
  if (kind == S4J_KIND_LOG_SOFTMAX) {
    t = s4j_join_f32(s4j_log_f64_avx2(lo), s4j_log_f64_avx2(hi));
  } else {
    const __m256d one = _mm256_set1_pd(1.0);
    t = s4j_join_f32(_mm256_div_pd(one, lo), _mm256_div_pd(one, hi));
  }
  return _mm256_or_ps(t, s4j_nan_lanes(t));
}

/* A slice whose output the next slice's exp pass writes (s4j_forward_slices):
 * its x and y, and per vector its max and t (s4j_output_row). */
struct s4j_slice_out {
  const float *x;
  float *y;
  __m256 vmax0, vmax1, t0, t1;
};

/* A group's statistics: pass 1, the max per position, and pass 2, the sum
 * of exp(x - max) in double (softmax keeps each exp in y, to scale it in
 * place afterwards). `two` and `full` are as in s4j_forward_group; the
 * second vector is `off1` floats after the first (8, or fewer where it
 * overlaps the first, s4j_forward_slices). With `prev` (NULL or not, a
 * constant after inlining), the exp pass also writes the previous slice's
 * output, row by row (s4j_forward_slices). */
static inline __attribute__((always_inline)) void s4j_group_stats(
    enum s4j_softmax_kind kind, int two, int full, size_t dim, size_t inner, __m256i m0,
    __m256i m1, size_t off1, size_t next, const float *x, float *y, const struct s4j_slice_out *prev,
    __m256 *max0, __m256 *max1, __m256d *sums, const struct s4j_exp_f32_avx2_consts *k,
    const struct s4j_expsum_f32_avx2_consts *ks) {
  /* prev in locals: through the pointer, every store to y (a float, which
   * may alias an __m256) would reload its vectors. */
  const float *px = prev != NULL ? prev->x : NULL;
  float *py = prev != NULL ? prev->y : NULL;
  const __m256 pmax0 = prev != NULL ? prev->vmax0 : _mm256_setzero_ps();
  const __m256 pmax1 = prev != NULL ? prev->vmax1 : _mm256_setzero_ps();
  const __m256 pt0 = prev != NULL ? prev->t0 : _mm256_setzero_ps();
  const __m256 pt1 = prev != NULL ? prev->t1 : _mm256_setzero_ps();
  /* The first vector of a two-vector group has all its lanes. */
  const int full0 = two || full;
  /* Lanes outside the group load 0 and are never stored: harmless. */
  __m256 vmax0 = s4j_load(full0, x, m0), vmax1 = _mm256_setzero_ps();
  if (two) vmax1 = s4j_load(full, x + off1, m1);
  /* Rows four at a time (two in a two-vector group) into as many chains
   * per vector, joined below: one chain makes each row wait for the
   * previous row's vmaxps (B/A against one chain: log-softmax [2048,81,8]
   * 0.88, [64,1000,8] 0.92, [64,1000,16] 0.94; softmax [2048,81,8] 0.92).
   * The sum keeps one chain per vector: the AVX-512 kernel's four, over a
   * float run unrolled, took log-softmax [64,1000,8] 1.10 x the time and
   * [200,50,5] 1.06 x (LogSumExp [64,1000,8] 0.96 x). */
  const size_t step = two ? 2 : 4;
  __m256 a0[4] = {vmax0, vmax0, vmax0, vmax0}, a1[2] = {vmax1, vmax1};
  size_t r = 1;
  for (; r + step <= dim; r += step) {
#pragma GCC unroll 4
    for (size_t i = 0; i < step; i++) {
      const float *row = x + (r + i) * inner;
      /* A NaN that vmaxps drops here still makes its exp, and the sum, NaN. */
      a0[i] = _mm256_max_ps(s4j_load(full0, row, m0), a0[i]);
      if (two) a1[i] = _mm256_max_ps(s4j_load(full, row + off1, m1), a1[i]);
    }
  }
  for (; r < dim; r++) {
    a0[0] = _mm256_max_ps(s4j_load(full0, x + r * inner, m0), a0[0]);
    if (two) a1[0] = _mm256_max_ps(s4j_load(full, x + r * inner + off1, m1), a1[0]);
  }
  vmax0 = _mm256_max_ps(_mm256_max_ps(a0[0], a0[1]), _mm256_max_ps(a0[2], a0[3]));
  vmax1 = _mm256_max_ps(a1[0], a1[1]);

  __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
  for (size_t c0 = 0; c0 < dim; c0 += S4J_DIM_FLOAT_RUN) {
    const size_t c1 = dim - c0 < S4J_DIM_FLOAT_RUN ? dim : c0 + S4J_DIM_FLOAT_RUN;
    __m256 f0 = _mm256_setzero_ps(), f1 = f0;
    for (size_t c = c0; c < c1; c++) {
      const float *row = x + c * inner;
      float *out = y + c * inner;
      /* The exp pass leaves memory idle: it asks for the lines of a group
       * ahead (as the AVX-512 kernel). */
      if (next != 0) {
        s4j_prefetch_group(row + next, 0);
        /* LogSumExp and STATS write per position, not in x's layout. */
        if (kind == S4J_KIND_LOG_SOFTMAX || kind == S4J_KIND_SOFTMAX) s4j_prefetch_group(out + next, 1);
      }
      /* Both vectors are read before either is written: they may overlap,
       * and y may be x. */
      const __m256 d0 = _mm256_sub_ps(s4j_load(full0, row, m0), vmax0);
      const __m256 d1 = two ? _mm256_sub_ps(s4j_load(full, row + off1, m1), vmax1) : d0;
      /* Log-softmax only needs the sum: the cheaper sum-only exp (exp_f32.h).
       * Softmax keeps each exp as its output: the faithful one. */
      const __m256 e0 = kind == S4J_KIND_SOFTMAX ? s4j_exp_f32_avx2(d0, k) : s4j_expsum_f32_avx2(d0, ks);
      f0 = _mm256_add_ps(f0, e0);
      __m256 e1 = e0;
      if (two) {
        e1 = kind == S4J_KIND_SOFTMAX ? s4j_exp_f32_avx2(d1, k) : s4j_expsum_f32_avx2(d1, ks);
        f1 = _mm256_add_ps(f1, e1);
      }
      /* Softmax keeps exp(x - max) in y, to scale it in place below. */
      if (kind == S4J_KIND_SOFTMAX) {
        s4j_store(full0, out, m0, e0);
        if (two) s4j_store(full, out + off1, m1, e1);
      }
      if (prev != NULL) {
        const size_t at = c * inner;
        s4j_output_row(kind, two, full, m0, m1, off1, px + at, py + at, pmax0, pmax1, pt0, pt1, 0,
                       pt0, pt1);
      }
    }
    s4j_add_f64(&s0, &s1, f0);
    if (two) s4j_add_f64(&s2, &s3, f1);
  }

  *max0 = vmax0;
  *max1 = vmax1;
  sums[0] = s0;
  sums[1] = s1;
  sums[2] = s2;
  sums[3] = s3;
}

/*
 * One group: the `left` (or 16, if fewer) positions from x (at [o, 0, j])
 * down all dim rows. `two` (a constant after inlining) says whether the
 * group has a second vector; a one-vector group skips its work entirely.
 * `full` (a constant) says whether all the group's vectors have all 8
 * lanes (left >= 8 or 16): their rows then take plain loads and stores
 * (s4j_load); the first vector of a two-vector group always does.
 */
static inline __attribute__((always_inline)) void s4j_forward_group(
    enum s4j_softmax_kind kind, int two, int full, size_t dim, size_t inner, size_t left,
    size_t next, const float *x, float *y, const struct s4j_exp_f32_avx2_consts *k,
    const struct s4j_expsum_f32_avx2_consts *ks) {
  const __m256i m0 = s4j_lanes(left, 0), m1 = s4j_lanes(left, S4J_LANES);

  __m256 vmax0, vmax1;
  __m256d sums[4];
  s4j_group_stats(kind, two, full, dim, inner, m0, m1, S4J_LANES, next, x, y, NULL, &vmax0, &vmax1,
                  sums, k, ks);
  const __m256d s0 = sums[0], s1 = sums[1], s2 = sums[2], s3 = sums[3];

  if (kind == S4J_KIND_STATS) {
    /* y is [outer, inner, 2]: each position's max and log of its sum. */
    float m[2 * S4J_LANES], l[2 * S4J_LANES];
    _mm256_storeu_ps(m, vmax0);
    _mm256_storeu_ps(l, s4j_join_f32(s4j_log_f64_avx2(s0), s4j_log_f64_avx2(s1)));
    if (two) {
      _mm256_storeu_ps(m + S4J_LANES, vmax1);
      _mm256_storeu_ps(l + S4J_LANES, s4j_join_f32(s4j_log_f64_avx2(s2), s4j_log_f64_avx2(s3)));
    }
    const size_t w = left < 2 * S4J_LANES ? left : 2 * S4J_LANES;
    for (size_t i = 0; i < w; i++) {
      y[2 * i] = m[i];
      y[2 * i + 1] = l[i];
    }
    return;
  }
  if (kind == S4J_KIND_LOGSUMEXP) {
    /* y is the [outer, inner] output here: m + log(s) in double, rounded once. */
    const __m256 lse0 = s4j_join_f32(
        _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(vmax0)), s4j_log_f64_avx2(s0)),
        _mm256_add_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(vmax0, 1)), s4j_log_f64_avx2(s1)));
    s4j_store_prefix_ps(y, m0, lse0);
    if (two) {
      const __m256 lse1 = s4j_join_f32(
          _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(vmax1)), s4j_log_f64_avx2(s2)),
          _mm256_add_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(vmax1, 1)), s4j_log_f64_avx2(s3)));
      s4j_store_prefix_ps(y + S4J_LANES, m1, lse1);
    }
    return;
  }

  const __m256 t0 = s4j_output_scale(kind, s0, s1);
  const __m256 t1 = two ? s4j_output_scale(kind, s2, s3) : _mm256_setzero_ps();
  s4j_output_pass(kind, two, full, dim, inner, m0, m1, S4J_LANES, x, y, vmax0, vmax1, t0, t1);
}

/*
 * Log-softmax or softmax forward when a slice is one group (inner <= 16:
 * its rows lie next to each other). Each slice's exp pass also writes the
 * previous slice's output, so that the stores, which alone in a pass of
 * their own wait for their lines, overlap the exps as in the row kernels;
 * only the last slice has a pass 3 of its own, as the AVX-512 kernel does
 * (B/A against a pass 3 per slice: log-softmax [2048,81,8] 0.81,
 * [64,1000,16] 0.85, [32,1000,12] 0.91; softmax [2048,81,8] 0.88,
 * [64,1000,16] 0.94, [8,1000,16] 0.96). A slice's output lies apart from
 * the next slice's input, so y may be x.
 *
 * A slice of 9 to 16 positions takes its second vector at inner - 8, over
 * the first one's last positions, so that both are full (s4j_load; B/A
 * against a masked second vector: log-softmax [32,1000,12] 0.81,
 * [64,1000,15] 0.78; softmax [32,1000,12] 0.88, [64,1000,9] 0.89). The
 * positions both take get the same bits from each (the same rows in the
 * same order), and each row's vectors are read before either is written.
 */
static inline __attribute__((always_inline)) void s4j_forward_slices(
    enum s4j_softmax_kind kind, int two, int full, size_t outer, size_t dim, size_t inner,
    const float *x, float *y, const struct s4j_exp_f32_avx2_consts *k,
    const struct s4j_expsum_f32_avx2_consts *ks) {
  const __m256i m0 = s4j_lanes(inner, 0), m1 = s4j_lanes(inner, S4J_LANES);
  const size_t off1 = two ? inner - S4J_LANES : S4J_LANES;
  const size_t slab = dim * inner;
  struct s4j_slice_out prev;
  prev.x = x;
  prev.y = y;
  prev.vmax0 = prev.vmax1 = prev.t0 = prev.t1 = _mm256_setzero_ps();
  int have_prev = 0;
  for (size_t o = 0; o < outer; o++) {
    const float *in = x + o * slab;
    float *out = y + o * slab;
    __m256 vmax0, vmax1;
    __m256d sums[4];
    /* Two calls, so that each inlines with `prev` a constant. */
    if (!have_prev) {
      s4j_group_stats(kind, two, full, dim, inner, m0, m1, off1, 0, in, out, NULL, &vmax0, &vmax1,
                      sums, k, ks);
    } else {
      s4j_group_stats(kind, two, full, dim, inner, m0, m1, off1, 0, in, out, &prev, &vmax0, &vmax1,
                      sums, k, ks);
    }
    prev.x = in;
    prev.y = out;
    prev.vmax0 = vmax0;
    prev.t0 = s4j_output_scale(kind, sums[0], sums[1]);
    if (two) {
      prev.vmax1 = vmax1;
      prev.t1 = s4j_output_scale(kind, sums[2], sums[3]);
    }
    have_prev = 1;
    /* A softmax slice with a NaN column (s4j_output_row) has its pass 3
     * now, and the next slice none to write. */
    if (kind == S4J_KIND_SOFTMAX && o + 1 < outer &&
        _mm256_movemask_ps(_mm256_or_ps(s4j_nan_lanes(prev.t0), s4j_nan_lanes(prev.t1))) != 0) {
      s4j_output_pass(kind, two, full, dim, inner, m0, m1, off1, prev.x, prev.y, prev.vmax0,
                      prev.vmax1, prev.t0, prev.t1);
      have_prev = 0;
    }
  }
  if (have_prev) {
    s4j_output_pass(kind, two, full, dim, inner, m0, m1, off1, prev.x, prev.y, prev.vmax0,
                    prev.vmax1, prev.t0, prev.t1);
  }
}

/* The 8 products a * b, exact in double, added to lo and hi: a double holds
 * the product of two floats exactly, so the FMA rounds as the add alone
 * would. */
static inline void s4j_fma_products_f64(__m256d *lo, __m256d *hi, __m256 a, __m256 b) {
  *lo = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(a)),
                        _mm256_cvtps_pd(_mm256_castps256_ps128(b)), *lo);
  *hi = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)),
                        _mm256_cvtps_pd(_mm256_extractf128_ps(b, 1)), *hi);
}

/* The sums of one row and vector into an accumulator: log-softmax sum gy,
 * softmax sum gy * y. With `full` (m has all lanes) and `halves` (the rows
 * are in cache), constants after inlining: two 4-float loads, each widened
 * straight from memory, without the masked load and the vextractf128 that
 * widening the upper half of an 8-float load takes. Otherwise the masked
 * load: where the rows wait on memory, the 4-float loads (which the
 * compiler also makes of plain 8-float ones here) hold twice the entries of
 * the load queue, and fewer lines arrive at once ([32,81,8732] 1.10-1.13 x
 * the time). */
static inline __attribute__((always_inline)) void s4j_add_row(
    enum s4j_softmax_kind kind, int full, const int halves, __m256i m, const float *g,
    const float *o, __m256d *lo, __m256d *hi) {
  if (full && halves) {
    const __m256d g0 = _mm256_cvtps_pd(_mm_loadu_ps(g)), g1 = _mm256_cvtps_pd(_mm_loadu_ps(g + 4));
    if (kind == S4J_KIND_LOG_SOFTMAX) {
      *lo = _mm256_add_pd(*lo, g0);
      *hi = _mm256_add_pd(*hi, g1);
    } else {
      /* Exact products in double, as s4j_fma_products_f64. */
      *lo = _mm256_fmadd_pd(g0, _mm256_cvtps_pd(_mm_loadu_ps(o)), *lo);
      *hi = _mm256_fmadd_pd(g1, _mm256_cvtps_pd(_mm_loadu_ps(o + 4)), *hi);
    }
    return;
  }
  const __m256 gv = _mm256_maskload_ps(g, m);
  if (kind == S4J_KIND_LOG_SOFTMAX) {
    s4j_add_f64(lo, hi, gv);
  } else {
    s4j_fma_products_f64(lo, hi, gv, _mm256_maskload_ps(o, m));
  }
}

/* The gradient of one row and vector from its sum. Log-softmax: the
 * backward exp and one rounding, as the row kernels. */
static inline __attribute__((always_inline)) void s4j_grad_row(
    enum s4j_softmax_kind kind, int full, __m256i m, const float *g, const float *o, float *out,
    __m256 sum, const struct s4j_exp_f32_avx2_consts *k) {
  const __m256 gv = s4j_load(full, g, m), ov = s4j_load(full, o, m);
  const __m256 r = kind == S4J_KIND_LOG_SOFTMAX
                       ? _mm256_fnmadd_ps(s4j_expgrad_f32_avx2(ov, k), sum, gv)
                       : _mm256_mul_ps(ov, _mm256_sub_ps(gv, sum));
  s4j_store(full, out, m, r);
}

/*
 * The backward of one group: the sums, then the gradients. `next` and
 * `after` are the offsets of the groups S4J_AHEAD and 2 * S4J_AHEAD ahead
 * (s4j_group_ahead, softmax_dim_f32.h), 0 for none. The prefetches follow
 * the AVX-512 kernel's plan (s4j_group_sums there): the sum pass takes the
 * next group's gx lines for writing; log-softmax's exp-bound gradient pass
 * asks for the next group's gy and y, softmax's sum pass for the group
 * after. gx may be gy or y: each pass reads an element before it writes it.
 */
/* The sum pass of a group into *sum0 and *sum1, with the prefetches of
 * s4j_backward_group's plan (none where next is 0). gx NULL: no gx to ask
 * for (the streamed backward, s4j_softmax_backward_streamed). */
static inline __attribute__((always_inline)) void s4j_group_sums(
    enum s4j_softmax_kind kind, int two, int full, size_t dim, size_t inner, __m256i m0, __m256i m1,
    size_t next, size_t after, const float *gy, const float *y, float *gx, __m256 *sum0,
    __m256 *sum1) {
  __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
  for (size_t c = 0; c < dim; c++) {
    const size_t at = c * inner;
    if (next != 0) {
      if (gx != NULL) s4j_prefetch_group(gx + at + next, 1);
      if (kind == S4J_KIND_SOFTMAX && after != 0) {
        s4j_prefetch_group(gy + at + after, 0);
        s4j_prefetch_group(y + at + after, 0);
      }
    }
    s4j_add_row(kind, two || full, 0, m0, gy + at, y + at, &s0, &s1);
    if (two) s4j_add_row(kind, full, 0, m1, gy + at + S4J_LANES, y + at + S4J_LANES, &s2, &s3);
  }
  *sum0 = s4j_join_f32(s0, s1);
  *sum1 = s4j_join_f32(s2, s3);
}

static inline __attribute__((always_inline)) void s4j_backward_group(
    enum s4j_softmax_kind kind, int two, int full, size_t dim, size_t inner, size_t left, size_t next,
    size_t after, const float *gy, const float *y, float *gx,
    const struct s4j_exp_f32_avx2_consts *k) {
  const __m256i m0 = s4j_lanes(left, 0), m1 = s4j_lanes(left, S4J_LANES);
  __m256 sum0, sum1;
  s4j_group_sums(kind, two, full, dim, inner, m0, m1, next, after, gy, y, gx, &sum0, &sum1);

  for (size_t c = 0; c < dim; c++) {
    const size_t at = c * inner;
    if (kind == S4J_KIND_LOG_SOFTMAX && next != 0) {
      s4j_prefetch_group(gy + at + next, 0);
      s4j_prefetch_group(y + at + next, 0);
    }
    s4j_grad_row(kind, two || full, m0, gy + at, y + at, gx + at, sum0, k);
    if (two) s4j_grad_row(kind, full, m1, gy + at + S4J_LANES, y + at + S4J_LANES, gx + at + S4J_LANES, sum1, k);
  }
}

/*
 * The backward when a slice is one group (inner <= 16: the slice's rows lie
 * next to each other): every slice's gradient pass also sums the next
 * slice, so that only the first slice has a sum pass of its own, as the
 * AVX-512 kernel does (s4j_backward_slices there). The next slice's gy and y
 * are only read before any of its gx is written, so gx may be gy or y.
 */
static inline __attribute__((always_inline)) void s4j_backward_slices(
    enum s4j_softmax_kind kind, int two, int full, size_t outer, size_t dim, size_t inner, const float *gy,
    const float *y, float *gx, const struct s4j_exp_f32_avx2_consts *k) {
  const __m256i m0 = s4j_lanes(inner, 0), m1 = s4j_lanes(inner, S4J_LANES);
  const size_t slab = dim * inner;
  __m256 sum0, sum1;
  s4j_group_sums(kind, two, full, dim, inner, m0, m1, 0, 0, gy, y, gx, &sum0, &sum1);
  for (size_t o = 0; o < outer; o++) {
    const int fused = o + 1 < outer;
    __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
    const float *g = gy + o * slab, *v = y + o * slab;
    float *out = gx + o * slab;
    for (size_t c = 0; c < dim; c++) {
      const size_t at = c * inner;
      s4j_grad_row(kind, two || full, m0, g + at, v + at, out + at, sum0, k);
      if (two) s4j_grad_row(kind, full, m1, g + at + S4J_LANES, v + at + S4J_LANES, out + at + S4J_LANES, sum1, k);
      if (fused) {
        s4j_add_row(kind, two || full, 1, m0, g + slab + at, v + slab + at, &s0, &s1);
        if (two) s4j_add_row(kind, full, 1, m1, g + slab + at + S4J_LANES, v + slab + at + S4J_LANES, &s2, &s3);
      }
    }
    sum0 = s4j_join_f32(s0, s1);
    sum1 = s4j_join_f32(s2, s3);
  }
}

/*
 * LogSumExp backward of one group from the saved input x: the passes of
 * the softmax forward, exp(x - max) kept in gx (the faithful exp), then
 * gx *= (float) (gy / s) down the rows, the quotient in double. The group's
 * rows stay cached between the passes, so gx goes to memory once. gx may
 * be x: each pass reads an element before it writes it.
 */
static inline __attribute__((always_inline)) void s4j_lse_backward_group(
    int two, size_t dim, size_t inner, size_t left, size_t next, const float *gy, const float *x,
    float *gx, const struct s4j_exp_f32_avx2_consts *k) {
  const __m256i m0 = s4j_lanes(left, 0), m1 = s4j_lanes(left, S4J_LANES);

  __m256 vmax0, vmax1;
  __m256d sums[4];
  s4j_group_stats(S4J_KIND_SOFTMAX, two, 0, dim, inner, m0, m1, S4J_LANES, next, x, gx, NULL,
                  &vmax0, &vmax1, sums, k, NULL);
  const __m256d s0 = sums[0], s1 = sums[1], s2 = sums[2], s3 = sums[3];

  /* Lanes outside the group divide 0 by 0 and are never stored. */
  const __m256 g0 = _mm256_maskload_ps(gy, m0);
  const __m256 t0 = s4j_join_f32(_mm256_div_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(g0)), s0),
                                 _mm256_div_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(g0, 1)), s1));
  __m256 t1 = _mm256_setzero_ps();
  if (two) {
    const __m256 g1 = _mm256_maskload_ps(gy + S4J_LANES, m1);
    t1 = s4j_join_f32(_mm256_div_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(g1)), s2),
                      _mm256_div_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(g1, 1)), s3));
  }
  for (size_t c = 0; c < dim; c++) {
    float *out = gx + c * inner;
    s4j_store_prefix_ps(out, m0, _mm256_mul_ps(_mm256_maskload_ps(out, m0), t0));
    if (two) s4j_store_prefix_ps(out + S4J_LANES, m1, _mm256_mul_ps(_mm256_maskload_ps(out + S4J_LANES, m1), t1));
  }
}

/* Log-softmax or softmax over slices of one group (s4j_forward_slices). */
static inline __attribute__((always_inline)) void s4j_forward_narrow(
    enum s4j_softmax_kind kind, size_t outer, size_t dim, size_t inner, const float *x, float *y) {
  const struct s4j_exp_f32_avx2_consts k = s4j_exp_f32_avx2_init();
  const struct s4j_expsum_f32_avx2_consts ks = s4j_expsum_f32_avx2_init();
  if (inner > S4J_LANES) {
    s4j_forward_slices(kind, 1, 1, outer, dim, inner, x, y, &k, &ks);
  } else if (inner == S4J_LANES) {
    s4j_forward_slices(kind, 0, 1, outer, dim, inner, x, y, &k, &ks);
  } else {
    s4j_forward_slices(kind, 0, 0, outer, dim, inner, x, y, &k, &ks);
  }
}

/* The forward group by group (s4j_forward_group). */
static inline __attribute__((always_inline)) void s4j_forward_groups(
    enum s4j_softmax_kind kind, size_t outer, size_t dim, size_t inner, const float *x, float *y) {
  const struct s4j_exp_f32_avx2_consts k = s4j_exp_f32_avx2_init();
  const struct s4j_expsum_f32_avx2_consts ks = s4j_expsum_f32_avx2_init();
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    /* LogSumExp writes one value per position: its output is [outer, inner]. */
    float *out = y + (kind == S4J_KIND_LOGSUMEXP ? o * inner : kind == S4J_KIND_STATS ? 2 * o * inner : base);
    for (size_t j = 0; j < inner; j += S4J_GROUP) {
      const size_t next = s4j_ahead(o, j, S4J_AHEAD, outer, dim, inner);
      const float *in = x + base + j;
      float *at = out + (kind == S4J_KIND_STATS ? 2 * j : j);
      if (inner - j >= S4J_GROUP) {
        s4j_forward_group(kind, 1, 1, dim, inner, inner - j, next, in, at, &k, &ks);
      } else if (inner - j > S4J_LANES) {
        s4j_forward_group(kind, 1, 0, dim, inner, inner - j, next, in, at, &k, &ks);
      } else if (inner - j == S4J_LANES) {
        s4j_forward_group(kind, 0, 1, dim, inner, inner - j, next, in, at, &k, &ks);
      } else {
        s4j_forward_group(kind, 0, 0, dim, inner, inner - j, next, in, at, &k, &ks);
      }
    }
  }
}

/* A function per kind and path, each with its kind a constant: inlined into
 * one function, their copies of the passes outgrow GCC's
 * large-function-growth limit, which then leaves some of the exps, stores
 * and prefetches as calls (log-softmax [32,81,8732] took 1.9-2.0 x the
 * time). */
#define S4J_FORWARD_FN(name, path, kind)                                                      \
  static __attribute__((noinline)) void name(size_t outer, size_t dim, size_t inner,        \
                                             const float *x, float *y) {                    \
    path(kind, outer, dim, inner, x, y);                                                    \
  }
S4J_FORWARD_FN(s4j_narrow_log_softmax, s4j_forward_narrow, S4J_KIND_LOG_SOFTMAX)
S4J_FORWARD_FN(s4j_narrow_softmax, s4j_forward_narrow, S4J_KIND_SOFTMAX)
S4J_FORWARD_FN(s4j_groups_log_softmax, s4j_forward_groups, S4J_KIND_LOG_SOFTMAX)
S4J_FORWARD_FN(s4j_groups_softmax, s4j_forward_groups, S4J_KIND_SOFTMAX)
S4J_FORWARD_FN(s4j_groups_logsumexp, s4j_forward_groups, S4J_KIND_LOGSUMEXP)
S4J_FORWARD_FN(s4j_groups_stats, s4j_forward_groups, S4J_KIND_STATS)
#undef S4J_FORWARD_FN

void s4j_f32_softmax_dim_fwd_ukernel__avx2(enum s4j_softmax_kind kind, size_t outer, size_t dim,
                                           size_t inner, const float *x, float *y) {
  const int narrow = inner <= S4J_GROUP;
  switch (kind) {
    case S4J_KIND_LOG_SOFTMAX:
      (narrow ? s4j_narrow_log_softmax : s4j_groups_log_softmax)(outer, dim, inner, x, y);
      break;
    case S4J_KIND_SOFTMAX:
      (narrow ? s4j_narrow_softmax : s4j_groups_softmax)(outer, dim, inner, x, y);
      break;
    case S4J_KIND_LOGSUMEXP: s4j_groups_logsumexp(outer, dim, inner, x, y); break;
    default: s4j_groups_stats(outer, dim, inner, x, y); break;
  }
}

/* The softmax gradient of n < 16 positions (one partial line) of a row of
 * a block, with plain stores (s4j_grad_row): the sums are loaded with the
 * same mask, so that none is read past the block's. */
static inline void s4j_grad_part(size_t n, const float *g, const float *o, float *out,
                                 const float *sum, const struct s4j_exp_f32_avx2_consts *k) {
  if (n == 0) return;
  const __m256i m0 = s4j_lanes(n, 0);
  s4j_grad_row(S4J_KIND_SOFTMAX, 0, m0, g, o, out, _mm256_maskload_ps(sum, m0), k);
  if (n > S4J_LANES) {
    const __m256i m1 = s4j_lanes(n, S4J_LANES);
    s4j_grad_row(S4J_KIND_SOFTMAX, 0, m1, g + S4J_LANES, o + S4J_LANES, out + S4J_LANES,
                 _mm256_maskload_ps(sum + S4J_LANES, m1), k);
  }
}

/* The softmax gradient of one row of a block, n positions with their sums
 * in sum[]: the 64-byte aligned middle of gx a line (two vectors) at a
 * time with non-temporal stores, the partial lines at either end (shared
 * with the blocks beside) with plain ones. Not 32-byte steps: a
 * non-temporal store of half a line leaves the write-combining buffer as a
 * partial write, and the block beside, storing the other half, would fetch
 * the line anyway. Both vectors of a line are read before either is
 * written: gx may be gy or y. */
static inline void s4j_stream_grad_row(size_t n, const float *g, const float *o, float *out,
                                       const float *sum, const struct s4j_exp_f32_avx2_consts *k) {
  const size_t mis = (size_t) (((uintptr_t) out & 63u) / sizeof(float));
  const size_t head = mis == 0 ? 0 : S4J_GROUP - mis < n ? S4J_GROUP - mis : n;
  s4j_grad_part(head, g, o, out, sum, k);
  size_t i = head;
  for (; i + S4J_GROUP <= n; i += S4J_GROUP) {
    const __m256 g0 = _mm256_loadu_ps(g + i), o0 = _mm256_loadu_ps(o + i);
    const __m256 g1 = _mm256_loadu_ps(g + i + S4J_LANES), o1 = _mm256_loadu_ps(o + i + S4J_LANES);
    const __m256 r0 = _mm256_mul_ps(o0, _mm256_sub_ps(g0, _mm256_loadu_ps(sum + i)));
    const __m256 r1 = _mm256_mul_ps(o1, _mm256_sub_ps(g1, _mm256_loadu_ps(sum + i + S4J_LANES)));
    _mm256_stream_ps(out + i, r0);
    _mm256_stream_ps(out + i + S4J_LANES, r1);
  }
  s4j_grad_part(n - i, g + i, o + i, out + i, sum + i, k);
}

/*
 * Softmax backward where the rows are far apart and gx goes to memory
 * (s4j_f32_softmax_dim_bwd_ukernel__avx2), as the AVX-512 kernel's
 * (s4j_softmax_backward_streamed there): in blocks of positions
 * (s4j_stream_block) along inner. Each block's sums are taken group by
 * group as in s4j_backward_group, then its gradient row by row, from L2,
 * with non-temporal stores: gx no longer takes a read for ownership of each
 * line (16 -> 12 bytes of memory traffic per element), and each row's
 * stores run over whole lines ([32,81,8732] B/A 0.80-0.92, [8,81,8732]
 * 0.89-0.91, [16,200,4096] 0.57, [4,1000,2000] 0.63-0.68, [64,32,8192]
 * 0.74-0.77; [32,81,8732] then 1.19-1.20 x its twin along the last
 * dimension). The sums and the gradient are those of s4j_backward_group,
 * operation for operation, so the bits are the same.
 * Log-softmax keeps its group plan (on AVX-512 its exp-bound gradient pass,
 * where that plan fetches the next group, ran 1.7-2.6 x slower this way).
 * gx may be gy or y: the gradient reads each element in the vector op that
 * writes it, after all of the block's sums. Out of line: the group paths of
 * the ukernel keep the code they had.
 */
static __attribute__((noinline)) void s4j_softmax_backward_streamed(
    size_t outer, size_t dim, size_t inner, const float *gy, const float *y, float *gx,
    const struct s4j_exp_f32_avx2_consts *k) {
  const size_t width = s4j_stream_block(dim, S4J_GROUP);
  _Alignas(32) float sums[S4J_STREAM_BLOCK_MAX];
  for (size_t o = 0; o < outer; o++) {
    for (size_t j0 = 0; j0 < inner; j0 += width) {
      const size_t w = inner - j0 < width ? inner - j0 : width;
      const size_t base = o * dim * inner + j0;
      for (size_t s = 0; s < w; s += S4J_GROUP) {
        const __m256i m0 = s4j_lanes(w - s, 0), m1 = s4j_lanes(w - s, S4J_LANES);
        /* The sum pass asks for the next group's gy and y, one group ahead
         * as on AVX-512 (where the group plan's distance measured no
         * faster), and for no gx: the stores do not read it. */
        const size_t next = s4j_ahead(o, j0 + s, 1, outer, dim, inner);
        const float *g = gy + base + s, *v = y + base + s;
        __m256 sum0, sum1;
        if (w - s >= S4J_GROUP) {
          s4j_group_sums(S4J_KIND_SOFTMAX, 1, 1, dim, inner, m0, m1, next, next, g, v, NULL, &sum0,
                         &sum1);
        } else if (w - s > S4J_LANES) {
          s4j_group_sums(S4J_KIND_SOFTMAX, 1, 0, dim, inner, m0, m1, next, next, g, v, NULL, &sum0,
                         &sum1);
        } else {
          s4j_group_sums(S4J_KIND_SOFTMAX, 0, 0, dim, inner, m0, m1, next, next, g, v, NULL, &sum0,
                         &sum1);
        }
        /* s + 16 <= width: a block is a whole number of groups wide. */
        _mm256_store_ps(sums + s, sum0);
        _mm256_store_ps(sums + s + S4J_LANES, sum1);
      }
      for (size_t c = 0; c < dim; c++) {
        const size_t at = base + c * inner;
        s4j_stream_grad_row(w, gy + at, y + at, gx + at, sums, k);
      }
    }
  }
  /* The non-temporal stores are weakly ordered: done before the caller's. */
  _mm_sfence();
}

/* The log-softmax or softmax backward, slice by slice where a slice is one
 * group, else group by group; `two` and `full` as in s4j_forward_group,
 * constants in each call. */
static inline __attribute__((always_inline)) void s4j_backward_groups(
    enum s4j_softmax_kind kind, size_t outer, size_t dim, size_t inner, const float *gy,
    const float *y, float *gx, const struct s4j_exp_f32_avx2_consts *k) {
  if (inner <= S4J_GROUP) {
    if (inner == S4J_GROUP) {
      s4j_backward_slices(kind, 1, 1, outer, dim, inner, gy, y, gx, k);
    } else if (inner > S4J_LANES) {
      s4j_backward_slices(kind, 1, 0, outer, dim, inner, gy, y, gx, k);
    } else if (inner == S4J_LANES) {
      s4j_backward_slices(kind, 0, 1, outer, dim, inner, gy, y, gx, k);
    } else {
      s4j_backward_slices(kind, 0, 0, outer, dim, inner, gy, y, gx, k);
    }
    return;
  }
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    for (size_t j = 0; j < inner; j += S4J_GROUP) {
      const size_t at = base + j, left = inner - j;
      const size_t next = s4j_ahead(o, j, S4J_AHEAD, outer, dim, inner);
      const size_t after = s4j_ahead(o, j, 2 * S4J_AHEAD, outer, dim, inner);
      if (left >= S4J_GROUP) {
        s4j_backward_group(kind, 1, 1, dim, inner, left, next, after, gy + at, y + at, gx + at, k);
      } else if (left > S4J_LANES) {
        s4j_backward_group(kind, 1, 0, dim, inner, left, next, after, gy + at, y + at, gx + at, k);
      } else if (left == S4J_LANES) {
        s4j_backward_group(kind, 0, 1, dim, inner, left, next, after, gy + at, y + at, gx + at, k);
      } else {
        s4j_backward_group(kind, 0, 0, dim, inner, left, next, after, gy + at, y + at, gx + at, k);
      }
    }
  }
}

/* The LogSumExp backward: gy is [outer, inner] and y the forward's input,
 * laid out as gx. */
static inline __attribute__((always_inline)) void s4j_backward_logsumexp(
    size_t outer, size_t dim, size_t inner, const float *gy, const float *y, float *gx,
    const struct s4j_exp_f32_avx2_consts *k) {
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    for (size_t j = 0; j < inner; j += S4J_GROUP) {
      const size_t at = base + j;
      const size_t next = s4j_ahead(o, j, S4J_AHEAD, outer, dim, inner);
      const float *g = gy + o * inner + j;
      if (inner - j > S4J_LANES) {
        s4j_lse_backward_group(1, dim, inner, inner - j, next, g, y + at, gx + at, k);
      } else {
        s4j_lse_backward_group(0, dim, inner, inner - j, next, g, y + at, gx + at, k);
      }
    }
  }
}

/* A function per kind, its kind a constant, as the forward's (S4J_FORWARD_FN):
 * one function with every kind's copies grew past GCC's limits (log-softmax
 * [64,1000,4] took 1.08-1.10 x the time once the full-vector copies were
 * added). */
static __attribute__((noinline)) void s4j_backward_log_softmax(
    size_t outer, size_t dim, size_t inner, const float *gy, const float *y, float *gx,
    const struct s4j_exp_f32_avx2_consts *k) {
  s4j_backward_groups(S4J_KIND_LOG_SOFTMAX, outer, dim, inner, gy, y, gx, k);
}

static __attribute__((noinline)) void s4j_backward_softmax(
    size_t outer, size_t dim, size_t inner, const float *gy, const float *y, float *gx,
    const struct s4j_exp_f32_avx2_consts *k) {
  s4j_backward_groups(S4J_KIND_SOFTMAX, outer, dim, inner, gy, y, gx, k);
}

static __attribute__((noinline)) void s4j_backward_lse(
    size_t outer, size_t dim, size_t inner, const float *gy, const float *y, float *gx,
    const struct s4j_exp_f32_avx2_consts *k) {
  s4j_backward_logsumexp(outer, dim, inner, gy, y, gx, k);
}

void s4j_f32_softmax_dim_bwd_ukernel__avx2(enum s4j_softmax_kind kind, size_t outer, size_t dim,
                                           size_t inner, const float *gy, const float *y,
                                           float *gx) {
  const struct s4j_exp_f32_avx2_consts k = s4j_exp_f32_avx2_init();
  switch (kind) {
    case S4J_KIND_LOG_SOFTMAX: s4j_backward_log_softmax(outer, dim, inner, gy, y, gx, &k); break;
    case S4J_KIND_SOFTMAX:
      if (s4j_dim_streams(outer, dim, inner, S4J_GROUP, gx)) {
        s4j_softmax_backward_streamed(outer, dim, inner, gy, y, gx, &k);
      } else {
        s4j_backward_softmax(outer, dim, inner, gy, y, gx, &k);
      }
      break;
    default: s4j_backward_lse(outer, dim, inner, gy, y, gx, &k); break;
  }
}
