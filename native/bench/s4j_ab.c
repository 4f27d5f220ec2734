/*
 * s4j_ab.c - one strided call of two builds of the library (A and B), or of
 * one build over a middle dimension against the same work laid out along
 * the last dimension (its "twin"), timed alternately in one process.
 *
 * On a shared machine the memory bandwidth moves by up to 2x from one
 * second to the next, so two benchmark runs, one per build, compare the
 * machine's moods as much as the kernels. Here every call of A is followed
 * by the same call of B on the same buffers, and the ratio of the medians
 * is the figure to read.
 *
 *   s4j_ab [options] LIB_A LIB_B    B's time over A's (below 1: B is faster)
 *   s4j_ab [options] --twin LIB     the dim call's time over its twin's,
 *                                   [outer * inner, dim] along the last dim
 * options: --isa NAME (default avx512), --op
 * log_softmax|softmax|logsumexp|cross_entropy, --pass fwd|bwd, --dtype
 * f32|f64|bf16|f16 (cross_entropy: f32), --shape OUTER,DIM,INNER (default
 * 32,81,8732), --reps N (default 20). cross_entropy takes OUTER positions
 * of DIM classes (times INNER), int64 class-index targets, no weights, the
 * mean's gradient scale; its backward uses the stats of one forward.
 *
 * Each LIB is a path to libsoftmax4j.so; B is loaded into a namespace of
 * its own (dlmopen), so two builds with the same symbols coexist.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "softmax4j.h"

typedef int (*strided_fn)(int op, int dtype, int direction, int64_t outer, int64_t dim,
                          int64_t inner, const void *in, int64_t in_stride, const void *saved,
                          int64_t saved_stride, void *out, int64_t out_stride);
/* s4j_logsumexp_{forward,backward}_<dtype>_<isa>, with void pointers. */
typedef int (*lse_forward_fn)(const void *x, void *out, int64_t outer, int64_t dim, int64_t inner);
typedef int (*lse_backward_fn)(const void *gy, const void *x, void *gx, int64_t outer, int64_t dim,
                               int64_t inner);

typedef int (*xent_forward_fn)(const float *logits, int64_t n, int64_t classes, int64_t inner,
                               const void *target, int target_kind, const float *weight,
                               int64_t ignore_index, float label_smoothing, float *loss,
                               float *stats, double *totals);
typedef int (*xent_backward_fn)(const float *logits, const float *stats, int64_t n,
                                int64_t classes, int64_t inner, const void *target,
                                int target_kind, const float *weight, int64_t ignore_index,
                                float label_smoothing, const float *grad_loss, float grad_scale,
                                float *grad_logits);

/* --op logsumexp and cross_entropy: not S4J_OP_*s. */
#define AB_OP_LOGSUMEXP (-1)
#define AB_OP_CROSS_ENTROPY (-2)

/* One build's entry point for the op timed. */
struct entry {
  strided_fn strided;
  lse_forward_fn lse_forward;
  lse_backward_fn lse_backward;
  xent_forward_fn xent_forward;
  xent_backward_fn xent_backward;
};

struct call {
  int op, dtype, backward;
  int64_t outer, dim, inner;
  void *in, *saved, *out;
  /* cross_entropy: targets, the forward's per-position stats and losses. */
  int64_t *target;
  float *stats, *loss;
};

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

static int by_value(const void *a, const void *b) {
  const double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

/* One call over [outer, dim, inner], or over its twin [outer * inner, dim, 1].
 * LogSumExp's backward reads the forward's input (saved) and the gradient
 * of its [outer, inner] output (the first elements of in). */
static double timed(const struct entry *f, const struct call *c, int twin) {
  const int64_t outer = twin ? c->outer * c->inner : c->outer, inner = twin ? 1 : c->inner;
  const int64_t slab = c->dim * inner;
  const double t0 = now_ns();
  int rc;
  if (c->op == AB_OP_LOGSUMEXP) {
    rc = c->backward ? f->lse_backward(c->in, c->saved, c->out, outer, c->dim, inner)
                     : f->lse_forward(c->in, c->out, outer, c->dim, inner);
  } else if (c->op == AB_OP_CROSS_ENTROPY) {
    double totals[2];
    rc = c->backward ? f->xent_backward(c->saved, c->stats, outer, c->dim, inner, c->target,
                                        S4J_TARGET_INT64, NULL, -100, 0.0f, NULL,
                                        1.0f / (float) (outer * inner), c->out)
                     : f->xent_forward(c->in, outer, c->dim, inner, c->target, S4J_TARGET_INT64,
                                       NULL, -100, 0.0f, c->loss, c->stats, totals);
  } else {
    rc = f->strided(c->op, c->dtype,
                    c->backward ? S4J_DIRECTION_BACKWARD : S4J_DIRECTION_FORWARD, outer, c->dim,
                    inner, c->in, slab, c->backward ? c->saved : NULL, c->backward ? slab : 0,
                    c->out, slab);
  }
  const double t = now_ns() - t0;
  if (rc != S4J_OK) {
    fprintf(stderr, "s4j_ab: the call returned %d\n", rc);
    exit(1);
  }
  return t;
}

static void *symbol(void *h, const char *path, const char *name) {
  void *sym = dlsym(h, name);
  if (sym == NULL) {
    fprintf(stderr, "s4j_ab: %s has no %s\n", path, name);
    exit(2);
  }
  return sym;
}

/* The build's entry for `op`: the strided call, or LogSumExp's pair in `dtype`. */
static struct entry load(const char *path, int own_namespace, const char *isa, int op,
                         const char *dtype) {
  void *h = own_namespace ? dlmopen(LM_ID_NEWLM, path, RTLD_NOW | RTLD_LOCAL)
                          : dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    fprintf(stderr, "s4j_ab: %s\n", dlerror());
    exit(2);
  }
  /* ISO C has no cast from a data pointer to a function pointer: memcpy. */
  struct entry e = {NULL, NULL, NULL, NULL, NULL};
  char name[96];
  void *sym;
  if (op == AB_OP_LOGSUMEXP) {
    snprintf(name, sizeof name, "s4j_logsumexp_forward_%s_%s", dtype, isa);
    sym = symbol(h, path, name);
    memcpy(&e.lse_forward, &sym, sizeof sym);
    snprintf(name, sizeof name, "s4j_logsumexp_backward_%s_%s", dtype, isa);
    sym = symbol(h, path, name);
    memcpy(&e.lse_backward, &sym, sizeof sym);
  } else if (op == AB_OP_CROSS_ENTROPY) {
    snprintf(name, sizeof name, "s4j_cross_entropy_forward_f32_%s", isa);
    sym = symbol(h, path, name);
    memcpy(&e.xent_forward, &sym, sizeof sym);
    snprintf(name, sizeof name, "s4j_cross_entropy_backward_f32_%s", isa);
    sym = symbol(h, path, name);
    memcpy(&e.xent_backward, &sym, sizeof sym);
  } else {
    snprintf(name, sizeof name, "s4j_softmax_strided_%s", isa);
    sym = symbol(h, path, name);
    memcpy(&e.strided, &sym, sizeof sym);
  }
  return e;
}

/* Logits around -log(dim) and gradients in [-0.5, 0.5), as floats, then in
 * the element type (16-bit: the top half of the float, good enough here). */
static void *filled(size_t n, size_t size, int gradient) {
  unsigned char *p = aligned_alloc(4096, (n * size + 4095) / 4096 * 4096);
  if (p == NULL) {
    fprintf(stderr, "s4j_ab: cannot allocate %zu MiB\n", n * size >> 20);
    exit(1);
  }
  for (size_t i = 0; i < n; i++) {
    const float v = gradient ? (float) ((i * 2654435761u) % 1000u) / 1000.0f - 0.5f
                             : -4.0f - (float) ((i * 40503u) % 100u) / 100.0f;
    if (size == sizeof(double)) {
      ((double *) (void *) p)[i] = v;
    } else if (size == sizeof(float)) {
      ((float *) (void *) p)[i] = v;
    } else {
      uint32_t bits;
      memcpy(&bits, &v, sizeof bits);
      ((uint16_t *) (void *) p)[i] = (uint16_t) (bits >> 16);
    }
  }
  return p;
}

static void usage(void) {
  fprintf(stderr,
          "usage: s4j_ab [--isa NAME] [--op log_softmax|softmax|logsumexp|cross_entropy] [--pass fwd|bwd]\n"
          "              [--dtype f32|f64|bf16|f16] [--shape OUTER,DIM,INNER] [--reps N]\n"
          "              (LIB_A LIB_B | --twin LIB)\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *isa = "avx512", *libs[2] = {NULL, NULL};
  struct call c = {S4J_OP_LOG_SOFTMAX, S4J_DTYPE_F32, 0, 32, 81, 8732, NULL, NULL, NULL, NULL, NULL, NULL};
  int reps = 20, twin = 0, nlibs = 0;
  size_t size = sizeof(float);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--twin") == 0) {
      twin = 1;
    } else if (a[0] == '-' && a[1] == '-' && v == NULL) {
      usage();
    } else if (strcmp(a, "--isa") == 0) {
      isa = v, i++;
    } else if (strcmp(a, "--op") == 0) {
      i++;
      if (strcmp(v, "softmax") == 0) c.op = S4J_OP_SOFTMAX;
      else if (strcmp(v, "logsumexp") == 0) c.op = AB_OP_LOGSUMEXP;
      else if (strcmp(v, "cross_entropy") == 0) c.op = AB_OP_CROSS_ENTROPY;
      else if (strcmp(v, "log_softmax") != 0) usage();
    } else if (strcmp(a, "--pass") == 0) {
      c.backward = strcmp(v, "bwd") == 0, i++;
    } else if (strcmp(a, "--dtype") == 0) {
      i++;
      if (strcmp(v, "f64") == 0) c.dtype = S4J_DTYPE_F64, size = sizeof(double);
      else if (strcmp(v, "bf16") == 0) c.dtype = S4J_DTYPE_BF16, size = sizeof(uint16_t);
      else if (strcmp(v, "f16") == 0) c.dtype = S4J_DTYPE_F16, size = sizeof(uint16_t);
      else if (strcmp(v, "f32") != 0) usage();
    } else if (strcmp(a, "--shape") == 0) {
      long long o, d, n;
      if (sscanf(v, "%lld,%lld,%lld", &o, &d, &n) != 3 || o < 1 || d < 1 || n < 1) usage();
      c.outer = o, c.dim = d, c.inner = n, i++;
    } else if (strcmp(a, "--reps") == 0) {
      reps = atoi(v), i++;
      if (reps < 1) usage();
    } else if (a[0] == '-' || nlibs == 2) {
      usage();
    } else {
      libs[nlibs++] = a;
    }
  }
  if (nlibs != (twin ? 1 : 2)) usage();
  const char *dtype = size == 8 ? "f64" : size == 4 ? "f32" : c.dtype == S4J_DTYPE_BF16 ? "bf16" : "f16";
  const struct entry fa = load(libs[0], 0, isa, c.op, dtype);
  const struct entry fb = twin ? fa : load(libs[1], 1, isa, c.op, dtype);

  const size_t n = (size_t) (c.outer * c.dim * c.inner);
  c.in = filled(n, size, c.backward);
  c.saved = filled(n, size, 0);
  c.out = filled(n, size, 0);
  if (c.op == AB_OP_CROSS_ENTROPY) {
    if (c.dtype != S4J_DTYPE_F32) usage();
    const size_t positions = (size_t) (c.outer * c.inner);
    c.target = malloc(positions * sizeof *c.target);
    c.stats = malloc(2 * positions * sizeof *c.stats);
    c.loss = malloc(positions * sizeof *c.loss);
    if (c.target == NULL || c.stats == NULL || c.loss == NULL) return 1;
    for (size_t p = 0; p < positions; p++) c.target[p] = (int64_t) (p % (size_t) c.dim);
    /* The backward's stats: one forward of A over the logits it reads (saved). */
    double totals[2];
    if (fa.xent_forward(c.saved, c.outer, c.dim, c.inner, c.target, S4J_TARGET_INT64, NULL, -100,
                        0.0f, c.loss, c.stats, totals) != S4J_OK) {
      return 1;
    }
  }
  double *ta = malloc((size_t) reps * sizeof *ta), *tb = malloc((size_t) reps * sizeof *tb);
  if (ta == NULL || tb == NULL) return 1;
  /* Two warm-up rounds: first touch of the buffers, then the caches. */
  for (int r = -2; r < reps; r++) {
    const double a = timed(&fa, &c, twin), b = timed(&fb, &c, 0);
    if (r >= 0) ta[r] = a, tb[r] = b;
  }
  qsort(ta, (size_t) reps, sizeof *ta, by_value);
  qsort(tb, (size_t) reps, sizeof *tb, by_value);
  printf("%s %s %s %s [%lld,%lld,%lld]: %s median %.1f us (min %.1f), %s median %.1f us (min %.1f); "
         "%s median %.2f\n",
         isa,
         c.op == S4J_OP_SOFTMAX           ? "softmax"
         : c.op == AB_OP_LOGSUMEXP        ? "logsumexp"
         : c.op == AB_OP_CROSS_ENTROPY    ? "cross_entropy"
                                          : "log_softmax",
         c.backward ? "bwd" : "fwd", dtype,
         (long long) c.outer, (long long) c.dim, (long long) c.inner, twin ? "twin" : "A",
         ta[reps / 2] / 1e3, ta[0] / 1e3, twin ? "dim" : "B", tb[reps / 2] / 1e3, tb[0] / 1e3,
         twin ? "dim/twin" : "B/A", tb[reps / 2] / ta[reps / 2]);
  free(ta);
  free(tb);
  free(c.in);
  free(c.saved);
  free(c.out);
  free(c.target);
  free(c.stats);
  free(c.loss);
  return 0;
}
