/*
 * test_exp.c - the math of math/: every ISA's exp over every float, and the
 * row log, against libm in higher precision.
 *
 * exp: every float x in [CUTOFF, 88.72283] (the range with a finite,
 * non-zero result; 2.24e9 floats) goes through each supported ISA's exp, and
 * so do the patterns next to each boundary and 1/16 of the others
 * (S4J_EXP_SWEEP_STRIDE > 1 in sanitizer builds: every stride-th pattern).
 *   in range: finite, >= FLT_MIN (no subnormal), error vs the double exp
 *     below the bound documented in exp_f32.h; the maximum is reported;
 *   x < CUTOFF and -inf: exactly +0;  x > 88.72283 and +inf: +inf;
 *   NaN: NaN;  AVX2 and AVX-512: bit-identical.
 * log: s4j_log_f64 against logl over every float in [1, 4), a stride of all
 *   positive floats, random doubles, and special values.
 * float log (math/log_f32.h): every float in [1, 2^20) (the row sums of the
 *   short-row forward) and a stride of all positive normal floats, through
 *   the scalar version and each supported ISA's vector version, against the
 *   double log; AVX2 and AVX-512 bit-identical; log(1) = 0, +inf, NaN.
 *
 * Usage: test_exp [stride [isa]]   (stride overrides S4J_EXP_SWEEP_STRIDE;
 *                                   isa limits the run to one variant)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, sysconf */

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kernels/registry.h"
#include "math/exp_f32.h"
#include "math/log_f32.h"
#include "math/log_f64.h"
#include "softmax4j.h"
#include "test_util.h"

#ifndef S4J_EXP_SWEEP_STRIDE
#  define S4J_EXP_SWEEP_STRIDE 1
#endif

/* The bounds documented in math/exp_f32.h: faithful rounding (< 1 ulp)
 * where the exp is evaluated with FMA, 1.5 ulp in the baseline scalar one. */
#define EXP_BOUND_ULP_FMA 1.0
#define EXP_BOUND_ULP_SCALAR 1.5
#define LOG_BOUND_ULP 2.0  /* in units of the double result, math/log_f64.h */
#define LOG_F32_BOUND_ULP 1.0 /* in units of the float result, math/log_f32.h */
#define X_LAST_FINITE 0x1.62e42ep+6f /* 88.72283: largest x with a finite exp */
#define CHUNK 4096
#define MAX_VARIANTS 8
#define MAX_THREADS 8

typedef void (*t_vexp_fn)(size_t n, const float *x, float *y);

static struct {
  const char *name;
  t_vexp_fn exp;
  double bound_ulp;
} variants[MAX_VARIANTS];
static int n_variants;

#define T_VARIANT(vname, required, fwd, bwd, vexp) {#vname, vexp},
static const struct {
  const char *name;
  t_vexp_fn exp;
} registry[] = {S4J_VARIANTS(T_VARIANT)};
#undef T_VARIANT

struct exp_stats {
  double max_ulp;
  float worst_x;
  uint64_t in_range, bad_range, bad_special, subnormal;
  uint32_t first_bad; /* bits of the first failing x, when any */
  int has_bad;
};

struct sweep {
  uint64_t stride, count;            /* patterns k * stride, k < count */
  atomic_uint_fast64_t next_chunk;
  int avx2, avx512;                  /* indices in variants[], or -1 */
  pthread_mutex_t lock;
  struct exp_stats total[MAX_VARIANTS];
  uint64_t avx_mismatch;
};

static double exp_reference(float x) {
  const double d = (double) x;
  if (fabs(d) < 0x1p-20) return 1.0 + d + d * d * 0.5 + d * d * d * (1.0 / 6.0);
  return exp(d);
}

/* One unit in the last place of a float result whose exact value is r
 * (r >= FLT_MIN): 2^(exponent(r) - 23), and its inverse, from the bits. */
static double ulp_of(double r) {
  uint64_t b;
  memcpy(&b, &r, sizeof b);
  const uint64_t e = (b >> 52) & 0x7ff;
  const uint64_t ub = (e - 23) << 52;
  double u;
  memcpy(&u, &ub, sizeof u);
  return u;
}

static double inv_ulp_of(double r) {
  uint64_t b;
  memcpy(&b, &r, sizeof b);
  const uint64_t e = (b >> 52) & 0x7ff;
  const uint64_t ub = (2046 - e + 23) << 52; /* 2^(1023 - (e - 1023) + 23) */
  double u;
  memcpy(&u, &ub, sizeof u);
  return u;
}

static void note_bad(struct exp_stats *s, float x, int special) {
  if (special) {
    s->bad_special++;
  } else {
    s->bad_range++;
  }
  if (!s->has_bad) {
    s->has_bad = 1;
    s->first_bad = t_bits(x);
  }
}

/* Whether a chunk of patterns [u0, u0 + CHUNK * stride) is swept: always
 * when it holds an x with a finite non-zero exp or touches a boundary of the
 * range policy, else 1 chunk in 16 (the results there are constants: 0, inf
 * or NaN, and come from the same clamp and compare as at the boundaries). */
static int chunk_wanted(uint64_t chunk, uint64_t u0, uint64_t u1) {
  static const uint32_t edges[] = {0x00000000u, 0x80000000u, 0x7f800000u, 0xff800000u};
  if (chunk % 16 == 0) return 1;
  for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
    if (edges[i] >= u0 && edges[i] < u1) return 1;
  }
  const uint64_t lo_pos = 0, hi_pos = t_bits(X_LAST_FINITE) + 1u;           /* +0 .. 88.72283 */
  const uint64_t lo_neg = 0x80000000u, hi_neg = t_bits(S4J_EXP_F32_CUTOFF) + 1u; /* -0 .. CUTOFF */
  return (u0 < hi_pos && u1 > lo_pos) || (u0 < hi_neg && u1 > lo_neg);
}

enum { CLS_RANGE, CLS_NAN, CLS_ZERO, CLS_INF };

static void *sweep_worker(void *arg) {
  struct sweep *sw = arg;
  static _Thread_local float xs[CHUNK], out[MAX_VARIANTS][CHUNK];
  static _Thread_local double ref[CHUNK], inv_ulp[CHUNK];
  static _Thread_local unsigned char cls[CHUNK];
  struct exp_stats st[MAX_VARIANTS];
  memset(st, 0, sizeof st);
  uint64_t mismatch = 0;

  for (;;) {
    const uint64_t c = atomic_fetch_add(&sw->next_chunk, 1);
    const uint64_t k0 = c * CHUNK;
    if (k0 >= sw->count) break;
    const size_t kn = (size_t) (sw->count - k0 < CHUNK ? sw->count - k0 : CHUNK);
    if (sw->stride == 1 && !chunk_wanted(c, k0, k0 + kn)) continue;

    /* classify and compute the reference once, for every ISA */
    for (size_t j = 0; j < kn; j++) xs[j] = t_from_bits((uint32_t) ((k0 + j) * sw->stride));
    const float xa = xs[0], xb = xs[kn - 1];
    const int in_range_a = xa >= S4J_EXP_F32_CUTOFF && xa <= X_LAST_FINITE;
    const int in_range_b = xb >= S4J_EXP_F32_CUTOFF && xb <= X_LAST_FINITE;
    size_t in_range = 0;
    if (sw->stride == 1 && in_range_a && in_range_b && signbit(xa) == signbit(xb)) {
      /* consecutive patterns of one sign are monotonic: all in range */
      in_range = kn;
      if (fabsf(xa) < 0x1p-20f && fabsf(xb) < 0x1p-20f) {
        for (size_t j = 0; j < kn; j++) {
          const double d = (double) xs[j];
          ref[j] = 1.0 + d + d * d * 0.5 + d * d * d * (1.0 / 6.0);
        }
      } else {
        for (size_t j = 0; j < kn; j++) ref[j] = exp_reference(xs[j]);
      }
      for (size_t j = 0; j < kn; j++) {
        cls[j] = CLS_RANGE;
        inv_ulp[j] = inv_ulp_of(ref[j]);
      }
    } else {
      for (size_t j = 0; j < kn; j++) {
        const float x = xs[j];
        if (isnan(x)) {
          cls[j] = CLS_NAN;
        } else if (x < S4J_EXP_F32_CUTOFF) {
          cls[j] = CLS_ZERO;
        } else if (x > X_LAST_FINITE) {
          cls[j] = CLS_INF;
        } else {
          cls[j] = CLS_RANGE;
          ref[j] = exp_reference(x);
          inv_ulp[j] = inv_ulp_of(ref[j]);
          in_range++;
        }
      }
    }

    for (int v = 0; v < n_variants; v++) {
      variants[v].exp(kn, xs, out[v]);
      struct exp_stats *s = &st[v];
      const float *y = out[v];
      s->in_range += in_range;
      double max_err = 0.0;
      size_t max_at = 0;
      if (in_range == kn) {
        /* the common case, kept tight: every x has a finite non-zero exp */
        size_t outside = 0;
        for (size_t j = 0; j < kn; j++) {
          outside += !(y[j] >= FLT_MIN && y[j] <= FLT_MAX);
          const double err = fabs((double) y[j] - ref[j]) * inv_ulp[j];
          if (err > max_err) {
            max_err = err;
            max_at = j;
          }
        }
        if (outside == 0) goto chunk_done;
        max_err = 0.0;
      }
      for (size_t j = 0; j < kn; j++) {
        switch (cls[j]) {
          case CLS_RANGE: {
            if (!(y[j] >= FLT_MIN && y[j] <= FLT_MAX)) {
              if (y[j] > 0.0f && y[j] < FLT_MIN) s->subnormal++;
              note_bad(s, xs[j], 0);
              break;
            }
            const double err = fabs((double) y[j] - ref[j]) * inv_ulp[j];
            if (err > max_err) {
              max_err = err;
              max_at = j;
            }
            break;
          }
          case CLS_NAN:
            if (!isnan(y[j])) note_bad(s, xs[j], 1);
            break;
          case CLS_ZERO:
            if (t_bits(y[j]) != 0u) note_bad(s, xs[j], 1);
            break;
          default:
            if (!(isinf(y[j]) && y[j] > 0.0f)) note_bad(s, xs[j], 1);
            break;
        }
      }
    chunk_done:
      if (max_err >= variants[v].bound_ulp) note_bad(s, xs[max_at], 0);
      if (max_err > s->max_ulp) {
        s->max_ulp = max_err;
        s->worst_x = xs[max_at];
      }
    }
    if (sw->avx2 >= 0 && sw->avx512 >= 0) {
      mismatch += (uint64_t) (memcmp(out[sw->avx2], out[sw->avx512], kn * sizeof(float)) != 0);
    }
  }

  pthread_mutex_lock(&sw->lock);
  for (int v = 0; v < n_variants; v++) {
    struct exp_stats *t = &sw->total[v];
    const struct exp_stats *s = &st[v];
    if (s->max_ulp > t->max_ulp) {
      t->max_ulp = s->max_ulp;
      t->worst_x = s->worst_x;
    }
    t->in_range += s->in_range;
    t->bad_range += s->bad_range;
    t->bad_special += s->bad_special;
    t->subnormal += s->subnormal;
    if (s->has_bad && (!t->has_bad || s->first_bad < t->first_bad)) {
      t->has_bad = 1;
      t->first_bad = s->first_bad;
    }
  }
  sw->avx_mismatch += mismatch;
  pthread_mutex_unlock(&sw->lock);
  return NULL;
}

static void test_exp_sweep(uint64_t stride) {
  static struct sweep sw;
  sw.stride = stride;
  sw.count = ((UINT64_C(1) << 32) + stride - 1) / stride;
  atomic_init(&sw.next_chunk, 0);
  pthread_mutex_init(&sw.lock, NULL);
  sw.avx2 = sw.avx512 = -1;
  for (int v = 0; v < n_variants; v++) {
    if (strcmp(variants[v].name, "avx2") == 0) sw.avx2 = v;
    if (strcmp(variants[v].name, "avx512") == 0) sw.avx512 = v;
  }

  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  const int nthreads = cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : (int) cpus;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pthread_t th[MAX_THREADS];
  for (int t = 0; t < nthreads; t++) pthread_create(&th[t], NULL, sweep_worker, &sw);
  for (int t = 0; t < nthreads; t++) pthread_join(th[t], NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  const double wall = (double) (t1.tv_sec - t0.tv_sec) + 1e-9 * (double) (t1.tv_nsec - t0.tv_nsec);

  if (stride == 1) {
    printf("exp sweep: every float with a finite non-zero exp, the 4096 patterns around each "
           "boundary, 1/16 of the rest; %d threads, %.1f s\n", nthreads, wall);
  } else {
    printf("exp sweep: every %llu-th float bit pattern; %d threads, %.1f s\n",
           (unsigned long long) stride, nthreads, wall);
  }
  for (int v = 0; v < n_variants; v++) {
    const struct exp_stats *s = &sw.total[v];
    printf("  exp[%s]: max %.3f ulp at x=%a (%.9g) over %llu floats in [%.8g, %.8g]; "
           "%llu out of bound, %llu wrong special/out-of-range results, %llu subnormal\n",
           variants[v].name, s->max_ulp, (double) s->worst_x, (double) s->worst_x,
           (unsigned long long) s->in_range, (double) S4J_EXP_F32_CUTOFF, (double) X_LAST_FINITE,
           (unsigned long long) s->bad_range, (unsigned long long) s->bad_special,
           (unsigned long long) s->subnormal);
    t_check(!s->has_bad && s->max_ulp < variants[v].bound_ulp,
            "exp[%s]: %llu bad in range, %llu bad special, first bad x bits %#010x, max %.3f ulp",
            variants[v].name, (unsigned long long) s->bad_range,
            (unsigned long long) s->bad_special, s->has_bad ? s->first_bad : 0u, s->max_ulp);
  }
  if (sw.avx2 >= 0 && sw.avx512 >= 0) {
    t_check(sw.avx_mismatch == 0, "exp: avx2 and avx512 differ in %llu chunks",
            (unsigned long long) sw.avx_mismatch);
    printf("  exp[avx2] and exp[avx512] bit-identical: %s\n", sw.avx_mismatch == 0 ? "yes" : "NO");
  }
}

/* Special values and landmarks, each ISA. */
static void test_exp_special(void) {
  const struct {
    float x;
    int kind; /* 0: == want exactly, 1: finite, within bound of exp(x) */
    float want;
  } cases[] = {
      {0.0f, 0, 1.0f},
      {-0.0f, 0, 1.0f},
      {1e-45f, 0, 1.0f},
      {-1e-45f, 0, 1.0f},
      {-INFINITY, 0, 0.0f},
      {INFINITY, 0, INFINITY},
      {-1e30f, 0, 0.0f},
      {1e30f, 0, INFINITY},
      {-FLT_MAX, 0, 0.0f},
      {FLT_MAX, 0, INFINITY},
      {-0x1.5d58a0p+6f, 0, 0.0f},      /* -87.33655: below the cutoff */
      {0x1.62e430p+6f, 0, INFINITY},   /* 88.72284: first overflow */
      {89.0f, 0, INFINITY},
      {S4J_EXP_F32_CUTOFF, 1, 0.0f},   /* smallest non-zero result, >= FLT_MIN */
      {X_LAST_FINITE, 1, 0.0f},        /* largest finite result */
      {88.5f, 1, 0.0f},                /* n = 128 on AVX2/scalar */
      {88.4f, 1, 0.0f},
      {1.0f, 1, 0.0f},
      {-1.0f, 1, 0.0f},
      {-10.0f, 1, 0.0f},
      {0.34657359f, 1, 0.0f},
      {-0.34657359f, 1, 0.0f},
  };
  const size_t n = sizeof cases / sizeof cases[0];
  float xs[64], ys[64];
  for (size_t i = 0; i < n; i++) xs[i] = cases[i].x;
  xs[n] = NAN;
  xs[n + 1] = -NAN;
  xs[n + 2] = t_from_bits(0x7f800001u); /* signalling NaN */
  for (int v = 0; v < n_variants; v++) {
    variants[v].exp(n + 3, xs, ys);
    for (size_t i = 0; i < n; i++) {
      const float x = cases[i].x, y = ys[i];
      if (cases[i].kind == 0) {
        t_check(t_bits(y) == t_bits(cases[i].want), "exp[%s](%a) = %a, want %a", variants[v].name,
                (double) x, (double) y, (double) cases[i].want);
      } else {
        const double r = exp((double) x);
        const int ok = y >= FLT_MIN && y <= FLT_MAX &&
                       fabs((double) y - r) < variants[v].bound_ulp * ulp_of(r);
        t_check(ok, "exp[%s](%a) = %a, want %a within %.1f ulp", variants[v].name, (double) x,
                (double) y, r, variants[v].bound_ulp);
      }
    }
    t_check(isnan(ys[n]) && isnan(ys[n + 1]) && isnan(ys[n + 2]), "exp[%s](NaN) not NaN",
            variants[v].name);
  }
  /* The inline scalar version is the scalar ISA's. */
  for (size_t i = 0; i < n; i++) {
    float y;
    s4j_math_f32_exp__scalar_rr2_p6(1, &xs[i], &y);
    t_check(t_bits(y) == t_bits(s4j_exp_f32_scalar(xs[i])), "scalar exp inline vs array at %a",
            (double) xs[i]);
  }
}

/* --- log ---------------------------------------------------------------------- */

struct log_stats {
  double max_ulp;
  double worst_x;
  uint64_t checked, float_misrounded;
};

static void log_check_one(struct log_stats *s, double x) {
  const double got = s4j_log_f64(x);
  const long double want = logl((long double) x);
  s->checked++;
  if (want == 0.0L) {
    if (got != 0.0) {
      s->max_ulp = INFINITY;
      s->worst_x = x;
    }
    return;
  }
  const long double ulp = ldexpl(1.0L, ilogbl(want) - 52);
  const double err = (double) (fabsl((long double) got - want) / ulp);
  if (err > s->max_ulp) {
    s->max_ulp = err;
    s->worst_x = x;
  }
  if ((float) got != (float) want) s->float_misrounded++;
}

static void test_log(uint64_t stride) {
  struct log_stats s = {0, 0, 0, 0};
  /* every float in [1, 4) (or a stride of them) */
  for (uint32_t u = t_bits(1.0f); u < t_bits(4.0f); u += (uint32_t) stride) {
    log_check_one(&s, (double) t_from_bits(u));
  }
  /* a stride of all positive finite floats, subnormals included */
  for (uint64_t u = 1; u < 0x7f800000u; u += 1021 * stride) {
    log_check_one(&s, (double) t_from_bits((uint32_t) u));
  }
  /* random positive finite doubles, and doubles just above 1 (sums of exp) */
  t_rng rng = {t_seed()};
  for (int i = 0; i < 1000000 / (int) stride; i++) {
    uint64_t b = t_rng_next(&rng) & UINT64_C(0x7fffffffffffffff);
    if ((b >> 52) == 0x7ff) b &= UINT64_C(0x7fefffffffffffff);
    double d;
    memcpy(&d, &b, sizeof d);
    if (d > 0.0) log_check_one(&s, d);
    log_check_one(&s, 1.0 + (double) (t_rng_next(&rng) >> 11) * 0x1p-53 * 200000.0);
  }
  printf("log: max %.3f ulp (double) at x=%.17g over %llu inputs; float result != correctly "
         "rounded float log in %llu cases\n",
         s.max_ulp, s.worst_x, (unsigned long long) s.checked,
         (unsigned long long) s.float_misrounded);
  t_check(s.max_ulp < LOG_BOUND_ULP, "log: max error %.3f ulp at %.17g", s.max_ulp, s.worst_x);

  /* special values */
  t_check(isnan(s4j_log_f64(NAN)), "log(NaN)");
  t_check(s4j_log_f64(INFINITY) == INFINITY, "log(+inf)");
  t_check(s4j_log_f64(0.0) == -INFINITY && s4j_log_f64(-0.0) == -INFINITY, "log(0)");
  t_check(isnan(s4j_log_f64(-1.0)) && isnan(s4j_log_f64(-INFINITY)), "log(<0)");
  t_check(s4j_log_f64(1.0) == 0.0, "log(1) = %a", s4j_log_f64(1.0));
  t_check(fabs(s4j_log_f64(0x1p-1074) + 744.44007192138126) < 1e-12, "log(min subnormal) = %.17g",
          s4j_log_f64(0x1p-1074));
  t_check(fabs(s4j_log_f64(DBL_MAX) - 709.78271289338397) < 1e-12, "log(DBL_MAX)");
}

/* --- float log --------------------------------------------------------------- */

typedef void (*t_vlog_fn)(size_t n, const float *x, float *y);

static void t_log_f32_scalar_array(size_t n, const float *x, float *y) {
  for (size_t i = 0; i < n; i++) y[i] = s4j_log_f32_scalar(x[i]);
}

struct log_f32_variant {
  const char *name;
  t_vlog_fn log;
  double max_ulp;
  float worst_x;
};

static double log_f32_err_ulp(float x, float got) {
  const double want = log((double) x);
  if (want == 0.0) return got == 0.0f ? 0.0 : INFINITY;
  const double ulp = ldexp(1.0, ilogb(want) - 23);
  return fabs((double) got - want) / ulp;
}

static void test_log_f32(uint64_t stride) {
  struct log_f32_variant v[3];
  int nv = 0;
  v[nv++] = (struct log_f32_variant){"scalar", t_log_f32_scalar_array, 0.0, 0.0f};
#if defined(S4J_HAVE_X86_VARIANTS) && S4J_HAVE_X86_VARIANTS
  const int have_avx2 = s4j_isa_supported("avx2"), have_avx512 = s4j_isa_supported("avx512");
  if (have_avx2) v[nv++] = (struct log_f32_variant){"avx2", s4j_math_f32_log__avx2, 0.0, 0.0f};
  if (have_avx512) {
    v[nv++] = (struct log_f32_variant){"avx512", s4j_math_f32_log__avx512f, 0.0, 0.0f};
  }
#else
  const int have_avx2 = 0, have_avx512 = 0;
#endif
  static float xs[CHUNK], ys[3][CHUNK];
  uint64_t checked = 0, differ = 0;
  /* Two ranges: every float in [1, 2^20), then every 1021st positive normal float. */
  const uint64_t starts[2] = {t_bits(1.0f), t_bits(FLT_MIN)};
  const uint64_t ends[2] = {t_bits(0x1p20f), (uint64_t) t_bits(FLT_MAX) + 1};
  const uint64_t steps[2] = {stride, 1021 * stride};
  for (int range = 0; range < 2; range++) {
    uint64_t u = starts[range];
    while (u < ends[range]) {
      size_t n = 0;
      for (; n < CHUNK && u < ends[range]; n++, u += steps[range]) xs[n] = t_from_bits((uint32_t) u);
      while (n % 16 != 0) xs[n++] = 1.0f; /* whole vectors */
      for (int j = 0; j < nv; j++) {
        v[j].log(n, xs, ys[j]);
        for (size_t i = 0; i < n; i++) {
          const double e = log_f32_err_ulp(xs[i], ys[j][i]);
          if (!(e <= v[j].max_ulp)) {
            v[j].max_ulp = e;
            v[j].worst_x = xs[i];
          }
        }
      }
      if (have_avx2 && have_avx512) {
        for (size_t i = 0; i < n; i++) differ += t_bits(ys[1][i]) != t_bits(ys[2][i]);
      }
      checked += n;
    }
  }
  for (int j = 0; j < nv; j++) {
    printf("log_f32[%s]: max %.3f ulp at x=%a over %llu inputs\n", v[j].name, v[j].max_ulp,
           (double) v[j].worst_x, (unsigned long long) checked);
    t_check(v[j].max_ulp < LOG_F32_BOUND_ULP, "log_f32[%s]: max error %.3f ulp at %a", v[j].name,
            v[j].max_ulp, (double) v[j].worst_x);
  }
  t_check(differ == 0, "log_f32: avx2 and avx512 differ in %llu cases", (unsigned long long) differ);

  /* special values, every variant */
  float sx[16] = {1.0f, INFINITY, NAN, FLT_MAX, FLT_MIN, 2.0f, 0.5f, 1.0f,
                  1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f};
  for (int j = 0; j < nv; j++) {
    float sy[16];
    v[j].log(16, sx, sy);
    t_check(sy[0] == 0.0f && !signbit(sy[0]), "log_f32[%s](1) = %a", v[j].name, (double) sy[0]);
    t_check(sy[1] == INFINITY, "log_f32[%s](+inf) = %a", v[j].name, (double) sy[1]);
    t_check(isnan(sy[2]), "log_f32[%s](NaN) = %a", v[j].name, (double) sy[2]);
    for (int i = 3; i < 7; i++) {
      const double e = log_f32_err_ulp(sx[i], sy[i]);
      t_check(e < LOG_F32_BOUND_ULP, "log_f32[%s](%a): %.3f ulp", v[j].name, (double) sx[i], e);
    }
  }
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  uint64_t stride = S4J_EXP_SWEEP_STRIDE;
  if (argc > 1) stride = strtoull(argv[1], NULL, 0);
  if (stride < 1) stride = 1;
  const char *only = argc > 2 ? argv[2] : NULL;

  for (size_t k = 0; k < sizeof registry / sizeof registry[0]; k++) {
    if (only != NULL && strcmp(only, registry[k].name) != 0) continue;
    if (!s4j_isa_supported(registry[k].name)) {
      char msg[96];
      snprintf(msg, sizeof msg, "exp[%s]: this CPU/OS cannot run it", registry[k].name);
      t_skip(msg);
      continue;
    }
    variants[n_variants].name = registry[k].name;
    variants[n_variants].exp = registry[k].exp;
    variants[n_variants].bound_ulp =
        strcmp(registry[k].name, "scalar") == 0 ? EXP_BOUND_ULP_SCALAR : EXP_BOUND_ULP_FMA;
    n_variants++;
  }

  test_exp_special();
  test_exp_sweep(stride);
  test_log(stride == 1 ? 1 : 7);
  test_log_f32(stride);
  return t_finish("exp");
}
