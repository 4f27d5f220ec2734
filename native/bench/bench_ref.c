/*
 * bench_ref.c - copy and read-2-write-1 reference passes. The vector loops
 * are compiled per ISA with target attributes and chosen at run time, so the
 * benchmark still runs (with scalar references) on any x86-64 CPU.
 */
#include "bench_ref.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#  include <immintrin.h>
#  define BENCH_X86 1
#else
#  define BENCH_X86 0
#endif

#if BENCH_X86
/* Non-temporal stores need 64-byte aligned addresses: ordinary stores up to
 * the first aligned element, streaming stores after, ordinary for the rest. */
static size_t head_to_align(const float *p, size_t n) {
  const size_t mis = (size_t) ((uintptr_t) p & 63u) / sizeof(float);
  const size_t head = mis == 0 ? 0 : 16 - mis;
  return head < n ? head : n;
}

__attribute__((target("avx512f"))) static void copy_stream_avx512(size_t n, const float *s,
                                                                   float *d) {
  size_t i = head_to_align(d, n);
  memcpy(d, s, i * sizeof(float));
  for (; i + 64 <= n; i += 64) {
    const __m512 v0 = _mm512_loadu_ps(s + i), v1 = _mm512_loadu_ps(s + i + 16);
    const __m512 v2 = _mm512_loadu_ps(s + i + 32), v3 = _mm512_loadu_ps(s + i + 48);
    _mm512_stream_ps(d + i, v0);
    _mm512_stream_ps(d + i + 16, v1);
    _mm512_stream_ps(d + i + 32, v2);
    _mm512_stream_ps(d + i + 48, v3);
  }
  memcpy(d + i, s + i, (n - i) * sizeof(float));
  _mm_sfence();
}

__attribute__((target("avx512f"))) static void r2w1_avx512(enum bench_store store, size_t n,
                                                            const float *a, const float *b,
                                                            float *c) {
  size_t i = 0;
  if (store == BENCH_STORE_STREAM) {
    const size_t head = head_to_align(c, n);
    for (; i < head; i++) c[i] = a[i] + b[i];
    for (; i + 64 <= n; i += 64) {
      for (size_t j = 0; j < 64; j += 16) {
        _mm512_stream_ps(c + i + j, _mm512_add_ps(_mm512_loadu_ps(a + i + j),
                                                  _mm512_loadu_ps(b + i + j)));
      }
    }
    _mm_sfence();
  } else {
    for (; i + 64 <= n; i += 64) {
      for (size_t j = 0; j < 64; j += 16) {
        _mm512_storeu_ps(c + i + j, _mm512_add_ps(_mm512_loadu_ps(a + i + j),
                                                  _mm512_loadu_ps(b + i + j)));
      }
    }
  }
  for (; i < n; i++) c[i] = a[i] + b[i];
}

__attribute__((target("avx2"))) static void copy_stream_avx2(size_t n, const float *s, float *d) {
  size_t i = head_to_align(d, n);
  memcpy(d, s, i * sizeof(float));
  for (; i + 32 <= n; i += 32) {
    const __m256 v0 = _mm256_loadu_ps(s + i), v1 = _mm256_loadu_ps(s + i + 8);
    const __m256 v2 = _mm256_loadu_ps(s + i + 16), v3 = _mm256_loadu_ps(s + i + 24);
    _mm256_stream_ps(d + i, v0);
    _mm256_stream_ps(d + i + 8, v1);
    _mm256_stream_ps(d + i + 16, v2);
    _mm256_stream_ps(d + i + 24, v3);
  }
  memcpy(d + i, s + i, (n - i) * sizeof(float));
  _mm_sfence();
}

__attribute__((target("avx2"))) static void r2w1_avx2(enum bench_store store, size_t n,
                                                       const float *a, const float *b, float *c) {
  size_t i = 0;
  if (store == BENCH_STORE_STREAM) {
    const size_t head = head_to_align(c, n);
    for (; i < head; i++) c[i] = a[i] + b[i];
    for (; i + 32 <= n; i += 32) {
      for (size_t j = 0; j < 32; j += 8) {
        _mm256_stream_ps(c + i + j, _mm256_add_ps(_mm256_loadu_ps(a + i + j),
                                                  _mm256_loadu_ps(b + i + j)));
      }
    }
    _mm_sfence();
  } else {
    for (; i + 32 <= n; i += 32) {
      for (size_t j = 0; j < 32; j += 8) {
        _mm256_storeu_ps(c + i + j, _mm256_add_ps(_mm256_loadu_ps(a + i + j),
                                                  _mm256_loadu_ps(b + i + j)));
      }
    }
  }
  for (; i < n; i++) c[i] = a[i] + b[i];
}
#endif

static void r2w1_scalar(size_t n, const float *a, const float *b, float *c) {
  for (size_t i = 0; i < n; i++) c[i] = a[i] + b[i];
}

const char *bench_ref_isa(void) {
#if BENCH_X86
  if (__builtin_cpu_supports("avx512f")) return "avx512";
  if (__builtin_cpu_supports("avx2")) return "avx2";
#endif
  return "scalar";
}

void bench_copy(enum bench_store store, size_t n, const float *src, float *dst) {
#if BENCH_X86
  if (store == BENCH_STORE_STREAM) {
    if (__builtin_cpu_supports("avx512f")) {
      copy_stream_avx512(n, src, dst);
      return;
    }
    if (__builtin_cpu_supports("avx2")) {
      copy_stream_avx2(n, src, dst);
      return;
    }
  }
#endif
  (void) store;
  memcpy(dst, src, n * sizeof(float));
}

void bench_r2w1(enum bench_store store, size_t n, const float *a, const float *b, float *c) {
#if BENCH_X86
  if (__builtin_cpu_supports("avx512f")) {
    r2w1_avx512(store, n, a, b, c);
    return;
  }
  if (__builtin_cpu_supports("avx2")) {
    r2w1_avx2(store, n, a, b, c);
    return;
  }
#endif
  (void) store;
  r2w1_scalar(n, a, b, c);
}
