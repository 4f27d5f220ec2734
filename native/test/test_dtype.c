/*
 * test_dtype.c - the float64, bfloat16 and float16 members of the family:
 *
 *   - exp_f64 (scalar and AVX-512) against expl over a dense sweep, with
 *     its ulp bound (exp_f64.h);
 *   - the half.h conversions: every 16-bit value round-trips, a dense set
 *     of floats and every halfway neighbourhood round to nearest even as a
 *     binary search over the ordered format says, and the AVX-512 store
 *     path gives the same bits as the scalar one;
 *   - every variant x op x dtype x direction, rows (inner == 1) and other
 *     dims, through the named strided entry points, against a long double
 *     reference with canaries around the outputs and in-place use;
 *   - the 16-bit row path at the lengths where its code changes, and with
 *     outputs large enough to be streamed, at every even alignment;
 *   - special values, a row of 512 equal bfloat16 logits (exactly
 *     log(1/512) rounded), and the dtype-dependent checks.
 *
 * Usage: test_dtype   S4J_TEST_SEED=<n> replays another random draw.
 */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "math/exp_f64.h"
#include "math/half.h"
#include "softmax4j.h"
#include "test_util.h"

#ifndef S4J_DTYPE_SWEEP_STRIDE
#define S4J_DTYPE_SWEEP_STRIDE 1
#endif

#define PAD 17
#define EPS64 DBL_EPSILON
/* float64 bounds, in units of DBL_EPSILON (see softmax4j.h). */
#define F64_TOL 8.0

typedef int (*strided_fn)(int, int, int, int64_t, int64_t, int64_t, const void *, int64_t,
                          const void *, int64_t, void *, int64_t);

struct t_variant {
  const char *name;
  strided_fn fn;
};

static const struct t_variant t_variants[] = {
    {"scalar", s4j_softmax_strided_scalar},
    {"avx2", s4j_softmax_strided_avx2},
    {"avx512", s4j_softmax_strided_avx512},
};

static const char *dtype_name(int dtype) {
  switch (dtype) {
    case S4J_DTYPE_F64: return "f64";
    case S4J_DTYPE_BF16: return "bf16";
    case S4J_DTYPE_F16: return "f16";
    default: return "f32";
  }
}

/* --- exp_f64 ----------------------------------------------------------------- */

/* |got - want| in ulps of want (normal range), or in units of the smallest
 * subnormal below it. */
static double ulp_error64(double got, long double want) {
  const long double a = fabsl(want);
  long double ulp;
  if (a < (long double) DBL_MIN) {
    ulp = (long double) 0x1p-1074;
  } else {
    int e;
    frexpl(a, &e);
    ulp = ldexpl(1.0L, e - 53);
  }
  return (double) (fabsl((long double) got - want) / ulp);
}

static void test_exp_f64(void) {
  const size_t n = (size_t) 1 << 24;
  const size_t stride = S4J_DTYPE_SWEEP_STRIDE;
  double *x = malloc(sizeof(double) * (n / stride + (1u << 21) + 16));
  double *y = malloc(sizeof(double) * (n / stride + (1u << 21) + 16));
  size_t m = 0;
  for (size_t i = 0; i < n; i += stride) x[m++] = -745.0 + (709.7 + 745.0) * (double) i / (double) n;
  for (size_t i = 0; i < ((size_t) 1 << 21); i += stride) x[m++] = -1.0 + (double) i * 0x1p-20;
  const double specials[] = {0.0, -0.0, -746.0, -1e6, 709.78, 710.0, 1e6, -745.1, -708.5};
  for (size_t i = 0; i < sizeof specials / sizeof *specials; i++) x[m++] = specials[i];

  void (*forms[])(size_t, const double *, double *) = {
      s4j_math_f64_exp__scalar, s4j_math_f64_exp__avx2, s4j_math_f64_exp__avx512};
  const char *names[] = {"scalar", "avx2", "avx512"};
  double *first = NULL; /* the avx2 results, which avx512 must repeat bit for bit */
  for (int f = 0; f < 3; f++) {
    if (f > 0 && !s4j_isa_supported(names[f])) {
      t_skip(names[f]);
      continue;
    }
    forms[f](m, x, y);
    double worst = 0.0, worst_x = 0.0, worst_sub = 0.0;
    for (size_t i = 0; i < m; i++) {
      const long double want = expl((long double) x[i]);
      const double e = ulp_error64(y[i], want);
      if (fabsl(want) >= (long double) DBL_MIN && want <= (long double) DBL_MAX) {
        if (e > worst) {
          worst = e;
          worst_x = x[i];
        }
      } else if (want < (long double) DBL_MIN && e > worst_sub) {
        worst_sub = e;
      }
    }
    if (f == 1) {
      first = malloc(sizeof(double) * m);
      memcpy(first, y, sizeof(double) * m);
    } else if (f == 2 && first != NULL) {
      t_check(memcmp(first, y, sizeof(double) * m) == 0, "exp_f64 avx2 and avx512 differ");
    }
    printf("  exp_f64 %s: max %.3f ulp at x = %.17g (normal), %.3f subnormal units below\n",
           names[f], worst, worst_x, worst_sub);
    const double bound = f == 0 ? 1.25 : 1.0; /* exp_f64.h */
    t_check(worst < bound, "exp_f64 %s: max error %.3f ulp at %.17g, bound < %g", names[f], worst, worst_x,
            bound);
    t_check(worst_sub <= 1.0, "exp_f64 %s: subnormal error %.3f units", names[f], worst_sub);
    double spec[4];
    const double sx[4] = {-__builtin_inf(), __builtin_inf(), __builtin_nan(""), -800.0};
    forms[f](4, sx, spec);
    t_check(spec[0] == 0.0 && !signbit(spec[0]), "exp_f64 %s(-inf) = %g", names[f], spec[0]);
    t_check(spec[1] == __builtin_inf(), "exp_f64 %s(+inf) = %g", names[f], spec[1]);
    t_check(spec[2] != spec[2], "exp_f64 %s(NaN) = %g", names[f], spec[2]);
    t_check(spec[3] == 0.0, "exp_f64 %s(-800) = %g", names[f], spec[3]);
  }
  free(first);
  free(x);
  free(y);
}

/* --- conversions ------------------------------------------------------------- */

/* The largest positive finite bits of each format, and +inf's bits. */
static uint16_t fmt_max(enum s4j_half_format fmt) { return fmt == S4J_HALF_BF16 ? 0x7f7f : 0x7bff; }
static uint16_t fmt_inf(enum s4j_half_format fmt) { return fmt == S4J_HALF_BF16 ? 0x7f80 : 0x7c00; }

/* The value of positive bits h, with +inf's bits standing for the next
 * power of two (where rounding sends values past the largest finite). */
static double fmt_value(enum s4j_half_format fmt, uint16_t h) {
  if (h == fmt_inf(fmt)) return fmt == S4J_HALF_BF16 ? 0x1p128 : 65536.0;
  return (double) s4j_half_to_f32(fmt, h);
}

/* Round-to-nearest-even by search over the ordered positive values. */
static uint16_t ref_narrow(enum s4j_half_format fmt, float f) {
  const uint32_t u = s4j_half_float_bits(f);
  const uint16_t sign = (uint16_t) ((u >> 16) & 0x8000u);
  const double a = fabs((double) f);
  if (a >= fmt_value(fmt, fmt_inf(fmt))) return (uint16_t) (sign | fmt_inf(fmt));
  uint16_t lo = 0, hi = fmt_inf(fmt); /* value(lo) <= a < value(hi) */
  while (hi - lo > 1) {
    const uint16_t mid = (uint16_t) ((lo + hi) / 2);
    if (fmt_value(fmt, mid) <= a) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  const double dl = a - fmt_value(fmt, lo), dh = fmt_value(fmt, hi) - a;
  const uint16_t r = dl < dh ? lo : dh < dl ? hi : (lo & 1u) ? hi : lo;
  return (uint16_t) (sign | r);
}

static void check_narrow(enum s4j_half_format fmt, const float *x, size_t n, int have_avx512,
                         uint16_t *scalar_out, uint16_t *vector_out, const char *what) {
  s4j_math_half_narrow__scalar(fmt, n, x, scalar_out);
  if (s4j_isa_supported("avx2")) {
    s4j_math_half_narrow__avx2(fmt, n, x, vector_out);
    t_check(memcmp(vector_out, scalar_out, n * sizeof *vector_out) == 0,
            "%s %s: avx2 store differs from scalar", what, fmt == S4J_HALF_BF16 ? "bf16" : "f16");
  }
  if (have_avx512) s4j_math_half_narrow__avx512(fmt, n, x, vector_out);
  size_t bad = 0, mismatch = 0;
  for (size_t i = 0; i < n; i++) {
    if (x[i] != x[i]) {
      const uint16_t h = scalar_out[i];
      if (!((h & 0x7fffu) > fmt_inf(fmt))) bad++;
    } else if (scalar_out[i] != ref_narrow(fmt, x[i])) {
      if (bad++ < 3) {
        printf("  %s %s: %a -> %04x, want %04x\n", what, fmt == S4J_HALF_BF16 ? "bf16" : "f16",
               (double) x[i], scalar_out[i], ref_narrow(fmt, x[i]));
      }
    }
    if (have_avx512 && vector_out[i] != scalar_out[i]) mismatch++;
  }
  t_check(bad == 0, "%s %s: %zu floats rounded wrongly", what, fmt == S4J_HALF_BF16 ? "bf16" : "f16", bad);
  if (have_avx512) {
    t_check(mismatch == 0, "%s %s: avx512 store differs from scalar on %zu floats", what,
            fmt == S4J_HALF_BF16 ? "bf16" : "f16", mismatch);
  }
}

static void test_conversions(void) {
  const int have_avx512 = s4j_isa_supported("avx512");
  const size_t chunk = (size_t) 1 << 20;
  float *x = malloc(sizeof(float) * chunk);
  uint16_t *a = malloc(sizeof(uint16_t) * chunk), *b = malloc(sizeof(uint16_t) * chunk);
  for (int fi = 0; fi < 2; fi++) {
    const enum s4j_half_format fmt = fi == 0 ? S4J_HALF_BF16 : S4J_HALF_F16;
    /* Every 16-bit value round-trips (NaN stays NaN). */
    size_t bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
      const float f = s4j_half_to_f32(fmt, (uint16_t) h);
      const uint16_t back = s4j_f32_to_half(fmt, f);
      const int nan = (h & 0x7fffu) > fmt_inf(fmt);
      if (nan ? !(f != f && (back & 0x7fffu) > fmt_inf(fmt) && (back & 0x8000u) == (h & 0x8000u))
              : back != h) {
        bad++;
      }
      x[h] = f;
    }
    t_check(bad == 0, "%s: %zu of 65536 values do not round-trip", fi == 0 ? "bf16" : "f16", bad);
    check_narrow(fmt, x, 65536, have_avx512, a, b, "every value");
    /* Around each halfway point between neighbours (and past the max). */
    size_t m = 0;
    for (uint32_t h = 0; h <= fmt_max(fmt); h++) {
      const double mid = (fmt_value(fmt, (uint16_t) h) + fmt_value(fmt, (uint16_t) (h + 1))) / 2;
      const float fm = (float) mid;
      for (int d = -2; d <= 2; d++) {
        const float v = s4j_half_bits_float((uint32_t) ((int32_t) s4j_half_float_bits(fm) + d));
        x[m++] = v;
        x[m++] = -v;
        if (m + 10 > chunk) {
          check_narrow(fmt, x, m, have_avx512, a, b, "halfway");
          m = 0;
        }
      }
    }
    check_narrow(fmt, x, m, have_avx512, a, b, "halfway");
    /* A dense spread of all floats. */
    const uint64_t step = 61u * S4J_DTYPE_SWEEP_STRIDE;
    m = 0;
    for (uint64_t u = 0; u < ((uint64_t) 1 << 32); u += step) {
      x[m++] = s4j_half_bits_float((uint32_t) u);
      if (m == chunk) {
        check_narrow(fmt, x, m, have_avx512, a, b, "dense");
        m = 0;
      }
    }
    check_narrow(fmt, x, m, have_avx512, a, b, "dense");
  }
  free(x);
  free(a);
  free(b);
}

/* --- tensors of any dtype, with canaries -------------------------------------- */

struct t_buf {
  unsigned char *base; /* PAD elements, n elements, PAD elements */
  unsigned char *v;
  size_t n, es;
  int dtype;
};

static size_t elem_size(int dtype) {
  return dtype == S4J_DTYPE_F64 ? 8 : dtype == S4J_DTYPE_F32 ? 4 : 2;
}

static struct t_buf buf_new(int dtype, size_t n) {
  struct t_buf b;
  b.dtype = dtype;
  b.es = elem_size(dtype);
  b.n = n;
  b.base = malloc((n + 2 * PAD) * b.es);
  memset(b.base, 0xa5, (n + 2 * PAD) * b.es);
  b.v = b.base + PAD * b.es;
  return b;
}

static int buf_canaries_ok(const struct t_buf *b) {
  for (size_t i = 0; i < PAD * b->es; i++) {
    if (b->base[i] != 0xa5 || b->v[b->n * b->es + i] != 0xa5) return 0;
  }
  return 1;
}

static long double buf_get(const struct t_buf *b, size_t i) {
  if (b->dtype == S4J_DTYPE_F64) {
    double d;
    memcpy(&d, b->v + i * 8, 8);
    return d;
  }
  uint16_t h;
  memcpy(&h, b->v + i * 2, 2);
  return s4j_half_to_f32(b->dtype == S4J_DTYPE_BF16 ? S4J_HALF_BF16 : S4J_HALF_F16, h);
}

/* Stores v in the buffer's type, rounded to nearest (even). */
static void buf_set(struct t_buf *b, size_t i, double v) {
  if (b->dtype == S4J_DTYPE_F64) {
    memcpy(b->v + i * 8, &v, 8);
    return;
  }
  const uint16_t h = s4j_f32_to_half(b->dtype == S4J_DTYPE_BF16 ? S4J_HALF_BF16 : S4J_HALF_F16, (float) v);
  memcpy(b->v + i * 2, &h, 2);
}

/* One ulp of the 16-bit format at |v| (subnormal spacing below the normals). */
static long double fmt_ulp(int dtype, long double v) {
  const int mant = dtype == S4J_DTYPE_BF16 ? 7 : 10;
  const int emin = dtype == S4J_DTYPE_BF16 ? -126 : -14;
  int e;
  frexpl(fabsl(v), &e);
  e -= 1; /* |v| in [2^e, 2^(e+1)) */
  if (e < emin) e = emin;
  return ldexpl(1.0L, e - mant);
}

/* --- the reference ------------------------------------------------------------ */

static void ref_forward(int op, size_t outer, size_t dim, size_t inner, const struct t_buf *x,
                        long double *ref, long double *shift) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t j = 0; j < inner; j++) {
      const size_t base = o * dim * inner + j;
      long double m = buf_get(x, base);
      for (size_t c = 1; c < dim; c++) {
        const long double v = buf_get(x, base + c * inner);
        m = v > m ? v : m;
      }
      long double s = 0;
      for (size_t c = 0; c < dim; c++) s += expl(buf_get(x, base + c * inner) - m);
      for (size_t c = 0; c < dim; c++) {
        const long double d = buf_get(x, base + c * inner) - m;
        ref[base + c * inner] = op == S4J_OP_LOG_SOFTMAX ? d - logl(s) : expl(d) / s;
        shift[base + c * inner] = isinf(d) ? 0 : fabsl(d);
      }
    }
  }
}

/* ref: the exact gx; scale: the size of the terms whose float error the
 * bound allows (|gy| + p * sum|gy|, or y * (|gy| + sum|gy * y|)). */
static void ref_backward(int op, size_t outer, size_t dim, size_t inner, const struct t_buf *gy,
                         const struct t_buf *y, long double *ref, long double *scale) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t j = 0; j < inner; j++) {
      const size_t base = o * dim * inner + j;
      long double s = 0, a = 0;
      for (size_t c = 0; c < dim; c++) {
        const long double g = buf_get(gy, base + c * inner), v = buf_get(y, base + c * inner);
        s += op == S4J_OP_LOG_SOFTMAX ? g : g * v;
        a += op == S4J_OP_LOG_SOFTMAX ? fabsl(g) : fabsl(g * v);
      }
      for (size_t c = 0; c < dim; c++) {
        const long double g = buf_get(gy, base + c * inner), v = buf_get(y, base + c * inner);
        if (op == S4J_OP_LOG_SOFTMAX) {
          ref[base + c * inner] = g - expl(v) * s;
          scale[base + c * inner] = fabsl(g) + expl(v) * a;
        } else {
          ref[base + c * inner] = v * (g - s);
          scale[base + c * inner] = fabsl(v) * (fabsl(g) + a);
        }
      }
    }
  }
}

/* Worst errors seen, per dtype, for the summary the README quotes. */
static double worst_f64_fwd[2], worst_f64_bwd[2], worst_half_ulps[4];
static size_t half_exact[4], half_total[4];

/* Checks one output against the reference. allow: the float64 bound's
 * scale (in eps) or the half types' float32 slack. */
static int check_out(const struct t_variant *v, int op, int dtype, int backward,
                     const struct t_buf *got, const long double *ref, const long double *aux,
                     size_t outer, size_t dim, size_t inner) {
  const char *what = backward ? "backward" : "forward";
  const char *opn = op == S4J_OP_LOG_SOFTMAX ? "log_softmax" : "softmax";
  const int half = dtype != S4J_DTYPE_F64;
  const int hi = (dtype == S4J_DTYPE_F16 ? 2 : 0) + backward;
  for (size_t i = 0; i < got->n; i++) {
    const long double g = buf_get(got, i), r = ref[i];
    if (isnan(r) || isinf(r)) {
      const int ok = isnan(r) ? isnan(g) : g == r;
      if (!t_check(ok, "%s %s %s %s [%zu,%zu,%zu] at %zu: got %Lg, want %Lg", v->name, dtype_name(dtype), opn,
                   what, outer, dim, inner, i, g, r)) {
        return 0;
      }
      continue;
    }
    long double bound;
    if (!half) {
      long double size;
      if (backward) {
        size = aux[i];
      } else if (op == S4J_OP_LOG_SOFTMAX) {
        size = fabsl(r) > 1 ? fabsl(r) : 1;
      } else {
        size = r * (1 + aux[i]);
      }
      bound = F64_TOL * EPS64 * size + 1e-300L;
      const double e = (double) (fabsl(g - r) / (EPS64 * (size > 0 ? size : 1)));
      double *w = backward ? worst_f64_bwd : worst_f64_fwd;
      if (e > w[op]) w[op] = e;
    } else {
      /* One ulp of the format, plus the float32 computation's own error. */
      long double slack;
      if (backward) {
        slack = 4 * 0x1p-24L * aux[i];
      } else if (op == S4J_OP_LOG_SOFTMAX) {
        slack = 2e-6L * (fabsl(r) > 1 ? fabsl(r) : 1);
      } else {
        slack = 2e-6L * r * (1 + aux[i]) + 1e-30L;
      }
      bound = fmt_ulp(dtype, r) + slack;
      const double e = (double) (fabsl(g - r) / fmt_ulp(dtype, r));
      if (e > worst_half_ulps[hi]) worst_half_ulps[hi] = e;
      const enum s4j_half_format fmt = dtype == S4J_DTYPE_BF16 ? S4J_HALF_BF16 : S4J_HALF_F16;
      half_total[hi]++;
      half_exact[hi] += (long double) s4j_half_to_f32(fmt, ref_narrow(fmt, (float) r)) == g;
    }
    if (!t_check(fabsl(g - r) <= bound, "%s %s %s %s [%zu,%zu,%zu] at %zu: got %.20Lg, want %.20Lg (bound %Lg)",
                 v->name, dtype_name(dtype), opn, what, outer, dim, inner, i, g, r, bound)) {
      return 0;
    }
  }
  return t_check(buf_canaries_ok(got), "%s %s %s %s [%zu,%zu,%zu]: a canary changed", v->name,
                 dtype_name(dtype), opn, what, outer, dim, inner);
}

static int call(const struct t_variant *v, int op, int dtype, int dir, size_t outer, size_t dim,
                size_t inner, const void *in, const void *saved, void *out) {
  const int64_t slab = (int64_t) (dim * inner);
  return v->fn(op, dtype, dir, (int64_t) outer, (int64_t) dim, (int64_t) inner, in, slab, saved,
               slab, out, slab);
}

/* x: the input (kind 0: U[-10, 10], 1: U[90, 100], 2: special values,
 * 3: U[-30, 10], whose float16 softmax has subnormal outputs). */
static void test_case(const struct t_variant *v, int op, int dtype, size_t outer, size_t dim,
                      size_t inner, int kind, t_rng *rng) {
  const size_t n = outer * dim * inner;
  struct t_buf x = buf_new(dtype, n), y = buf_new(dtype, n), y2 = buf_new(dtype, n);
  struct t_buf gy = buf_new(dtype, n), gx = buf_new(dtype, n), gx2 = buf_new(dtype, n);
  long double *ref = malloc(sizeof(long double) * (n + 1));
  long double *aux = malloc(sizeof(long double) * (n + 1));
  for (size_t i = 0; i < n; i++) {
    buf_set(&x, i, kind == 1   ? t_rng_uniform(rng, 90.0f, 100.0f)
                   : kind == 3 ? t_rng_uniform(rng, -30.0f, 10.0f)
                               : t_rng_uniform(rng, -10.0f, 10.0f));
    buf_set(&gy, i, t_rng_uniform(rng, -1.0f, 1.0f));
  }
  if (kind == 2) {
    /* Column (o, j) gets a pattern by its index: masks, all -inf, +inf, NaN. */
    for (size_t o = 0; o < outer; o++) {
      for (size_t j = 0; j < inner; j++) {
        const size_t col = o * inner + j, base = o * dim * inner + j;
        for (size_t c = 0; c < dim; c++) {
          const size_t i = base + c * inner;
          switch (col % 5) {
            case 0: if (c % 2 == 1) buf_set(&x, i, -__builtin_inf()); break;
            case 1: buf_set(&x, i, -__builtin_inf()); break;
            case 2: if (c == dim / 2) buf_set(&x, i, __builtin_inf()); break;
            case 3: if (c == dim - 1) buf_set(&x, i, __builtin_nan("")); break;
            default: break;
          }
        }
      }
    }
  }
  const int rc = call(v, op, dtype, S4J_DIRECTION_FORWARD, outer, dim, inner, x.v, NULL, y.v);
  if (t_check(rc == S4J_OK, "%s %s forward rc %d", v->name, dtype_name(dtype), rc)) {
    ref_forward(op, outer, dim, inner, &x, ref, aux);
    check_out(v, op, dtype, 0, &y, ref, aux, outer, dim, inner);
    /* In place gives the same bits. */
    memcpy(y2.v, x.v, n * x.es);
    call(v, op, dtype, S4J_DIRECTION_FORWARD, outer, dim, inner, y2.v, NULL, y2.v);
    t_check(memcmp(y.v, y2.v, n * x.es) == 0, "%s %s forward in place differs [%zu,%zu,%zu]", v->name,
            dtype_name(dtype), outer, dim, inner);
  }
  if (kind != 2) {
    const int rb = call(v, op, dtype, S4J_DIRECTION_BACKWARD, outer, dim, inner, gy.v, y.v, gx.v);
    if (t_check(rb == S4J_OK, "%s %s backward rc %d", v->name, dtype_name(dtype), rb)) {
      ref_backward(op, outer, dim, inner, &gy, &y, ref, aux);
      check_out(v, op, dtype, 1, &gx, ref, aux, outer, dim, inner);
      memcpy(gx2.v, gy.v, n * x.es);
      call(v, op, dtype, S4J_DIRECTION_BACKWARD, outer, dim, inner, gx2.v, y.v, gx2.v);
      t_check(memcmp(gx.v, gx2.v, n * x.es) == 0, "%s %s backward in place differs [%zu,%zu,%zu]",
              v->name, dtype_name(dtype), outer, dim, inner);
    }
  }
  free(ref);
  free(aux);
  free(x.base);
  free(y.base);
  free(y2.base);
  free(gy.base);
  free(gx.base);
  free(gx2.base);
}

/* A float64 middle dimension over 8 MiB: the groups ask for the lines of
 * the groups ahead, and their backward sums run in one chain. */
static void test_f64_prefetched(const struct t_variant *v, t_rng *rng) {
  for (int op = 0; op < 2; op++) {
    for (int kind = 0; kind < 2; kind++) test_case(v, op, S4J_DTYPE_F64, 2, 9, 60013, kind, rng);
  }
}

static void test_variant(const struct t_variant *v, t_rng *rng) {
  static const size_t shapes[][3] = {
      {1, 1, 1},  {3, 1, 1},   {2, 7, 1},  {2, 8, 1},  {2, 17, 1},  {2, 31, 1}, {1, 100, 1},
      {3, 1000, 1}, {1, 4099, 1}, {1, 1, 5}, {2, 5, 3}, {2, 9, 17}, {1, 33, 8}, {2, 4, 40},
      {3, 300, 9}, {1, 2, 16}, {2, 3, 33},
      /* Over 32768 elements: the float64 softmax computes its exps again
       * instead of keeping them in y. */
      {1, 40000, 1}};
  const int dtypes[] = {S4J_DTYPE_F64, S4J_DTYPE_BF16, S4J_DTYPE_F16};
  for (size_t d = 0; d < 3; d++) {
    for (int op = 0; op < 2; op++) {
      for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        for (int kind = 0; kind < 3; kind++) {
          test_case(v, op, dtypes[d], shapes[s][0], shapes[s][1], shapes[s][2], kind, rng);
        }
      }
    }
  }
}

/*
 * The 16-bit row path (inner == 1) at the lengths where its code paths
 * change: below one vector (16 lanes on AVX-512, 8 on AVX2), around the
 * pairs (32, 16 elements) and the main loops (64, 32), the register rows
 * (up to 128, 64), the float blocks of 1024, the softmax exps kept in a
 * 4096-element scratch, and remainders 1..15 of the last vector. Five
 * rows: every special-value pattern.
 */
static void test_row_lengths(const struct t_variant *v, t_rng *rng) {
  static const size_t lengths[] = {7,   8,   9,   10,  15,   16,   17,   18,   23,   24,   25,   31,   32,
                                   33,  39,  40,  41,  47,   48,   56,   57,   63,   64,   65,   66,   71,
                                   72,  73,  79,  80,  81,   95,   96,   97,   111,  112,  113,  127,  128,
                                   129, 130, 143, 159, 160,  161,  192,  1023, 1024, 1025, 1031, 1032, 1039,
                                   1040, 1055, 2047, 2049, 4095, 4096, 4097, 4103, 4111, 5003};
  const int dtypes[] = {S4J_DTYPE_BF16, S4J_DTYPE_F16};
  for (size_t d = 0; d < 2; d++) {
    for (int op = 0; op < 2; op++) {
      for (size_t l = 0; l < sizeof lengths / sizeof *lengths; l++) {
        for (int kind = 0; kind < 4; kind++) test_case(v, op, dtypes[d], 5, lengths[l], 1, kind, rng);
      }
    }
  }
}

/* A buffer of n elements whose first element sits `shift` bytes past a
 * 64-byte boundary, canaries around it as buf_new's; free raw. */
static struct t_buf buf_new_at(int dtype, size_t n, size_t shift, void **raw) {
  struct t_buf b;
  b.dtype = dtype;
  b.es = elem_size(dtype);
  b.n = n;
  unsigned char *p = malloc((n + 2 * PAD) * b.es + 128);
  *raw = p;
  uintptr_t at = (uintptr_t) (p + PAD * b.es);
  at = ((at + 63u) & ~(uintptr_t) 63u) + shift;
  b.v = (unsigned char *) at;
  b.base = b.v - PAD * b.es;
  memset(b.base, 0xa5, (n + 2 * PAD) * b.es);
  return b;
}

/*
 * Outputs of at least 8 MB are written with non-temporal stores from each
 * row's first 64-byte boundary on: rows of 4040 elements (the softmax
 * scratch path, streamed only from an aligned row), 4099 (recomputed) and
 * 8203 (over 16 KB: the backward streams too),
 * outputs 64-byte aligned, 2 bytes past and 34 bytes past, so that rows
 * start at every even offset (float64: 0, 8 and 40 bytes past, so at every
 * multiple of 8). Each output must have the bits of the same
 * rows computed one call per row (not streamed; that path is checked
 * against long double by test_row_lengths), forward, backward and in place.
 */
static void test_rows_streamed(const struct t_variant *v, t_rng *rng) {
  static const size_t cols_list[] = {4040, 4099, 8203};
  static const size_t shifts16[] = {0, 2, 34}, shifts64[] = {0, 8, 40};
  const int dtypes[] = {S4J_DTYPE_BF16, S4J_DTYPE_F16, S4J_DTYPE_F64};
  for (size_t c = 0; c < 3; c++) {
    for (size_t d = 0; d < 3; d++) {
      const int dtype = dtypes[d];
      const size_t *shifts = dtype == S4J_DTYPE_F64 ? shifts64 : shifts16;
      const size_t cols = cols_list[c], rows = ((size_t) 8 << 20) / (elem_size(dtype) * cols) + 3;
      const size_t n = rows * cols;
      void *rx, *rg;
      struct t_buf x = buf_new_at(dtype, n, 0, &rx), gy = buf_new_at(dtype, n, 0, &rg);
      for (size_t i = 0; i < n; i++) {
        buf_set(&x, i, t_rng_uniform(rng, -10.0f, 10.0f));
        buf_set(&gy, i, t_rng_uniform(rng, -1.0f, 1.0f));
      }
      for (int op = 0; op < 2; op++) {
        for (size_t s = 0; s < 3; s++) {
          void *ry, *ry1, *rgx;
          struct t_buf y = buf_new_at(dtype, n, shifts[s], &ry), y1 = buf_new_at(dtype, n, shifts[s], &ry1);
          struct t_buf gx = buf_new_at(dtype, n, shifts[s], &rgx);
          const size_t row_bytes = cols * x.es;
          int rc = call(v, op, dtype, S4J_DIRECTION_FORWARD, rows, cols, 1, x.v, NULL, y.v);
          t_check(rc == S4J_OK, "%s streamed forward rc %d", v->name, rc);
          for (size_t r = 0; r < rows; r++) {
            call(v, op, dtype, S4J_DIRECTION_FORWARD, 1, cols, 1, x.v + r * row_bytes, NULL, y1.v + r * row_bytes);
          }
          t_check(memcmp(y.v, y1.v, n * x.es) == 0 && buf_canaries_ok(&y),
                  "%s %s op %d streamed forward differs from row by row [%zu,%zu] (shift %zu)", v->name,
                  dtype_name(dtype), op, rows, cols, shifts[s]);
          rc = call(v, op, dtype, S4J_DIRECTION_BACKWARD, rows, cols, 1, gy.v, y.v, gx.v);
          t_check(rc == S4J_OK, "%s streamed backward rc %d", v->name, rc);
          for (size_t r = 0; r < rows; r++) {
            call(v, op, dtype, S4J_DIRECTION_BACKWARD, 1, cols, 1, gy.v + r * row_bytes, y.v + r * row_bytes,
                 y1.v + r * row_bytes);
          }
          t_check(memcmp(gx.v, y1.v, n * x.es) == 0 && buf_canaries_ok(&gx),
                  "%s %s op %d streamed backward differs from row by row [%zu,%zu] (shift %zu)", v->name,
                  dtype_name(dtype), op, rows, cols, shifts[s]);
          /* In place: the same bits. */
          memcpy(gx.v, x.v, n * x.es);
          call(v, op, dtype, S4J_DIRECTION_FORWARD, rows, cols, 1, gx.v, NULL, gx.v);
          t_check(memcmp(gx.v, y.v, n * x.es) == 0, "%s %s op %d streamed forward in place differs (shift %zu)",
                  v->name, dtype_name(dtype), op, shifts[s]);
          free(ry);
          free(ry1);
          free(rgx);
        }
      }
      free(rx);
      free(rg);
    }
  }
}

/* A row of 512 equal bfloat16 logits: exactly log(1/512) and 1/512. */
static void test_uniform_bf16(const struct t_variant *v) {
  for (int layout = 0; layout < 2; layout++) {
    const size_t outer = 2, dim = 512, inner = layout == 0 ? 1 : 3, n = outer * dim * inner;
    struct t_buf x = buf_new(S4J_DTYPE_BF16, n), y = buf_new(S4J_DTYPE_BF16, n);
    for (size_t i = 0; i < n; i++) buf_set(&x, i, 1.5);
    const uint16_t want_log = s4j_f32_to_bf16((float) logl(1.0L / 512));
    call(v, S4J_OP_LOG_SOFTMAX, S4J_DTYPE_BF16, S4J_DIRECTION_FORWARD, outer, dim, inner, x.v, NULL, y.v);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += memcmp(y.v + 2 * i, &want_log, 2) != 0;
    t_check(bad == 0, "%s bf16 uniform 512 log_softmax (inner %zu): %zu of %zu not %04x", v->name, inner,
            bad, n, want_log);
    const uint16_t want_p = 0x3b00; /* 1/512 */
    call(v, S4J_OP_SOFTMAX, S4J_DTYPE_BF16, S4J_DIRECTION_FORWARD, outer, dim, inner, x.v, NULL, y.v);
    bad = 0;
    for (size_t i = 0; i < n; i++) bad += memcmp(y.v + 2 * i, &want_p, 2) != 0;
    t_check(bad == 0, "%s bf16 uniform 512 softmax (inner %zu): %zu of %zu not 1/512", v->name, inner, bad, n);
    free(x.base);
    free(y.base);
  }
}

static void test_checks(void) {
  double d = 0;
  t_check(s4j_softmax_strided(0, 4, 0, 1, 1, 1, &d, 1, NULL, 1, &d, 1) == S4J_ERR_BAD_ARGUMENT,
          "dtype 4 is not BAD_ARGUMENT");
  t_check(s4j_softmax_strided(0, -1, 0, 1, 1, 1, &d, 1, NULL, 1, &d, 1) == S4J_ERR_BAD_ARGUMENT,
          "dtype -1 is not BAD_ARGUMENT");
  /* The size checks count bytes of the dtype's elements. */
  const int64_t big = INT64_MAX / 8 + 1;
  t_check(s4j_softmax_strided(0, S4J_DTYPE_F64, 0, 1, big, 1, NULL, big, NULL, big, NULL, big) ==
              S4J_ERR_SIZE_OVERFLOW, "f64 span over INT64_MAX bytes not SIZE_OVERFLOW");
  t_check(s4j_softmax_strided(0, S4J_DTYPE_F32, 0, 1, big, 1, NULL, big, NULL, big, NULL, big) ==
              S4J_ERR_NULL_POINTER, "f32 span of INT64_MAX/2 bytes not NULL_POINTER");
  const int64_t big2 = INT64_MAX / 2 + 1;
  t_check(s4j_softmax_strided(0, S4J_DTYPE_BF16, 0, 1, big, 1, NULL, big, NULL, big, NULL, big) ==
              S4J_ERR_NULL_POINTER, "bf16 span of INT64_MAX/4 bytes not NULL_POINTER");
  t_check(s4j_softmax_strided(0, S4J_DTYPE_F16, 0, 1, big2, 1, NULL, big2, NULL, big2, NULL, big2) ==
              S4J_ERR_SIZE_OVERFLOW, "f16 span over INT64_MAX bytes not SIZE_OVERFLOW");
  /* The contiguous float64 functions. */
  t_check(s4j_log_softmax_dim_forward_f64(&d, &d, -1, 1, 1) == S4J_ERR_NEGATIVE_SIZE, "f64 negative");
  t_check(s4j_softmax_dim_forward_f64(NULL, NULL, 0, 1, 1) == S4J_OK, "f64 empty");
  t_check(s4j_softmax_dim_backward_f64(&d, NULL, &d, 1, 1, 1) == S4J_ERR_NULL_POINTER, "f64 null");
  t_check(s4j_log_softmax_dim_backward_f64(&d, &d, &d, 1, big, 1) == S4J_ERR_SIZE_OVERFLOW, "f64 overflow");
  double x[6] = {1, 2, 3, 4, 5, 6}, y[6], y2[6];
  s4j_softmax_dim_forward_f64(x, y, 1, 3, 2);
  s4j_softmax_strided(S4J_OP_SOFTMAX, S4J_DTYPE_F64, 0, 1, 3, 2, x, 6, NULL, 6, y2, 6);
  t_check(memcmp(y, y2, sizeof y) == 0, "f64 contiguous function differs from the strided one");
  t_check(fabs(y[0] - 1 / (1 + exp(2.0) + exp(4.0))) < 1e-15, "f64 softmax value %.17g", y[0]);
  /* Strided f64 slabs leave the gaps alone. */
  double in[2 * 5], out[2 * 5];
  for (int i = 0; i < 10; i++) in[i] = i, out[i] = -7.0;
  s4j_softmax_strided(S4J_OP_LOG_SOFTMAX, S4J_DTYPE_F64, 0, 2, 3, 1, in, 5, NULL, 5, out, 5);
  t_check(out[3] == -7.0 && out[4] == -7.0 && out[8] == -7.0 && out[9] == -7.0, "f64 strided gaps written");
  t_check(fabs(out[5] - (5 - (7 + log(1 + exp(-1.0) + exp(-2.0)))) ) < 1e-14, "f64 strided value %.17g",
          out[5]);
}

int main(void) {
  t_rng rng = {t_seed()};
  printf("test_dtype: seed %#" PRIx64 "\n", rng.state);
  test_exp_f64();
  test_conversions();
  test_checks();
  for (size_t i = 0; i < sizeof t_variants / sizeof *t_variants; i++) {
    const struct t_variant *v = &t_variants[i];
    if (!t_run_variant(v->name, NULL)) continue;
    test_variant(v, &rng);
    test_f64_prefetched(v, &rng);
    test_row_lengths(v, &rng);
    test_rows_streamed(v, &rng);
    test_uniform_bf16(v);
  }
  printf("  f64 forward max error: log_softmax %.2f eps of max(1,|y|), softmax %.2f eps of y*(1+|x-max|)\n",
         worst_f64_fwd[0], worst_f64_fwd[1]);
  printf("  f64 backward max error: log_softmax %.2f, softmax %.2f eps of the terms' size\n",
         worst_f64_bwd[0], worst_f64_bwd[1]);
  const char *hn[4] = {"bf16 forward", "bf16 backward", "f16 forward", "f16 backward"};
  for (int h = 0; h < 4; h++) {
    printf("  %s: max %.3f ulp of the format, %.4f%% correctly rounded (%zu values)\n", hn[h],
           worst_half_ulps[h], half_total[h] ? 100.0 * (double) half_exact[h] / (double) half_total[h] : 0.0,
           half_total[h]);
  }
  return t_finish("dtype");
}
