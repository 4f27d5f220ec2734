/*
 * softmax_x16_avx2.c - bfloat16 and float16 log-softmax and softmax over any
 * dimension with AVX2+FMA: the AVX-512 kernels' design (softmax_x16_avx512.c)
 * with 8 elements per vector; bfloat16 widened by a shift and narrowed by
 * the integer round-to-nearest-even of half.h, float16 converted by F16C
 * (vcvtph2ps, vcvtps2ph with round-to-nearest-even). This variant does not
 * require F16C of the CPU, so this file alone is compiled with -mf16c and
 * its float16 paths run only where dispatch saw F16C; elsewhere float16
 * takes the scalar kernels.
 */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "dispatch.h"
#include "kernels/log_softmax_f32.h" /* S4J_STREAM_MIN_BYTES */
#include "kernels/softmax_x16.h"
#include "math/exp_f32_avx2.h"
#include "math/half.h"
#include "math/lanes_avx2.h"
#include "math/log_f32_avx2.h"
#include "math/log_f64.h"
#include "math/log_f64_avx2.h"

#define S4J_W 8

/* Whether this CPU converts float16 in hardware (F16C). */
static int s4j_have_f16c(void) {
  return (s4j_dispatch_get()->cpu_features & S4J_CPU_F16C) != 0;
}

static inline __m256 s4j_load16(enum s4j_half_format fmt, const uint16_t *p) {
  const __m128i h = _mm_loadu_si128((const __m128i *) (const void *) p);
  if (fmt == S4J_HALF_F16) return _mm256_cvtph_ps(h);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* The first n < 8 elements; the other lanes are +0. */
static inline __m256 s4j_load_part(enum s4j_half_format fmt, const uint16_t *p, size_t n) {
  uint16_t buf[S4J_W] = {0};
  memcpy(buf, p, n * sizeof *p);
  return s4j_load16(fmt, buf);
}

static inline __m128i s4j_narrow(enum s4j_half_format fmt, __m256 v) {
  if (fmt == S4J_HALF_F16) return _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256i bits = _mm256_castps_si256(v);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
  const __m256i bias = _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff));
  const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(bits, bias), 16);
  const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(0x40));
  const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  const __m256i r = _mm256_blendv_epi8(rounded, quiet, nan);
  /* 32 -> 16 bits: every lane is <= 0xffff, so the saturating pack is exact. */
  const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0xd8);
  return _mm256_castsi256_si128(packed);
}

static inline void s4j_store16(enum s4j_half_format fmt, uint16_t *p, __m256 v) {
  _mm_storeu_si128((__m128i *) (void *) p, s4j_narrow(fmt, v));
}

static inline void s4j_store_part(enum s4j_half_format fmt, uint16_t *p, __m256 v, size_t n) {
  uint16_t buf[S4J_W];
  _mm_storeu_si128((__m128i *) (void *) buf, s4j_narrow(fmt, v));
  memcpy(p, buf, n * sizeof *p);
}

/* Element i of a row or a group: a full vector or the n-lane tail. */
static inline __m256 s4j_load(enum s4j_half_format fmt, const uint16_t *p, size_t n) {
  return n == S4J_W ? s4j_load16(fmt, p) : s4j_load_part(fmt, p, n);
}

static inline void s4j_store(enum s4j_half_format fmt, uint16_t *p, __m256 v, size_t n) {
  if (n == S4J_W) {
    s4j_store16(fmt, p, v);
  } else {
    s4j_store_part(fmt, p, v, n);
  }
}

/* Both halves of a float vector, widened, added to two double vectors. */
static inline void s4j_add_wide(__m256d *lo, __m256d *hi, __m256 v) {
  *lo = _mm256_add_pd(*lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
  *hi = _mm256_add_pd(*hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

/* Lanes [0, n) of a mask vector, n in [0, 8]. */
static inline __m256 s4j_lanes(size_t n) {
  static const int32_t bits[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *) (const void *) (bits + 8 - n)));
}

static inline double s4j_reduce_add(__m256d v) {
  double l[4];
  _mm256_storeu_pd(l, v);
  return (l[0] + l[1]) + (l[2] + l[3]);
}

static inline float s4j_reduce_max(__m256 v) {
  float l[8];
  _mm256_storeu_ps(l, v);
  float m = l[0];
  for (int i = 1; i < 8; i++) m = l[i] > m ? l[i] : m;
  return m;
}

/* A row's max (broadcast) and the sum of exp(x - max). */
static double s4j_row_max_sum(enum s4j_half_format fmt, size_t n, const uint16_t *x,
                            __m256 *max, const struct s4j_exp_f32_avx2_consts *k) {
  __m256 vm = _mm256_set1_ps(-__builtin_inff());
  for (size_t i = 0; i < n; i += S4J_W) {
    const size_t w = n - i < S4J_W ? n - i : S4J_W;
    vm = _mm256_blendv_ps(vm, _mm256_max_ps(vm, s4j_load(fmt, x + i, w)), s4j_lanes(w));
  }
  /* A NaN the max drops still makes its exp, and the sum, NaN. */
  const __m256 m = _mm256_set1_ps(s4j_reduce_max(vm));
  /* Runs of S4J_DIM_FLOAT_RUN vectors add up in float (terms <= 1: at most
   * 7 ulp relative per run, far below the formats' ulp), each run's total in
   * double; two accumulators keep the adds independent. */
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  const size_t full = n & ~(size_t) (S4J_W - 1);
  for (size_t i0 = 0; i0 < full; i0 += S4J_W * S4J_DIM_FLOAT_RUN) {
    const size_t i1 = full - i0 < S4J_W * S4J_DIM_FLOAT_RUN ? full : i0 + S4J_W * S4J_DIM_FLOAT_RUN;
    __m256 run0 = _mm256_setzero_ps(), run1 = _mm256_setzero_ps();
    size_t i = i0;
    for (; i + 2 * S4J_W <= i1; i += 2 * S4J_W) {
      run0 = _mm256_add_ps(run0, s4j_exp_f32_avx2(_mm256_sub_ps(s4j_load16(fmt, x + i), m), k));
      run1 = _mm256_add_ps(run1, s4j_exp_f32_avx2(_mm256_sub_ps(s4j_load16(fmt, x + i + S4J_W), m), k));
    }
    if (i < i1) run0 = _mm256_add_ps(run0, s4j_exp_f32_avx2(_mm256_sub_ps(s4j_load16(fmt, x + i), m), k));
    s4j_add_wide(&lo, &hi, _mm256_add_ps(run0, run1));
  }
  if (full < n) {
    const __m256 e = s4j_exp_f32_avx2(_mm256_sub_ps(s4j_load_part(fmt, x + full, n - full), m), k);
    s4j_add_wide(&lo, &hi, _mm256_and_ps(e, s4j_lanes(n - full)));
  }
  *max = m;
  return s4j_reduce_add(_mm256_add_pd(lo, hi));
}

static void s4j_forward_row(enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t n,
                            const uint16_t *x, uint16_t *y,
                            const struct s4j_exp_f32_avx2_consts *k) {
  __m256 m;
  const double s = s4j_row_max_sum(fmt, n, x, &m, k);

  if (kind == S4J_KIND_LOG_SOFTMAX) {
    const __m256 t = _mm256_set1_ps((float) s4j_log_f64(s));
    for (size_t i = 0; i < n; i += S4J_W) {
      const size_t w = n - i < S4J_W ? n - i : S4J_W;
      s4j_store(fmt, y + i, _mm256_sub_ps(_mm256_sub_ps(s4j_load(fmt, x + i, w), m), t), w);
    }
  } else {
    const __m256 t = _mm256_set1_ps((float) (1.0 / s));
    for (size_t i = 0; i < n; i += S4J_W) {
      const size_t w = n - i < S4J_W ? n - i : S4J_W;
      const __m256 e = s4j_exp_f32_avx2(_mm256_sub_ps(s4j_load(fmt, x + i, w), m), k);
      s4j_store(fmt, y + i, _mm256_mul_ps(e, t), w);
    }
  }
}

/* The backward's sum terms, widened: gy, or gy * y (exact in double). */
static inline void s4j_add_terms(enum s4j_softmax_kind kind, __m256d *lo, __m256d *hi, __m256 g,
                                 __m256 o) {
  if (kind == S4J_KIND_LOG_SOFTMAX) {
    s4j_add_wide(lo, hi, g);
    return;
  }
  const __m256d glo = _mm256_cvtps_pd(_mm256_castps256_ps128(g));
  const __m256d ghi = _mm256_cvtps_pd(_mm256_extractf128_ps(g, 1));
  const __m256d olo = _mm256_cvtps_pd(_mm256_castps256_ps128(o));
  const __m256d ohi = _mm256_cvtps_pd(_mm256_extractf128_ps(o, 1));
  *lo = _mm256_add_pd(*lo, _mm256_mul_pd(glo, olo));
  *hi = _mm256_add_pd(*hi, _mm256_mul_pd(ghi, ohi));
}

static inline __m256 s4j_backward_lanes(enum s4j_softmax_kind kind, __m256 g, __m256 o, __m256 sum,
                                        const struct s4j_exp_f32_avx2_consts *k) {
  /* Two roundings, as the float32 kernels: exp(y) * S, then gy minus it. */
  return kind == S4J_KIND_LOG_SOFTMAX ? _mm256_sub_ps(g, _mm256_mul_ps(s4j_exp_f32_avx2(o, k), sum))
                                      : _mm256_mul_ps(o, _mm256_sub_ps(g, sum));
}

static void s4j_backward_row(enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t n,
                             const uint16_t *gy, const uint16_t *y, uint16_t *gx,
                             const struct s4j_exp_f32_avx2_consts *k) {
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  for (size_t i = 0; i < n; i += S4J_W) {
    const size_t w = n - i < S4J_W ? n - i : S4J_W;
    /* Partial loads fill the other lanes with +0: they add nothing. */
    s4j_add_terms(kind, &lo, &hi, s4j_load(fmt, gy + i, w), s4j_load(fmt, y + i, w));
  }
  const __m256 sum = _mm256_set1_ps((float) s4j_reduce_add(_mm256_add_pd(lo, hi)));
  for (size_t i = 0; i < n; i += S4J_W) {
    const size_t w = n - i < S4J_W ? n - i : S4J_W;
    s4j_store(fmt, gx + i, s4j_backward_lanes(kind, s4j_load(fmt, gy + i, w), s4j_load(fmt, y + i, w), sum, k), w);
  }
}

/*
 * The row path for rows of at least one vector (8 elements), the AVX-512
 * file's (softmax_x16_avx512.c, "The row path") with 8 lanes, built as the
 * float32 row kernels are (log_softmax_f32_avx2.c, softmax_rows_f32_avx2.c):
 * 4 vectors and 4 accumulators per iteration, the sum-only exp (rr1_p5) for
 * the log-softmax sum, float blocks of S4J_X16_BLOCK elements carried in
 * double, and non-temporal stores for outputs of at least
 * S4J_STREAM_MIN_BYTES. Measured with `s4j_bench --groups dtypes --isa avx2`.
 *
 * Elements go 16 at a time as a pair of float vectors (s4j_load_pair). For
 * bfloat16 the pair is the even and the odd elements of one 32-byte load,
 * widened by a shift and a mask in place (no vpmovzxwd), and the outputs go
 * back the same way, two roundings merged by one word blend into one
 * 32-byte store (no pack and permute): a max and a sum do not care about
 * order, and every output lane goes back where its input came from. For
 * float16 the pair is two vcvtph2ps. Then at most one whole vector, then
 * the row's last n % 8 elements as the last whole vector of the row,
 * x + n - 8: the max takes its lanes twice (harmless), the sums mask off the
 * lanes already counted, and the output stores the overlapping lanes a
 * second time with the same bits. In place (y == x), that last vector is
 * loaded before any store of the row. No partial loads or stores.
 *
 * Softmax rows of at most S4J_X16_SCRATCH elements keep their exps in a
 * float buffer on the stack (in L1), as the float32 kernel keeps them in y:
 * one exp per element instead of one for the sum and one for the output.
 */
#define S4J_X16_BLOCK 1024
#define S4J_X16_SCRATCH 4096

/* Lanes [8 - rem, 8): the rem elements of the overlapping last vector that
 * the whole vectors before it did not cover. */
static inline __m256 s4j_last_lanes(size_t rem) {
  static const int32_t bits[16] = {0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1};
  return _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *) (const void *) (bits + rem)));
}

/*
 * Out of cache, the first pass over a row waits for memory while the
 * others compute on a row already in cache. So for rows of at most 16 KB
 * each row's compute-heavy pass prefetches the next row's inputs into L1
 * (rows are contiguous: x + n), 64 bytes per 32 elements, as the AVX-512
 * row path does.
 */
#define S4J_X16_PREFETCH_MAX_BYTES ((size_t) 16 << 10)

static inline void s4j_prefetch_row(const uint16_t *p, int near) {
  if (near) _mm_prefetch((const char *) p, _MM_HINT_T0);
}

/* 16 elements at p, exactly, as two float vectors (see above). */
static inline __attribute__((always_inline)) void s4j_load_pair(enum s4j_half_format fmt, const uint16_t *p,
                                                                __m256 *a, __m256 *b) {
  if (fmt == S4J_HALF_BF16) {
    const __m256i v = _mm256_loadu_si256((const __m256i *) (const void *) p);
    *a = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    *b = _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32((int32_t) 0xffff0000u)));
  } else {
    *a = s4j_load16(fmt, p);
    *b = s4j_load16(fmt, p + S4J_W);
  }
}

/* bfloat16 round to nearest even of each lane, the result in the upper 16
 * bits (the lower bits are not cleared). `nan`: NaN lanes become their
 * upper half quieted, as half.h does; without it a NaN lane would round
 * like a number, so callers pass 0 only when no lane can be NaN. */
static inline __m256i s4j_bf16_round_hi(__m256 v, int nan) {
  const __m256i bits = _mm256_castps_si256(v);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
  const __m256i r = _mm256_add_epi32(bits, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff)));
  if (!nan) return r;
  const __m256i quiet = _mm256_or_si256(bits, _mm256_set1_epi32(0x00400000));
  return _mm256_blendv_epi8(r, quiet, _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)));
}

/* One vector, rounded; `nan` as in s4j_bf16_round_hi. */
static inline __attribute__((always_inline)) void s4j_store16_as(enum s4j_half_format fmt, uint16_t *p,
                                                                 __m256 v, int nan) {
  if (fmt == S4J_HALF_BF16 && !nan) {
    const __m256i r = _mm256_srli_epi32(s4j_bf16_round_hi(v, 0), 16);
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0xd8);
    _mm_storeu_si128((__m128i *) (void *) p, _mm256_castsi256_si128(packed));
  } else {
    s4j_store16(fmt, p, v);
  }
}

/* Stores a pair made by s4j_load_pair back to its 16 elements, each
 * rounded once to nearest even. `stream`: p is 32-byte aligned, store
 * non-temporally. */
static inline __attribute__((always_inline)) void s4j_store_pair(enum s4j_half_format fmt, uint16_t *p,
                                                                 __m256 a, __m256 b, int nan, int stream) {
  if (fmt == S4J_HALF_BF16) {
    const __m256i lo = _mm256_srli_epi32(s4j_bf16_round_hi(a, nan), 16);
    /* The even words from lo, the odd ones (b's upper halves) from b. */
    const __m256i v = _mm256_blend_epi16(lo, s4j_bf16_round_hi(b, nan), 0xaa);
    if (stream) {
      _mm256_stream_si256((__m256i *) (void *) p, v);
    } else {
      _mm256_storeu_si256((__m256i *) (void *) p, v);
    }
  } else if (stream) {
    _mm_stream_si128((__m128i *) (void *) p, s4j_narrow(fmt, a));
    _mm_stream_si128((__m128i *) (void *) (p + S4J_W), s4j_narrow(fmt, b));
  } else {
    s4j_store16(fmt, p, a);
    s4j_store16(fmt, p + S4J_W, b);
  }
}

static inline __attribute__((always_inline)) float s4j_rows_max(enum s4j_half_format fmt, size_t n,
                                                                const uint16_t *x) {
  __m256 m0 = s4j_load16(fmt, x + n - S4J_W), m1 = m0, m2 = m0, m3 = m0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256 a0, b0, a1, b1;
    s4j_load_pair(fmt, x + i, &a0, &b0);
    s4j_load_pair(fmt, x + i + 16, &a1, &b1);
    m0 = _mm256_max_ps(m0, a0);
    m1 = _mm256_max_ps(m1, b0);
    m2 = _mm256_max_ps(m2, a1);
    m3 = _mm256_max_ps(m3, b1);
  }
  for (; i + S4J_W <= n; i += S4J_W) m0 = _mm256_max_ps(m0, s4j_load16(fmt, x + i));
  /* A NaN the max drops still makes its exp, and the sum, NaN. */
  return s4j_reduce_max(_mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
}

/* The exp of the sum pass: the sum-only one, or (softmax with a scratch)
 * the faithful one, whose values are also the outputs. */
static inline __attribute__((always_inline)) __m256 s4j_rows_exp(int faithful, __m256 d,
                                                                 const struct s4j_exp_f32_avx2_consts *k,
                                                                 const struct s4j_expsum_f32_avx2_consts *ks) {
  return faithful ? s4j_exp_f32_avx2(d, k) : s4j_expsum_f32_avx2(d, ks);
}

/* sum(exp(x - m)) over a row of n >= 8, each block of S4J_X16_BLOCK summed
 * in float (as the float32 kernels), the blocks in double. With `e`
 * (softmax, n <= S4J_X16_SCRATCH), the faithful exps are also written
 * there, in the order s4j_rows_fwd_out reads them back. */
static inline __attribute__((always_inline)) double s4j_rows_sum_exp(
    enum s4j_half_format fmt, size_t n, const uint16_t *x, float m, float *e,
    const struct s4j_exp_f32_avx2_consts *k, const struct s4j_expsum_f32_avx2_consts *ks) {
  const int f = e != NULL;
  const int l1 = n * sizeof *x <= S4J_X16_PREFETCH_MAX_BYTES;
  const __m256 vm = _mm256_set1_ps(m);
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  size_t i = 0;
  while (i + S4J_W <= n) {
    const size_t left = n - i, end = left > S4J_X16_BLOCK ? i + S4J_X16_BLOCK : n;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (; i + 32 <= end; i += 32) {
      __m256 v0, v1, v2, v3;
      s4j_prefetch_row(x + n + i, l1);
      s4j_load_pair(fmt, x + i, &v0, &v1);
      s4j_load_pair(fmt, x + i + 16, &v2, &v3);
      const __m256 e0 = s4j_rows_exp(f, _mm256_sub_ps(v0, vm), k, ks);
      const __m256 e1 = s4j_rows_exp(f, _mm256_sub_ps(v1, vm), k, ks);
      const __m256 e2 = s4j_rows_exp(f, _mm256_sub_ps(v2, vm), k, ks);
      const __m256 e3 = s4j_rows_exp(f, _mm256_sub_ps(v3, vm), k, ks);
      if (f) {
        _mm256_store_ps(e + i, e0);
        _mm256_store_ps(e + i + 8, e1);
        _mm256_store_ps(e + i + 16, e2);
        _mm256_store_ps(e + i + 24, e3);
      }
      a0 = _mm256_add_ps(a0, e0);
      a1 = _mm256_add_ps(a1, e1);
      a2 = _mm256_add_ps(a2, e2);
      a3 = _mm256_add_ps(a3, e3);
    }
    if (i + 16 <= end) {
      __m256 v0, v1;
      s4j_load_pair(fmt, x + i, &v0, &v1);
      const __m256 e0 = s4j_rows_exp(f, _mm256_sub_ps(v0, vm), k, ks);
      const __m256 e1 = s4j_rows_exp(f, _mm256_sub_ps(v1, vm), k, ks);
      if (f) {
        _mm256_store_ps(e + i, e0);
        _mm256_store_ps(e + i + 8, e1);
      }
      a0 = _mm256_add_ps(a0, e0);
      a1 = _mm256_add_ps(a1, e1);
      i += 16;
    }
    if (i + S4J_W <= end) {
      const __m256 e0 = s4j_rows_exp(f, _mm256_sub_ps(s4j_load16(fmt, x + i), vm), k, ks);
      if (f) _mm256_store_ps(e + i, e0);
      a2 = _mm256_add_ps(a2, e0);
      i += S4J_W;
    }
    s4j_add_wide(&lo, &hi, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    if (end == n) break;
  }
  if (i < n) {
    const __m256 el = s4j_rows_exp(f, _mm256_sub_ps(s4j_load16(fmt, x + n - S4J_W), vm), k, ks);
    if (f) _mm256_store_ps(e + S4J_X16_SCRATCH, el);
    s4j_add_wide(&lo, &hi, _mm256_and_ps(el, s4j_last_lanes(n - i)));
  }
  return s4j_reduce_add(_mm256_add_pd(lo, hi));
}

/* Elements before p is 32-byte aligned (0 when p is not even 2-byte
 * aligned: such an output is not streamed). */
static inline size_t s4j_rows_head(const uint16_t *p) {
  const uintptr_t a = (uintptr_t) p;
  return (size_t) (((32u - (a & 31u)) & 31u) / 2u);
}

/* What a forward output lane is made of. */
enum s4j_rows_out {
  S4J_ROWS_LOG,     /* (x - m) - t, t = log(sum) */
  S4J_ROWS_EXP,     /* exp(x - m) * t, t = 1 / sum, the exp computed again */
  S4J_ROWS_SCRATCH  /* e * t, the exps read back from the scratch */
};

static inline __attribute__((always_inline)) __m256 s4j_rows_fwd_lanes(enum s4j_rows_out mode, __m256 v,
                                                                       __m256 vm, __m256 vt,
                                                                       const struct s4j_exp_f32_avx2_consts *k) {
  if (mode == S4J_ROWS_SCRATCH) return _mm256_mul_ps(v, vt);
  const __m256 d = _mm256_sub_ps(v, vm);
  return mode == S4J_ROWS_LOG ? _mm256_sub_ps(d, vt) : _mm256_mul_ps(s4j_exp_f32_avx2(d, k), vt);
}

/* The source pair at i: x's elements, or the scratch's exps. */
static inline __attribute__((always_inline)) void s4j_rows_src_pair(enum s4j_half_format fmt,
                                                                    enum s4j_rows_out mode, const uint16_t *x,
                                                                    const float *e, size_t i, __m256 *a,
                                                                    __m256 *b) {
  if (mode == S4J_ROWS_SCRATCH) {
    *a = _mm256_load_ps(e + i);
    *b = _mm256_load_ps(e + i + S4J_W);
  } else {
    s4j_load_pair(fmt, x + i, a, b);
  }
}

/*
 * Writes one forward row of n >= 8 elements. `stream`: non-temporal stores
 * from the first 32-byte boundary of y on, the elements before it stored
 * exactly (recomputed from x). The scratch's exps are laid out from element
 * 0, so a scratch row streams only when y itself is aligned. `nan`: whether
 * an output can be NaN (the row's sum is not finite).
 */
static inline __attribute__((always_inline)) void s4j_rows_fwd_out(
    enum s4j_half_format fmt, enum s4j_rows_out mode, size_t n, const uint16_t *x, const float *e,
    uint16_t *y, float m, float t, int stream, int nan, const struct s4j_exp_f32_avx2_consts *k) {
  const __m256 vm = _mm256_set1_ps(m), vt = _mm256_set1_ps(t);
  /* Before any store: y may be x. */
  const __m256 last = mode == S4J_ROWS_SCRATCH ? _mm256_load_ps(e + S4J_X16_SCRATCH) : s4j_load16(fmt, x + n - S4J_W);
  size_t i = 0;
  if (stream) {
    const size_t head = s4j_rows_head(y);
    if (((uintptr_t) y & 1u) != 0 || (head != 0 && (mode == S4J_ROWS_SCRATCH || head + S4J_W > n))) {
      stream = 0;
    } else {
      const enum s4j_rows_out direct = mode == S4J_ROWS_SCRATCH ? S4J_ROWS_EXP : mode;
      for (; i < head; i += S4J_W) {
        const size_t w = head - i < S4J_W ? head - i : S4J_W;
        s4j_store_part(fmt, y + i, s4j_rows_fwd_lanes(direct, s4j_load16(fmt, x + i), vm, vt, k), w);
      }
      i = head;
    }
  }
  for (; i + 32 <= n; i += 32) {
    __m256 a0, b0, a1, b1;
    s4j_rows_src_pair(fmt, mode, x, e, i, &a0, &b0);
    s4j_rows_src_pair(fmt, mode, x, e, i + 16, &a1, &b1);
    a0 = s4j_rows_fwd_lanes(mode, a0, vm, vt, k);
    b0 = s4j_rows_fwd_lanes(mode, b0, vm, vt, k);
    a1 = s4j_rows_fwd_lanes(mode, a1, vm, vt, k);
    b1 = s4j_rows_fwd_lanes(mode, b1, vm, vt, k);
    s4j_store_pair(fmt, y + i, a0, b0, nan, stream);
    s4j_store_pair(fmt, y + i + 16, a1, b1, nan, stream);
  }
  if (i + 16 <= n) {
    __m256 a0, b0;
    s4j_rows_src_pair(fmt, mode, x, e, i, &a0, &b0);
    s4j_store_pair(fmt, y + i, s4j_rows_fwd_lanes(mode, a0, vm, vt, k), s4j_rows_fwd_lanes(mode, b0, vm, vt, k),
                   nan, stream);
    i += 16;
  }
  if (i + S4J_W <= n) {
    const __m256 v = mode == S4J_ROWS_SCRATCH ? _mm256_load_ps(e + i) : s4j_load16(fmt, x + i);
    s4j_store16_as(fmt, y + i, s4j_rows_fwd_lanes(mode, v, vm, vt, k), nan);
    i += S4J_W;
  }
  if (i < n) s4j_store16_as(fmt, y + n - S4J_W, s4j_rows_fwd_lanes(mode, last, vm, vt, k), nan);
}

/* Whether the output of a call, rows x n 16-bit elements, is streamed. */
static inline int s4j_rows_stream(size_t rows, size_t n) {
  return rows * n * sizeof(uint16_t) >= S4J_STREAM_MIN_BYTES;
}

/* fmt and kind are constants in each instantiation (s4j_forward_rows). */
static inline __attribute__((always_inline)) void s4j_forward_rows_as(enum s4j_half_format fmt,
                                                                      enum s4j_softmax_kind kind, size_t rows,
                                                                      size_t n, const uint16_t *x, uint16_t *y,
                                                                      const struct s4j_exp_f32_avx2_consts *k) {
  const struct s4j_expsum_f32_avx2_consts ks = s4j_expsum_f32_avx2_init();
  const int stream = s4j_rows_stream(rows, n);
  float e[S4J_X16_SCRATCH + S4J_W] __attribute__((aligned(32)));
  for (size_t r = 0; r < rows; r++, x += n, y += n) {
    const float m = s4j_rows_max(fmt, n, x);
    if (kind == S4J_KIND_LOG_SOFTMAX) {
      const double s = s4j_rows_sum_exp(fmt, n, x, m, NULL, k, &ks);
      const int nan = !(s < __builtin_inf());
      s4j_rows_fwd_out(fmt, S4J_ROWS_LOG, n, x, NULL, y, m, (float) s4j_log_f64(s), stream, nan, k);
    } else if (n <= S4J_X16_SCRATCH) {
      const double s = s4j_rows_sum_exp(fmt, n, x, m, e, k, &ks);
      const int nan = !(s < __builtin_inf());
      s4j_rows_fwd_out(fmt, S4J_ROWS_SCRATCH, n, x, e, y, m, (float) (1.0 / s), stream, nan, k);
    } else {
      const double s = s4j_rows_sum_exp(fmt, n, x, m, NULL, k, &ks);
      const int nan = !(s < __builtin_inf());
      s4j_rows_fwd_out(fmt, S4J_ROWS_EXP, n, x, NULL, y, m, (float) (1.0 / s), stream, nan, k);
    }
  }
  if (stream) _mm_sfence();
}

static void s4j_forward_rows(enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t rows, size_t n,
                             const uint16_t *x, uint16_t *y, const struct s4j_exp_f32_avx2_consts *k) {
  if (fmt == S4J_HALF_BF16) {
    if (kind == S4J_KIND_LOG_SOFTMAX) {
      s4j_forward_rows_as(S4J_HALF_BF16, S4J_KIND_LOG_SOFTMAX, rows, n, x, y, k);
    } else {
      s4j_forward_rows_as(S4J_HALF_BF16, S4J_KIND_SOFTMAX, rows, n, x, y, k);
    }
  } else if (kind == S4J_KIND_LOG_SOFTMAX) {
    s4j_forward_rows_as(S4J_HALF_F16, S4J_KIND_LOG_SOFTMAX, rows, n, x, y, k);
  } else {
    s4j_forward_rows_as(S4J_HALF_F16, S4J_KIND_SOFTMAX, rows, n, x, y, k);
  }
}

/*
 * Forward rows of 8 .. S4J_X16_SHORT_COLS elements: the whole row in
 * registers (up to 8 vectors, the last one overlapping), read once, every
 * reduction across the lanes in registers and the float log of log_f32.h
 * on the broadcast sum, as the float32 short rows (log_softmax_f32_avx2.c).
 * The sum is a float tree of at most 8 terms per lane, then 3 levels
 * across the lanes: relative error <= 6 * 2^-24 = 3.6e-7, besides the
 * exp's own.
 */
#define S4J_X16_SHORT_VECS 8
#define S4J_X16_SHORT_COLS (S4J_W * S4J_X16_SHORT_VECS)

/* nv = ceil(n / 8) vectors per row, a constant in each instantiation; the
 * rows are independent, so one row's reductions and log overlap with the
 * next rows' loads and exps. */
static inline __attribute__((always_inline)) void s4j_forward_short_as(
    enum s4j_half_format fmt, enum s4j_softmax_kind kind, const int nv, size_t rows, size_t n,
    const uint16_t *x, uint16_t *y, const struct s4j_exp_f32_avx2_consts *k,
    const struct s4j_expsum_f32_avx2_consts *ks) {
  /* The last vector starts at n - 8; its lanes outside `keep` were counted
   * by the vector before it. */
  const size_t at_last = n - S4J_W;
  const __m256 keep = s4j_last_lanes(n % S4J_W == 0 ? S4J_W : n % S4J_W);
  for (size_t r = 0; r < rows; r++, x += n, y += n) {
    __m256 v[S4J_X16_SHORT_VECS];
#pragma GCC unroll 8
    for (int j = 0; j < nv - 1; j++) v[j] = s4j_load16(fmt, x + S4J_W * j);
    v[nv - 1] = s4j_load16(fmt, x + at_last);
    __m256 vmax = v[0];
#pragma GCC unroll 8
    for (int j = 1; j < nv; j++) vmax = _mm256_max_ps(vmax, v[j]);
    vmax = s4j_allmax(vmax);
    __m256 ve[S4J_X16_SHORT_VECS];
#pragma GCC unroll 8
    for (int j = 0; j < nv; j++) {
      v[j] = _mm256_sub_ps(v[j], vmax);
      ve[j] = kind == S4J_KIND_LOG_SOFTMAX ? s4j_expsum_f32_avx2(v[j], ks) : s4j_exp_f32_avx2(v[j], k);
    }
    __m256 vs[S4J_X16_SHORT_VECS];
#pragma GCC unroll 8
    for (int j = 0; j < nv; j++) vs[j] = ve[j];
    vs[nv - 1] = _mm256_and_ps(keep, vs[nv - 1]);
    /* Pairwise over the vectors, then across the lanes. */
#pragma GCC unroll 8
    for (int w = 1; w < nv; w *= 2) {
#pragma GCC unroll 8
      for (int j = 0; j + w < nv; j += 2 * w) vs[j] = _mm256_add_ps(vs[j], vs[j + w]);
    }
    const __m256 vsum = s4j_allsum(vs[0]);
    /* A sum that is not finite comes from a NaN or +inf input. */
    const int nan = _mm256_movemask_ps(_mm256_cmp_ps(vsum, _mm256_set1_ps(__builtin_inff()), _CMP_LT_OQ)) == 0;
    if (kind == S4J_KIND_LOG_SOFTMAX) {
      const __m256 vt = s4j_log_f32_avx2(vsum);
#pragma GCC unroll 8
      for (int j = 0; j < nv - 1; j++) s4j_store16_as(fmt, y + S4J_W * j, _mm256_sub_ps(v[j], vt), nan);
      s4j_store16_as(fmt, y + at_last, _mm256_sub_ps(v[nv - 1], vt), nan);
    } else {
      const __m256 vt = _mm256_div_ps(_mm256_set1_ps(1.0f), vsum);
#pragma GCC unroll 8
      for (int j = 0; j < nv - 1; j++) s4j_store16_as(fmt, y + S4J_W * j, _mm256_mul_ps(ve[j], vt), nan);
      s4j_store16_as(fmt, y + at_last, _mm256_mul_ps(ve[nv - 1], vt), nan);
    }
  }
}

static inline __attribute__((always_inline)) void s4j_forward_short_fk(enum s4j_half_format fmt,
                                                                       enum s4j_softmax_kind kind, size_t rows,
                                                                       size_t n, const uint16_t *x, uint16_t *y,
                                                                       const struct s4j_exp_f32_avx2_consts *k) {
  const struct s4j_expsum_f32_avx2_consts ks = s4j_expsum_f32_avx2_init();
  switch ((n + S4J_W - 1) / S4J_W) {
    case 1: s4j_forward_short_as(fmt, kind, 1, rows, n, x, y, k, &ks); break;
    case 2: s4j_forward_short_as(fmt, kind, 2, rows, n, x, y, k, &ks); break;
    case 3: s4j_forward_short_as(fmt, kind, 3, rows, n, x, y, k, &ks); break;
    case 4: s4j_forward_short_as(fmt, kind, 4, rows, n, x, y, k, &ks); break;
    case 5: s4j_forward_short_as(fmt, kind, 5, rows, n, x, y, k, &ks); break;
    case 6: s4j_forward_short_as(fmt, kind, 6, rows, n, x, y, k, &ks); break;
    case 7: s4j_forward_short_as(fmt, kind, 7, rows, n, x, y, k, &ks); break;
    default: s4j_forward_short_as(fmt, kind, 8, rows, n, x, y, k, &ks); break;
  }
}

/* Rows of 8 <= n <= S4J_X16_SHORT_COLS. */
static void s4j_forward_short(enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t rows, size_t n,
                              const uint16_t *x, uint16_t *y, const struct s4j_exp_f32_avx2_consts *k) {
  if (fmt == S4J_HALF_BF16) {
    if (kind == S4J_KIND_LOG_SOFTMAX) {
      s4j_forward_short_fk(S4J_HALF_BF16, S4J_KIND_LOG_SOFTMAX, rows, n, x, y, k);
    } else {
      s4j_forward_short_fk(S4J_HALF_BF16, S4J_KIND_SOFTMAX, rows, n, x, y, k);
    }
  } else if (kind == S4J_KIND_LOG_SOFTMAX) {
    s4j_forward_short_fk(S4J_HALF_F16, S4J_KIND_LOG_SOFTMAX, rows, n, x, y, k);
  } else {
    s4j_forward_short_fk(S4J_HALF_F16, S4J_KIND_SOFTMAX, rows, n, x, y, k);
  }
}

/*
 * The backward's sum over a row of n >= 8: sum(gy) (log-softmax) or
 * sum(gy * y) (softmax), every term widened to double exactly (a product
 * of two floats is exact there) and added in double, as the float32
 * backward kernels do: the gradients can cancel.
 */
static inline void s4j_rows_add_terms(enum s4j_softmax_kind kind, __m256d *lo, __m256d *hi, __m256 g,
                                      __m256 o) {
  const __m256d glo = _mm256_cvtps_pd(_mm256_castps256_ps128(g));
  const __m256d ghi = _mm256_cvtps_pd(_mm256_extractf128_ps(g, 1));
  if (kind == S4J_KIND_LOG_SOFTMAX) {
    *lo = _mm256_add_pd(*lo, glo);
    *hi = _mm256_add_pd(*hi, ghi);
  } else {
    /* fma: the exact product, added with one rounding, as mul then add. */
    *lo = _mm256_fmadd_pd(glo, _mm256_cvtps_pd(_mm256_castps256_ps128(o)), *lo);
    *hi = _mm256_fmadd_pd(ghi, _mm256_cvtps_pd(_mm256_extractf128_ps(o, 1)), *hi);
  }
}

static inline __attribute__((always_inline)) double s4j_rows_grad_sum(enum s4j_half_format fmt,
                                                                      enum s4j_softmax_kind kind, size_t n,
                                                                      const uint16_t *gy, const uint16_t *y) {
  const int sm = kind == S4J_KIND_SOFTMAX;
  __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
  __m256 o0 = _mm256_setzero_ps(), o1 = o0;
  size_t i = 0;
  const int l1 = n * sizeof *y <= S4J_X16_PREFETCH_MAX_BYTES;
  for (; i + 16 <= n; i += 16) {
    __m256 g0, g1;
    /* Log-softmax: y, which the output pass reads next (64 bytes per
     * 32 elements: every other pair). */
    if (!sm && (i & 16u) == 0) s4j_prefetch_row(y + i, l1);
    s4j_load_pair(fmt, gy + i, &g0, &g1);
    if (sm) s4j_load_pair(fmt, y + i, &o0, &o1);
    s4j_rows_add_terms(kind, &a0, &a1, g0, o0);
    s4j_rows_add_terms(kind, &a2, &a3, g1, o1);
  }
  if (i + S4J_W <= n) {
    if (sm) o0 = s4j_load16(fmt, y + i);
    s4j_rows_add_terms(kind, &a0, &a1, s4j_load16(fmt, gy + i), o0);
    i += S4J_W;
  }
  if (i < n) {
    /* The last whole vector with the lanes already counted set to +0. */
    const __m256 keep = s4j_last_lanes(n - i);
    if (sm) o0 = _mm256_and_ps(keep, s4j_load16(fmt, y + n - S4J_W));
    s4j_rows_add_terms(kind, &a2, &a3, _mm256_and_ps(keep, s4j_load16(fmt, gy + n - S4J_W)), o0);
  }
  return s4j_reduce_add(_mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3)));
}

/* One gradient vector: gy - exp(y) * sum with one rounding (as the float32
 * log-softmax backward), or y * (gy - sum). */
static inline __attribute__((always_inline)) __m256 s4j_rows_bwd_lanes(enum s4j_softmax_kind kind, __m256 g,
                                                                       __m256 o, __m256 vs,
                                                                       const struct s4j_exp_f32_avx2_consts *k) {
  return kind == S4J_KIND_LOG_SOFTMAX ? _mm256_fnmadd_ps(s4j_expgrad_f32_avx2(o, k), vs, g)
                                      : _mm256_mul_ps(o, _mm256_sub_ps(g, vs));
}

/* Writes one gradient row of n >= 8 (as s4j_rows_fwd_out). */
static inline __attribute__((always_inline)) void s4j_rows_bwd_out(enum s4j_half_format fmt,
                                                                   enum s4j_softmax_kind kind, size_t n,
                                                                   const uint16_t *gy, const uint16_t *y,
                                                                   uint16_t *gx, float s, int stream,
                                                                   const struct s4j_exp_f32_avx2_consts *k) {
  const __m256 vs = _mm256_set1_ps(s);
  /* Before any store: gx may be gy or y. */
  const __m256 glast = s4j_load16(fmt, gy + n - S4J_W), olast = s4j_load16(fmt, y + n - S4J_W);
  size_t i = 0;
  if (stream) {
    const size_t head = s4j_rows_head(gx);
    if (((uintptr_t) gx & 1u) != 0 || head + S4J_W > n) {
      stream = 0;
    } else {
      for (; i < head; i += S4J_W) {
        const size_t w = head - i < S4J_W ? head - i : S4J_W;
        const __m256 d = s4j_rows_bwd_lanes(kind, s4j_load16(fmt, gy + i), s4j_load16(fmt, y + i), vs, k);
        s4j_store_part(fmt, gx + i, d, w);
      }
      i = head;
    }
  }
  const int l1 = n * sizeof *gy <= S4J_X16_PREFETCH_MAX_BYTES;
  for (; i + 32 <= n; i += 32) {
    __m256 g0, g1, g2, g3, o0, o1, o2, o3;
    /* The next row's sum pass reads gy (and, softmax, y). */
    s4j_prefetch_row(gy + n + i, l1);
    if (kind == S4J_KIND_SOFTMAX) s4j_prefetch_row(y + n + i, l1);
    s4j_load_pair(fmt, gy + i, &g0, &g1);
    s4j_load_pair(fmt, y + i, &o0, &o1);
    s4j_load_pair(fmt, gy + i + 16, &g2, &g3);
    s4j_load_pair(fmt, y + i + 16, &o2, &o3);
    s4j_store_pair(fmt, gx + i, s4j_rows_bwd_lanes(kind, g0, o0, vs, k), s4j_rows_bwd_lanes(kind, g1, o1, vs, k),
                   1, stream);
    s4j_store_pair(fmt, gx + i + 16, s4j_rows_bwd_lanes(kind, g2, o2, vs, k),
                   s4j_rows_bwd_lanes(kind, g3, o3, vs, k), 1, stream);
  }
  if (i + 16 <= n) {
    __m256 g0, g1, o0, o1;
    s4j_load_pair(fmt, gy + i, &g0, &g1);
    s4j_load_pair(fmt, y + i, &o0, &o1);
    s4j_store_pair(fmt, gx + i, s4j_rows_bwd_lanes(kind, g0, o0, vs, k), s4j_rows_bwd_lanes(kind, g1, o1, vs, k),
                   1, stream);
    i += 16;
  }
  if (i + S4J_W <= n) {
    s4j_store16(fmt, gx + i, s4j_rows_bwd_lanes(kind, s4j_load16(fmt, gy + i), s4j_load16(fmt, y + i), vs, k));
    i += S4J_W;
  }
  if (i < n) s4j_store16(fmt, gx + n - S4J_W, s4j_rows_bwd_lanes(kind, glast, olast, vs, k));
}

static inline __attribute__((always_inline)) void s4j_backward_rows_as(
    enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t rows, size_t n, const uint16_t *gy,
    const uint16_t *y, uint16_t *gx, const struct s4j_exp_f32_avx2_consts *k) {
  /* Rows the output pass prefetches the next row for do not stream, as in
   * the AVX-512 row path: non-temporal stores beside the next row's reads
   * in flight measured slower there. */
  const int stream = s4j_rows_stream(rows, n) && n * sizeof *gx > S4J_X16_PREFETCH_MAX_BYTES;
  for (size_t r = 0; r < rows; r++, gy += n, y += n, gx += n) {
    const float s = (float) s4j_rows_grad_sum(fmt, kind, n, gy, y);
    s4j_rows_bwd_out(fmt, kind, n, gy, y, gx, s, stream, k);
  }
  if (stream) _mm_sfence();
}

static void s4j_backward_rows(enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t rows, size_t n,
                              const uint16_t *gy, const uint16_t *y, uint16_t *gx,
                              const struct s4j_exp_f32_avx2_consts *k) {
  if (fmt == S4J_HALF_BF16) {
    if (kind == S4J_KIND_LOG_SOFTMAX) {
      s4j_backward_rows_as(S4J_HALF_BF16, S4J_KIND_LOG_SOFTMAX, rows, n, gy, y, gx, k);
    } else {
      s4j_backward_rows_as(S4J_HALF_BF16, S4J_KIND_SOFTMAX, rows, n, gy, y, gx, k);
    }
  } else if (kind == S4J_KIND_LOG_SOFTMAX) {
    s4j_backward_rows_as(S4J_HALF_F16, S4J_KIND_LOG_SOFTMAX, rows, n, gy, y, gx, k);
  } else {
    s4j_backward_rows_as(S4J_HALF_F16, S4J_KIND_SOFTMAX, rows, n, gy, y, gx, k);
  }
}

/* Both double halves through f, back to one float vector. */
static inline __m256 s4j_join(__m256d lo, __m256d hi) {
  return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps(lo)), _mm256_cvtpd_ps(hi), 1);
}

/* The prefetches of the groups (8 positions, 16 bytes of a row) look this
 * many groups ahead: two lines of each row. */
#define S4J_X16_AHEAD ((size_t) 8)

/*
 * One group of w <= 8 positions of a [dim, inner] slab. `next` and `after`
 * are the offsets of the groups S4J_X16_AHEAD and twice that ahead, or 0
 * (s4j_group_ahead, softmax_dim_f32.h), asked for on the plan of the
 * AVX-512 kernels (softmax_x16_avx512.c).
 */
static void s4j_forward_group(enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t dim,
                              size_t inner, size_t w, size_t next, const uint16_t *x, uint16_t *y,
                              const struct s4j_exp_f32_avx2_consts *k) {
  __m256 m = s4j_load(fmt, x, w);
  for (size_t c = 1; c < dim; c++) m = _mm256_max_ps(m, s4j_load(fmt, x + c * inner, w));
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  for (size_t c = 0; c < dim; c++) {
    if (next != 0) {
      s4j_prefetch_line(x + c * inner + next, 0);
      s4j_prefetch_line(y + c * inner + next, 1);
    }
    s4j_add_wide(&lo, &hi, s4j_exp_f32_avx2(_mm256_sub_ps(s4j_load(fmt, x + c * inner, w), m), k));
  }
  if (kind == S4J_KIND_LOG_SOFTMAX) {
    /* Lanes past w summed exp(0 - 0) terms: >= 1, inside the log's domain. */
    const __m256 t = s4j_join(s4j_log_f64_avx2(lo), s4j_log_f64_avx2(hi));
    for (size_t c = 0; c < dim; c++) {
      const __m256 v = s4j_load(fmt, x + c * inner, w);
      s4j_store(fmt, y + c * inner, _mm256_sub_ps(_mm256_sub_ps(v, m), t), w);
    }
  } else {
    const __m256d one = _mm256_set1_pd(1.0);
    const __m256 t = s4j_join(_mm256_div_pd(one, lo), _mm256_div_pd(one, hi));
    for (size_t c = 0; c < dim; c++) {
      const __m256 e = s4j_exp_f32_avx2(_mm256_sub_ps(s4j_load(fmt, x + c * inner, w), m), k);
      s4j_store(fmt, y + c * inner, _mm256_mul_ps(e, t), w);
    }
  }
}

static void s4j_backward_group(enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t dim,
                               size_t inner, size_t w, size_t next, size_t after,
                               const uint16_t *gy, const uint16_t *y, uint16_t *gx,
                               const struct s4j_exp_f32_avx2_consts *k) {
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  for (size_t c = 0; c < dim; c++) {
    if (next != 0) {
      s4j_prefetch_line(gx + c * inner + next, 1);
      if (kind == S4J_KIND_SOFTMAX && after != 0) {
        s4j_prefetch_line(gy + c * inner + after, 0);
        s4j_prefetch_line(y + c * inner + after, 0);
      }
    }
    s4j_add_terms(kind, &lo, &hi, s4j_load(fmt, gy + c * inner, w), s4j_load(fmt, y + c * inner, w));
  }
  const __m256 sum = s4j_join(lo, hi);
  for (size_t c = 0; c < dim; c++) {
    if (kind == S4J_KIND_LOG_SOFTMAX && next != 0) {
      s4j_prefetch_line(gy + c * inner + next, 0);
      s4j_prefetch_line(y + c * inner + next, 0);
    }
    const __m256 g = s4j_load(fmt, gy + c * inner, w);
    const __m256 o = s4j_load(fmt, y + c * inner, w);
    s4j_store(fmt, gx + c * inner, s4j_backward_lanes(kind, g, o, sum, k), w);
  }
}

/* LogSumExp (kind S4J_KIND_LOGSUMEXP): y is [outer, inner], and the
 * backward's second tensor is the input x. Exps in float, sums in double (a
 * row's in float runs carried in double, as the softmax rows do), m + log(s)
 * in double rounded once to the format; the backward's gy * softmax(x) in
 * float, rounded once. float16 without F16C takes the scalar kernels, as the
 * other kinds do. */

/* A group's max per lane and the sum of exp(x - max) in two double halves;
 * lanes past w sum exp(0 - 0) terms. */
static __m256 s4j_lse_group_max_sum(enum s4j_half_format fmt, size_t dim, size_t inner, size_t w,
                                    size_t next, const uint16_t *x, uint16_t *out, __m256d *lo, __m256d *hi,
                                    const struct s4j_exp_f32_avx2_consts *k) {
  __m256 m = s4j_load(fmt, x, w);
  for (size_t c = 1; c < dim; c++) m = _mm256_max_ps(m, s4j_load(fmt, x + c * inner, w));
  *lo = _mm256_setzero_pd();
  *hi = _mm256_setzero_pd();
  for (size_t c = 0; c < dim; c++) {
    /* The group ahead, as the other kinds (s4j_forward_group): out is gx in
     * the backward, laid out as x; the forward's output is per position. */
    if (next != 0) {
      s4j_prefetch_line(x + c * inner + next, 0);
      if (out != NULL) s4j_prefetch_line(out + c * inner + next, 1);
    }
    s4j_add_wide(lo, hi, s4j_exp_f32_avx2(_mm256_sub_ps(s4j_load(fmt, x + c * inner, w), m), k));
  }
  return m;
}

static void s4j_lse_forward(enum s4j_half_format fmt, size_t outer, size_t dim, size_t inner,
                            const uint16_t *x, uint16_t *y) {
  if (fmt == S4J_HALF_F16 && !s4j_have_f16c()) {
    s4j_x16_softmax_fwd_ukernel__scalar(fmt, S4J_KIND_LOGSUMEXP, outer, dim, inner, x, y);
    return;
  }
  const struct s4j_exp_f32_avx2_consts k = s4j_exp_f32_avx2_init();
  for (size_t o = 0; o < outer; o++) {
    const uint16_t *slab = x + o * dim * inner;
    if (inner == 1) {
      __m256 m;
      const double s = s4j_row_max_sum(fmt, dim, slab, &m, &k);
      y[o] = s4j_f64_to_half(fmt, (double) _mm256_cvtss_f32(m) + s4j_log_f64(s));
      continue;
    }
    for (size_t j = 0; j < inner; j += S4J_W) {
      const size_t w = inner - j < S4J_W ? inner - j : S4J_W;
      __m256d lo, hi;
      const size_t next =
          s4j_group_ahead(o, j, S4J_X16_AHEAD, S4J_W, outer, dim, inner, sizeof(uint16_t));
      const __m256 m = s4j_lse_group_max_sum(fmt, dim, inner, w, next, slab + j, NULL, &lo, &hi, &k);
      float ml[S4J_W];
      double sl[S4J_W];
      _mm256_storeu_ps(ml, m);
      _mm256_storeu_pd(sl, lo);
      _mm256_storeu_pd(sl + 4, hi);
      /* One log and one rounding per position: dim times fewer than the
       * exps, so scalar is enough. */
      for (size_t l = 0; l < w; l++) {
        y[o * inner + j + l] = s4j_f64_to_half(fmt, (double) ml[l] + s4j_log_f64(sl[l]));
      }
    }
  }
}

static void s4j_lse_backward(enum s4j_half_format fmt, size_t outer, size_t dim, size_t inner,
                             const uint16_t *gy, const uint16_t *x, uint16_t *gx) {
  if (fmt == S4J_HALF_F16 && !s4j_have_f16c()) {
    s4j_x16_softmax_bwd_ukernel__scalar(fmt, S4J_KIND_LOGSUMEXP, outer, dim, inner, gy, x, gx);
    return;
  }
  const struct s4j_exp_f32_avx2_consts k = s4j_exp_f32_avx2_init();
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    if (inner == 1) {
      __m256 m;
      const double s = s4j_row_max_sum(fmt, dim, x + base, &m, &k);
      const __m256 t = _mm256_set1_ps((float) (1.0 / s));
      const __m256 g = _mm256_set1_ps(s4j_half_to_f32(fmt, gy[o]));
      for (size_t i = 0; i < dim; i += S4J_W) {
        const size_t w = dim - i < S4J_W ? dim - i : S4J_W;
        const __m256 p = _mm256_mul_ps(s4j_exp_f32_avx2(_mm256_sub_ps(s4j_load(fmt, x + base + i, w), m), &k), t);
        s4j_store(fmt, gx + base + i, _mm256_mul_ps(g, p), w);
      }
      continue;
    }
    for (size_t j = 0; j < inner; j += S4J_W) {
      const size_t w = inner - j < S4J_W ? inner - j : S4J_W;
      __m256d lo, hi;
      const size_t next =
          s4j_group_ahead(o, j, S4J_X16_AHEAD, S4J_W, outer, dim, inner, sizeof(uint16_t));
      const __m256 m = s4j_lse_group_max_sum(fmt, dim, inner, w, next, x + base + j, gx + base + j, &lo, &hi,
                                             &k);
      const __m256d one = _mm256_set1_pd(1.0);
      const __m256 t = s4j_join(_mm256_div_pd(one, lo), _mm256_div_pd(one, hi));
      const __m256 g = s4j_load(fmt, gy + o * inner + j, w);
      for (size_t c = 0; c < dim; c++) {
        const uint16_t *row = x + base + j + c * inner;
        const __m256 p = _mm256_mul_ps(s4j_exp_f32_avx2(_mm256_sub_ps(s4j_load(fmt, row, w), m), &k), t);
        s4j_store(fmt, gx + base + j + c * inner, _mm256_mul_ps(g, p), w);
      }
    }
  }
}

void s4j_x16_softmax_fwd_ukernel__avx2(enum s4j_half_format fmt, enum s4j_softmax_kind kind,
                                         size_t outer, size_t dim, size_t inner,
                                         const uint16_t *x, uint16_t *y) {
  if (kind == S4J_KIND_LOGSUMEXP) {
    s4j_lse_forward(fmt, outer, dim, inner, x, y);
    return;
  }
  if (fmt == S4J_HALF_F16 && !s4j_have_f16c()) {
    s4j_x16_softmax_fwd_ukernel__scalar(fmt, kind, outer, dim, inner, x, y);
    return;
  }
  const struct s4j_exp_f32_avx2_consts k = s4j_exp_f32_avx2_init();
  if (inner == 1) {
    if (dim >= S4J_W) {
      if (dim <= S4J_X16_SHORT_COLS) {
        s4j_forward_short(fmt, kind, outer, dim, x, y, &k);
      } else {
        s4j_forward_rows(fmt, kind, outer, dim, x, y, &k);
      }
      return;
    }
    for (size_t o = 0; o < outer; o++) s4j_forward_row(fmt, kind, dim, x + o * dim, y + o * dim, &k);
    return;
  }
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    for (size_t j = 0; j < inner; j += S4J_W) {
      const size_t w = inner - j < S4J_W ? inner - j : S4J_W;
      const size_t next =
          s4j_group_ahead(o, j, S4J_X16_AHEAD, S4J_W, outer, dim, inner, sizeof(uint16_t));
      s4j_forward_group(fmt, kind, dim, inner, w, next, x + base + j, y + base + j, &k);
    }
  }
}

void s4j_x16_softmax_bwd_ukernel__avx2(enum s4j_half_format fmt, enum s4j_softmax_kind kind,
                                         size_t outer, size_t dim, size_t inner,
                                         const uint16_t *gy, const uint16_t *y, uint16_t *gx) {
  if (kind == S4J_KIND_LOGSUMEXP) {
    s4j_lse_backward(fmt, outer, dim, inner, gy, y, gx);
    return;
  }
  if (fmt == S4J_HALF_F16 && !s4j_have_f16c()) {
    s4j_x16_softmax_bwd_ukernel__scalar(fmt, kind, outer, dim, inner, gy, y, gx);
    return;
  }
  const struct s4j_exp_f32_avx2_consts k = s4j_exp_f32_avx2_init();
  if (inner == 1) {
    if (dim >= S4J_W) {
      s4j_backward_rows(fmt, kind, outer, dim, gy, y, gx, &k);
      return;
    }
    for (size_t o = 0; o < outer; o++) {
      s4j_backward_row(fmt, kind, dim, gy + o * dim, y + o * dim, gx + o * dim, &k);
    }
    return;
  }
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    for (size_t j = 0; j < inner; j += S4J_W) {
      const size_t w = inner - j < S4J_W ? inner - j : S4J_W;
      const size_t next =
          s4j_group_ahead(o, j, S4J_X16_AHEAD, S4J_W, outer, dim, inner, sizeof(uint16_t));
      const size_t after =
          s4j_group_ahead(o, j, 2 * S4J_X16_AHEAD, S4J_W, outer, dim, inner, sizeof(uint16_t));
      s4j_backward_group(fmt, kind, dim, inner, w, next, after, gy + base + j, y + base + j,
                         gx + base + j, &k);
    }
  }
}

void s4j_math_half_narrow__avx2(enum s4j_half_format fmt, size_t n, const float *x, uint16_t *y) {
  if (fmt == S4J_HALF_F16 && !s4j_have_f16c()) {
    s4j_math_half_narrow__scalar(fmt, n, x, y);
    return;
  }
  size_t i = 0;
  for (; i + S4J_W <= n; i += S4J_W) s4j_store16(fmt, y + i, _mm256_loadu_ps(x + i));
  if (i < n) s4j_store_part(fmt, y + i, _mm256_maskload_ps(x + i, _mm256_castps_si256(s4j_lanes(n - i))), n - i);
}
