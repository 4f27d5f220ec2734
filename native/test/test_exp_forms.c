/*
 * test_exp_forms.c - the backward's cheaper form of the exp (nounder)
 * against the tested exp of the same ISA, bit for bit, for every float.
 * (The forward's sum-only exp is a different approximation: test_exp_sum.)
 * Floats are swept with a stride (every float in the edge ranges), so this
 * runs in about a second; the full sweep of the exp itself is test_exp.
 *
 * Usage: test_exp_forms [stride]   (default 13)
 */
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
  exp_fn exact, nounder;
};

static const struct form forms[] = {
    {"avx512", s4j_math_f32_exp__avx512f_rr2_p6, s4j_math_f32_exp_nounder__avx512f_rr2_p6},
    {"avx2", s4j_math_f32_exp__avx2_rr2_p6, s4j_math_f32_exp_nounder__avx2_rr2_p6},
};

#define CHUNK 4096 /* a multiple of every vector width */

struct tally {
  uint64_t checked, bad;
  float first_x;
  float first_got, first_want;
};

static void note(struct tally *t, float x, float got, float want) {
  const int same = t_bits(got) == t_bits(want) || (isnan(got) && isnan(want));
  t->checked++;
  if (!same && t->bad++ == 0) {
    t->first_x = x;
    t->first_got = got;
    t->first_want = want;
  }
}

/* Every stride-th float pattern, plus every float in the edge ranges. */
static void check_form(const struct form *f, uint64_t stride) {
  float *x = malloc(CHUNK * sizeof(float)), *want = malloc(CHUNK * sizeof(float));
  float *got = malloc(CHUNK * sizeof(float));
  if (x == NULL || want == NULL || got == NULL) exit(2);
  struct tally nounder = {0, 0, 0, 0, 0};
  const float cutoff = S4J_EXP_F32_CUTOFF;

  /* Patterns: all floats with a stride, then dense runs around 0, CUTOFF
   * and the overflow edge. */
  const float dense_centres[] = {0.0f, -0.0f, cutoff, 88.0f, 88.72283f, -1e-30f};
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

    f->exact(n, x, want);
    f->nounder(n, x, got);
    for (size_t i = 0; i < n; i++) note(&nounder, x[i], got[i], want[i]);

    if (u > UINT32_MAX && dense >= sizeof dense_centres / sizeof dense_centres[0]) break;
  }

  t_check(nounder.bad == 0, "%s nounder: %llu of %llu differ, first x=%a: got %a, want %a",
          f->isa, (unsigned long long) nounder.bad, (unsigned long long) nounder.checked,
          (double) nounder.first_x, (double) nounder.first_got, (double) nounder.first_want);
  printf("  %s: nounder %llu floats: %s\n", f->isa, (unsigned long long) nounder.checked,
         nounder.bad == 0 ? "bit-identical" : "FAILED");
  free(x);
  free(want);
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
