/*
 * bench_onednn.c - oneDNN 2.x C API: softmax_v2 forward (inference) and
 * backward with alg softmax_log over the last axis of a plain [rows, cols]
 * f32 tensor, on the benchmark's own buffers (no copies, no reorders).
 */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include "bench_onednn.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include <dnnl.h>

struct bench_onednn {
  dnnl_engine_t engine;
  dnnl_stream_t stream;
  dnnl_primitive_desc_t fwd_pd, bwd_pd;
  dnnl_primitive_t fwd, bwd;
  dnnl_memory_t x, y, gy, gx;
};

#define CHECK(call)                                                           \
  do {                                                                        \
    const dnnl_status_t st_ = (call);                                         \
    if (st_ != dnnl_success) {                                                \
      fprintf(stderr, "oneDNN: %s failed (status %d)\n", #call, (int) st_);   \
      bench_onednn_destroy(p);                                                \
      return NULL;                                                            \
    }                                                                         \
  } while (0)

/* oneDNN here runs on OpenMP; its thread count is the OpenMP runtime's,
 * found in the process when libdnnl pulled it in. */
static void set_omp_threads(int threads) {
  void (*set)(int);
  *(void **) (&set) = dlsym(RTLD_DEFAULT, "omp_set_num_threads");
  if (set != NULL) set(threads);
}

struct bench_onednn *bench_onednn_create(size_t rows, size_t cols, int threads, float *x,
                                         float *y, float *gy, float *gx) {
  struct bench_onednn *p = calloc(1, sizeof *p);
  if (p == NULL) return NULL;
  set_omp_threads(threads);

  const dnnl_dims_t dims = {(dnnl_dim_t) rows, (dnnl_dim_t) cols};
  dnnl_memory_desc_t md;
  CHECK(dnnl_memory_desc_init_by_tag(&md, 2, dims, dnnl_f32, dnnl_ab));
  CHECK(dnnl_engine_create(&p->engine, dnnl_cpu, 0));
  CHECK(dnnl_stream_create(&p->stream, p->engine, dnnl_stream_default_flags));

  dnnl_softmax_v2_desc_t fd, bd;
  CHECK(dnnl_softmax_v2_forward_desc_init(&fd, dnnl_forward_training, dnnl_softmax_log, &md,
                                          &md, 1));
  CHECK(dnnl_primitive_desc_create(&p->fwd_pd, &fd, NULL, p->engine, NULL));
  CHECK(dnnl_primitive_create(&p->fwd, p->fwd_pd));
  CHECK(dnnl_softmax_v2_backward_desc_init(&bd, dnnl_softmax_log, &md, &md, &md, 1));
  CHECK(dnnl_primitive_desc_create(&p->bwd_pd, &bd, NULL, p->engine, p->fwd_pd));
  CHECK(dnnl_primitive_create(&p->bwd, p->bwd_pd));

  CHECK(dnnl_memory_create(&p->x, &md, p->engine, x));
  CHECK(dnnl_memory_create(&p->y, &md, p->engine, y));
  CHECK(dnnl_memory_create(&p->gy, &md, p->engine, gy));
  CHECK(dnnl_memory_create(&p->gx, &md, p->engine, gx));
  return p;
}

void bench_onednn_forward(struct bench_onednn *p) {
  const dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, p->x}, {DNNL_ARG_DST, p->y}};
  dnnl_primitive_execute(p->fwd, p->stream, 2, args);
  dnnl_stream_wait(p->stream);
}

void bench_onednn_backward(struct bench_onednn *p) {
  const dnnl_exec_arg_t args[] = {
      {DNNL_ARG_DST, p->y}, {DNNL_ARG_DIFF_DST, p->gy}, {DNNL_ARG_DIFF_SRC, p->gx}};
  dnnl_primitive_execute(p->bwd, p->stream, 3, args);
  dnnl_stream_wait(p->stream);
}

void bench_onednn_destroy(struct bench_onednn *p) {
  if (p == NULL) return;
  if (p->x) dnnl_memory_destroy(p->x);
  if (p->y) dnnl_memory_destroy(p->y);
  if (p->gy) dnnl_memory_destroy(p->gy);
  if (p->gx) dnnl_memory_destroy(p->gx);
  if (p->fwd) dnnl_primitive_destroy(p->fwd);
  if (p->bwd) dnnl_primitive_destroy(p->bwd);
  if (p->fwd_pd) dnnl_primitive_desc_destroy(p->fwd_pd);
  if (p->bwd_pd) dnnl_primitive_desc_destroy(p->bwd_pd);
  if (p->stream) dnnl_stream_destroy(p->stream);
  if (p->engine) dnnl_engine_destroy(p->engine);
  free(p);
}

const char *bench_onednn_version(void) {
  static char text[64];
  const dnnl_version_t *v = dnnl_version();
  snprintf(text, sizeof text, "oneDNN %d.%d.%d (cpu runtime %s)", v->major, v->minor, v->patch,
           v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other");
  return text;
}
