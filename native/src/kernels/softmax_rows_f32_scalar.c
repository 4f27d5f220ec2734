/*
 * softmax_rows_f32_scalar.c - softmax over rows in portable C. The
 * algorithm is in softmax_rows_f32.h.
 */
#include "kernels/softmax_rows_f32.h"
#include "math/exp_f32.h"
#include "math/log_f64.h"

void s4j_f32_softmax_rows_fwd_ukernel__scalar(size_t rows, size_t cols, const float *x, float *y) {
  for (size_t r = 0; r < rows; r++, x += cols, y += cols) {
    float m = x[0];
    /* A NaN this comparison drops still makes its exp, and the sum, NaN. */
    for (size_t i = 1; i < cols; i++) m = x[i] > m ? x[i] : m;
    double sum = 0.0;
    for (size_t i = 0; i < cols; i++) {
      y[i] = s4j_exp_f32_scalar(x[i] - m);
      sum += (double) y[i];
    }
    const float scale = (float) (1.0 / sum);
    for (size_t i = 0; i < cols; i++) y[i] *= scale;
  }
}

void s4j_f32_softmax_rows_bwd_ukernel__scalar(size_t rows, size_t cols, const float *gy,
                                              const float *y, float *gx) {
  for (size_t r = 0; r < rows; r++, gy += cols, y += cols, gx += cols) {
    double sum = 0.0;
    /* gy * y in double: a product of two floats is exact there. */
    for (size_t i = 0; i < cols; i++) sum += (double) gy[i] * (double) y[i];
    const float s = (float) sum;
    for (size_t i = 0; i < cols; i++) gx[i] = y[i] * (gy[i] - s);
  }
}

void s4j_f32_logsumexp_rows_ukernel__scalar(size_t rows, size_t cols, const float *x, float *out) {
  for (size_t r = 0; r < rows; r++, x += cols) {
    float m = x[0];
    /* A NaN this comparison drops still makes its exp, and the sum, NaN. */
    for (size_t i = 1; i < cols; i++) m = x[i] > m ? x[i] : m;
    double sum = 0.0;
    for (size_t i = 0; i < cols; i++) sum += (double) s4j_exp_f32_scalar(x[i] - m);
    out[r] = (float) ((double) m + s4j_log_f64(sum));
  }
}

/* LogSumExp backward from the saved input: exp(x - max) kept in gx, then
 * scaled by gy / sum, the quotient in double and rounded once. gx may be x:
 * each pass reads an element before it writes it. */
void s4j_f32_logsumexp_rows_bwd_ukernel__scalar(size_t rows, size_t cols, const float *gy,
                                                const float *x, float *gx) {
  for (size_t r = 0; r < rows; r++, x += cols, gx += cols) {
    float m = x[0];
    /* A NaN this comparison drops still makes its exp, and the sum, NaN. */
    for (size_t i = 1; i < cols; i++) m = x[i] > m ? x[i] : m;
    double sum = 0.0;
    for (size_t i = 0; i < cols; i++) {
      gx[i] = s4j_exp_f32_scalar(x[i] - m);
      sum += (double) gx[i];
    }
    const float scale = (float) ((double) gy[r] / sum);
    for (size_t i = 0; i < cols; i++) gx[i] *= scale;
  }
}
