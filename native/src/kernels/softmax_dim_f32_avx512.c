/*
 * softmax_dim_f32_avx512.c - log-softmax and softmax over a middle dimension,
 * 64 inner positions (four vectors) per group, opmask tails. The algorithm is
 * in softmax_dim_f32.h.
 */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/softmax_dim_f32.h"
#include "math/exp_f32_avx512.h"
#include "math/log_f64_avx512.h"

#define S4J_LANES 16
/* Vectors per group (64 positions): each pass reads 256 bytes of every row
 * of the group, four lines in a run, which the prefetchers follow better
 * than two when the rows are far apart ([32,81,8732]: 10-20% faster than
 * two vectors). More would not fit the registers. */
#define S4J_DIM_VECS 4

/* The lanes of the vector `done` positions into a group of `left`. */
static inline __mmask16 s4j_lanes(size_t left, size_t done) {
  if (done >= left) return 0;
  return _cvtu32_mask16(left - done >= S4J_LANES ? 0xffffu : (1u << (left - done)) - 1u);
}

/* The 16 floats of v, widened, added to lo (lanes 0-7) and hi (8-15). */
static inline void s4j_add_f64(__m512d *lo, __m512d *hi, __m512 v) {
  *lo = _mm512_add_pd(*lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
  *hi = _mm512_add_pd(*hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
}

static inline __m512 s4j_join_f32(__m512d lo, __m512d hi) {
  return _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo)), _mm512_cvtpd_ps(hi), 1);
}

/* Asks for the lines of the 64 floats at p (five lines when p is not
 * line-aligned), to read or to write (s4j_prefetch_line). */
static inline void s4j_prefetch_group(const float *p, const int write) {
#pragma GCC unroll 4
  for (int v = 0; v < S4J_DIM_VECS; v++) s4j_prefetch_line(p + v * S4J_LANES, write);
  s4j_prefetch_line(p + S4J_DIM_VECS * S4J_LANES - 1, write);
}

/* s4j_group_ahead (softmax_dim_f32.h) for this file's groups of floats. */
static inline size_t s4j_ahead(size_t o, size_t j, size_t groups, size_t outer, size_t dim,
                               size_t inner) {
  return s4j_group_ahead(o, j, groups, S4J_DIM_VECS * S4J_LANES, outer, dim, inner, sizeof(float));
}

/* Pass 3 for one vector of one row: log-softmax y = (x - max) - log(s),
 * softmax y = exp(x - max) * (1 / s), the exp already in y; t is log(s) or
 * 1 / s (s4j_output_scale). */
static inline __attribute__((always_inline)) void s4j_output_row(
    enum s4j_softmax_kind kind, __mmask16 m, const float *x, float *y, __m512 vmax, __m512 t) {
  if (kind == S4J_KIND_LOG_SOFTMAX) {
    _mm512_mask_storeu_ps(y, m, _mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x), vmax), t));
  } else {
    _mm512_mask_storeu_ps(y, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, y), t));
  }
}

/* A slice whose output the next slice's exp pass writes (s4j_forward_slices):
 * its x and y, and per vector its max and t (s4j_output_row). */
struct s4j_slice_out {
  const float *x;
  float *y;
  __m512 vmax[S4J_DIM_VECS], t[S4J_DIM_VECS];
};

/*
 * One group: the `left` (or 16 * nv, if fewer) positions from x (at
 * [o, 0, j]) down all dim rows, nv vectors wide (a constant after
 * inlining). A wider group reads longer runs of each row (nv lines), which
 * the hardware prefetchers follow better when the rows are far apart.
 * First the statistics: pass 1, the max per position, and pass 2, the sum
 * of exp(x - max) (softmax keeps each exp in y).
 *
 * `next` is the offset of the next group (s4j_group_ahead), or 0 for none.
 * Where the rows are far apart, pass 2, which computes an exp per element
 * and leaves memory idle, asks for the next group's lines of x, and of y
 * for writing where y is laid out as x (not LogSumExp's or STATS's output),
 * as the backward does (s4j_group_sums): [32,81,8732], out of cache,
 * log-softmax 1.68 -> 0.8-1.2 x the time of the same rows along the last
 * dimension, softmax 1.67 -> 0.8 x (the other passes tried: 1.1-1.6 x).
 * With `prev`, the exp pass also writes the previous slice's output, as
 * s4j_narrow_stats does. With `keep_d` (log-softmax), it stores x - max in
 * y for pass 3 to finish in place (s4j_forward_group).
 */
static inline __attribute__((always_inline)) void s4j_group_stats(
    enum s4j_softmax_kind kind, const int nv, size_t dim, size_t inner, const __mmask16 *m,
    size_t next, const int keep_d, const float *x, float *y, const struct s4j_slice_out *prev,
    __m512 *vmax, __m512d *slo, __m512d *shi,
    const struct s4j_exp_f32_avx512_consts *k, const struct s4j_expsum_f32_avx512_consts *ks) {
  /* prev's vectors in locals: through the pointer, every store to y (which
   * may alias an __m512) would reload them. */
  const float *px = prev != NULL ? prev->x : NULL;
  float *py = prev != NULL ? prev->y : NULL;
  __m512 pmax[S4J_DIM_VECS], pt[S4J_DIM_VECS];
#pragma GCC unroll 4
  for (int v = 0; v < nv; v++) {
    pmax[v] = prev != NULL ? prev->vmax[v] : _mm512_setzero_ps();
    pt[v] = prev != NULL ? prev->t[v] : _mm512_setzero_ps();
  }
#pragma GCC unroll 4
  for (int v = 0; v < nv; v++) {
    /* Lanes outside the group load 0 and are never stored: harmless. */
    vmax[v] = _mm512_maskz_loadu_ps(m[v], x + v * S4J_LANES);
  }
  for (size_t c = 1; c < dim; c++) {
    const float *row = x + c * inner;
    /* A NaN that vmaxps drops here still makes its exp, and the sum, NaN. */
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) {
      vmax[v] = _mm512_max_ps(_mm512_maskz_loadu_ps(m[v], row + v * S4J_LANES), vmax[v]);
    }
  }

#pragma GCC unroll 4
  for (int v = 0; v < nv; v++) slo[v] = shi[v] = _mm512_setzero_pd();
  for (size_t c0 = 0; c0 < dim; c0 += S4J_DIM_FLOAT_RUN) {
    const size_t c1 = dim - c0 < S4J_DIM_FLOAT_RUN ? dim : c0 + S4J_DIM_FLOAT_RUN;
    __m512 f[S4J_DIM_VECS];
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) f[v] = _mm512_setzero_ps();
    for (size_t c = c0; c < c1; c++) {
      const float *row = x + c * inner;
      float *out = y + c * inner;
      if (next != 0) {
        s4j_prefetch_group(row + next, 0);
        /* LogSumExp and STATS write per position, not in x's layout. */
        if (kind == S4J_KIND_LOG_SOFTMAX || kind == S4J_KIND_SOFTMAX) s4j_prefetch_group(out + next, 1);
      }
#pragma GCC unroll 4
      for (int v = 0; v < nv; v++) {
        const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m[v], row + v * S4J_LANES), vmax[v]);
        /* Log-softmax only needs the sum: the cheaper sum-only exp (exp_f32.h).
         * Softmax keeps each exp as its output: the faithful one. */
        const __m512 e = kind == S4J_KIND_SOFTMAX ? s4j_exp_f32_avx512(d, k) : s4j_expsum_f32_avx512(d, ks);
        f[v] = _mm512_add_ps(f[v], e);
        /* Softmax keeps exp(x - max) in y, to scale it in place below. */
        if (kind == S4J_KIND_SOFTMAX) _mm512_mask_storeu_ps(out + v * S4J_LANES, m[v], e);
        if (keep_d) _mm512_mask_storeu_ps(out + v * S4J_LANES, m[v], d);
        if (prev != NULL) {
          const size_t at = c * inner + (size_t) v * S4J_LANES;
          s4j_output_row(kind, m[v], px + at, py + at, pmax[v], pt[v]);
        }
      }
    }
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) s4j_add_f64(&slo[v], &shi[v], f[v]);
  }

}

/*
 * s4j_group_stats for a one-vector group, rows taken four at a time into
 * independent max and sum chains, combined at the end: a single chain
 * would make every row wait for the previous row's vmaxps or addps
 * (inner <= 16, e.g. [64,1000,16], where the rows are contiguous and
 * memory is not the limit). Each float run of S4J_DIM_FLOAT_RUN rows is
 * summed as two rows per chain, then pairwise, then carried in double.
 * With `prev` (a constant after inlining), the exp pass also writes each
 * row of the previous slice's output (s4j_forward_slices).
 */
static inline __attribute__((always_inline)) void s4j_narrow_stats(
    enum s4j_softmax_kind kind, size_t dim, size_t inner, __mmask16 m, const float *x, float *y,
    const struct s4j_slice_out *prev, __m512 *vmax, __m512d *slo, __m512d *shi,
    const struct s4j_exp_f32_avx512_consts *k, const struct s4j_expsum_f32_avx512_consts *ks) {
  /* prev in locals, as in s4j_group_stats. */
  const float *px = prev != NULL ? prev->x : NULL;
  float *py = prev != NULL ? prev->y : NULL;
  const __m512 pmax = prev != NULL ? prev->vmax[0] : _mm512_setzero_ps();
  const __m512 pt = prev != NULL ? prev->t[0] : _mm512_setzero_ps();
  __m512 m4[4];
  for (int r = 0; r < 4; r++) m4[r] = _mm512_maskz_loadu_ps(m, x);
  size_t c = 1;
  for (; c + 4 <= dim; c += 4) {
#pragma GCC unroll 4
    for (int r = 0; r < 4; r++) m4[r] = _mm512_max_ps(_mm512_maskz_loadu_ps(m, x + (c + (size_t) r) * inner), m4[r]);
  }
  for (; c < dim; c++) m4[0] = _mm512_max_ps(_mm512_maskz_loadu_ps(m, x + c * inner), m4[0]);
  const __m512 mx = _mm512_max_ps(_mm512_max_ps(m4[0], m4[1]), _mm512_max_ps(m4[2], m4[3]));
  *vmax = mx;

#define S4J_NARROW_ROW(row, chain)                                                                   \
  {                                                                                                  \
    const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + (row) * inner), mx);                 \
    const __m512 e = kind == S4J_KIND_SOFTMAX ? s4j_exp_f32_avx512(d, k) : s4j_expsum_f32_avx512(d, ks); \
    f[chain] = _mm512_add_ps(f[chain], e);                                                           \
    if (kind == S4J_KIND_SOFTMAX) _mm512_mask_storeu_ps(y + (row) * inner, m, e);                    \
    if (prev != NULL) {                                                                              \
      s4j_output_row(kind, m, px + (row) * inner, py + (row) * inner, pmax, pt);                     \
    }                                                                                                \
  }
  __m512d lo = _mm512_setzero_pd(), hi = lo;
  for (size_t c0 = 0; c0 < dim; c0 += S4J_DIM_FLOAT_RUN) {
    const size_t c1 = dim - c0 < S4J_DIM_FLOAT_RUN ? dim : c0 + S4J_DIM_FLOAT_RUN;
    __m512 f[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    if (c1 - c0 == S4J_DIM_FLOAT_RUN) {
#pragma GCC unroll 8
      for (size_t r = 0; r < S4J_DIM_FLOAT_RUN; r++) S4J_NARROW_ROW(c0 + r, r % 4);
    } else {
      for (size_t row = c0; row < c1; row++) S4J_NARROW_ROW(row, 0);
    }
    s4j_add_f64(&lo, &hi, _mm512_add_ps(_mm512_add_ps(f[0], f[1]), _mm512_add_ps(f[2], f[3])));
  }
#undef S4J_NARROW_ROW
  *slo = lo;
  *shi = hi;
}

/* What pass 3 applies, from a vector's sum s (lanes 0-7 in lo, 8-15 in
 * hi): log(s) for log-softmax, 1/s for softmax, rounded to float once. */
static inline __m512 s4j_output_scale(enum s4j_softmax_kind kind, __m512d lo, __m512d hi) {
  if (kind == S4J_KIND_LOG_SOFTMAX) return s4j_join_f32(s4j_log_f64_avx512(lo), s4j_log_f64_avx512(hi));
  const __m512d one = _mm512_set1_pd(1.0);
  return s4j_join_f32(_mm512_div_pd(one, lo), _mm512_div_pd(one, hi));
}

/* The outputs of a group from its statistics: per position (STATS,
 * LOGSUMEXP), or pass 3 down the rows; with `kept`, log-softmax's y
 * already holds x - max. */
static inline __attribute__((always_inline)) void s4j_group_finish(
    enum s4j_softmax_kind kind, const int nv, size_t dim, size_t inner, size_t left,
    const int kept, const __mmask16 *m, const float *x, float *y, const __m512 *vmax,
    const __m512d *slo, const __m512d *shi) {
  if (kind == S4J_KIND_STATS) {
    /* y is [outer, inner, 2]: each position's max and log of its sum. */
    float mx[S4J_DIM_VECS * S4J_LANES], l[S4J_DIM_VECS * S4J_LANES];
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) {
      _mm512_storeu_ps(mx + v * S4J_LANES, vmax[v]);
      _mm512_storeu_ps(l + v * S4J_LANES, s4j_join_f32(s4j_log_f64_avx512(slo[v]), s4j_log_f64_avx512(shi[v])));
    }
    const size_t w = left < (size_t) nv * S4J_LANES ? left : (size_t) nv * S4J_LANES;
    for (size_t i = 0; i < w; i++) {
      y[2 * i] = mx[i];
      y[2 * i + 1] = l[i];
    }
    return;
  }
  if (kind == S4J_KIND_LOGSUMEXP) {
    /* y is the [outer, inner] output here: m + log(s) in double, rounded once. */
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) {
      const __m512 lse = s4j_join_f32(
          _mm512_add_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(vmax[v])), s4j_log_f64_avx512(slo[v])),
          _mm512_add_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(vmax[v], 1)), s4j_log_f64_avx512(shi[v])));
      _mm512_mask_storeu_ps(y + v * S4J_LANES, m[v], lse);
    }
    return;
  }

  __m512 t[S4J_DIM_VECS];
#pragma GCC unroll 4
  for (int v = 0; v < nv; v++) t[v] = s4j_output_scale(kind, slo[v], shi[v]);

  for (size_t c = 0; c < dim; c++) {
    const float *row = x + c * inner;
    float *out = y + c * inner;
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) {
      float *o = out + v * S4J_LANES;
      if (kind == S4J_KIND_LOG_SOFTMAX) {
        const __m512 d = kept ? _mm512_maskz_loadu_ps(m[v], o)
                              : _mm512_sub_ps(_mm512_maskz_loadu_ps(m[v], row + v * S4J_LANES), vmax[v]);
        _mm512_mask_storeu_ps(o, m[v], _mm512_sub_ps(d, t[v]));
      } else {
        _mm512_mask_storeu_ps(o, m[v], _mm512_mul_ps(_mm512_maskz_loadu_ps(m[v], o), t[v]));
      }
    }
  }
}

/*
 * One group: statistics, then outputs. Where the rows are far apart
 * (`next` != 0), log-softmax's exp pass stores x - max in y and pass 3
 * subtracts log(s) in place, the same two roundings: the first store to
 * each line of y then overlaps the exps, as softmax's stores of its exps
 * do, instead of waiting for the line in a pass of stores alone ([32,81,8732]
 * B/A 0.83, [4,1000,2000] 0.77, [16,200,4096] 0.96). In cache it was slower
 * (the extra store per element: [200,50,40] 1.48, [1000,100,33] 1.17).
 */
static inline __attribute__((always_inline)) void s4j_forward_group(
    enum s4j_softmax_kind kind, const int nv, size_t dim, size_t inner, size_t left, size_t next,
    const float *x, float *y, const struct s4j_exp_f32_avx512_consts *k,
    const struct s4j_expsum_f32_avx512_consts *ks) {
  __mmask16 m[S4J_DIM_VECS];
#pragma GCC unroll 4
  for (int v = 0; v < nv; v++) m[v] = s4j_lanes(left, (size_t) v * S4J_LANES);
  __m512 vmax[S4J_DIM_VECS];
  __m512d slo[S4J_DIM_VECS], shi[S4J_DIM_VECS];
  const int keep_d = kind == S4J_KIND_LOG_SOFTMAX && next != 0 && nv > 1;
  if (nv == 1) {
    s4j_narrow_stats(kind, dim, inner, m[0], x, y, NULL, vmax, slo, shi, k, ks);
  } else {
    s4j_group_stats(kind, nv, dim, inner, m, next, keep_d, x, y, NULL, vmax, slo, shi, k, ks);
  }
  s4j_group_finish(kind, nv, dim, inner, left, keep_d, m, x, y, vmax, slo, shi);
}

/*
 * Log-softmax or softmax forward when a slice is one group of nv vectors
 * (its rows lie next to each other). Each slice's exp pass also writes the
 * previous slice's output, so that the stores, which alone in a pass of
 * their own wait for their lines, overlap the exps as in the row kernels;
 * only the last slice has a pass 3 of its own (B/A against a pass 3 per
 * slice, log-softmax: [64,1000,16] 0.91-0.95, [32,1000,32] 0.82-0.91;
 * softmax [32,1000,32] 0.87-0.94, [2048,81,8] 0.78-0.95). A slice's
 * output lies apart from the next slice's input, so y may be x.
 */
static inline __attribute__((always_inline)) void s4j_forward_slices(
    enum s4j_softmax_kind kind, const int nv, size_t outer, size_t dim, size_t inner,
    const float *x, float *y, const struct s4j_exp_f32_avx512_consts *k,
    const struct s4j_expsum_f32_avx512_consts *ks) {
  __mmask16 m[S4J_DIM_VECS];
#pragma GCC unroll 4
  for (int v = 0; v < nv; v++) m[v] = s4j_lanes(inner, (size_t) v * S4J_LANES);
  const size_t slab = dim * inner;
  struct s4j_slice_out prev;
  prev.x = x;
  prev.y = y;
  for (int v = 0; v < S4J_DIM_VECS; v++) prev.vmax[v] = prev.t[v] = _mm512_setzero_ps();
  for (size_t o = 0; o < outer; o++) {
    const float *in = x + o * slab;
    float *out = y + o * slab;
    __m512 vmax[S4J_DIM_VECS];
    __m512d slo[S4J_DIM_VECS], shi[S4J_DIM_VECS];
    /* Two calls, so that each inlines with `prev` a constant. */
    if (nv == 1 && o == 0) {
      s4j_narrow_stats(kind, dim, inner, m[0], in, out, NULL, vmax, slo, shi, k, ks);
    } else if (nv == 1) {
      s4j_narrow_stats(kind, dim, inner, m[0], in, out, &prev, vmax, slo, shi, k, ks);
    } else if (o == 0) {
      s4j_group_stats(kind, nv, dim, inner, m, 0, 0, in, out, NULL, vmax, slo, shi, k, ks);
    } else {
      s4j_group_stats(kind, nv, dim, inner, m, 0, 0, in, out, &prev, vmax, slo, shi, k, ks);
    }
    prev.x = in;
    prev.y = out;
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) {
      prev.vmax[v] = vmax[v];
      prev.t[v] = s4j_output_scale(kind, slo[v], shi[v]);
    }
  }
  for (size_t c = 0; c < dim; c++) {
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) {
      const size_t at = c * inner + (size_t) v * S4J_LANES;
      s4j_output_row(kind, m[v], prev.x + at, prev.y + at, prev.vmax[v], prev.t[v]);
    }
  }
}

/* The 16 products a * b, exact in double, added to lo and hi. A double
 * holds the product of two floats exactly, so the FMA rounds as the add
 * alone would. */
static inline void s4j_fma_products_f64(__m512d *lo, __m512d *hi, __m512 a, __m512 b) {
  *lo = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(a)),
                        _mm512_cvtps_pd(_mm512_castps512_ps256(b)), *lo);
  *hi = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(a, 1)),
                        _mm512_cvtps_pd(_mm512_extractf32x8_ps(b, 1)), *hi);
}

/*
 * The sums of one row and vector of a group into an accumulator:
 * log-softmax S = sum gy, softmax S = sum gy * y. With `halves` (a
 * constant: the rows are in cache), a full vector is read as two halves,
 * each widened straight from its load: widening the upper half of a whole
 * loaded vector takes a vextractf32x8 more, and that shuffle bound
 * softmax's sums ([64,1000,16] backward B/A 0.86-0.94, its sums alone
 * about 0.75 of their time before). Not where the rows wait on memory: the
 * two loads a vector hold more of the load queue, and fewer lines arrive at
 * once ([32,81,8732] 1.14-1.19 x the time). A partial vector keeps its
 * masked load (a masked load of the upper half, 32 bytes into a line,
 * splits across lines: 1.43 x the time).
 */
static inline __attribute__((always_inline)) void s4j_add_row(
    enum s4j_softmax_kind kind, const int halves, __mmask16 m, const float *g, const float *o,
    __m512d *lo, __m512d *hi) {
  if (halves && _cvtmask16_u32(m) == 0xffffu) {
    const __m512d g0 = _mm512_cvtps_pd(_mm256_loadu_ps(g));
    const __m512d g1 = _mm512_cvtps_pd(_mm256_loadu_ps(g + 8));
    if (kind == S4J_KIND_LOG_SOFTMAX) {
      *lo = _mm512_add_pd(*lo, g0);
      *hi = _mm512_add_pd(*hi, g1);
    } else {
      /* Exact products in double, as s4j_fma_products_f64. */
      *lo = _mm512_fmadd_pd(g0, _mm512_cvtps_pd(_mm256_loadu_ps(o)), *lo);
      *hi = _mm512_fmadd_pd(g1, _mm512_cvtps_pd(_mm256_loadu_ps(o + 8)), *hi);
    }
    return;
  }
  const __m512 gv = _mm512_maskz_loadu_ps(m, g);
  if (kind == S4J_KIND_LOG_SOFTMAX) {
    s4j_add_f64(lo, hi, gv);
  } else {
    s4j_fma_products_f64(lo, hi, gv, _mm512_maskz_loadu_ps(m, o));
  }
}

/*
 * The rows a pass over a group visits, as (row, vector, accumulator): a
 * group of nv > 1 vectors takes one row at a time, each vector into its
 * own accumulator; a one-vector group takes rows four at a time into four
 * accumulators (as s4j_narrow_stats), so that no row waits for the
 * previous row's add. The loop body is `body(row, p, a)`; `rest(row)` takes
 * the rows left over by a one-vector group, into accumulator 0.
 */
#define S4J_GROUP_ROWS(nv, dim, row_start, body, rest)                                 \
  do {                                                                                 \
    const size_t step_ = (nv) == 1 ? 4 : 1;                                            \
    const int chains_ = (nv) == 1 ? 4 : (nv);                                          \
    size_t r0_ = 0;                                                                    \
    for (; r0_ + step_ <= (dim); r0_ += step_) {                                       \
      row_start(r0_);                                                                  \
      _Pragma("GCC unroll 4") for (int a_ = 0; a_ < chains_; a_++) {                   \
        body((nv) == 1 ? r0_ + (size_t) a_ : r0_, (nv) == 1 ? 0 : a_, a_);             \
      }                                                                                \
    }                                                                                  \
    if ((nv) == 1) {                                                                   \
      for (; r0_ < (dim); r0_++) rest(r0_);                                            \
    }                                                                                  \
  } while (0)

/* The four accumulators of a one-vector group, added into the first. */
static inline void s4j_fold_chains(const int nv, __m512d *lo, __m512d *hi) {
  if (nv != 1) return;
  lo[0] = _mm512_add_pd(_mm512_add_pd(lo[0], lo[1]), _mm512_add_pd(lo[2], lo[3]));
  hi[0] = _mm512_add_pd(_mm512_add_pd(hi[0], hi[1]), _mm512_add_pd(hi[2], hi[3]));
}

/*
 * The sum pass of one group, into sum[] (rounded to float). `next` and
 * `after` are the offsets (in floats) from this group to the next one and
 * the one after it, or 0 where there is none or where the rows are close
 * enough for the hardware prefetchers (s4j_group_ahead, softmax_dim_f32.h).
 *
 * Rows far apart (inner > 64) are where the prefetches matter: each pass
 * reads four or five lines of every row, dim rows apart, which the
 * hardware prefetchers do not follow, and the loads alone keep few rows in
 * flight. So each group asks for the next group's lines, in the pass that
 * leaves memory idle: its sum pass takes the next group's gx lines for
 * writing, and the reads go where they have time to arrive: log-softmax's
 * exp-bound gradient pass asks for the next group's gy and y, softmax's sum
 * pass (whose gradient pass is light and mostly stores) for the group after
 * next. ([8,81,8732], out of cache: log-softmax 0.39 -> 0.95 of the same
 * rows along the last dimension, softmax 0.35 -> 0.75; the other places
 * tried were 0.1-0.3 slower.) gx NULL: no gx to ask for (the streamed
 * backward, s4j_softmax_backward_streamed).
 */
static inline __attribute__((always_inline)) void s4j_group_sums(
    enum s4j_softmax_kind kind, const int nv, size_t dim, size_t inner, const __mmask16 *m,
    size_t next, size_t after, const float *gy, const float *y, float *gx, __m512 *sum) {
  __m512d lo[S4J_DIM_VECS], hi[S4J_DIM_VECS];
#pragma GCC unroll 4
  for (int a = 0; a < S4J_DIM_VECS; a++) lo[a] = hi[a] = _mm512_setzero_pd();
#define S4J_SUMS_START(r0)                                    \
  if (next != 0) {                                            \
    if (gx != NULL) s4j_prefetch_group(gx + (r0) * inner + next, 1); \
    if (kind == S4J_KIND_SOFTMAX && after != 0) {             \
      s4j_prefetch_group(gy + (r0) * inner + after, 0);       \
      s4j_prefetch_group(y + (r0) * inner + after, 0);        \
    }                                                         \
  }
  /* Log-softmax's sum pass does not read y, its gradient pass does, between
   * exps: y's lines are fetched now, while this light pass leaves the miss
   * buffers free, so that the exp-heavy pass does not wait on memory a few
   * rows at a time. */
#define S4J_SUMS_BODY(row, p, a)                                                      \
  {                                                                                   \
    const size_t at_ = (row) * inner + (size_t) (p) * S4J_LANES;                      \
    if (kind == S4J_KIND_LOG_SOFTMAX) _mm_prefetch((const char *) (y + at_), _MM_HINT_T0); \
    s4j_add_row(kind, 0, m[p], gy + at_, y + at_, &lo[a], &hi[a]);                    \
  }
#define S4J_SUMS_REST(row) s4j_add_row(kind, 0, m[0], gy + (row) * inner, y + (row) * inner, &lo[0], &hi[0])
  S4J_GROUP_ROWS(nv, dim, S4J_SUMS_START, S4J_SUMS_BODY, S4J_SUMS_REST);
#undef S4J_SUMS_START
#undef S4J_SUMS_BODY
#undef S4J_SUMS_REST
  s4j_fold_chains(nv, lo, hi);
#pragma GCC unroll 4
  for (int v = 0; v < nv; v++) sum[v] = s4j_join_f32(lo[v], hi[v]);
}

/* The gradient of one row and vector of a group from its sum. Log-softmax:
 * the backward exp and one rounding, as the row kernels. `plain` (a
 * constant): a full vector is loaded and stored without its mask, as the
 * slices of one group do (inner <= 64, rows in cache: log-softmax
 * [64,1000,16] 0.75-0.86 of the time, [64,1000,8] 0.92-0.93); rows far
 * apart keep the masked forms ([32,81,8732] 1.02-1.13 x with plain ones). */
static inline __attribute__((always_inline)) void s4j_grad_row(
    enum s4j_softmax_kind kind, const int plain, __mmask16 m, const float *g, const float *o, float *out,
    __m512 sum, const struct s4j_exp_f32_avx512_consts *k) {
  const int full = plain && _cvtmask16_u32(m) == 0xffffu;
  const __m512 gv = full ? _mm512_loadu_ps(g) : _mm512_maskz_loadu_ps(m, g);
  const __m512 ov = full ? _mm512_loadu_ps(o) : _mm512_maskz_loadu_ps(m, o);
  const __m512 r = kind == S4J_KIND_LOG_SOFTMAX
                       ? _mm512_fnmadd_ps(s4j_expgrad_f32_avx512(ov, k), sum, gv)
                       : _mm512_mul_ps(ov, _mm512_sub_ps(gv, sum));
  if (full) {
    _mm512_storeu_ps(out, r);
  } else {
    _mm512_mask_storeu_ps(out, m, r);
  }
}

/*
 * The gradient pass of one group. `slices`: the group is a whole slice (see
 * s4j_grad_row's `plain`). With `fused`, the group is a whole
 * slice (inner <= 64) and the same loop takes the sums of the next slice,
 * gy + slab (and y + slab), into next_sum: the loads and adds of the sums
 * overlap the gradient's arithmetic instead of taking a pass of their own,
 * as the row kernels do with the next row's sum ([64,1000,16]: see
 * s4j_backward_slices).
 */
static inline __attribute__((always_inline)) void s4j_group_grad(
    enum s4j_softmax_kind kind, const int nv, size_t dim, size_t inner, const __mmask16 *m,
    size_t next, const int slices, const int fused, size_t slab, const float *gy, const float *y,
    float *gx, const __m512 *sum, __m512 *next_sum, const struct s4j_exp_f32_avx512_consts *k) {
  __m512d lo[S4J_DIM_VECS], hi[S4J_DIM_VECS];
#pragma GCC unroll 4
  for (int a = 0; a < S4J_DIM_VECS; a++) lo[a] = hi[a] = _mm512_setzero_pd();
#define S4J_GRAD_START(r0)                                              \
  if (kind == S4J_KIND_LOG_SOFTMAX && next != 0) {                      \
    s4j_prefetch_group(gy + (r0) * inner + next, 0);                    \
    s4j_prefetch_group(y + (r0) * inner + next, 0);                     \
  }
#define S4J_GRAD_BODY(row, p, a)                                                        \
  {                                                                                     \
    const size_t at_ = (row) * inner + (size_t) (p) * S4J_LANES;                        \
    s4j_grad_row(kind, slices, m[p], gy + at_, y + at_, gx + at_, sum[p], k);           \
    if (fused) s4j_add_row(kind, 1, m[p], gy + slab + at_, y + slab + at_, &lo[a], &hi[a]); \
  }
#define S4J_GRAD_REST(row)                                                             \
  {                                                                                    \
    const size_t at_ = (row) * inner;                                                  \
    s4j_grad_row(kind, slices, m[0], gy + at_, y + at_, gx + at_, sum[0], k);          \
    if (fused) s4j_add_row(kind, 1, m[0], gy + slab + at_, y + slab + at_, &lo[0], &hi[0]); \
  }
  S4J_GROUP_ROWS(nv, dim, S4J_GRAD_START, S4J_GRAD_BODY, S4J_GRAD_REST);
#undef S4J_GRAD_START
#undef S4J_GRAD_BODY
#undef S4J_GRAD_REST
  if (!fused) return;
  s4j_fold_chains(nv, lo, hi);
#pragma GCC unroll 4
  for (int v = 0; v < nv; v++) next_sum[v] = s4j_join_f32(lo[v], hi[v]);
}

/* The backward of one group of a row with several groups: its sums, then
 * its gradient. gx may be gy or y: each pass reads an element before it
 * writes it, and the sums are complete before the gradient starts. */
static inline __attribute__((always_inline)) void s4j_backward_group(
    enum s4j_softmax_kind kind, const int nv, size_t dim, size_t inner, size_t left, size_t next,
    size_t after, const float *gy, const float *y, float *gx,
    const struct s4j_exp_f32_avx512_consts *k) {
  __mmask16 m[S4J_DIM_VECS];
#pragma GCC unroll 4
  for (int v = 0; v < S4J_DIM_VECS; v++) m[v] = s4j_lanes(left, (size_t) v * S4J_LANES);
  __m512 sum[S4J_DIM_VECS];
  s4j_group_sums(kind, nv, dim, inner, m, next, after, gy, y, gx, sum);
  s4j_group_grad(kind, nv, dim, inner, m, next, 0, 0, 0, gy, y, gx, sum, NULL, k);
}

/*
 * The backward when a slice is one group (inner <= 64: the slice's rows lie
 * next to each other): every slice's gradient pass takes the next slice's
 * sums, so that only the first slice has a sum pass of its own
 * ([64,1000,16] against the same rows along the last dimension: see the
 * bench README). The next slice's gy and y are only read before any of its
 * gx is written, so gx may still be gy or y.
 */
static inline __attribute__((always_inline)) void s4j_backward_slices(
    enum s4j_softmax_kind kind, const int nv, size_t outer, size_t dim, size_t inner,
    const float *gy, const float *y, float *gx, const struct s4j_exp_f32_avx512_consts *k) {
  __mmask16 m[S4J_DIM_VECS];
#pragma GCC unroll 4
  for (int v = 0; v < S4J_DIM_VECS; v++) m[v] = s4j_lanes(inner, (size_t) v * S4J_LANES);
  const size_t slab = dim * inner;
  __m512 sum[S4J_DIM_VECS], next_sum[S4J_DIM_VECS];
  s4j_group_sums(kind, nv, dim, inner, m, 0, 0, gy, y, gx, sum);
  for (size_t o = 0; o < outer; o++) {
    const size_t at = o * slab;
    if (o + 1 < outer) {
      s4j_group_grad(kind, nv, dim, inner, m, 0, 1, 1, slab, gy + at, y + at, gx + at, sum, next_sum, k);
#pragma GCC unroll 4
      for (int v = 0; v < nv; v++) sum[v] = next_sum[v];
    } else {
      s4j_group_grad(kind, nv, dim, inner, m, 0, 1, 0, 0, gy + at, y + at, gx + at, sum, NULL, k);
    }
  }
}

/*
 * LogSumExp backward of one group from the saved input x: the softmax
 * statistics, which leave exp(x - max) in gx (the faithful exp), then gx *=
 * (float) (gy / s) down the rows, the quotient in double. The group's rows
 * stay cached between the passes, so gx goes to memory once. gx may be x:
 * each pass reads an element before it writes it.
 */
static inline __attribute__((always_inline)) void s4j_lse_backward_group(
    const int nv, size_t dim, size_t inner, size_t left, size_t next, const float *gy,
    const float *x, float *gx, const struct s4j_exp_f32_avx512_consts *k,
    const struct s4j_expsum_f32_avx512_consts *ks) {
  __mmask16 m[S4J_DIM_VECS];
#pragma GCC unroll 4
  for (int v = 0; v < nv; v++) m[v] = s4j_lanes(left, (size_t) v * S4J_LANES);
  __m512 vmax[S4J_DIM_VECS], t[S4J_DIM_VECS];
  __m512d slo[S4J_DIM_VECS], shi[S4J_DIM_VECS];
  if (nv == 1) {
    s4j_narrow_stats(S4J_KIND_SOFTMAX, dim, inner, m[0], x, gx, NULL, vmax, slo, shi, k, ks);
  } else {
    s4j_group_stats(S4J_KIND_SOFTMAX, nv, dim, inner, m, next, 0, x, gx, NULL, vmax, slo, shi, k, ks);
  }
#pragma GCC unroll 4
  for (int v = 0; v < nv; v++) {
    /* Lanes outside the group divide 0 by 0 and are never stored. */
    const __m512 g = _mm512_maskz_loadu_ps(m[v], gy + v * S4J_LANES);
    t[v] = s4j_join_f32(_mm512_div_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(g)), slo[v]),
                        _mm512_div_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(g, 1)), shi[v]));
  }
  for (size_t c = 0; c < dim; c++) {
    float *out = gx + c * inner;
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) {
      float *o = out + v * S4J_LANES;
      _mm512_mask_storeu_ps(o, m[v], _mm512_mul_ps(_mm512_maskz_loadu_ps(m[v], o), t[v]));
    }
  }
}

/* The LogSumExp backward: gy is [outer, inner], x the forward's input. */
static void s4j_lse_backward(size_t outer, size_t dim, size_t inner, const float *gy,
                             const float *x, float *gx) {
  const struct s4j_exp_f32_avx512_consts k = s4j_exp_f32_avx512_init();
  const struct s4j_expsum_f32_avx512_consts ks = s4j_expsum_f32_avx512_init();
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    for (size_t j = 0; j < inner; j += S4J_DIM_VECS * S4J_LANES) {
      const size_t at = base + j, left = inner - j;
      const float *g = gy + o * inner + j;
      /* x and gx are in the same layout: the statistics' exp pass asks for both. */
      const size_t next = s4j_ahead(o, j, 1, outer, dim, inner);
      switch (left > 3 * S4J_LANES ? 4 : (left + S4J_LANES - 1) / S4J_LANES) {
        case 1: s4j_lse_backward_group(1, dim, inner, left, next, g, x + at, gx + at, &k, &ks); break;
        case 2: s4j_lse_backward_group(2, dim, inner, left, next, g, x + at, gx + at, &k, &ks); break;
        case 3: s4j_lse_backward_group(3, dim, inner, left, next, g, x + at, gx + at, &k, &ks); break;
        default: s4j_lse_backward_group(4, dim, inner, left, next, g, x + at, gx + at, &k, &ks); break;
      }
    }
  }
}

void s4j_f32_softmax_dim_fwd_ukernel__avx512(enum s4j_softmax_kind kind, size_t outer,
                                             size_t dim, size_t inner, const float *x, float *y) {
  const struct s4j_exp_f32_avx512_consts k = s4j_exp_f32_avx512_init();
  const struct s4j_expsum_f32_avx512_consts ks = s4j_expsum_f32_avx512_init();
  /* Slices of one or two vectors: three or four, whose fused exp pass
   * keeps more in registers than there are, ran slower than with a pass 3
   * per slice (B/A 1.03-1.15 on [16,1000,64], [200,50,40], [1000,100,33]). */
  if (inner <= 2 * S4J_LANES && (kind == S4J_KIND_LOG_SOFTMAX || kind == S4J_KIND_SOFTMAX)) {
    if (inner <= S4J_LANES) {
      s4j_forward_slices(kind, 1, outer, dim, inner, x, y, &k, &ks);
    } else {
      s4j_forward_slices(kind, 2, outer, dim, inner, x, y, &k, &ks);
    }
    return;
  }
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    /* LogSumExp writes one value per position: its output is [outer, inner]. */
    float *out = y + (kind == S4J_KIND_LOGSUMEXP ? o * inner : kind == S4J_KIND_STATS ? 2 * o * inner : base);
    for (size_t j = 0; j < inner; j += S4J_DIM_VECS * S4J_LANES) {
      const size_t left = inner - j;
      float *at = out + (kind == S4J_KIND_STATS ? 2 * j : j);
      const size_t next = s4j_ahead(o, j, 1, outer, dim, inner);
      const float *in = x + base + j;
      switch (left > 3 * S4J_LANES ? 4 : (left + S4J_LANES - 1) / S4J_LANES) {
        case 1: s4j_forward_group(kind, 1, dim, inner, left, next, in, at, &k, &ks); break;
        case 2: s4j_forward_group(kind, 2, dim, inner, left, next, in, at, &k, &ks); break;
        case 3: s4j_forward_group(kind, 3, dim, inner, left, next, in, at, &k, &ks); break;
        default: s4j_forward_group(kind, 4, dim, inner, left, next, in, at, &k, &ks); break;
      }
    }
  }
}

/* The softmax gradient of one row of a block, n positions with their sums
 * in sum[]: the 64-byte aligned middle of gx with non-temporal stores, the
 * partial lines at either end (shared with the blocks beside) with plain
 * ones. */
static inline void s4j_stream_grad_row(size_t n, const float *g, const float *o, float *out,
                                       const float *sum, const struct s4j_exp_f32_avx512_consts *k) {
  const size_t mis = (size_t) (((uintptr_t) out & 63u) / sizeof(float));
  const size_t head = mis == 0 ? 0 : S4J_LANES - mis < n ? S4J_LANES - mis : n;
  if (head != 0) {
    const __mmask16 m = s4j_lanes(head, 0);
    s4j_grad_row(S4J_KIND_SOFTMAX, 0, m, g, o, out, _mm512_maskz_loadu_ps(m, sum), k);
  }
  size_t i = head;
  for (; i + S4J_LANES <= n; i += S4J_LANES) {
    const __m512 gv = _mm512_loadu_ps(g + i), ov = _mm512_loadu_ps(o + i);
    _mm512_stream_ps(out + i, _mm512_mul_ps(ov, _mm512_sub_ps(gv, _mm512_loadu_ps(sum + i))));
  }
  if (i < n) {
    const __mmask16 m = s4j_lanes(n - i, 0);
    s4j_grad_row(S4J_KIND_SOFTMAX, 0, m, g + i, o + i, out + i, _mm512_maskz_loadu_ps(m, sum + i), k);
  }
}

/*
 * Softmax backward where the rows are far apart and gx goes to memory
 * (s4j_f32_softmax_dim_bwd_ukernel__avx512): in blocks of positions
 * (s4j_stream_block) along inner. Each block's sums are taken group by
 * group as in s4j_backward_group, then its gradient row by row, from L2,
 * with non-temporal stores: gx no longer takes a read for ownership of each
 * line (16 -> 12 bytes of memory traffic per element), and each row's
 * stores run over whole lines ([32,81,8732] B/A 0.74-0.76, [16,200,4096]
 * 0.71, [4,1000,2000] 0.68-0.75). Log-softmax's exp-bound gradient pass is
 * where its group plan fetches the next group, and it ran 1.7-2.6 x slower
 * this way. gx may be gy or y: the gradient reads each element in the
 * vector op that writes it, after all of the block's sums.
 */
static void s4j_softmax_backward_streamed(size_t outer, size_t dim, size_t inner, const float *gy,
                                          const float *y, float *gx,
                                          const struct s4j_exp_f32_avx512_consts *k) {
  const size_t group = S4J_DIM_VECS * S4J_LANES, width = s4j_stream_block(dim, group);
  _Alignas(64) float sums[S4J_STREAM_BLOCK_MAX];
  for (size_t o = 0; o < outer; o++) {
    for (size_t j0 = 0; j0 < inner; j0 += width) {
      const size_t w = inner - j0 < width ? inner - j0 : width;
      const size_t base = o * dim * inner + j0;
      for (size_t s = 0; s < w; s += group) {
        __mmask16 m[S4J_DIM_VECS];
        for (int v = 0; v < S4J_DIM_VECS; v++) m[v] = s4j_lanes(w - s, (size_t) v * S4J_LANES);
        /* The sum pass asks for the next group's gy and y (two ahead, the
         * group plan's, measured no faster here). */
        const size_t next = s4j_ahead(o, j0 + s, 1, outer, dim, inner);
        __m512 sum[S4J_DIM_VECS];
        s4j_group_sums(S4J_KIND_SOFTMAX, S4J_DIM_VECS, dim, inner, m, next, next, gy + base + s,
                       y + base + s, NULL, sum);
        for (int v = 0; v < S4J_DIM_VECS; v++) _mm512_store_ps(sums + s + v * S4J_LANES, sum[v]);
      }
      for (size_t c = 0; c < dim; c++) {
        const size_t at = base + c * inner;
        s4j_stream_grad_row(w, gy + at, y + at, gx + at, sums, k);
      }
    }
  }
  _mm_sfence();
}

void s4j_f32_softmax_dim_bwd_ukernel__avx512(enum s4j_softmax_kind kind, size_t outer,
                                             size_t dim, size_t inner, const float *gy,
                                             const float *y, float *gx) {
  if (kind == S4J_KIND_LOGSUMEXP) {
    s4j_lse_backward(outer, dim, inner, gy, y, gx);
    return;
  }
  const struct s4j_exp_f32_avx512_consts k = s4j_exp_f32_avx512_init();
  if (kind == S4J_KIND_SOFTMAX && s4j_dim_streams(outer, dim, inner, S4J_DIM_VECS * S4J_LANES, gx)) {
    s4j_softmax_backward_streamed(outer, dim, inner, gy, y, gx, &k);
    return;
  }
  if (inner <= S4J_DIM_VECS * S4J_LANES) {
    switch ((inner + S4J_LANES - 1) / S4J_LANES) {
      case 1: s4j_backward_slices(kind, 1, outer, dim, inner, gy, y, gx, &k); break;
      case 2: s4j_backward_slices(kind, 2, outer, dim, inner, gy, y, gx, &k); break;
      case 3: s4j_backward_slices(kind, 3, outer, dim, inner, gy, y, gx, &k); break;
      default: s4j_backward_slices(kind, 4, outer, dim, inner, gy, y, gx, &k); break;
    }
    return;
  }
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    for (size_t j = 0; j < inner; j += S4J_DIM_VECS * S4J_LANES) {
      const size_t at = base + j, left = inner - j;
      const size_t next = s4j_ahead(o, j, 1, outer, dim, inner);
      const size_t after = s4j_ahead(o, j, 2, outer, dim, inner);
      const float *g = gy + at, *s = y + at;
      float *out = gx + at;
      switch (left > 3 * S4J_LANES ? 4 : (left + S4J_LANES - 1) / S4J_LANES) {
        case 1: s4j_backward_group(kind, 1, dim, inner, left, next, after, g, s, out, &k); break;
        case 2: s4j_backward_group(kind, 2, dim, inner, left, next, after, g, s, out, &k); break;
        case 3: s4j_backward_group(kind, 3, dim, inner, left, next, after, g, s, out, &k); break;
        default: s4j_backward_group(kind, 4, dim, inner, left, next, after, g, s, out, &k); break;
      }
    }
  }
}
