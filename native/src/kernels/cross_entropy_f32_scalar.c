/*
 * cross_entropy_f32_scalar.c - portable C cross-entropy kernels: the
 * variant every CPU runs, and the strided form dispatch uses for inner > 1
 * whatever the variant. The contiguous kernels are the strided ones at
 * stride 1.
 */
#include <math.h> /* INFINITY only */
#include <stddef.h>

#include "kernels/cross_entropy_f32.h"
#include "math/exp_f32.h"
#include "math/log_f64.h"

/* Elements summed in float before the block total is added in double. */
#define S4J_XENT_SCALAR_BLOCK 256

void s4j_f32_xent_stats_ukernel__scalar_strided(size_t classes, size_t stride, const float *x,
                                                float *max, double *log_sum) {
  /* A NaN never wins the comparison, so it survives into x - m below. */
  float m = -INFINITY;
  for (size_t c = 0; c < classes; c++) {
    const float v = x[c * stride];
    m = v > m ? v : m;
  }
  double sum = 0.0;
  size_t c = 0;
  while (c < classes) {
    const size_t end = classes - c > S4J_XENT_SCALAR_BLOCK ? c + S4J_XENT_SCALAR_BLOCK : classes;
    float acc0 = 0.0f, acc1 = 0.0f;
    for (; c + 2 <= end; c += 2) {
      acc0 += s4j_exp_f32_scalar(x[c * stride] - m);
      acc1 += s4j_exp_f32_scalar(x[(c + 1) * stride] - m);
    }
    for (; c < end; c++) acc0 += s4j_exp_f32_scalar(x[c * stride] - m);
    sum += (double) (acc0 + acc1);
  }
  *max = m;
  *log_sum = s4j_log_f64(sum);
}

void s4j_f32_xent_grad_ukernel__scalar_strided(size_t classes, size_t stride, const float *x,
                                               float max, float log_sum, float alpha, float beta,
                                               float gamma, const float *t, const float *w,
                                               float *gx) {
  for (size_t c = 0; c < classes; c++) {
    const float p = s4j_exp_f32_scalar((x[c * stride] - max) - log_sum);
    const float wc = w != NULL ? w[c] : 1.0f;
    const float q = t != NULL ? beta * t[c * stride] + gamma : gamma;
    gx[c * stride] = alpha * p - wc * q;
  }
}

void s4j_f32_xent_stats_ukernel__scalar_rr2_p6(size_t classes, const float *x, float *max,
                                               double *log_sum) {
  s4j_f32_xent_stats_ukernel__scalar_strided(classes, 1, x, max, log_sum);
}

void s4j_f32_xent_grad_ukernel__scalar_rr2_p6(size_t classes, const float *x, float max,
                                              float log_sum, float alpha, float beta,
                                              float gamma, const float *t, const float *w,
                                              float *gx) {
  s4j_f32_xent_grad_ukernel__scalar_strided(classes, 1, x, max, log_sum, alpha, beta, gamma, t, w,
                                            gx);
}
