/*
 * nll_loss.c - the NLL entry points: loss_p = -w[t] * log_probs[t], and its
 * gradient, -scale_p * w[t] at the target class. O(1) work per position
 * (the backward also clears the other classes), so portable C serves every
 * variant. Semantics and argument rules: softmax4j.h, "Losses".
 */
#include <stddef.h>
#include <stdint.h>

#include "dispatch.h"
#include "loss_common.h"
#include "softmax4j.h"

S4J_API int s4j_nll_loss_forward_f32(const float *log_probs, int64_t n, int64_t classes,
                                     int64_t inner, const void *target, int target_kind,
                                     const float *weight, int64_t ignore_index, float *loss,
                                     double *totals) {
  const struct s4j_dispatch *d = s4j_dispatch_get();
  if (d->status != S4J_OK) return d->status;
  const int rc = s4j_loss_check_sizes(n, classes, inner, target_kind, 0, 0.0f);
  if (rc == S4J_OK && totals != NULL) totals[0] = totals[1] = 0.0;
  if (rc != S4J_LOSS_RUN) return rc;
  if (log_probs == NULL || target == NULL) return S4J_ERR_NULL_POINTER;
  const size_t positions = (size_t) (n * inner);
  const int check = s4j_loss_check_targets(target, target_kind, positions, classes, ignore_index);
  if (check != S4J_LOSS_RUN) return check;

  const size_t c_count = (size_t) classes, in = (size_t) inner;
  double sum = 0.0, denominator = 0.0;
  for (size_t p = 0; p < positions; p++) {
    const int64_t t = s4j_loss_target_at(target, target_kind, p);
    if (t == ignore_index) {
      if (loss != NULL) loss[p] = 0.0f;
      continue;
    }
    const size_t i = p / in, j = p % in;
    const double w = weight != NULL ? (double) weight[t] : 1.0;
    const double l = -w * (double) log_probs[(i * c_count + (size_t) t) * in + j];
    if (loss != NULL) loss[p] = (float) l;
    sum += l;
    denominator += w;
  }
  if (totals != NULL) {
    totals[0] = sum;
    totals[1] = denominator;
  }
  return S4J_OK;
}

S4J_API int s4j_nll_loss_backward_f32(int64_t n, int64_t classes, int64_t inner,
                                      const void *target, int target_kind, const float *weight,
                                      int64_t ignore_index, const float *grad_loss,
                                      float grad_scale, float *grad_log_probs) {
  const struct s4j_dispatch *d = s4j_dispatch_get();
  if (d->status != S4J_OK) return d->status;
  const int rc = s4j_loss_check_sizes(n, classes, inner, target_kind, 0, 0.0f);
  if (rc != S4J_LOSS_RUN) return rc;
  if (target == NULL || grad_log_probs == NULL) return S4J_ERR_NULL_POINTER;
  const size_t positions = (size_t) (n * inner);
  const int check = s4j_loss_check_targets(target, target_kind, positions, classes, ignore_index);
  if (check != S4J_LOSS_RUN) return check;

  const size_t c_count = (size_t) classes, in = (size_t) inner;
  const size_t total = positions * c_count;
  for (size_t e = 0; e < total; e++) grad_log_probs[e] = 0.0f;
  for (size_t p = 0; p < positions; p++) {
    const int64_t t = s4j_loss_target_at(target, target_kind, p);
    if (t == ignore_index) continue;
    const size_t i = p / in, j = p % in;
    const float scale = grad_loss != NULL ? grad_scale * grad_loss[p] : grad_scale;
    const float w = weight != NULL ? weight[t] : 1.0f;
    grad_log_probs[(i * c_count + (size_t) t) * in + j] = -(scale * w);
  }
  return S4J_OK;
}
