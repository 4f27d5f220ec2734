/*
 * cross_entropy.c - the fused cross-entropy entry points: argument checks,
 * then one pass per position over its classes (the max and sum in the
 * variant's kernel), never materialising log-probabilities or a one-hot
 * matrix. Semantics and argument rules: softmax4j.h, "Losses".
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dispatch.h"
#include "kernels/cross_entropy_f32.h"
#include "kernels/registry.h"
#include "kernels/softmax_dim_f32.h"
#include "loss_common.h"
#include "softmax4j.h"

struct s4j_xent_kernels {
  const char *name;
  s4j_f32_xent_stats_ukernel_fn stats;
  s4j_f32_xent_grad_ukernel_fn grad;
};

static const struct s4j_xent_kernels s4j_xent_variants[] = {
#define S4J_XENT_ENTRY(name, stats, grad) {#name, stats, grad},
    S4J_XENT_VARIANTS(S4J_XENT_ENTRY)
#undef S4J_XENT_ENTRY
};

/* The dim ukernels, by variant name: for inner > 1 the forward takes every
 * position's max and log-sum from them (S4J_KIND_STATS), vectorised along
 * the inner dimension. */
static const struct {
  const char *name;
  s4j_f32_softmax_dim_fwd_ukernel_fn forward;
} s4j_xent_dim_variants[] = {
#define S4J_XENT_DIM_ENTRY(name, required, fwd, bwd, vexp) {#name, s4j_f32_softmax_dim_fwd_ukernel__##name},
    S4J_VARIANTS(S4J_XENT_DIM_ENTRY)
#undef S4J_XENT_DIM_ENTRY
};

static s4j_f32_softmax_dim_fwd_ukernel_fn s4j_xent_dim_find(const char *name) {
  for (size_t i = 0; i < sizeof s4j_xent_dim_variants / sizeof s4j_xent_dim_variants[0]; i++) {
    if (strcmp(s4j_xent_dim_variants[i].name, name) == 0) return s4j_xent_dim_variants[i].forward;
  }
  return NULL;
}

static const struct s4j_xent_kernels *s4j_xent_find(const char *name) {
  for (size_t i = 0; i < sizeof s4j_xent_variants / sizeof s4j_xent_variants[0]; i++) {
    if (strcmp(s4j_xent_variants[i].name, name) == 0) return &s4j_xent_variants[i];
  }
  return NULL;
}

/* The sum of the class weights: what sum(q) needs for the smoothing part. */
static double s4j_weight_total(const float *weight, size_t classes) {
  if (weight == NULL) return (double) classes;
  double total = 0.0;
  for (size_t c = 0; c < classes; c++) total += (double) weight[c];
  return total;
}

/* The checks of softmax4j.h, in order; extra_a and extra_b are the other pointers
 * the call requires (the backward's stats and grad_logits). */
static int s4j_xent_check(const float *logits, const void *target, int64_t n, int64_t classes,
                          int64_t inner, int kind, int64_t ignore_index, float label_smoothing,
                          const void *extra_a, const void *extra_b, double *totals) {
  const int rc = s4j_loss_check_sizes(n, classes, inner, kind, 1, label_smoothing);
  if (rc == S4J_OK && totals != NULL) {
    totals[0] = 0.0;
    totals[1] = 0.0;
  }
  if (rc != S4J_LOSS_RUN) return rc;
  if (logits == NULL || target == NULL || extra_a == NULL || extra_b == NULL) {
    return S4J_ERR_NULL_POINTER;
  }
  return s4j_loss_check_targets(target, kind, (size_t) (n * inner), classes, ignore_index);
}

/*
 * The loss of one position from its stats: sum_c q_c * ((m - x_c) + log_sum),
 * each term formed in double from the float logits, so that neither the
 * subtraction of the max nor a large lse cancels digits of small losses.
 */
static double s4j_xent_position_loss(const float *x, size_t classes, size_t stride, double m,
                                     double log_sum, const void *target, int kind, size_t p,
                                     const float *weight, double eps) {
  const double smooth = eps / (double) classes;
  if (kind == S4J_TARGET_PROB_F32) {
    const float *t = (const float *) target;
    double loss = 0.0;
    for (size_t c = 0; c < classes; c++) {
      const double w = weight != NULL ? (double) weight[c] : 1.0;
      const double q = w * ((1.0 - eps) * (double) t[c * stride] + smooth);
      loss += q * ((m - (double) x[c * stride]) + log_sum);
    }
    return loss;
  }
  const size_t t = (size_t) s4j_loss_target_at(target, kind, p);
  const double wt = weight != NULL ? (double) weight[t] : 1.0;
  double loss = (1.0 - eps) * wt * ((m - (double) x[t * stride]) + log_sum);
  if (eps > 0.0) {
    double spread = 0.0;
    for (size_t c = 0; c < classes; c++) {
      const double w = weight != NULL ? (double) weight[c] : 1.0;
      spread += w * ((m - (double) x[c * stride]) + log_sum);
    }
    loss += smooth * spread;
  }
  return loss;
}

static void s4j_xent_forward(const struct s4j_xent_kernels *kern, const float *logits, size_t n,
                             size_t classes, size_t inner, const void *target, int kind,
                             const float *weight, int64_t ignore_index, double eps, float *loss,
                             float *stats, double *totals) {
  double sum = 0.0, denominator = 0.0;
  /* inner > 1 with a place for the stats: all of them first, vectorised. */
  const s4j_f32_softmax_dim_fwd_ukernel_fn dim_stats =
      inner > 1 && stats != NULL ? s4j_xent_dim_find(kern->name) : NULL;
  if (dim_stats != NULL) dim_stats(S4J_KIND_STATS, n, classes, inner, logits, stats);
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < inner; j++) {
      const size_t p = i * inner + j;
      const float *x = logits + i * classes * inner + j;
      const void *t = kind == S4J_TARGET_PROB_F32
                          ? (const void *) ((const float *) target + i * classes * inner + j)
                          : target;
      if (kind != S4J_TARGET_PROB_F32 && s4j_loss_target_at(target, kind, p) == ignore_index) {
        if (loss != NULL) loss[p] = 0.0f;
        if (stats != NULL) stats[2 * p] = stats[2 * p + 1] = 0.0f;
        continue;
      }
      float m;
      double log_sum;
      if (dim_stats != NULL) {
        m = stats[2 * p];
        log_sum = (double) stats[2 * p + 1];
      } else if (inner == 1) {
        kern->stats(classes, x, &m, &log_sum);
      } else {
        s4j_f32_xent_stats_ukernel__scalar_strided(classes, inner, x, &m, &log_sum);
      }
      const double l = s4j_xent_position_loss(x, classes, inner, m, log_sum, t, kind, p, weight, eps);
      if (loss != NULL) loss[p] = (float) l;
      if (stats != NULL) {
        stats[2 * p] = m;
        stats[2 * p + 1] = (float) log_sum;
      }
      sum += l;
      if (kind == S4J_TARGET_PROB_F32) {
        denominator += 1.0;
      } else {
        const size_t tc = (size_t) s4j_loss_target_at(target, kind, p);
        denominator += weight != NULL ? (double) weight[tc] : 1.0;
      }
    }
  }
  if (totals != NULL) {
    totals[0] = sum;
    totals[1] = denominator;
  }
}

/*
 * The gradient of one position's loss as a map of its softmax p:
 * gx_c = alpha * p_c - w_c * (beta * t_c + gamma), then, for an index
 * target, gx_hot -= onehot; an ignored position's gradient is 0. `t` is the
 * position's probability targets (class c at t[c * stride]) or NULL.
 */
struct s4j_xent_map {
  float alpha, beta, gamma, onehot;
  size_t hot;
  int ignored;
};

static struct s4j_xent_map s4j_xent_position_map(const void *target, int kind, size_t p,
                                                 const float *t, size_t stride, size_t classes,
                                                 const float *weight, double weight_total,
                                                 int64_t ignore_index, double eps, float scale) {
  const double smooth = eps / (double) classes;
  struct s4j_xent_map map = {0.0f, 0.0f, 0.0f, 0.0f, 0, 0};
  if (kind == S4J_TARGET_PROB_F32) {
    /* q_c = w_c * ((1 - eps) * t_c + eps / C): the kernel forms it lane by
     * lane; sum(q) is needed first, for the softmax term. */
    double q_total = 0.0;
    for (size_t c = 0; c < classes; c++) {
      const double w = weight != NULL ? (double) weight[c] : 1.0;
      q_total += w * ((1.0 - eps) * (double) t[c * stride] + smooth);
    }
    map.alpha = (float) ((double) scale * q_total);
    map.beta = (float) ((double) scale * (1.0 - eps));
    map.gamma = (float) ((double) scale * smooth);
    return map;
  }
  const int64_t target_class = s4j_loss_target_at(target, kind, p);
  if (target_class == ignore_index) {
    map.ignored = 1;
    return map;
  }
  /* q = (1 - eps) * w_t * e_t + (eps / C) * w: the smooth part in the map,
   * the one-hot part at the target class afterwards. */
  const double wt = weight != NULL ? (double) weight[target_class] : 1.0;
  map.alpha = (float) ((double) scale * ((1.0 - eps) * wt + smooth * weight_total));
  map.gamma = (float) ((double) scale * smooth);
  map.onehot = (float) ((double) scale * (1.0 - eps) * wt);
  map.hot = (size_t) target_class;
  return map;
}

/* Positions whose loss parameters the strided backward keeps on the stack. */
#define S4J_XENT_CHUNK 256

/*
 * The backward for inner > 1: softmax over the classes of every position by
 * the dim kernels (vectorised along the inner dimension) straight into
 * grad_logits, then, for chunks of positions, the loss's map of each
 * position applied row by row: gx_c = alpha * p_c - w_c * (beta * t_c +
 * gamma), the target class of an index target less scale * (1 - eps) * w_t,
 * and ignored positions 0 (even where their logits are NaN).
 */
static void s4j_xent_backward_dim(s4j_f32_softmax_dim_fwd_ukernel_fn dim, const float *logits,
                                  size_t n, size_t classes, size_t inner, const void *target,
                                  int kind, const float *weight, int64_t ignore_index, double eps,
                                  const float *grad_loss, float grad_scale, float *grad_logits) {
  dim(S4J_KIND_SOFTMAX, n, classes, inner, logits, grad_logits);
  const double weight_total = s4j_weight_total(weight, classes);
  float alpha[S4J_XENT_CHUNK], beta[S4J_XENT_CHUNK], gamma[S4J_XENT_CHUNK], onehot[S4J_XENT_CHUNK];
  size_t hot[S4J_XENT_CHUNK];
  unsigned char ignored[S4J_XENT_CHUNK];
  for (size_t i = 0; i < n; i++) {
    for (size_t j0 = 0; j0 < inner; j0 += S4J_XENT_CHUNK) {
      const size_t w = inner - j0 < S4J_XENT_CHUNK ? inner - j0 : S4J_XENT_CHUNK;
      for (size_t jj = 0; jj < w; jj++) {
        const size_t p = i * inner + j0 + jj;
        const float scale = grad_loss != NULL ? grad_scale * grad_loss[p] : grad_scale;
        const float *t = kind == S4J_TARGET_PROB_F32
                             ? (const float *) target + i * classes * inner + j0 + jj
                             : NULL;
        const struct s4j_xent_map map = s4j_xent_position_map(
            target, kind, p, t, inner, classes, weight, weight_total, ignore_index, eps, scale);
        alpha[jj] = map.alpha;
        beta[jj] = map.beta;
        gamma[jj] = map.gamma;
        onehot[jj] = map.onehot;
        hot[jj] = map.hot;
        ignored[jj] = (unsigned char) map.ignored;
      }
      for (size_t c = 0; c < classes; c++) {
        float *row = grad_logits + (i * classes + c) * inner + j0;
        const float wc = weight != NULL ? weight[c] : 1.0f;
        const float *t = kind == S4J_TARGET_PROB_F32
                             ? (const float *) target + (i * classes + c) * inner + j0
                             : NULL;
        for (size_t jj = 0; jj < w; jj++) {
          const float tc = t != NULL ? t[jj] : 0.0f;
          row[jj] = ignored[jj] ? 0.0f : alpha[jj] * row[jj] - wc * (beta[jj] * tc + gamma[jj]);
        }
      }
      if (kind != S4J_TARGET_PROB_F32) {
        for (size_t jj = 0; jj < w; jj++) {
          if (!ignored[jj]) grad_logits[(i * classes + hot[jj]) * inner + j0 + jj] -= onehot[jj];
        }
      }
    }
  }
}

static void s4j_xent_backward(const struct s4j_xent_kernels *kern, const float *logits,
                              const float *stats, size_t n, size_t classes, size_t inner,
                              const void *target, int kind, const float *weight,
                              int64_t ignore_index, double eps, const float *grad_loss,
                              float grad_scale, float *grad_logits) {
  if (inner > 1) {
    s4j_xent_backward_dim(s4j_xent_dim_find(kern->name), logits, n, classes, inner, target, kind,
                          weight, ignore_index, eps, grad_loss, grad_scale, grad_logits);
    return;
  }
  const double weight_total = s4j_weight_total(weight, classes);
  for (size_t p = 0; p < n; p++) {
    const float *x = logits + p * classes;
    float *gx = grad_logits + p * classes;
    const float scale = grad_loss != NULL ? grad_scale * grad_loss[p] : grad_scale;
    const float *t = kind == S4J_TARGET_PROB_F32 ? (const float *) target + p * classes : NULL;
    const struct s4j_xent_map map = s4j_xent_position_map(target, kind, p, t, 1, classes, weight,
                                                          weight_total, ignore_index, eps, scale);
    if (map.ignored) {
      for (size_t c = 0; c < classes; c++) gx[c] = 0.0f;
      continue;
    }
    kern->grad(classes, x, stats[2 * p], stats[2 * p + 1], map.alpha, map.beta, map.gamma, t,
               weight, gx);
    if (kind != S4J_TARGET_PROB_F32) gx[map.hot] -= map.onehot;
  }
}

static int s4j_xent_forward_with(const struct s4j_xent_kernels *kern, const float *logits,
                                 int64_t n, int64_t classes, int64_t inner, const void *target,
                                 int kind, const float *weight, int64_t ignore_index,
                                 float label_smoothing, float *loss, float *stats, double *totals) {
  /* The forward requires no pointer beyond logits and target: its outputs are optional. */
  const int rc = s4j_xent_check(logits, target, n, classes, inner, kind, ignore_index,
                                label_smoothing, logits, logits, totals);
  if (rc != S4J_LOSS_RUN) return rc;
  if (kern == NULL) return S4J_ERR_UNSUPPORTED_ISA;
  s4j_xent_forward(kern, logits, (size_t) n, (size_t) classes, (size_t) inner, target, kind,
                   weight, ignore_index, (double) label_smoothing, loss, stats, totals);
  return S4J_OK;
}

static int s4j_xent_backward_with(const struct s4j_xent_kernels *kern, const float *logits,
                                  const float *stats, int64_t n, int64_t classes, int64_t inner,
                                  const void *target, int kind, const float *weight,
                                  int64_t ignore_index, float label_smoothing,
                                  const float *grad_loss, float grad_scale, float *grad_logits) {
  const int rc = s4j_xent_check(logits, target, n, classes, inner, kind, ignore_index,
                                label_smoothing, stats, grad_logits, NULL);
  if (rc != S4J_LOSS_RUN) return rc;
  if (kern == NULL) return S4J_ERR_UNSUPPORTED_ISA;
  s4j_xent_backward(kern, logits, stats, (size_t) n, (size_t) classes, (size_t) inner, target,
                    kind, weight, ignore_index, (double) label_smoothing, grad_loss, grad_scale,
                    grad_logits);
  return S4J_OK;
}

S4J_API int s4j_cross_entropy_forward_f32(const float *logits, int64_t n, int64_t classes,
                                          int64_t inner, const void *target, int target_kind,
                                          const float *weight, int64_t ignore_index,
                                          float label_smoothing, float *loss, float *stats,
                                          double *totals) {
  const struct s4j_dispatch *d = s4j_dispatch_get();
  if (d->status != S4J_OK) return d->status;
  return s4j_xent_forward_with(s4j_xent_find(d->isa), logits, n, classes, inner, target,
                               target_kind, weight, ignore_index, label_smoothing, loss, stats,
                               totals);
}

S4J_API int s4j_cross_entropy_backward_f32(const float *logits, const float *stats, int64_t n,
                                           int64_t classes, int64_t inner, const void *target,
                                           int target_kind, const float *weight,
                                           int64_t ignore_index, float label_smoothing,
                                           const float *grad_loss, float grad_scale,
                                           float *grad_logits) {
  const struct s4j_dispatch *d = s4j_dispatch_get();
  if (d->status != S4J_OK) return d->status;
  return s4j_xent_backward_with(s4j_xent_find(d->isa), logits, stats, n, classes, inner, target,
                                target_kind, weight, ignore_index, label_smoothing, grad_loss,
                                grad_scale, grad_logits);
}

/* The named variants. One that is not compiled in (x86 variants elsewhere)
 * finds no kernels and returns S4J_ERR_UNSUPPORTED_ISA after the checks. */
#define S4J_DEFINE_XENT_VARIANT(isa)                                                              \
  S4J_API int s4j_cross_entropy_forward_f32_##isa(                                                \
      const float *logits, int64_t n, int64_t classes, int64_t inner, const void *target,          \
      int target_kind, const float *weight, int64_t ignore_index, float label_smoothing,           \
      float *loss, float *stats, double *totals) {                                                 \
    return s4j_xent_forward_with(s4j_xent_find(#isa), logits, n, classes, inner, target,           \
                                 target_kind, weight, ignore_index, label_smoothing, loss, stats,  \
                                 totals);                                                          \
  }                                                                                                \
  S4J_API int s4j_cross_entropy_backward_f32_##isa(                                               \
      const float *logits, const float *stats, int64_t n, int64_t classes, int64_t inner,          \
      const void *target, int target_kind, const float *weight, int64_t ignore_index,              \
      float label_smoothing, const float *grad_loss, float grad_scale, float *grad_logits) {       \
    return s4j_xent_backward_with(s4j_xent_find(#isa), logits, stats, n, classes, inner, target,   \
                                  target_kind, weight, ignore_index, label_smoothing, grad_loss,   \
                                  grad_scale, grad_logits);                                        \
  }
S4J_DEFINE_XENT_VARIANT(scalar)
S4J_DEFINE_XENT_VARIANT(avx2)
S4J_DEFINE_XENT_VARIANT(avx512)
#undef S4J_DEFINE_XENT_VARIANT
