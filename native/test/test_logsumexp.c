/*
 * test_logsumexp.c - LogSumExp over any dimension ([outer, dim, inner]),
 * every variant through its exported s4j_logsumexp_*_f32_<isa> function,
 * against a long double reference: rows (inner == 1) and middle dimensions
 * of sizes that hit every loop and tail, inputs where a plain expf
 * overflows, PyTorch's special values, canaries around every buffer, a
 * finite-difference check of the backward, and the return codes; the
 * backward also element by element in ulps, with its special values and
 * in place (gx == x).
 *
 * Usage: test_logsumexp [isa]   (default: every variant the CPU supports)
 */
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
#define FD_TOL 2e-3
#define PAD 29
#define CANARY T_CANARY

typedef int (*t_fwd_fn)(const float *x, float *out, int64_t outer, int64_t dim, int64_t inner);
typedef int (*t_bwd_fn)(const float *gy, const float *x, float *gx, int64_t outer, int64_t dim,
                        int64_t inner);

struct t_variant {
  const char *name;
  t_fwd_fn fwd;
  t_bwd_fn bwd;
};

#define T_VARIANT(name, required, fwd, bwd, vexp) \
  {#name, s4j_logsumexp_forward_f32_##name, s4j_logsumexp_backward_f32_##name},
static const struct t_variant t_variants[] = {S4J_VARIANTS(T_VARIANT)};
#undef T_VARIANT

static t_floats buf_new(size_t n) { return t_floats_new(n, PAD); }

/* log(sum(exp(x))) over each slice, with torch.logsumexp's special values. */
static void ref_forward(size_t outer, size_t dim, size_t inner, const float *x, long double *out) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t j = 0; j < inner; j++) {
      const float *s = x + o * dim * inner + j;
      long double m = -INFINITY;
      int nan = 0;
      for (size_t c = 0; c < dim; c++) {
        nan |= isnan(s[c * inner]);
        if (s[c * inner] > m) m = s[c * inner];
      }
      long double sum = 0.0L;
      if (isfinite(m)) {
        for (size_t c = 0; c < dim; c++) sum += expl((long double) s[c * inner] - m);
      }
      out[o * inner + j] = nan ? NAN : isfinite(m) ? m + logl(sum) : m;
    }
  }
}

/* gy[o, j] * softmax(x)[o, c, j]. */
static void ref_backward(size_t outer, size_t dim, size_t inner, const float *gy, const float *x,
                         long double *gx) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t j = 0; j < inner; j++) {
      const float *s = x + o * dim * inner + j;
      long double m = -INFINITY, sum = 0.0L;
      for (size_t c = 0; c < dim; c++) m = s[c * inner] > m ? s[c * inner] : m;
      for (size_t c = 0; c < dim; c++) sum += expl((long double) s[c * inner] - m);
      for (size_t c = 0; c < dim; c++) {
        gx[(o * dim + c) * inner + j] = gy[o * inner + j] * expl((long double) s[c * inner] - m) / sum;
      }
    }
  }
}

__attribute__((noinline)) static void test_shape(const struct t_variant *v, size_t outer,
                                                 size_t dim, size_t inner, float lo, float hi,
                                                 t_rng *rng) {
  const size_t n = outer * dim * inner, p = outer * inner;
  t_floats x = buf_new(n), out = buf_new(p), gy = buf_new(p), gx = buf_new(n);
  long double *ref = n <= ((size_t) 1 << 40) ? calloc(n, sizeof *ref) : NULL;
  if (ref == NULL) exit(2);
  for (size_t i = 0; i < n; i++) x.v[i] = t_rng_uniform(rng, lo, hi);
  for (size_t i = 0; i < p; i++) gy.v[i] = t_rng_uniform(rng, -1.0f, 1.0f);

  int rc = v->fwd(x.v, out.v, (int64_t) outer, (int64_t) dim, (int64_t) inner);
  ref_forward(outer, dim, inner, x.v, ref);
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < p; i++) {
    if (!t_close(out.v[i], (double) ref[i], TOL) && bad++ == 0) first = i;
  }
  t_check(rc == S4J_OK && bad == 0, "%s forward [%zu,%zu,%zu] in [%g,%g): rc %d, %zu off, first %zu: %.9g vs %.9Lg",
          v->name, outer, dim, inner, lo, hi, rc, bad, first, bad ? (double) out.v[first] : 0.0,
          bad ? ref[first] : 0.0L);

  rc = v->bwd(gy.v, x.v, gx.v, (int64_t) outer, (int64_t) dim, (int64_t) inner);
  ref_backward(outer, dim, inner, gy.v, x.v, ref);
  bad = 0;
  for (size_t i = 0; i < n; i++) {
    if (!t_close(gx.v[i], (double) ref[i], TOL) && bad++ == 0) first = i;
  }
  t_check(rc == S4J_OK && bad == 0, "%s backward [%zu,%zu,%zu]: rc %d, %zu off, first %zu: %.9g vs %.9Lg",
          v->name, outer, dim, inner, rc, bad, first, bad ? (double) gx.v[first] : 0.0,
          bad ? ref[first] : 0.0L);
  t_check(t_floats_intact(&x) && t_floats_intact(&out) && t_floats_intact(&gy) && t_floats_intact(&gx),
          "%s [%zu,%zu,%zu]: a canary beside a buffer changed", v->name, outer, dim, inner);
  free(ref);
  free(x.base);
  free(out.base);
  free(gy.base);
  free(gx.base);
}

static void test_shapes(const struct t_variant *v, t_rng *rng) {
  static const size_t shapes[][3] = {
      {1, 1, 1},   {3, 2, 1},   {2, 7, 1},    {2, 16, 1},   {2, 33, 1},  {1, 255, 1}, {1, 257, 1},
      {2, 1000, 1}, {1, 32000, 1}, {1, 3, 5},  {2, 5, 16},   {2, 9, 17},  {1, 81, 40}, {1, 1000, 16},
      {3, 4, 33},
  };
  const int before = t_failed;
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    test_shape(v, shapes[s][0], shapes[s][1], shapes[s][2], -10.0f, 10.0f, rng);
    test_shape(v, shapes[s][0], shapes[s][1], shapes[s][2], 90.0f, 100.0f, rng);
  }
  printf("  %s: shapes vs long double reference: %s\n", v->name, t_failed == before ? "ok" : "FAILED");
}

/* One case per slice, as rows (inner == 1) and as columns (inner == 7). */
static void test_special_values(const struct t_variant *v) {
  const float inf = INFINITY;
  enum { CASES = 7, DIM = 3 };
  const float rows[CASES][DIM] = {
      {1.0f, 2.0f, 3.0f},      /* finite */
      {-inf, 0.0f, -inf},      /* masks: log(exp(0)) = 0 */
      {-inf, -inf, -inf},      /* all -inf: -inf */
      {1.0f, inf, 2.0f},       /* +inf: +inf */
      {1.0f, NAN, 2.0f},       /* NaN */
      {inf, NAN, -inf},        /* +inf and NaN: NaN */
      {1e30f, -1e30f, 1e30f},  /* huge: 1e30 + log 2, which is 1e30 in float */
  };
  const float want[CASES] = {0, 0.0f, -inf, inf, NAN, NAN, 1e30f};
  float x[CASES * DIM], out[CASES];
  for (size_t r = 0; r < CASES; r++) memcpy(x + r * DIM, rows[r], sizeof rows[r]);
  v->fwd(x, out, CASES, DIM, 1);
  long double ref0;
  ref_forward(1, DIM, 1, x, &ref0);
  int ok = t_close(out[0], (double) ref0, TOL);
  for (size_t r = 1; r < CASES; r++) {
    ok &= isnan(want[r]) ? isnan(out[r]) : out[r] == want[r];
  }
  t_check(ok, "%s special values over rows: got %g %g %g %g %g %g %g", v->name, (double) out[0],
          (double) out[1], (double) out[2], (double) out[3], (double) out[4], (double) out[5],
          (double) out[6]);

  /* The same cases as the 7 columns of a [1, 3, 7] tensor. */
  float xt[DIM * CASES], outt[CASES];
  for (size_t r = 0; r < CASES; r++) {
    for (size_t c = 0; c < DIM; c++) xt[c * CASES + r] = rows[r][c];
  }
  v->fwd(xt, outt, 1, DIM, CASES);
  t_check(memcmp(out, outt, sizeof out) == 0 || (ok && t_close(outt[0], (double) ref0, TOL)),
          "%s special values over a middle dimension differ from the rows'", v->name);
  for (size_t r = 1; r < CASES; r++) {
    t_check(isnan(want[r]) ? isnan(outt[r]) : outt[r] == want[r],
            "%s special value case %zu over a middle dimension: got %g", v->name, r, (double) outt[r]);
  }

  /* dim == 1: the value itself; dim == 0: -inf (log of an empty sum). */
  const float one[4] = {-3.5f, 0.0f, 7.25f, -inf};
  float o1[4], o0[2];
  v->fwd(one, o1, 4, 1, 1);
  t_check(memcmp(one, o1, sizeof one) == 0, "%s: dim == 1 must return x", v->name);
  v->fwd(NULL, o0, 1, 0, 2);
  t_check(o0[0] == -inf && o0[1] == -inf, "%s: dim == 0 must give -inf", v->name);
}

/*
 * The one-pass backward, element by element in ulps: each gx is the exp
 * of the rounded x - m (rounding d = x - m moves exp(d) by up to
 * |d| * 2^-24 relative, up to |d| ulp, as in the softmax forward), scaled
 * by the rounded gy / sum and rounded once more, so a bound of |x - m| + 8
 * ulp of |gx| holds with room; a slip of the
 * scale, a lost tail element or a wrong position fails it. Row lengths
 * around the unroll widths (1, 2 and 4 vectors of 8 and 16 lanes, the
 * 256-element float blocks) and inner sizes around the group widths (16
 * scalar, 8 and 16 AVX2, 16 to 64 AVX-512), with the dims around the float
 * runs of 8; canaries around every buffer.
 */
__attribute__((noinline)) static void test_backward_ulps_shape(const struct t_variant *v,
                                                               size_t outer, size_t dim,
                                                               size_t inner, float lo, float hi,
                                                               t_rng *rng, size_t *bad_shapes) {
  const size_t n = outer * dim * inner, p = outer * inner;
  t_floats x = buf_new(n), gy = buf_new(p), gx = buf_new(n);
  long double *ref = calloc(n, sizeof *ref);
  if (ref == NULL) exit(2);
  for (size_t i = 0; i < n; i++) x.v[i] = t_rng_uniform(rng, lo, hi);
  for (size_t i = 0; i < p; i++) gy.v[i] = t_rng_uniform(rng, -4.0f, 4.0f);
  const int rc = v->bwd(gy.v, x.v, gx.v, (int64_t) outer, (int64_t) dim, (int64_t) inner);
  ref_backward(outer, dim, inner, gy.v, x.v, ref);
  size_t bad = 0, first = 0;
  for (size_t o = 0; o < outer; o++) {
    for (size_t j = 0; j < inner; j++) {
      float m = -INFINITY;
      for (size_t c = 0; c < dim; c++) m = fmaxf(m, x.v[(o * dim + c) * inner + j]);
      for (size_t c = 0; c < dim; c++) {
        const size_t i = (o * dim + c) * inner + j;
        const double ulps = fabs((double) x.v[i] - (double) m) + 8.0;
        if (!t_within_ulps(gx.v[i], (double) ref[i], ulps) && bad++ == 0) first = i;
      }
    }
  }
  const int intact = t_floats_intact(&x) && t_floats_intact(&gy) && t_floats_intact(&gx);
  if (!t_check(rc == S4J_OK && bad == 0 && intact,
               "%s backward ulps [%zu,%zu,%zu] in [%g,%g): rc %d, %zu off, first %zu: %.9g vs %.9Lg, canaries %s",
               v->name, outer, dim, inner, lo, hi, rc, bad, first, bad ? (double) gx.v[first] : 0.0,
               bad ? ref[first] : 0.0L, intact ? "intact" : "CHANGED")) {
    ++*bad_shapes;
  }
  free(ref);
  t_floats_free(&x);
  t_floats_free(&gy);
  t_floats_free(&gx);
}

static void test_backward_ulps(const struct t_variant *v, t_rng *rng) {
  static const size_t cols[] = {1,  2,  3,  5,  7,   8,   9,   15,  16,  17,  31,  32,  33,
                                47, 48, 49, 63, 64,  65,  95,  127, 128, 129, 255, 256, 257,
                                511, 512, 513, 1000, 4096, 4099};
  static const size_t inners[] = {2, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 47, 48, 49, 63, 64, 65, 80, 127, 129};
  static const size_t dims[] = {1, 2, 7, 8, 9, 17};
  size_t bad_shapes = 0;
  for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++) {
    test_backward_ulps_shape(v, 3, cols[k], 1, -10.0f, 10.0f, rng, &bad_shapes);
    test_backward_ulps_shape(v, 2, cols[k], 1, 90.0f, 100.0f, rng, &bad_shapes);
  }
  for (size_t k = 0; k < sizeof inners / sizeof inners[0]; k++) {
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++) {
      test_backward_ulps_shape(v, 2, dims[d], inners[k], -10.0f, 10.0f, rng, &bad_shapes);
    }
    test_backward_ulps_shape(v, 1, 40, inners[k], 90.0f, 100.0f, rng, &bad_shapes);
  }
  printf("  %s: backward within |x - m| + 8 ulp: %s\n", v->name, bad_shapes == 0 ? "ok" : "FAILED");
}

/*
 * The backward's special values, per slice, as rows and as the 7 columns
 * of a [1, 3, 7] tensor: masks give 0 and the rest gy * softmax; a slice
 * whose forward is not finite (all -inf, +inf, NaN) gives NaN throughout;
 * huge equal logits split gy; gy == 0 gives 0.
 */
static void test_backward_special_values(const struct t_variant *v) {
  const float inf = INFINITY;
  enum { CASES = 8, DIM = 3 };
  const float rows[CASES][DIM] = {
      {1.0f, 2.0f, 3.0f},     {-inf, 0.0f, -inf},    {-inf, -inf, -inf}, {1.0f, inf, 2.0f},
      {1.0f, NAN, 2.0f},      {inf, NAN, -inf},      {1e30f, -1e30f, 1e30f}, {5.0f, -inf, 5.0f},
  };
  const float gy[CASES] = {0.5f, -2.0f, 1.0f, 1.0f, 1.0f, 1.0f, 3.0f, 0.0f};
  const float e = 1.0f / (1.0f + expf(-1.0f) + expf(-2.0f));
  const float want[CASES][DIM] = {
      {0.5f * e * expf(-2.0f), 0.5f * e * expf(-1.0f), 0.5f * e},
      {0.0f, -2.0f, 0.0f},
      {NAN, NAN, NAN},
      {NAN, NAN, NAN},
      {NAN, NAN, NAN},
      {NAN, NAN, NAN},
      {1.5f, 0.0f, 1.5f},
      {0.0f, 0.0f, 0.0f},
  };
  for (int layout = 0; layout < 2; layout++) {
    /* layout 0: [8, 3, 1] rows; layout 1: [1, 3, 8], a case per column. */
    float x[CASES * DIM], gx[CASES * DIM];
    for (size_t r = 0; r < CASES; r++) {
      for (size_t c = 0; c < DIM; c++) x[layout ? c * CASES + r : r * DIM + c] = rows[r][c];
    }
    const int rc = layout ? v->bwd(gy, x, gx, 1, DIM, CASES) : v->bwd(gy, x, gx, CASES, DIM, 1);
    int ok = rc == S4J_OK;
    for (size_t r = 0; r < CASES; r++) {
      for (size_t c = 0; c < DIM; c++) {
        const float got = gx[layout ? c * CASES + r : r * DIM + c];
        const int good = isnan(want[r][c]) ? isnan(got) : fabsf(got - want[r][c]) <= 1e-6f;
        if (!good) {
          t_check(0, "%s backward special value case %zu, element %zu, %s: got %g, want %g", v->name,
                  r, c, layout ? "columns" : "rows", (double) got, (double) want[r][c]);
          ok = 0;
        }
      }
    }
    t_check(ok, "%s backward special values (%s)", v->name, layout ? "columns" : "rows");
  }
}

/* gx may be x (softmax4j.h): in place must give the out-of-place bits. */
static void test_backward_in_place(const struct t_variant *v, t_rng *rng) {
  static const size_t shapes[][3] = {{3, 37, 1}, {2, 300, 1}, {2, 9, 17}, {1, 5, 70}, {2, 4, 5}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    const size_t outer = shapes[s][0], dim = shapes[s][1], inner = shapes[s][2];
    const size_t n = outer * dim * inner, p = outer * inner;
    t_floats x = buf_new(n), gy = buf_new(p), gx = buf_new(n);
    for (size_t i = 0; i < n; i++) x.v[i] = t_rng_uniform(rng, -10.0f, 10.0f);
    for (size_t i = 0; i < p; i++) gy.v[i] = t_rng_uniform(rng, -1.0f, 1.0f);
    v->bwd(gy.v, x.v, gx.v, (int64_t) outer, (int64_t) dim, (int64_t) inner);
    const int rc = v->bwd(gy.v, x.v, x.v, (int64_t) outer, (int64_t) dim, (int64_t) inner);
    t_check(rc == S4J_OK && memcmp(x.v, gx.v, n * sizeof(float)) == 0 && t_floats_intact(&x),
            "%s backward in place (gx == x) [%zu,%zu,%zu] differs from out of place", v->name,
            outer, dim, inner);
    t_floats_free(&x);
    t_floats_free(&gy);
    t_floats_free(&gx);
  }
}

static double loss(const struct t_variant *v, size_t outer, size_t dim, size_t inner,
                   const float *x, const float *w, float *out) {
  v->fwd(x, out, (int64_t) outer, (int64_t) dim, (int64_t) inner);
  double l = 0.0;
  for (size_t i = 0; i < outer * inner; i++) l += (double) w[i] * (double) out[i];
  return l;
}

static void test_gradient_fd(const struct t_variant *v, t_rng *rng) {
  static const size_t shapes[][3] = {{3, 5, 1}, {2, 6, 7}};
  const float h = 0x1p-6f;
  for (size_t s = 0; s < 2; s++) {
    const size_t outer = shapes[s][0], dim = shapes[s][1], inner = shapes[s][2];
    const size_t n = outer * dim * inner;
    float x[84], w[14], gx[84], out[14];
    for (size_t i = 0; i < n; i++) x[i] = t_rng_uniform(rng, -3.0f, 3.0f);
    for (size_t i = 0; i < outer * inner; i++) w[i] = t_rng_uniform(rng, -1.0f, 1.0f);
    v->bwd(w, x, gx, (int64_t) outer, (int64_t) dim, (int64_t) inner);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
      const float xi = x[i];
      x[i] = xi + h;
      const double lp = loss(v, outer, dim, inner, x, w, out);
      x[i] = xi - h;
      const double lm = loss(v, outer, dim, inner, x, w, out);
      x[i] = xi;
      bad += fabs((lp - lm) / (2.0 * (double) h) - (double) gx[i]) > FD_TOL;
    }
    t_check(bad == 0, "%s gradient vs finite differences [%zu,%zu,%zu]: %zu off", v->name, outer,
            dim, inner, bad);
  }
}

static void test_return_codes(void) {
  float a[4] = {0}, b[4] = {0}, c[4] = {0};
  t_check(s4j_logsumexp_forward_f32(a, b, -1, 2, 1) == S4J_ERR_NEGATIVE_SIZE &&
              s4j_logsumexp_backward_f32(a, b, c, 1, -2, 1) == S4J_ERR_NEGATIVE_SIZE,
          "logsumexp: negative sizes must give S4J_ERR_NEGATIVE_SIZE");
  t_check(s4j_logsumexp_forward_f32(NULL, NULL, 0, 5, 5) == S4J_OK &&
              s4j_logsumexp_backward_f32(NULL, NULL, NULL, 5, 5, 0) == S4J_OK,
          "logsumexp: no positions is a no-op whatever the pointers");
  t_check(s4j_logsumexp_forward_f32(a, b, INT64_MAX / 2, 2, 2) == S4J_ERR_SIZE_OVERFLOW,
          "logsumexp: an overflowing size must give S4J_ERR_SIZE_OVERFLOW");
  t_check(s4j_logsumexp_forward_f32(NULL, b, 1, 2, 1) == S4J_ERR_NULL_POINTER &&
              s4j_logsumexp_forward_f32(a, NULL, 1, 2, 1) == S4J_ERR_NULL_POINTER &&
              s4j_logsumexp_backward_f32(a, b, NULL, 1, 2, 1) == S4J_ERR_NULL_POINTER,
          "logsumexp: NULL pointers must give S4J_ERR_NULL_POINTER");
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *only = argc > 1 ? argv[1] : NULL;
  const uint64_t seed = t_seed();
  printf("test_logsumexp: seed %#" PRIx64 " (set S4J_TEST_SEED to replay another)\n", seed);
  for (size_t k = 0; k < sizeof t_variants / sizeof t_variants[0]; k++) {
    const struct t_variant *v = &t_variants[k];
    if (!t_run_variant(v->name, only)) continue;
    t_rng rng = {seed};
    test_shapes(v, &rng);
    test_special_values(v);
    test_gradient_fd(v, &rng);
    test_backward_ulps(v, &rng);
    test_backward_special_values(v);
    test_backward_in_place(v, &rng);
  }
  if (s4j_isa_status() == S4J_OK) test_return_codes();
  return t_finish("logsumexp");
}
