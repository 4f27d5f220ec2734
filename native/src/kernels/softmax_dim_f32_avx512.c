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

/*
 * One group: the `left` (or 16 * nv, if fewer) positions from x (at
 * [o, 0, j]) down all dim rows, nv vectors wide (a constant after
 * inlining). A wider group reads longer runs of each row (nv lines), which
 * the hardware prefetchers follow better when the rows are far apart.
 * First the statistics: pass 1, the max per position, and pass 2, the sum
 * of exp(x - max) (softmax keeps each exp in y).
 */
static inline __attribute__((always_inline)) void s4j_group_stats(
    enum s4j_softmax_kind kind, const int nv, size_t dim, size_t inner, const __mmask16 *m,
    const float *x, float *y, __m512 *vmax, __m512d *slo, __m512d *shi,
    const struct s4j_exp_f32_avx512_consts *k, const struct s4j_expsum_f32_avx512_consts *ks) {
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
#pragma GCC unroll 4
      for (int v = 0; v < nv; v++) {
        const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m[v], row + v * S4J_LANES), vmax[v]);
        /* Log-softmax only needs the sum: the cheaper sum-only exp (exp_f32.h).
         * Softmax keeps each exp as its output: the faithful one. */
        const __m512 e = kind == S4J_KIND_SOFTMAX ? s4j_exp_f32_avx512(d, k) : s4j_expsum_f32_avx512(d, ks);
        f[v] = _mm512_add_ps(f[v], e);
        /* Softmax keeps exp(x - max) in y, to scale it in place below. */
        if (kind == S4J_KIND_SOFTMAX) _mm512_mask_storeu_ps(out + v * S4J_LANES, m[v], e);
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
 */
static inline __attribute__((always_inline)) void s4j_narrow_stats(
    enum s4j_softmax_kind kind, size_t dim, size_t inner, __mmask16 m, const float *x, float *y,
    __m512 *vmax, __m512d *slo, __m512d *shi, const struct s4j_exp_f32_avx512_consts *k,
    const struct s4j_expsum_f32_avx512_consts *ks) {
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

  __m512d lo = _mm512_setzero_pd(), hi = lo;
  for (size_t c0 = 0; c0 < dim; c0 += S4J_DIM_FLOAT_RUN) {
    const size_t c1 = dim - c0 < S4J_DIM_FLOAT_RUN ? dim : c0 + S4J_DIM_FLOAT_RUN;
    __m512 f[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    if (c1 - c0 == S4J_DIM_FLOAT_RUN) {
#pragma GCC unroll 8
      for (size_t r = 0; r < S4J_DIM_FLOAT_RUN; r++) {
        const size_t row = c0 + r;
        const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + row * inner), mx);
        const __m512 e = kind == S4J_KIND_SOFTMAX ? s4j_exp_f32_avx512(d, k) : s4j_expsum_f32_avx512(d, ks);
        f[r % 4] = _mm512_add_ps(f[r % 4], e);
        if (kind == S4J_KIND_SOFTMAX) _mm512_mask_storeu_ps(y + row * inner, m, e);
      }
    } else {
      for (size_t row = c0; row < c1; row++) {
        const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + row * inner), mx);
        const __m512 e = kind == S4J_KIND_SOFTMAX ? s4j_exp_f32_avx512(d, k) : s4j_expsum_f32_avx512(d, ks);
        f[0] = _mm512_add_ps(f[0], e);
        if (kind == S4J_KIND_SOFTMAX) _mm512_mask_storeu_ps(y + row * inner, m, e);
      }
    }
    s4j_add_f64(&lo, &hi, _mm512_add_ps(_mm512_add_ps(f[0], f[1]), _mm512_add_ps(f[2], f[3])));
  }
  *slo = lo;
  *shi = hi;
}

/* The outputs of a group from its statistics: per position (STATS,
 * LOGSUMEXP), or pass 3 down the rows. */
static inline __attribute__((always_inline)) void s4j_group_finish(
    enum s4j_softmax_kind kind, const int nv, size_t dim, size_t inner, size_t left,
    const __mmask16 *m, const float *x, float *y, const __m512 *vmax, const __m512d *slo,
    const __m512d *shi) {
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

  /* log(s) for log-softmax, 1/s for softmax, rounded to float once. */
  __m512 t[S4J_DIM_VECS];
  const __m512d one = _mm512_set1_pd(1.0);
#pragma GCC unroll 4
  for (int v = 0; v < nv; v++) {
    t[v] = kind == S4J_KIND_LOG_SOFTMAX
               ? s4j_join_f32(s4j_log_f64_avx512(slo[v]), s4j_log_f64_avx512(shi[v]))
               : s4j_join_f32(_mm512_div_pd(one, slo[v]), _mm512_div_pd(one, shi[v]));
  }

  for (size_t c = 0; c < dim; c++) {
    const float *row = x + c * inner;
    float *out = y + c * inner;
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) {
      float *o = out + v * S4J_LANES;
      if (kind == S4J_KIND_LOG_SOFTMAX) {
        const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m[v], row + v * S4J_LANES), vmax[v]);
        _mm512_mask_storeu_ps(o, m[v], _mm512_sub_ps(d, t[v]));
      } else {
        _mm512_mask_storeu_ps(o, m[v], _mm512_mul_ps(_mm512_maskz_loadu_ps(m[v], o), t[v]));
      }
    }
  }
}

/* One group: statistics, then outputs. */
static inline __attribute__((always_inline)) void s4j_forward_group(
    enum s4j_softmax_kind kind, const int nv, size_t dim, size_t inner, size_t left, const float *x,
    float *y, const struct s4j_exp_f32_avx512_consts *k,
    const struct s4j_expsum_f32_avx512_consts *ks) {
  __mmask16 m[S4J_DIM_VECS];
#pragma GCC unroll 4
  for (int v = 0; v < nv; v++) m[v] = s4j_lanes(left, (size_t) v * S4J_LANES);
  __m512 vmax[S4J_DIM_VECS];
  __m512d slo[S4J_DIM_VECS], shi[S4J_DIM_VECS];
  if (nv == 1) {
    s4j_narrow_stats(kind, dim, inner, m[0], x, y, vmax, slo, shi, k, ks);
  } else {
    s4j_group_stats(kind, nv, dim, inner, m, x, y, vmax, slo, shi, k, ks);
  }
  s4j_group_finish(kind, nv, dim, inner, left, m, x, y, vmax, slo, shi);
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

/* Asks for the lines of the 64 floats at p (five lines when p is not
 * line-aligned), to read, or to write (prefetchw: the line arrives owned,
 * so the store that follows does not wait for it). */
static inline void s4j_prefetch_group(const float *p, const int write) {
#pragma GCC unroll 4
  for (int v = 0; v < S4J_DIM_VECS; v++) {
    if (write) {
      __builtin_prefetch(p + v * S4J_LANES, 1, 3);
    } else {
      _mm_prefetch((const char *) (p + v * S4J_LANES), _MM_HINT_T0);
    }
  }
  const float *last = p + S4J_DIM_VECS * S4J_LANES - 1;
  if (write) {
    __builtin_prefetch(last, 1, 3);
  } else {
    _mm_prefetch((const char *) last, _MM_HINT_T0);
  }
}

/*
 * The backward of one group. `next` and `after` are the offsets (in floats)
 * from this group to the next one and the one after it, or 0 where there is
 * none or where the rows are close enough for the hardware prefetchers
 * (see s4j_group_ahead).
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
 * tried were 0.1-0.3 slower.)
 */
static inline __attribute__((always_inline)) void s4j_backward_group(
    enum s4j_softmax_kind kind, const int nv, size_t dim, size_t inner, size_t left, size_t next,
    size_t after, const float *gy, const float *y, float *gx,
    const struct s4j_exp_f32_avx512_consts *k) {
  __mmask16 m[S4J_DIM_VECS];
  __m512d slo[S4J_DIM_VECS], shi[S4J_DIM_VECS];
#pragma GCC unroll 4
  for (int v = 0; v < S4J_DIM_VECS; v++) {
    m[v] = s4j_lanes(left, (size_t) v * S4J_LANES);
    slo[v] = shi[v] = _mm512_setzero_pd();
  }
  /* A one-vector group sums rows four at a time into the four chains'
   * accumulators (as s4j_narrow_stats), then adds them up. */
  const size_t step = nv == 1 ? 4 : 1;
  const int chains = nv == 1 ? 4 : nv;
  size_t r0 = 0;
  for (; r0 + step <= dim; r0 += step) {
    if (next != 0) {
      s4j_prefetch_group(gx + r0 * inner + next, 1);
      if (kind == S4J_KIND_SOFTMAX && after != 0) {
        s4j_prefetch_group(gy + r0 * inner + after, 0);
        s4j_prefetch_group(y + r0 * inner + after, 0);
      }
    }
#pragma GCC unroll 4
    for (int v = 0; v < chains; v++) {
      /* The vector of positions, and the row, of this accumulator. */
      const int p = nv == 1 ? 0 : v;
      const size_t row = nv == 1 ? r0 + (size_t) v : r0;
      const float *g = gy + row * inner + p * S4J_LANES;
      const float *o = y + row * inner + p * S4J_LANES;
      const __m512 gv = _mm512_maskz_loadu_ps(m[p], g);
      if (kind == S4J_KIND_LOG_SOFTMAX) {
        /* This pass does not read y, the next one does, between exps: fetch
         * y's lines now, while this light pass leaves the miss buffers free,
         * so that the exp-heavy pass does not wait on memory a few rows at a
         * time. */
        _mm_prefetch((const char *) o, _MM_HINT_T0);
        s4j_add_f64(&slo[v], &shi[v], gv);
      } else {
        s4j_fma_products_f64(&slo[v], &shi[v], gv, _mm512_maskz_loadu_ps(m[p], o));
      }
    }
  }
  if (nv == 1) {
    for (; r0 < dim; r0++) {
      const __m512 gv = _mm512_maskz_loadu_ps(m[0], gy + r0 * inner);
      if (kind == S4J_KIND_LOG_SOFTMAX) {
        s4j_add_f64(&slo[0], &shi[0], gv);
      } else {
        s4j_fma_products_f64(&slo[0], &shi[0], gv, _mm512_maskz_loadu_ps(m[0], y + r0 * inner));
      }
    }
    slo[0] = _mm512_add_pd(_mm512_add_pd(slo[0], slo[1]), _mm512_add_pd(slo[2], slo[3]));
    shi[0] = _mm512_add_pd(_mm512_add_pd(shi[0], shi[1]), _mm512_add_pd(shi[2], shi[3]));
  }
  __m512 sum[S4J_DIM_VECS];
#pragma GCC unroll 4
  for (int v = 0; v < nv; v++) sum[v] = s4j_join_f32(slo[v], shi[v]);

  for (size_t c = 0; c < dim; c++) {
    const float *g = gy + c * inner;
    const float *o = y + c * inner;
    float *out = gx + c * inner;
    if (kind == S4J_KIND_LOG_SOFTMAX && next != 0) {
      s4j_prefetch_group(g + next, 0);
      s4j_prefetch_group(o + next, 0);
    }
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) {
      const __m512 gv = _mm512_maskz_loadu_ps(m[v], g + v * S4J_LANES);
      const __m512 ov = _mm512_maskz_loadu_ps(m[v], o + v * S4J_LANES);
      /* Log-softmax: the backward exp and one rounding, as the row kernels. */
      const __m512 r = kind == S4J_KIND_LOG_SOFTMAX
                           ? _mm512_fnmadd_ps(s4j_expgrad_f32_avx512(ov, k), sum[v], gv)
                           : _mm512_mul_ps(ov, _mm512_sub_ps(gv, sum[v]));
      _mm512_mask_storeu_ps(out + v * S4J_LANES, m[v], r);
    }
  }
}

/*
 * The offset, in floats, from the group at [o, 0, j] to the one `ahead`
 * groups later in the order the kernels run them (along inner, then the
 * next outer index), or 0 if there is none or the rows are at most one
 * group long: then each pass reads whole rows that lie next to each other,
 * as the hardware prefetchers like.
 */
static size_t s4j_group_ahead(size_t o, size_t j, size_t ahead, size_t outer, size_t dim,
                              size_t inner) {
  const size_t width = S4J_DIM_VECS * S4J_LANES;
  if (inner <= width) return 0;
  const size_t groups = (inner + width - 1) / width;
  const size_t at = o * groups + j / width + ahead;
  if (at >= outer * groups) return 0;
  return (at / groups - o) * dim * inner + (at % groups) * width - j;
}

/*
 * LogSumExp backward of one group from the saved input x: the softmax
 * statistics, which leave exp(x - max) in gx (the faithful exp), then gx *=
 * (float) (gy / s) down the rows, the quotient in double. The group's rows
 * stay cached between the passes, so gx goes to memory once. gx may be x:
 * each pass reads an element before it writes it.
 */
static inline __attribute__((always_inline)) void s4j_lse_backward_group(
    const int nv, size_t dim, size_t inner, size_t left, const float *gy, const float *x,
    float *gx, const struct s4j_exp_f32_avx512_consts *k,
    const struct s4j_expsum_f32_avx512_consts *ks) {
  __mmask16 m[S4J_DIM_VECS];
#pragma GCC unroll 4
  for (int v = 0; v < nv; v++) m[v] = s4j_lanes(left, (size_t) v * S4J_LANES);
  __m512 vmax[S4J_DIM_VECS], t[S4J_DIM_VECS];
  __m512d slo[S4J_DIM_VECS], shi[S4J_DIM_VECS];
  if (nv == 1) {
    s4j_narrow_stats(S4J_KIND_SOFTMAX, dim, inner, m[0], x, gx, vmax, slo, shi, k, ks);
  } else {
    s4j_group_stats(S4J_KIND_SOFTMAX, nv, dim, inner, m, x, gx, vmax, slo, shi, k, ks);
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
      switch (left > 3 * S4J_LANES ? 4 : (left + S4J_LANES - 1) / S4J_LANES) {
        case 1: s4j_lse_backward_group(1, dim, inner, left, g, x + at, gx + at, &k, &ks); break;
        case 2: s4j_lse_backward_group(2, dim, inner, left, g, x + at, gx + at, &k, &ks); break;
        case 3: s4j_lse_backward_group(3, dim, inner, left, g, x + at, gx + at, &k, &ks); break;
        default: s4j_lse_backward_group(4, dim, inner, left, g, x + at, gx + at, &k, &ks); break;
      }
    }
  }
}

void s4j_f32_softmax_dim_fwd_ukernel__avx512(enum s4j_softmax_kind kind, size_t outer,
                                             size_t dim, size_t inner, const float *x, float *y) {
  const struct s4j_exp_f32_avx512_consts k = s4j_exp_f32_avx512_init();
  const struct s4j_expsum_f32_avx512_consts ks = s4j_expsum_f32_avx512_init();
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    /* LogSumExp writes one value per position: its output is [outer, inner]. */
    float *out = y + (kind == S4J_KIND_LOGSUMEXP ? o * inner : kind == S4J_KIND_STATS ? 2 * o * inner : base);
    for (size_t j = 0; j < inner; j += S4J_DIM_VECS * S4J_LANES) {
      const size_t left = inner - j;
      float *at = out + (kind == S4J_KIND_STATS ? 2 * j : j);
      switch (left > 3 * S4J_LANES ? 4 : (left + S4J_LANES - 1) / S4J_LANES) {
        case 1: s4j_forward_group(kind, 1, dim, inner, left, x + base + j, at, &k, &ks); break;
        case 2: s4j_forward_group(kind, 2, dim, inner, left, x + base + j, at, &k, &ks); break;
        case 3: s4j_forward_group(kind, 3, dim, inner, left, x + base + j, at, &k, &ks); break;
        default: s4j_forward_group(kind, 4, dim, inner, left, x + base + j, at, &k, &ks); break;
      }
    }
  }
}

void s4j_f32_softmax_dim_bwd_ukernel__avx512(enum s4j_softmax_kind kind, size_t outer,
                                             size_t dim, size_t inner, const float *gy,
                                             const float *y, float *gx) {
  if (kind == S4J_KIND_LOGSUMEXP) {
    s4j_lse_backward(outer, dim, inner, gy, y, gx);
    return;
  }
  const struct s4j_exp_f32_avx512_consts k = s4j_exp_f32_avx512_init();
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    for (size_t j = 0; j < inner; j += S4J_DIM_VECS * S4J_LANES) {
      const size_t at = base + j, left = inner - j;
      const size_t next = s4j_group_ahead(o, j, 1, outer, dim, inner);
      const size_t after = s4j_group_ahead(o, j, 2, outer, dim, inner);
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
