/*
 * softmax_dim.c - the public entry points for log-softmax and softmax over
 * any dimension of a contiguous tensor seen as [outer, dim, inner]: argument
 * checks, then the dispatched variant's ukernel. Log-softmax over the last
 * dimension (inner == 1) goes to the row ukernels, which are built for it.
 */
#include <stddef.h>
#include <stdint.h>

#include "dispatch.h"
#include "kernels/registry.h"
#include "kernels/softmax_dim_f32.h"
#include "softmax4j.h"

/* The dim ukernels of each variant, in registry order (dispatch's index). */
static const struct {
  s4j_f32_softmax_dim_fwd_ukernel_fn forward;
  s4j_f32_softmax_dim_bwd_ukernel_fn backward;
} s4j_dim_ukernels[] = {
#define S4J_DIM_ENTRY(name, required, fwd, bwd, vexp) \
  {s4j_f32_softmax_dim_fwd_ukernel__##name, s4j_f32_softmax_dim_bwd_ukernel__##name},
    S4J_VARIANTS(S4J_DIM_ENTRY)
#undef S4J_DIM_ENTRY
};

/* Not an error: what s4j_check_dims returns when there is work to do. */
#define S4J_RUN 1

/* The checks of the row entry points (softmax4j.h), in the same order, for
 * three sizes. */
static int s4j_check_dims(int64_t outer, int64_t dim, int64_t inner) {
  if (outer < 0 || dim < 0 || inner < 0) return S4J_ERR_NEGATIVE_SIZE;
  if (outer == 0 || dim == 0 || inner == 0) return S4J_OK;
  const int64_t max_elements = INT64_MAX / (int64_t) sizeof(float);
  if (dim > max_elements / outer) return S4J_ERR_SIZE_OVERFLOW;
  if (inner > max_elements / (outer * dim)) return S4J_ERR_SIZE_OVERFLOW;
  if ((uint64_t) (outer * dim * inner) > SIZE_MAX / sizeof(float)) return S4J_ERR_SIZE_OVERFLOW;
  return S4J_RUN;
}

static int s4j_dim_forward(enum s4j_softmax_kind kind, const float *x, float *y, int64_t outer,
                           int64_t dim, int64_t inner) {
  const struct s4j_dispatch *d = s4j_dispatch_get();
  if (d->status != S4J_OK) return d->status;
  const int rc = s4j_check_dims(outer, dim, inner);
  if (rc != S4J_RUN) return rc;
  if (x == NULL || y == NULL) return S4J_ERR_NULL_POINTER;
  if (kind == S4J_KIND_LOG_SOFTMAX && inner == 1) {
    d->forward((size_t) outer, (size_t) dim, x, y);
  } else {
    s4j_dim_ukernels[d->variant].forward(kind, (size_t) outer, (size_t) dim, (size_t) inner, x, y);
  }
  return S4J_OK;
}

static int s4j_dim_backward(enum s4j_softmax_kind kind, const float *gy, const float *y,
                            float *gx, int64_t outer, int64_t dim, int64_t inner) {
  const struct s4j_dispatch *d = s4j_dispatch_get();
  if (d->status != S4J_OK) return d->status;
  const int rc = s4j_check_dims(outer, dim, inner);
  if (rc != S4J_RUN) return rc;
  if (gy == NULL || y == NULL || gx == NULL) return S4J_ERR_NULL_POINTER;
  if (kind == S4J_KIND_LOG_SOFTMAX && inner == 1) {
    d->backward((size_t) outer, (size_t) dim, gy, y, gx);
  } else {
    s4j_dim_ukernels[d->variant].backward(kind, (size_t) outer, (size_t) dim, (size_t) inner, gy,
                                          y, gx);
  }
  return S4J_OK;
}

S4J_API int s4j_log_softmax_dim_forward_f32(const float *x, float *y, int64_t outer,
                                            int64_t dim, int64_t inner) {
  return s4j_dim_forward(S4J_KIND_LOG_SOFTMAX, x, y, outer, dim, inner);
}

S4J_API int s4j_log_softmax_dim_backward_f32(const float *gy, const float *y, float *gx,
                                             int64_t outer, int64_t dim, int64_t inner) {
  return s4j_dim_backward(S4J_KIND_LOG_SOFTMAX, gy, y, gx, outer, dim, inner);
}

S4J_API int s4j_softmax_dim_forward_f32(const float *x, float *y, int64_t outer, int64_t dim,
                                        int64_t inner) {
  return s4j_dim_forward(S4J_KIND_SOFTMAX, x, y, outer, dim, inner);
}

S4J_API int s4j_softmax_dim_backward_f32(const float *gy, const float *y, float *gx,
                                         int64_t outer, int64_t dim, int64_t inner) {
  return s4j_dim_backward(S4J_KIND_SOFTMAX, gy, y, gx, outer, dim, inner);
}
