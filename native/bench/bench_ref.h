/*
 * bench_ref.h - the bandwidth references the kernels are measured against:
 * a copy (what the forward's 8 bytes/element must at least cost) and a
 * read-2-write-1 pass c = a + b (the backward's 12 bytes/element), each in
 * the fastest form this CPU has, timed on the same buffers as the kernels.
 */
#ifndef S4J_BENCH_REF_H
#define S4J_BENCH_REF_H

#include <stddef.h>

/* Store flavours: ordinary stores (the output stays in cache) or
 * non-temporal ones (the output bypasses the caches; no read for ownership). */
enum bench_store { BENCH_STORE_CACHED, BENCH_STORE_STREAM };

/* dst[0..n) = src[0..n): memcpy for BENCH_STORE_CACHED (glibc picks its own
 * strategy, including non-temporal stores for large copies), a vector loop
 * with non-temporal stores for BENCH_STORE_STREAM. */
void bench_copy(enum bench_store store, size_t n, const float *src, float *dst);

/* c[i] = a[i] + b[i] for i < n. */
void bench_r2w1(enum bench_store store, size_t n, const float *a, const float *b, float *c);

/* The widest vector unit the reference loops use here: "avx512", "avx2" or "scalar". */
const char *bench_ref_isa(void);

#endif /* S4J_BENCH_REF_H */
