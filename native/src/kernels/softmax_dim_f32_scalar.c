/*
 * softmax_dim_f32_scalar.c - log-softmax and softmax over a middle dimension
 * in portable C: the passes of softmax_dim_f32.h over groups of
 * S4J_SCALAR_GROUP positions, whose statistics live in small arrays.
 */
#include "kernels/softmax_dim_f32.h"
#include "math/exp_f32.h"
#include "math/log_f64.h"

#define S4J_SCALAR_GROUP 16

/* A group's max m and sum s of exp(x - m) per position; with `keep`, each
 * exp is also stored in e (the softmax keeps it in y, the LogSumExp
 * backward in gx, to scale it in place afterwards). */
static void s4j_group_stats(int keep, size_t dim, size_t inner, size_t w, const float *x, float *e,
                            float *m, double *s) {
  for (size_t j = 0; j < w; j++) m[j] = x[j];
  for (size_t c = 1; c < dim; c++) {
    const float *row = x + c * inner;
    /* A NaN that this comparison drops still makes its exp, and s, NaN. */
    for (size_t j = 0; j < w; j++) m[j] = row[j] > m[j] ? row[j] : m[j];
  }
  for (size_t j = 0; j < w; j++) s[j] = 0.0;
  for (size_t c0 = 0; c0 < dim; c0 += S4J_DIM_FLOAT_RUN) {
    const size_t c1 = dim - c0 < S4J_DIM_FLOAT_RUN ? dim : c0 + S4J_DIM_FLOAT_RUN;
    for (size_t j = 0; j < w; j++) {
      float run = 0.0f;
      for (size_t c = c0; c < c1; c++) {
        const float v = s4j_exp_f32_scalar(x[c * inner + j] - m[j]);
        run += v;
        if (keep) e[c * inner + j] = v;
      }
      s[j] += (double) run;
    }
  }
}

static void s4j_forward_group(enum s4j_softmax_kind kind, size_t dim, size_t inner, size_t w,
                              const float *x, float *y) {
  float m[S4J_SCALAR_GROUP];
  double s[S4J_SCALAR_GROUP];
  float t[S4J_SCALAR_GROUP];

  s4j_group_stats(kind == S4J_KIND_SOFTMAX, dim, inner, w, x, y, m, s);
  if (kind == S4J_KIND_STATS) {
    /* y is [outer, inner, 2]: each position's max and log of its sum. */
    for (size_t j = 0; j < w; j++) {
      y[2 * j] = m[j];
      y[2 * j + 1] = (float) s4j_log_f64(s[j]);
    }
    return;
  }
  if (kind == S4J_KIND_LOGSUMEXP) {
    /* y is the [outer, inner] output here: m + log(s) in double, rounded once. */
    for (size_t j = 0; j < w; j++) y[j] = (float) ((double) m[j] + s4j_log_f64(s[j]));
    return;
  }
  for (size_t j = 0; j < w; j++) {
    t[j] = (float) (kind == S4J_KIND_LOG_SOFTMAX ? s4j_log_f64(s[j]) : 1.0 / s[j]);
  }
  for (size_t c = 0; c < dim; c++) {
    const float *row = x + c * inner;
    float *out = y + c * inner;
    for (size_t j = 0; j < w; j++) {
      out[j] = kind == S4J_KIND_LOG_SOFTMAX ? (row[j] - m[j]) - t[j] : out[j] * t[j];
    }
  }
}

static void s4j_backward_group(enum s4j_softmax_kind kind, size_t dim, size_t inner, size_t w,
                               const float *gy, const float *y, float *gx) {
  double acc[S4J_SCALAR_GROUP];
  float sum[S4J_SCALAR_GROUP];

  for (size_t j = 0; j < w; j++) acc[j] = 0.0;
  for (size_t c = 0; c < dim; c++) {
    const float *g = gy + c * inner;
    const float *o = y + c * inner;
    for (size_t j = 0; j < w; j++) {
      /* gy * y in double: a product of two floats is exact there. */
      acc[j] += kind == S4J_KIND_LOG_SOFTMAX ? (double) g[j] : (double) g[j] * (double) o[j];
    }
  }
  for (size_t j = 0; j < w; j++) sum[j] = (float) acc[j];
  for (size_t c = 0; c < dim; c++) {
    const float *g = gy + c * inner;
    const float *o = y + c * inner;
    float *out = gx + c * inner;
    for (size_t j = 0; j < w; j++) {
      out[j] = kind == S4J_KIND_LOG_SOFTMAX ? g[j] - s4j_exp_f32_scalar(o[j]) * sum[j]
                                            : o[j] * (g[j] - sum[j]);
    }
  }
}

/* LogSumExp backward of one group from the saved input x: exp(x - max)
 * kept in gx as the softmax forward keeps it in y, then scaled by
 * (float) (gy / s), the quotient in double. gx may be x: each pass reads an
 * element before it writes it. */
static void s4j_lse_backward_group(size_t dim, size_t inner, size_t w, const float *gy,
                                   const float *x, float *gx) {
  float m[S4J_SCALAR_GROUP];
  double s[S4J_SCALAR_GROUP];
  float t[S4J_SCALAR_GROUP];

  s4j_group_stats(1, dim, inner, w, x, gx, m, s);
  for (size_t j = 0; j < w; j++) t[j] = (float) ((double) gy[j] / s[j]);
  for (size_t c = 0; c < dim; c++) {
    float *out = gx + c * inner;
    for (size_t j = 0; j < w; j++) out[j] *= t[j];
  }
}

void s4j_f32_softmax_dim_fwd_ukernel__scalar(enum s4j_softmax_kind kind, size_t outer,
                                             size_t dim, size_t inner, const float *x, float *y) {
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    /* LogSumExp writes one value per position: its output is [outer, inner]. */
    float *out = y + (kind == S4J_KIND_LOGSUMEXP ? o * inner : kind == S4J_KIND_STATS ? 2 * o * inner : base);
    for (size_t j = 0; j < inner; j += S4J_SCALAR_GROUP) {
      const size_t w = inner - j < S4J_SCALAR_GROUP ? inner - j : S4J_SCALAR_GROUP;
      s4j_forward_group(kind, dim, inner, w, x + base + j, out + (kind == S4J_KIND_STATS ? 2 * j : j));
    }
  }
}

void s4j_f32_softmax_dim_bwd_ukernel__scalar(enum s4j_softmax_kind kind, size_t outer,
                                             size_t dim, size_t inner, const float *gy,
                                             const float *y, float *gx) {
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    for (size_t j = 0; j < inner; j += S4J_SCALAR_GROUP) {
      const size_t w = inner - j < S4J_SCALAR_GROUP ? inner - j : S4J_SCALAR_GROUP;
      /* LogSumExp: gy is [outer, inner] and y the forward's input. */
      if (kind == S4J_KIND_LOGSUMEXP) {
        s4j_lse_backward_group(dim, inner, w, gy + o * inner + j, y + base + j, gx + base + j);
        continue;
      }
      s4j_backward_group(kind, dim, inner, w, gy + base + j, y + base + j, gx + base + j);
    }
  }
}
