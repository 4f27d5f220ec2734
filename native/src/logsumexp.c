/*
 * logsumexp.c - the public LogSumExp entry points: argument checks, the
 * dispatched (or named) variant's ukernels, and PyTorch's special values.
 *
 * Forward: the row ukernel (inner == 1) or the dim ukernel computes
 * m + log(sum(exp(x - m))) per position. Where that is NaN the position's
 * slice is looked at again: a slice without NaN whose max is -inf (all
 * -inf) or +inf gives that max, as torch.logsumexp does; a slice with a NaN
 * stays NaN. Only NaN outputs are looked at again, so this costs nothing
 * on finite data.
 *
 * Backward: gx = gy * softmax(x), the softmax recomputed from x by the
 * family's forward ukernels and then scaled per position. The forward's
 * output is not used: exp(x - out) with out rounded to float would be off
 * by up to |out| * 2^-24 relative, 4e-6 for logits near 70.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "dispatch.h"
#include "kernels/registry.h"
#include "kernels/softmax_dim_f32.h"
#include "kernels/softmax_rows_f32.h"
#include "softmax4j.h"

struct s4j_lse_kernels {
  s4j_f32_logsumexp_rows_ukernel_fn rows;
  s4j_f32_softmax_rows_fwd_ukernel_fn softmax_rows;
  s4j_f32_softmax_dim_fwd_ukernel_fn dim;
};

#define S4J_LSE_ENTRY(name, required, fwd, bwd, vexp)                                  \
  {s4j_f32_logsumexp_rows_ukernel__##name, s4j_f32_softmax_rows_fwd_ukernel__##name, \
   s4j_f32_softmax_dim_fwd_ukernel__##name},
static const struct s4j_lse_kernels s4j_lse_variants[] = {S4J_VARIANTS(S4J_LSE_ENTRY)};
#undef S4J_LSE_ENTRY

#define S4J_LSE_INDEX(name, required, fwd, bwd, vexp) S4J_LSE_INDEX_##name,
enum { S4J_VARIANTS(S4J_LSE_INDEX) S4J_LSE_COUNT };
#undef S4J_LSE_INDEX

/* Not an error: what s4j_lse_check returns when there is work to do. */
#define S4J_RUN 1

/* Negative sizes, then no positions (a no-op), then the byte count. An
 * empty dim with positions is work: the forward writes log(0) = -inf. */
static int s4j_lse_check(int64_t outer, int64_t dim, int64_t inner) {
  if (outer < 0 || dim < 0 || inner < 0) return S4J_ERR_NEGATIVE_SIZE;
  if (outer == 0 || inner == 0) return S4J_OK;
  const int64_t max_elements = INT64_MAX / (int64_t) sizeof(float);
  const int64_t d = dim > 0 ? dim : 1;
  if (d > max_elements / outer || inner > max_elements / (outer * d)) return S4J_ERR_SIZE_OVERFLOW;
  if ((uint64_t) (outer * d * inner) > SIZE_MAX / sizeof(float)) return S4J_ERR_SIZE_OVERFLOW;
  return S4J_RUN;
}

/* The PyTorch value of a position whose computed result is NaN. */
static float s4j_lse_special(const float *x, size_t dim, size_t inner) {
  float max = -INFINITY;
  for (size_t c = 0; c < dim; c++) {
    const float v = x[c * inner];
    if (v != v) return v;
    if (v > max) max = v;
  }
  return isinf(max) ? max : NAN;
}

static int s4j_lse_forward(const struct s4j_lse_kernels *k, const float *x, float *out,
                           int64_t outer, int64_t dim, int64_t inner) {
  const int rc = s4j_lse_check(outer, dim, inner);
  if (rc != S4J_RUN) return rc;
  if (out == NULL || (dim > 0 && x == NULL)) return S4J_ERR_NULL_POINTER;
  if (k == NULL) return S4J_ERR_UNSUPPORTED_ISA; /* a variant not compiled in */
  const size_t o_n = (size_t) outer, d_n = (size_t) dim, i_n = (size_t) inner;
  if (d_n == 0) {
    for (size_t p = 0; p < o_n * i_n; p++) out[p] = -INFINITY;
    return S4J_OK;
  }
  if (i_n == 1) {
    k->rows(o_n, d_n, x, out);
  } else {
    k->dim(S4J_KIND_LOGSUMEXP, o_n, d_n, i_n, x, out);
  }
  for (size_t o = 0; o < o_n; o++) {
    for (size_t j = 0; j < i_n; j++) {
      float *r = out + o * i_n + j;
      if (*r != *r) *r = s4j_lse_special(x + o * d_n * i_n + j, d_n, i_n);
    }
  }
  return S4J_OK;
}

static int s4j_lse_backward(const struct s4j_lse_kernels *k, const float *gy, const float *x,
                            float *gx, int64_t outer, int64_t dim, int64_t inner) {
  const int rc = s4j_lse_check(outer, dim, inner);
  if (rc != S4J_RUN) return rc;
  if (dim == 0) return S4J_OK; /* no gradient to write */
  if (gy == NULL || x == NULL || gx == NULL) return S4J_ERR_NULL_POINTER;
  if (k == NULL) return S4J_ERR_UNSUPPORTED_ISA;
  const size_t o_n = (size_t) outer, d_n = (size_t) dim, i_n = (size_t) inner;
  if (i_n == 1) {
    k->softmax_rows(o_n, d_n, x, gx);
  } else {
    k->dim(S4J_KIND_SOFTMAX, o_n, d_n, i_n, x, gx);
  }
  for (size_t o = 0; o < o_n; o++) {
    for (size_t c = 0; c < d_n; c++) {
      float *row = gx + (o * d_n + c) * i_n;
      const float *g = gy + o * i_n;
      for (size_t j = 0; j < i_n; j++) row[j] *= g[j];
    }
  }
  return S4J_OK;
}

S4J_API int s4j_logsumexp_forward_f32(const float *x, float *out, int64_t outer, int64_t dim,
                                      int64_t inner) {
  const struct s4j_dispatch *d = s4j_dispatch_get();
  if (d->status != S4J_OK) return d->status;
  return s4j_lse_forward(&s4j_lse_variants[d->variant], x, out, outer, dim, inner);
}

S4J_API int s4j_logsumexp_backward_f32(const float *gy, const float *x, float *gx, int64_t outer,
                                       int64_t dim, int64_t inner) {
  const struct s4j_dispatch *d = s4j_dispatch_get();
  if (d->status != S4J_OK) return d->status;
  return s4j_lse_backward(&s4j_lse_variants[d->variant], gy, x, gx, outer, dim, inner);
}

/* Each variant by name, bypassing dispatch; NULL where not compiled in. */
#define S4J_DEFINE_NAMED_LSE(name, kernels)                                                     \
  S4J_API int s4j_logsumexp_forward_f32_##name(const float *x, float *out, int64_t outer,       \
                                               int64_t dim, int64_t inner) {                    \
    return s4j_lse_forward(kernels, x, out, outer, dim, inner);                                 \
  }                                                                                             \
  S4J_API int s4j_logsumexp_backward_f32_##name(const float *gy, const float *x, float *gx,     \
                                                int64_t outer, int64_t dim, int64_t inner) {    \
    return s4j_lse_backward(kernels, gy, x, gx, outer, dim, inner);                             \
  }
#define S4J_NAMED_LSE_ENTRY(name, required, fwd, bwd, vexp) \
  S4J_DEFINE_NAMED_LSE(name, &s4j_lse_variants[S4J_LSE_INDEX_##name])
S4J_VARIANTS(S4J_NAMED_LSE_ENTRY)
#undef S4J_NAMED_LSE_ENTRY
#if !(defined(S4J_HAVE_X86_VARIANTS) && S4J_HAVE_X86_VARIANTS)
S4J_DEFINE_NAMED_LSE(avx2, NULL)
S4J_DEFINE_NAMED_LSE(avx512, NULL)
#endif
#undef S4J_DEFINE_NAMED_LSE
