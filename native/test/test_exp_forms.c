/*
 * test_exp_forms.c - the backward's exp (rr1_p6, exp_f32.h) of each vector
 * ISA against the double exp: absolute error < S4J_EXP_F32_GRAD_ABS_BOUND
 * over [CUTOFF, 0] (every log-softmax output), relative error <
 * S4J_EXP_F32_GRAD_ULP_BOUND ulp over [CUTOFF, 88.72283], and the range
 * policy exactly (+0 below CUTOFF and for -inf, +inf above ln(FLT_MAX) and
 * for +inf, NaN for NaN, exp(+-0) == 1). Floats are swept with a stride
 * (every float in the edge ranges), so this runs in about a second.
 * (The forward's sum-only exp: test_exp_sum; the exp itself: test_exp.)
 *
 * Usage: test_exp_forms [stride]   (default 13)
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "math/exp_f32.h"
#include "softmax4j.h"
#include "test_util.h"

typedef void (*exp_fn)(size_t n, const float *x, float *y);

struct form {
  const char *isa;
  exp_fn grad;
};

static const struct form forms[] = {
    {"avx512", s4j_math_f32_expgrad__avx512f_rr1_p6},
    {"avx2", s4j_math_f32_expgrad__avx2_rr1_p6},
};

#define CHUNK 4096 /* a multiple of every vector width */

/* ln(FLT_MAX) rounded down: the largest float whose exp is finite. */
#define T_X_FINITE_MAX 88.72283f

struct tally {
  uint64_t checked, bad;
  float first_x, first_got;
  double max_abs, max_ulp; /* over [CUTOFF, 0] and [CUTOFF, X_FINITE_MAX] */
};

/* The ulp of the float nearest w (w a normal float's range, > 0). */
static double ulp_of(double w) { return ldexp(1.0, ilogb((float) w) - 23); }

static void note(struct tally *t, float x, float got) {
  const float cutoff = S4J_EXP_F32_CUTOFF;
  int ok;
  t->checked++;
  if (isnan(x)) {
    ok = isnan(got);
  } else if (x < cutoff) {
    ok = t_bits(got) == 0u; /* +0, also for -inf */
  } else if (x > T_X_FINITE_MAX) {
    ok = isinf(got) && got > 0.0f;
  } else if (x == 0.0f) {
    ok = got == 1.0f;
  } else {
    const double want = exp((double) x);
    const double err = fabs((double) got - want);
    const double ulps = err / ulp_of(want);
    if (ulps > t->max_ulp) t->max_ulp = ulps;
    ok = ulps < S4J_EXP_F32_GRAD_ULP_BOUND;
    if (x <= 0.0f) {
      if (err > t->max_abs) t->max_abs = err;
      ok = ok && err < S4J_EXP_F32_GRAD_ABS_BOUND;
    }
  }
  if (!ok && t->bad++ == 0) {
    t->first_x = x;
    t->first_got = got;
  }
}

/* Every stride-th float pattern, plus every float in the edge ranges. */
static void check_form(const struct form *f, uint64_t stride) {
  float *x = malloc(CHUNK * sizeof(float)), *got = malloc(CHUNK * sizeof(float));
  if (x == NULL || got == NULL) exit(2);
  struct tally t = {0, 0, 0.0f, 0.0f, 0.0, 0.0};
  const float cutoff = S4J_EXP_F32_CUTOFF;

  /* Patterns: all floats with a stride, then dense runs around 0, CUTOFF,
   * the one-factor scaling limit of AVX2 (88), the overflow edge, and the
   * largest absolute error (-0.345298529, exp_f32.h). */
  const float dense_centres[] = {0.0f,   -0.0f, cutoff, 88.0f, T_X_FINITE_MAX, -1e-30f,
                                 -0.345298529f, -1.0f, -INFINITY, INFINITY};
  uint64_t u = 0;
  size_t dense = 0;
  int64_t dense_k = -20000;
  for (;;) {
    size_t n = 0;
    while (n < CHUNK) {
      if (u <= UINT32_MAX) {
        x[n++] = t_from_bits((uint32_t) u);
        u += stride;
      } else if (dense < sizeof dense_centres / sizeof dense_centres[0]) {
        const uint32_t b = t_bits(dense_centres[dense]);
        x[n++] = t_from_bits((uint32_t) ((int64_t) b + dense_k));
        if (++dense_k > 20000) {
          dense_k = -20000;
          dense++;
        }
      } else {
        break;
      }
    }
    if (n == 0) break;
    while (n % 16 != 0) x[n++] = -INFINITY;

    f->grad(n, x, got);
    for (size_t i = 0; i < n; i++) note(&t, x[i], got[i]);

    if (u > UINT32_MAX && dense >= sizeof dense_centres / sizeof dense_centres[0]) break;
  }

  t_check(t.bad == 0, "%s expgrad: %llu of %llu out of bounds, first x=%a: got %a", f->isa,
          (unsigned long long) t.bad, (unsigned long long) t.checked, (double) t.first_x,
          (double) t.first_got);
  printf("  %s: expgrad %llu floats: %s (max absolute error over [CUTOFF, 0] %.3f * 2^-24, "
         "max %.2f ulp)\n",
         f->isa, (unsigned long long) t.checked, t.bad == 0 ? "ok" : "FAILED",
         t.max_abs * 0x1p24, t.max_ulp);
  free(x);
  free(got);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const uint64_t stride = argc > 1 ? strtoull(argv[1], NULL, 10) : 13;
  printf("test_exp_forms: stride %llu\n", (unsigned long long) stride);
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    if (!s4j_isa_supported(forms[i].isa)) {
      char msg[64];
      snprintf(msg, sizeof msg, "%s: this CPU/OS cannot run it", forms[i].isa);
      t_skip(msg);
      continue;
    }
    check_form(&forms[i], stride == 0 ? 1 : stride);
  }
  return t_finish("exp_forms");
}
