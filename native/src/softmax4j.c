/*
 * softmax4j.c - the public C API: argument checks, then the dispatched (or
 * named) ukernel. Everything else in the library is hidden
 * (-fvisibility=hidden); only S4J_API functions are exported.
 */
#include "softmax4j.h"

#include <stddef.h>
#include <stdint.h>

#include "dispatch.h"
#include "kernels/registry.h"

/* Not an error: what s4j_check_sizes returns when there is work to do. */
#define S4J_RUN 1

/*
 * Checks shared by every compute entry point, in this order: negative sizes,
 * an empty matrix (a no-op, whatever the pointers), a byte count that does
 * not fit in int64_t or size_t, then NULL pointers.
 */
static int s4j_check_sizes(int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0) return S4J_ERR_NEGATIVE_SIZE;
  if (rows == 0 || cols == 0) return S4J_OK;
  const int64_t max_elements = INT64_MAX / (int64_t) sizeof(float);
  if (cols > max_elements / rows) return S4J_ERR_SIZE_OVERFLOW;
  if ((uint64_t) (rows * cols) > SIZE_MAX / sizeof(float)) return S4J_ERR_SIZE_OVERFLOW;
  return S4J_RUN;
}

static int s4j_check_forward(const float *x, const float *y, int64_t rows, int64_t cols) {
  const int rc = s4j_check_sizes(rows, cols);
  if (rc != S4J_RUN) return rc;
  if (x == NULL || y == NULL) return S4J_ERR_NULL_POINTER;
  return S4J_RUN;
}

static int s4j_check_backward(const float *gy, const float *y, const float *gx,
                              int64_t rows, int64_t cols) {
  const int rc = s4j_check_sizes(rows, cols);
  if (rc != S4J_RUN) return rc;
  if (gy == NULL || y == NULL || gx == NULL) return S4J_ERR_NULL_POINTER;
  return S4J_RUN;
}

S4J_API int s4j_log_softmax_forward_f32(const float *x, float *y, int64_t rows,
                                        int64_t cols) {
  const struct s4j_dispatch *d = s4j_dispatch_get();
  if (d->status != S4J_OK) return d->status;
  const int rc = s4j_check_forward(x, y, rows, cols);
  if (rc != S4J_RUN) return rc;
  d->forward((size_t) rows, (size_t) cols, x, y);
  return S4J_OK;
}

S4J_API int s4j_log_softmax_backward_f32(const float *gy, const float *y, float *gx,
                                         int64_t rows, int64_t cols) {
  const struct s4j_dispatch *d = s4j_dispatch_get();
  if (d->status != S4J_OK) return d->status;
  const int rc = s4j_check_backward(gy, y, gx, rows, cols);
  if (rc != S4J_RUN) return rc;
  d->backward((size_t) rows, (size_t) cols, gy, y, gx);
  return S4J_OK;
}

S4J_API const char *s4j_isa(void) { return s4j_dispatch_get()->isa; }

S4J_API int s4j_isa_status(void) { return s4j_dispatch_get()->status; }

S4J_API const char *s4j_cpu_features(void) {
  return s4j_dispatch_get()->cpu_features_text;
}

S4J_API int s4j_isa_supported(const char *isa) { return s4j_dispatch_supports(isa); }

S4J_API const char *s4j_strerror(int code) {
  switch (code) {
    case S4J_OK:
      return "success";
    case S4J_ERR_NULL_POINTER:
      return "a pointer argument is NULL while rows * cols > 0";
    case S4J_ERR_NEGATIVE_SIZE:
      return "rows or cols is negative";
    case S4J_ERR_SIZE_OVERFLOW:
      return "the byte count of a tensor (its sizes times the element size) overflows";
    case S4J_ERR_UNSUPPORTED_ISA:
      return "SOFTMAX4J_ISA names an unknown kernel variant or one this CPU cannot run";
    case S4J_ERR_TARGET_OUT_OF_RANGE:
      return "a class-index target is neither ignore_index nor in [0, classes)";
    case S4J_ERR_BAD_ARGUMENT:
      return "an argument is outside its domain (see the function's comment: a loss's "
             "target_kind, label_smoothing or classes == 0; the strided call's op, dtype, "
             "direction or a stride below the slab size)";
    default:
      return "unknown error code";
  }
}

/* The variants by name, bypassing dispatch: same checks, then the ukernel. */
#define S4J_DEFINE_NAMED_VARIANT(name, required, fwd, bwd, vexp)                  \
  S4J_API int s4j_log_softmax_forward_f32_##name(const float *x, float *y,        \
                                                 int64_t rows, int64_t cols) {    \
    const int rc = s4j_check_forward(x, y, rows, cols);                           \
    if (rc != S4J_RUN) return rc;                                                 \
    fwd((size_t) rows, (size_t) cols, x, y);                                      \
    return S4J_OK;                                                                \
  }                                                                               \
  S4J_API int s4j_log_softmax_backward_f32_##name(                                \
      const float *gy, const float *y, float *gx, int64_t rows, int64_t cols) {   \
    const int rc = s4j_check_backward(gy, y, gx, rows, cols);                     \
    if (rc != S4J_RUN) return rc;                                                 \
    bwd((size_t) rows, (size_t) cols, gy, y, gx);                                 \
    return S4J_OK;                                                                \
  }
S4J_VARIANTS(S4J_DEFINE_NAMED_VARIANT)
#undef S4J_DEFINE_NAMED_VARIANT

#if !(defined(S4J_HAVE_X86_VARIANTS) && S4J_HAVE_X86_VARIANTS)
/* Not an x86-64 build: the x86 variants exist as symbols (the header
 * declares them) but can never run here. */
#define S4J_DEFINE_MISSING_VARIANT(name)                                          \
  S4J_API int s4j_log_softmax_forward_f32_##name(const float *x, float *y,        \
                                                 int64_t rows, int64_t cols) {    \
    const int rc = s4j_check_forward(x, y, rows, cols);                           \
    return rc == S4J_RUN ? S4J_ERR_UNSUPPORTED_ISA : rc;                          \
  }                                                                               \
  S4J_API int s4j_log_softmax_backward_f32_##name(                                \
      const float *gy, const float *y, float *gx, int64_t rows, int64_t cols) {   \
    const int rc = s4j_check_backward(gy, y, gx, rows, cols);                     \
    return rc == S4J_RUN ? S4J_ERR_UNSUPPORTED_ISA : rc;                          \
  }
S4J_DEFINE_MISSING_VARIANT(avx2)
S4J_DEFINE_MISSING_VARIANT(avx512)
#undef S4J_DEFINE_MISSING_VARIANT
#endif
