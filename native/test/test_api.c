/*
 * test_api.c - the public API's contract, through the shared library only:
 * argument checks and return codes of every compute entry point (dispatched
 * and per variant), s4j_strerror, s4j_isa / s4j_isa_supported /
 * s4j_cpu_features, and that dispatch runs the variant it names.
 * ctest runs it with SOFTMAX4J_ISA=auto.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "softmax4j.h"
#include "test_util.h"

typedef int (*t_fwd_fn)(const float *x, float *y, int64_t rows, int64_t cols);
typedef int (*t_bwd_fn)(const float *gy, const float *y, float *gx, int64_t rows, int64_t cols);

static const struct {
  const char *name;
  t_fwd_fn fwd;
  t_bwd_fn bwd;
} entry_points[] = {
    {"dispatched", s4j_log_softmax_forward_f32, s4j_log_softmax_backward_f32},
    {"scalar", s4j_log_softmax_forward_f32_scalar, s4j_log_softmax_backward_f32_scalar},
    {"avx2", s4j_log_softmax_forward_f32_avx2, s4j_log_softmax_backward_f32_avx2},
    {"avx512", s4j_log_softmax_forward_f32_avx512, s4j_log_softmax_backward_f32_avx512},
};

/* Argument errors are found before any kernel runs, so every entry point can
 * be called here whatever the CPU supports. */
static void test_argument_checks(void) {
  float a[4] = {1, 2, 3, 4}, b[4] = {0}, c[4] = {0};
  const int64_t big = INT64_C(1) << 31;
  const struct {
    int64_t rows, cols;
  } overflow[] = {
      {INT64_MAX, 2}, {2, INT64_MAX}, {big, big}, {big / 2, big}, {1, INT64_MAX / 4 + 1},
      {INT64_MAX, INT64_MAX},
  };

  for (size_t e = 0; e < sizeof entry_points / sizeof entry_points[0]; e++) {
    const char *n = entry_points[e].name;
    const t_fwd_fn fwd = entry_points[e].fwd;
    const t_bwd_fn bwd = entry_points[e].bwd;

    /* NULL while rows * cols > 0 */
    t_check(fwd(NULL, b, 1, 4) == S4J_ERR_NULL_POINTER, "%s forward x=NULL", n);
    t_check(fwd(a, NULL, 1, 4) == S4J_ERR_NULL_POINTER, "%s forward y=NULL", n);
    t_check(bwd(NULL, a, c, 2, 2) == S4J_ERR_NULL_POINTER, "%s backward gy=NULL", n);
    t_check(bwd(a, NULL, c, 2, 2) == S4J_ERR_NULL_POINTER, "%s backward y=NULL", n);
    t_check(bwd(a, b, NULL, 2, 2) == S4J_ERR_NULL_POINTER, "%s backward gx=NULL", n);

    /* negative sizes, even when the other one is 0 */
    t_check(fwd(a, b, -1, 4) == S4J_ERR_NEGATIVE_SIZE, "%s forward rows<0", n);
    t_check(fwd(a, b, 1, -4) == S4J_ERR_NEGATIVE_SIZE, "%s forward cols<0", n);
    t_check(fwd(a, b, 0, -1) == S4J_ERR_NEGATIVE_SIZE, "%s forward rows=0 cols<0", n);
    t_check(fwd(NULL, NULL, INT64_MIN, 0) == S4J_ERR_NEGATIVE_SIZE, "%s forward INT64_MIN", n);
    t_check(bwd(a, b, c, -2, 2) == S4J_ERR_NEGATIVE_SIZE, "%s backward rows<0", n);
    t_check(bwd(a, b, c, 2, -2) == S4J_ERR_NEGATIVE_SIZE, "%s backward cols<0", n);

    /* overflow of rows * cols * 4, with real pointers: nothing may be touched */
    for (size_t k = 0; k < sizeof overflow / sizeof overflow[0]; k++) {
      const int64_t r = overflow[k].rows, cl = overflow[k].cols;
      t_check(fwd(a, b, r, cl) == S4J_ERR_SIZE_OVERFLOW, "%s forward overflow %lld x %lld", n,
              (long long) r, (long long) cl);
      t_check(bwd(a, b, c, r, cl) == S4J_ERR_SIZE_OVERFLOW, "%s backward overflow %lld x %lld", n,
              (long long) r, (long long) cl);
    }

    /* empty matrices are a no-op, even with NULL pointers */
    t_check(fwd(NULL, NULL, 0, 4) == S4J_OK, "%s forward rows=0 NULL", n);
    t_check(fwd(NULL, NULL, 4, 0) == S4J_OK, "%s forward cols=0 NULL", n);
    t_check(fwd(NULL, NULL, 0, 0) == S4J_OK, "%s forward 0x0 NULL", n);
    t_check(fwd(a, b, 0, 4) == S4J_OK && b[0] == 0.0f, "%s forward rows=0 wrote", n);
    t_check(bwd(NULL, NULL, NULL, 0, 3) == S4J_OK, "%s backward rows=0 NULL", n);
    t_check(bwd(NULL, NULL, NULL, 3, 0) == S4J_OK, "%s backward cols=0 NULL", n);
    t_check(bwd(a, b, c, 0, 0) == S4J_OK && c[0] == 0.0f, "%s backward 0x0 wrote", n);
  }
}

static void test_strerror(void) {
  const int codes[] = {S4J_OK, S4J_ERR_NULL_POINTER, S4J_ERR_NEGATIVE_SIZE, S4J_ERR_SIZE_OVERFLOW,
                       S4J_ERR_UNSUPPORTED_ISA, S4J_ERR_TARGET_OUT_OF_RANGE,
                       S4J_ERR_BAD_ARGUMENT};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    const char *s = s4j_strerror(codes[i]);
    t_check(s != NULL && s[0] != '\0', "s4j_strerror(%d) empty", codes[i]);
    for (size_t j = 0; j < i; j++) {
      t_check(strcmp(s, s4j_strerror(codes[j])) != 0, "s4j_strerror(%d) == s4j_strerror(%d)",
              codes[i], codes[j]);
    }
  }
  const int unknown[] = {1, -7, -1000, INT32_MIN, INT32_MAX};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    const char *s = s4j_strerror(unknown[i]);
    t_check(s != NULL && strstr(s, "unknown") != NULL, "s4j_strerror(%d) = %s", unknown[i],
            s ? s : "(null)");
  }
}

static void test_isa_queries(void) {
  const char *isa = s4j_isa();
  const char *features = s4j_cpu_features();
  printf("  s4j_isa() = %s, s4j_cpu_features() = \"%s\"\n", isa ? isa : "(null)",
         features ? features : "(null)");
  t_check(s4j_isa_status() == S4J_OK, "s4j_isa_status() = %d with SOFTMAX4J_ISA=auto",
          s4j_isa_status());
  t_check(isa != NULL && (strcmp(isa, "avx512") == 0 || strcmp(isa, "avx2") == 0 ||
                          strcmp(isa, "scalar") == 0),
          "s4j_isa() = %s", isa ? isa : "(null)");
  t_check(features != NULL, "s4j_cpu_features() is NULL");
  t_check(isa != NULL && s4j_isa_supported(isa), "s4j_isa_supported(s4j_isa()) == 0");

  t_check(s4j_isa_supported("scalar") == 1, "scalar must always be supported");
  t_check(s4j_isa_supported(NULL) == 0, "s4j_isa_supported(NULL)");
  t_check(s4j_isa_supported("") == 0, "s4j_isa_supported(\"\")");
  t_check(s4j_isa_supported("bogus") == 0, "s4j_isa_supported(\"bogus\")");
  t_check(s4j_isa_supported("AVX2") == 0, "names are lower case");
  t_check(s4j_isa_supported("auto") == 0, "auto is not a variant");

  /* The features string and the variants agree. */
  if (features != NULL) {
    char padded[160];
    snprintf(padded, sizeof padded, " %s ", features);
    const int has_avx512 = strstr(padded, " avx512f ") && strstr(padded, " avx512dq ") &&
                           strstr(padded, " avx2 ") && strstr(padded, " fma ");
    const int has_avx2 = strstr(padded, " avx ") && strstr(padded, " avx2 ") &&
                         strstr(padded, " fma ");
    t_check(s4j_isa_supported("avx512") == has_avx512, "avx512 support vs features \"%s\"",
            features);
    t_check(s4j_isa_supported("avx2") == has_avx2, "avx2 support vs features \"%s\"", features);
    /* Auto dispatch picks the best: avx512, else avx2, else scalar. */
    const char *best = has_avx512 ? "avx512" : has_avx2 ? "avx2" : "scalar";
    t_check(isa != NULL && strcmp(isa, best) == 0, "auto chose %s, want %s", isa, best);
  }
}

/* The dispatched functions give the bits of the variant s4j_isa() names. */
static void test_dispatch_matches_variant(void) {
  enum { R = 3, C = 37 };
  float x[R * C], gy[R * C], y1[R * C], y2[R * C], g1[R * C], g2[R * C];
  t_rng rng = {t_seed()};
  for (int i = 0; i < R * C; i++) {
    x[i] = t_rng_uniform(&rng, -20.0f, 20.0f);
    gy[i] = t_rng_uniform(&rng, -1.0f, 1.0f);
  }
  const char *isa = s4j_isa();
  for (size_t e = 1; e < sizeof entry_points / sizeof entry_points[0]; e++) {
    if (strcmp(entry_points[e].name, isa) != 0) continue;
    t_check(s4j_log_softmax_forward_f32(x, y1, R, C) == S4J_OK, "dispatched forward rc");
    t_check(entry_points[e].fwd(x, y2, R, C) == S4J_OK, "%s forward rc", isa);
    t_check(memcmp(y1, y2, sizeof y1) == 0, "dispatched forward differs from %s", isa);
    t_check(s4j_log_softmax_backward_f32(gy, y1, g1, R, C) == S4J_OK, "dispatched backward rc");
    t_check(entry_points[e].bwd(gy, y1, g2, R, C) == S4J_OK, "%s backward rc", isa);
    t_check(memcmp(g1, g2, sizeof g1) == 0, "dispatched backward differs from %s", isa);
  }
}

int main(void) {
  test_argument_checks();
  test_strerror();
  test_isa_queries();
  test_dispatch_matches_variant();
  return t_finish("api");
}
