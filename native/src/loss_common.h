/*
 * loss_common.h - what the cross-entropy and NLL entry points share: the
 * argument checks of softmax4j.h ("Losses"), in the documented order, and
 * reading a class-index target of either width.
 */
#ifndef S4J_LOSS_COMMON_H
#define S4J_LOSS_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "softmax4j.h"

/* Not an error: the checks passed and there are positions to compute. */
#define S4J_LOSS_RUN 1

static inline int s4j_loss_is_index_kind(int kind) {
  return kind == S4J_TARGET_INT32 || kind == S4J_TARGET_INT64;
}

static inline int64_t s4j_loss_target_at(const void *target, int kind, size_t p) {
  return kind == S4J_TARGET_INT32 ? (int64_t) ((const int32_t *) target)[p]
                                  : ((const int64_t *) target)[p];
}

/*
 * Sizes and scalar arguments: negative sizes, then the domain of kind and
 * label_smoothing (allow_probs: whether S4J_TARGET_PROB_F32 is a kind here),
 * then no positions (a no-op), then byte counts that overflow.
 */
static inline int s4j_loss_check_sizes(int64_t n, int64_t classes, int64_t inner, int kind,
                                       int allow_probs, float label_smoothing) {
  if (n < 0 || classes < 0 || inner < 0) return S4J_ERR_NEGATIVE_SIZE;
  if (!s4j_loss_is_index_kind(kind) && !(allow_probs && kind == S4J_TARGET_PROB_F32)) {
    return S4J_ERR_BAD_ARGUMENT;
  }
  if (!(label_smoothing >= 0.0f && label_smoothing <= 1.0f)) return S4J_ERR_BAD_ARGUMENT;
  if (n == 0 || inner == 0) return S4J_OK;
  if (classes == 0) return S4J_ERR_BAD_ARGUMENT;
  /* n * classes * inner * 8 (the widest element) must fit int64_t and size_t. */
  const int64_t max_elements = INT64_MAX / 8;
  if (classes > max_elements / n) return S4J_ERR_SIZE_OVERFLOW;
  if (inner > max_elements / (n * classes)) return S4J_ERR_SIZE_OVERFLOW;
  if ((uint64_t) (n * classes * inner) > SIZE_MAX / 8) return S4J_ERR_SIZE_OVERFLOW;
  return S4J_LOSS_RUN;
}

/* Every index target is ignore_index or in [0, classes): checked before any
 * output is written. */
static inline int s4j_loss_check_targets(const void *target, int kind, size_t positions,
                                         int64_t classes, int64_t ignore_index) {
  if (!s4j_loss_is_index_kind(kind)) return S4J_LOSS_RUN;
  for (size_t p = 0; p < positions; p++) {
    const int64_t t = s4j_loss_target_at(target, kind, p);
    if (t != ignore_index && (t < 0 || t >= classes)) return S4J_ERR_TARGET_OUT_OF_RANGE;
  }
  return S4J_LOSS_RUN;
}

#endif /* S4J_LOSS_COMMON_H */
