/*
 * softmax_f64_avx512.c - float64 log-softmax and softmax over any dimension
 * with AVX-512F: 8 doubles per vector, opmask tails, four Kahan pairs per
 * lane for every sum, joined (and the lanes merged) by TwoSum.
 *
 * inner == 1: each row is reduced along its length (three passes for the
 * forward, two for the backward); outputs of 8 MiB or more are streamed,
 * and the next row's lines asked for by an exp-bound pass. inner > 1: 8
 * consecutive positions per vector, their passes walking `dim` with stride
 * `inner`, the statistics in registers. Softmax keeps its exps in y where
 * they stay in cache, instead of computing them again.
 */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/softmax_f64.h"
#include "math/exp_f64_avx512.h"
#include "math/log_f64.h"
#include "math/log_f64_avx512.h"

static inline __mmask8 s4j_tail_mask(size_t n) {
  return (__mmask8) ((1u << n) - 1u);
}

static inline void s4j_kahan_add(__m512d *s, __m512d *c, __m512d t) {
  const __m512d y = _mm512_sub_pd(t, *c);
  const __m512d sum = _mm512_add_pd(*s, y);
  *c = _mm512_sub_pd(_mm512_sub_pd(sum, *s), y);
  *s = sum;
}

/* Per lane: sum - c where the sum is finite, the sum itself otherwise. */
static inline __m512d s4j_kahan_total(__m512d s, __m512d c) {
  const __mmask8 finite = _mm512_cmp_pd_mask(_mm512_sub_pd(s, s), _mm512_setzero_pd(), _CMP_EQ_OQ);
  return _mm512_mask_sub_pd(s, finite, s, c);
}

/* Two Kahan pairs (each sum - c per lane) as one: the sums by TwoSum, whose
 * exact error goes into c, the c terms added (their roundings are second
 * order). An inf or NaN sum leaves c NaN, as s4j_kahan_add does. */
static inline void s4j_kahan_join(__m512d *s, __m512d *c, __m512d s1, __m512d c1) {
  const __m512d u = _mm512_add_pd(*s, s1);
  const __m512d z = _mm512_sub_pd(u, *s);
  const __m512d err = _mm512_add_pd(_mm512_sub_pd(*s, _mm512_sub_pd(u, z)), _mm512_sub_pd(s1, z));
  *c = _mm512_sub_pd(_mm512_add_pd(*c, c1), err);
  *s = u;
}

/* The lanes of a Kahan pair merged into one total: halves, quarters, then
 * neighbours joined in registers, without branches (the scalar Neumaier
 * loop over the 16 terms took most of a short row's time: [69856,81]
 * forward, see the bench README). An inf sum stays inf. */
static inline double s4j_kahan_reduce(__m512d s, __m512d c) {
  s4j_kahan_join(&s, &c, _mm512_shuffle_f64x2(s, s, 0x4e), _mm512_shuffle_f64x2(c, c, 0x4e));
  s4j_kahan_join(&s, &c, _mm512_shuffle_f64x2(s, s, 0xb1), _mm512_shuffle_f64x2(c, c, 0xb1));
  s4j_kahan_join(&s, &c, _mm512_permute_pd(s, 0x55), _mm512_permute_pd(c, 0x55));
  return _mm512_cvtsd_f64(s4j_kahan_total(s, c));
}

/* The S4J_F64_CHAINS Kahan pairs joined into the first. */
static inline void s4j_kahan_fold(__m512d *s, __m512d *c) {
  s4j_kahan_join(&s[0], &c[0], s[1], c[1]);
  s4j_kahan_join(&s[2], &c[2], s[3], c[3]);
  s4j_kahan_join(&s[0], &c[0], s[2], c[2]);
}

/* A row's Kahan chains merged into one total. Rows shorter than one round
 * of the chains only used the first: the fold, a chain of dependent adds,
 * would add a fifth to a 10-double row's time. */
static inline double s4j_kahan_chains_total(size_t n, __m512d *s, __m512d *c) {
  if (n >= 8 * S4J_F64_CHAINS) s4j_kahan_fold(s, c);
  return s4j_kahan_reduce(s[0], c[0]);
}

/*
 * A row's last pass: out[i, i + 8) = lanes(mask, i) for i in [0, n), where
 * lanes is an expression of the 8 positions from i (mask: those in the
 * row). With `stream`, a masked head brings out to 64 bytes and the full
 * vectors after it are streamed; otherwise plain stores; a masked tail.
 * ahead_a and ahead_b, if not NULL, are two arrays of n doubles (the next
 * row's inputs) whose lines each full vector asks for.
 */
#define S4J_NO_AHEAD ((const double *) NULL)
#define S4J_F64_ROW_STORE(n, out, stream, lanes, ahead_a, ahead_b)                       \
  do {                                                                                   \
    size_t i = 0;                                                                        \
    if (stream) {                                                                        \
      const size_t mis_ = ((uintptr_t) (out) & 63u) / sizeof(double);                   \
      const size_t head_ = mis_ == 0 ? 0 : 8 - mis_ < (n) ? 8 - mis_ : (n);               \
      if (head_ != 0) {                                                                  \
        const __mmask8 mask = s4j_tail_mask(head_);                                      \
        _mm512_mask_storeu_pd((out), mask, (lanes));                                     \
        i = head_;                                                                       \
      }                                                                                  \
    }                                                                                    \
    for (const __mmask8 mask = 0xff; i + 8 <= (n); i += 8) {                             \
      if ((ahead_a) != NULL) {                                                           \
        s4j_prefetch_line((ahead_a) + i, 0);                                             \
        s4j_prefetch_line((ahead_b) + i, 0);                                             \
      }                                                                                  \
      if (stream) {                                                                      \
        _mm512_stream_pd((out) + i, (lanes));                                            \
      } else {                                                                           \
        _mm512_storeu_pd((out) + i, (lanes));                                            \
      }                                                                                  \
    }                                                                                    \
    if (i < (n)) {                                                                       \
      const __mmask8 mask = s4j_tail_mask((n) - i);                                      \
      _mm512_mask_storeu_pd((out) + i, mask, (lanes));                                   \
    }                                                                                    \
  } while (0)

/* The first two passes of a row: its max (broadcast into *max) and the sum
 * of exp(x - max). With `keep`, each exp is also stored in y (which may be
 * x: each is read before it is written). `next`, if not NULL, is the next
 * row of a tensor too large for the caches: the exp pass, which leaves
 * memory idle, asks for its lines, so that its max pass does not wait on
 * memory. */
static inline __attribute__((always_inline)) double s4j_row_max_sum(size_t n, const double *x, double *y, int keep, const double *next,
                              __m512d *max) {
  const size_t full = n & ~(size_t) 7;
  const __mmask8 tail = s4j_tail_mask(n - full);

  __m512d vm[S4J_F64_CHAINS];
  for (int a = 0; a < S4J_F64_CHAINS; a++) vm[a] = _mm512_set1_pd(-__builtin_inf());
  size_t i = 0;
  for (; i + 8 * S4J_F64_CHAINS <= full; i += 8 * S4J_F64_CHAINS) {
#pragma GCC unroll 4
    for (int a = 0; a < S4J_F64_CHAINS; a++) vm[a] = _mm512_max_pd(vm[a], _mm512_loadu_pd(x + i + 8 * a));
  }
  for (; i < full; i += 8) vm[0] = _mm512_max_pd(vm[0], _mm512_loadu_pd(x + i));
  if (tail) vm[0] = _mm512_mask_max_pd(vm[0], tail, vm[0], _mm512_maskz_loadu_pd(tail, x + full));
  /* Short rows used the first chain only (as s4j_kahan_chains_total). */
  if (n >= 8 * S4J_F64_CHAINS) vm[0] = _mm512_max_pd(_mm512_max_pd(vm[0], vm[1]), _mm512_max_pd(vm[2], vm[3]));
  /* A NaN the max drops still makes its exp, and the sum, NaN. */
  const __m512d m = _mm512_set1_pd(_mm512_reduce_max_pd(vm[0]));

  __m512d vs[S4J_F64_CHAINS], vc[S4J_F64_CHAINS];
  for (int a = 0; a < S4J_F64_CHAINS; a++) vs[a] = vc[a] = _mm512_setzero_pd();
  for (i = 0; i + 8 * S4J_F64_CHAINS <= full; i += 8 * S4J_F64_CHAINS) {
#pragma GCC unroll 4
    for (int a = 0; a < S4J_F64_CHAINS; a++) {
      if (next != NULL) s4j_prefetch_line(next + i + 8 * a, 0);
      const __m512d e = s4j_exp_f64_avx512(_mm512_sub_pd(_mm512_loadu_pd(x + i + 8 * a), m));
      if (keep) _mm512_storeu_pd(y + i + 8 * a, e);
      s4j_kahan_add(&vs[a], &vc[a], e);
    }
  }
  for (; i < full; i += 8) {
    if (next != NULL) s4j_prefetch_line(next + i, 0);
    const __m512d e = s4j_exp_f64_avx512(_mm512_sub_pd(_mm512_loadu_pd(x + i), m));
    if (keep) _mm512_storeu_pd(y + i, e);
    s4j_kahan_add(&vs[0], &vc[0], e);
  }
  if (tail) {
    const __m512d e = s4j_exp_f64_avx512(_mm512_sub_pd(_mm512_maskz_loadu_pd(tail, x + full), m));
    if (keep) _mm512_mask_storeu_pd(y + full, tail, e);
    s4j_kahan_add(&vs[0], &vc[0], _mm512_maskz_mov_pd(tail, e));
  }
  *max = m;
  return s4j_kahan_chains_total(n, vs, vc);
}

static void s4j_forward_row(enum s4j_softmax_kind kind, size_t n, const double *x, double *y,
                            int stream, const double *next) {
  /* Kept exps are scaled in place with plain stores, streamed or not:
   * their lines of y are in cache already (streaming them: [2048,4096]
   * 0.58 x the time before, against 0.53 x). */
  const int keep = kind == S4J_KIND_SOFTMAX && n <= S4J_F64_KEEP_EXP_MAX;
  __m512d m;
  const double total = s4j_row_max_sum(n, x, y, keep, next, &m);
#define S4J_X_MINUS_M _mm512_sub_pd(_mm512_maskz_loadu_pd(mask, x + i), m)
  if (kind == S4J_KIND_LOG_SOFTMAX) {
    const __m512d t = _mm512_set1_pd(s4j_log_f64(total));
    S4J_F64_ROW_STORE(n, y, stream, _mm512_sub_pd(S4J_X_MINUS_M, t), S4J_NO_AHEAD, S4J_NO_AHEAD);
  } else if (keep) {
    const __m512d t = _mm512_set1_pd(1.0 / total);
    S4J_F64_ROW_STORE(n, y, 0, _mm512_mul_pd(_mm512_maskz_loadu_pd(mask, y + i), t), S4J_NO_AHEAD, S4J_NO_AHEAD);
  } else {
    const __m512d t = _mm512_set1_pd(1.0 / total);
    S4J_F64_ROW_STORE(n, y, stream, _mm512_mul_pd(s4j_exp_f64_avx512(S4J_X_MINUS_M), t), S4J_NO_AHEAD, S4J_NO_AHEAD);
  }
#undef S4J_X_MINUS_M
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

/* A row's backward sum (s4j_backward_term), in four Kahan chains. */
static double s4j_row_backward_sum(enum s4j_softmax_kind kind, size_t n, const double *gy,
                                   const double *y) {
  const size_t full = n & ~(size_t) 7;
  const __mmask8 tail = s4j_tail_mask(n - full);
  __m512d vs[S4J_F64_CHAINS], vc[S4J_F64_CHAINS];
  for (int a = 0; a < S4J_F64_CHAINS; a++) vs[a] = vc[a] = _mm512_setzero_pd();
  size_t i = 0;
  for (; i + 8 * S4J_F64_CHAINS <= full; i += 8 * S4J_F64_CHAINS) {
#pragma GCC unroll 4
    for (int a = 0; a < S4J_F64_CHAINS; a++) {
      const size_t at = i + 8 * (size_t) a;
      s4j_kahan_add(&vs[a], &vc[a], s4j_backward_term(kind, _mm512_loadu_pd(gy + at), _mm512_loadu_pd(y + at)));
    }
  }
  for (; i < full; i += 8) {
    s4j_kahan_add(&vs[0], &vc[0], s4j_backward_term(kind, _mm512_loadu_pd(gy + i), _mm512_loadu_pd(y + i)));
  }
  if (tail) {
    s4j_kahan_add(&vs[0], &vc[0], s4j_backward_term(kind, _mm512_maskz_loadu_pd(tail, gy + full),
                                                    _mm512_maskz_loadu_pd(tail, y + full)));
  }
  return s4j_kahan_chains_total(n, vs, vc);
}

/* The backward of a row. With `ahead` (log-softmax, a tensor too large for
 * the caches, and a row after this one), the exp-bound gradient pass asks
 * for the next row's gy and y lines, so that its sum pass does not wait on
 * memory ([2048,4096]: 0.72 x the time; asked for by the sum pass instead,
 * 1.12 x; softmax's light gradient pass asking for them, 0.98 x against
 * 0.78 x without). */
static void s4j_backward_row(enum s4j_softmax_kind kind, size_t n, const double *gy,
                             const double *y, double *gx, int stream, int ahead) {
  const __m512d sum = _mm512_set1_pd(s4j_row_backward_sum(kind, n, gy, y));
  S4J_F64_ROW_STORE(n, gx, stream,
                    s4j_backward_lanes(kind, _mm512_maskz_loadu_pd(mask, gy + i),
                                       _mm512_maskz_loadu_pd(mask, y + i), sum),
                    ahead ? gy + n : S4J_NO_AHEAD, ahead ? y + n : S4J_NO_AHEAD);
}

/* Groups are up to 8 positions (lanes in `lanes`) of a [dim, inner] slab:
 * one line of each row. Their prefetches look this many groups ahead. */
#define S4J_F64_AHEAD ((size_t) 2)

/* One row of a group's exp pass (s4j_group_max_sum), at offset `at`, into
 * the Kahan pair (s, c). */
static inline void s4j_group_exp_row(size_t at, __mmask8 lanes, size_t next, const double *x,
                                     double *y, int keep, __m512d m, __m512d *s, __m512d *c) {
  if (next != 0) {
    s4j_prefetch_line(x + at + next, 0);
    if (y != NULL) s4j_prefetch_line(y + at + next, 1); /* LogSumExp: no y */
  }
  const __m512d e = s4j_exp_f64_avx512(_mm512_sub_pd(_mm512_maskz_loadu_pd(lanes, x + at), m));
  if (keep) _mm512_mask_storeu_pd(y + at, lanes, e);
  s4j_kahan_add(s, c, e);
}

/*
 * The first two passes of a group: per lane the max (into *max) and the sum
 * of exp(x - max); with `keep`, each exp is also stored in y (which may be
 * x). Lanes outside `lanes` sum exp(0 - 0) terms. The rows go four at a
 * time into the S4J_F64_CHAINS chains, as along a row. `next` is the
 * offset of the group S4J_F64_AHEAD ahead, or 0 (s4j_group_ahead,
 * softmax_dim_f32.h): where the rows are far apart, the exp pass, which
 * leaves memory idle, asks for its lines of x and, for writing, of y, on the
 * float32 kernels' plan (softmax_dim_f32_avx512.c; the backward groups below
 * follow it too).
 */
static __m512d s4j_group_max_sum(size_t dim, size_t inner, __mmask8 lanes, size_t next,
                                 const double *x, double *y, int keep, __m512d *max) {
  __m512d vm[S4J_F64_CHAINS];
  for (int a = 0; a < S4J_F64_CHAINS; a++) vm[a] = _mm512_maskz_loadu_pd(lanes, x);
  size_t k = 1;
  for (; k + S4J_F64_CHAINS <= dim; k += S4J_F64_CHAINS) {
#pragma GCC unroll 4
    for (int a = 0; a < S4J_F64_CHAINS; a++) {
      vm[a] = _mm512_max_pd(vm[a], _mm512_maskz_loadu_pd(lanes, x + (k + (size_t) a) * inner));
    }
  }
  for (; k < dim; k++) vm[0] = _mm512_max_pd(vm[0], _mm512_maskz_loadu_pd(lanes, x + k * inner));
  const __m512d m = _mm512_max_pd(_mm512_max_pd(vm[0], vm[1]), _mm512_max_pd(vm[2], vm[3]));

  __m512d vs[S4J_F64_CHAINS], vc[S4J_F64_CHAINS];
  for (int a = 0; a < S4J_F64_CHAINS; a++) vs[a] = vc[a] = _mm512_setzero_pd();
  for (k = 0; k + S4J_F64_CHAINS <= dim; k += S4J_F64_CHAINS) {
#pragma GCC unroll 4
    for (int a = 0; a < S4J_F64_CHAINS; a++) {
      s4j_group_exp_row((k + (size_t) a) * inner, lanes, next, x, y, keep, m, &vs[a], &vc[a]);
    }
  }
  for (; k < dim; k++) s4j_group_exp_row(k * inner, lanes, next, x, y, keep, m, &vs[0], &vc[0]);
  if (dim >= S4J_F64_CHAINS) s4j_kahan_fold(vs, vc);
  *max = m;
  return s4j_kahan_total(vs[0], vc[0]);
}

static void s4j_forward_group(enum s4j_softmax_kind kind, size_t dim, size_t inner,
                              __mmask8 lanes, size_t next, const double *x, double *y) {
  __m512d vm;
  /* Softmax keeps its exps in y (the group's rows stay in cache) when the
   * group is full: a partial one's masked stores, read back by masked loads
   * in the output pass, cost more than the exps ([100,50,7]: 1.25 x the
   * time; [100,50,8]: 0.67 x). */
  const int keep = kind == S4J_KIND_SOFTMAX && lanes == 0xff;
  const __m512d total = s4j_group_max_sum(dim, inner, lanes, next, x, y, keep, &vm);
  if (kind == S4J_KIND_LOG_SOFTMAX) {
    const __m512d t = s4j_log_f64_avx512(total);
    for (size_t k = 0; k < dim; k++) {
      const __m512d v = _mm512_maskz_loadu_pd(lanes, x + k * inner);
      _mm512_mask_storeu_pd(y + k * inner, lanes, _mm512_sub_pd(_mm512_sub_pd(v, vm), t));
    }
  } else if (keep) {
    const __m512d t = _mm512_div_pd(_mm512_set1_pd(1.0), total);
    for (size_t k = 0; k < dim; k++) {
      double *out = y + k * inner;
      _mm512_mask_storeu_pd(out, lanes, _mm512_mul_pd(_mm512_maskz_loadu_pd(lanes, out), t));
    }
  } else {
    const __m512d t = _mm512_div_pd(_mm512_set1_pd(1.0), total);
    for (size_t k = 0; k < dim; k++) {
      const __m512d v = _mm512_maskz_loadu_pd(lanes, x + k * inner);
      _mm512_mask_storeu_pd(y + k * inner, lanes, _mm512_mul_pd(s4j_exp_f64_avx512(_mm512_sub_pd(v, vm)), t));
    }
  }
}

/* One row of a group's backward sum pass, at offset `at`. */
static inline void s4j_group_sum_row(enum s4j_softmax_kind kind, size_t at, __mmask8 lanes,
                                     size_t next, size_t after, const double *gy, const double *y,
                                     double *gx, __m512d *s, __m512d *c) {
  if (next != 0) {
    s4j_prefetch_line(gx + at + next, 1);
    if (kind == S4J_KIND_SOFTMAX && after != 0) {
      s4j_prefetch_line(gy + at + after, 0);
      s4j_prefetch_line(y + at + after, 0);
    }
  }
  s4j_kahan_add(s, c, s4j_backward_term(kind, _mm512_maskz_loadu_pd(lanes, gy + at),
                                        _mm512_maskz_loadu_pd(lanes, y + at)));
}

static void s4j_backward_group(enum s4j_softmax_kind kind, size_t dim, size_t inner,
                               __mmask8 lanes, size_t next, size_t after, const double *gy,
                               const double *y, double *gx) {
  __m512d vs[S4J_F64_CHAINS], vc[S4J_F64_CHAINS];
  for (int a = 0; a < S4J_F64_CHAINS; a++) vs[a] = vc[a] = _mm512_setzero_pd();
  /* Rows far apart (prefetching) are bound by memory: one chain, which
   * keeps the pass's pace to the prefetches' (four chains: [8,81,8732]
   * softmax 1.05-1.17 x the time). */
  const int chained = next == 0 && dim >= S4J_F64_CHAINS;
  size_t k = 0;
  for (; chained && k + S4J_F64_CHAINS <= dim; k += S4J_F64_CHAINS) {
#pragma GCC unroll 4
    for (int a = 0; a < S4J_F64_CHAINS; a++) {
      s4j_group_sum_row(kind, (k + (size_t) a) * inner, lanes, next, after, gy, y, gx, &vs[a], &vc[a]);
    }
  }
  for (; k < dim; k++) s4j_group_sum_row(kind, k * inner, lanes, next, after, gy, y, gx, &vs[0], &vc[0]);
  if (chained) s4j_kahan_fold(vs, vc);
  const __m512d sum = s4j_kahan_total(vs[0], vc[0]);
  for (k = 0; k < dim; k++) {
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
  const __m512d total = s4j_group_max_sum(dim, inner, lanes, next, x, NULL, 0, &vm);
  _mm512_mask_storeu_pd(y, lanes, _mm512_add_pd(vm, s4j_log_f64_avx512(total)));
}

/* LogSumExp backward of one row: gx = gy * (exp(x - max) * (1 / sum)). */
static void s4j_lse_backward_row(size_t n, double gy, const double *x, double *gx) {
  const size_t full = n & ~(size_t) 7;
  const __mmask8 tail = s4j_tail_mask(n - full);
  __m512d m;
  const double total = s4j_row_max_sum(n, x, NULL, 0, NULL, &m);
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
  /* The exps kept in gx by a full group's sum pass (as s4j_forward_group). */
  const int keep = lanes == 0xff;
  const __m512d total = s4j_group_max_sum(dim, inner, lanes, next, x, gx, keep, &vm);
  const __m512d t = _mm512_div_pd(_mm512_set1_pd(1.0), total);
  const __m512d g = _mm512_maskz_loadu_pd(lanes, gy);
  for (size_t k = 0; k < dim; k++) {
    double *out = gx + k * inner;
    const __m512d e = keep ? _mm512_maskz_loadu_pd(lanes, out)
                           : s4j_exp_f64_avx512(_mm512_sub_pd(_mm512_maskz_loadu_pd(lanes, x + k * inner), vm));
    _mm512_mask_storeu_pd(out, lanes, _mm512_mul_pd(g, _mm512_mul_pd(e, t)));
  }
}

/* LogSumExp: y is [outer, inner]; the backward's second tensor is the
 * input x, not an output. */
static void s4j_lse_forward(size_t outer, size_t dim, size_t inner, const double *x, double *y) {
  for (size_t o = 0; o < outer; o++) {
    const double *slab = x + o * dim * inner;
    if (inner == 1) {
      __m512d m;
      const double total = s4j_row_max_sum(dim, slab, NULL, 0, NULL, &m);
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
    const int stream = s4j_f64_stream(outer, dim, y);
    for (size_t o = 0; o < outer; o++) {
      const double *next = stream && o + 1 < outer ? x + (o + 1) * dim : NULL;
      s4j_forward_row(kind, dim, x + o * dim, y + o * dim, stream, next);
    }
    if (stream) _mm_sfence();
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
    const int stream = s4j_f64_stream(outer, dim, gx);
    for (size_t o = 0; o < outer; o++) {
      const int ahead = kind == S4J_KIND_LOG_SOFTMAX && stream && o + 1 < outer;
      s4j_backward_row(kind, dim, gy + o * dim, y + o * dim, gx + o * dim, stream, ahead);
    }
    if (stream) _mm_sfence();
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
