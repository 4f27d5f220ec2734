/*
 * test_log_softmax.c - every kernel variant of the registry, through its
 * exported s4j_log_softmax_*_f32_<isa> function, against a double reference:
 * sizes that hit every loop and tail, inputs where a plain expf overflows,
 * in-place use, special values (PyTorch semantics), row independence,
 * out-of-row accesses (canaries), and a finite-difference gradient check.
 *
 * Usage: test_log_softmax [isa]   (default: every variant the CPU supports)
 * S4J_TEST_SEED=<n> replays another random draw.
 */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/registry.h"
#include "softmax4j.h"
#include "test_util.h"

#define TOL 2e-6        /* |got - ref| <= TOL * max(1, |ref|) */
#define FD_TOL 2e-3     /* finite differences are noisier */
#define PAD 67          /* canary floats on each side of a matrix */
#define CANARY T_CANARY

typedef int (*t_fwd_fn)(const float *x, float *y, int64_t rows, int64_t cols);
typedef int (*t_bwd_fn)(const float *gy, const float *y, float *gx, int64_t rows, int64_t cols);

struct t_variant {
  const char *name;
  t_fwd_fn fwd;
  t_bwd_fn bwd;
};

#define T_VARIANT(name, required, fwd, bwd, vexp) \
  {#name, s4j_log_softmax_forward_f32_##name, s4j_log_softmax_backward_f32_##name},
static const struct t_variant t_variants[] = {S4J_VARIANTS(T_VARIANT)};
#undef T_VARIANT

/* --- matrices with canaries (test_util.h) ------------------------------------ */

static t_floats mat_new(size_t n) { return t_floats_new(n, PAD); }

static t_floats mat_copy(const t_floats *src) {
  t_floats b = t_floats_new(src->n, PAD);
  memcpy(b.v, src->v, src->n * sizeof(float));
  return b;
}


static int mat_bits_equal(const t_floats *a, const t_floats *b) {
  return a->n == b->n && memcmp(a->v, b->v, a->n * sizeof(float)) == 0;
}

/* --- double references ---------------------------------------------------- */

/* The max skips NaN; NaN, +inf and all -inf rows still come out NaN because
 * exp(NaN) and inf - inf are NaN, as in the kernels and in PyTorch. */
static void ref_forward_row(size_t cols, const float *x, double *y) {
  double m = -INFINITY;
  for (size_t i = 0; i < cols; i++) {
    if ((double) x[i] > m) m = x[i];
  }
  double s = 0.0;
  for (size_t i = 0; i < cols; i++) s += exp((double) x[i] - m);
  const double logsum = log(s);
  for (size_t i = 0; i < cols; i++) y[i] = ((double) x[i] - m) - logsum;
}

/* The gradient in double of the float y the kernel is given. */
static void ref_backward_row(size_t cols, const float *gy, const float *y, double *gx) {
  double s = 0.0;
  for (size_t i = 0; i < cols; i++) s += gy[i];
  for (size_t i = 0; i < cols; i++) gx[i] = (double) gy[i] - exp((double) y[i]) * s;
}

/* Compare n floats to a reference; one counted check, first bad element shown. */
/* The largest |got - want| / (tol * max(1, |want|)) seen by check_close over
 * finite results since the last reset, forward and backward: how much of the
 * bound the kernels use (reported per variant by test_shapes). */
static double t_worst_fwd, t_worst_bwd;

static int check_close(const char *what, const struct t_variant *v, size_t cols,
                       const float *got, const double *want, size_t n, double tol) {
  size_t bad = 0, first = 0;
  double *worst = strncmp(what, "forward", 7) == 0 ? &t_worst_fwd : &t_worst_bwd;
  for (size_t i = 0; i < n; i++) {
    if (isfinite(want[i]) && isfinite(got[i])) {
      const double scale = fabs(want[i]) > 1.0 ? fabs(want[i]) : 1.0;
      const double used = fabs((double) got[i] - want[i]) / (tol * scale);
      if (used > *worst) *worst = used;
    }
    if (!t_close(got[i], want[i], tol)) {
      if (bad++ == 0) first = i;
    }
  }
  return t_check(bad == 0, "%s %s cols=%zu: %zu of %zu off, first [row %zu, col %zu]: got %.9g, want %.17g",
                 v->name, what, cols, bad, n, first / cols, first % cols,
                 bad ? (double) got[first] : 0.0, bad ? want[first] : 0.0);
}

/* --- accuracy over many shapes ------------------------------------------------ */

enum t_dist { DIST_90_100, DIST_PM10, DIST_ROW_OFFSETS };
static const char *const t_dist_names[] = {"x in [90,100]", "x in [-10,10]", "rows offset +-1000"};

static void fill_input(t_rng *rng, enum t_dist dist, size_t rows, size_t cols, float *x) {
  for (size_t r = 0; r < rows; r++) {
    for (size_t i = 0; i < cols; i++) {
      float v;
      switch (dist) {
        case DIST_90_100: v = t_rng_uniform(rng, 90.0f, 100.0f); break;
        case DIST_PM10: v = t_rng_uniform(rng, -10.0f, 10.0f); break;
        default: v = (r % 2 ? 1000.0f : -1000.0f) + t_rng_uniform(rng, -5.0f, 5.0f); break;
      }
      x[r * cols + i] = v;
    }
  }
}

static void test_shape(const struct t_variant *v, size_t rows, size_t cols, enum t_dist dist,
                       t_rng *rng) {
  const size_t n = rows * cols;
  char what[96];
  t_floats x = mat_new(n), y = mat_new(n), gy = mat_new(n), gx = mat_new(n);
  double *ref = malloc(n * sizeof(double));
  if (ref == NULL) exit(2);

  /* forward */
  fill_input(rng, dist, rows, cols, x.v);
  t_check(v->fwd(x.v, y.v, (int64_t) rows, (int64_t) cols) == S4J_OK, "%s forward rc", v->name);
  for (size_t r = 0; r < rows; r++) ref_forward_row(cols, x.v + r * cols, ref + r * cols);
  snprintf(what, sizeof what, "forward (%s)", t_dist_names[dist]);
  check_close(what, v, cols, y.v, ref, n, TOL);
  t_check(t_floats_intact(&x) && t_floats_intact(&y),
          "%s forward cols=%zu: wrote outside the matrix", v->name, cols);

  /* forward in place: bit-identical to out of place */
  t_floats z = mat_copy(&x);
  v->fwd(z.v, z.v, (int64_t) rows, (int64_t) cols);
  t_check(mat_bits_equal(&z, &y) && t_floats_intact(&z),
          "%s forward in place (y == x) cols=%zu differs from out of place", v->name, cols);
  t_floats_free(&z);

  /* backward, on the kernel's own y */
  for (size_t i = 0; i < n; i++) gy.v[i] = t_rng_uniform(rng, -1.0f, 1.0f);
  t_check(v->bwd(gy.v, y.v, gx.v, (int64_t) rows, (int64_t) cols) == S4J_OK, "%s backward rc",
          v->name);
  for (size_t r = 0; r < rows; r++) {
    ref_backward_row(cols, gy.v + r * cols, y.v + r * cols, ref + r * cols);
  }
  snprintf(what, sizeof what, "backward (%s)", t_dist_names[dist]);
  check_close(what, v, cols, gx.v, ref, n, TOL);
  t_check(t_floats_intact(&gy) && t_floats_intact(&gx),
          "%s backward cols=%zu: wrote outside the matrix", v->name, cols);

  /* backward in place, gx == gy and gx == y */
  z = mat_copy(&gy);
  v->bwd(z.v, y.v, z.v, (int64_t) rows, (int64_t) cols);
  t_check(mat_bits_equal(&z, &gx) && t_floats_intact(&z),
          "%s backward in place (gx == gy) cols=%zu differs", v->name, cols);
  t_floats_free(&z);
  z = mat_copy(&y);
  v->bwd(gy.v, z.v, z.v, (int64_t) rows, (int64_t) cols);
  t_check(mat_bits_equal(&z, &gx) && t_floats_intact(&z),
          "%s backward in place (gx == y) cols=%zu differs", v->name, cols);
  t_floats_free(&z);

  free(ref);
  t_floats_free(&x);
  t_floats_free(&y);
  t_floats_free(&gy);
  t_floats_free(&gx);
}

static void test_shapes(const struct t_variant *v, t_rng *rng) {
  static const size_t extra_cols[] = {
      97,   251,  509,  1021, 2039, 4093, 8191,                      /* primes */
      127,  128,  129,  255,  256,  257,  511,  512, 513,            /* 16k +- 1 */
      1023, 1024, 1025, 2047, 2048, 2049, 4096, 32000, 128256};
  const int before = t_failed;
  t_worst_fwd = t_worst_bwd = 0.0;
  for (size_t cols = 1; cols <= 70; cols++) {
    for (int d = 0; d < 3; d++) test_shape(v, 3, cols, (enum t_dist) d, rng);
  }
  for (size_t k = 0; k < sizeof extra_cols / sizeof extra_cols[0]; k++) {
    const size_t cols = extra_cols[k];
    for (int d = 0; d < 3; d++) test_shape(v, cols > 4096 ? 2 : 3, cols, (enum t_dist) d, rng);
  }
  printf("  %s: shapes 1..70 and %zu larger, 3 input ranges: %s (largest error: %.2f of the "
         "bound forward, %.2f backward)\n", v->name, sizeof extra_cols / sizeof extra_cols[0],
         t_failed == before ? "ok" : "FAILED", t_worst_fwd, t_worst_bwd);
}

/* The kernels' other paths: short rows processed in groups (several groups
 * and a partial one), and outputs large enough for non-temporal stores, with
 * a misaligned start (the canary padding) so the aligned-store head and the
 * masked tail both run. */
static void test_groups_and_streams(const struct t_variant *v, t_rng *rng) {
  static const size_t group_cols[] = {1, 3, 16, 17, 100, 255, 1024, 4097};
  const size_t group_rows = 2 * S4J_ROW_GROUP_MAX + 3;
  const size_t stream_n = S4J_STREAM_MIN_BYTES / sizeof(float) + 5;
  const int before = t_failed;
  for (size_t c = 0; c < sizeof group_cols / sizeof group_cols[0]; c++) {
    test_shape(v, group_rows, group_cols[c], DIST_ROW_OFFSETS, rng);
  }
  test_shape(v, 1, stream_n, DIST_90_100, rng);
  test_shape(v, stream_n / 1021 + 1, 1021, DIST_PM10, rng);
  test_shape(v, stream_n / S4J_STREAM_PIPE_MIN_COLS + 1, S4J_STREAM_PIPE_MIN_COLS, DIST_PM10, rng);
  test_shape(v, stream_n / 150 + 1, 150, DIST_PM10, rng); /* streamed medium rows in groups */
  test_shape(v, stream_n / 128 + 1, 128, DIST_PM10, rng); /* short rows, no prefetch */
  /* Short rows streamed, which needs an aligned output of whole vectors:
   * rows of 48 (several rows a step) and 128 (two a step), a count that
   * leaves rows over; the bits of the same rows one call each (not
   * streamed; their accuracy is checked above). */
  static const size_t stream_cols[] = {48, 128};
  for (size_t c = 0; c < 2; c++) {
    const size_t cols = stream_cols[c], rows = stream_n / cols + 3, n = rows * cols;
    float *x = aligned_alloc(64, n * sizeof(float)), *y = aligned_alloc(64, n * sizeof(float));
    float *y1 = malloc(n * sizeof(float));
    if (x == NULL || y == NULL || y1 == NULL) exit(2);
    fill_input(rng, DIST_PM10, rows, cols, x);
    v->fwd(x, y, (int64_t) rows, (int64_t) cols);
    for (size_t r = 0; r < rows; r++) v->fwd(x + r * cols, y1 + r * cols, 1, (int64_t) cols);
    t_check(memcmp(y, y1, n * sizeof(float)) == 0,
            "%s forward of %zu streamed rows of %zu differs from row by row", v->name, rows, cols);
    free(x);
    free(y);
    free(y1);
  }
  printf("  %s: %zu rows of short cols (row groups), outputs of >= %zu MiB (streamed): %s\n",
         v->name, group_rows, (size_t) (S4J_STREAM_MIN_BYTES >> 20),
         t_failed == before ? "ok" : "FAILED");
}

/* Buffers right next to each other: t_adjacent_buffers (test_util.h). */
static void adjacent_fwd(const void *ctx, size_t rows, size_t cols, const float *x, float *y) {
  ((const struct t_variant *) ctx)->fwd(x, y, (int64_t) rows, (int64_t) cols);
}

static void adjacent_bwd(const void *ctx, size_t rows, size_t cols, const float *gy, const float *y, float *gx) {
  ((const struct t_variant *) ctx)->bwd(gy, y, gx, (int64_t) rows, (int64_t) cols);
}

static void test_adjacent_buffers(const struct t_variant *v, t_rng *rng) {
  t_adjacent_shapes(v->name, v, adjacent_fwd, adjacent_bwd, rng);
}

/* Long rows whose max keeps rising (or falls, or jumps), so that the
 * one-pass max-and-sum of the long-row forward moves its references often:
 * slowly, by just under its slack, and by far more. */
static void test_moving_max(const struct t_variant *v) {
  static const size_t cols_list[] = {4096, 4099, 32000, 128256};
  static const char *const names[] = {"rising 1e-4", "rising 0.01", "rising 0.5", "falling 0.01",
                                      "steps of 7.9", "steps of 8.1"};
  const int before = t_failed;
  for (size_t c = 0; c < sizeof cols_list / sizeof cols_list[0]; c++) {
    const size_t cols = cols_list[c];
    t_floats x = mat_new(cols), y = mat_new(cols);
    double *ref = malloc(cols * sizeof(double));
    if (ref == NULL) exit(2);
    for (int p = 0; p < 6; p++) {
      for (size_t i = 0; i < cols; i++) {
        const float fi = (float) i;
        float val;
        switch (p) {
          case 0: val = -5.0f + fi * 1e-4f; break;
          case 1: val = -500.0f + fi * 0.01f; break;
          case 2: val = -1000.0f + fi * 0.5f; break;
          case 3: val = 500.0f - fi * 0.01f; break;
          case 4: val = (float) (i / 997) * 7.9f + (float) (i % 13) * 0.1f; break;
          default: val = (float) (i / 997) * 8.1f - (float) (i % 13) * 0.1f; break;
        }
        x.v[i] = val;
      }
      v->fwd(x.v, y.v, 1, (int64_t) cols);
      ref_forward_row(cols, x.v, ref);
      char what[64];
      snprintf(what, sizeof what, "forward (%s)", names[p]);
      check_close(what, v, cols, y.v, ref, cols, TOL);
    }
    free(ref);
    t_floats_free(&x);
    t_floats_free(&y);
  }
  printf("  %s: long rows with a rising, falling and jumping max: %s\n", v->name,
         t_failed == before ? "ok" : "FAILED");
}

/* --- special values --------------------------------------------------------- */

/* Runs forward on 3 rows where row 1 is `special` and rows 0 and 2 are
 * ordinary, checks the ordinary rows against the reference (so nothing leaks
 * across rows) and returns row 1 of y in y1. */
static void forward_3rows(const struct t_variant *v, size_t cols, const float *special,
                          const char *what, t_rng *rng, float *y1) {
  t_floats x = mat_new(3 * cols), y = mat_new(3 * cols);
  double *ref = malloc(cols * sizeof(double));
  if (ref == NULL) exit(2);
  fill_input(rng, DIST_PM10, 3, cols, x.v);
  memcpy(x.v + cols, special, cols * sizeof(float));
  v->fwd(x.v, y.v, 3, (int64_t) cols);
  int ok = t_floats_intact(&y);
  for (size_t r = 0; r < 3; r += 2) {
    ref_forward_row(cols, x.v + r * cols, ref);
    for (size_t i = 0; i < cols; i++) ok = ok && t_close(y.v[r * cols + i], ref[i], TOL);
  }
  t_check(ok, "%s forward %s cols=%zu: a neighbouring row was disturbed", v->name, what, cols);
  memcpy(y1, y.v + cols, cols * sizeof(float));
  free(ref);
  t_floats_free(&x);
  t_floats_free(&y);
}

static int all_nan(const float *y, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (!isnan(y[i])) return 0;
  }
  return 1;
}

static void test_special_values(const struct t_variant *v, t_rng *rng) {
  static const size_t cols_list[] = {1, 2, 7, 8, 9, 16, 17, 33, 64, 67, 100, 1029, 4099};
  const int before = t_failed;
  for (size_t c = 0; c < sizeof cols_list / sizeof cols_list[0]; c++) {
    const size_t cols = cols_list[c];
    float *row = malloc(cols * sizeof(float));
    float *y1 = malloc(cols * sizeof(float));
    double *ref = malloc(cols * sizeof(double));
    if (row == NULL || y1 == NULL || ref == NULL) exit(2);
    /* first, middle and last element, and the first element of each tail */
    const size_t positions[] = {0, cols / 2, cols - 1, cols - cols % 8, cols - cols % 16,
                                cols - cols % 64};

    for (size_t p = 0; p < sizeof positions / sizeof positions[0]; p++) {
      const size_t pos = positions[p];
      if (pos >= cols) continue;

      /* -inf entry: -inf out, the rest as if it were absent */
      fill_input(rng, DIST_PM10, 1, cols, row);
      row[pos] = -INFINITY;
      forward_3rows(v, cols, row, "-inf entry", rng, y1);
      ref_forward_row(cols, row, ref);
      if (cols > 1) {
        int ok = y1[pos] == -INFINITY;
        for (size_t i = 0; i < cols; i++) ok = ok && t_close(y1[i], ref[i], TOL);
        t_check(ok, "%s forward -inf at %zu, cols=%zu: y[pos]=%g", v->name, pos, cols,
                (double) y1[pos]);

        /* backward through it: exp(-inf) = 0 exactly, so gx = gy there */
        float *gy = malloc(cols * sizeof(float)), *gx = malloc(cols * sizeof(float));
        if (gy == NULL || gx == NULL) exit(2);
        for (size_t i = 0; i < cols; i++) gy[i] = t_rng_uniform(rng, -1.0f, 1.0f);
        v->bwd(gy, y1, gx, 1, (int64_t) cols);
        ref_backward_row(cols, gy, y1, ref);
        ok = t_bits(gx[pos]) == t_bits(gy[pos]);
        for (size_t i = 0; i < cols; i++) ok = ok && t_close(gx[i], ref[i], TOL);
        t_check(ok, "%s backward with y=-inf at %zu, cols=%zu: gx=%g gy=%g", v->name, pos, cols,
                (double) gx[pos], (double) gy[pos]);

        /* NaN in gy: the whole row of gx is NaN, neighbours untouched */
        float *g3 = malloc(3 * cols * sizeof(float));
        float *y3 = malloc(3 * cols * sizeof(float));
        float *gx3 = malloc(3 * cols * sizeof(float));
        if (g3 == NULL || y3 == NULL || gx3 == NULL) exit(2);
        fill_input(rng, DIST_PM10, 3, cols, y3);
        v->fwd(y3, y3, 3, (int64_t) cols);
        for (size_t i = 0; i < 3 * cols; i++) g3[i] = t_rng_uniform(rng, -1.0f, 1.0f);
        g3[cols + pos] = NAN;
        v->bwd(g3, y3, gx3, 3, (int64_t) cols);
        ok = all_nan(gx3 + cols, cols);
        for (size_t r = 0; r < 3; r += 2) {
          ref_backward_row(cols, g3 + r * cols, y3 + r * cols, ref);
          for (size_t i = 0; i < cols; i++) ok = ok && t_close(gx3[r * cols + i], ref[i], TOL);
        }
        t_check(ok, "%s backward NaN in gy at %zu, cols=%zu", v->name, pos, cols);
        free(g3);
        free(y3);
        free(gx3);
        free(gy);
        free(gx);
      } else {
        t_check(all_nan(y1, cols), "%s forward single -inf, cols=1: want NaN", v->name);
      }

      /* +inf anywhere: the whole row is NaN */
      fill_input(rng, DIST_PM10, 1, cols, row);
      row[pos] = INFINITY;
      forward_3rows(v, cols, row, "+inf entry", rng, y1);
      t_check(all_nan(y1, cols), "%s forward +inf at %zu, cols=%zu: want all NaN", v->name, pos,
              cols);

      /* NaN anywhere: the whole row is NaN */
      fill_input(rng, DIST_PM10, 1, cols, row);
      row[pos] = NAN;
      forward_3rows(v, cols, row, "NaN entry", rng, y1);
      t_check(all_nan(y1, cols), "%s forward NaN at %zu, cols=%zu: want all NaN", v->name, pos,
              cols);
    }

    /* a row of -inf: NaN */
    for (size_t i = 0; i < cols; i++) row[i] = -INFINITY;
    forward_3rows(v, cols, row, "all -inf", rng, y1);
    t_check(all_nan(y1, cols), "%s forward all -inf, cols=%zu: want all NaN", v->name, cols);

    /* huge finite values: exact to rounding */
    for (size_t i = 0; i < cols; i++) row[i] = i % 3 == 1 ? 1e30f : -1e30f;
    forward_3rows(v, cols, row, "+-1e30", rng, y1);
    ref_forward_row(cols, row, ref);
    int ok = 1;
    for (size_t i = 0; i < cols; i++) ok = ok && t_within_ulps(y1[i], ref[i], 1.0);
    t_check(ok, "%s forward +-1e30 mixed, cols=%zu: not within 1 ulp", v->name, cols);

    /* equal large logits: log(1/cols) to rounding */
    for (size_t i = 0; i < cols; i++) row[i] = 1e8f;
    forward_3rows(v, cols, row, "all 1e8", rng, y1);
    ok = 1;
    for (size_t i = 0; i < cols; i++) ok = ok && t_within_ulps(y1[i], -log((double) cols), 1.0);
    t_check(ok, "%s forward all 1e8, cols=%zu: got %.9g, want %.9g", v->name, cols,
            (double) y1[0], -log((double) cols));

    free(row);
    free(y1);
    free(ref);
  }

  /* cols == 1: exactly 0 for any finite x, NaN otherwise; one row each */
  static const float ones[] = {0.0f,   -0.0f,  5.0f,     -1e30f,   1e30f,     FLT_MAX,
                               -FLT_MAX, FLT_MIN, 1e-45f, 88.9f,  -100.0f,   -87.4f};
  enum { N1 = sizeof ones / sizeof ones[0] };
  t_floats x1 = mat_new(N1), y1m = mat_new(N1);
  memcpy(x1.v, ones, sizeof ones);
  v->fwd(x1.v, y1m.v, N1, 1);
  int ok = t_floats_intact(&y1m);
  for (size_t i = 0; i < N1; i++) ok = ok && t_bits(y1m.v[i]) == 0u;
  t_check(ok, "%s forward cols=1 finite: want +0 everywhere", v->name);
  const float bad[] = {INFINITY, -INFINITY, NAN};
  memcpy(x1.v, bad, sizeof bad);
  v->fwd(x1.v, y1m.v, 3, 1);
  t_check(all_nan(y1m.v, 3), "%s forward cols=1 +-inf/NaN: want NaN", v->name);
  t_floats_free(&x1);
  t_floats_free(&y1m);

  printf("  %s: special values (-inf, +inf, NaN at first/middle/last/tail positions, all -inf, "
         "+-1e30, all 1e8, cols=1): %s\n",
         v->name, t_failed == before ? "ok" : "FAILED");
}

/* --- backward special rows -------------------------------------------------- */

enum t_bwd_special {
  BWD_HUGE_GY,   /* +1e6 and -1e6 among gy in [-1, 1]: a float sum loses the rest */
  BWD_NEG_INF_Y, /* y = -inf at pos: exp = +0, gx = gy there exactly */
  BWD_ALL_NEG_INF_Y,
  BWD_NAN_Y,     /* y = NaN at pos: gx NaN there only */
  BWD_BIG_Y,     /* y = 88.5 at pos (not an output of the forward, still defined) */
  BWD_SPECIALS
};
static const char *const t_bwd_special_names[] = {"gy +-1e6", "y -inf", "y all -inf", "y NaN",
                                                  "y 88.5"};

/*
 * The backward on 3 rows whose middle row is special: the vector kernels sum
 * each row's gy inside the previous row's gradient loop, so the special row's
 * sum is taken alongside row 0 and its gradient alongside row 2's sum; every
 * row must match the reference, and rows 0 and 2 must not see row 1. The
 * lengths straddle the vector widths, the unrolled loops (32 and 64
 * elements) and the prefetch distance plus a main-loop step (576).
 */
static void test_backward_special_rows(const struct t_variant *v, t_rng *rng) {
  static const size_t cols_list[] = {1,  2,  7,   8,   9,   15,  16,  17,  31,   32,  33,
                                     63, 64, 65,  79,  80,  81,  127, 128, 129,  575, 576,
                                     577, 1000, 1031};
  const int before = t_failed;
  for (size_t c = 0; c < sizeof cols_list / sizeof cols_list[0]; c++) {
    const size_t cols = cols_list[c], n = 3 * cols;
    t_floats gy = mat_new(n), y = mat_new(n), gx = mat_new(n);
    double *ref = malloc(cols * sizeof(double));
    if (ref == NULL) exit(2);
    const size_t positions[] = {0, cols / 2, cols - 1, cols - cols % 16, cols - cols % 64};
    for (int sp = 0; sp < BWD_SPECIALS; sp++) {
      for (size_t p = 0; p < sizeof positions / sizeof positions[0]; p++) {
        const size_t pos = positions[p];
        if (pos >= cols) continue;
        fill_input(rng, DIST_PM10, 3, cols, y.v);
        v->fwd(y.v, y.v, 3, (int64_t) cols);
        for (size_t i = 0; i < n; i++) gy.v[i] = t_rng_uniform(rng, -1.0f, 1.0f);
        float *gy1 = gy.v + cols, *y1 = y.v + cols;
        switch ((enum t_bwd_special) sp) {
          case BWD_HUGE_GY:
            gy1[pos] = 1e6f;
            gy1[(pos + cols / 3 + 1) % cols] -= 1e6f; /* the same element when cols == 1 */
            break;
          case BWD_NEG_INF_Y: y1[pos] = -INFINITY; break;
          case BWD_ALL_NEG_INF_Y:
            for (size_t i = 0; i < cols; i++) y1[i] = -INFINITY;
            break;
          case BWD_NAN_Y: y1[pos] = NAN; break;
          default:
            /* a small sum keeps exp(88.5) * sum finite */
            for (size_t i = 0; i < cols; i++) gy1[i] = 0.0f;
            gy1[(pos + 1) % cols] = 1e-3f;
            y1[pos] = 88.5f;
            break;
        }
        v->bwd(gy.v, y.v, gx.v, 3, (int64_t) cols);
        int ok = t_floats_intact(&gx);
        for (size_t r = 0; r < 3; r++) {
          ref_backward_row(cols, gy.v + r * cols, y.v + r * cols, ref);
          for (size_t i = 0; i < cols; i++) ok = ok && t_close(gx.v[r * cols + i], ref[i], TOL);
        }
        const float *gx1 = gx.v + cols;
        if (sp == BWD_NEG_INF_Y) ok = ok && t_bits(gx1[pos]) == t_bits(gy1[pos]);
        if (sp == BWD_ALL_NEG_INF_Y) ok = ok && memcmp(gx1, gy1, cols * sizeof(float)) == 0;
        if (sp == BWD_NAN_Y) {
          for (size_t i = 0; i < cols; i++) ok = ok && (i == pos ? isnan(gx1[i]) : isfinite(gx1[i]));
        }
        t_check(ok, "%s backward %s at %zu, cols=%zu: gx[pos]=%g", v->name,
                t_bwd_special_names[sp], pos, cols, (double) gx1[pos]);
        if (sp == BWD_ALL_NEG_INF_Y) break; /* no position */
      }
    }
    free(ref);
    t_floats_free(&gy);
    t_floats_free(&y);
    t_floats_free(&gx);
  }
  printf("  %s: backward, special middle row (gy +-1e6, y -inf, all -inf, NaN, 88.5) at "
         "first/middle/last/tail positions: %s\n",
         v->name, t_failed == before ? "ok" : "FAILED");
}

/* --- finite differences ------------------------------------------------------ */

/* L(x) = sum_rc gy * y(x); dL/dx must equal the backward's gx. */
static double loss(const struct t_variant *v, size_t rows, size_t cols, const float *x,
                   const float *gy, float *y) {
  v->fwd(x, y, (int64_t) rows, (int64_t) cols);
  double l = 0.0;
  for (size_t i = 0; i < rows * cols; i++) l += (double) gy[i] * (double) y[i];
  return l;
}

static void test_gradient_fd(const struct t_variant *v, t_rng *rng) {
  static const size_t cols_list[] = {1, 2, 5, 16, 17, 40};
  const size_t rows = 2;
  const float h = 0x1p-6f; /* exact steps for |x| < 4 */
  const int before = t_failed;
  for (size_t c = 0; c < sizeof cols_list / sizeof cols_list[0]; c++) {
    const size_t cols = cols_list[c], n = rows * cols;
    float x[80], gy[80], y[80], gx[80], yt[80];
    for (size_t i = 0; i < n; i++) {
      x[i] = t_rng_uniform(rng, -3.0f, 3.0f);
      gy[i] = t_rng_uniform(rng, -1.0f, 1.0f);
    }
    v->fwd(x, y, (int64_t) rows, (int64_t) cols);
    v->bwd(gy, y, gx, (int64_t) rows, (int64_t) cols);
    size_t bad = 0, first = 0;
    double fd_first = 0.0;
    for (size_t j = 0; j < n; j++) {
      const float xj = x[j];
      x[j] = xj + h;
      const double lp = loss(v, rows, cols, x, gy, yt);
      x[j] = xj - h;
      const double lm = loss(v, rows, cols, x, gy, yt);
      x[j] = xj;
      const double fd = (lp - lm) / (2.0 * (double) h);
      if (fabs(fd - (double) gx[j]) > FD_TOL) {
        if (bad++ == 0) {
          first = j;
          fd_first = fd;
        }
      }
    }
    t_check(bad == 0, "%s gradient vs finite differences, cols=%zu: %zu off, first %zu: %g vs %g",
            v->name, cols, bad, first, bad ? (double) gx[first] : 0.0, fd_first);
  }
  printf("  %s: backward vs finite differences of forward: %s\n", v->name,
         t_failed == before ? "ok" : "FAILED");
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0); /* keep the context if a kernel crashes */
  const char *only = argc > 1 ? argv[1] : NULL;
  const uint64_t seed = t_seed();
  printf("test_log_softmax: seed %#" PRIx64 " (set S4J_TEST_SEED to replay another)\n", seed);
  for (size_t k = 0; k < sizeof t_variants / sizeof t_variants[0]; k++) {
    const struct t_variant *v = &t_variants[k];
    if (!t_run_variant(v->name, only)) continue;
    t_rng rng = {seed};
    test_shapes(v, &rng);
    test_groups_and_streams(v, &rng);
    test_special_values(v, &rng);
    test_backward_special_rows(v, &rng);
    test_moving_max(v);
    test_adjacent_buffers(v, &rng);
    test_gradient_fd(v, &rng);
  }
  return t_finish("log_softmax");
}
