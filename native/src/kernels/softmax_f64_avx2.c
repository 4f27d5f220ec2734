/*
 * softmax_f64_avx2.c - float64 log-softmax and softmax over any dimension
 * with AVX2+FMA: the AVX-512 kernels' design (softmax_f64_avx512.c) with 4
 * doubles per vector and vmaskmovpd tails (their stores: store_avx2.h).
 */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/softmax_f64.h"
#include "kernels/store_avx2.h"
#include "math/exp_f64_avx2.h"
#include "math/log_f64.h"
#include "math/log_f64_avx2.h"
#include "math/sum_f64.h"

/* Lanes [0, n) of a mask vector, n in [0, 4]. */
static inline __m256i s4j_tail_mask(size_t n) {
  static const int64_t bits[8] = {-1, -1, -1, -1, 0, 0, 0, 0};
  return _mm256_loadu_si256((const __m256i *) (const void *) (bits + 4 - n));
}

static inline __m256d s4j_maskz_load(__m256i lanes, const double *p) {
  return _mm256_maskload_pd(p, lanes);
}

static inline void s4j_mask_store(double *p, __m256i lanes, __m256d v) {
  s4j_store_prefix_pd(p, lanes, v);
}

static inline void s4j_kahan_add(__m256d *s, __m256d *c, __m256d t) {
  const __m256d y = _mm256_sub_pd(t, *c);
  const __m256d sum = _mm256_add_pd(*s, y);
  *c = _mm256_sub_pd(_mm256_sub_pd(sum, *s), y);
  *s = sum;
}

/* The lanes of a Kahan pair (sum - c per lane) merged into one total. */
static double s4j_kahan_reduce(__m256d s, __m256d c) {
  double sl[4], cl[4];
  _mm256_storeu_pd(sl, s);
  _mm256_storeu_pd(cl, c);
  double total = 0.0, comp = 0.0;
  for (int l = 0; l < 4; l++) {
    s4j_neumaier_add(&total, &comp, sl[l]);
    s4j_neumaier_add(&total, &comp, -cl[l]);
  }
  return s4j_neumaier_total(total, comp);
}

/* Per lane: sum - c where the sum is finite, the sum itself otherwise. */
static inline __m256d s4j_kahan_total(__m256d s, __m256d c) {
  const __m256d finite = _mm256_cmp_pd(_mm256_sub_pd(s, s), _mm256_setzero_pd(), _CMP_EQ_OQ);
  return _mm256_blendv_pd(s, _mm256_sub_pd(s, c), finite);
}

/* The largest lane (a NaN lane may be dropped: its exp makes the sum NaN). */
static inline double s4j_reduce_max(__m256d v) {
  double l[4];
  _mm256_storeu_pd(l, v);
  double m = l[0];
  for (int i = 1; i < 4; i++) m = l[i] > m ? l[i] : m;
  return m;
}

/* The first two passes of a row: its max (broadcast into *max) and the sum
 * of exp(x - max). */
static double s4j_row_max_sum(size_t n, const double *x, __m256d *max) {
  const size_t full = n & ~(size_t) 3;
  const size_t rest = n - full;
  const __m256i tail = s4j_tail_mask(rest);

  __m256d vm = _mm256_set1_pd(-__builtin_inf());
  for (size_t i = 0; i < full; i += 4) vm = _mm256_max_pd(vm, _mm256_loadu_pd(x + i));
  double mx = s4j_reduce_max(vm);
  for (size_t i = full; i < n; i++) mx = x[i] > mx ? x[i] : mx;
  /* A NaN the max drops still makes its exp, and the sum, NaN. */
  const __m256d m = _mm256_set1_pd(mx);

  __m256d vs = _mm256_setzero_pd(), vc = _mm256_setzero_pd();
  for (size_t i = 0; i < full; i += 4) {
    s4j_kahan_add(&vs, &vc, s4j_exp_f64_avx2(_mm256_sub_pd(_mm256_loadu_pd(x + i), m)));
  }
  if (rest) {
    const __m256d e = s4j_exp_f64_avx2(_mm256_sub_pd(s4j_maskz_load(tail, x + full), m));
    s4j_kahan_add(&vs, &vc, _mm256_and_pd(e, _mm256_castsi256_pd(tail)));
  }
  *max = m;
  return s4j_kahan_reduce(vs, vc);
}

static void s4j_forward_row(enum s4j_softmax_kind kind, size_t n, const double *x, double *y) {
  const size_t full = n & ~(size_t) 3;
  const size_t rest = n - full;
  const __m256i tail = s4j_tail_mask(rest);
  __m256d m;
  const double total = s4j_row_max_sum(n, x, &m);

  if (kind == S4J_KIND_LOG_SOFTMAX) {
    const __m256d t = _mm256_set1_pd(s4j_log_f64(total));
    for (size_t i = 0; i < full; i += 4) {
      _mm256_storeu_pd(y + i, _mm256_sub_pd(_mm256_sub_pd(_mm256_loadu_pd(x + i), m), t));
    }
    if (rest) {
      const __m256d v = s4j_maskz_load(tail, x + full);
      s4j_mask_store(y + full, tail, _mm256_sub_pd(_mm256_sub_pd(v, m), t));
    }
  } else {
    const __m256d t = _mm256_set1_pd(1.0 / total);
    for (size_t i = 0; i < full; i += 4) {
      const __m256d e = s4j_exp_f64_avx2(_mm256_sub_pd(_mm256_loadu_pd(x + i), m));
      _mm256_storeu_pd(y + i, _mm256_mul_pd(e, t));
    }
    if (rest) {
      const __m256d e = s4j_exp_f64_avx2(_mm256_sub_pd(s4j_maskz_load(tail, x + full), m));
      s4j_mask_store(y + full, tail, _mm256_mul_pd(e, t));
    }
  }
}

/* gx from gy, y and the column sum S, per lane. */
static inline __m256d s4j_backward_lanes(enum s4j_softmax_kind kind, __m256d g, __m256d o,
                                         __m256d sum) {
  return kind == S4J_KIND_LOG_SOFTMAX ? _mm256_fnmadd_pd(s4j_exp_f64_avx2(o), sum, g)
                                      : _mm256_mul_pd(o, _mm256_sub_pd(g, sum));
}

static inline __m256d s4j_backward_term(enum s4j_softmax_kind kind, __m256d g, __m256d o) {
  return kind == S4J_KIND_LOG_SOFTMAX ? g : _mm256_mul_pd(g, o);
}

static void s4j_backward_row(enum s4j_softmax_kind kind, size_t n, const double *gy,
                             const double *y, double *gx) {
  const size_t full = n & ~(size_t) 3;
  const size_t rest = n - full;
  const __m256i tail = s4j_tail_mask(rest);

  __m256d vs = _mm256_setzero_pd(), vc = _mm256_setzero_pd();
  for (size_t i = 0; i < full; i += 4) {
    s4j_kahan_add(&vs, &vc, s4j_backward_term(kind, _mm256_loadu_pd(gy + i), _mm256_loadu_pd(y + i)));
  }
  if (rest) {
    s4j_kahan_add(&vs, &vc, s4j_backward_term(kind, s4j_maskz_load(tail, gy + full),
                                              s4j_maskz_load(tail, y + full)));
  }
  const __m256d sum = _mm256_set1_pd(s4j_kahan_reduce(vs, vc));
  for (size_t i = 0; i < full; i += 4) {
    _mm256_storeu_pd(gx + i, s4j_backward_lanes(kind, _mm256_loadu_pd(gy + i), _mm256_loadu_pd(y + i), sum));
  }
  if (rest) {
    const __m256d g = s4j_maskz_load(tail, gy + full);
    const __m256d o = s4j_maskz_load(tail, y + full);
    s4j_mask_store(gx + full, tail, s4j_backward_lanes(kind, g, o, sum));
  }
}

/* Groups are up to 4 positions (lanes in `lanes`) of a [dim, inner] slab:
 * half a line of each row. Their prefetches look this many groups (two
 * lines) ahead. */
#define S4J_F64_AHEAD ((size_t) 4)

/* The first two passes of a group: per lane the max (into *max) and the sum
 * of exp(x - max). Lanes outside `lanes` sum exp(0 - 0) terms. `next` and
 * the prefetches as in softmax_f64_avx512.c. */
static __m256d s4j_group_max_sum(size_t dim, size_t inner, __m256i lanes, size_t next,
                                 const double *x, double *y, __m256d *max) {
  __m256d vm = s4j_maskz_load(lanes, x);
  for (size_t k = 1; k < dim; k++) vm = _mm256_max_pd(vm, s4j_maskz_load(lanes, x + k * inner));
  __m256d vs = _mm256_setzero_pd(), vc = _mm256_setzero_pd();
  for (size_t k = 0; k < dim; k++) {
    if (next != 0) {
      s4j_prefetch_line(x + k * inner + next, 0);
      if (y != NULL) s4j_prefetch_line(y + k * inner + next, 1); /* LogSumExp: no y */
    }
    s4j_kahan_add(&vs, &vc, s4j_exp_f64_avx2(_mm256_sub_pd(s4j_maskz_load(lanes, x + k * inner), vm)));
  }
  *max = vm;
  return s4j_kahan_total(vs, vc);
}

static void s4j_forward_group(enum s4j_softmax_kind kind, size_t dim, size_t inner,
                              __m256i lanes, size_t next, const double *x, double *y) {
  __m256d vm;
  const __m256d total = s4j_group_max_sum(dim, inner, lanes, next, x, y, &vm);
  if (kind == S4J_KIND_LOG_SOFTMAX) {
    const __m256d t = s4j_log_f64_avx2(total);
    for (size_t k = 0; k < dim; k++) {
      const __m256d v = s4j_maskz_load(lanes, x + k * inner);
      s4j_mask_store(y + k * inner, lanes, _mm256_sub_pd(_mm256_sub_pd(v, vm), t));
    }
  } else {
    const __m256d t = _mm256_div_pd(_mm256_set1_pd(1.0), total);
    for (size_t k = 0; k < dim; k++) {
      const __m256d v = s4j_maskz_load(lanes, x + k * inner);
      s4j_mask_store(y + k * inner, lanes, _mm256_mul_pd(s4j_exp_f64_avx2(_mm256_sub_pd(v, vm)), t));
    }
  }
}

static void s4j_backward_group(enum s4j_softmax_kind kind, size_t dim, size_t inner,
                               __m256i lanes, size_t next, size_t after, const double *gy,
                               const double *y, double *gx) {
  __m256d vs = _mm256_setzero_pd(), vc = _mm256_setzero_pd();
  for (size_t k = 0; k < dim; k++) {
    if (next != 0) {
      s4j_prefetch_line(gx + k * inner + next, 1);
      if (kind == S4J_KIND_SOFTMAX && after != 0) {
        s4j_prefetch_line(gy + k * inner + after, 0);
        s4j_prefetch_line(y + k * inner + after, 0);
      }
    }
    s4j_kahan_add(&vs, &vc, s4j_backward_term(kind, s4j_maskz_load(lanes, gy + k * inner),
                                              s4j_maskz_load(lanes, y + k * inner)));
  }
  const __m256d sum = s4j_kahan_total(vs, vc);
  for (size_t k = 0; k < dim; k++) {
    if (kind == S4J_KIND_LOG_SOFTMAX && next != 0) {
      s4j_prefetch_line(gy + k * inner + next, 0);
      s4j_prefetch_line(y + k * inner + next, 0);
    }
    const __m256d g = s4j_maskz_load(lanes, gy + k * inner);
    const __m256d o = s4j_maskz_load(lanes, y + k * inner);
    s4j_mask_store(gx + k * inner, lanes, s4j_backward_lanes(kind, g, o, sum));
  }
}

/* LogSumExp of one group: y (the group's outputs) = max + log(sum). */
static void s4j_lse_forward_group(size_t dim, size_t inner, __m256i lanes, size_t next,
                                  const double *x, double *y) {
  __m256d vm;
  const __m256d total = s4j_group_max_sum(dim, inner, lanes, next, x, NULL, &vm);
  s4j_mask_store(y, lanes, _mm256_add_pd(vm, s4j_log_f64_avx2(total)));
}

/* LogSumExp backward of one row: gx = gy * (exp(x - max) * (1 / sum)). */
static void s4j_lse_backward_row(size_t n, double gy, const double *x, double *gx) {
  const size_t full = n & ~(size_t) 3;
  const size_t rest = n - full;
  const __m256i tail = s4j_tail_mask(rest);
  __m256d m;
  const double total = s4j_row_max_sum(n, x, &m);
  const __m256d t = _mm256_set1_pd(1.0 / total), g = _mm256_set1_pd(gy);
  for (size_t i = 0; i < full; i += 4) {
    const __m256d e = s4j_exp_f64_avx2(_mm256_sub_pd(_mm256_loadu_pd(x + i), m));
    _mm256_storeu_pd(gx + i, _mm256_mul_pd(g, _mm256_mul_pd(e, t)));
  }
  if (rest) {
    const __m256d e = s4j_exp_f64_avx2(_mm256_sub_pd(s4j_maskz_load(tail, x + full), m));
    s4j_mask_store(gx + full, tail, _mm256_mul_pd(g, _mm256_mul_pd(e, t)));
  }
}

/* LogSumExp backward of one group, gy its outputs' gradients. */
static void s4j_lse_backward_group(size_t dim, size_t inner, __m256i lanes, size_t next,
                                   const double *gy, const double *x, double *gx) {
  __m256d vm;
  /* gx is laid out as x: the group ahead's lines of both. */
  const __m256d total = s4j_group_max_sum(dim, inner, lanes, next, x, gx, &vm);
  const __m256d t = _mm256_div_pd(_mm256_set1_pd(1.0), total);
  const __m256d g = s4j_maskz_load(lanes, gy);
  for (size_t k = 0; k < dim; k++) {
    const __m256d e = s4j_exp_f64_avx2(_mm256_sub_pd(s4j_maskz_load(lanes, x + k * inner), vm));
    s4j_mask_store(gx + k * inner, lanes, _mm256_mul_pd(g, _mm256_mul_pd(e, t)));
  }
}

/* LogSumExp: y is [outer, inner]; the backward's second tensor is the
 * input x, not an output. */
static void s4j_lse_forward(size_t outer, size_t dim, size_t inner, const double *x, double *y) {
  for (size_t o = 0; o < outer; o++) {
    const double *slab = x + o * dim * inner;
    if (inner == 1) {
      __m256d m;
      const double total = s4j_row_max_sum(dim, slab, &m);
      y[o] = _mm256_cvtsd_f64(m) + s4j_log_f64(total);
      continue;
    }
    for (size_t j = 0; j < inner; j += 4) {
      const __m256i lanes = s4j_tail_mask(inner - j >= 4 ? 4 : inner - j);
      const size_t next = s4j_group_ahead(o, j, S4J_F64_AHEAD, 4, outer, dim, inner, sizeof(double));
      s4j_lse_forward_group(dim, inner, lanes, next, slab + j, y + o * inner + j);
    }
  }
}

static void s4j_lse_backward(size_t outer, size_t dim, size_t inner, const double *gy,
                             const double *x, double *gx) {
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    if (inner == 1) {
      s4j_lse_backward_row(dim, gy[o], x + base, gx + base);
      continue;
    }
    for (size_t j = 0; j < inner; j += 4) {
      const __m256i lanes = s4j_tail_mask(inner - j >= 4 ? 4 : inner - j);
      const size_t next = s4j_group_ahead(o, j, S4J_F64_AHEAD, 4, outer, dim, inner, sizeof(double));
      s4j_lse_backward_group(dim, inner, lanes, next, gy + o * inner + j, x + base + j,
                             gx + base + j);
    }
  }
}

void s4j_f64_softmax_fwd_ukernel__avx2(enum s4j_softmax_kind kind, size_t outer, size_t dim,
                                         size_t inner, const double *x, double *y) {
  if (kind == S4J_KIND_LOGSUMEXP) {
    s4j_lse_forward(outer, dim, inner, x, y);
    return;
  }
  if (inner == 1) {
    for (size_t o = 0; o < outer; o++) s4j_forward_row(kind, dim, x + o * dim, y + o * dim);
    return;
  }
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    for (size_t j = 0; j < inner; j += 4) {
      const __m256i lanes = s4j_tail_mask(inner - j >= 4 ? 4 : inner - j);
      const size_t next = s4j_group_ahead(o, j, S4J_F64_AHEAD, 4, outer, dim, inner, sizeof(double));
      s4j_forward_group(kind, dim, inner, lanes, next, x + base + j, y + base + j);
    }
  }
}

void s4j_f64_softmax_bwd_ukernel__avx2(enum s4j_softmax_kind kind, size_t outer, size_t dim,
                                         size_t inner, const double *gy, const double *y,
                                         double *gx) {
  if (kind == S4J_KIND_LOGSUMEXP) {
    s4j_lse_backward(outer, dim, inner, gy, y, gx);
    return;
  }
  if (inner == 1) {
    for (size_t o = 0; o < outer; o++) s4j_backward_row(kind, dim, gy + o * dim, y + o * dim, gx + o * dim);
    return;
  }
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    for (size_t j = 0; j < inner; j += 4) {
      const __m256i lanes = s4j_tail_mask(inner - j >= 4 ? 4 : inner - j);
      const size_t next = s4j_group_ahead(o, j, S4J_F64_AHEAD, 4, outer, dim, inner, sizeof(double));
      const size_t after =
          s4j_group_ahead(o, j, 2 * S4J_F64_AHEAD, 4, outer, dim, inner, sizeof(double));
      s4j_backward_group(kind, dim, inner, lanes, next, after, gy + base + j, y + base + j,
                         gx + base + j);
    }
  }
}

void s4j_math_f64_exp__avx2(size_t n, const double *x, double *y) {
  for (size_t i = 0; i < n; i += 4) {
    const __m256i lanes = s4j_tail_mask(n - i >= 4 ? 4 : n - i);
    s4j_mask_store(y + i, lanes, s4j_exp_f64_avx2(s4j_maskz_load(lanes, x + i)));
  }
}
