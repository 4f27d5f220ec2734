/*
 * softmax_f64_scalar.c - float64 log-softmax and softmax over any dimension
 * in portable C: the passes of softmax_f64.h over groups of up to
 * S4J_F64_GROUP positions (one when inner == 1), statistics in small arrays.
 */
#include "kernels/softmax_f64.h"
#include "math/exp_f64.h"
#include "math/log_f64.h"
#include "math/sum_f64.h"

#define S4J_F64_GROUP 8

/* The first two passes of a group: its max m and sum s of exp(x - m), the
 * sum as a Neumaier pair (s, c). */
static void s4j_max_sum_group(size_t dim, size_t inner, size_t w, const double *x, double *m,
                              double *s, double *c) {
  for (size_t j = 0; j < w; j++) m[j] = x[j];
  for (size_t k = 1; k < dim; k++) {
    const double *row = x + k * inner;
    /* A NaN this comparison drops still makes its exp, and s, NaN. */
    for (size_t j = 0; j < w; j++) m[j] = row[j] > m[j] ? row[j] : m[j];
  }
  for (size_t j = 0; j < w; j++) s[j] = c[j] = 0.0;
  for (size_t k = 0; k < dim; k++) {
    const double *row = x + k * inner;
    for (size_t j = 0; j < w; j++) s4j_neumaier_add(&s[j], &c[j], s4j_exp_f64_scalar(row[j] - m[j]));
  }
}

static void s4j_forward_group(enum s4j_softmax_kind kind, size_t dim, size_t inner, size_t w,
                              const double *x, double *y) {
  double m[S4J_F64_GROUP], s[S4J_F64_GROUP], c[S4J_F64_GROUP], t[S4J_F64_GROUP];

  s4j_max_sum_group(dim, inner, w, x, m, s, c);
  for (size_t j = 0; j < w; j++) {
    const double total = s4j_neumaier_total(s[j], c[j]);
    t[j] = kind == S4J_KIND_LOG_SOFTMAX ? s4j_log_f64(total) : 1.0 / total;
  }
  for (size_t k = 0; k < dim; k++) {
    const double *row = x + k * inner;
    double *out = y + k * inner;
    for (size_t j = 0; j < w; j++) {
      const double shifted = row[j] - m[j];
      out[j] = kind == S4J_KIND_LOG_SOFTMAX ? shifted - t[j] : s4j_exp_f64_scalar(shifted) * t[j];
    }
  }
}

static void s4j_backward_group(enum s4j_softmax_kind kind, size_t dim, size_t inner, size_t w,
                               const double *gy, const double *y, double *gx) {
  double s[S4J_F64_GROUP], c[S4J_F64_GROUP];

  for (size_t j = 0; j < w; j++) s[j] = c[j] = 0.0;
  for (size_t k = 0; k < dim; k++) {
    const double *g = gy + k * inner;
    const double *o = y + k * inner;
    for (size_t j = 0; j < w; j++) {
      s4j_neumaier_add(&s[j], &c[j], kind == S4J_KIND_LOG_SOFTMAX ? g[j] : g[j] * o[j]);
    }
  }
  for (size_t j = 0; j < w; j++) s[j] = s4j_neumaier_total(s[j], c[j]);
  for (size_t k = 0; k < dim; k++) {
    const double *g = gy + k * inner;
    const double *o = y + k * inner;
    double *out = gx + k * inner;
    for (size_t j = 0; j < w; j++) {
      out[j] = kind == S4J_KIND_LOG_SOFTMAX ? g[j] - s4j_exp_f64_scalar(o[j]) * s[j]
                                            : o[j] * (g[j] - s[j]);
    }
  }
}

/* LogSumExp of a group: y[j] = m + log(s), y the group's w outputs. */
static void s4j_lse_forward_group(size_t dim, size_t inner, size_t w, const double *x, double *y) {
  double m[S4J_F64_GROUP], s[S4J_F64_GROUP], c[S4J_F64_GROUP];

  s4j_max_sum_group(dim, inner, w, x, m, s, c);
  for (size_t j = 0; j < w; j++) y[j] = m[j] + s4j_log_f64(s4j_neumaier_total(s[j], c[j]));
}

/* LogSumExp backward of a group: gx = gy[j] * exp(x - m) * (1 / s), gy
 * the group's w output gradients and x the saved input. */
static void s4j_lse_backward_group(size_t dim, size_t inner, size_t w, const double *gy,
                                   const double *x, double *gx) {
  double m[S4J_F64_GROUP], s[S4J_F64_GROUP], c[S4J_F64_GROUP], t[S4J_F64_GROUP];

  s4j_max_sum_group(dim, inner, w, x, m, s, c);
  for (size_t j = 0; j < w; j++) t[j] = 1.0 / s4j_neumaier_total(s[j], c[j]);
  for (size_t k = 0; k < dim; k++) {
    const double *row = x + k * inner;
    double *out = gx + k * inner;
    for (size_t j = 0; j < w; j++) out[j] = gy[j] * (s4j_exp_f64_scalar(row[j] - m[j]) * t[j]);
  }
}

void s4j_f64_softmax_fwd_ukernel__scalar(enum s4j_softmax_kind kind, size_t outer, size_t dim,
                                         size_t inner, const double *x, double *y) {
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    for (size_t j = 0; j < inner; j += S4J_F64_GROUP) {
      const size_t w = inner - j < S4J_F64_GROUP ? inner - j : S4J_F64_GROUP;
      if (kind == S4J_KIND_LOGSUMEXP) {
        s4j_lse_forward_group(dim, inner, w, x + base + j, y + o * inner + j);
      } else {
        s4j_forward_group(kind, dim, inner, w, x + base + j, y + base + j);
      }
    }
  }
}

void s4j_f64_softmax_bwd_ukernel__scalar(enum s4j_softmax_kind kind, size_t outer, size_t dim,
                                         size_t inner, const double *gy, const double *y,
                                         double *gx) {
  for (size_t o = 0; o < outer; o++) {
    const size_t base = o * dim * inner;
    for (size_t j = 0; j < inner; j += S4J_F64_GROUP) {
      const size_t w = inner - j < S4J_F64_GROUP ? inner - j : S4J_F64_GROUP;
      if (kind == S4J_KIND_LOGSUMEXP) {
        s4j_lse_backward_group(dim, inner, w, gy + o * inner + j, y + base + j, gx + base + j);
      } else {
        s4j_backward_group(kind, dim, inner, w, gy + base + j, y + base + j, gx + base + j);
      }
    }
  }
}

void s4j_math_f64_exp__scalar(size_t n, const double *x, double *y) {
  for (size_t i = 0; i < n; i++) y[i] = s4j_exp_f64_scalar(x[i]);
}
