/*
 * test_util.h - the little the C tests share: pass/fail counting with a
 * summary line ("<suite>: N passed, N failed, N skipped"), a seeded RNG so a
 * failure replays (S4J_TEST_SEED overrides the seed), float helpers.
 */
#ifndef S4J_TEST_UTIL_H
#define S4J_TEST_UTIL_H

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "softmax4j.h"

/* Exit code that ctest reports as "skipped" (SKIP_RETURN_CODE). */
#define T_SKIP_EXIT 77
/* Failure messages printed per run; the counts keep going after that. */
#define T_MAX_MESSAGES 40

static int t_passed, t_failed, t_skipped, t_messages;

/* Messages about a failing check go through here, so they stop after a
 * while. */
static inline int t_message_allowed(void) {
  if (t_messages++ < T_MAX_MESSAGES) return 1;
  if (t_messages == T_MAX_MESSAGES + 1) printf("  ... (further failure messages suppressed)\n");
  return 0;
}

/* Count one check: a case passes when it recorded no failure message. */
static inline void t_count(int ok) {
  if (ok) {
    t_passed++;
  } else {
    t_failed++;
  }
}

/* Check a condition; on failure print the message. Returns the condition. */
static inline int t_check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int t_check(int ok, const char *fmt, ...) {
  t_count(ok);
  if (!ok && t_message_allowed()) {
    va_list ap;
    va_start(ap, fmt);
    printf("  FAIL ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
  }
  return ok;
}

static inline void t_skip(const char *what) {
  t_skipped++;
  printf("  SKIP %s\n", what);
}

/*
 * Whether a test binary runs the kernel variant `name`: it was asked for
 * (`only`, from the command line; NULL means every variant) and this CPU
 * can run it. Prints "variant <name>" when it runs, records a skip when the
 * CPU cannot.
 */
static inline int t_run_variant(const char *name, const char *only) {
  if (only != NULL && strcmp(only, name) != 0) return 0;
  if (!s4j_isa_supported(name)) {
    char msg[96];
    snprintf(msg, sizeof msg, "variant %s: this CPU/OS cannot run it", name);
    t_skip(msg);
    return 0;
  }
  printf("variant %s\n", name);
  return 1;
}

/* The summary line the CI reads, and the exit code. */
static inline int t_finish(const char *suite) {
  printf("%s: %d passed, %d failed, %d skipped\n", suite, t_passed, t_failed, t_skipped);
  fflush(stdout);
  return t_failed == 0 ? 0 : 1;
}

/* --- RNG: splitmix64, seeded once per run ----------------------------------- */

typedef struct {
  uint64_t state;
} t_rng;

static inline uint64_t t_seed(void) {
  const char *s = getenv("S4J_TEST_SEED");
  return s != NULL && s[0] != '\0' ? strtoull(s, NULL, 0) : UINT64_C(0x5eed50f7a4c0de);
}

static inline uint64_t t_rng_next(t_rng *r) {
  uint64_t z = (r->state += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* Uniform float in [lo, hi). */
static inline float t_rng_uniform(t_rng *r, float lo, float hi) {
  const double u = (double) (t_rng_next(r) >> 11) * 0x1p-53;
  return (float) ((double) lo + ((double) hi - (double) lo) * u);
}

/* --- floats ------------------------------------------------------------------ */

static inline uint32_t t_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static inline float t_from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* --- buffers with canaries -------------------------------------------------------- */

/* A NaN: a kernel that reads one turns its result NaN; one that writes one
 * changes its bits. */
#define T_CANARY 0x7fa5a5a5u

/* n floats at v, with `pad` canaries on each side (base is the allocation). */
typedef struct {
  float *base;
  float *v;
  size_t n, pad;
} t_floats;

static inline t_floats t_floats_new(size_t n, size_t pad) {
  if (n > ((size_t) 1 << 40) || pad > 4096) exit(2); /* tells the compiler the sizes fit */
  t_floats b;
  b.n = n;
  b.pad = pad;
  b.base = malloc((n + 2 * pad) * sizeof(float));
  if (b.base == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  for (size_t i = 0; i < n + 2 * pad; i++) b.base[i] = t_from_bits(T_CANARY);
  b.v = b.base + pad;
  return b;
}

/* Whether every canary on both sides still holds its bits. */
static inline int t_floats_intact(const t_floats *b) {
  for (size_t i = 0; i < b->pad; i++) {
    if (t_bits(b->base[i]) != T_CANARY || t_bits(b->v[b->n + i]) != T_CANARY) return 0;
  }
  return 1;
}

static inline void t_floats_free(t_floats *b) {
  free(b->base);
  b->base = b->v = NULL;
}

/* |got - want| <= tol * max(1, |want|), with matching NaN and infinities. */
static inline int t_close(float got, double want, double tol) {
  if (isnan(want)) return isnan(got);
  if (isinf(want)) return (double) got == want;
  if (!isfinite(got)) return 0;
  const double scale = fabs(want) > 1.0 ? fabs(want) : 1.0;
  return fabs((double) got - want) <= tol * scale;
}

/* Within `ulps` units in the last place of the float nearest `want`. */
static inline int t_within_ulps(float got, double want, double ulps) {
  if (isnan(want) || isinf(want)) return t_close(got, want, 0.0);
  const float w = (float) want;
  const double ulp = w == 0.0f ? 0x1p-149 : (double) nextafterf(fabsf(w), INFINITY) - (double) fabsf(w);
  return fabs((double) got - want) <= ulps * ulp;
}

/*
 * Buffers right next to each other (as Java allocates small arrays and
 * malloc hands out chunks), where the AVX-512 kernels read and write the
 * last partial vector exactly instead of masked (math/lanes_avx512.h): a
 * forward and a backward of `rows` x `cols` on buffers far apart, then the
 * same calls on buffers 0-3 floats apart in both orders ([x y], [y x];
 * [gy y gx], [gx gy y]), which must give the same bits, leave the inputs
 * as they were and write no float outside the output. The kernels come in
 * as callbacks on `ctx`. Returns whether every case held (each failure is
 * reported through t_check as `what`).
 */
typedef void (*t_rows_fwd_fn)(const void *ctx, size_t rows, size_t cols, const float *x, float *y);
typedef void (*t_rows_bwd_fn)(const void *ctx, size_t rows, size_t cols, const float *gy, const float *y,
                              float *gx);

static inline int t_outside_intact(const float *arena, size_t len, const float *a, const float *b,
                                   const float *c, size_t n) {
  for (size_t i = 0; i < len; i++) {
    const float *e = arena + i;
    const int inside = (e >= a && e < a + n) || (e >= b && e < b + n) || (c != NULL && e >= c && e < c + n);
    if (!inside && t_bits(*e) != T_CANARY) return 0;
  }
  return 1;
}

static inline int t_adjacent_buffers(const char *what, size_t rows, size_t cols, const void *ctx,
                                     t_rows_fwd_fn fwd, t_rows_bwd_fn bwd, t_rng *rng) {
  const size_t n = rows * cols, len = 4 * n + 16;
  float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
  float *gy = malloc(n * sizeof(float)), *gx = malloc(n * sizeof(float));
  float *arena = malloc(len * sizeof(float));
  if (x == NULL || y == NULL || gy == NULL || gx == NULL || arena == NULL) exit(2);
  for (size_t i = 0; i < n; i++) {
    x[i] = t_rng_uniform(rng, -10.0f, 10.0f);
    gy[i] = t_rng_uniform(rng, -1.0f, 1.0f);
  }
  fwd(ctx, rows, cols, x, y);
  bwd(ctx, rows, cols, gy, y, gx);
  int all = 1;
  for (size_t gap = 0; gap < 4; gap++) {
    for (int order = 0; order < 2; order++) {
      float *a = arena + 4, *b = a + n + gap, *c = b + n + gap;
      for (size_t i = 0; i < len; i++) arena[i] = t_from_bits(T_CANARY);
      float *fx = order == 0 ? a : b, *fy = order == 0 ? b : a;
      memcpy(fx, x, n * sizeof(float));
      fwd(ctx, rows, cols, fx, fy);
      int ok = memcmp(fy, y, n * sizeof(float)) == 0 && memcmp(fx, x, n * sizeof(float)) == 0 &&
               t_outside_intact(arena, len, fx, fy, NULL, n);
      all &= t_check(ok, "%s forward %zux%zu, buffers %zu floats apart (order %d): not the far "
                     "result, or wrote outside y", what, rows, cols, gap, order);
      for (size_t i = 0; i < len; i++) arena[i] = t_from_bits(T_CANARY);
      float *bgy = order == 0 ? a : b, *by = order == 0 ? b : c, *bgx = order == 0 ? c : a;
      memcpy(bgy, gy, n * sizeof(float));
      memcpy(by, y, n * sizeof(float));
      bwd(ctx, rows, cols, bgy, by, bgx);
      ok = memcmp(bgx, gx, n * sizeof(float)) == 0 && memcmp(bgy, gy, n * sizeof(float)) == 0 &&
           memcmp(by, y, n * sizeof(float)) == 0 && t_outside_intact(arena, len, bgy, by, bgx, n);
      all &= t_check(ok, "%s backward %zux%zu, buffers %zu floats apart (order %d): not the far "
                     "result, or wrote outside gx", what, rows, cols, gap, order);
    }
  }
  free(x);
  free(y);
  free(gy);
  free(gx);
  free(arena);
  return all;
}

/* t_adjacent_buffers over shapes around the vector widths, one to five
 * rows; prints one line for `what`. */
static inline void t_adjacent_shapes(const char *what, const void *ctx, t_rows_fwd_fn fwd, t_rows_bwd_fn bwd,
                                     t_rng *rng) {
  static const size_t cols[] = {1, 2, 7, 8, 9, 10, 15, 16, 17, 31, 33, 100, 127, 129, 1000};
  static const size_t rows[] = {1, 2, 3, 5};
  int ok = 1;
  for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
      ok &= t_adjacent_buffers(what, rows[r], cols[c], ctx, fwd, bwd, rng);
    }
  }
  printf("  %s: buffers next to each other: %s\n", what, ok ? "ok" : "FAILED");
}

#endif /* S4J_TEST_UTIL_H */
