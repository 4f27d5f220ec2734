/*
 * logsumexp.c - the public LogSumExp entry points of every floating dtype:
 * argument checks, the dispatched (or named) variant's ukernels, and
 * PyTorch's special values.
 *
 * Forward: float32 runs its row ukernel (inner == 1) or its dim ukernel;
 * float64, bfloat16 and float16 their dtype's ukernel with kind
 * S4J_KIND_LOGSUMEXP. Each computes m + log(sum(exp(x - m))) per position.
 * Where that is NaN the position's slice is looked at again: a slice
 * without NaN whose max is -inf (all -inf) or +inf gives that max, as
 * torch.logsumexp does; a slice with a NaN stays NaN. Only NaN outputs are
 * looked at again, so this costs nothing on finite data. The checks and
 * this fix-up are written once, over a dtype's elements read and written as
 * doubles (struct s4j_lse_type): every value they handle (+-inf, NaN, the
 * elements' max) is exact in each dtype.
 *
 * Backward: gx = gy * softmax(x), the softmax recomputed from x, in one
 * ukernel call per dtype that writes gx once per slice: float32 its LogSumExp
 * row ukernel (inner == 1) or its dim backward ukernel with kind
 * S4J_KIND_LOGSUMEXP (exp in float, gy / sum in double, see
 * softmax_rows_f32.h), the other dtypes their backward ukernel with that
 * kind, in float (double for float64), rounding once on store. The forward's output is not used: exp(x - out)
 * with out rounded to the dtype would be off by up to |out| * 2^-24
 * relative in float32 (4e-6 for logits near 70), far more in 16 bits.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "dispatch.h"
#include "kernels/registry.h"
#include "kernels/softmax_dim_f32.h"
#include "kernels/softmax_f64.h"
#include "kernels/softmax_rows_f32.h"
#include "kernels/softmax_x16.h"
#include "math/half.h"
#include "softmax4j.h"

struct s4j_lse_kernels {
  s4j_f32_logsumexp_rows_ukernel_fn rows;
  s4j_f32_logsumexp_rows_bwd_ukernel_fn rows_backward;
  s4j_f32_softmax_dim_fwd_ukernel_fn dim;
  s4j_f32_softmax_dim_bwd_ukernel_fn dim_backward;
  s4j_f64_softmax_fwd_ukernel_fn f64_forward;
  s4j_f64_softmax_bwd_ukernel_fn f64_backward;
  s4j_x16_softmax_fwd_ukernel_fn x16_forward;
  s4j_x16_softmax_bwd_ukernel_fn x16_backward;
};

#define S4J_LSE_ENTRY(name, required, fwd, bwd, vexp)                                  \
  {s4j_f32_logsumexp_rows_ukernel__##name, s4j_f32_logsumexp_rows_bwd_ukernel__##name, \
   s4j_f32_softmax_dim_fwd_ukernel__##name, s4j_f32_softmax_dim_bwd_ukernel__##name,      \
   S4J_F64_FORWARD(name), S4J_F64_BACKWARD(name),                                         \
   S4J_X16_FORWARD(name), S4J_X16_BACKWARD(name)},
static const struct s4j_lse_kernels s4j_lse_variants[] = {S4J_VARIANTS(S4J_LSE_ENTRY)};
#undef S4J_LSE_ENTRY

#define S4J_LSE_INDEX(name, required, fwd, bwd, vexp) S4J_LSE_INDEX_##name,
enum { S4J_VARIANTS(S4J_LSE_INDEX) S4J_LSE_COUNT };
#undef S4J_LSE_INDEX

/* A dtype's elements as doubles, for the checks and the special values. */
struct s4j_lse_type {
  int64_t size; /* bytes per element */
  double (*get)(const void *p, size_t i);
  void (*set)(void *p, size_t i, double v);
};

static double s4j_get_f32(const void *p, size_t i) { return (double) ((const float *) p)[i]; }
static void s4j_set_f32(void *p, size_t i, double v) { ((float *) p)[i] = (float) v; }
static double s4j_get_f64(const void *p, size_t i) { return ((const double *) p)[i]; }
static void s4j_set_f64(void *p, size_t i, double v) { ((double *) p)[i] = v; }
static double s4j_get_bf16(const void *p, size_t i) {
  return (double) s4j_bf16_to_f32(((const uint16_t *) p)[i]);
}
static void s4j_set_bf16(void *p, size_t i, double v) {
  ((uint16_t *) p)[i] = s4j_f64_to_half(S4J_HALF_BF16, v);
}
static double s4j_get_f16(const void *p, size_t i) {
  return (double) s4j_f16_to_f32(((const uint16_t *) p)[i]);
}
static void s4j_set_f16(void *p, size_t i, double v) {
  ((uint16_t *) p)[i] = s4j_f64_to_half(S4J_HALF_F16, v);
}

/* Indexed by S4J_DTYPE_*. */
static const struct s4j_lse_type s4j_lse_types[] = {
    {4, s4j_get_f32, s4j_set_f32},
    {8, s4j_get_f64, s4j_set_f64},
    {2, s4j_get_bf16, s4j_set_bf16},
    {2, s4j_get_f16, s4j_set_f16},
};

/* Not an error: what s4j_lse_check returns when there is work to do. */
#define S4J_RUN 1

/* Negative sizes, then no positions (a no-op), then the byte count of
 * elements of `size` bytes. An empty dim with positions is work: the
 * forward writes log(0) = -inf. */
static int s4j_lse_check(int64_t outer, int64_t dim, int64_t inner, int64_t size) {
  if (outer < 0 || dim < 0 || inner < 0) return S4J_ERR_NEGATIVE_SIZE;
  if (outer == 0 || inner == 0) return S4J_OK;
  const int64_t max_elements = INT64_MAX / size;
  const int64_t d = dim > 0 ? dim : 1;
  if (d > max_elements / outer || inner > max_elements / (outer * d)) return S4J_ERR_SIZE_OVERFLOW;
  if ((uint64_t) (outer * d * inner) > SIZE_MAX / (uint64_t) size) return S4J_ERR_SIZE_OVERFLOW;
  return S4J_RUN;
}

/* The PyTorch value of a position whose computed result is NaN: its slice
 * starts at element `first` of x, `inner` apart. */
static double s4j_lse_special(const struct s4j_lse_type *t, const void *x, size_t first,
                              size_t dim, size_t inner) {
  double max = -(double) INFINITY;
  for (size_t c = 0; c < dim; c++) {
    const double v = t->get(x, first + c * inner);
    if (v != v) return v;
    if (v > max) max = v;
  }
  return isinf(max) ? max : (double) NAN;
}

/* The forward ukernel of `dtype`; arguments checked. */
static void s4j_lse_run_forward(const struct s4j_lse_kernels *k, int dtype, const void *x,
                                void *out, size_t outer, size_t dim, size_t inner) {
  switch (dtype) {
    case S4J_DTYPE_F64:
      k->f64_forward(S4J_KIND_LOGSUMEXP, outer, dim, inner, x, out);
      return;
    case S4J_DTYPE_BF16:
    case S4J_DTYPE_F16:
      k->x16_forward(dtype == S4J_DTYPE_BF16 ? S4J_HALF_BF16 : S4J_HALF_F16, S4J_KIND_LOGSUMEXP,
                     outer, dim, inner, x, out);
      return;
    default:
      if (inner == 1) {
        k->rows(outer, dim, x, out);
      } else {
        k->dim(S4J_KIND_LOGSUMEXP, outer, dim, inner, x, out);
      }
      return;
  }
}

/* The backward of `dtype`; arguments checked. */
static void s4j_lse_run_backward(const struct s4j_lse_kernels *k, int dtype, const void *gy,
                                 const void *x, void *gx, size_t outer, size_t dim,
                                 size_t inner) {
  switch (dtype) {
    case S4J_DTYPE_F64:
      k->f64_backward(S4J_KIND_LOGSUMEXP, outer, dim, inner, gy, x, gx);
      return;
    case S4J_DTYPE_BF16:
    case S4J_DTYPE_F16:
      k->x16_backward(dtype == S4J_DTYPE_BF16 ? S4J_HALF_BF16 : S4J_HALF_F16, S4J_KIND_LOGSUMEXP,
                      outer, dim, inner, gy, x, gx);
      return;
    default:
      if (inner == 1) {
        k->rows_backward(outer, dim, gy, x, gx);
      } else {
        k->dim_backward(S4J_KIND_LOGSUMEXP, outer, dim, inner, gy, x, gx);
      }
      return;
  }
}

static int s4j_lse_forward(const struct s4j_lse_kernels *k, int dtype, const void *x, void *out,
                           int64_t outer, int64_t dim, int64_t inner) {
  const struct s4j_lse_type *t = &s4j_lse_types[dtype];
  const int rc = s4j_lse_check(outer, dim, inner, t->size);
  if (rc != S4J_RUN) return rc;
  if (out == NULL || (dim > 0 && x == NULL)) return S4J_ERR_NULL_POINTER;
  if (k == NULL) return S4J_ERR_UNSUPPORTED_ISA; /* a variant not compiled in */
  const size_t o_n = (size_t) outer, d_n = (size_t) dim, i_n = (size_t) inner;
  if (d_n == 0) {
    for (size_t p = 0; p < o_n * i_n; p++) t->set(out, p, -(double) INFINITY);
    return S4J_OK;
  }
  s4j_lse_run_forward(k, dtype, x, out, o_n, d_n, i_n);
  for (size_t o = 0; o < o_n; o++) {
    for (size_t j = 0; j < i_n; j++) {
      const size_t p = o * i_n + j;
      const double r = t->get(out, p);
      if (r != r) t->set(out, p, s4j_lse_special(t, x, o * d_n * i_n + j, d_n, i_n));
    }
  }
  return S4J_OK;
}

static int s4j_lse_backward(const struct s4j_lse_kernels *k, int dtype, const void *gy,
                            const void *x, void *gx, int64_t outer, int64_t dim, int64_t inner) {
  const int rc = s4j_lse_check(outer, dim, inner, s4j_lse_types[dtype].size);
  if (rc != S4J_RUN) return rc;
  if (dim == 0) return S4J_OK; /* no gradient to write */
  if (gy == NULL || x == NULL || gx == NULL) return S4J_ERR_NULL_POINTER;
  if (k == NULL) return S4J_ERR_UNSUPPORTED_ISA;
  s4j_lse_run_backward(k, dtype, gy, x, gx, (size_t) outer, (size_t) dim, (size_t) inner);
  return S4J_OK;
}

/* The dispatched variant, or NULL with *rc set when there is none. */
static const struct s4j_lse_kernels *s4j_lse_dispatched(int *rc) {
  const struct s4j_dispatch *d = s4j_dispatch_get();
  *rc = d->status;
  return d->status == S4J_OK ? &s4j_lse_variants[d->variant] : NULL;
}

/* The entry points of one dtype (C element type `type`, name suffix `sfx`,
 * S4J_DTYPE_* `id`), dispatched. */
#define S4J_DEFINE_LSE(sfx, type, id)                                                          \
  S4J_API int s4j_logsumexp_forward_##sfx(const type *x, type *out, int64_t outer, int64_t dim, \
                                          int64_t inner) {                                     \
    int rc;                                                                                    \
    const struct s4j_lse_kernels *k = s4j_lse_dispatched(&rc);                                 \
    return rc != S4J_OK ? rc : s4j_lse_forward(k, id, x, out, outer, dim, inner);              \
  }                                                                                            \
  S4J_API int s4j_logsumexp_backward_##sfx(const type *gy, const type *x, type *gx,            \
                                           int64_t outer, int64_t dim, int64_t inner) {        \
    int rc;                                                                                    \
    const struct s4j_lse_kernels *k = s4j_lse_dispatched(&rc);                                 \
    return rc != S4J_OK ? rc : s4j_lse_backward(k, id, gy, x, gx, outer, dim, inner);          \
  }
S4J_DEFINE_LSE(f32, float, S4J_DTYPE_F32)
S4J_DEFINE_LSE(f64, double, S4J_DTYPE_F64)
S4J_DEFINE_LSE(bf16, uint16_t, S4J_DTYPE_BF16)
S4J_DEFINE_LSE(f16, uint16_t, S4J_DTYPE_F16)
#undef S4J_DEFINE_LSE

/* Each variant by name, bypassing dispatch; NULL where not compiled in. */
#define S4J_DEFINE_NAMED_LSE_TYPE(name, kernels, sfx, type, id)                                \
  S4J_API int s4j_logsumexp_forward_##sfx##_##name(const type *x, type *out, int64_t outer,     \
                                                   int64_t dim, int64_t inner) {                \
    return s4j_lse_forward(kernels, id, x, out, outer, dim, inner);                            \
  }                                                                                            \
  S4J_API int s4j_logsumexp_backward_##sfx##_##name(const type *gy, const type *x, type *gx,    \
                                                    int64_t outer, int64_t dim,                 \
                                                    int64_t inner) {                            \
    return s4j_lse_backward(kernels, id, gy, x, gx, outer, dim, inner);                        \
  }
#define S4J_DEFINE_NAMED_LSE(name, kernels)                                   \
  S4J_DEFINE_NAMED_LSE_TYPE(name, kernels, f32, float, S4J_DTYPE_F32)         \
  S4J_DEFINE_NAMED_LSE_TYPE(name, kernels, f64, double, S4J_DTYPE_F64)        \
  S4J_DEFINE_NAMED_LSE_TYPE(name, kernels, bf16, uint16_t, S4J_DTYPE_BF16)    \
  S4J_DEFINE_NAMED_LSE_TYPE(name, kernels, f16, uint16_t, S4J_DTYPE_F16)
#define S4J_NAMED_LSE_ENTRY(name, required, fwd, bwd, vexp) \
  S4J_DEFINE_NAMED_LSE(name, &s4j_lse_variants[S4J_LSE_INDEX_##name])
S4J_VARIANTS(S4J_NAMED_LSE_ENTRY)
#undef S4J_NAMED_LSE_ENTRY
#if !(defined(S4J_HAVE_X86_VARIANTS) && S4J_HAVE_X86_VARIANTS)
S4J_DEFINE_NAMED_LSE(avx2, NULL)
S4J_DEFINE_NAMED_LSE(avx512, NULL)
#endif
#undef S4J_DEFINE_NAMED_LSE
#undef S4J_DEFINE_NAMED_LSE_TYPE
