/*
 * bench_family.c - the `family` group of s4j_bench (see bench_family.h).
 *
 * Cases, each timed per variant through its exported per-variant function:
 *   softmax and log-softmax over dim 1 of [32, 81, 8732] and [64, 1000, 16],
 *     forward and backward, against the twin: the same softmaxes laid out
 *     along the last dimension, [n * s, c] (the same work without a stride);
 *   softmax over the rows of [256, 32000], against log-softmax;
 *   LogSumExp over the rows of [256, 32000], against log-softmax forward;
 *   cross-entropy (int32 targets, mean) on [256, 32000], against
 *     log-softmax forward and backward on the same logits;
 *   float64, bfloat16 and float16 log-softmax and softmax over the rows of
 *     [2048, 4096] and [256, 32000] (out of cache), [64, 2048] (in L2) and
 *     [2048, 100] (short rows, in L2), against float32 on the same elements.
 * Every figure also shows GB/s and its ratio to a memcpy of the same input
 * bytes, measured in the same run on the same buffers.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, posix_memalign */

#include "bench_family.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/registry.h"
#include "softmax4j.h"

typedef int (*strided_fn)(int op, int dtype, int direction, int64_t outer, int64_t dim,
                          int64_t inner, const void *in, int64_t in_stride, const void *saved,
                          int64_t saved_stride, void *out, int64_t out_stride);
typedef int (*lse_fn)(const float *x, float *out, int64_t outer, int64_t dim, int64_t inner);
typedef int (*lse_bwd_fn)(const float *gy, const float *x, float *gx, int64_t outer, int64_t dim,
                          int64_t inner);
typedef int (*lse_f64_fn)(const double *x, double *out, int64_t outer, int64_t dim, int64_t inner);
typedef int (*lse_bwd_f64_fn)(const double *gy, const double *x, double *gx, int64_t outer,
                              int64_t dim, int64_t inner);
typedef int (*lse_x16_fn)(const uint16_t *x, uint16_t *out, int64_t outer, int64_t dim,
                          int64_t inner);
typedef int (*lse_bwd_x16_fn)(const uint16_t *gy, const uint16_t *x, uint16_t *gx, int64_t outer,
                              int64_t dim, int64_t inner);
typedef int (*xent_fwd_fn)(const float *logits, int64_t n, int64_t classes, int64_t inner,
                           const void *target, int target_kind, const float *weight,
                           int64_t ignore_index, float label_smoothing, float *loss,
                           float *stats, double *totals);
typedef int (*xent_bwd_fn)(const float *logits, const float *stats, int64_t n, int64_t classes,
                           int64_t inner, const void *target, int target_kind,
                           const float *weight, int64_t ignore_index, float label_smoothing,
                           const float *grad_loss, float grad_scale, float *grad_logits);

struct family_variant {
  const char *name;
  strided_fn strided;
  lse_fn lse;
  lse_bwd_fn lse_bwd;
  lse_f64_fn lse_f64;
  lse_bwd_f64_fn lse_bwd_f64;
  lse_x16_fn lse_bf16, lse_f16;
  lse_bwd_x16_fn lse_bwd_bf16, lse_bwd_f16;
  xent_fwd_fn xent_fwd;
  xent_bwd_fn xent_bwd;
};

#define FAMILY_VARIANT(name, required, fwd, bwd, vexp)                                  \
  {#name, s4j_softmax_strided_##name, s4j_logsumexp_forward_f32_##name,                 \
   s4j_logsumexp_backward_f32_##name, s4j_logsumexp_forward_f64_##name,                 \
   s4j_logsumexp_backward_f64_##name, s4j_logsumexp_forward_bf16_##name,                \
   s4j_logsumexp_forward_f16_##name, s4j_logsumexp_backward_bf16_##name,                \
   s4j_logsumexp_backward_f16_##name, s4j_cross_entropy_forward_f32_##name,             \
   s4j_cross_entropy_backward_f32_##name},
static const struct family_variant family_variants[] = {S4J_VARIANTS(FAMILY_VARIANT)};
#undef FAMILY_VARIANT

/* What one timed call does. */
enum family_op {
  F_COPY, F_STRIDED_FWD, F_STRIDED_BWD, F_LSE, F_LSE_BWD, F_XENT_FWD, F_XENT_BWD
};

struct family_job {
  enum family_op op;
  const struct family_variant *v;
  int softmax_op;
  int dtype; /* S4J_DTYPE_*, for the strided ops and LogSumExp */
  int64_t outer, dim, inner;
  const float *x, *gy;
  float *y, *gx, *stats;
  const int32_t *target;
  size_t bytes; /* for F_COPY */
};

static double family_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

static void family_call(const struct family_job *j) {
  const int64_t slab = j->dim * j->inner;
  double totals[2];
  switch (j->op) {
    case F_COPY:
      memcpy(j->y, j->x, j->bytes);
      break;
    case F_STRIDED_FWD:
      j->v->strided(j->softmax_op, j->dtype, S4J_DIRECTION_FORWARD, j->outer, j->dim,
                    j->inner, j->x, slab, NULL, 0, j->y, slab);
      break;
    case F_STRIDED_BWD:
      j->v->strided(j->softmax_op, j->dtype, S4J_DIRECTION_BACKWARD, j->outer, j->dim,
                    j->inner, j->gy, slab, j->y, slab, j->gx, slab);
      break;
    case F_LSE:
      /* The buffers are float arrays holding elements of j->dtype. */
      switch (j->dtype) {
        case S4J_DTYPE_F64:
          j->v->lse_f64((const double *) (const void *) j->x, (double *) (void *) j->y, j->outer,
                        j->dim, j->inner);
          break;
        case S4J_DTYPE_BF16:
        case S4J_DTYPE_F16:
          (j->dtype == S4J_DTYPE_BF16 ? j->v->lse_bf16 : j->v->lse_f16)(
              (const uint16_t *) (const void *) j->x, (uint16_t *) (void *) j->y, j->outer, j->dim,
              j->inner);
          break;
        default:
          j->v->lse(j->x, j->y, j->outer, j->dim, j->inner);
          break;
      }
      break;
    case F_LSE_BWD:
      /* gy has outer * inner elements, x is the input, gx the gradient. */
      switch (j->dtype) {
        case S4J_DTYPE_F64:
          j->v->lse_bwd_f64((const double *) (const void *) j->gy, (const double *) (const void *) j->x,
                            (double *) (void *) j->gx, j->outer, j->dim, j->inner);
          break;
        case S4J_DTYPE_BF16:
        case S4J_DTYPE_F16:
          (j->dtype == S4J_DTYPE_BF16 ? j->v->lse_bwd_bf16 : j->v->lse_bwd_f16)(
              (const uint16_t *) (const void *) j->gy, (const uint16_t *) (const void *) j->x,
              (uint16_t *) (void *) j->gx, j->outer, j->dim, j->inner);
          break;
        default:
          j->v->lse_bwd(j->gy, j->x, j->gx, j->outer, j->dim, j->inner);
          break;
      }
      break;
    case F_XENT_FWD:
      j->v->xent_fwd(j->x, j->outer, j->dim, 1, j->target, S4J_TARGET_INT32, NULL, -100, 0.0f,
                     NULL, j->stats, totals);
      break;
    case F_XENT_BWD:
      j->v->xent_bwd(j->x, j->stats, j->outer, j->dim, 1, j->target, S4J_TARGET_INT32, NULL,
                     -100, 0.0f, NULL, 1.0f / (float) j->outer, j->gx);
      break;
  }
}

static int family_cmp(const void *a, const void *b) {
  const double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* Median time per call over `samples` samples of >= sample_ms each. */
static double family_time(const struct family_job *j, int samples, double sample_ms) {
  family_call(j);
  double t0 = family_now_ns();
  family_call(j);
  const double one = family_now_ns() - t0;
  long reps = (long) (sample_ms * 1e6 / (one > 1.0 ? one : 1.0));
  if (reps < 1) reps = 1;
  double t[64];
  const int n = samples < 64 ? samples : 64;
  for (int s = 0; s < n; s++) {
    t0 = family_now_ns();
    for (long r = 0; r < reps; r++) family_call(j);
    t[s] = (family_now_ns() - t0) / (double) reps;
  }
  qsort(t, (size_t) n, sizeof t[0], family_cmp);
  return t[n / 2];
}

static void family_line(FILE *csv, const char *name, const char *pass, const char *variant,
                        double elements, double bytes, double ns, double copy_ns,
                        double twin_ns) {
  printf("%-24s %-4s %-8s %11.3f %9.3f %8.2f %7.2f %7.2f\n", name, pass, variant, ns / 1e3,
         elements / ns, bytes / ns, ns / copy_ns, twin_ns / ns);
  fflush(stdout);
  if (csv != NULL) {
    fprintf(csv, "1,family,%s,%s,%s,%.1f,%.4f,%.3f,%.4f,%.4f\n", name, pass, variant, ns,
            elements / ns, bytes / ns, ns / copy_ns, twin_ns / ns);
  }
}

/*
 * float64, bfloat16 and float16 log-softmax and softmax over the rows of
 * one shape, each against float32 on the same elements (timed first, on
 * the float buffers), then the inputs rewritten in place in the dtype:
 * float64 exactly, from the last element down (it is wider); bfloat16 as
 * the float's upper bits; float16 as values in [1, 2) (logits) and [0.5, 1)
 * (gradients) whose mantissas come from the float's bits, finite and in
 * range, for timing only. Each row also shows its ratio to a memcpy of the
 * same input bytes.
 */
static void bench_family_dtypes(const char *only_isa, int samples, double sample_ms, FILE *csv,
                                float *x, float *y, float *gy, float *gx, int64_t rows, int64_t cols) {
  const size_t n = (size_t) (rows * cols);
  static const int dtypes[] = {S4J_DTYPE_F64, S4J_DTYPE_BF16, S4J_DTYPE_F16};
  static const char *const names[] = {"f64", "bf16", "f16"};
  for (size_t v = 0; v < sizeof family_variants / sizeof family_variants[0]; v++) {
    const struct family_variant *fv = &family_variants[v];
    if (!s4j_isa_supported(fv->name) || (only_isa != NULL && strcmp(only_isa, fv->name) != 0)) {
      continue;
    }
    double twin[2][2], lse_twin[2];
    for (int op = S4J_OP_LOG_SOFTMAX; op <= S4J_OP_SOFTMAX; op++) {
      struct family_job f32 = {F_STRIDED_FWD, fv, op, S4J_DTYPE_F32, rows, cols, 1, x, gy, y, gx, NULL, NULL, 0};
      twin[op][0] = family_time(&f32, samples, sample_ms);
      f32.op = F_STRIDED_BWD;
      twin[op][1] = family_time(&f32, samples, sample_ms);
    }
    struct family_job lse32 = {F_LSE, fv, 0, S4J_DTYPE_F32, rows, cols, 1, x, gy, y, gx, NULL, NULL, 0};
    lse_twin[0] = family_time(&lse32, samples, sample_ms);
    lse32.op = F_LSE_BWD;
    lse_twin[1] = family_time(&lse32, samples, sample_ms);
    for (size_t d = 0; d < 3; d++) {
      /* Inputs in dtype, in the first bytes of the float buffers. */
      float *xs = malloc(n * sizeof(float)), *gs = malloc(n * sizeof(float));
      if (xs == NULL || gs == NULL) exit(1);
      memcpy(xs, x, n * sizeof(float));
      memcpy(gs, gy, n * sizeof(float));
      if (dtypes[d] == S4J_DTYPE_F64) {
        for (size_t i = n; i-- > 0;) ((double *) (void *) x)[i] = (double) xs[i];
        for (size_t i = n; i-- > 0;) ((double *) (void *) gy)[i] = (double) gs[i];
      } else {
        for (size_t i = 0; i < n; i++) {
          uint32_t bx, bg;
          memcpy(&bx, &xs[i], 4);
          memcpy(&bg, &gs[i], 4);
          ((uint16_t *) (void *) x)[i] = (uint16_t) (dtypes[d] == S4J_DTYPE_BF16 ? bx >> 16 : 0x3c00u ^ (bx >> 22 & 0x3ffu));
          ((uint16_t *) (void *) gy)[i] = (uint16_t) (dtypes[d] == S4J_DTYPE_BF16 ? bg >> 16 : 0x3800u ^ (bg >> 22 & 0x3ffu));
        }
      }
      for (int op = S4J_OP_LOG_SOFTMAX; op <= S4J_OP_SOFTMAX; op++) {
        char name[48];
        snprintf(name, sizeof name, "%s [%ld,%ld] %s", op == S4J_OP_SOFTMAX ? "sm" : "lsm", (long) rows,
                 (long) cols, names[d]);
        struct family_job job = {F_STRIDED_FWD, fv, op, dtypes[d], rows, cols, 1, x, gy, y, gx, NULL, NULL, 0};
        const double bytes = dtypes[d] == S4J_DTYPE_F64 ? 8.0 : 2.0;
        struct family_job copy = {F_COPY, fv, 0, S4J_DTYPE_F32, 0, 0, 0, x, gy, y, gx, NULL, NULL,
                                  (size_t) (bytes * (double) n)};
        const double copy_ns = family_time(&copy, samples, sample_ms);
        const double f = family_time(&job, samples, sample_ms);
        family_line(csv, name, "fwd", fv->name, (double) n, 2.0 * bytes * (double) n, f, copy_ns,
                    twin[op][0]);
        job.op = F_STRIDED_BWD;
        const double b = family_time(&job, samples, sample_ms);
        family_line(csv, name, "bwd", fv->name, (double) n, 3.0 * bytes * (double) n, b, copy_ns,
                    twin[op][1]);
      }
      /* LogSumExp: the forward reads x and writes one value per row; the
       * backward reads x and writes gx (gy is one value per row). */
      {
        char name[48];
        snprintf(name, sizeof name, "lse [%ld,%ld] %s", (long) rows, (long) cols, names[d]);
        const double bytes = dtypes[d] == S4J_DTYPE_F64 ? 8.0 : 2.0;
        struct family_job copy = {F_COPY, fv, 0, S4J_DTYPE_F32, 0, 0, 0, x, gy, y, gx, NULL, NULL,
                                  (size_t) (bytes * (double) n)};
        const double copy_ns = family_time(&copy, samples, sample_ms);
        struct family_job job = {F_LSE, fv, 0, dtypes[d], rows, cols, 1, x, gy, y, gx, NULL, NULL, 0};
        family_line(csv, name, "fwd", fv->name, (double) n, bytes * (double) n,
                    family_time(&job, samples, sample_ms), copy_ns, lse_twin[0]);
        job.op = F_LSE_BWD;
        family_line(csv, name, "bwd", fv->name, (double) n, 2.0 * bytes * (double) n,
                    family_time(&job, samples, sample_ms), copy_ns, lse_twin[1]);
      }
      memcpy(x, xs, n * sizeof(float));
      memcpy(gy, gs, n * sizeof(float));
      free(xs);
      free(gs);
    }
  }
}

void bench_family_run(const char *only_isa, int samples, double sample_ms, FILE *csv, int all) {
  const size_t max_n = (size_t) 32 * 81 * 8732;
  float *x = NULL, *y = NULL, *gy = NULL, *gx = NULL, *stats = NULL;
  int32_t *target = NULL;
  if (posix_memalign((void **) &x, 4096, max_n * sizeof(float)) != 0 ||
      posix_memalign((void **) &y, 4096, max_n * sizeof(float)) != 0 ||
      posix_memalign((void **) &gy, 4096, max_n * sizeof(float)) != 0 ||
      posix_memalign((void **) &gx, 4096, max_n * sizeof(float)) != 0 ||
      (stats = malloc(2 * 65536 * sizeof(float))) == NULL ||
      (target = malloc(65536 * sizeof(int32_t))) == NULL) {
    fprintf(stderr, "s4j_bench: cannot allocate the family buffers\n");
    exit(1);
  }
  uint64_t s = 3;
  for (size_t i = 0; i < max_n; i++) {
    s = s * 6364136223846793005u + 1442695040888963407u;
    x[i] = -10.0f + 20.0f * (float) (s >> 40) * 0x1p-24f;
    gy[i] = -1.0f + 2.0f * (float) ((s >> 16) & 0xffffff) * 0x1p-24f;
  }
  memset(y, 0, max_n * sizeof(float));
  memset(gx, 0, max_n * sizeof(float));
  for (int i = 0; i < 65536; i++) target[i] = (int32_t) ((uint32_t) i * 2654435761u % 32000u);

  printf("\nfamily (one thread): ratio = time / memcpy of the input bytes; vs-twin = twin time / "
         "time\n(the twin: the same softmaxes along the last dimension, log-softmax on the same "
         "logits, or float32 on the same elements)\n");
  printf("%-24s %-4s %-8s %11s %9s %8s %7s %7s\n", "case", "pass", "impl", "us/call", "elem/ns",
         "GB/s", "ratio", "vs-twin");

  static const int64_t dims[][3] = {{32, 81, 8732}, {64, 1000, 16}};
  for (size_t v = 0; v < sizeof family_variants / sizeof family_variants[0]; v++) {
    const struct family_variant *fv = &family_variants[v];
    if (!all || !s4j_isa_supported(fv->name) || (only_isa != NULL && strcmp(only_isa, fv->name) != 0)) {
      continue;
    }
    for (size_t d = 0; d < 2; d++) {
      const int64_t n = dims[d][0], c = dims[d][1], sp = dims[d][2];
      const double elements = (double) (n * c * sp);
      struct family_job copy = {F_COPY, fv, 0, S4J_DTYPE_F32, 0, 0, 0, x, gy, y, gx, stats, target,
                                (size_t) (n * c * sp) * sizeof(float)};
      const double copy_ns = family_time(&copy, samples, sample_ms);
      for (int op = S4J_OP_LOG_SOFTMAX; op <= S4J_OP_SOFTMAX; op++) {
        char name[64];
        snprintf(name, sizeof name, "%s [%ld,%ld,%ld]d1", op == S4J_OP_SOFTMAX ? "sm" : "lsm",
                 (long) n, (long) c, (long) sp);
        struct family_job fwd = {F_STRIDED_FWD, fv, op, S4J_DTYPE_F32, n, c, sp, x, gy, y, gx, stats, target, 0};
        struct family_job twin = fwd;
        twin.outer = n * sp;
        twin.inner = 1;
        const double f = family_time(&fwd, samples, sample_ms);
        const double tf = family_time(&twin, samples, sample_ms);
        family_line(csv, name, "fwd", fv->name, elements, 8.0 * elements, f, copy_ns, tf);
        struct family_job bwd = fwd;
        bwd.op = F_STRIDED_BWD;
        struct family_job twin_bwd = twin;
        twin_bwd.op = F_STRIDED_BWD;
        const double b = family_time(&bwd, samples, sample_ms);
        const double tb = family_time(&twin_bwd, samples, sample_ms);
        family_line(csv, name, "bwd", fv->name, elements, 12.0 * elements, b, copy_ns, tb);
      }
    }

    /* Rows of a vocabulary: softmax, LogSumExp and cross-entropy against log-softmax. */
    const int64_t rows = 256, cols = 32000;
    const double elements = (double) (rows * cols);
    struct family_job copy = {F_COPY, fv, 0, S4J_DTYPE_F32, 0, 0, 0, x, gy, y, gx, stats, target,
                              (size_t) (rows * cols) * sizeof(float)};
    const double copy_ns = family_time(&copy, samples, sample_ms);
    struct family_job lsm = {F_STRIDED_FWD, fv, S4J_OP_LOG_SOFTMAX, S4J_DTYPE_F32, rows, cols, 1, x, gy, y, gx,
                             stats, target, 0};
    const double lsm_f = family_time(&lsm, samples, sample_ms);
    lsm.op = F_STRIDED_BWD;
    const double lsm_b = family_time(&lsm, samples, sample_ms);
    struct family_job sm = {F_STRIDED_FWD, fv, S4J_OP_SOFTMAX, S4J_DTYPE_F32, rows, cols, 1, x, gy, y, gx,
                            stats, target, 0};
    family_line(csv, "sm [256,32000]", "fwd", fv->name, elements, 8.0 * elements,
                family_time(&sm, samples, sample_ms), copy_ns, lsm_f);
    sm.op = F_STRIDED_BWD;
    family_line(csv, "sm [256,32000]", "bwd", fv->name, elements, 12.0 * elements,
                family_time(&sm, samples, sample_ms), copy_ns, lsm_b);
    struct family_job lse = {F_LSE, fv, 0, S4J_DTYPE_F32, rows, cols, 1, x, gy, y, gx, stats, target, 0};
    family_line(csv, "lse [256,32000]", "fwd", fv->name, elements, 4.0 * elements,
                family_time(&lse, samples, sample_ms), copy_ns, lsm_f);
    /* Reads x, writes gx (gy is one value per row). */
    lse.op = F_LSE_BWD;
    family_line(csv, "lse [256,32000]", "bwd", fv->name, elements, 8.0 * elements,
                family_time(&lse, samples, sample_ms), copy_ns, lsm_b);
    struct family_job xent = {F_XENT_FWD, fv, 0, S4J_DTYPE_F32, rows, cols, 1, x, gy, y, gx, stats, target, 0};
    family_line(csv, "xent [256,32000]", "fwd", fv->name, elements, 4.0 * elements,
                family_time(&xent, samples, sample_ms), copy_ns, lsm_f);
    xent.op = F_XENT_BWD;
    family_line(csv, "xent [256,32000]", "bwd", fv->name, elements, 8.0 * elements,
                family_time(&xent, samples, sample_ms), copy_ns, lsm_b);
  }
  /* Out of cache (x16 outputs of 16 MB: streamed), in L2, and short rows. */
  static const int64_t dtype_shapes[][2] = {{2048, 4096}, {256, 32000}, {64, 2048}, {2048, 100}};
  for (size_t d = 0; d < sizeof dtype_shapes / sizeof dtype_shapes[0]; d++) {
    bench_family_dtypes(only_isa, samples, sample_ms, csv, x, y, gy, gx, dtype_shapes[d][0],
                        dtype_shapes[d][1]);
  }
  free(x);
  free(y);
  free(gy);
  free(gx);
  free(stats);
  free(target);
}
