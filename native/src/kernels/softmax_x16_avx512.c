/*
 * softmax_x16_avx512.c - bfloat16 and float16 log-softmax and softmax over
 * any dimension with AVX-512F: 16 elements per vector, widened to float on
 * load, computed as the float32 kernels do (exp rr2_p6 in float, sums in
 * double, log in double), rounded to nearest even on store.
 *
 * inner == 1: each row reduced along its length, rows of 16 elements or
 * more by the row path below (the float32 row kernels' techniques: see
 * "The row path"); inner > 1: 16 positions per vector walking `dim`.
 * Partial vectors (group tails, rows under 16) go through a 16-element
 * buffer, so the variant needs no AVX-512BW.
 *
 * AVX512_BF16's vcvtneps2bf16 is not used for the stores: it flushes
 * subnormal inputs to zero, so it would not give half.h's bits for them.
 */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kernels/log_softmax_f32.h" /* S4J_STREAM_MIN_BYTES */
#include "kernels/softmax_x16.h"
#include "math/exp_f32_avx512.h"
#include "math/half.h"
#include "math/lanes_avx512.h"
#include "math/log_f32_avx512.h"
#include "math/log_f64.h"
#include "math/log_f64_avx512.h"

static inline __m512 s4j_load16(enum s4j_half_format fmt, const uint16_t *p) {
  const __m256i h = _mm256_loadu_si256((const __m256i *) (const void *) p);
  if (fmt == S4J_HALF_BF16) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
  return _mm512_cvtph_ps(h);
}

/* The first n < 16 elements; the other lanes are +0. */
static inline __m512 s4j_load_part(enum s4j_half_format fmt, const uint16_t *p, size_t n) {
  uint16_t buf[16] = {0};
  memcpy(buf, p, n * sizeof *p);
  return s4j_load16(fmt, buf);
}

static inline __m256i s4j_narrow(enum s4j_half_format fmt, __m512 v) {
  if (fmt == S4J_HALF_F16) return _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  /* half.h's bfloat16 rounding, 16 lanes at a time. */
  const __m512i bits = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  const __m512i bias = _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff));
  const __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(bits, bias), 16);
  const __m512i quiet = _mm512_or_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(0x40));
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  return _mm512_cvtepi32_epi16(_mm512_mask_mov_epi32(rounded, nan, quiet));
}

static inline void s4j_store16(enum s4j_half_format fmt, uint16_t *p, __m512 v) {
  _mm256_storeu_si256((__m256i *) (void *) p, s4j_narrow(fmt, v));
}

static inline void s4j_store_part(enum s4j_half_format fmt, uint16_t *p, __m512 v, size_t n) {
  uint16_t buf[16];
  _mm256_storeu_si256((__m256i *) (void *) buf, s4j_narrow(fmt, v));
  memcpy(p, buf, n * sizeof *p);
}

/* Element i of a row or a group: a full vector or the n-lane tail. */
static inline __m512 s4j_load(enum s4j_half_format fmt, const uint16_t *p, size_t n) {
  return n == 16 ? s4j_load16(fmt, p) : s4j_load_part(fmt, p, n);
}

static inline void s4j_store(enum s4j_half_format fmt, uint16_t *p, __m512 v, size_t n) {
  if (n == 16) {
    s4j_store16(fmt, p, v);
  } else {
    s4j_store_part(fmt, p, v, n);
  }
}

/* Both halves of a float vector, widened, added to two double vectors. */
static inline void s4j_add_wide(__m512d *lo, __m512d *hi, __m512 v) {
  *lo = _mm512_add_pd(*lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
  *hi = _mm512_add_pd(*hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
}

static inline __mmask16 s4j_lanes(size_t n) {
  return (__mmask16) ((1u << n) - 1u);
}

/* A row's max (broadcast) and the sum of exp(x - max). */
static double s4j_row_max_sum(enum s4j_half_format fmt, size_t n, const uint16_t *x,
                            __m512 *max, const struct s4j_exp_f32_avx512_consts *k) {
  __m512 vm = _mm512_set1_ps(-__builtin_inff());
  for (size_t i = 0; i < n; i += 16) {
    const size_t w = n - i < 16 ? n - i : 16;
    vm = _mm512_mask_max_ps(vm, s4j_lanes(w), vm, s4j_load(fmt, x + i, w));
  }
  /* A NaN the max drops still makes its exp, and the sum, NaN. */
  const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(vm));
  /* Runs of S4J_DIM_FLOAT_RUN vectors add up in float (terms <= 1: at most
   * 7 ulp relative per run, far below the formats' ulp), each run's total in
   * double; two accumulators keep the adds independent. */
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  const size_t full = n & ~(size_t) 15;
  for (size_t i0 = 0; i0 < full; i0 += 16 * S4J_DIM_FLOAT_RUN) {
    const size_t i1 = full - i0 < 16 * S4J_DIM_FLOAT_RUN ? full : i0 + 16 * S4J_DIM_FLOAT_RUN;
    __m512 run0 = _mm512_setzero_ps(), run1 = _mm512_setzero_ps();
    size_t i = i0;
    for (; i + 32 <= i1; i += 32) {
      run0 = _mm512_add_ps(run0, s4j_exp_f32_avx512(_mm512_sub_ps(s4j_load16(fmt, x + i), m), k));
      run1 = _mm512_add_ps(run1, s4j_exp_f32_avx512(_mm512_sub_ps(s4j_load16(fmt, x + i + 16), m), k));
    }
    if (i < i1) run0 = _mm512_add_ps(run0, s4j_exp_f32_avx512(_mm512_sub_ps(s4j_load16(fmt, x + i), m), k));
    s4j_add_wide(&lo, &hi, _mm512_add_ps(run0, run1));
  }
  if (full < n) {
    const __m512 e = s4j_exp_f32_avx512(_mm512_sub_ps(s4j_load_part(fmt, x + full, n - full), m), k);
    s4j_add_wide(&lo, &hi, _mm512_maskz_mov_ps(s4j_lanes(n - full), e));
  }
  *max = m;
  return _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
}

static void s4j_forward_row(enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t n,
                            const uint16_t *x, uint16_t *y,
                            const struct s4j_exp_f32_avx512_consts *k) {
  __m512 m;
  const double s = s4j_row_max_sum(fmt, n, x, &m, k);

  if (kind == S4J_KIND_LOG_SOFTMAX) {
    const __m512 t = _mm512_set1_ps((float) s4j_log_f64(s));
    for (size_t i = 0; i < n; i += 16) {
      const size_t w = n - i < 16 ? n - i : 16;
      s4j_store(fmt, y + i, _mm512_sub_ps(_mm512_sub_ps(s4j_load(fmt, x + i, w), m), t), w);
    }
  } else {
    const __m512 t = _mm512_set1_ps((float) (1.0 / s));
    for (size_t i = 0; i < n; i += 16) {
      const size_t w = n - i < 16 ? n - i : 16;
      const __m512 e = s4j_exp_f32_avx512(_mm512_sub_ps(s4j_load(fmt, x + i, w), m), k);
      s4j_store(fmt, y + i, _mm512_mul_ps(e, t), w);
    }
  }
}

/* The backward's sum terms, widened: gy, or gy * y (exact in double). */
static inline void s4j_add_terms(enum s4j_softmax_kind kind, __m512d *lo, __m512d *hi, __m512 g,
                                 __m512 o) {
  if (kind == S4J_KIND_LOG_SOFTMAX) {
    s4j_add_wide(lo, hi, g);
    return;
  }
  const __m512d glo = _mm512_cvtps_pd(_mm512_castps512_ps256(g));
  const __m512d ghi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(g), 1)));
  const __m512d olo = _mm512_cvtps_pd(_mm512_castps512_ps256(o));
  const __m512d ohi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(o), 1)));
  *lo = _mm512_add_pd(*lo, _mm512_mul_pd(glo, olo));
  *hi = _mm512_add_pd(*hi, _mm512_mul_pd(ghi, ohi));
}

static inline __m512 s4j_backward_lanes(enum s4j_softmax_kind kind, __m512 g, __m512 o, __m512 sum,
                                        const struct s4j_exp_f32_avx512_consts *k) {
  /* Two roundings, as the float32 kernels: exp(y) * S, then gy minus it. */
  return kind == S4J_KIND_LOG_SOFTMAX ? _mm512_sub_ps(g, _mm512_mul_ps(s4j_exp_f32_avx512(o, k), sum))
                                      : _mm512_mul_ps(o, _mm512_sub_ps(g, sum));
}

static void s4j_backward_row(enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t n,
                             const uint16_t *gy, const uint16_t *y, uint16_t *gx,
                             const struct s4j_exp_f32_avx512_consts *k) {
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  for (size_t i = 0; i < n; i += 16) {
    const size_t w = n - i < 16 ? n - i : 16;
    /* Partial loads fill the other lanes with +0: they add nothing. */
    s4j_add_terms(kind, &lo, &hi, s4j_load(fmt, gy + i, w), s4j_load(fmt, y + i, w));
  }
  const __m512 sum = _mm512_set1_ps((float) _mm512_reduce_add_pd(_mm512_add_pd(lo, hi)));
  for (size_t i = 0; i < n; i += 16) {
    const size_t w = n - i < 16 ? n - i : 16;
    s4j_store(fmt, gx + i, s4j_backward_lanes(kind, s4j_load(fmt, gy + i, w), s4j_load(fmt, y + i, w), sum, k), w);
  }
}

/*
 * The row path for rows of at least one vector (16 elements), built as the
 * float32 row kernels are (log_softmax_f32_avx512.c, softmax_rows_f32_avx512.c):
 * 4 vectors and 4 accumulators per iteration, the sum-only exp (rr1_p5) for
 * the log-softmax sum, float blocks of S4J_X16_BLOCK elements carried in
 * double, and non-temporal stores for outputs of at least
 * S4J_STREAM_MIN_BYTES. Measured with `s4j_bench --groups dtypes`.
 *
 * Elements go 32 at a time as a pair of float vectors (s4j_load_pair). For
 * bfloat16 the pair is the even and the odd elements of one 64-byte load,
 * widened by a shift and a mask in place (no vpmovzxwd), and the outputs go
 * back the same way, two roundings merged into one 64-byte store (no
 * vpmovdw): a max and a sum do not care about order, and every output lane
 * goes back where its input came from. For float16 the pair is two
 * vcvtph2ps. Then at most one whole vector, then the row's last n % 16
 * elements as the last whole vector of the row, x + n - 16: the max takes
 * its lanes twice (harmless), the sums mask off the lanes already counted,
 * and the output stores the overlapping lanes a second time with the same
 * bits. In place (y == x), that last vector is loaded before any store of
 * the row. No partial loads or stores: no AVX-512BW needed.
 *
 * Softmax rows of at most S4J_X16_SCRATCH elements keep their exps in a
 * float buffer on the stack (in L1), as the float32 kernel keeps them in y:
 * one exp per element instead of one for the sum and one for the output.
 */
#define S4J_X16_BLOCK 1024
#define S4J_X16_SCRATCH 4096

/* Lanes [16 - rem, 16): the rem elements of the overlapping last vector
 * that the whole vectors before it did not cover. */
static inline __mmask16 s4j_last_lanes(size_t rem) {
  return _cvtu32_mask16(0xffffu & ~((1u << (16u - (uint32_t) rem)) - 1u));
}

/* The double row total (two 8-lane halves) += the 16 float lanes of a block. */
static inline void s4j_add_block(__m512d *lo, __m512d *hi, __m512 v) {
  *lo = _mm512_add_pd(*lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
  *hi = _mm512_add_pd(*hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
}

/*
 * Out of cache, the first pass over a row waits for memory while the
 * others compute on a row already in cache. So for rows of at most 16 KB
 * each row's compute-heavy pass prefetches the next row's inputs into L1
 * (rows are contiguous: x + n), 64 bytes per 32 elements: the memory reads
 * overlap with the exps instead of taking turns with them ([2048,4096]:
 * +10-40 %). Longer rows do not fit L1 beside the current one; prefetching
 * them into L2 measured no better than none ([256,32000]).
 */
#define S4J_X16_PREFETCH_MAX_BYTES ((size_t) 16 << 10)

static inline void s4j_prefetch_row(const uint16_t *p, int near) {
  if (near) _mm_prefetch((const char *) p, _MM_HINT_T0);
}

/* 32 elements at p, exactly, as two float vectors (see above). */
static inline __attribute__((always_inline)) void s4j_load_pair(enum s4j_half_format fmt, const uint16_t *p,
                                                                __m512 *a, __m512 *b) {
  if (fmt == S4J_HALF_BF16) {
    const __m512i v = _mm512_loadu_si512((const void *) p);
    *a = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
    *b = _mm512_castsi512_ps(_mm512_and_si512(v, _mm512_set1_epi32((int32_t) 0xffff0000u)));
  } else {
    *a = s4j_load16(fmt, p);
    *b = s4j_load16(fmt, p + 16);
  }
}

/* bfloat16 round to nearest even of each lane, the result in the upper 16
 * bits (the lower bits are not cleared). `nan`: NaN lanes become their
 * upper half quieted, as half.h does; without it a NaN lane would round
 * like a number, so callers pass 0 only when no lane can be NaN. */
static inline __m512i s4j_bf16_round_hi(__m512 v, int nan) {
  const __m512i bits = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  const __m512i r = _mm512_add_epi32(bits, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
  if (!nan) return r;
  const __mmask16 m = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  return _mm512_mask_or_epi32(r, m, bits, _mm512_set1_epi32(0x00400000));
}

/* Stores a pair made by s4j_load_pair back to its 32 elements, each
 * rounded once to nearest even. `stream`: p is 64-byte aligned, store
 * non-temporally. */
static inline __attribute__((always_inline)) void s4j_store_pair(enum s4j_half_format fmt, uint16_t *p,
                                                                 __m512 a, __m512 b, int nan, int stream) {
  if (fmt == S4J_HALF_BF16) {
    const __m512i lo = _mm512_srli_epi32(s4j_bf16_round_hi(a, nan), 16);
    /* lo | (hi & 0xffff0000) */
    const __m512i v = _mm512_ternarylogic_epi32(lo, s4j_bf16_round_hi(b, nan),
                                                _mm512_set1_epi32((int32_t) 0xffff0000u), 0xf8);
    if (stream) {
      _mm512_stream_si512((void *) p, v);
    } else {
      _mm512_storeu_si512((void *) p, v);
    }
  } else if (stream) {
    _mm256_stream_si256((__m256i *) (void *) p, s4j_narrow(fmt, a));
    _mm256_stream_si256((__m256i *) (void *) (p + 16), s4j_narrow(fmt, b));
  } else {
    s4j_store16(fmt, p, a);
    s4j_store16(fmt, p + 16, b);
  }
}

static inline __attribute__((always_inline)) float s4j_rows_max(enum s4j_half_format fmt, size_t n,
                                                                const uint16_t *x) {
  __m512 m0 = s4j_load16(fmt, x + n - 16), m1 = m0, m2 = m0, m3 = m0;
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    __m512 a0, b0, a1, b1;
    s4j_load_pair(fmt, x + i, &a0, &b0);
    s4j_load_pair(fmt, x + i + 32, &a1, &b1);
    m0 = _mm512_max_ps(m0, a0);
    m1 = _mm512_max_ps(m1, b0);
    m2 = _mm512_max_ps(m2, a1);
    m3 = _mm512_max_ps(m3, b1);
  }
  for (; i + 16 <= n; i += 16) m0 = _mm512_max_ps(m0, s4j_load16(fmt, x + i));
  /* A NaN the max drops still makes its exp, and the sum, NaN. */
  return _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3)));
}

/* The exp of the sum pass: the sum-only one, or (softmax with a scratch)
 * the faithful one, whose values are also the outputs. */
static inline __attribute__((always_inline)) __m512 s4j_rows_exp(
    int faithful, __m512 d, const struct s4j_exp_f32_avx512_consts *k,
    const struct s4j_expsum_f32_avx512_consts *ks) {
  return faithful ? s4j_exp_f32_avx512(d, k) : s4j_expsum_f32_avx512(d, ks);
}

/* sum(exp(x - m)) over a row of n >= 16, each block of S4J_X16_BLOCK
 * summed in float (as the float32 kernels), the blocks in double. With
 * `e` (softmax, n <= S4J_X16_SCRATCH), the faithful exps are also written
 * there, in the order s4j_rows_scale reads them back. */
static inline __attribute__((always_inline)) double s4j_rows_sum_exp(
    enum s4j_half_format fmt, size_t n, const uint16_t *x, float m, float *e,
    const struct s4j_exp_f32_avx512_consts *k, const struct s4j_expsum_f32_avx512_consts *ks) {
  const int f = e != NULL;
  const int l1 = n * sizeof *x <= S4J_X16_PREFETCH_MAX_BYTES;
  const __m512 vm = _mm512_set1_ps(m);
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  size_t i = 0;
  while (i + 16 <= n) {
    const size_t left = n - i, end = left > S4J_X16_BLOCK ? i + S4J_X16_BLOCK : n;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (; i + 64 <= end; i += 64) {
      __m512 v0, v1, v2, v3;
      s4j_prefetch_row(x + n + i, l1);
      s4j_prefetch_row(x + n + i + 32, l1);
      s4j_load_pair(fmt, x + i, &v0, &v1);
      s4j_load_pair(fmt, x + i + 32, &v2, &v3);
      const __m512 e0 = s4j_rows_exp(f, _mm512_sub_ps(v0, vm), k, ks);
      const __m512 e1 = s4j_rows_exp(f, _mm512_sub_ps(v1, vm), k, ks);
      const __m512 e2 = s4j_rows_exp(f, _mm512_sub_ps(v2, vm), k, ks);
      const __m512 e3 = s4j_rows_exp(f, _mm512_sub_ps(v3, vm), k, ks);
      if (f) {
        _mm512_store_ps(e + i, e0);
        _mm512_store_ps(e + i + 16, e1);
        _mm512_store_ps(e + i + 32, e2);
        _mm512_store_ps(e + i + 48, e3);
      }
      a0 = _mm512_add_ps(a0, e0);
      a1 = _mm512_add_ps(a1, e1);
      a2 = _mm512_add_ps(a2, e2);
      a3 = _mm512_add_ps(a3, e3);
    }
    if (i + 32 <= end) {
      __m512 v0, v1;
      s4j_load_pair(fmt, x + i, &v0, &v1);
      const __m512 e0 = s4j_rows_exp(f, _mm512_sub_ps(v0, vm), k, ks);
      const __m512 e1 = s4j_rows_exp(f, _mm512_sub_ps(v1, vm), k, ks);
      if (f) {
        _mm512_store_ps(e + i, e0);
        _mm512_store_ps(e + i + 16, e1);
      }
      a0 = _mm512_add_ps(a0, e0);
      a1 = _mm512_add_ps(a1, e1);
      i += 32;
    }
    if (i + 16 <= end) {
      const __m512 e0 = s4j_rows_exp(f, _mm512_sub_ps(s4j_load16(fmt, x + i), vm), k, ks);
      if (f) _mm512_store_ps(e + i, e0);
      a2 = _mm512_add_ps(a2, e0);
      i += 16;
    }
    s4j_add_block(&lo, &hi, _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    if (end == n) break;
  }
  if (i < n) {
    const __m512 el = s4j_rows_exp(f, _mm512_sub_ps(s4j_load16(fmt, x + n - 16), vm), k, ks);
    if (f) _mm512_store_ps(e + S4J_X16_SCRATCH, el);
    s4j_add_block(&lo, &hi, _mm512_maskz_mov_ps(s4j_last_lanes(n - i), el));
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
}

/* Elements before p is 64-byte aligned (0 when p is not even 2-byte
 * aligned: such an output is not streamed). */
static inline size_t s4j_rows_head(const uint16_t *p) {
  const uintptr_t a = (uintptr_t) p;
  return (size_t) (((64u - (a & 63u)) & 63u) / 2u);
}

/* What a forward output lane is made of. */
enum s4j_rows_out {
  S4J_ROWS_LOG,     /* (x - m) - t, t = log(sum) */
  S4J_ROWS_EXP,     /* exp(x - m) * t, t = 1 / sum, the exp computed again */
  S4J_ROWS_SCRATCH  /* e * t, the exps read back from the scratch */
};

static inline __attribute__((always_inline)) __m512 s4j_rows_fwd_lanes(
    enum s4j_rows_out mode, __m512 v, __m512 vm, __m512 vt, const struct s4j_exp_f32_avx512_consts *k) {
  if (mode == S4J_ROWS_SCRATCH) return _mm512_mul_ps(v, vt);
  const __m512 d = _mm512_sub_ps(v, vm);
  return mode == S4J_ROWS_LOG ? _mm512_sub_ps(d, vt) : _mm512_mul_ps(s4j_exp_f32_avx512(d, k), vt);
}

/* The source pair at i: x's elements, or the scratch's exps. */
static inline __attribute__((always_inline)) void s4j_rows_src_pair(
    enum s4j_half_format fmt, enum s4j_rows_out mode, const uint16_t *x, const float *e, size_t i,
    __m512 *a, __m512 *b) {
  if (mode == S4J_ROWS_SCRATCH) {
    *a = _mm512_load_ps(e + i);
    *b = _mm512_load_ps(e + i + 16);
  } else {
    s4j_load_pair(fmt, x + i, a, b);
  }
}

/*
 * Writes one forward row of n >= 16 elements. `stream`: non-temporal
 * stores from the first 64-byte boundary of y on, the elements before it
 * stored exactly (recomputed from x). The scratch's exps are laid out from
 * element 0, so a scratch row streams only when y itself is aligned.
 * `nan`: whether an output can be NaN (the row's sum is not finite).
 */
static inline __attribute__((always_inline)) void s4j_rows_fwd_out(
    enum s4j_half_format fmt, enum s4j_rows_out mode, size_t n, const uint16_t *x, const float *e,
    uint16_t *y, float m, float t, int stream, int nan, const struct s4j_exp_f32_avx512_consts *k) {
  const __m512 vm = _mm512_set1_ps(m), vt = _mm512_set1_ps(t);
  /* Before any store: y may be x. */
  const __m512 last = mode == S4J_ROWS_SCRATCH ? _mm512_load_ps(e + S4J_X16_SCRATCH) : s4j_load16(fmt, x + n - 16);
  size_t i = 0;
  if (stream) {
    const size_t head = s4j_rows_head(y);
    if (((uintptr_t) y & 1u) != 0 || (head != 0 && (mode == S4J_ROWS_SCRATCH || head + 16 > n))) {
      stream = 0;
    } else {
      const enum s4j_rows_out direct = mode == S4J_ROWS_SCRATCH ? S4J_ROWS_EXP : mode;
      for (; i < head; i += 16) {
        const size_t w = head - i < 16 ? head - i : 16;
        s4j_store_part(fmt, y + i, s4j_rows_fwd_lanes(direct, s4j_load16(fmt, x + i), vm, vt, k), w);
      }
      i = head;
    }
  }
  for (; i + 64 <= n; i += 64) {
    __m512 a0, b0, a1, b1;
    s4j_rows_src_pair(fmt, mode, x, e, i, &a0, &b0);
    s4j_rows_src_pair(fmt, mode, x, e, i + 32, &a1, &b1);
    a0 = s4j_rows_fwd_lanes(mode, a0, vm, vt, k);
    b0 = s4j_rows_fwd_lanes(mode, b0, vm, vt, k);
    a1 = s4j_rows_fwd_lanes(mode, a1, vm, vt, k);
    b1 = s4j_rows_fwd_lanes(mode, b1, vm, vt, k);
    s4j_store_pair(fmt, y + i, a0, b0, nan, stream);
    s4j_store_pair(fmt, y + i + 32, a1, b1, nan, stream);
  }
  if (i + 32 <= n) {
    __m512 a0, b0;
    s4j_rows_src_pair(fmt, mode, x, e, i, &a0, &b0);
    s4j_store_pair(fmt, y + i, s4j_rows_fwd_lanes(mode, a0, vm, vt, k), s4j_rows_fwd_lanes(mode, b0, vm, vt, k),
                   nan, stream);
    i += 32;
  }
  if (i + 16 <= n) {
    const __m512 v = mode == S4J_ROWS_SCRATCH ? _mm512_load_ps(e + i) : s4j_load16(fmt, x + i);
    s4j_store16(fmt, y + i, s4j_rows_fwd_lanes(mode, v, vm, vt, k));
    i += 16;
  }
  if (i < n) s4j_store16(fmt, y + n - 16, s4j_rows_fwd_lanes(mode, last, vm, vt, k));
}

/* Whether the output of a call, rows x n 16-bit elements, is streamed. */
static inline int s4j_rows_stream(size_t rows, size_t n) {
  return rows * n * sizeof(uint16_t) >= S4J_STREAM_MIN_BYTES;
}

/* fmt and kind are constants in each instantiation (s4j_forward_rows). */
static inline __attribute__((always_inline)) void s4j_forward_rows_as(
    enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t rows, size_t n, const uint16_t *x,
    uint16_t *y, const struct s4j_exp_f32_avx512_consts *k) {
  const struct s4j_expsum_f32_avx512_consts ks = s4j_expsum_f32_avx512_init();
  const int stream = s4j_rows_stream(rows, n);
  float e[S4J_X16_SCRATCH + 16] __attribute__((aligned(64)));
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
                             const uint16_t *x, uint16_t *y, const struct s4j_exp_f32_avx512_consts *k) {
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
 * Forward rows of 16 .. S4J_X16_SHORT_COLS elements: the whole row in
 * registers (up to 8 vectors, the last one overlapping), read once, every
 * reduction across the lanes in registers and the float log of log_f32.h
 * on the broadcast sum, as the float32 short rows (log_softmax_f32_avx512.c):
 * for such rows the passes, scalar reductions and double log of the long
 * path cost more than the arithmetic. The sum is a float tree of at most 8
 * terms per lane, then 4 levels across the lanes: relative error <= 7 *
 * 2^-24 = 4.2e-7, besides the exp's own.
 */
#define S4J_X16_SHORT_VECS 8
#define S4J_X16_SHORT_COLS (16 * S4J_X16_SHORT_VECS)

/* One vector, rounded; `nan` as in s4j_bf16_round_hi. */
static inline __attribute__((always_inline)) void s4j_store16_as(enum s4j_half_format fmt, uint16_t *p,
                                                                 __m512 v, int nan) {
  if (fmt == S4J_HALF_BF16 && !nan) {
    const __m256i h = _mm512_cvtepi32_epi16(_mm512_srli_epi32(s4j_bf16_round_hi(v, 0), 16));
    _mm256_storeu_si256((__m256i *) (void *) p, h);
  } else {
    s4j_store16(fmt, p, v);
  }
}

/* nv = ceil(n / 16) vectors per row, a constant in each instantiation; the
 * rows are independent, so one row's reductions and log overlap with the
 * next rows' loads and exps. */
static inline __attribute__((always_inline)) void s4j_forward_short_as(
    enum s4j_half_format fmt, enum s4j_softmax_kind kind, const int nv, size_t rows, size_t n,
    const uint16_t *x, uint16_t *y, const struct s4j_exp_f32_avx512_consts *k,
    const struct s4j_expsum_f32_avx512_consts *ks) {
  /* The last vector starts at n - 16; its lanes below `keep` were counted
   * by the vector before it. */
  const size_t at_last = n - 16;
  const __mmask16 keep = n % 16 == 0 ? _cvtu32_mask16(0xffffu) : s4j_last_lanes(n % 16);
  for (size_t r = 0; r < rows; r++, x += n, y += n) {
    __m512 v[S4J_X16_SHORT_VECS];
#pragma GCC unroll 8
    for (int j = 0; j < nv - 1; j++) v[j] = s4j_load16(fmt, x + 16 * j);
    v[nv - 1] = s4j_load16(fmt, x + at_last);
    __m512 vmax = v[0];
#pragma GCC unroll 8
    for (int j = 1; j < nv; j++) vmax = _mm512_max_ps(vmax, v[j]);
    vmax = s4j_allmax(vmax);
    __m512 ve[S4J_X16_SHORT_VECS];
#pragma GCC unroll 8
    for (int j = 0; j < nv; j++) {
      v[j] = _mm512_sub_ps(v[j], vmax);
      ve[j] = kind == S4J_KIND_LOG_SOFTMAX ? s4j_expsum_f32_avx512(v[j], ks) : s4j_exp_f32_avx512(v[j], k);
    }
    __m512 vs[S4J_X16_SHORT_VECS];
#pragma GCC unroll 8
    for (int j = 0; j < nv; j++) vs[j] = ve[j];
    vs[nv - 1] = _mm512_maskz_mov_ps(keep, vs[nv - 1]);
    /* Pairwise over the vectors, then across the lanes. */
#pragma GCC unroll 8
    for (int w = 1; w < nv; w *= 2) {
#pragma GCC unroll 8
      for (int j = 0; j + w < nv; j += 2 * w) vs[j] = _mm512_add_ps(vs[j], vs[j + w]);
    }
    const __m512 vsum = s4j_allsum(vs[0]);
    /* A sum that is not finite comes from a NaN or +inf input. */
    const int nan = _mm512_cmp_ps_mask(vsum, _mm512_set1_ps(__builtin_inff()), _CMP_LT_OQ) == 0;
    if (kind == S4J_KIND_LOG_SOFTMAX) {
      const __m512 vt = s4j_log_f32_avx512(vsum);
#pragma GCC unroll 8
      for (int j = 0; j < nv - 1; j++) s4j_store16_as(fmt, y + 16 * j, _mm512_sub_ps(v[j], vt), nan);
      s4j_store16_as(fmt, y + at_last, _mm512_sub_ps(v[nv - 1], vt), nan);
    } else {
      const __m512 vt = _mm512_div_ps(_mm512_set1_ps(1.0f), vsum);
#pragma GCC unroll 8
      for (int j = 0; j < nv - 1; j++) s4j_store16_as(fmt, y + 16 * j, _mm512_mul_ps(ve[j], vt), nan);
      s4j_store16_as(fmt, y + at_last, _mm512_mul_ps(ve[nv - 1], vt), nan);
    }
  }
}

static inline __attribute__((always_inline)) void s4j_forward_short_fk(
    enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t rows, size_t n, const uint16_t *x,
    uint16_t *y, const struct s4j_exp_f32_avx512_consts *k) {
  const struct s4j_expsum_f32_avx512_consts ks = s4j_expsum_f32_avx512_init();
  switch ((n + 15) / 16) {
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

/* Rows of 16 <= n <= S4J_X16_SHORT_COLS. */
static void s4j_forward_short(enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t rows, size_t n,
                              const uint16_t *x, uint16_t *y, const struct s4j_exp_f32_avx512_consts *k) {
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
 * The backward's sum over a row of n >= 16: sum(gy) (log-softmax) or
 * sum(gy * y) (softmax), every term widened to double exactly (a product
 * of two floats is exact there) and added in double, as the float32
 * backward kernels do: the gradients can cancel.
 */
static inline void s4j_rows_add_terms(enum s4j_softmax_kind kind, __m512d *lo, __m512d *hi, __m512 g,
                                      __m512 o) {
  const __m512d glo = _mm512_cvtps_pd(_mm512_castps512_ps256(g));
  const __m512d ghi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(g, 1));
  if (kind == S4J_KIND_LOG_SOFTMAX) {
    *lo = _mm512_add_pd(*lo, glo);
    *hi = _mm512_add_pd(*hi, ghi);
  } else {
    /* fma: the exact product, added with one rounding, as mul then add. */
    *lo = _mm512_fmadd_pd(glo, _mm512_cvtps_pd(_mm512_castps512_ps256(o)), *lo);
    *hi = _mm512_fmadd_pd(ghi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(o, 1)), *hi);
  }
}

static inline __attribute__((always_inline)) double s4j_rows_grad_sum(
    enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t n, const uint16_t *gy, const uint16_t *y) {
  const int sm = kind == S4J_KIND_SOFTMAX;
  __m512d a0 = _mm512_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
  __m512 o0 = _mm512_setzero_ps(), o1 = o0;
  size_t i = 0;
  const int l1 = n * sizeof *y <= S4J_X16_PREFETCH_MAX_BYTES;
  for (; i + 32 <= n; i += 32) {
    __m512 g0, g1;
    /* Log-softmax: y, which the output pass reads next. */
    if (!sm) s4j_prefetch_row(y + i, l1);
    s4j_load_pair(fmt, gy + i, &g0, &g1);
    if (sm) s4j_load_pair(fmt, y + i, &o0, &o1);
    s4j_rows_add_terms(kind, &a0, &a1, g0, o0);
    s4j_rows_add_terms(kind, &a2, &a3, g1, o1);
  }
  if (i + 16 <= n) {
    if (sm) o0 = s4j_load16(fmt, y + i);
    s4j_rows_add_terms(kind, &a0, &a1, s4j_load16(fmt, gy + i), o0);
    i += 16;
  }
  if (i < n) {
    /* The last whole vector with the lanes already counted set to +0. */
    const __mmask16 keep = s4j_last_lanes(n - i);
    if (sm) o0 = _mm512_maskz_mov_ps(keep, s4j_load16(fmt, y + n - 16));
    s4j_rows_add_terms(kind, &a2, &a3, _mm512_maskz_mov_ps(keep, s4j_load16(fmt, gy + n - 16)), o0);
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(a0, a1), _mm512_add_pd(a2, a3)));
}

/* One gradient vector: gy - exp(y) * sum with one rounding (as the float32
 * log-softmax backward), or y * (gy - sum). */
static inline __attribute__((always_inline)) __m512 s4j_rows_bwd_lanes(
    enum s4j_softmax_kind kind, __m512 g, __m512 o, __m512 vs, const struct s4j_exp_f32_avx512_consts *k) {
  return kind == S4J_KIND_LOG_SOFTMAX ? _mm512_fnmadd_ps(s4j_expgrad_f32_avx512(o, k), vs, g)
                                      : _mm512_mul_ps(o, _mm512_sub_ps(g, vs));
}

/* Writes one gradient row of n >= 16 (as s4j_rows_fwd_out). */
static inline __attribute__((always_inline)) void s4j_rows_bwd_out(
    enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t n, const uint16_t *gy, const uint16_t *y,
    uint16_t *gx, float s, int stream, const struct s4j_exp_f32_avx512_consts *k) {
  const __m512 vs = _mm512_set1_ps(s);
  /* Before any store: gx may be gy or y. */
  const __m512 glast = s4j_load16(fmt, gy + n - 16), olast = s4j_load16(fmt, y + n - 16);
  size_t i = 0;
  if (stream) {
    const size_t head = s4j_rows_head(gx);
    if (((uintptr_t) gx & 1u) != 0 || head + 16 > n) {
      stream = 0;
    } else {
      for (; i < head; i += 16) {
        const size_t w = head - i < 16 ? head - i : 16;
        const __m512 d = s4j_rows_bwd_lanes(kind, s4j_load16(fmt, gy + i), s4j_load16(fmt, y + i), vs, k);
        s4j_store_part(fmt, gx + i, d, w);
      }
      i = head;
    }
  }
  const int l1 = n * sizeof *gy <= S4J_X16_PREFETCH_MAX_BYTES;
  for (; i + 32 <= n; i += 32) {
    __m512 g0, g1, o0, o1;
    /* The next row's sum pass reads gy (and, softmax, y). */
    s4j_prefetch_row(gy + n + i, l1);
    if (kind == S4J_KIND_SOFTMAX) s4j_prefetch_row(y + n + i, l1);
    s4j_load_pair(fmt, gy + i, &g0, &g1);
    s4j_load_pair(fmt, y + i, &o0, &o1);
    s4j_store_pair(fmt, gx + i, s4j_rows_bwd_lanes(kind, g0, o0, vs, k), s4j_rows_bwd_lanes(kind, g1, o1, vs, k),
                   1, stream);
  }
  if (i + 16 <= n) {
    s4j_store16(fmt, gx + i, s4j_rows_bwd_lanes(kind, s4j_load16(fmt, gy + i), s4j_load16(fmt, y + i), vs, k));
    i += 16;
  }
  if (i < n) s4j_store16(fmt, gx + n - 16, s4j_rows_bwd_lanes(kind, glast, olast, vs, k));
}

static inline __attribute__((always_inline)) void s4j_backward_rows_as(
    enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t rows, size_t n, const uint16_t *gy,
    const uint16_t *y, uint16_t *gx, const struct s4j_exp_f32_avx512_consts *k) {
  /* Rows the output pass prefetches the next row for do not stream: with
   * the next row's reads in flight, non-temporal stores measured slower
   * ([2048,4096]: softmax 3.9-4.7 -> 4.7-5.5 elements/ns without them). */
  const int stream = s4j_rows_stream(rows, n) && n * sizeof *gx > S4J_X16_PREFETCH_MAX_BYTES;
  for (size_t r = 0; r < rows; r++, gy += n, y += n, gx += n) {
    const float s = (float) s4j_rows_grad_sum(fmt, kind, n, gy, y);
    s4j_rows_bwd_out(fmt, kind, n, gy, y, gx, s, stream, k);
  }
  if (stream) _mm_sfence();
}

static void s4j_backward_rows(enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t rows, size_t n,
                              const uint16_t *gy, const uint16_t *y, uint16_t *gx,
                              const struct s4j_exp_f32_avx512_consts *k) {
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
static inline __m512 s4j_join(__m512d lo, __m512d hi) {
  return _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo)), _mm512_cvtpd_ps(hi), 1);
}

/* Groups of 16 positions (32 bytes of a row); the prefetches of the groups
 * look this many groups ahead (two lines of each row). */
#define S4J_X16_GROUP 16
#define S4J_X16_AHEAD ((size_t) 4)

/*
 * One group of w <= 16 positions of a [dim, inner] slab. `next` and `after`
 * are the offsets of the groups S4J_X16_AHEAD and twice that ahead, or 0
 * (s4j_group_ahead, softmax_dim_f32.h): where the rows are far apart, the
 * passes that leave memory idle ask for their lines, on the float32
 * kernels' plan (softmax_dim_f32_avx512.c): the forward's exp-sum pass for
 * the next x and y; the backward's sum pass for the next gx, and the reads
 * where they have time to arrive: log-softmax's gradient pass for the next
 * gy and y, softmax's sum pass for those after. ([16,81,8732] bfloat16 out
 * of cache against the same rows along the last dimension: see the bench
 * README.)
 */
static void s4j_forward_group(enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t dim,
                              size_t inner, size_t w, size_t next, const uint16_t *x, uint16_t *y,
                              const struct s4j_exp_f32_avx512_consts *k) {
  __m512 m = s4j_load(fmt, x, w);
  for (size_t c = 1; c < dim; c++) m = _mm512_max_ps(m, s4j_load(fmt, x + c * inner, w));
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  for (size_t c = 0; c < dim; c++) {
    if (next != 0) {
      s4j_prefetch_line(x + c * inner + next, 0);
      s4j_prefetch_line(y + c * inner + next, 1);
    }
    s4j_add_wide(&lo, &hi, s4j_exp_f32_avx512(_mm512_sub_ps(s4j_load(fmt, x + c * inner, w), m), k));
  }
  if (kind == S4J_KIND_LOG_SOFTMAX) {
    /* Lanes past w summed exp(0 - 0) terms: >= 1, inside the log's domain. */
    const __m512 t = s4j_join(s4j_log_f64_avx512(lo), s4j_log_f64_avx512(hi));
    for (size_t c = 0; c < dim; c++) {
      const __m512 v = s4j_load(fmt, x + c * inner, w);
      s4j_store(fmt, y + c * inner, _mm512_sub_ps(_mm512_sub_ps(v, m), t), w);
    }
  } else {
    const __m512d one = _mm512_set1_pd(1.0);
    const __m512 t = s4j_join(_mm512_div_pd(one, lo), _mm512_div_pd(one, hi));
    for (size_t c = 0; c < dim; c++) {
      const __m512 e = s4j_exp_f32_avx512(_mm512_sub_ps(s4j_load(fmt, x + c * inner, w), m), k);
      s4j_store(fmt, y + c * inner, _mm512_mul_ps(e, t), w);
    }
  }
}

static void s4j_backward_group(enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t dim,
                               size_t inner, size_t w, size_t next, size_t after,
                               const uint16_t *gy, const uint16_t *y, uint16_t *gx,
                               const struct s4j_exp_f32_avx512_consts *k) {
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
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
  const __m512 sum = s4j_join(lo, hi);
  for (size_t c = 0; c < dim; c++) {
    if (kind == S4J_KIND_LOG_SOFTMAX && next != 0) {
      s4j_prefetch_line(gy + c * inner + next, 0);
      s4j_prefetch_line(y + c * inner + next, 0);
    }
    const __m512 g = s4j_load(fmt, gy + c * inner, w);
    const __m512 o = s4j_load(fmt, y + c * inner, w);
    s4j_store(fmt, gx + c * inner, s4j_backward_lanes(kind, g, o, sum, k), w);
  }
}

/* LogSumExp (kind S4J_KIND_LOGSUMEXP): y is [outer, inner], and the
 * backward's second tensor is the input x. Exps in float, sums in double (a
 * row's in float runs carried in double, as the softmax rows do), m + log(s)
 * in double rounded once to the format; the backward's gy * softmax(x) in
 * float, rounded once. */

/* A group's max per lane and the sum of exp(x - max) in two double halves;
 * lanes past w sum exp(0 - 0) terms. */
static __m512 s4j_lse_group_max_sum(enum s4j_half_format fmt, size_t dim, size_t inner, size_t w,
                                    size_t next, const uint16_t *x, uint16_t *out, __m512d *lo, __m512d *hi,
                                    const struct s4j_exp_f32_avx512_consts *k) {
  __m512 m = s4j_load(fmt, x, w);
  for (size_t c = 1; c < dim; c++) m = _mm512_max_ps(m, s4j_load(fmt, x + c * inner, w));
  *lo = _mm512_setzero_pd();
  *hi = _mm512_setzero_pd();
  for (size_t c = 0; c < dim; c++) {
    /* The group ahead, as the other kinds (s4j_forward_group): out is gx in
     * the backward, laid out as x; the forward's output is per position. */
    if (next != 0) {
      s4j_prefetch_line(x + c * inner + next, 0);
      if (out != NULL) s4j_prefetch_line(out + c * inner + next, 1);
    }
    s4j_add_wide(lo, hi, s4j_exp_f32_avx512(_mm512_sub_ps(s4j_load(fmt, x + c * inner, w), m), k));
  }
  return m;
}

static void s4j_lse_forward(enum s4j_half_format fmt, size_t outer, size_t dim, size_t inner,
                            const uint16_t *x, uint16_t *y) {
  const struct s4j_exp_f32_avx512_consts k = s4j_exp_f32_avx512_init();
  for (size_t o = 0; o < outer; o++) {
    const uint16_t *slab = x + o * dim * inner;
    if (inner == 1) {
      __m512 m;
      const double s = s4j_row_max_sum(fmt, dim, slab, &m, &k);
      y[o] = s4j_f64_to_half(fmt, (double) _mm512_cvtss_f32(m) + s4j_log_f64(s));
      continue;
    }
    for (size_t j = 0; j < inner; j += 16) {
      const size_t w = inner - j < 16 ? inner - j : 16;
      __m512d lo, hi;
      const size_t next =
          s4j_group_ahead(o, j, S4J_X16_AHEAD, S4J_X16_GROUP, outer, dim, inner, sizeof(uint16_t));
      const __m512 m = s4j_lse_group_max_sum(fmt, dim, inner, w, next, slab + j, NULL, &lo, &hi, &k);
      float ml[16];
      double sl[16];
      _mm512_storeu_ps(ml, m);
      _mm512_storeu_pd(sl, lo);
      _mm512_storeu_pd(sl + 8, hi);
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
  const struct s4j_exp_f32_avx512_consts k = s4j_exp_f32_avx512_init();
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    if (inner == 1) {
      __m512 m;
      const double s = s4j_row_max_sum(fmt, dim, x + base, &m, &k);
      const __m512 t = _mm512_set1_ps((float) (1.0 / s));
      const __m512 g = _mm512_set1_ps(s4j_half_to_f32(fmt, gy[o]));
      for (size_t i = 0; i < dim; i += 16) {
        const size_t w = dim - i < 16 ? dim - i : 16;
        const __m512 p = _mm512_mul_ps(s4j_exp_f32_avx512(_mm512_sub_ps(s4j_load(fmt, x + base + i, w), m), &k), t);
        s4j_store(fmt, gx + base + i, _mm512_mul_ps(g, p), w);
      }
      continue;
    }
    for (size_t j = 0; j < inner; j += 16) {
      const size_t w = inner - j < 16 ? inner - j : 16;
      __m512d lo, hi;
      const size_t next =
          s4j_group_ahead(o, j, S4J_X16_AHEAD, S4J_X16_GROUP, outer, dim, inner, sizeof(uint16_t));
      const __m512 m = s4j_lse_group_max_sum(fmt, dim, inner, w, next, x + base + j, gx + base + j, &lo, &hi,
                                             &k);
      const __m512d one = _mm512_set1_pd(1.0);
      const __m512 t = s4j_join(_mm512_div_pd(one, lo), _mm512_div_pd(one, hi));
      const __m512 g = s4j_load(fmt, gy + o * inner + j, w);
      for (size_t c = 0; c < dim; c++) {
        const uint16_t *row = x + base + j + c * inner;
        const __m512 p = _mm512_mul_ps(s4j_exp_f32_avx512(_mm512_sub_ps(s4j_load(fmt, row, w), m), &k), t);
        s4j_store(fmt, gx + base + j + c * inner, _mm512_mul_ps(g, p), w);
      }
    }
  }
}

void s4j_x16_softmax_fwd_ukernel__avx512(enum s4j_half_format fmt, enum s4j_softmax_kind kind,
                                         size_t outer, size_t dim, size_t inner,
                                         const uint16_t *x, uint16_t *y) {
  if (kind == S4J_KIND_LOGSUMEXP) {
    s4j_lse_forward(fmt, outer, dim, inner, x, y);
    return;
  }
  const struct s4j_exp_f32_avx512_consts k = s4j_exp_f32_avx512_init();
  if (inner == 1) {
    if (dim >= 16) {
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
    for (size_t j = 0; j < inner; j += S4J_X16_GROUP) {
      const size_t w = inner - j < S4J_X16_GROUP ? inner - j : S4J_X16_GROUP;
      const size_t next =
          s4j_group_ahead(o, j, S4J_X16_AHEAD, S4J_X16_GROUP, outer, dim, inner, sizeof(uint16_t));
      s4j_forward_group(fmt, kind, dim, inner, w, next, x + base + j, y + base + j, &k);
    }
  }
}

void s4j_x16_softmax_bwd_ukernel__avx512(enum s4j_half_format fmt, enum s4j_softmax_kind kind,
                                         size_t outer, size_t dim, size_t inner,
                                         const uint16_t *gy, const uint16_t *y, uint16_t *gx) {
  if (kind == S4J_KIND_LOGSUMEXP) {
    s4j_lse_backward(fmt, outer, dim, inner, gy, y, gx);
    return;
  }
  const struct s4j_exp_f32_avx512_consts k = s4j_exp_f32_avx512_init();
  if (inner == 1) {
    if (dim >= 16) {
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
    for (size_t j = 0; j < inner; j += S4J_X16_GROUP) {
      const size_t w = inner - j < S4J_X16_GROUP ? inner - j : S4J_X16_GROUP;
      const size_t next =
          s4j_group_ahead(o, j, S4J_X16_AHEAD, S4J_X16_GROUP, outer, dim, inner, sizeof(uint16_t));
      const size_t after = s4j_group_ahead(o, j, 2 * S4J_X16_AHEAD, S4J_X16_GROUP, outer, dim,
                                           inner, sizeof(uint16_t));
      s4j_backward_group(fmt, kind, dim, inner, w, next, after, gy + base + j, y + base + j,
                         gx + base + j, &k);
    }
  }
}

void s4j_math_half_narrow__avx512(enum s4j_half_format fmt, size_t n, const float *x, uint16_t *y) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) s4j_store16(fmt, y + i, _mm512_loadu_ps(x + i));
  if (i < n) s4j_store_part(fmt, y + i, _mm512_maskz_loadu_ps(s4j_lanes(n - i), x + i), n - i);
}
