/*
 * test_logsumexp_dtype.c - LogSumExp on float64, bfloat16 and float16,
 * every variant through its exported s4j_logsumexp_*_<dtype>_<isa>
 * function (and the dispatched one, which must give the same bits as the
 * variant it chose), against a long double reference computed from the
 * elements as stored:
 *
 *   float64   forward within 8 ulp of max(1, |ref|); backward within 32 ulp
 *             of |ref| (the exp's argument x - m carries up to |x - m| / 2
 *             ulp, <= 10 here) plus 2^-1022.
 *   bfloat16  every output within 1 ulp of the format at ref, and at least
 *   float16   99% of them within half an ulp (the correct rounding, missed
 *             only where ref lies within float error, ~1e-6 relative, of a
 *             halfway point).
 *
 * Shapes: rows (inner == 1) of lengths around every vector width and
 * unroll, middle dimensions (inner > 1) with full and partial groups, dim of
 * 1 (the value itself) and an empty dim (-inf). Inputs in [-10, 10) and in
 * [90, 100), where a plain exp overflows float16 and the max-shift must
 * work. Also PyTorch's special values per dtype, a row of 512 equal
 * bfloat16 logits (exactly log(512) + v, rounded), canaries (a NaN of the
 * dtype) beside every buffer, and every return code.
 *
 * Usage: test_logsumexp_dtype [isa]   (default: every variant the CPU runs)
 */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/registry.h"
#include "math/half.h"
#include "softmax4j.h"
#include "test_util.h"

#define PAD 13

enum t_type { T_F64, T_BF16, T_F16, T_TYPES };
static const char *const t_type_names[T_TYPES] = {"float64", "bfloat16", "float16"};
static const size_t t_sizes[T_TYPES] = {8, 2, 2};

typedef int (*t_fwd_fn)(const void *x, void *out, int64_t outer, int64_t dim, int64_t inner);
typedef int (*t_bwd_fn)(const void *gy, const void *x, void *gx, int64_t outer, int64_t dim,
                        int64_t inner);

/* Each exported function behind one pointer type per direction. */
#define T_WRAP(name, sfx, type)                                                               \
  static int t_fwd_##sfx##_##name(const void *x, void *out, int64_t o, int64_t d, int64_t i) { \
    return s4j_logsumexp_forward_##sfx##_##name((const type *) x, (type *) out, o, d, i);     \
  }                                                                                           \
  static int t_bwd_##sfx##_##name(const void *gy, const void *x, void *gx, int64_t o,         \
                                  int64_t d, int64_t i) {                                     \
    return s4j_logsumexp_backward_##sfx##_##name((const type *) gy, (const type *) x,         \
                                                 (type *) gx, o, d, i);                       \
  }
#define T_WRAPS(name, required, fwd, bwd, vexp) \
  T_WRAP(name, f64, double) T_WRAP(name, bf16, uint16_t) T_WRAP(name, f16, uint16_t)
S4J_VARIANTS(T_WRAPS)
#undef T_WRAPS

/* The dispatched functions, by the same scheme. */
#define T_WRAP_DISPATCHED(sfx, type)                                                   \
  static int t_fwd_##sfx(const void *x, void *out, int64_t o, int64_t d, int64_t i) {  \
    return s4j_logsumexp_forward_##sfx((const type *) x, (type *) out, o, d, i);       \
  }                                                                                    \
  static int t_bwd_##sfx(const void *gy, const void *x, void *gx, int64_t o, int64_t d, \
                         int64_t i) {                                                  \
    return s4j_logsumexp_backward_##sfx((const type *) gy, (const type *) x,           \
                                        (type *) gx, o, d, i);                         \
  }
T_WRAP_DISPATCHED(f64, double)
T_WRAP_DISPATCHED(bf16, uint16_t)
T_WRAP_DISPATCHED(f16, uint16_t)
#undef T_WRAP_DISPATCHED
#undef T_WRAP

struct t_variant {
  const char *name;
  t_fwd_fn fwd[T_TYPES];
  t_bwd_fn bwd[T_TYPES];
};

#define T_VARIANT(name, required, fwd, bwd, vexp)                     \
  {#name,                                                             \
   {t_fwd_f64_##name, t_fwd_bf16_##name, t_fwd_f16_##name},           \
   {t_bwd_f64_##name, t_bwd_bf16_##name, t_bwd_f16_##name}},
static const struct t_variant t_variants[] = {S4J_VARIANTS(T_VARIANT)};
#undef T_VARIANT
static const struct t_variant t_dispatched = {
    "dispatched", {t_fwd_f64, t_fwd_bf16, t_fwd_f16}, {t_bwd_f64, t_bwd_bf16, t_bwd_f16}};

/* --- elements of a dtype ----------------------------------------------------- */

static double t_get(enum t_type t, const void *p, size_t i) {
  if (t == T_F64) return ((const double *) p)[i];
  const uint16_t h = ((const uint16_t *) p)[i];
  return (double) (t == T_BF16 ? s4j_bf16_to_f32(h) : s4j_f16_to_f32(h));
}

/* v rounded to the dtype (exactly representable values are stored as is). */
static void t_set(enum t_type t, void *p, size_t i, double v) {
  if (t == T_F64) {
    ((double *) p)[i] = v;
  } else {
    ((uint16_t *) p)[i] = s4j_f32_to_half(t == T_BF16 ? S4J_HALF_BF16 : S4J_HALF_F16, (float) v);
  }
}

/* The unit in the last place of the 16-bit format at v (subnormals too). */
static long double t_ulp(enum t_type t, long double v) {
  const int precision = t == T_BF16 ? 8 : 11, emin = t == T_BF16 ? -126 : -14;
  int e = emin;
  if (v != 0.0L) {
    (void) frexpl(fabsl(v), &e);
    e = e - 1 < emin ? emin : e - 1;
  }
  return ldexpl(1.0L, e - (precision - 1));
}

/* --- buffers with canaries: a NaN of the dtype on each side ------------------- */

typedef struct {
  enum t_type type;
  unsigned char *base;
  void *v;
  size_t n;
} t_buf;

static void t_canary(enum t_type t, unsigned char *p) {
  if (t == T_F64) {
    const uint64_t u = UINT64_C(0x7ff4a5a5a5a5a5a5);
    memcpy(p, &u, sizeof u);
  } else {
    const uint16_t u = t == T_BF16 ? 0x7fa5u : 0x7ca5u;
    memcpy(p, &u, sizeof u);
  }
}

static t_buf t_buf_new(enum t_type t, size_t n) {
  if (n > ((size_t) 1 << 32)) exit(2); /* tells the compiler the sizes fit */
  const size_t size = t_sizes[t];
  t_buf b = {t, malloc((n + 2 * PAD) * size), NULL, n};
  if (b.base == NULL) exit(2);
  for (size_t i = 0; i < n + 2 * PAD; i++) t_canary(t, b.base + i * size);
  b.v = b.base + PAD * size;
  return b;
}

static int t_buf_intact(const t_buf *b) {
  const size_t size = t_sizes[b->type];
  unsigned char want[8];
  t_canary(b->type, want);
  for (size_t i = 0; i < PAD; i++) {
    if (memcmp(b->base + i * size, want, size) != 0) return 0;
    if (memcmp(b->base + (PAD + b->n + i) * size, want, size) != 0) return 0;
  }
  return 1;
}

/* --- reference ----------------------------------------------------------------- */

/* m + log(sum(exp(x - m))) per position, torch.logsumexp's special values. */
static void ref_forward(enum t_type t, size_t outer, size_t dim, size_t inner, const void *x,
                        long double *out) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t j = 0; j < inner; j++) {
      const size_t first = o * dim * inner + j;
      long double m = -INFINITY;
      int nan = 0;
      for (size_t c = 0; c < dim; c++) {
        const long double v = t_get(t, x, first + c * inner);
        nan |= isnan(v);
        if (v > m) m = v;
      }
      long double sum = 0.0L;
      if (isfinite(m)) {
        for (size_t c = 0; c < dim; c++) sum += expl(t_get(t, x, first + c * inner) - m);
      }
      out[o * inner + j] = nan ? NAN : isfinite(m) ? m + logl(sum) : m;
    }
  }
}

/* gy[o, j] * softmax(x)[o, c, j], for finite slices. */
static void ref_backward(enum t_type t, size_t outer, size_t dim, size_t inner, const void *gy,
                         const void *x, long double *gx) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t j = 0; j < inner; j++) {
      const size_t first = o * dim * inner + j;
      long double m = -INFINITY, sum = 0.0L;
      for (size_t c = 0; c < dim; c++) {
        const long double v = t_get(t, x, first + c * inner);
        m = v > m ? v : m;
      }
      for (size_t c = 0; c < dim; c++) sum += expl(t_get(t, x, first + c * inner) - m);
      for (size_t c = 0; c < dim; c++) {
        const long double p = expl(t_get(t, x, first + c * inner) - m) / sum;
        gx[first + c * inner] = (long double) t_get(t, gy, o * inner + j) * p;
      }
    }
  }
}

/* Error counts of one output tensor against its reference. */
struct t_errors {
  size_t off;     /* outside the bound */
  size_t rounded; /* within half an ulp (x16 only) */
  size_t first;   /* the first one off */
};

/* The forward (is_forward) or backward bound of the dtype, at i. */
static struct t_errors t_compare(enum t_type t, int is_forward, const void *got,
                                 const long double *ref, size_t n) {
  struct t_errors e = {0, 0, 0};
  for (size_t i = 0; i < n; i++) {
    const long double g = t_get(t, got, i), r = ref[i];
    const long double err = fabsl(g - r);
    int ok;
    if (t == T_F64) {
      const long double scale = is_forward ? (fabsl(r) > 1.0L ? fabsl(r) : 1.0L) : fabsl(r);
      const long double ulps = is_forward ? 8.0L : 32.0L;
      ok = err <= ulps * DBL_EPSILON * scale + (is_forward ? 0.0L : 0x1p-1022L);
    } else {
      const long double ulp = t_ulp(t, r);
      ok = err <= ulp;
      e.rounded += err <= 0.5L * ulp * (1.0L + 1e-9L);
    }
    if (!ok && e.off++ == 0) e.first = i;
  }
  return e;
}

static int t_rounded_enough(enum t_type t, const struct t_errors *e, size_t n) {
  return t == T_F64 || (double) e->rounded >= 0.99 * (double) n;
}

/* --- tests ------------------------------------------------------------------------ */

__attribute__((noinline)) static void test_shape(const struct t_variant *v, enum t_type t,
                                                 size_t outer, size_t dim, size_t inner, float lo,
                                                 float hi, t_rng *rng) {
  const size_t n = outer * dim * inner, p = outer * inner;
  t_buf x = t_buf_new(t, n), out = t_buf_new(t, p), gy = t_buf_new(t, p), gx = t_buf_new(t, n);
  long double *ref = calloc(n > p ? n : p, sizeof *ref);
  if (ref == NULL) exit(2);
  for (size_t i = 0; i < n; i++) {
    const double u = (double) (t_rng_next(rng) >> 11) * 0x1p-53;
    t_set(t, x.v, i, (double) lo + ((double) hi - (double) lo) * u);
  }
  for (size_t i = 0; i < p; i++) t_set(t, gy.v, i, (double) t_rng_uniform(rng, -1.0f, 1.0f));
  const char *tn = t_type_names[t];

  int rc = v->fwd[t](x.v, out.v, (int64_t) outer, (int64_t) dim, (int64_t) inner);
  ref_forward(t, outer, dim, inner, x.v, ref);
  struct t_errors e = t_compare(t, 1, out.v, ref, p);
  t_check(rc == S4J_OK && e.off == 0 && t_rounded_enough(t, &e, p),
          "%s %s forward [%zu,%zu,%zu] in [%g,%g): rc %d, %zu off, %zu of %zu correctly rounded, "
          "first %zu: %.17g vs %.20Lg",
          v->name, tn, outer, dim, inner, (double) lo, (double) hi, rc, e.off, e.rounded, p,
          e.first, t_get(t, out.v, e.first), ref[e.first]);

  rc = v->bwd[t](gy.v, x.v, gx.v, (int64_t) outer, (int64_t) dim, (int64_t) inner);
  ref_backward(t, outer, dim, inner, gy.v, x.v, ref);
  e = t_compare(t, 0, gx.v, ref, n);
  t_check(rc == S4J_OK && e.off == 0 && t_rounded_enough(t, &e, n),
          "%s %s backward [%zu,%zu,%zu] in [%g,%g): rc %d, %zu off, %zu of %zu correctly rounded, "
          "first %zu: %.17g vs %.20Lg",
          v->name, tn, outer, dim, inner, (double) lo, (double) hi, rc, e.off, e.rounded, n,
          e.first, t_get(t, gx.v, e.first), ref[e.first]);
  t_check(t_buf_intact(&x) && t_buf_intact(&out) && t_buf_intact(&gy) && t_buf_intact(&gx),
          "%s %s [%zu,%zu,%zu]: a canary beside a buffer changed", v->name, tn, outer, dim, inner);
  free(ref);
  free(x.base);
  free(out.base);
  free(gy.base);
  free(gx.base);
}

static void test_shapes(const struct t_variant *v, enum t_type t, t_rng *rng) {
  /* Rows around 4, 8 and 16 lanes and their unrolls; groups of 4, 8 and
   * 16 positions, full and partial; dim of 1. */
  static const size_t shapes[][3] = {
      {1, 1, 1},    {3, 2, 1},   {2, 3, 1},   {2, 7, 1},   {2, 8, 1},    {2, 9, 1},  {2, 15, 1},
      {2, 16, 1},   {2, 17, 1},  {2, 33, 1},  {1, 127, 1}, {1, 128, 1},  {1, 129, 1}, {1, 255, 1},
      {1, 257, 1},  {2, 1000, 1}, {1, 4099, 1}, {4, 1, 5},  {1, 3, 2},    {1, 3, 5},  {2, 5, 4},
      {2, 5, 7},    {2, 5, 8},   {2, 9, 9},   {2, 5, 16},  {2, 9, 17},   {1, 81, 40}, {3, 4, 33},
      {1, 300, 24},
  };
  const int before = t_failed;
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    test_shape(v, t, shapes[s][0], shapes[s][1], shapes[s][2], -10.0f, 10.0f, rng);
    test_shape(v, t, shapes[s][0], shapes[s][1], shapes[s][2], 90.0f, 100.0f, rng);
  }
  printf("  %s %s: shapes vs long double reference: %s\n", v->name, t_type_names[t],
         t_failed == before ? "ok" : "FAILED");
}

/* One case per slice, as rows (inner == 1) and as the columns of [1, 3, 7]. */
static void test_special_values(const struct t_variant *v, enum t_type t) {
  const double inf = INFINITY;
  /* A huge value of the dtype: v + log 2 rounds back to v. */
  const double huge = t == T_F64 ? 1e300 : t == T_BF16 ? (double) s4j_bf16_to_f32(0x7e00u) : 60000.0;
  enum { CASES = 7, DIM = 3 };
  const double rows[CASES][DIM] = {
      {1.0, 2.0, 3.0},        /* finite */
      {-inf, 0.0, -inf},      /* masks: log(exp(0)) = 0, gradient gy on 0 */
      {-inf, -inf, -inf},     /* all -inf: -inf */
      {1.0, inf, 2.0},        /* +inf: +inf */
      {1.0, NAN, 2.0},        /* NaN */
      {inf, NAN, -inf},       /* +inf and NaN: NaN */
      {huge, -huge, huge},    /* huge: huge + log 2, which rounds to huge */
  };
  const double want[CASES] = {0.0 /* ref */, 0.0, -inf, inf, NAN, NAN, huge};
  const char *tn = t_type_names[t];
  unsigned char xr[CASES * DIM * 8], xc[CASES * DIM * 8], orow[CASES * 8], ocol[CASES * 8];
  unsigned char gy[CASES * 8], gx[CASES * DIM * 8];
  for (size_t r = 0; r < CASES; r++) {
    t_set(t, gy, r, 0.75);
    for (size_t c = 0; c < DIM; c++) {
      t_set(t, xr, r * DIM + c, rows[r][c]);
      t_set(t, xc, c * CASES + r, rows[r][c]);
    }
  }
  long double ref0;
  ref_forward(t, 1, DIM, 1, xr, &ref0);
  for (int layout = 0; layout < 2; layout++) {
    const char *where = layout == 0 ? "rows" : "a middle dimension";
    unsigned char *o = layout == 0 ? orow : ocol;
    const int rc = layout == 0 ? v->fwd[t](xr, o, CASES, DIM, 1) : v->fwd[t](xc, o, 1, DIM, CASES);
    struct t_errors e = t_compare(t, 1, o, &ref0, 1);
    int ok = rc == S4J_OK && e.off == 0;
    for (size_t r = 1; r < CASES; r++) {
      const double g = t_get(t, o, r);
      ok &= isnan(want[r]) ? isnan(g) : g == want[r];
    }
    t_check(ok, "%s %s special values over %s: rc %d, got %g %g %g %g %g %g %g", v->name, tn, where,
            rc, t_get(t, o, 0), t_get(t, o, 1), t_get(t, o, 2), t_get(t, o, 3), t_get(t, o, 4),
            t_get(t, o, 5), t_get(t, o, 6));

    /* Backward: NaN throughout the slices whose forward was not finite;
     * masked entries get 0, the huge row's two maxima gy / 2, exactly. */
    const int brc = layout == 0 ? v->bwd[t](gy, xr, gx, CASES, DIM, 1) : v->bwd[t](gy, xc, gx, 1, DIM, CASES);
    ok = brc == S4J_OK;
    for (size_t r = 1; r < CASES; r++) {
      for (size_t c = 0; c < DIM; c++) {
        const double g = t_get(t, gx, layout == 0 ? r * DIM + c : c * CASES + r);
        if (r == 1) ok &= g == (c == 1 ? 0.75 : 0.0);
        if (r >= 2 && r <= 5) ok &= isnan(g);
        if (r == 6) ok &= g == (c == 1 ? 0.0 : 0.375);
      }
    }
    t_check(ok, "%s %s special values' gradient over %s: rc %d", v->name, tn, where, brc);
  }

  /* dim == 1: the value itself, gradient gy; dim == 0: -inf, no gradient. */
  const double one[4] = {-3.5, 0.0, 7.25, -inf};
  unsigned char x1[4 * 8], o1[4 * 8], g1[4 * 8], o0[3 * 8];
  for (size_t i = 0; i < 4; i++) t_set(t, x1, i, one[i]);
  int ok = v->fwd[t](x1, o1, 4, 1, 1) == S4J_OK && memcmp(x1, o1, 4 * t_sizes[t]) == 0;
  t_check(ok, "%s %s: dim == 1 must return x", v->name, tn);
  ok = v->bwd[t](gy, x1, g1, 3, 1, 1) == S4J_OK && memcmp(gy, g1, 3 * t_sizes[t]) == 0;
  t_check(ok, "%s %s: dim == 1 must pass gy through", v->name, tn);
  ok = v->fwd[t](NULL, o0, 1, 0, 3) == S4J_OK;
  for (size_t i = 0; i < 3; i++) ok &= t_get(t, o0, i) == -inf;
  t_check(ok, "%s %s: dim == 0 must give -inf", v->name, tn);
}

/* 512 equal bfloat16 logits: exactly log(512) + v rounded to bfloat16, as a
 * row and as a column; a 16-bit accumulator would be far off. */
static void test_uniform_bf16(const struct t_variant *v) {
  enum { N = 512 };
  static const float logits[] = {0.0f, 1.5f, -7.25f, 40.0f};
  for (size_t k = 0; k < sizeof logits / sizeof logits[0]; k++) {
    uint16_t x[N], out[2], gy[1], gx[N];
    for (size_t i = 0; i < N; i++) x[i] = s4j_f32_to_bf16(logits[k]);
    const long double exact = logl((long double) N) + (long double) logits[k];
    /* The correct rounding: the nearer of the two bfloat16 around exact. */
    const uint16_t near = s4j_f32_to_bf16((float) exact);
    uint16_t want = near;
    for (int d = -1; d <= 1; d += 2) {
      const uint16_t cand = (uint16_t) (near + d);
      if (fabsl((long double) s4j_bf16_to_f32(cand) - exact) <
          fabsl((long double) s4j_bf16_to_f32(want) - exact)) {
        want = cand;
      }
    }
    v->fwd[T_BF16](x, out, 1, N, 1);
    v->fwd[T_BF16](x, out + 1, 1, N, 1);
    t_check(out[0] == want && out[1] == want, "%s bfloat16: %d equal logits %g give %#x, want %#x",
            v->name, N, (double) logits[k], out[0], want);
    /* Backward: each gets gy / 512, exact in float and in bfloat16. */
    gy[0] = s4j_f32_to_bf16(1.0f);
    v->bwd[T_BF16](gy, x, gx, 1, N, 1);
    int ok = 1;
    for (size_t i = 0; i < N; i++) ok &= gx[i] == s4j_f32_to_bf16(1.0f / N);
    t_check(ok, "%s bfloat16: %d equal logits must get 1/%d each", v->name, N, N);
  }
}

/* s4j_f64_to_half, the forward's one rounding, around every kind of
 * halfway point: a double just below, at and just above the midpoint of
 * two neighbouring 16-bit values must give the lower, the even and the
 * upper one. Just above by less than half a float ulp is where rounding to
 * float first would land on the midpoint and then round to even: wrong. */
static void test_f64_to_half(t_rng *rng) {
  for (int f = 0; f < 2; f++) {
    const enum s4j_half_format fmt = f == 0 ? S4J_HALF_BF16 : S4J_HALF_F16;
    const uint16_t top = f == 0 ? 0x7f7fu : 0x7bffu; /* the largest finite value */
    size_t bad = 0;
    for (int i = 0; i < 200000; i++) {
      /* Any finite magnitude below the largest, either sign: subnormals,
       * zero and the normal range. */
      uint16_t lo = (uint16_t) (t_rng_next(rng) % top);
      const uint16_t sign = (t_rng_next(rng) & 1u) ? 0x8000u : 0u;
      const uint16_t hi = (uint16_t) (lo + 1u);
      const double a = (double) s4j_half_to_f32(fmt, lo), b = (double) s4j_half_to_f32(fmt, hi);
      const double mid = (a + b) / 2.0; /* exact: both have few bits */
      const double tiny = (b - a) * 0x1p-30;
      const uint16_t even = (lo & 1u) ? hi : lo;
      const double s = sign ? -1.0 : 1.0;
      bad += s4j_f64_to_half(fmt, s * (mid - tiny)) != (uint16_t) (lo | sign);
      bad += s4j_f64_to_half(fmt, s * mid) != (uint16_t) (even | sign);
      bad += s4j_f64_to_half(fmt, s * (mid + tiny)) != (uint16_t) (hi | sign);
      bad += s4j_f64_to_half(fmt, s * a) != (uint16_t) (lo | sign);
    }
    /* Past the halfway point above the largest value: infinity. */
    const double big = (double) s4j_half_to_f32(fmt, top), ulp = big - (double) s4j_half_to_f32(fmt, (uint16_t) (top - 1u));
    bad += s4j_f64_to_half(fmt, big + ulp / 2.0 * (1.0 + 0x1p-40)) != (f == 0 ? 0x7f80u : 0x7c00u);
    bad += s4j_f64_to_half(fmt, big + ulp / 2.0 * (1.0 - 0x1p-40)) != top;
    bad += s4j_f64_to_half(fmt, 1e300) != (f == 0 ? 0x7f80u : 0x7c00u);
    bad += s4j_f64_to_half(fmt, -(double) INFINITY) != (f == 0 ? 0xff80u : 0xfc00u);
    bad += isnan(s4j_half_to_f32(fmt, s4j_f64_to_half(fmt, (double) NAN))) ? 0u : 1u;
    bad += s4j_f64_to_half(fmt, 1e-300) != 0 || s4j_f64_to_half(fmt, -1e-300) != 0x8000u;
    t_check(bad == 0, "s4j_f64_to_half %s: %zu wrong roundings", f == 0 ? "bfloat16" : "float16", bad);
  }
}

/* The dispatched functions give the bits of the variant dispatch chose. */
static void test_dispatched_matches(t_rng *rng) {
  const struct t_variant *chosen = NULL;
  for (size_t k = 0; k < sizeof t_variants / sizeof t_variants[0]; k++) {
    if (strcmp(t_variants[k].name, s4j_isa()) == 0) chosen = &t_variants[k];
  }
  if (chosen == NULL) return;
  enum { OUTER = 3, DIM = 37, INNER = 11, N = OUTER * DIM * INNER, P = OUTER * INNER };
  for (int t = 0; t < T_TYPES; t++) {
    unsigned char x[N * 8], gy[P * 8], o1[P * 8], o2[P * 8], g1[N * 8], g2[N * 8];
    for (size_t i = 0; i < N; i++) t_set((enum t_type) t, x, i, (double) t_rng_uniform(rng, -5.0f, 5.0f));
    for (size_t i = 0; i < P; i++) t_set((enum t_type) t, gy, i, (double) t_rng_uniform(rng, -1.0f, 1.0f));
    const size_t size = t_sizes[t];
    int ok = t_dispatched.fwd[t](x, o1, OUTER, DIM, INNER) == S4J_OK &&
             chosen->fwd[t](x, o2, OUTER, DIM, INNER) == S4J_OK && memcmp(o1, o2, P * size) == 0 &&
             t_dispatched.bwd[t](gy, x, g1, OUTER, DIM, INNER) == S4J_OK &&
             chosen->bwd[t](gy, x, g2, OUTER, DIM, INNER) == S4J_OK && memcmp(g1, g2, N * size) == 0;
    t_check(ok, "dispatched %s LogSumExp differs from %s's", t_type_names[t], chosen->name);
  }
}

static void test_return_codes(const struct t_variant *v, enum t_type t) {
  unsigned char a[4 * 8] = {0}, b[4 * 8] = {0}, c[4 * 8] = {0};
  const char *tn = t_type_names[t];
  const int64_t size = (int64_t) t_sizes[t];
  t_check(v->fwd[t](a, b, -1, 2, 1) == S4J_ERR_NEGATIVE_SIZE &&
              v->fwd[t](a, b, 1, 2, -1) == S4J_ERR_NEGATIVE_SIZE &&
              v->bwd[t](a, b, c, 1, -2, 1) == S4J_ERR_NEGATIVE_SIZE,
          "%s %s: negative sizes must give S4J_ERR_NEGATIVE_SIZE", v->name, tn);
  t_check(v->fwd[t](NULL, NULL, 0, 5, 5) == S4J_OK && v->fwd[t](NULL, NULL, 5, 5, 0) == S4J_OK &&
              v->bwd[t](NULL, NULL, NULL, 5, 5, 0) == S4J_OK &&
              v->bwd[t](NULL, NULL, NULL, 2, 0, 2) == S4J_OK,
          "%s %s: no positions, or no gradient to write, is a no-op whatever the pointers", v->name, tn);
  /* One element past INT64_MAX bytes overflows; the same count of 8-byte
   * elements is within range for 2-byte ones, which then reach the pointer
   * check: the byte count uses the dtype's size. */
  const int64_t past = INT64_MAX / size + 1;
  t_check(v->fwd[t](a, b, 1, past, 1) == S4J_ERR_SIZE_OVERFLOW &&
              v->bwd[t](a, b, c, 1, 1, past) == S4J_ERR_SIZE_OVERFLOW,
          "%s %s: %lld elements must give S4J_ERR_SIZE_OVERFLOW", v->name, tn, (long long) past);
  if (size == 2) {
    t_check(v->fwd[t](NULL, b, 1, INT64_MAX / 8 + 1, 1) == S4J_ERR_NULL_POINTER,
            "%s %s: a size that fits in 2-byte elements must pass the size check", v->name, tn);
  }
  t_check(v->fwd[t](NULL, b, 1, 2, 1) == S4J_ERR_NULL_POINTER &&
              v->fwd[t](a, NULL, 1, 2, 1) == S4J_ERR_NULL_POINTER &&
              v->fwd[t](a, NULL, 1, 0, 1) == S4J_ERR_NULL_POINTER &&
              v->bwd[t](NULL, b, c, 1, 2, 1) == S4J_ERR_NULL_POINTER &&
              v->bwd[t](a, NULL, c, 1, 2, 1) == S4J_ERR_NULL_POINTER &&
              v->bwd[t](a, b, NULL, 1, 2, 1) == S4J_ERR_NULL_POINTER,
          "%s %s: NULL pointers must give S4J_ERR_NULL_POINTER", v->name, tn);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *only = argc > 1 ? argv[1] : NULL;
  const uint64_t seed = t_seed();
  printf("test_logsumexp_dtype: seed %#" PRIx64 " (set S4J_TEST_SEED to replay another)\n", seed);
  for (size_t k = 0; k < sizeof t_variants / sizeof t_variants[0]; k++) {
    const struct t_variant *v = &t_variants[k];
    if (!t_run_variant(v->name, only)) continue;
    t_rng rng = {seed};
    for (int t = 0; t < T_TYPES; t++) {
      test_shapes(v, (enum t_type) t, &rng);
      test_special_values(v, (enum t_type) t);
      test_return_codes(v, (enum t_type) t);
    }
    test_uniform_bf16(v);
  }
  t_rng rounding_rng = {seed};
  test_f64_to_half(&rounding_rng);
  if (s4j_isa_status() == S4J_OK) {
    t_rng rng = {seed};
    test_dispatched_matches(&rng);
    for (int t = 0; t < T_TYPES; t++) test_return_codes(&t_dispatched, (enum t_type) t);
  }
  return t_finish("logsumexp_dtype");
}
