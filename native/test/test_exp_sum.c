/*
 * test_exp_sum.c - the sum-only exp (rr1_p5, exp_f32.h) of each ISA against
 * the double exp, over every float in [CUTOFF, 0] (every stride-th with an
 * argument) and in [0, 8], with the bounds exp_f32.h documents:
 *   relative error < 4e-7 over [CUTOFF, 8], < 2e-7 over [-16, 8];
 *   exp(0) == 1; no subnormal result;
 *   x < CUTOFF and -inf give exactly +0 (swept with a stride); NaN gives NaN.
 * Prints the measured maxima with the x where they occur.
 *
 * Usage: test_exp_sum [stride]   (default 1: every float)
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "math/exp_f32.h"
#include "softmax4j.h"
#include "test_util.h"

#define BOUND 4e-7
#define BOUND_NEAR 2e-7 /* over [NEAR, 0] */
#define NEAR (-16.0f)
#define S4J_EXP_SUM_X_MAX 8.0f /* the online sum's slack */
#define CHUNK 4096      /* a multiple of every vector width */

typedef void (*exp_fn)(size_t n, const float *x, float *y);

struct form {
  const char *isa;
  exp_fn fn;
};

static const struct form forms[] = {
    {"avx512", s4j_math_f32_expsum__avx512f_rr1_p5},
    {"avx2", s4j_math_f32_expsum__avx2_rr1_p5},
};

struct stats {
  double max_rel, max_rel_near;
  float x_max, x_max_near;
  uint64_t checked, not_normal, not_zero, not_nan;
  float first_bad_x, first_bad_y;
};

static void bad(struct stats *st, uint64_t *counter, float x, float y) {
  if ((*counter)++ == 0 && st->first_bad_x == 0.0f) {
    st->first_bad_x = x;
    st->first_bad_y = y;
  }
}

static void sweep(const struct form *f, uint32_t from, uint32_t to, uint64_t stride,
                  struct stats *st, float *x, float *y) {
  uint64_t u = from;
  while (u <= to) {
    size_t n = 0;
    while (n < CHUNK && u <= to) {
      x[n++] = t_from_bits((uint32_t) u);
      u += stride;
    }
    const size_t m = n;
    while (n % 16 != 0) x[n++] = 0.0f;
    f->fn(n, x, y);
    for (size_t i = 0; i < m; i++) {
      const double want = exp((double) x[i]);
      const double rel = fabs(((double) y[i] - want) / want);
      st->checked++;
      if (!(y[i] >= FLT_MIN)) bad(st, &st->not_normal, x[i], y[i]);
      if (!(rel <= st->max_rel)) {
        st->max_rel = rel;
        st->x_max = x[i];
      }
      if (x[i] >= NEAR && !(rel <= st->max_rel_near)) {
        st->max_rel_near = rel;
        st->x_max_near = x[i];
      }
    }
  }
}

static void check_form(const struct form *f, uint64_t stride) {
  float *x = malloc(CHUNK * sizeof(float)), *y = malloc(CHUNK * sizeof(float));
  if (x == NULL || y == NULL) exit(2);
  struct stats st = {0};
  const uint32_t lo = t_bits(-0.0f), hi = t_bits(S4J_EXP_F32_CUTOFF);
  uint64_t u;

  /* [CUTOFF, 0]: the bit patterns of -0 ... CUTOFF; then [+0, 8]. */
  sweep(f, lo, hi, stride, &st, x, y);
  sweep(f, t_bits(0.0f), t_bits(S4J_EXP_SUM_X_MAX), stride, &st, x, y);

  /* Below CUTOFF: +0 exactly (every 97th pattern, the 4096 right below
   * CUTOFF, -FLT_MAX, -inf); NaNs of both signs: NaN. */
  u = (uint64_t) hi + 1;
  uint64_t special = 0;
  for (;;) {
    size_t n = 0;
    while (n < CHUNK && u <= 0xff800000u) {
      x[n++] = t_from_bits((uint32_t) u);
      u += u < (uint64_t) hi + 4096 ? 1 : 97 * stride;
    }
    if (u > 0xff800000u && special == 0) {
      while (n + 2 <= CHUNK && special == 0) {
        x[n++] = -FLT_MAX;
        x[n++] = -INFINITY;
        special = 1;
      }
    }
    if (n == 0) break;
    while (n % 16 != 0) x[n++] = -INFINITY;
    f->fn(n, x, y);
    for (size_t i = 0; i < n; i++) {
      if (t_bits(y[i]) != 0u) bad(&st, &st.not_zero, x[i], y[i]);
    }
    if (u > 0xff800000u && special != 0) break;
  }
  for (size_t i = 0; i < 16; i++) {
    x[i] = t_from_bits(i % 2 == 0 ? 0x7fc00000u + (uint32_t) i : 0xffc00001u + (uint32_t) i);
  }
  f->fn(16, x, y);
  for (size_t i = 0; i < 16; i++) {
    if (!isnan(y[i])) bad(&st, &st.not_nan, x[i], y[i]);
  }
  for (size_t i = 0; i < 16; i++) x[i] = i % 2 == 0 ? 0.0f : -0.0f;
  f->fn(16, x, y);
  int one_ok = 1;
  for (size_t i = 0; i < 16; i++) one_ok &= y[i] == 1.0f;

  printf("  %s: %llu floats in [CUTOFF, 8]: max relative error %.3g at x = %a (%.9g); "
         "over [%g, 8]: %.3g at x = %.9g\n",
         f->isa, (unsigned long long) st.checked, st.max_rel, (double) st.x_max,
         (double) st.x_max, (double) NEAR, st.max_rel_near, (double) st.x_max_near);
  t_check(st.max_rel < BOUND, "%s: max relative error %.3g >= %g at x = %a", f->isa, st.max_rel,
          BOUND, (double) st.x_max);
  t_check(st.max_rel_near < BOUND_NEAR, "%s: max relative error over [%g, 8] %.3g >= %g at x = %a",
          f->isa, (double) NEAR, st.max_rel_near, BOUND_NEAR, (double) st.x_max_near);
  t_check(st.not_normal == 0, "%s: %llu results in [CUTOFF, 8] below FLT_MIN or NaN", f->isa,
          (unsigned long long) st.not_normal);
  t_check(st.not_zero == 0, "%s: %llu inputs below CUTOFF do not give +0", f->isa,
          (unsigned long long) st.not_zero);
  t_check(st.not_nan == 0, "%s: NaN does not give NaN", f->isa);
  t_check(one_ok, "%s: exp(+-0) != 1", f->isa);
  if (st.first_bad_x != 0.0f) {
    printf("  %s: first bad x = %a gave %a\n", f->isa, (double) st.first_bad_x,
           (double) st.first_bad_y);
  }
  free(x);
  free(y);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const uint64_t stride = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
  printf("test_exp_sum: stride %llu\n", (unsigned long long) stride);
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    if (!s4j_isa_supported(forms[i].isa)) {
      char msg[64];
      snprintf(msg, sizeof msg, "%s: this CPU/OS cannot run it", forms[i].isa);
      t_skip(msg);
      continue;
    }
    check_form(&forms[i], stride == 0 ? 1 : stride);
  }
  return t_finish("exp_sum");
}
