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
#include "bench_stats.h"

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

#define FAMILY_MAX_JOBS 32

/* The jobs of one case sampled in rounds, one sample of >= sample_ms of each
 * per round (as s4j_bench's passes): the machine's speed moves from one
 * second to the next, and a case is compared with its twin and its copy
 * only in the same rounds. */
struct family_rounds {
  int jobs, samples;
  double t[FAMILY_MAX_JOBS][BENCH_MAX_SAMPLES];
};

static void family_rounds(const struct family_job *jobs, int n, int samples, double sample_ms,
                          struct family_rounds *r) {
  long reps[FAMILY_MAX_JOBS];
  for (int k = 0; k < n; k++) {
    family_call(&jobs[k]); /* warm-up */
    const double t0 = family_now_ns();
    family_call(&jobs[k]);
    const double one = family_now_ns() - t0;
    reps[k] = (long) (sample_ms * 1e6 / (one > 1.0 ? one : 1.0));
    if (reps[k] < 1) reps[k] = 1;
  }
  r->jobs = n;
  r->samples = samples < BENCH_MAX_SAMPLES ? samples : BENCH_MAX_SAMPLES;
  for (int s = 0; s < r->samples; s++) {
    for (int k = 0; k < n; k++) {
      family_call(&jobs[k]); /* untimed, as in s4j_bench's rounds */
      const double t0 = family_now_ns();
      for (long i = 0; i < reps[k]; i++) family_call(&jobs[k]);
      r->t[k][s] = (family_now_ns() - t0) / (double) reps[k];
    }
  }
}

/* One line: job k of the rounds, against its copy and its twin (jobs). */
static void family_line(FILE *csv, const struct family_rounds *r, int k, int copy, int twin,
                        const char *name, const char *pass, const char *variant, double elements,
                        double bytes) {
  const double ns = bench_median(r->t[k], r->samples, NULL);
  const double ratio = bench_median_ratio(r->t[k], r->t[copy], r->samples);
  const double vs_twin = bench_median_ratio(r->t[twin], r->t[k], r->samples);
  printf("%-24s %-4s %-8s %11.3f %9.3f %8.2f %7.2f %7.2f\n", name, pass, variant, ns / 1e3,
         elements / ns, bytes / ns, ratio, vs_twin);
  fflush(stdout);
  if (csv != NULL) {
    fprintf(csv, "1,family,%s,%s,%s,%.1f,%.4f,%.3f,%.4f,%.4f\n", name, pass, variant, ns,
            elements / ns, bytes / ns, ratio, vs_twin);
  }
}

/* Buffers of one element type for the dtype cases, beside the float ones. */
struct family_dtype_buffers {
  void *x, *gy, *y, *gx;
};

#define FAMILY_DTYPES 3
static const int family_dtypes[FAMILY_DTYPES] = {S4J_DTYPE_F64, S4J_DTYPE_BF16, S4J_DTYPE_F16};
static const char *const family_dtype_names[FAMILY_DTYPES] = {"f64", "bf16", "f16"};

static size_t family_dtype_size(int dtype) {
  return dtype == S4J_DTYPE_F64 ? 8 : 2;
}

/* The first n floats of x and gy in dtype: float64 exactly; bfloat16 as the
 * float's upper bits; float16 as values in [1, 2) (logits) and [0.5, 1)
 * (gradients) whose mantissas come from the float's bits, finite and in
 * range, for timing only. */
static void family_convert(int dtype, const float *x, const float *gy, size_t n,
                           const struct family_dtype_buffers *b) {
  for (size_t i = 0; i < n; i++) {
    if (dtype == S4J_DTYPE_F64) {
      ((double *) b->x)[i] = (double) x[i];
      ((double *) b->gy)[i] = (double) gy[i];
      continue;
    }
    uint32_t bx, bg;
    memcpy(&bx, &x[i], 4);
    memcpy(&bg, &gy[i], 4);
    ((uint16_t *) b->x)[i] = (uint16_t) (dtype == S4J_DTYPE_BF16 ? bx >> 16 : 0x3c00u ^ (bx >> 22 & 0x3ffu));
    ((uint16_t *) b->gy)[i] = (uint16_t) (dtype == S4J_DTYPE_BF16 ? bg >> 16 : 0x3800u ^ (bg >> 22 & 0x3ffu));
  }
}

/* Log-softmax and softmax forward and backward, LogSumExp forward and
 * backward: six jobs over rows of `cols` on the buffers given. */
#define FAMILY_ROW_JOBS 6
static void family_row_jobs(struct family_job *jobs, const struct family_variant *fv, int dtype,
                            int64_t rows, int64_t cols, const void *x, const void *gy, void *y,
                            void *gx) {
  for (int k = 0; k < FAMILY_ROW_JOBS; k++) {
    static const enum family_op ops[] = {F_STRIDED_FWD, F_STRIDED_BWD, F_STRIDED_FWD,
                                         F_STRIDED_BWD, F_LSE,         F_LSE_BWD};
    jobs[k] = (struct family_job){ops[k], fv, k < 2 ? S4J_OP_LOG_SOFTMAX : S4J_OP_SOFTMAX, dtype, rows, cols, 1,
                                  x, gy, y, gx, NULL, NULL, 0};
  }
}

/*
 * float64, bfloat16 and float16 log-softmax, softmax and LogSumExp over the
 * rows of one shape, each against float32 on the same elements and a memcpy
 * of its input bytes, all in the same rounds.
 */
static void bench_family_dtypes(const char *only_isa, int samples, double sample_ms, FILE *csv,
                                float *x, float *y, float *gy, float *gx,
                                const struct family_dtype_buffers *db, int64_t rows, int64_t cols) {
  const size_t n = (size_t) (rows * cols);
  for (int d = 0; d < FAMILY_DTYPES; d++) family_convert(family_dtypes[d], x, gy, n, &db[d]);
  static const char *const names[FAMILY_ROW_JOBS] = {"lsm", "lsm", "sm", "sm", "lse", "lse"};
  /* Bytes per element moved, in units of the element size. */
  static const double moved[FAMILY_ROW_JOBS] = {2.0, 3.0, 2.0, 3.0, 1.0, 2.0};
  for (size_t v = 0; v < sizeof family_variants / sizeof family_variants[0]; v++) {
    const struct family_variant *fv = &family_variants[v];
    if (!s4j_isa_supported(fv->name) || (only_isa != NULL && strcmp(only_isa, fv->name) != 0)) {
      continue;
    }
    /* Jobs: float32's six, then per dtype its copy and its six. */
    struct family_job jobs[FAMILY_ROW_JOBS * (FAMILY_DTYPES + 1) + FAMILY_DTYPES];
    family_row_jobs(jobs, fv, S4J_DTYPE_F32, rows, cols, x, gy, y, gx);
    for (int d = 0; d < FAMILY_DTYPES; d++) {
      struct family_job *j = jobs + FAMILY_ROW_JOBS + d * (FAMILY_ROW_JOBS + 1);
      j[0] = (struct family_job){F_COPY, fv, 0, S4J_DTYPE_F32, 0, 0, 0, db[d].x, db[d].gy, db[d].y,
                                 db[d].gx, NULL, NULL, family_dtype_size(family_dtypes[d]) * n};
      family_row_jobs(j + 1, fv, family_dtypes[d], rows, cols, db[d].x, db[d].gy, db[d].y, db[d].gx);
    }
    struct family_rounds r;
    family_rounds(jobs, (int) (sizeof jobs / sizeof jobs[0]), samples, sample_ms, &r);
    for (int d = 0; d < FAMILY_DTYPES; d++) {
      const int copy = FAMILY_ROW_JOBS + d * (FAMILY_ROW_JOBS + 1);
      const double size = (double) family_dtype_size(family_dtypes[d]);
      for (int k = 0; k < FAMILY_ROW_JOBS; k++) {
        char name[48];
        snprintf(name, sizeof name, "%s [%ld,%ld] %s", names[k], (long) rows, (long) cols,
                 family_dtype_names[d]);
        family_line(csv, &r, copy + 1 + k, copy, k, name, k % 2 ? "bwd" : "fwd", fv->name, (double) n,
                    moved[k] * size * (double) n);
      }
    }
  }
}

/* Softmax and log-softmax over dim 1 of one shape, forward and backward,
 * each against its twin ([outer * inner, dim]: the same softmaxes along the
 * last dimension), and a copy of the input bytes. */
static void bench_family_dim(int64_t n, int64_t c, int64_t sp, const struct family_variant *fv,
                             int samples, double sample_ms, FILE *csv, float *x, float *y, float *gy,
                             float *gx) {
  const double elements = (double) (n * c * sp);
  struct family_job jobs[9];
  jobs[0] = (struct family_job){F_COPY, fv, 0, S4J_DTYPE_F32, 0, 0, 0, x, gy, y, gx, NULL, NULL,
                                (size_t) (n * c * sp) * sizeof(float)};
  for (int op = S4J_OP_LOG_SOFTMAX; op <= S4J_OP_SOFTMAX; op++) {
    /* fwd, twin fwd, bwd, twin bwd */
    struct family_job *j = jobs + 1 + 4 * op;
    j[0] = (struct family_job){F_STRIDED_FWD, fv, op, S4J_DTYPE_F32, n, c, sp, x, gy, y, gx, NULL, NULL, 0};
    j[1] = j[0], j[1].outer = n * sp, j[1].inner = 1;
    j[2] = j[0], j[2].op = F_STRIDED_BWD;
    j[3] = j[1], j[3].op = F_STRIDED_BWD;
  }
  struct family_rounds r;
  family_rounds(jobs, 9, samples, sample_ms, &r);
  for (int op = S4J_OP_LOG_SOFTMAX; op <= S4J_OP_SOFTMAX; op++) {
    char name[64];
    snprintf(name, sizeof name, "%s [%ld,%ld,%ld]d1", op == S4J_OP_SOFTMAX ? "sm" : "lsm", (long) n,
             (long) c, (long) sp);
    const int j = 1 + 4 * op;
    family_line(csv, &r, j, 0, j + 1, name, "fwd", fv->name, elements, 8.0 * elements);
    family_line(csv, &r, j + 2, 0, j + 3, name, "bwd", fv->name, elements, 12.0 * elements);
  }
}

/* Rows of a vocabulary: softmax, LogSumExp and cross-entropy against
 * log-softmax on the same logits. */
static void bench_family_vocabulary(const struct family_variant *fv, int samples, double sample_ms,
                                    FILE *csv, float *x, float *y, float *gy, float *gx, float *stats,
                                    const int32_t *target) {
  const int64_t rows = 256, cols = 32000;
  const double elements = (double) (rows * cols);
  struct family_job jobs[1 + FAMILY_ROW_JOBS + 2];
  jobs[0] = (struct family_job){F_COPY, fv, 0, S4J_DTYPE_F32, 0, 0, 0, x, gy, y, gx, NULL, NULL,
                                (size_t) (rows * cols) * sizeof(float)};
  family_row_jobs(jobs + 1, fv, S4J_DTYPE_F32, rows, cols, x, gy, y, gx);
  /* The forward writes the statistics its backward reads, earlier in each round. */
  jobs[7] = (struct family_job){F_XENT_FWD, fv, 0, S4J_DTYPE_F32, rows, cols, 1, x, gy, y, gx, stats, target, 0};
  jobs[8] = jobs[7], jobs[8].op = F_XENT_BWD;
  struct family_rounds r;
  family_rounds(jobs, 9, samples, sample_ms, &r);
  const char *variant = fv->name;
  family_line(csv, &r, 3, 0, 1, "sm [256,32000]", "fwd", variant, elements, 8.0 * elements);
  family_line(csv, &r, 4, 0, 2, "sm [256,32000]", "bwd", variant, elements, 12.0 * elements);
  family_line(csv, &r, 5, 0, 1, "lse [256,32000]", "fwd", variant, elements, 4.0 * elements);
  /* Reads x, writes gx (gy is one value per row). */
  family_line(csv, &r, 6, 0, 2, "lse [256,32000]", "bwd", variant, elements, 8.0 * elements);
  family_line(csv, &r, 7, 0, 1, "xent [256,32000]", "fwd", variant, elements, 4.0 * elements);
  family_line(csv, &r, 8, 0, 2, "xent [256,32000]", "bwd", variant, elements, 8.0 * elements);
}

static void *family_alloc(size_t bytes) {
  void *p = NULL;
  if (posix_memalign(&p, 4096, bytes) != 0) {
    fprintf(stderr, "s4j_bench: cannot allocate the family buffers\n");
    exit(1);
  }
  return p;
}

void bench_family_run(const char *only_isa, int samples, double sample_ms, FILE *csv, int all) {
  const size_t max_n = (size_t) 32 * 81 * 8732;
  float *x = family_alloc(max_n * sizeof(float)), *y = family_alloc(max_n * sizeof(float));
  float *gy = family_alloc(max_n * sizeof(float)), *gx = family_alloc(max_n * sizeof(float));
  float *stats = family_alloc(2 * 65536 * sizeof(float));
  int32_t *target = family_alloc(65536 * sizeof(int32_t));
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
         "logits, or float32 on the same elements; both medians over rounds of the same calls)\n");
  printf("%-24s %-4s %-8s %11s %9s %8s %7s %7s\n", "case", "pass", "impl", "us/call", "elem/ns",
         "GB/s", "ratio", "vs-twin");

  static const int64_t dims[][3] = {{32, 81, 8732}, {64, 1000, 16}};
  for (size_t v = 0; v < sizeof family_variants / sizeof family_variants[0]; v++) {
    const struct family_variant *fv = &family_variants[v];
    if (!all || !s4j_isa_supported(fv->name) || (only_isa != NULL && strcmp(only_isa, fv->name) != 0)) {
      continue;
    }
    for (size_t d = 0; d < 2; d++) {
      bench_family_dim(dims[d][0], dims[d][1], dims[d][2], fv, samples, sample_ms, csv, x, y, gy, gx);
    }
    bench_family_vocabulary(fv, samples, sample_ms, csv, x, y, gy, gx, stats, target);
  }
  /* Out of cache (x16 outputs of 16 MB: streamed), in L2, and short rows. */
  static const int64_t dtype_shapes[][2] = {{2048, 4096}, {256, 32000}, {64, 2048}, {2048, 100}};
  size_t dtype_n = 0;
  for (size_t d = 0; d < sizeof dtype_shapes / sizeof dtype_shapes[0]; d++) {
    const size_t n = (size_t) (dtype_shapes[d][0] * dtype_shapes[d][1]);
    if (n > dtype_n) dtype_n = n;
  }
  struct family_dtype_buffers db[FAMILY_DTYPES];
  for (int d = 0; d < FAMILY_DTYPES; d++) {
    const size_t bytes = dtype_n * family_dtype_size(family_dtypes[d]);
    db[d] = (struct family_dtype_buffers){family_alloc(bytes), family_alloc(bytes), family_alloc(bytes),
                                          family_alloc(bytes)};
    memset(db[d].y, 0, bytes);
    memset(db[d].gx, 0, bytes);
  }
  for (size_t d = 0; d < sizeof dtype_shapes / sizeof dtype_shapes[0]; d++) {
    bench_family_dtypes(only_isa, samples, sample_ms, csv, x, y, gy, gx, db, dtype_shapes[d][0],
                        dtype_shapes[d][1]);
  }
  for (int d = 0; d < FAMILY_DTYPES; d++) {
    free(db[d].x);
    free(db[d].gy);
    free(db[d].y);
    free(db[d].gx);
  }
  free(x);
  free(y);
  free(gy);
  free(gx);
  free(stats);
  free(target);
}
