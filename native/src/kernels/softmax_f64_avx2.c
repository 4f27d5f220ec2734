/*
 * softmax_f64_avx2.c - float64 log-softmax and softmax over any dimension
 * with AVX2+FMA: the AVX-512 kernels' design (softmax_f64_avx512.c) with 4
 * doubles per vector and vmaskmovpd tails (their stores: store_avx2.h);
 * four Kahan pairs per lane for every sum, joined (and the lanes merged) by
 * TwoSum.
 *
 * inner == 1: each row is reduced along its length (three passes for the
 * forward, two for the backward); outputs of 8 MiB or more are streamed,
 * and the next row's lines asked for by an exp-bound pass. inner > 1: 4
 * consecutive positions per vector, their passes walking `dim` with stride
 * `inner`, the statistics in registers. Softmax keeps its exps in y where
 * they stay in cache, instead of computing them again.
 */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/softmax_f64.h"
#include "kernels/store_avx2.h"
#include "math/exp_f64_avx2.h"
#include "math/log_f64.h"
#include "math/log_f64_avx2.h"

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

/* Whether all 4 lanes of a group's mask are set. */
static inline int s4j_lanes_full(__m256i lanes) {
  return _mm256_movemask_pd(_mm256_castsi256_pd(lanes)) == 0xf;
}

/* p[0, w), w in [1, 4] (zeros past w), and its store: a plain load and
 * store for a whole vector (w is the constant 4 in the middle of a row),
 * masked ones for a row's head or tail. */
static inline __attribute__((always_inline)) __m256d s4j_load_w(size_t w, const double *p) {
  return w == 4 ? _mm256_loadu_pd(p) : s4j_maskz_load(s4j_tail_mask(w), p);
}

static inline void s4j_store_w(double *p, size_t w, __m256d v) {
  s4j_mask_store(p, s4j_tail_mask(w), v);
}

static inline void s4j_kahan_add(__m256d *s, __m256d *c, __m256d t) {
  const __m256d y = _mm256_sub_pd(t, *c);
  const __m256d sum = _mm256_add_pd(*s, y);
  *c = _mm256_sub_pd(_mm256_sub_pd(sum, *s), y);
  *s = sum;
}

/* Per lane: sum - c where the sum is finite, the sum itself otherwise. */
static inline __m256d s4j_kahan_total(__m256d s, __m256d c) {
  const __m256d finite = _mm256_cmp_pd(_mm256_sub_pd(s, s), _mm256_setzero_pd(), _CMP_EQ_OQ);
  return _mm256_blendv_pd(s, _mm256_sub_pd(s, c), finite);
}

/* Two Kahan pairs (each sum - c per lane) as one: the sums by TwoSum, whose
 * exact error goes into c, the c terms added (their roundings are second
 * order). An inf or NaN sum leaves c NaN, as s4j_kahan_add does. */
static inline void s4j_kahan_join(__m256d *s, __m256d *c, __m256d s1, __m256d c1) {
  const __m256d u = _mm256_add_pd(*s, s1);
  const __m256d z = _mm256_sub_pd(u, *s);
  const __m256d err = _mm256_add_pd(_mm256_sub_pd(*s, _mm256_sub_pd(u, z)), _mm256_sub_pd(s1, z));
  *c = _mm256_sub_pd(_mm256_add_pd(*c, c1), err);
  *s = u;
}

/* The lanes of a Kahan pair merged into one total: halves, then neighbours
 * joined in registers, without branches (as softmax_f64_avx512.c, where the
 * scalar Neumaier loop took most of a short row's time). An inf sum stays
 * inf. */
static inline double s4j_kahan_reduce(__m256d s, __m256d c) {
  s4j_kahan_join(&s, &c, _mm256_permute2f128_pd(s, s, 0x01), _mm256_permute2f128_pd(c, c, 0x01));
  s4j_kahan_join(&s, &c, _mm256_permute_pd(s, 0x5), _mm256_permute_pd(c, 0x5));
  return _mm256_cvtsd_f64(s4j_kahan_total(s, c));
}

/* The S4J_F64_CHAINS Kahan pairs joined into the first. */
static inline void s4j_kahan_fold(__m256d *s, __m256d *c) {
  s4j_kahan_join(&s[0], &c[0], s[1], c[1]);
  s4j_kahan_join(&s[2], &c[2], s[3], c[3]);
  s4j_kahan_join(&s[0], &c[0], s[2], c[2]);
}

/* A row's Kahan chains merged into one total. Rows shorter than one round
 * of the chains only used the first: the fold, a chain of dependent adds,
 * would only lengthen a short row's time. */
static inline double s4j_kahan_chains_total(size_t n, __m256d *s, __m256d *c) {
  if (n >= 4 * S4J_F64_CHAINS) s4j_kahan_fold(s, c);
  return s4j_kahan_reduce(s[0], c[0]);
}

/* The largest lane (a NaN lane may be dropped: its exp makes the sum NaN). */
static inline double s4j_reduce_max(__m256d v) {
  double l[4];
  _mm256_storeu_pd(l, v);
  double m = l[0];
  for (int i = 1; i < 4; i++) m = l[i] > m ? l[i] : m;
  return m;
}

/* Doubles of a row of n before out is 32-byte aligned (non-temporal stores
 * need it). */
static inline size_t s4j_stream_head(const double *out, size_t n) {
  const size_t mis = (size_t) (((uintptr_t) out & 31u) / sizeof(double));
  const size_t head = mis == 0 ? 0 : 4 - mis;
  return head < n ? head : n;
}

/*
 * A row's last pass: out[i, i + w) = lanes for i in [0, n), where lanes is
 * an expression of the w positions from i (w = 4 but at the head and tail;
 * s4j_load_w(w, p) loads them). With `stream`, a head brings out to 32
 * bytes and the full vectors after it are streamed; otherwise plain stores;
 * a tail. ahead_a and ahead_b, if not NULL, are two arrays of n doubles
 * (the next row's inputs) whose lines each full vector asks for.
 */
#define S4J_NO_AHEAD ((const double *) NULL)
#define S4J_F64_ROW_STORE(n, out, stream, lanes, ahead_a, ahead_b) \
  do {                                                             \
    size_t i = 0;                                                  \
    if (stream) {                                                  \
      const size_t w = s4j_stream_head((out), (n));                \
      if (w != 0) {                                                \
        s4j_store_w((out), w, (lanes));                            \
        i = w;                                                     \
      }                                                            \
    }                                                              \
    for (const size_t w = 4; i + w <= (n); i += w) {               \
      if ((ahead_a) != NULL) {                                     \
        s4j_prefetch_line((ahead_a) + i, 0);                       \
        s4j_prefetch_line((ahead_b) + i, 0);                       \
      }                                                            \
      if (stream) {                                                \
        _mm256_stream_pd((out) + i, (lanes));                      \
      } else {                                                     \
        _mm256_storeu_pd((out) + i, (lanes));                      \
      }                                                            \
    }                                                              \
    if (i < (n)) {                                                 \
      const size_t w = (n) - i;                                    \
      s4j_store_w((out) + i, w, (lanes));                          \
    }                                                              \
  } while (0)

/* The first two passes of a row: its max (broadcast into *max) and the sum
 * of exp(x - max). With `keep`, each exp is also stored in y (which may be
 * x: each is read before it is written). `next`, if not NULL, is the next
 * row of a tensor too large for the caches: the exp pass, which leaves
 * memory idle, asks for its lines (one per two vectors), so that its max
 * pass does not wait on memory. */
static inline __attribute__((always_inline)) double s4j_row_max_sum(size_t n, const double *x,
                                                                    double *y, int keep,
                                                                    const double *next,
                                                                    __m256d *max) {
  const size_t full = n & ~(size_t) 3;
  const size_t rest = n - full;
  const __m256i tail = s4j_tail_mask(rest);

  __m256d vm[S4J_F64_CHAINS];
  for (int a = 0; a < S4J_F64_CHAINS; a++) vm[a] = _mm256_set1_pd(-__builtin_inf());
  size_t i = 0;
  for (; i + 4 * S4J_F64_CHAINS <= full; i += 4 * S4J_F64_CHAINS) {
#pragma GCC unroll 4
    for (int a = 0; a < S4J_F64_CHAINS; a++) vm[a] = _mm256_max_pd(vm[a], _mm256_loadu_pd(x + i + 4 * a));
  }
  for (; i < full; i += 4) vm[0] = _mm256_max_pd(vm[0], _mm256_loadu_pd(x + i));
  /* Short rows used the first chain only (as s4j_kahan_chains_total). */
  if (n >= 4 * S4J_F64_CHAINS) vm[0] = _mm256_max_pd(_mm256_max_pd(vm[0], vm[1]), _mm256_max_pd(vm[2], vm[3]));
  double mx = s4j_reduce_max(vm[0]);
  for (i = full; i < n; i++) mx = x[i] > mx ? x[i] : mx;
  /* A NaN the max drops still makes its exp, and the sum, NaN. */
  const __m256d m = _mm256_set1_pd(mx);

  __m256d vs[S4J_F64_CHAINS], vc[S4J_F64_CHAINS];
  for (int a = 0; a < S4J_F64_CHAINS; a++) vs[a] = vc[a] = _mm256_setzero_pd();
  for (i = 0; i + 4 * S4J_F64_CHAINS <= full; i += 4 * S4J_F64_CHAINS) {
#pragma GCC unroll 4
    for (int a = 0; a < S4J_F64_CHAINS; a++) {
      if (next != NULL && a % 2 == 0) s4j_prefetch_line(next + i + 4 * a, 0);
      const __m256d e = s4j_exp_f64_avx2(_mm256_sub_pd(_mm256_loadu_pd(x + i + 4 * a), m));
      if (keep) _mm256_storeu_pd(y + i + 4 * a, e);
      s4j_kahan_add(&vs[a], &vc[a], e);
    }
  }
  for (; i < full; i += 4) {
    if (next != NULL) s4j_prefetch_line(next + i, 0);
    const __m256d e = s4j_exp_f64_avx2(_mm256_sub_pd(_mm256_loadu_pd(x + i), m));
    if (keep) _mm256_storeu_pd(y + i, e);
    s4j_kahan_add(&vs[0], &vc[0], e);
  }
  if (rest) {
    const __m256d e = s4j_exp_f64_avx2(_mm256_sub_pd(s4j_maskz_load(tail, x + full), m));
    if (keep) s4j_mask_store(y + full, tail, e);
    s4j_kahan_add(&vs[0], &vc[0], _mm256_and_pd(e, _mm256_castsi256_pd(tail)));
  }
  *max = m;
  return s4j_kahan_chains_total(n, vs, vc);
}

static void s4j_forward_row(enum s4j_softmax_kind kind, size_t n, const double *x, double *y,
                            int stream, const double *next) {
  /* Kept exps are scaled in place with plain stores: their lines of y are
   * in cache already. */
  const int keep = kind == S4J_KIND_SOFTMAX && n <= S4J_F64_KEEP_EXP_MAX;
  __m256d m;
  const double total = s4j_row_max_sum(n, x, y, keep, next, &m);
#define S4J_X_MINUS_M _mm256_sub_pd(s4j_load_w(w, x + i), m)
  if (kind == S4J_KIND_LOG_SOFTMAX) {
    const __m256d t = _mm256_set1_pd(s4j_log_f64(total));
    S4J_F64_ROW_STORE(n, y, stream, _mm256_sub_pd(S4J_X_MINUS_M, t), S4J_NO_AHEAD, S4J_NO_AHEAD);
  } else if (keep) {
    const __m256d t = _mm256_set1_pd(1.0 / total);
    S4J_F64_ROW_STORE(n, y, 0, _mm256_mul_pd(s4j_load_w(w, y + i), t), S4J_NO_AHEAD, S4J_NO_AHEAD);
  } else {
    const __m256d t = _mm256_set1_pd(1.0 / total);
    S4J_F64_ROW_STORE(n, y, stream, _mm256_mul_pd(s4j_exp_f64_avx2(S4J_X_MINUS_M), t), S4J_NO_AHEAD,
                      S4J_NO_AHEAD);
  }
#undef S4J_X_MINUS_M
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

/* A row's backward sum (s4j_backward_term), in four Kahan chains. */
static double s4j_row_backward_sum(enum s4j_softmax_kind kind, size_t n, const double *gy,
                                   const double *y) {
  const size_t full = n & ~(size_t) 3;
  const size_t rest = n - full;
  __m256d vs[S4J_F64_CHAINS], vc[S4J_F64_CHAINS];
  for (int a = 0; a < S4J_F64_CHAINS; a++) vs[a] = vc[a] = _mm256_setzero_pd();
  size_t i = 0;
  for (; i + 4 * S4J_F64_CHAINS <= full; i += 4 * S4J_F64_CHAINS) {
#pragma GCC unroll 4
    for (int a = 0; a < S4J_F64_CHAINS; a++) {
      const size_t at = i + 4 * (size_t) a;
      s4j_kahan_add(&vs[a], &vc[a], s4j_backward_term(kind, _mm256_loadu_pd(gy + at), _mm256_loadu_pd(y + at)));
    }
  }
  for (; i < full; i += 4) {
    s4j_kahan_add(&vs[0], &vc[0], s4j_backward_term(kind, _mm256_loadu_pd(gy + i), _mm256_loadu_pd(y + i)));
  }
  if (rest) {
    const __m256i tail = s4j_tail_mask(rest);
    s4j_kahan_add(&vs[0], &vc[0], s4j_backward_term(kind, s4j_maskz_load(tail, gy + full),
                                                    s4j_maskz_load(tail, y + full)));
  }
  return s4j_kahan_chains_total(n, vs, vc);
}

/* The backward of a row. With `ahead` (log-softmax, a tensor too large for
 * the caches, and a row after this one), the exp-bound gradient pass asks
 * for the next row's gy and y lines, so that its sum pass does not wait on
 * memory; softmax's gradient pass, with no exp, does not (as
 * softmax_f64_avx512.c). */
static void s4j_backward_row(enum s4j_softmax_kind kind, size_t n, const double *gy,
                             const double *y, double *gx, int stream, int ahead) {
  const __m256d sum = _mm256_set1_pd(s4j_row_backward_sum(kind, n, gy, y));
  S4J_F64_ROW_STORE(n, gx, stream,
                    s4j_backward_lanes(kind, s4j_load_w(w, gy + i), s4j_load_w(w, y + i), sum),
                    ahead ? gy + n : S4J_NO_AHEAD, ahead ? y + n : S4J_NO_AHEAD);
}

/* Groups are up to 4 positions (lanes in `lanes`) of a [dim, inner] slab:
 * half a line of each row. Their prefetches look this many groups (two
 * lines) ahead. */
#define S4J_F64_AHEAD ((size_t) 4)

/* One row of a group's exp pass (s4j_group_max_sum), at offset `at`, into
 * the Kahan pair (s, c). */
static inline void s4j_group_exp_row(size_t at, __m256i lanes, size_t next, const double *x,
                                     double *y, int keep, __m256d m, __m256d *s, __m256d *c) {
  if (next != 0) {
    s4j_prefetch_line(x + at + next, 0);
    if (y != NULL) s4j_prefetch_line(y + at + next, 1); /* LogSumExp: no y */
  }
  const __m256d e = s4j_exp_f64_avx2(_mm256_sub_pd(s4j_maskz_load(lanes, x + at), m));
  if (keep) _mm256_storeu_pd(y + at, e); /* a full group's */
  s4j_kahan_add(s, c, e);
}

/*
 * The first two passes of a group: per lane the max (into *max) and the sum
 * of exp(x - max); with `keep` (full groups only), each exp is also stored
 * in y (which may be x). Lanes outside `lanes` sum exp(0 - 0) terms. The
 * rows go four at a time into the S4J_F64_CHAINS chains, as along a row.
 * `next` and the prefetches as in softmax_f64_avx512.c.
 */
static __m256d s4j_group_max_sum(size_t dim, size_t inner, __m256i lanes, size_t next,
                                 const double *x, double *y, int keep, __m256d *max) {
  __m256d vm[S4J_F64_CHAINS];
  for (int a = 0; a < S4J_F64_CHAINS; a++) vm[a] = s4j_maskz_load(lanes, x);
  size_t k = 1;
  for (; k + S4J_F64_CHAINS <= dim; k += S4J_F64_CHAINS) {
#pragma GCC unroll 4
    for (int a = 0; a < S4J_F64_CHAINS; a++) {
      vm[a] = _mm256_max_pd(vm[a], s4j_maskz_load(lanes, x + (k + (size_t) a) * inner));
    }
  }
  for (; k < dim; k++) vm[0] = _mm256_max_pd(vm[0], s4j_maskz_load(lanes, x + k * inner));
  const __m256d m = _mm256_max_pd(_mm256_max_pd(vm[0], vm[1]), _mm256_max_pd(vm[2], vm[3]));

  __m256d vs[S4J_F64_CHAINS], vc[S4J_F64_CHAINS];
  for (int a = 0; a < S4J_F64_CHAINS; a++) vs[a] = vc[a] = _mm256_setzero_pd();
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
                              __m256i lanes, size_t next, const double *x, double *y) {
  __m256d vm;
  /* Softmax keeps its exps in y (the group's rows stay in cache) when the
   * group is full; a partial one's would be masked stores, read back by
   * masked loads (as softmax_f64_avx512.c, where they cost more than the
   * exps). */
  const int keep = kind == S4J_KIND_SOFTMAX && s4j_lanes_full(lanes);
  const __m256d total = s4j_group_max_sum(dim, inner, lanes, next, x, y, keep, &vm);
  if (kind == S4J_KIND_LOG_SOFTMAX) {
    const __m256d t = s4j_log_f64_avx2(total);
    for (size_t k = 0; k < dim; k++) {
      const __m256d v = s4j_maskz_load(lanes, x + k * inner);
      s4j_mask_store(y + k * inner, lanes, _mm256_sub_pd(_mm256_sub_pd(v, vm), t));
    }
  } else if (keep) {
    const __m256d t = _mm256_div_pd(_mm256_set1_pd(1.0), total);
    for (size_t k = 0; k < dim; k++) {
      double *out = y + k * inner;
      _mm256_storeu_pd(out, _mm256_mul_pd(_mm256_loadu_pd(out), t));
    }
  } else {
    const __m256d t = _mm256_div_pd(_mm256_set1_pd(1.0), total);
    for (size_t k = 0; k < dim; k++) {
      const __m256d v = s4j_maskz_load(lanes, x + k * inner);
      s4j_mask_store(y + k * inner, lanes, _mm256_mul_pd(s4j_exp_f64_avx2(_mm256_sub_pd(v, vm)), t));
    }
  }
}

/* One row of a group's backward sum pass, at offset `at`. */
static inline void s4j_group_sum_row(enum s4j_softmax_kind kind, size_t at, __m256i lanes,
                                     size_t next, size_t after, const double *gy, const double *y,
                                     double *gx, __m256d *s, __m256d *c) {
  if (next != 0) {
    s4j_prefetch_line(gx + at + next, 1);
    if (kind == S4J_KIND_SOFTMAX && after != 0) {
      s4j_prefetch_line(gy + at + after, 0);
      s4j_prefetch_line(y + at + after, 0);
    }
  }
  s4j_kahan_add(s, c, s4j_backward_term(kind, s4j_maskz_load(lanes, gy + at),
                                        s4j_maskz_load(lanes, y + at)));
}

static void s4j_backward_group(enum s4j_softmax_kind kind, size_t dim, size_t inner,
                               __m256i lanes, size_t next, size_t after, const double *gy,
                               const double *y, double *gx) {
  __m256d vs[S4J_F64_CHAINS], vc[S4J_F64_CHAINS];
  for (int a = 0; a < S4J_F64_CHAINS; a++) vs[a] = vc[a] = _mm256_setzero_pd();
  /* Rows far apart (prefetching) are bound by memory: one chain, which
   * keeps the pass's pace to the prefetches' (as softmax_f64_avx512.c).
   * The chains have a branch of their own: one loop for both, with the
   * same instructions in the prefetching case, took 1.03-1.16 x the time
   * in six of seven runs ([8,81,8732] softmax). */
  size_t k = 0;
  if (next != 0) {
    for (; k < dim; k++) s4j_group_sum_row(kind, k * inner, lanes, next, after, gy, y, gx, &vs[0], &vc[0]);
  } else {
    for (; k + S4J_F64_CHAINS <= dim; k += S4J_F64_CHAINS) {
#pragma GCC unroll 4
      for (int a = 0; a < S4J_F64_CHAINS; a++) {
        s4j_group_sum_row(kind, (k + (size_t) a) * inner, lanes, 0, 0, gy, y, gx, &vs[a], &vc[a]);
      }
    }
    for (; k < dim; k++) s4j_group_sum_row(kind, k * inner, lanes, 0, 0, gy, y, gx, &vs[0], &vc[0]);
    if (dim >= S4J_F64_CHAINS) s4j_kahan_fold(vs, vc);
  }
  const __m256d sum = s4j_kahan_total(vs[0], vc[0]);
  for (k = 0; k < dim; k++) {
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
  const __m256d total = s4j_group_max_sum(dim, inner, lanes, next, x, NULL, 0, &vm);
  s4j_mask_store(y, lanes, _mm256_add_pd(vm, s4j_log_f64_avx2(total)));
}

/* LogSumExp backward of one row: gx = gy * (exp(x - max) * (1 / sum)). */
static void s4j_lse_backward_row(size_t n, double gy, const double *x, double *gx) {
  const size_t full = n & ~(size_t) 3;
  const size_t rest = n - full;
  const __m256i tail = s4j_tail_mask(rest);
  __m256d m;
  const double total = s4j_row_max_sum(n, x, NULL, 0, NULL, &m);
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
  /* The exps kept in gx by a full group's sum pass (as s4j_forward_group). */
  const int keep = s4j_lanes_full(lanes);
  const __m256d total = s4j_group_max_sum(dim, inner, lanes, next, x, gx, keep, &vm);
  const __m256d t = _mm256_div_pd(_mm256_set1_pd(1.0), total);
  const __m256d g = s4j_maskz_load(lanes, gy);
  if (keep) {
    for (size_t k = 0; k < dim; k++) {
      double *out = gx + k * inner;
      _mm256_storeu_pd(out, _mm256_mul_pd(g, _mm256_mul_pd(_mm256_loadu_pd(out), t)));
    }
    return;
  }
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
      const double total = s4j_row_max_sum(dim, slab, NULL, 0, NULL, &m);
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
