/*
 * softmax_f64_avx512.c - float64 log-softmax and softmax over any dimension
 * with AVX-512F: 8 doubles per vector, opmask tails, a Kahan pair per lane
 * for every sum (lanes merged with Neumaier's sum, sum_f64.h).
 *
 * inner == 1: each row is reduced along its length (three passes for the
 * forward, two for the backward). inner > 1: 8 consecutive positions per
 * vector, their passes walking `dim` with stride `inner`, the statistics in
 * registers.
 */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/softmax_f64.h"
#include "math/exp_f64_avx512.h"
#include "math/log_f64.h"
#include "math/log_f64_avx512.h"
#include "math/sum_f64.h"

static inline __mmask8 s4j_tail_mask(size_t n) {
  return (__mmask8) ((1u << n) - 1u);
}

static inline void s4j_kahan_add(__m512d *s, __m512d *c, __m512d t) {
  const __m512d y = _mm512_sub_pd(t, *c);
  const __m512d sum = _mm512_add_pd(*s, y);
  *c = _mm512_sub_pd(_mm512_sub_pd(sum, *s), y);
  *s = sum;
}

/* The lanes of a Kahan pair (sum - c per lane) merged into one total. */
static double s4j_kahan_reduce(__m512d s, __m512d c) {
  double sl[8], cl[8];
  _mm512_storeu_pd(sl, s);
  _mm512_storeu_pd(cl, c);
  double total = 0.0, comp = 0.0;
  for (int l = 0; l < 8; l++) {
    s4j_neumaier_add(&total, &comp, sl[l]);
    s4j_neumaier_add(&total, &comp, -cl[l]);
  }
  return s4j_neumaier_total(total, comp);
}

/* Per lane: sum - c where the sum is finite, the sum itself otherwise. */
static inline __m512d s4j_kahan_total(__m512d s, __m512d c) {
  const __mmask8 finite = _mm512_cmp_pd_mask(_mm512_sub_pd(s, s), _mm512_setzero_pd(), _CMP_EQ_OQ);
  return _mm512_mask_sub_pd(s, finite, s, c);
}

/* The first two passes of a row: its max (broadcast into *max) and the sum
 * of exp(x - max). */
static double s4j_row_max_sum(size_t n, const double *x, __m512d *max) {
  const size_t full = n & ~(size_t) 7;
  const __mmask8 tail = s4j_tail_mask(n - full);

  __m512d vm = _mm512_set1_pd(-__builtin_inf());
  for (size_t i = 0; i < full; i += 8) vm = _mm512_max_pd(vm, _mm512_loadu_pd(x + i));
  if (tail) vm = _mm512_mask_max_pd(vm, tail, vm, _mm512_maskz_loadu_pd(tail, x + full));
  /* A NaN the max drops still makes its exp, and the sum, NaN. */
  const __m512d m = _mm512_set1_pd(_mm512_reduce_max_pd(vm));

  __m512d vs = _mm512_setzero_pd(), vc = _mm512_setzero_pd();
  for (size_t i = 0; i < full; i += 8) {
    s4j_kahan_add(&vs, &vc, s4j_exp_f64_avx512(_mm512_sub_pd(_mm512_loadu_pd(x + i), m)));
  }
  if (tail) {
    const __m512d e = s4j_exp_f64_avx512(_mm512_sub_pd(_mm512_maskz_loadu_pd(tail, x + full), m));
    s4j_kahan_add(&vs, &vc, _mm512_maskz_mov_pd(tail, e));
  }
  *max = m;
  return s4j_kahan_reduce(vs, vc);
}

static void s4j_forward_row(enum s4j_softmax_kind kind, size_t n, const double *x, double *y) {
  const size_t full = n & ~(size_t) 7;
  const __mmask8 tail = s4j_tail_mask(n - full);
  __m512d m;
  const double total = s4j_row_max_sum(n, x, &m);

  if (kind == S4J_KIND_LOG_SOFTMAX) {
    const __m512d t = _mm512_set1_pd(s4j_log_f64(total));
    for (size_t i = 0; i < full; i += 8) {
      _mm512_storeu_pd(y + i, _mm512_sub_pd(_mm512_sub_pd(_mm512_loadu_pd(x + i), m), t));
    }
    if (tail) {
      const __m512d v = _mm512_maskz_loadu_pd(tail, x + full);
      _mm512_mask_storeu_pd(y + full, tail, _mm512_sub_pd(_mm512_sub_pd(v, m), t));
    }
  } else {
    const __m512d t = _mm512_set1_pd(1.0 / total);
    for (size_t i = 0; i < full; i += 8) {
      const __m512d e = s4j_exp_f64_avx512(_mm512_sub_pd(_mm512_loadu_pd(x + i), m));
      _mm512_storeu_pd(y + i, _mm512_mul_pd(e, t));
    }
    if (tail) {
      const __m512d e = s4j_exp_f64_avx512(_mm512_sub_pd(_mm512_maskz_loadu_pd(tail, x + full), m));
      _mm512_mask_storeu_pd(y + full, tail, _mm512_mul_pd(e, t));
    }
  }
}

/* gx from gy, y and the column sum S, per lane. */
static inline __m512d s4j_backward_lanes(enum s4j_softmax_kind kind, __m512d g, __m512d o,
                                         __m512d sum) {
  return kind == S4J_KIND_LOG_SOFTMAX ? _mm512_fnmadd_pd(s4j_exp_f64_avx512(o), sum, g)
                                      : _mm512_mul_pd(o, _mm512_sub_pd(g, sum));
}

static inline __m512d s4j_backward_term(enum s4j_softmax_kind kind, __m512d g, __m512d o) {
  return kind == S4J_KIND_LOG_SOFTMAX ? g : _mm512_mul_pd(g, o);
}

static void s4j_backward_row(enum s4j_softmax_kind kind, size_t n, const double *gy,
                             const double *y, double *gx) {
  const size_t full = n & ~(size_t) 7;
  const __mmask8 tail = s4j_tail_mask(n - full);

  __m512d vs = _mm512_setzero_pd(), vc = _mm512_setzero_pd();
  for (size_t i = 0; i < full; i += 8) {
    s4j_kahan_add(&vs, &vc, s4j_backward_term(kind, _mm512_loadu_pd(gy + i), _mm512_loadu_pd(y + i)));
  }
  if (tail) {
    s4j_kahan_add(&vs, &vc, s4j_backward_term(kind, _mm512_maskz_loadu_pd(tail, gy + full),
                                              _mm512_maskz_loadu_pd(tail, y + full)));
  }
  const __m512d sum = _mm512_set1_pd(s4j_kahan_reduce(vs, vc));
  for (size_t i = 0; i < full; i += 8) {
    _mm512_storeu_pd(gx + i, s4j_backward_lanes(kind, _mm512_loadu_pd(gy + i), _mm512_loadu_pd(y + i), sum));
  }
  if (tail) {
    const __m512d g = _mm512_maskz_loadu_pd(tail, gy + full);
    const __m512d o = _mm512_maskz_loadu_pd(tail, y + full);
    _mm512_mask_storeu_pd(gx + full, tail, s4j_backward_lanes(kind, g, o, sum));
  }
}

/* Groups are up to 8 positions (lanes in `lanes`) of a [dim, inner] slab:
 * one line of each row. Their prefetches look this many groups ahead. */
#define S4J_F64_AHEAD ((size_t) 2)

/*
 * The first two passes of a group: per lane the max (into *max) and the sum
 * of exp(x - max). Lanes outside `lanes` sum exp(0 - 0) terms. `next` is the
 * offset of the group S4J_F64_AHEAD ahead, or 0 (s4j_group_ahead,
 * softmax_dim_f32.h): where the rows are far apart, the exp pass, which
 * leaves memory idle, asks for its lines of x and, for writing, of y, on the
 * float32 kernels' plan (softmax_dim_f32_avx512.c; the backward groups below
 * follow it too).
 */
static __m512d s4j_group_max_sum(size_t dim, size_t inner, __mmask8 lanes, size_t next,
                                 const double *x, double *y, __m512d *max) {
  __m512d vm = _mm512_maskz_loadu_pd(lanes, x);
  for (size_t k = 1; k < dim; k++) vm = _mm512_max_pd(vm, _mm512_maskz_loadu_pd(lanes, x + k * inner));
  __m512d vs = _mm512_setzero_pd(), vc = _mm512_setzero_pd();
  for (size_t k = 0; k < dim; k++) {
    if (next != 0) {
      s4j_prefetch_line(x + k * inner + next, 0);
      if (y != NULL) s4j_prefetch_line(y + k * inner + next, 1); /* LogSumExp: no y */
    }
    s4j_kahan_add(&vs, &vc, s4j_exp_f64_avx512(_mm512_sub_pd(_mm512_maskz_loadu_pd(lanes, x + k * inner), vm)));
  }
  *max = vm;
  return s4j_kahan_total(vs, vc);
}

static void s4j_forward_group(enum s4j_softmax_kind kind, size_t dim, size_t inner,
                              __mmask8 lanes, size_t next, const double *x, double *y) {
  __m512d vm;
  const __m512d total = s4j_group_max_sum(dim, inner, lanes, next, x, y, &vm);
  if (kind == S4J_KIND_LOG_SOFTMAX) {
    const __m512d t = s4j_log_f64_avx512(total);
    for (size_t k = 0; k < dim; k++) {
      const __m512d v = _mm512_maskz_loadu_pd(lanes, x + k * inner);
      _mm512_mask_storeu_pd(y + k * inner, lanes, _mm512_sub_pd(_mm512_sub_pd(v, vm), t));
    }
  } else {
    const __m512d t = _mm512_div_pd(_mm512_set1_pd(1.0), total);
    for (size_t k = 0; k < dim; k++) {
      const __m512d v = _mm512_maskz_loadu_pd(lanes, x + k * inner);
      _mm512_mask_storeu_pd(y + k * inner, lanes, _mm512_mul_pd(s4j_exp_f64_avx512(_mm512_sub_pd(v, vm)), t));
    }
  }
}

static void s4j_backward_group(enum s4j_softmax_kind kind, size_t dim, size_t inner,
                               __mmask8 lanes, size_t next, size_t after, const double *gy,
                               const double *y, double *gx) {
  __m512d vs = _mm512_setzero_pd(), vc = _mm512_setzero_pd();
  for (size_t k = 0; k < dim; k++) {
    if (next != 0) {
      s4j_prefetch_line(gx + k * inner + next, 1);
      if (kind == S4J_KIND_SOFTMAX && after != 0) {
        s4j_prefetch_line(gy + k * inner + after, 0);
        s4j_prefetch_line(y + k * inner + after, 0);
      }
    }
    s4j_kahan_add(&vs, &vc, s4j_backward_term(kind, _mm512_maskz_loadu_pd(lanes, gy + k * inner),
                                              _mm512_maskz_loadu_pd(lanes, y + k * inner)));
  }
  const __m512d sum = s4j_kahan_total(vs, vc);
  for (size_t k = 0; k < dim; k++) {
    if (kind == S4J_KIND_LOG_SOFTMAX && next != 0) {
      s4j_prefetch_line(gy + k * inner + next, 0);
      s4j_prefetch_line(y + k * inner + next, 0);
    }
    const __m512d g = _mm512_maskz_loadu_pd(lanes, gy + k * inner);
    const __m512d o = _mm512_maskz_loadu_pd(lanes, y + k * inner);
    _mm512_mask_storeu_pd(gx + k * inner, lanes, s4j_backward_lanes(kind, g, o, sum));
  }
}

/* LogSumExp of one group: y (the group's outputs) = max + log(sum). */
static void s4j_lse_forward_group(size_t dim, size_t inner, __mmask8 lanes, size_t next,
                                  const double *x, double *y) {
  __m512d vm;
  const __m512d total = s4j_group_max_sum(dim, inner, lanes, next, x, NULL, &vm);
  _mm512_mask_storeu_pd(y, lanes, _mm512_add_pd(vm, s4j_log_f64_avx512(total)));
}

/* LogSumExp backward of one row: gx = gy * (exp(x - max) * (1 / sum)). */
static void s4j_lse_backward_row(size_t n, double gy, const double *x, double *gx) {
  const size_t full = n & ~(size_t) 7;
  const __mmask8 tail = s4j_tail_mask(n - full);
  __m512d m;
  const double total = s4j_row_max_sum(n, x, &m);
  const __m512d t = _mm512_set1_pd(1.0 / total), g = _mm512_set1_pd(gy);
  for (size_t i = 0; i < full; i += 8) {
    const __m512d e = s4j_exp_f64_avx512(_mm512_sub_pd(_mm512_loadu_pd(x + i), m));
    _mm512_storeu_pd(gx + i, _mm512_mul_pd(g, _mm512_mul_pd(e, t)));
  }
  if (tail) {
    const __m512d e = s4j_exp_f64_avx512(_mm512_sub_pd(_mm512_maskz_loadu_pd(tail, x + full), m));
    _mm512_mask_storeu_pd(gx + full, tail, _mm512_mul_pd(g, _mm512_mul_pd(e, t)));
  }
}

/* LogSumExp backward of one group, gy its outputs' gradients. */
static void s4j_lse_backward_group(size_t dim, size_t inner, __mmask8 lanes, size_t next,
                                   const double *gy, const double *x, double *gx) {
  __m512d vm;
  /* gx is laid out as x: the group ahead's lines of both. */
  const __m512d total = s4j_group_max_sum(dim, inner, lanes, next, x, gx, &vm);
  const __m512d t = _mm512_div_pd(_mm512_set1_pd(1.0), total);
  const __m512d g = _mm512_maskz_loadu_pd(lanes, gy);
  for (size_t k = 0; k < dim; k++) {
    const __m512d e = s4j_exp_f64_avx512(_mm512_sub_pd(_mm512_maskz_loadu_pd(lanes, x + k * inner), vm));
    _mm512_mask_storeu_pd(gx + k * inner, lanes, _mm512_mul_pd(g, _mm512_mul_pd(e, t)));
  }
}

/* LogSumExp: y is [outer, inner]; the backward's second tensor is the
 * input x, not an output. */
static void s4j_lse_forward(size_t outer, size_t dim, size_t inner, const double *x, double *y) {
  for (size_t o = 0; o < outer; o++) {
    const double *slab = x + o * dim * inner;
    if (inner == 1) {
      __m512d m;
      const double total = s4j_row_max_sum(dim, slab, &m);
      y[o] = _mm512_cvtsd_f64(m) + s4j_log_f64(total);
      continue;
    }
    for (size_t j = 0; j < inner; j += 8) {
      const __mmask8 lanes = inner - j >= 8 ? (__mmask8) 0xff : s4j_tail_mask(inner - j);
      const size_t next = s4j_group_ahead(o, j, S4J_F64_AHEAD, 8, outer, dim, inner, sizeof(double));
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
    for (size_t j = 0; j < inner; j += 8) {
      const __mmask8 lanes = inner - j >= 8 ? (__mmask8) 0xff : s4j_tail_mask(inner - j);
      const size_t next = s4j_group_ahead(o, j, S4J_F64_AHEAD, 8, outer, dim, inner, sizeof(double));
      s4j_lse_backward_group(dim, inner, lanes, next, gy + o * inner + j, x + base + j,
                             gx + base + j);
    }
  }
}

void s4j_f64_softmax_fwd_ukernel__avx512(enum s4j_softmax_kind kind, size_t outer, size_t dim,
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
    for (size_t j = 0; j < inner; j += 8) {
      const __mmask8 lanes = inner - j >= 8 ? (__mmask8) 0xff : s4j_tail_mask(inner - j);
      const size_t next = s4j_group_ahead(o, j, S4J_F64_AHEAD, 8, outer, dim, inner, sizeof(double));
      s4j_forward_group(kind, dim, inner, lanes, next, x + base + j, y + base + j);
    }
  }
}

void s4j_f64_softmax_bwd_ukernel__avx512(enum s4j_softmax_kind kind, size_t outer, size_t dim,
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
    for (size_t j = 0; j < inner; j += 8) {
      const __mmask8 lanes = inner - j >= 8 ? (__mmask8) 0xff : s4j_tail_mask(inner - j);
      const size_t next = s4j_group_ahead(o, j, S4J_F64_AHEAD, 8, outer, dim, inner, sizeof(double));
      const size_t after =
          s4j_group_ahead(o, j, 2 * S4J_F64_AHEAD, 8, outer, dim, inner, sizeof(double));
      s4j_backward_group(kind, dim, inner, lanes, next, after, gy + base + j, y + base + j,
                         gx + base + j);
    }
  }
}

void s4j_math_f64_exp__avx512(size_t n, const double *x, double *y) {
  for (size_t i = 0; i < n; i += 8) {
    const __mmask8 lanes = n - i >= 8 ? (__mmask8) 0xff : s4j_tail_mask(n - i);
    _mm512_mask_storeu_pd(y + i, lanes, s4j_exp_f64_avx512(_mm512_maskz_loadu_pd(lanes, x + i)));
  }
}
