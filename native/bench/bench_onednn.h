/*
 * bench_onednn.h - oneDNN's log-softmax (softmax_v2, alg softmax_log) as a
 * comparison column. Built only when CMake finds oneDNN (S4J_BENCH_ONEDNN);
 * the library never depends on it.
 */
#ifndef S4J_BENCH_ONEDNN_H
#define S4J_BENCH_ONEDNN_H

#include <stddef.h>

struct bench_onednn; /* one shape's forward and backward primitives */

/* Primitives for [rows, cols] over the given buffers, or NULL (reason on
 * stderr). `threads` is the OpenMP thread count oneDNN may use. */
struct bench_onednn *bench_onednn_create(size_t rows, size_t cols, int threads, float *x,
                                         float *y, float *gy, float *gx);
void bench_onednn_forward(struct bench_onednn *p);  /* y = log_softmax(x) */
void bench_onednn_backward(struct bench_onednn *p); /* gx from gy and y */
void bench_onednn_destroy(struct bench_onednn *p);

/* e.g. "oneDNN 2.6.3 (cpu runtime: OpenMP)" */
const char *bench_onednn_version(void);

#endif /* S4J_BENCH_ONEDNN_H */
