/*
 * test_softmax_dim.c - log-softmax and softmax over any dimension
 * ([outer, dim, inner]): every variant's dim ukernels, and its softmax row
 * ukernels (the last dimension), against a long double
 * reference over sizes that hit every block and tail, special values per
 * column, canaries around the tensor, in-place use, a finite-difference
 * gradient check of both backwards, and the public entry points (return
 * codes, dispatch, the row-kernel route for log-softmax with inner == 1,
 * strided slabs with untouched gaps).
 *
 * Usage: test_softmax_dim [isa]   (default: every variant the CPU supports)
 * S4J_TEST_SEED=<n> replays another random draw.
 */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "kernels/registry.h"
#include "kernels/softmax_dim_f32.h"
#include "kernels/softmax_rows_f32.h"
#include "softmax4j.h"
#include "test_util.h"

/* Log-softmax and the backwards: |got - ref| <= TOL * max(1, |ref|), the
 * library's bound. Softmax: |got - ref| <= TOL * ref + SOFT_ABS. The
 * relative part covers the exp (< 1 ulp), 1/s and the product; the float
 * x - max (exact for the [90, 100] inputs, rounded to half an ulp of up to
 * 20 for [-10, 10]) moves a probability by up to 1e-6 of itself. SOFT_ABS
 * only matters for probabilities that underflow. */
#define TOL 2e-6
#define SOFT_ABS 1e-30
#define FD_TOL 2e-3
#define PAD 29
#define CANARY T_CANARY

struct t_variant {
  const char *name;
  s4j_f32_softmax_dim_fwd_ukernel_fn fwd;
  s4j_f32_softmax_dim_bwd_ukernel_fn bwd;
  s4j_f32_softmax_rows_fwd_ukernel_fn rows_fwd;
  s4j_f32_softmax_rows_bwd_ukernel_fn rows_bwd;
};

#define T_VARIANT(name, required, fwd, bwd, vexp)                                    \
  {#name, s4j_f32_softmax_dim_fwd_ukernel__##name, s4j_f32_softmax_dim_bwd_ukernel__##name, \
   s4j_f32_softmax_rows_fwd_ukernel__##name, s4j_f32_softmax_rows_bwd_ukernel__##name},
static const struct t_variant t_variants[] = {S4J_VARIANTS(T_VARIANT)};
#undef T_VARIANT

static const char *kind_name(enum s4j_softmax_kind kind) {
  return kind == S4J_KIND_LOG_SOFTMAX ? "log_softmax" : "softmax";
}

/* --- tensors with canaries ------------------------------------------------- */

static t_floats buf_new(size_t n) { return t_floats_new(n, PAD); }

/* --- the reference, per column, in long double -------------------------------- */

static size_t at(size_t o, size_t c, size_t j, size_t dim, size_t inner) {
  return (o * dim + c) * inner + j;
}

static void ref_forward(enum s4j_softmax_kind kind, size_t outer, size_t dim, size_t inner,
                        const float *x, long double *y) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t j = 0; j < inner; j++) {
      long double m = -INFINITY;
      int nan = 0;
      for (size_t c = 0; c < dim; c++) {
        const float v = x[at(o, c, j, dim, inner)];
        if (isnan(v) || v == INFINITY) nan = 1;
        if (v > m) m = v;
      }
      if (m == -INFINITY) nan = 1;
      long double s = 0.0L;
      for (size_t c = 0; c < dim; c++) s += expl((long double) x[at(o, c, j, dim, inner)] - m);
      for (size_t c = 0; c < dim; c++) {
        const long double d = (long double) x[at(o, c, j, dim, inner)] - m;
        y[at(o, c, j, dim, inner)] =
            nan ? NAN : kind == S4J_KIND_LOG_SOFTMAX ? d - logl(s) : expl(d) / s;
      }
    }
  }
}

/* The gradient, in long double, from the float output the kernel is given. */
static void ref_backward(enum s4j_softmax_kind kind, size_t outer, size_t dim, size_t inner,
                         const float *gy, const float *y, long double *gx) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t j = 0; j < inner; j++) {
      long double s = 0.0L;
      for (size_t c = 0; c < dim; c++) {
        const size_t i = at(o, c, j, dim, inner);
        s += kind == S4J_KIND_LOG_SOFTMAX ? (long double) gy[i] : (long double) gy[i] * y[i];
      }
      for (size_t c = 0; c < dim; c++) {
        const size_t i = at(o, c, j, dim, inner);
        gx[i] = kind == S4J_KIND_LOG_SOFTMAX ? gy[i] - expl(y[i]) * s : y[i] * (gy[i] - s);
      }
    }
  }
}

static int close_forward(enum s4j_softmax_kind kind, float got, long double want) {
  if (kind == S4J_KIND_LOG_SOFTMAX || isnan(want)) return t_close(got, (double) want, TOL);
  return isfinite(got) && fabsl((long double) got - want) <= TOL * want + SOFT_ABS;
}

/* --- accuracy over shapes ------------------------------------------------------ */

__attribute__((noinline)) static void test_shape(const struct t_variant *v, enum s4j_softmax_kind kind, size_t outer,
                       size_t dim, size_t inner, float lo, float hi, t_rng *rng) {
  const size_t n = outer * dim * inner;
  t_floats x = buf_new(n), y = buf_new(n), gy = buf_new(n), gx = buf_new(n);
  long double *ref = n <= ((size_t) 1 << 40) ? calloc(n, sizeof *ref) : NULL;
  if (ref == NULL) exit(2);
  for (size_t i = 0; i < n; i++) {
    x.v[i] = t_rng_uniform(rng, lo, hi);
    gy.v[i] = t_rng_uniform(rng, -1.0f, 1.0f);
  }

  v->fwd(kind, outer, dim, inner, x.v, y.v);
  ref_forward(kind, outer, dim, inner, x.v, ref);
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < n; i++) {
    if (!close_forward(kind, y.v[i], ref[i]) && bad++ == 0) first = i;
  }
  t_check(bad == 0, "%s %s forward [%zu,%zu,%zu] in [%g,%g): %zu off, first %zu: %.9g vs %.9Lg",
          v->name, kind_name(kind), outer, dim, inner, lo, hi, bad, first,
          bad ? (double) y.v[first] : 0.0, bad ? ref[first] : 0.0L);

  v->bwd(kind, outer, dim, inner, gy.v, y.v, gx.v);
  ref_backward(kind, outer, dim, inner, gy.v, y.v, ref);
  bad = 0;
  for (size_t i = 0; i < n; i++) {
    if (!t_close(gx.v[i], (double) ref[i], TOL) && bad++ == 0) first = i;
  }
  t_check(bad == 0, "%s %s backward [%zu,%zu,%zu]: %zu off, first %zu: %.9g vs %.9Lg", v->name,
          kind_name(kind), outer, dim, inner, bad, first, bad ? (double) gx.v[first] : 0.0,
          bad ? ref[first] : 0.0L);

  t_check(t_floats_intact(&x) && t_floats_intact(&y) && t_floats_intact(&gy) &&
              t_floats_intact(&gx),
          "%s %s [%zu,%zu,%zu]: a canary beside a tensor changed", v->name, kind_name(kind), outer,
          dim, inner);
  free(ref);
  free(x.base);
  free(y.base);
  free(gy.base);
  free(gx.base);
}

static void test_shapes(const struct t_variant *v, t_rng *rng) {
  /* Inner sizes around the vector widths (8, 16) and the group widths (16
   * on AVX2; 64 on AVX-512, and its narrower last groups of one to four
   * vectors, full or not); dims from 1 up to columns longer than L2 holds
   * at a group's width. */
  static const size_t shapes[][3] = {
      {1, 1, 1},   {1, 1, 17},  {2, 3, 1},    {1, 5, 7},     {3, 7, 8},    {2, 16, 15},
      {1, 4, 16},  {2, 9, 17},  {1, 81, 33},  {2, 81, 513},  {1, 3, 1100}, {1, 1000, 16},
      {1, 300, 31}, {4, 10, 9}, {1, 2, 600},  {1, 4100, 40}, {2, 70, 1},   {1, 1, 1000},
      {1, 5, 61},  {2, 9, 127}, {1, 6, 64},   {3, 4, 190}, {3, 5, 40},   {2, 7, 64},
      {3, 6, 50},  {4, 11, 16}, {3, 5, 200},
      /* Over 8 MiB: the size from which the AVX-512 kernels prefetch the next
       * group (a last group of three vectors, the next groups across a slab). */
      {3, 7, 100003},
  };
  const int before = t_failed;
  for (int kind = 0; kind < 2; kind++) {
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
      test_shape(v, (enum s4j_softmax_kind) kind, shapes[s][0], shapes[s][1], shapes[s][2],
                 -10.0f, 10.0f, rng);
      test_shape(v, (enum s4j_softmax_kind) kind, shapes[s][0], shapes[s][1], shapes[s][2], 90.0f,
                 100.0f, rng);
    }
  }
  printf("  %s: shapes vs long double reference: %s\n", v->name,
         t_failed == before ? "ok" : "FAILED");
}


/* --- softmax over rows (the last dimension) ---------------------------------------- */

__attribute__((noinline)) static void test_rows_shape(const struct t_variant *v, size_t rows,
                                                      size_t cols, float lo, float hi, t_rng *rng) {
  const size_t n = rows * cols;
  t_floats x = buf_new(n), y = buf_new(n), gy = buf_new(n), gx = buf_new(n);
  long double *ref = n <= ((size_t) 1 << 40) ? calloc(n, sizeof *ref) : NULL;
  if (ref == NULL) exit(2);
  for (size_t i = 0; i < n; i++) {
    x.v[i] = t_rng_uniform(rng, lo, hi);
    gy.v[i] = t_rng_uniform(rng, -1.0f, 1.0f);
  }
  v->rows_fwd(rows, cols, x.v, y.v);
  ref_forward(S4J_KIND_SOFTMAX, rows, cols, 1, x.v, ref);
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < n; i++) {
    if (!close_forward(S4J_KIND_SOFTMAX, y.v[i], ref[i]) && bad++ == 0) first = i;
  }
  t_check(bad == 0, "%s softmax rows forward [%zu,%zu] in [%g,%g): %zu off, first %zu: %.9g vs %.9Lg",
          v->name, rows, cols, lo, hi, bad, first, bad ? (double) y.v[first] : 0.0,
          bad ? ref[first] : 0.0L);
  v->rows_bwd(rows, cols, gy.v, y.v, gx.v);
  ref_backward(S4J_KIND_SOFTMAX, rows, cols, 1, gy.v, y.v, ref);
  bad = 0;
  for (size_t i = 0; i < n; i++) {
    if (!t_close(gx.v[i], (double) ref[i], TOL) && bad++ == 0) first = i;
  }
  t_check(bad == 0, "%s softmax rows backward [%zu,%zu]: %zu off, first %zu: %.9g vs %.9Lg", v->name,
          rows, cols, bad, first, bad ? (double) gx.v[first] : 0.0, bad ? ref[first] : 0.0L);
  t_check(t_floats_intact(&x) && t_floats_intact(&y) && t_floats_intact(&gy) &&
              t_floats_intact(&gx),
          "%s softmax rows [%zu,%zu]: a canary beside a matrix changed", v->name, rows, cols);
  free(ref);
  free(x.base);
  free(y.base);
  free(gy.base);
  free(gx.base);
}

/* Softmax rows on buffers right next to each other: t_adjacent_buffers (test_util.h). */
static void adjacent_fwd(const void *ctx, size_t rows, size_t cols, const float *x, float *y) {
  ((const struct t_variant *) ctx)->rows_fwd(rows, cols, x, y);
}

static void adjacent_bwd(const void *ctx, size_t rows, size_t cols, const float *gy, const float *y, float *gx) {
  ((const struct t_variant *) ctx)->rows_bwd(rows, cols, gy, y, gx);
}

static void test_rows_adjacent(const struct t_variant *v, t_rng *rng) {
  char what[64];
  snprintf(what, sizeof what, "%s softmax rows", v->name);
  t_adjacent_shapes(what, v, adjacent_fwd, adjacent_bwd, rng);
}

static void test_rows(const struct t_variant *v, t_rng *rng) {
  /* Around the vector widths, the two-vector loop and the float block. */
  static const size_t cols_list[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100, 255, 256, 257, 1000, 4099};
  const int before = t_failed;
  for (size_t c = 0; c < sizeof cols_list / sizeof cols_list[0]; c++) {
    test_rows_shape(v, 3, cols_list[c], -10.0f, 10.0f, rng);
    test_rows_shape(v, 2, cols_list[c], 90.0f, 100.0f, rng);
  }
  /* An output past S4J_STREAM_MIN_BYTES (8 MiB): the backward streams its
   * stores, after a head that aligns them (the canaries misalign gx). */
  test_rows_shape(v, 2, ((size_t) 8 << 20) / sizeof(float) / 2 + 17, -10.0f, 10.0f, rng);
  /* Short rows (up to 128 columns) several at a time, four or two a step
   * and the rest alone; then past 8 MiB with a misaligned output (which the
   * AVX-512 short rows leave to the long path). */
  static const size_t short_cols[] = {1, 7, 16, 33, 64, 100, 128};
  for (size_t c = 0; c < sizeof short_cols / sizeof short_cols[0]; c++) {
    test_rows_shape(v, 9, short_cols[c], -10.0f, 10.0f, rng);
  }
  const size_t stream_n = ((size_t) 8 << 20) / sizeof(float) + 5;
  test_rows_shape(v, stream_n / 100 + 1, 100, -10.0f, 10.0f, rng);
  /* Short rows streamed, which needs an aligned output of whole vectors:
   * rows of 48 (four a step) and 128 (two a step), a count that leaves rows
   * over; the bits of the same rows one call each (not streamed; their
   * accuracy is checked above). */
  static const size_t stream_cols[] = {48, 128};
  for (size_t c = 0; c < 2; c++) {
    const size_t cols = stream_cols[c], rows = stream_n / cols + 3, n = rows * cols;
    float *xs = aligned_alloc(64, n * sizeof(float)), *ys = aligned_alloc(64, n * sizeof(float));
    float *y1 = malloc(n * sizeof(float));
    if (xs == NULL || ys == NULL || y1 == NULL) exit(2);
    for (size_t i = 0; i < n; i++) xs[i] = t_rng_uniform(rng, -10.0f, 10.0f);
    v->rows_fwd(rows, cols, xs, ys);
    for (size_t r = 0; r < rows; r++) v->rows_fwd(1, cols, xs + r * cols, y1 + r * cols);
    t_check(memcmp(ys, y1, n * sizeof(float)) == 0,
            "%s softmax forward of %zu streamed rows of %zu differs from row by row", v->name, rows,
            cols);
    free(xs);
    free(ys);
    free(y1);
  }

  /* The backward sums each row's gy * y inside the previous row's gradient
   * loop: the same bits as each row on its own (one row a call), in cache
   * and streamed, with rows that start anywhere in a vector, and in place. */
  static const size_t fused_cols[] = {1, 17, 33, 100, 1000, 4099};
  for (size_t c = 0; c < sizeof fused_cols / sizeof fused_cols[0]; c++) {
    for (int big = 0; big < 2; big++) {
      const size_t cols = fused_cols[c], rows = big ? stream_n / cols + 2 : 7, n = rows * cols;
      float *gy = malloc(n * sizeof(float)), *ys = malloc(n * sizeof(float));
      float *gx = malloc(n * sizeof(float)), *g1 = malloc(n * sizeof(float));
      if (gy == NULL || ys == NULL || gx == NULL || g1 == NULL) exit(2);
      for (size_t i = 0; i < n; i++) {
        gy[i] = t_rng_uniform(rng, -1.0f, 1.0f);
        ys[i] = t_rng_uniform(rng, 0.0f, 1.0f);
      }
      v->rows_bwd(rows, cols, gy, ys, gx);
      for (size_t r = 0; r < rows; r++) v->rows_bwd(1, cols, gy + r * cols, ys + r * cols, g1 + r * cols);
      t_check(memcmp(gx, g1, n * sizeof(float)) == 0,
              "%s softmax backward of %zu rows of %zu differs from row by row", v->name, rows, cols);
      /* In place: each row's gx is written while the next row's gy and y
       * are read, which must not be disturbed. */
      memcpy(g1, gy, n * sizeof(float));
      v->rows_bwd(rows, cols, g1, ys, g1);
      t_check(memcmp(gx, g1, n * sizeof(float)) == 0,
              "%s softmax backward of %zu rows of %zu into gy differs", v->name, rows, cols);
      memcpy(g1, ys, n * sizeof(float));
      v->rows_bwd(rows, cols, gy, g1, g1);
      t_check(memcmp(gx, g1, n * sizeof(float)) == 0,
              "%s softmax backward of %zu rows of %zu into y differs", v->name, rows, cols);
      free(gy);
      free(ys);
      free(gx);
      free(g1);
    }
  }

  /* One special case per row: the columns of test_special_values' tensor. */
  const float inf = INFINITY;
  const float x[24] = {
      1.0f,  2.0f,   3.0f, 4.0f,   /* finite */
      -inf,  3.0f,   -inf, 1.0f,   /* -inf masks */
      -inf,  -inf,   -inf, -inf,   /* all -inf */
      0.5f,  inf,    -2.0f, 1.0f,  /* +inf */
      2.0f,  -1.0f,  0.0f, NAN,    /* NaN */
      1e30f, -1e30f, 0.0f, -1e30f, /* huge magnitudes */
  };
  float y[24];
  long double ref[24];
  v->rows_fwd(6, 4, x, y);
  ref_forward(S4J_KIND_SOFTMAX, 6, 4, 1, x, ref);
  size_t bad = 0;
  for (size_t i = 0; i < 24; i++) {
    const int masked = x[i] == -inf && !isnan(ref[i]);
    bad += !(masked ? t_bits(y[i]) == 0u : close_forward(S4J_KIND_SOFTMAX, y[i], ref[i]));
  }
  t_check(bad == 0 && isnan(y[8]) && isnan(y[12]) && isnan(y[16]) && y[20] == 1.0f && y[21] == 0.0f,
          "%s softmax rows: special values (%zu off)", v->name, bad);
  printf("  %s: softmax rows vs long double reference: %s\n", v->name,
         t_failed == before ? "ok" : "FAILED");
}

/* --- special values -------------------------------------------------------------- */

/* A [1, 4, 6] tensor, one special case per column j:
 *   0: finite; 1: -inf masks in rows 0 and 2; 2: all -inf; 3: +inf in row 1;
 *   4: NaN in row 3; 5: huge magnitudes +-1e30 and 0. */
static void test_special_values(const struct t_variant *v) {
  const size_t dim = 4, inner = 6, n = dim * inner;
  const float inf = INFINITY;
  const float x[24] = {
      1.0f, -inf, -inf, 0.5f,  2.0f,      1e30f,  /* row 0 */
      2.0f, 3.0f, -inf, inf,   -1.0f,     -1e30f, /* row 1 */
      3.0f, -inf, -inf, -2.0f, 0.0f,      0.0f,   /* row 2 */
      4.0f, 1.0f, -inf, 1.0f,  NAN,       -1e30f, /* row 3 */
  };
  for (int k = 0; k < 2; k++) {
    const enum s4j_softmax_kind kind = (enum s4j_softmax_kind) k;
    float y[24];
    long double ref[24];
    v->fwd(kind, 1, dim, inner, x, y);
    ref_forward(kind, 1, dim, inner, x, ref);
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < n; i++) {
      /* -inf masks: exactly -inf (log-softmax) or exactly +0 (softmax). */
      const int masked = x[i] == -inf && !isnan(ref[i]);
      const int ok = masked ? (kind == S4J_KIND_LOG_SOFTMAX ? y[i] == -inf
                                                            : t_bits(y[i]) == 0u)
                            : close_forward(kind, y[i], ref[i]);
      if (!ok && bad++ == 0) first = i;
    }
    t_check(bad == 0, "%s %s special values: %zu off, first [%zu][%zu]: %.9g vs %.9Lg", v->name,
            kind_name(kind), bad, first / inner, first % inner, bad ? (double) y[first] : 0.0,
            bad ? ref[first] : 0.0L);
    /* Spelled out, so the reference's own special cases are checked too. */
    t_check(isnan(y[2]) && isnan(y[3]) && isnan(y[4]) && isnan(y[9]) && isnan(y[22]),
            "%s %s: all -inf, +inf and NaN columns must be NaN", v->name, kind_name(kind));
    t_check(kind == S4J_KIND_LOG_SOFTMAX ? y[5] == 0.0f && y[11] == -2e30f
                                         : y[5] == 1.0f && y[11] == 0.0f,
            "%s %s: huge magnitudes: got %g and %g", v->name, kind_name(kind), (double) y[5],
            (double) y[11]);
  }
  /* The same tensor as the middle slice of three, between finite ones: each
   * slice gives the bits of its own call (the one-vector kernels write a
   * slice's output in the next slice's passes), NaN where its call gives a
   * NaN (which NaN is not promised). */
  for (int k = 0; k < 2; k++) {
    const enum s4j_softmax_kind kind = (enum s4j_softmax_kind) k;
    float x3[3 * 24], y3[3 * 24], y1[24];
    for (size_t i = 0; i < n; i++) {
      x3[i] = (float) (i % 7) - 3.0f;
      x3[n + i] = x[i];
      x3[2 * n + i] = (float) (i % 5) * 0.5f;
    }
    v->fwd(kind, 3, dim, inner, x3, y3);
    int same = 1;
    for (size_t o = 0; o < 3; o++) {
      v->fwd(kind, 1, dim, inner, x3 + o * n, y1);
      for (size_t i = 0; i < n; i++) {
        const float a = y1[i], b = y3[o * n + i];
        same &= isnan(a) ? isnan(b) : t_bits(a) == t_bits(b);
      }
    }
    t_check(same, "%s %s special values in the middle slice of three: a slice differs from its own call",
            v->name, kind_name(kind));
  }
  /* dim == 1: log-softmax 0, softmax 1, for any finite x. */
  const float one[5] = {-1e30f, -3.0f, 0.0f, 7.5f, 1e30f};
  float l[5], s[5];
  v->fwd(S4J_KIND_LOG_SOFTMAX, 1, 1, 5, one, l);
  v->fwd(S4J_KIND_SOFTMAX, 1, 1, 5, one, s);
  int ok = 1;
  for (int i = 0; i < 5; i++) ok &= l[i] == 0.0f && s[i] == 1.0f;
  t_check(ok, "%s: a dimension of size 1 must give log-softmax 0 and softmax 1", v->name);
}

static void test_in_place_shape(const struct t_variant *v, t_rng *rng, size_t outer, size_t dim,
                                size_t inner) {
  const size_t n = outer * dim * inner;
  float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *gy = malloc(n * sizeof *gy);
  float *gx = malloc(n * sizeof *gx), *w = malloc(n * sizeof *w);
  if (x == NULL || y == NULL || gy == NULL || gx == NULL || w == NULL) exit(2);
  for (size_t i = 0; i < n; i++) {
    x[i] = t_rng_uniform(rng, -5.0f, 5.0f);
    gy[i] = t_rng_uniform(rng, -1.0f, 1.0f);
  }
  for (int k = 0; k < 2; k++) {
    const enum s4j_softmax_kind kind = (enum s4j_softmax_kind) k;
    v->fwd(kind, outer, dim, inner, x, y);
    memcpy(w, x, n * sizeof *w);
    v->fwd(kind, outer, dim, inner, w, w);
    t_check(memcmp(w, y, n * sizeof *w) == 0, "%s %s forward in place differs", v->name,
            kind_name(kind));
    v->bwd(kind, outer, dim, inner, gy, y, gx);
    memcpy(w, gy, n * sizeof *w);
    v->bwd(kind, outer, dim, inner, w, y, w);
    t_check(memcmp(w, gx, n * sizeof *w) == 0, "%s %s backward into gy differs", v->name,
            kind_name(kind));
    memcpy(w, y, n * sizeof *w);
    v->bwd(kind, outer, dim, inner, gy, w, w);
    t_check(memcmp(w, gx, n * sizeof *w) == 0, "%s %s backward into y differs", v->name,
            kind_name(kind));
  }
  free(x);
  free(y);
  free(gy);
  free(gx);
  free(w);
}

/* In place (y == x; gx == gy; gx == y) gives the bits of the separate call:
 * slices of one group (the backward reads the next slice's gradients while
 * it writes this one's, the forward writes a slice's output in the next
 * slice's exp pass), of one and two vectors, and rows of several groups. */
static void test_in_place(const struct t_variant *v, t_rng *rng) {
  /* {3, 9, 12}: AVX2's two vectors of a 12-wide slice overlap. */
  static const size_t shapes[][3] = {{2, 13, 37}, {3, 9, 5},   {3, 9, 12},
                                     {3, 9, 16},  {3, 9, 20},  {3, 5, 150}, {3, 7, 100003}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    test_in_place_shape(v, rng, shapes[s][0], shapes[s][1], shapes[s][2]);
  }
}

/* --- gradient against finite differences of the forward ------------------------ */

/* sum(w * forward(x)) in double. */
static double loss(const struct t_variant *v, enum s4j_softmax_kind kind, size_t outer,
                   size_t dim, size_t inner, const float *x, const float *w, float *y) {
  v->fwd(kind, outer, dim, inner, x, y);
  double l = 0.0;
  for (size_t i = 0; i < outer * dim * inner; i++) l += (double) w[i] * (double) y[i];
  return l;
}

static void test_gradient_fd(const struct t_variant *v, t_rng *rng) {
  const size_t outer = 2, dim = 5, inner = 19, n = outer * dim * inner;
  const float h = 0x1p-6f; /* exact steps for |x| < 4 */
  float x[190], w[190], y[190], gx[190], yt[190];
  for (int k = 0; k < 2; k++) {
    const enum s4j_softmax_kind kind = (enum s4j_softmax_kind) k;
    for (size_t i = 0; i < n; i++) {
      x[i] = t_rng_uniform(rng, -3.0f, 3.0f);
      w[i] = t_rng_uniform(rng, -1.0f, 1.0f);
    }
    v->fwd(kind, outer, dim, inner, x, y);
    v->bwd(kind, outer, dim, inner, w, y, gx);
    size_t bad = 0, first = 0;
    double fd_first = 0.0;
    for (size_t i = 0; i < n; i++) {
      const float xi = x[i];
      x[i] = xi + h;
      const double lp = loss(v, kind, outer, dim, inner, x, w, yt);
      x[i] = xi - h;
      const double lm = loss(v, kind, outer, dim, inner, x, w, yt);
      x[i] = xi;
      const double fd = (lp - lm) / (2.0 * (double) h);
      if (fabs(fd - (double) gx[i]) > FD_TOL && bad++ == 0) {
        first = i;
        fd_first = fd;
      }
    }
    t_check(bad == 0, "%s %s gradient vs finite differences: %zu off, first %zu: %g vs %g",
            v->name, kind_name(kind), bad, first, bad ? (double) gx[first] : 0.0, fd_first);
  }
}

/* --- the public entry points ------------------------------------------------------ */

typedef int (*t_pub_fwd)(const float *, float *, int64_t, int64_t, int64_t);
typedef int (*t_pub_bwd)(const float *, const float *, float *, int64_t, int64_t, int64_t);

static void test_public_api(t_rng *rng) {
  const t_pub_fwd fwd[2] = {s4j_log_softmax_dim_forward_f32, s4j_softmax_dim_forward_f32};
  const t_pub_bwd bwd[2] = {s4j_log_softmax_dim_backward_f32, s4j_softmax_dim_backward_f32};
  float a[4] = {0}, b[4] = {0}, c[4] = {0};
  for (int k = 0; k < 2; k++) {
    const char *name = kind_name((enum s4j_softmax_kind) k);
    t_check(fwd[k](a, b, -1, 2, 2) == S4J_ERR_NEGATIVE_SIZE &&
                fwd[k](a, b, 1, -2, 2) == S4J_ERR_NEGATIVE_SIZE &&
                bwd[k](a, b, c, 1, 2, -1) == S4J_ERR_NEGATIVE_SIZE,
            "%s: negative sizes must give S4J_ERR_NEGATIVE_SIZE", name);
    t_check(fwd[k](NULL, NULL, 0, 5, 5) == S4J_OK && fwd[k](NULL, NULL, 5, 0, 5) == S4J_OK &&
                bwd[k](NULL, NULL, NULL, 5, 5, 0) == S4J_OK,
            "%s: an empty tensor is a no-op whatever the pointers", name);
    t_check(fwd[k](a, b, INT64_MAX / 2, 2, 2) == S4J_ERR_SIZE_OVERFLOW &&
                fwd[k](a, b, 1 << 20, 1 << 20, 1 << 22) == S4J_ERR_SIZE_OVERFLOW &&
                bwd[k](a, b, c, 3, INT64_MAX / 4, 5) == S4J_ERR_SIZE_OVERFLOW,
            "%s: sizes whose byte count overflows must give S4J_ERR_SIZE_OVERFLOW", name);
    t_check(fwd[k](NULL, b, 1, 2, 2) == S4J_ERR_NULL_POINTER &&
                fwd[k](a, NULL, 1, 2, 2) == S4J_ERR_NULL_POINTER &&
                bwd[k](a, b, NULL, 1, 2, 2) == S4J_ERR_NULL_POINTER,
            "%s: NULL pointers must give S4J_ERR_NULL_POINTER", name);
  }

  /* The dispatched entry points compute what the chosen variant computes;
   * log-softmax over the last dimension is the row kernel's result. */
  const struct s4j_dispatch *d = s4j_dispatch_get();
  if (d->status != S4J_OK) {
    t_skip("public entry points: no variant chosen (SOFTMAX4J_ISA)");
    return;
  }
  const size_t outer = 3, dim = 11, inner = 21, n = outer * dim * inner;
  float x[693], want[693], got[693];
  for (size_t i = 0; i < n; i++) x[i] = t_rng_uniform(rng, -8.0f, 8.0f);
  for (int k = 0; k < 2; k++) {
    t_variants[d->variant].fwd((enum s4j_softmax_kind) k, outer, dim, inner, x, want);
    t_check(fwd[k](x, got, outer, dim, inner) == S4J_OK && memcmp(got, want, sizeof got) == 0,
            "%s: the public forward differs from variant %s", kind_name((enum s4j_softmax_kind) k),
            d->isa);
  }
  s4j_log_softmax_forward_f32(x, want, (int64_t) (outer * dim), (int64_t) inner);
  t_check(s4j_log_softmax_dim_forward_f32(x, got, (int64_t) (outer * dim), (int64_t) inner, 1) ==
                  S4J_OK &&
              memcmp(got, want, sizeof got) == 0,
          "log_softmax over the last dimension must be the row kernel's result");
  t_variants[d->variant].rows_fwd(outer * dim, inner, x, want);
  t_check(s4j_softmax_dim_forward_f32(x, got, (int64_t) (outer * dim), (int64_t) inner, 1) == S4J_OK &&
              memcmp(got, want, sizeof got) == 0,
          "softmax over the last dimension must be the softmax row kernel's result");
}


/* --- the strided entry point ------------------------------------------------------ */

/* outer slabs of [dim, inner] at the given strides (elements), the gaps
 * between slabs filled with canaries that must survive and stay unread. */
static void test_strided_case(int op, size_t outer, size_t dim, size_t inner, size_t in_stride,
                              size_t saved_stride, size_t out_stride, t_rng *rng) {
  const enum s4j_softmax_kind kind = op == S4J_OP_SOFTMAX ? S4J_KIND_SOFTMAX : S4J_KIND_LOG_SOFTMAX;
  const size_t slab = dim * inner, n = outer * slab;
  t_floats x = buf_new(outer * in_stride), y = buf_new(outer * saved_stride);
  t_floats gy = buf_new(outer * in_stride), gx = buf_new(outer * out_stride);
  t_floats out = buf_new(outer * out_stride);
  float *xc = malloc(n * sizeof *xc), *yc = malloc(n * sizeof *yc), *gyc = malloc(n * sizeof *gyc);
  long double *ref = calloc(n, sizeof *ref);
  if (xc == NULL || yc == NULL || gyc == NULL || ref == NULL) exit(2);
  for (size_t o = 0; o < outer; o++) {
    for (size_t i = 0; i < slab; i++) {
      xc[o * slab + i] = x.v[o * in_stride + i] = t_rng_uniform(rng, -6.0f, 6.0f);
      gyc[o * slab + i] = gy.v[o * in_stride + i] = t_rng_uniform(rng, -1.0f, 1.0f);
    }
  }
  const size_t spans[3] = {in_stride, saved_stride, out_stride};
  char what[96];
  snprintf(what, sizeof what, "strided %s [%zu,%zu,%zu] strides %zu/%zu/%zu", kind_name(kind),
           outer, dim, inner, spans[0], spans[1], spans[2]);

  int rc = s4j_softmax_strided(op, S4J_DTYPE_F32, S4J_DIRECTION_FORWARD, (int64_t) outer,
                               (int64_t) dim, (int64_t) inner, x.v, (int64_t) in_stride, NULL, 0,
                               out.v, (int64_t) out_stride);
  ref_forward(kind, outer, dim, inner, xc, ref);
  size_t bad = 0, gaps = 0;
  for (size_t o = 0; o < outer; o++) {
    for (size_t i = 0; i < out_stride; i++) {
      const float got = out.v[o * out_stride + i];
      if (i < slab) {
        bad += !close_forward(kind, got, ref[o * slab + i]);
      } else {
        gaps += t_bits(got) != CANARY;
      }
    }
  }
  t_check(rc == S4J_OK && bad == 0 && gaps == 0 && t_floats_intact(&out),
          "%s forward: rc %d, %zu off, %zu gap floats written", what, rc, bad, gaps);

  /* The backward from a saved output at its own stride. */
  for (size_t o = 0; o < outer; o++) {
    for (size_t i = 0; i < slab; i++) {
      yc[o * slab + i] = y.v[o * saved_stride + i] = (float) ref[o * slab + i];
    }
  }
  rc = s4j_softmax_strided(op, S4J_DTYPE_F32, S4J_DIRECTION_BACKWARD, (int64_t) outer,
                           (int64_t) dim, (int64_t) inner, gy.v, (int64_t) in_stride, y.v,
                           (int64_t) saved_stride, gx.v, (int64_t) out_stride);
  ref_backward(kind, outer, dim, inner, gyc, yc, ref);
  bad = gaps = 0;
  for (size_t o = 0; o < outer; o++) {
    for (size_t i = 0; i < out_stride; i++) {
      const float got = gx.v[o * out_stride + i];
      if (i < slab) {
        bad += !t_close(got, (double) ref[o * slab + i], TOL);
      } else {
        gaps += t_bits(got) != CANARY;
      }
    }
  }
  t_check(rc == S4J_OK && bad == 0 && gaps == 0 && t_floats_intact(&gx),
          "%s backward: rc %d, %zu off, %zu gap floats written", what, rc, bad, gaps);
  free(xc);
  free(yc);
  free(gyc);
  free(ref);
  free(x.base);
  free(y.base);
  free(gy.base);
  free(gx.base);
  free(out.base);
}

static void test_strided(t_rng *rng) {
  if (s4j_isa_status() != S4J_OK) {
    t_skip("strided entry point: no variant chosen (SOFTMAX4J_ISA)");
    return;
  }
  for (int op = S4J_OP_LOG_SOFTMAX; op <= S4J_OP_SOFTMAX; op++) {
    /* Rows of a padded matrix (the last dimension), short and long. */
    test_strided_case(op, 5, 10, 1, 16, 13, 11, rng);
    test_strided_case(op, 3, 1000, 1, 1003, 1000, 1024, rng);
    /* Slabs of a middle dimension, and contiguous slabs (one call). */
    test_strided_case(op, 3, 5, 7, 40, 36, 35, rng);
    test_strided_case(op, 4, 6, 33, 198, 198, 198, rng);
  }

  float a[8] = {0}, b[8] = {0}, c[8] = {0};
  const int f = S4J_DIRECTION_FORWARD, bw = S4J_DIRECTION_BACKWARD, l = S4J_OP_LOG_SOFTMAX;
  t_check(s4j_softmax_strided(7, S4J_DTYPE_F32, f, 1, 2, 2, a, 4, NULL, 0, b, 4) == S4J_ERR_BAD_ARGUMENT &&
              s4j_softmax_strided(l, 9, f, 1, 2, 2, a, 4, NULL, 0, b, 4) == S4J_ERR_BAD_ARGUMENT &&
              s4j_softmax_strided(l, S4J_DTYPE_F32, 2, 1, 2, 2, a, 4, NULL, 0, b, 4) ==
                  S4J_ERR_BAD_ARGUMENT,
          "strided: an unknown op, dtype or direction must give S4J_ERR_BAD_ARGUMENT");
  t_check(s4j_softmax_strided(l, S4J_DTYPE_F32, f, 2, 2, 2, a, 3, NULL, 0, b, 4) == S4J_ERR_BAD_ARGUMENT &&
              s4j_softmax_strided(l, S4J_DTYPE_F32, f, 2, 2, 2, a, 4, NULL, 0, b, 3) ==
                  S4J_ERR_BAD_ARGUMENT &&
              s4j_softmax_strided(l, S4J_DTYPE_F32, bw, 2, 2, 2, a, 4, b, 3, c, 4) ==
                  S4J_ERR_BAD_ARGUMENT,
          "strided: a stride below dim * inner must give S4J_ERR_BAD_ARGUMENT");
  t_check(s4j_softmax_strided(l, S4J_DTYPE_F32, f, -1, 2, 2, a, 4, NULL, 0, b, 4) ==
                  S4J_ERR_NEGATIVE_SIZE &&
              s4j_softmax_strided(l, S4J_DTYPE_F32, f, 0, 2, 2, NULL, 0, NULL, 0, NULL, 0) == S4J_OK,
          "strided: negative sizes, and the empty no-op whatever the pointers and strides");
  t_check(s4j_softmax_strided(l, S4J_DTYPE_F32, f, 3, 2, 2, a, INT64_MAX / 4, NULL, 0, b, 4) ==
                  S4J_ERR_SIZE_OVERFLOW &&
              s4j_softmax_strided(l, S4J_DTYPE_F32, bw, 1 << 20, 2, 2, a, 4, b, INT64_MAX / 8, c, 4) ==
                  S4J_ERR_SIZE_OVERFLOW,
          "strided: a span that overflows must give S4J_ERR_SIZE_OVERFLOW");
  t_check(s4j_softmax_strided(l, S4J_DTYPE_F32, f, 1, 2, 2, NULL, 4, NULL, 0, b, 4) ==
                  S4J_ERR_NULL_POINTER &&
              s4j_softmax_strided(l, S4J_DTYPE_F32, bw, 1, 2, 2, a, 4, NULL, 4, c, 4) ==
                  S4J_ERR_NULL_POINTER,
          "strided: NULL pointers must give S4J_ERR_NULL_POINTER");
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0); /* keep the context if a kernel crashes */
  const char *only = argc > 1 ? argv[1] : NULL;
  const uint64_t seed = t_seed();
  printf("test_softmax_dim: seed %#" PRIx64 " (set S4J_TEST_SEED to replay another)\n", seed);
  for (size_t k = 0; k < sizeof t_variants / sizeof t_variants[0]; k++) {
    const struct t_variant *v = &t_variants[k];
    if (!t_run_variant(v->name, only)) continue;
    t_rng rng = {seed};
    test_shapes(v, &rng);
    test_rows(v, &rng);
    test_rows_adjacent(v, &rng);
    test_special_values(v);
    test_in_place(v, &rng);
    test_gradient_fd(v, &rng);
  }
  t_rng rng = {seed ^ 1u};
  test_public_api(&rng);
  test_strided(&rng);
  return t_finish("softmax_dim");
}
