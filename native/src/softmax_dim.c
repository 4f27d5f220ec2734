/*
 * softmax_dim.c - the public entry points for log-softmax and softmax over
 * any dimension of a tensor seen as [outer, dim, inner], contiguous or in
 * strided slabs: argument checks, then the dispatched variant's ukernel.
 * The last dimension (inner == 1) goes to the row ukernels, built for it.
 * float64, bfloat16 and float16 have one ukernel pair each per variant,
 * which handles both cases itself.
 */
#include <stddef.h>
#include <stdint.h>

#include "dispatch.h"
#include "kernels/registry.h"
#include "kernels/softmax_dim_f32.h"
#include "kernels/softmax_f64.h"
#include "kernels/softmax_rows_f32.h"
#include "kernels/softmax_x16.h"
#include "softmax4j.h"

/* The family's ukernels of each variant, in registry order (dispatch's
 * index): row ones for the last dimension, dim ones for the others. */
struct s4j_family {
  s4j_f32_log_softmax_fwd_ukernel_fn log_rows_forward;
  s4j_f32_log_softmax_bwd_ukernel_fn log_rows_backward;
  s4j_f32_softmax_rows_fwd_ukernel_fn rows_forward;
  s4j_f32_softmax_rows_bwd_ukernel_fn rows_backward;
  s4j_f32_softmax_dim_fwd_ukernel_fn forward;
  s4j_f32_softmax_dim_bwd_ukernel_fn backward;
  s4j_f64_softmax_fwd_ukernel_fn f64_forward;
  s4j_f64_softmax_bwd_ukernel_fn f64_backward;
  s4j_x16_softmax_fwd_ukernel_fn x16_forward;
  s4j_x16_softmax_bwd_ukernel_fn x16_backward;
};

static const struct s4j_family s4j_families[] = {
#define S4J_FAMILY_ENTRY(name, required, fwd, bwd, vexp) \
  {fwd, bwd, s4j_f32_softmax_rows_fwd_ukernel__##name, s4j_f32_softmax_rows_bwd_ukernel__##name, \
   s4j_f32_softmax_dim_fwd_ukernel__##name, s4j_f32_softmax_dim_bwd_ukernel__##name, \
   S4J_F64_FORWARD(name), S4J_F64_BACKWARD(name), S4J_X16_FORWARD(name), \
   S4J_X16_BACKWARD(name)},
    S4J_VARIANTS(S4J_FAMILY_ENTRY)
#undef S4J_FAMILY_ENTRY
};

/* Not an error: what s4j_check_dims returns when there is work to do. */
#define S4J_RUN 1

/* The checks of the row entry points (softmax4j.h), in the same order, for
 * three sizes and elements of `size` bytes. */
static int s4j_check_dims(int64_t outer, int64_t dim, int64_t inner, int64_t size) {
  if (outer < 0 || dim < 0 || inner < 0) return S4J_ERR_NEGATIVE_SIZE;
  if (outer == 0 || dim == 0 || inner == 0) return S4J_OK;
  const int64_t max_elements = INT64_MAX / size;
  if (dim > max_elements / outer) return S4J_ERR_SIZE_OVERFLOW;
  if (inner > max_elements / (outer * dim)) return S4J_ERR_SIZE_OVERFLOW;
  if ((uint64_t) (outer * dim * inner) > SIZE_MAX / (uint64_t) size) return S4J_ERR_SIZE_OVERFLOW;
  return S4J_RUN;
}

/* The ukernel for `outer` contiguous slabs; arguments already checked. */
static void s4j_run_forward(const struct s4j_family *f, enum s4j_softmax_kind kind,
                            const float *x, float *y, size_t outer, size_t dim, size_t inner) {
  if (inner == 1) {
    (kind == S4J_KIND_LOG_SOFTMAX ? f->log_rows_forward : f->rows_forward)(outer, dim, x, y);
  } else {
    f->forward(kind, outer, dim, inner, x, y);
  }
}

static void s4j_run_backward(const struct s4j_family *f, enum s4j_softmax_kind kind,
                             const float *gy, const float *y, float *gx, size_t outer, size_t dim,
                             size_t inner) {
  if (inner == 1) {
    (kind == S4J_KIND_LOG_SOFTMAX ? f->log_rows_backward : f->rows_backward)(outer, dim, gy, y, gx);
  } else {
    f->backward(kind, outer, dim, inner, gy, y, gx);
  }
}

/* Whether the last slab of a strided tensor of `size`-byte elements ends
 * within INT64_MAX bytes. */
static int s4j_strided_fits(int64_t outer, int64_t slab, int64_t stride, int64_t size) {
  const int64_t max_elements = INT64_MAX / size;
  if (stride > max_elements / (outer - 1 > 0 ? outer - 1 : 1)) return 0;
  const int64_t last = (outer - 1) * stride;
  return slab <= max_elements - last && (uint64_t) (last + slab) <= SIZE_MAX / (uint64_t) size;
}

/* The element size of a dtype, 0 for an unknown one. */
static int64_t s4j_dtype_size(int dtype) {
  switch (dtype) {
    case S4J_DTYPE_F32: return 4;
    case S4J_DTYPE_F64: return 8;
    case S4J_DTYPE_BF16:
    case S4J_DTYPE_F16: return 2;
    default: return 0;
  }
}

/* `outer` contiguous slabs of one dtype through the variant's ukernels. */
static void s4j_run(const struct s4j_family *f, enum s4j_softmax_kind kind, int dtype,
                    int backward, const void *a, const void *b, void *c, size_t outer, size_t dim,
                    size_t inner) {
  switch (dtype) {
    case S4J_DTYPE_F64:
      if (backward) {
        f->f64_backward(kind, outer, dim, inner, a, b, c);
      } else {
        f->f64_forward(kind, outer, dim, inner, a, c);
      }
      return;
    case S4J_DTYPE_BF16:
    case S4J_DTYPE_F16: {
      const enum s4j_half_format fmt = dtype == S4J_DTYPE_BF16 ? S4J_HALF_BF16 : S4J_HALF_F16;
      if (backward) {
        f->x16_backward(fmt, kind, outer, dim, inner, a, b, c);
      } else {
        f->x16_forward(fmt, kind, outer, dim, inner, a, c);
      }
      return;
    }
    default:
      if (backward) {
        s4j_run_backward(f, kind, a, b, c, outer, dim, inner);
      } else {
        s4j_run_forward(f, kind, a, c, outer, dim, inner);
      }
      return;
  }
}

/* The strided call on one variant's ukernels, after every check but the
 * variant choice. */
static int s4j_strided(const struct s4j_family *f, int op, int dtype, int direction,
                       int64_t outer, int64_t dim, int64_t inner, const void *in,
                       int64_t in_stride, const void *saved, int64_t saved_stride, void *out,
                       int64_t out_stride) {
  const int64_t size = s4j_dtype_size(dtype);
  if ((op != S4J_OP_LOG_SOFTMAX && op != S4J_OP_SOFTMAX) || size == 0 ||
      (direction != S4J_DIRECTION_FORWARD && direction != S4J_DIRECTION_BACKWARD)) {
    return S4J_ERR_BAD_ARGUMENT;
  }
  const int backward = direction == S4J_DIRECTION_BACKWARD;
  const int rc = s4j_check_dims(outer, dim, inner, size);
  if (rc != S4J_RUN) return rc;
  const int64_t slab = dim * inner;
  if (in_stride < slab || out_stride < slab || (backward && saved_stride < slab)) {
    return S4J_ERR_BAD_ARGUMENT;
  }
  if (!s4j_strided_fits(outer, slab, in_stride, size) ||
      !s4j_strided_fits(outer, slab, out_stride, size) ||
      (backward && !s4j_strided_fits(outer, slab, saved_stride, size))) {
    return S4J_ERR_SIZE_OVERFLOW;
  }
  if (in == NULL || out == NULL || (backward && saved == NULL)) return S4J_ERR_NULL_POINTER;
  if (f == NULL) return S4J_ERR_UNSUPPORTED_ISA; /* a variant not compiled in */

  const enum s4j_softmax_kind kind = op == S4J_OP_SOFTMAX ? S4J_KIND_SOFTMAX : S4J_KIND_LOG_SOFTMAX;
  const char *a = in, *b = saved;
  char *c = out;
  const size_t bytes = (size_t) size;
  const int contiguous = in_stride == slab && out_stride == slab && (!backward || saved_stride == slab);
  /* Contiguous slabs are one call; strided ones one call per slab. */
  const size_t calls = contiguous ? 1 : (size_t) outer;
  const size_t per_call = contiguous ? (size_t) outer : 1;
  for (size_t o = 0; o < calls; o++) {
    s4j_run(f, kind, dtype, backward, a + o * (size_t) in_stride * bytes,
            backward ? b + o * (size_t) saved_stride * bytes : NULL,
            c + o * (size_t) out_stride * bytes, per_call, (size_t) dim, (size_t) inner);
  }
  return S4J_OK;
}

S4J_API int s4j_softmax_strided(int op, int dtype, int direction, int64_t outer, int64_t dim,
                                int64_t inner, const void *in, int64_t in_stride,
                                const void *saved, int64_t saved_stride, void *out,
                                int64_t out_stride) {
  const struct s4j_dispatch *d = s4j_dispatch_get();
  if (d->status != S4J_OK) return d->status;
  return s4j_strided(&s4j_families[d->variant], op, dtype, direction, outer, dim, inner, in,
                     in_stride, saved, saved_stride, out, out_stride);
}

/* Each variant by name, bypassing dispatch; NULL where not compiled in. */
#define S4J_DEFINE_NAMED_STRIDED(name, family)                                                   \
  S4J_API int s4j_softmax_strided_##name(int op, int dtype, int direction, int64_t outer,        \
                                         int64_t dim, int64_t inner, const void *in,             \
                                         int64_t in_stride, const void *saved,                   \
                                         int64_t saved_stride, void *out, int64_t out_stride) {  \
    return s4j_strided(family, op, dtype, direction, outer, dim, inner, in, in_stride, saved,     \
                       saved_stride, out, out_stride);                                           \
  }
#define S4J_FAMILY_INDEX(name, required, fwd, bwd, vexp) S4J_FAMILY_INDEX_##name,
enum { S4J_VARIANTS(S4J_FAMILY_INDEX) S4J_FAMILY_COUNT };
#undef S4J_FAMILY_INDEX
#define S4J_NAMED_ENTRY(name, required, fwd, bwd, vexp) \
  S4J_DEFINE_NAMED_STRIDED(name, &s4j_families[S4J_FAMILY_INDEX_##name])
S4J_VARIANTS(S4J_NAMED_ENTRY)
#undef S4J_NAMED_ENTRY
#if !(defined(S4J_HAVE_X86_VARIANTS) && S4J_HAVE_X86_VARIANTS)
S4J_DEFINE_NAMED_STRIDED(avx2, NULL)
S4J_DEFINE_NAMED_STRIDED(avx512, NULL)
#endif
#undef S4J_DEFINE_NAMED_STRIDED

/* The contiguous functions of every type: the strided call with stride
 * dim * inner (which cannot overflow where the sizes pass their checks). */
static int s4j_dim_contiguous(int op, int dtype, int direction, const void *in, const void *saved,
                              void *out, int64_t outer, int64_t dim, int64_t inner) {
  int64_t slab = 0; /* negative or empty sizes are reported before strides */
  if (dim > 0 && inner > 0) slab = inner > INT64_MAX / dim ? INT64_MAX : dim * inner;
  return s4j_softmax_strided(op, dtype, direction, outer, dim, inner, in, slab, saved, slab, out,
                             slab);
}

S4J_API int s4j_log_softmax_dim_forward_f32(const float *x, float *y, int64_t outer,
                                            int64_t dim, int64_t inner) {
  return s4j_dim_contiguous(S4J_OP_LOG_SOFTMAX, S4J_DTYPE_F32, S4J_DIRECTION_FORWARD, x, NULL, y,
                            outer, dim, inner);
}

S4J_API int s4j_log_softmax_dim_backward_f32(const float *gy, const float *y, float *gx,
                                             int64_t outer, int64_t dim, int64_t inner) {
  return s4j_dim_contiguous(S4J_OP_LOG_SOFTMAX, S4J_DTYPE_F32, S4J_DIRECTION_BACKWARD, gy, y, gx,
                            outer, dim, inner);
}

S4J_API int s4j_softmax_dim_forward_f32(const float *x, float *y, int64_t outer, int64_t dim,
                                        int64_t inner) {
  return s4j_dim_contiguous(S4J_OP_SOFTMAX, S4J_DTYPE_F32, S4J_DIRECTION_FORWARD, x, NULL, y,
                            outer, dim, inner);
}

S4J_API int s4j_softmax_dim_backward_f32(const float *gy, const float *y, float *gx,
                                         int64_t outer, int64_t dim, int64_t inner) {
  return s4j_dim_contiguous(S4J_OP_SOFTMAX, S4J_DTYPE_F32, S4J_DIRECTION_BACKWARD, gy, y, gx,
                            outer, dim, inner);
}

S4J_API int s4j_log_softmax_dim_forward_f64(const double *x, double *y, int64_t outer, int64_t dim,
                                            int64_t inner) {
  return s4j_dim_contiguous(S4J_OP_LOG_SOFTMAX, S4J_DTYPE_F64, S4J_DIRECTION_FORWARD, x, NULL, y, outer, dim, inner);
}

S4J_API int s4j_log_softmax_dim_backward_f64(const double *gy, const double *y, double *gx,
                                             int64_t outer, int64_t dim, int64_t inner) {
  return s4j_dim_contiguous(S4J_OP_LOG_SOFTMAX, S4J_DTYPE_F64, S4J_DIRECTION_BACKWARD, gy, y, gx, outer, dim, inner);
}

S4J_API int s4j_softmax_dim_forward_f64(const double *x, double *y, int64_t outer, int64_t dim,
                                        int64_t inner) {
  return s4j_dim_contiguous(S4J_OP_SOFTMAX, S4J_DTYPE_F64, S4J_DIRECTION_FORWARD, x, NULL, y, outer, dim, inner);
}

S4J_API int s4j_softmax_dim_backward_f64(const double *gy, const double *y, double *gx,
                                         int64_t outer, int64_t dim, int64_t inner) {
  return s4j_dim_contiguous(S4J_OP_SOFTMAX, S4J_DTYPE_F64, S4J_DIRECTION_BACKWARD, gy, y, gx, outer, dim, inner);
}
