/*
 * softmax_x16_scalar.c - bfloat16 and float16 log-softmax and softmax over
 * any dimension in portable C: the float32 scalar passes over groups of up
 * to S4J_X16_GROUP positions, each element widened on load and rounded
 * once on store (math/half.h).
 */
#include "kernels/softmax_x16.h"
#include "math/exp_f32.h"
#include "math/half.h"
#include "math/log_f64.h"

#define S4J_X16_GROUP 16

/* The first two passes of a group: its max m and the sum s of exp(x - m),
 * each exp in float and the sum in double. */
static void s4j_max_sum_group(enum s4j_half_format fmt, size_t dim, size_t inner, size_t w,
                              const uint16_t *x, float *m, double *s) {
  for (size_t j = 0; j < w; j++) m[j] = s4j_half_to_f32(fmt, x[j]);
  for (size_t c = 1; c < dim; c++) {
    const uint16_t *row = x + c * inner;
    for (size_t j = 0; j < w; j++) {
      const float v = s4j_half_to_f32(fmt, row[j]);
      /* A NaN this comparison drops still makes its exp, and s, NaN. */
      m[j] = v > m[j] ? v : m[j];
    }
  }
  for (size_t j = 0; j < w; j++) s[j] = 0.0;
  for (size_t c = 0; c < dim; c++) {
    const uint16_t *row = x + c * inner;
    for (size_t j = 0; j < w; j++) s[j] += (double) s4j_exp_f32_scalar(s4j_half_to_f32(fmt, row[j]) - m[j]);
  }
}

static void s4j_forward_group(enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t dim,
                              size_t inner, size_t w, const uint16_t *x, uint16_t *y) {
  float m[S4J_X16_GROUP], t[S4J_X16_GROUP];
  double s[S4J_X16_GROUP];

  s4j_max_sum_group(fmt, dim, inner, w, x, m, s);
  for (size_t j = 0; j < w; j++) {
    t[j] = (float) (kind == S4J_KIND_LOG_SOFTMAX ? s4j_log_f64(s[j]) : 1.0 / s[j]);
  }
  for (size_t c = 0; c < dim; c++) {
    const uint16_t *row = x + c * inner;
    uint16_t *out = y + c * inner;
    for (size_t j = 0; j < w; j++) {
      const float shifted = s4j_half_to_f32(fmt, row[j]) - m[j];
      const float v = kind == S4J_KIND_LOG_SOFTMAX ? shifted - t[j] : s4j_exp_f32_scalar(shifted) * t[j];
      out[j] = s4j_f32_to_half(fmt, v);
    }
  }
}

static void s4j_backward_group(enum s4j_half_format fmt, enum s4j_softmax_kind kind, size_t dim,
                               size_t inner, size_t w, const uint16_t *gy, const uint16_t *y,
                               uint16_t *gx) {
  double acc[S4J_X16_GROUP];
  float sum[S4J_X16_GROUP];

  for (size_t j = 0; j < w; j++) acc[j] = 0.0;
  for (size_t c = 0; c < dim; c++) {
    const uint16_t *g = gy + c * inner;
    const uint16_t *o = y + c * inner;
    for (size_t j = 0; j < w; j++) {
      const double gj = (double) s4j_half_to_f32(fmt, g[j]);
      /* gy * y in double: a product of two floats is exact there. */
      acc[j] += kind == S4J_KIND_LOG_SOFTMAX ? gj : gj * (double) s4j_half_to_f32(fmt, o[j]);
    }
  }
  for (size_t j = 0; j < w; j++) sum[j] = (float) acc[j];
  for (size_t c = 0; c < dim; c++) {
    const uint16_t *g = gy + c * inner;
    const uint16_t *o = y + c * inner;
    uint16_t *out = gx + c * inner;
    for (size_t j = 0; j < w; j++) {
      const float gj = s4j_half_to_f32(fmt, g[j]);
      const float oj = s4j_half_to_f32(fmt, o[j]);
      const float v = kind == S4J_KIND_LOG_SOFTMAX ? gj - s4j_exp_f32_scalar(oj) * sum[j] : oj * (gj - sum[j]);
      out[j] = s4j_f32_to_half(fmt, v);
    }
  }
}

/* LogSumExp of a group: y[j] = m + log(s) in double, rounded once. */
static void s4j_lse_forward_group(enum s4j_half_format fmt, size_t dim, size_t inner, size_t w,
                                  const uint16_t *x, uint16_t *y) {
  float m[S4J_X16_GROUP];
  double s[S4J_X16_GROUP];

  s4j_max_sum_group(fmt, dim, inner, w, x, m, s);
  for (size_t j = 0; j < w; j++) y[j] = s4j_f64_to_half(fmt, (double) m[j] + s4j_log_f64(s[j]));
}

/* LogSumExp backward of a group: gx = gy[j] * (exp(x - m) * (1 / s)) in
 * float, rounded once (the softmax is never rounded to 16 bits). */
static void s4j_lse_backward_group(enum s4j_half_format fmt, size_t dim, size_t inner, size_t w,
                                   const uint16_t *gy, const uint16_t *x, uint16_t *gx) {
  float m[S4J_X16_GROUP], t[S4J_X16_GROUP], g[S4J_X16_GROUP];
  double s[S4J_X16_GROUP];

  s4j_max_sum_group(fmt, dim, inner, w, x, m, s);
  for (size_t j = 0; j < w; j++) {
    t[j] = (float) (1.0 / s[j]);
    g[j] = s4j_half_to_f32(fmt, gy[j]);
  }
  for (size_t c = 0; c < dim; c++) {
    const uint16_t *row = x + c * inner;
    uint16_t *out = gx + c * inner;
    for (size_t j = 0; j < w; j++) {
      const float p = s4j_exp_f32_scalar(s4j_half_to_f32(fmt, row[j]) - m[j]) * t[j];
      out[j] = s4j_f32_to_half(fmt, g[j] * p);
    }
  }
}

void s4j_x16_softmax_fwd_ukernel__scalar(enum s4j_half_format fmt, enum s4j_softmax_kind kind,
                                         size_t outer, size_t dim, size_t inner,
                                         const uint16_t *x, uint16_t *y) {
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    for (size_t j = 0; j < inner; j += S4J_X16_GROUP) {
      const size_t w = inner - j < S4J_X16_GROUP ? inner - j : S4J_X16_GROUP;
      if (kind == S4J_KIND_LOGSUMEXP) {
        s4j_lse_forward_group(fmt, dim, inner, w, x + base + j, y + o * inner + j);
      } else {
        s4j_forward_group(fmt, kind, dim, inner, w, x + base + j, y + base + j);
      }
    }
  }
}

void s4j_x16_softmax_bwd_ukernel__scalar(enum s4j_half_format fmt, enum s4j_softmax_kind kind,
                                         size_t outer, size_t dim, size_t inner,
                                         const uint16_t *gy, const uint16_t *y, uint16_t *gx) {
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    for (size_t j = 0; j < inner; j += S4J_X16_GROUP) {
      const size_t w = inner - j < S4J_X16_GROUP ? inner - j : S4J_X16_GROUP;
      if (kind == S4J_KIND_LOGSUMEXP) {
        s4j_lse_backward_group(fmt, dim, inner, w, gy + o * inner + j, y + base + j, gx + base + j);
      } else {
        s4j_backward_group(fmt, kind, dim, inner, w, gy + base + j, y + base + j, gx + base + j);
      }
    }
  }
}

void s4j_math_half_narrow__scalar(enum s4j_half_format fmt, size_t n, const float *x, uint16_t *y) {
  for (size_t i = 0; i < n; i++) y[i] = s4j_f32_to_half(fmt, x[i]);
}
