/*
 * test_dispatch.c - SOFTMAX4J_ISA, as ctest sets it: test_dispatch <mode>
 * checks that the environment holds <mode> and that the library obeys it.
 *
 *   scalar|avx2|avx512  s4j_isa() names it and the dispatched functions give
 *                       that variant's bits; when the CPU lacks it, status and
 *                       compute calls give S4J_ERR_UNSUPPORTED_ISA, nothing is
 *                       written, and the test reports itself skipped (77).
 *   bogus (any unknown) S4J_ERR_UNSUPPORTED_ISA from status and compute calls.
 *   auto                the best supported variant; the first calls come from
 *                       several threads at once (one-time initialisation).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "softmax4j.h"
#include "test_util.h"

typedef int (*t_fwd_fn)(const float *x, float *y, int64_t rows, int64_t cols);
typedef int (*t_bwd_fn)(const float *gy, const float *y, float *gx, int64_t rows, int64_t cols);

static const struct {
  const char *name;
  t_fwd_fn fwd;
  t_bwd_fn bwd;
} named[] = {
    {"avx512", s4j_log_softmax_forward_f32_avx512, s4j_log_softmax_backward_f32_avx512},
    {"avx2", s4j_log_softmax_forward_f32_avx2, s4j_log_softmax_backward_f32_avx2},
    {"scalar", s4j_log_softmax_forward_f32_scalar, s4j_log_softmax_backward_f32_scalar},
};
enum { NAMED = sizeof named / sizeof named[0] };

enum { R = 4, C = 45 };
static float x[R * C], gy[R * C];

/* Compute calls must fail with S4J_ERR_UNSUPPORTED_ISA and write nothing. */
static void expect_refusal(const char *mode) {
  float y[R * C], gx[R * C];
  memset(y, 0x5a, sizeof y);
  memset(gx, 0x5a, sizeof gx);
  const float sentinel = y[0];
  t_check(s4j_isa_status() == S4J_ERR_UNSUPPORTED_ISA, "%s: s4j_isa_status() = %d", mode,
          s4j_isa_status());
  t_check(strcmp(s4j_isa(), "none") == 0, "%s: s4j_isa() = %s, want none", mode, s4j_isa());
  t_check(s4j_log_softmax_forward_f32(x, y, R, C) == S4J_ERR_UNSUPPORTED_ISA, "%s: forward rc",
          mode);
  t_check(s4j_log_softmax_backward_f32(gy, x, gx, R, C) == S4J_ERR_UNSUPPORTED_ISA,
          "%s: backward rc", mode);
  t_check(s4j_log_softmax_forward_f32(NULL, NULL, 0, 0) == S4J_ERR_UNSUPPORTED_ISA,
          "%s: forward on an empty matrix must refuse too", mode);
  t_check(s4j_log_softmax_backward_f32(NULL, NULL, NULL, 0, 0) == S4J_ERR_UNSUPPORTED_ISA,
          "%s: backward on an empty matrix must refuse too", mode);
  double d[4] = {0};
  uint16_t h[4] = {0};
  t_check(s4j_logsumexp_forward_f64(d, d + 2, 1, 2, 1) == S4J_ERR_UNSUPPORTED_ISA &&
              s4j_logsumexp_backward_f64(d, d, d + 2, 1, 2, 1) == S4J_ERR_UNSUPPORTED_ISA &&
              s4j_logsumexp_forward_bf16(h, h + 2, 1, 2, 1) == S4J_ERR_UNSUPPORTED_ISA &&
              s4j_logsumexp_backward_bf16(h, h, h + 2, 1, 2, 1) == S4J_ERR_UNSUPPORTED_ISA &&
              s4j_logsumexp_forward_f16(h, h + 2, 1, 2, 1) == S4J_ERR_UNSUPPORTED_ISA &&
              s4j_logsumexp_backward_f16(NULL, NULL, NULL, 0, 0, 0) == S4J_ERR_UNSUPPORTED_ISA,
          "%s: LogSumExp of float64, bfloat16 and float16 must refuse", mode);
  int untouched = 1;
  for (int i = 0; i < R * C; i++) {
    untouched = untouched && t_bits(y[i]) == t_bits(sentinel) && t_bits(gx[i]) == t_bits(sentinel);
  }
  t_check(untouched, "%s: a refused call wrote its output", mode);
  /* The per-variant functions bypass dispatch and still work. */
  t_check(s4j_log_softmax_forward_f32_scalar(x, y, R, C) == S4J_OK, "%s: scalar by name", mode);
}

/* The dispatched functions give exactly what the named variant gives. */
static void expect_variant(const char *name) {
  float y1[R * C], y2[R * C], g1[R * C], g2[R * C];
  t_check(s4j_isa_status() == S4J_OK, "%s: s4j_isa_status() = %d", name, s4j_isa_status());
  t_check(strcmp(s4j_isa(), name) == 0, "s4j_isa() = %s, want %s", s4j_isa(), name);
  for (int k = 0; k < NAMED; k++) {
    if (strcmp(named[k].name, name) != 0) continue;
    t_check(s4j_log_softmax_forward_f32(x, y1, R, C) == S4J_OK, "%s: forward rc", name);
    named[k].fwd(x, y2, R, C);
    t_check(memcmp(y1, y2, sizeof y1) == 0, "%s: dispatched forward differs", name);
    t_check(s4j_log_softmax_backward_f32(gy, y1, g1, R, C) == S4J_OK, "%s: backward rc", name);
    named[k].bwd(gy, y1, g2, R, C);
    t_check(memcmp(g1, g2, sizeof g1) == 0, "%s: dispatched backward differs", name);
  }
}

static void *first_call(void *arg) {
  float *y = arg;
  (void) s4j_log_softmax_forward_f32(x, y, R, C);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_dispatch scalar|avx2|avx512|auto|<unknown>\n");
    return 2;
  }
  const char *mode = argv[1];
  const char *env = getenv("SOFTMAX4J_ISA");
  t_rng rng = {t_seed()};
  for (int i = 0; i < R * C; i++) {
    x[i] = t_rng_uniform(&rng, -30.0f, 30.0f);
    gy[i] = t_rng_uniform(&rng, -1.0f, 1.0f);
  }
  if (env == NULL || strcmp(env, mode) != 0) {
    printf("SOFTMAX4J_ISA=%s in the environment, expected %s\n", env ? env : "(unset)", mode);
    t_check(0, "environment not set up by the caller");
    return t_finish("dispatch");
  }

  if (strcmp(mode, "auto") == 0) {
    /* First use from 4 threads at once: one initialisation, same answers. */
    enum { T = 4 };
    pthread_t threads[T];
    static float ys[T][R * C];
    for (int t = 0; t < T; t++) pthread_create(&threads[t], NULL, first_call, ys[t]);
    for (int t = 0; t < T; t++) pthread_join(threads[t], NULL);
    int same = 1;
    for (int t = 1; t < T; t++) same = same && memcmp(ys[0], ys[t], sizeof ys[0]) == 0;
    t_check(same, "auto: threads racing on first use got different results");
    const char *best = "scalar";
    for (int k = 0; k < NAMED; k++) {
      if (s4j_isa_supported(named[k].name)) {
        best = named[k].name;
        break;
      }
    }
    printf("  SOFTMAX4J_ISA=auto -> %s (features: %s)\n", s4j_isa(), s4j_cpu_features());
    expect_variant(best);
    return t_finish("dispatch");
  }

  int known = 0;
  for (int k = 0; k < NAMED; k++) known = known || strcmp(named[k].name, mode) == 0;
  if (!known) {
    printf("  SOFTMAX4J_ISA=%s (unknown) -> status %d (%s)\n", mode, s4j_isa_status(),
           s4j_strerror(s4j_isa_status()));
    expect_refusal(mode);
    return t_finish("dispatch");
  }
  if (!s4j_isa_supported(mode)) {
    expect_refusal(mode);
    printf("  SOFTMAX4J_ISA=%s: this CPU/OS cannot run it; refusal checked\n", mode);
    const int rc = t_finish("dispatch");
    return rc != 0 ? rc : T_SKIP_EXIT;
  }
  printf("  SOFTMAX4J_ISA=%s -> %s\n", mode, s4j_isa());
  expect_variant(mode);
  return t_finish("dispatch");
}
