/*
 * log_softmax_f32_scalar.c - portable C kernels, the baseline every CPU runs.
 * Compiled without ISA flags; 4 independent accumulators per pass.
 */
#include <assert.h>
#include <math.h> /* INFINITY only */
#include <stddef.h>

#include "kernels/log_softmax_f32.h"
#include "math/exp_f32.h"
#include "math/log_f64.h"

/* Elements summed in float (64 per accumulator) before the block total is
 * added to the double row total. */
#define S4J_SCALAR_BLOCK 256

static inline float s4j_max_f32(float a, float b) { return b > a ? b : a; }

static float s4j_row_max(size_t n, const float *x) {
  float vmax0 = -INFINITY, vmax1 = -INFINITY, vmax2 = -INFINITY, vmax3 = -INFINITY;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    vmax0 = s4j_max_f32(vmax0, x[i + 0]);
    vmax1 = s4j_max_f32(vmax1, x[i + 1]);
    vmax2 = s4j_max_f32(vmax2, x[i + 2]);
    vmax3 = s4j_max_f32(vmax3, x[i + 3]);
  }
  for (; i < n; i++) vmax0 = s4j_max_f32(vmax0, x[i]);
  return s4j_max_f32(s4j_max_f32(vmax0, vmax1), s4j_max_f32(vmax2, vmax3));
}

static double s4j_row_sum_exp(size_t n, const float *x, float m) {
  double sum = 0.0;
  size_t i = 0;
  while (i < n) {
    const size_t block_end = n - i > S4J_SCALAR_BLOCK ? i + S4J_SCALAR_BLOCK : n;
    float acc0 = 0.0f, acc1 = 0.0f, acc2 = 0.0f, acc3 = 0.0f;
    for (; i + 4 <= block_end; i += 4) {
      acc0 += s4j_exp_f32_scalar(x[i + 0] - m);
      acc1 += s4j_exp_f32_scalar(x[i + 1] - m);
      acc2 += s4j_exp_f32_scalar(x[i + 2] - m);
      acc3 += s4j_exp_f32_scalar(x[i + 3] - m);
    }
    for (; i < block_end; i++) acc0 += s4j_exp_f32_scalar(x[i] - m);
    sum += (double) ((acc0 + acc1) + (acc2 + acc3));
  }
  return sum;
}

/* The gradients can cancel, so their sum is accumulated in double
 * throughout (a float block total would have an absolute error that exp(y)
 * does not shrink when one y dominates). */
static double s4j_row_sum(size_t n, const float *x) {
  double acc0 = 0.0, acc1 = 0.0, acc2 = 0.0, acc3 = 0.0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    acc0 += (double) x[i + 0];
    acc1 += (double) x[i + 1];
    acc2 += (double) x[i + 2];
    acc3 += (double) x[i + 3];
  }
  for (; i < n; i++) acc0 += (double) x[i];
  return (acc0 + acc1) + (acc2 + acc3);
}

void s4j_f32_log_softmax_fwd_ukernel__scalar_rr2_p6_u4_acc4(
    size_t rows, size_t cols, const float *x, float *y) {
  assert(rows != 0 && cols != 0);
  assert(x != NULL && y != NULL);

  for (size_t r = 0; r < rows; r++, x += cols, y += cols) {
    const float m = s4j_row_max(cols, x);
    const float logsum = (float) s4j_log_f64(s4j_row_sum_exp(cols, x, m));
    /* (x - m) - log(sum), in that order: exact 0 - logsum at the max. */
    for (size_t i = 0; i < cols; i++) y[i] = (x[i] - m) - logsum;
  }
}

void s4j_f32_log_softmax_bwd_ukernel__scalar_rr2_p6_u4_acc4(
    size_t rows, size_t cols, const float *gy, const float *y, float *gx) {
  assert(rows != 0 && cols != 0);
  assert(gy != NULL && y != NULL && gx != NULL);

  for (size_t r = 0; r < rows; r++, gy += cols, y += cols, gx += cols) {
    const float sum = (float) s4j_row_sum(cols, gy);
    for (size_t i = 0; i < cols; i++) gx[i] = gy[i] - s4j_exp_f32_scalar(y[i]) * sum;
  }
}
