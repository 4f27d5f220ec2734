/*
 * softmax4j.h - the public C API of Softmax4J.
 *
 * Row-wise log-softmax over the last dimension of a contiguous, row-major
 * [rows, cols] float32 matrix, forward and backward:
 *
 *   forward   y[r, i]  = x[r, i] - (max_r + log(sum_j exp(x[r, j] - max_r)))
 *   backward  gx[r, i] = gy[r, i] - exp(y[r, i]) * sum_j gy[r, j]
 *
 * The backward uses only the saved forward output y, never the input x.
 * The fused cross-entropy and NLL losses have their own section below
 * ("Losses").
 *
 * Usable from C on its own: link with -lsoftmax4j. Every function is
 * thread-safe and allocates nothing. The kernel variant (AVX-512, AVX2+FMA
 * or portable scalar C) is chosen once, on first use, from the CPU's
 * features; SOFTMAX4J_ISA=scalar|avx2|avx512 in the environment forces one
 * (read once, on first use; unset, empty or "auto" means the automatic
 * choice; names are lower case).
 *
 * Special values follow PyTorch's log_softmax: a -inf entry gives -inf and
 * leaves the rest of its row as if it were absent; a row of -inf, or a row
 * with a +inf or a NaN anywhere, gives NaN for the whole row; rows never
 * affect each other. In the backward, exp(-inf) is exactly 0.
 */
#ifndef SOFTMAX4J_H
#define SOFTMAX4J_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  define S4J_API __declspec(dllexport)
#else
#  define S4J_API __attribute__((visibility("default")))
#endif

/* Return codes. Zero is success; every error is negative. */
#define S4J_OK                0
#define S4J_ERR_NULL_POINTER -1 /* a pointer is NULL while rows * cols > 0  */
#define S4J_ERR_NEGATIVE_SIZE -2 /* rows or cols is negative                */
#define S4J_ERR_SIZE_OVERFLOW -3 /* rows * cols * sizeof(float) (the dtype's
                                     element size) overflows              */
#define S4J_ERR_UNSUPPORTED_ISA -4 /* SOFTMAX4J_ISA names a variant this CPU
                                       lacks, or an unknown one             */
#define S4J_ERR_TARGET_OUT_OF_RANGE -5 /* a class-index target is neither
                                           ignore_index nor in [0, classes) */
#define S4J_ERR_BAD_ARGUMENT -6  /* an argument outside its domain: see
                                    the function's own comment            */

/*
 * Log-softmax forward over each of `rows` rows of `cols` floats.
 * rows == 0 or cols == 0 is a valid no-op. In-place use (y == x) is allowed;
 * any other overlap of x and y is undefined.
 *
 * Return codes, checked in this order: S4J_ERR_UNSUPPORTED_ISA (see
 * s4j_isa_status; this one even for an empty matrix), S4J_ERR_NEGATIVE_SIZE,
 * S4J_OK for an empty matrix (pointers not looked at),
 * S4J_ERR_SIZE_OVERFLOW, S4J_ERR_NULL_POINTER. The backward is the same.
 */
S4J_API int s4j_log_softmax_forward_f32(const float *x, float *y,
                                        int64_t rows, int64_t cols);

/*
 * Log-softmax backward: gx = gy - exp(y) * rowsum(gy).
 * In-place use (gx == gy, or gx == y) is allowed; other overlaps are
 * undefined.
 */
S4J_API int s4j_log_softmax_backward_f32(const float *gy, const float *y,
                                         float *gx, int64_t rows,
                                         int64_t cols);

/*
 * Over any dimension. A contiguous row-major tensor, seen as
 * [outer, dim, inner] around the dimension reduced (outer: the product of
 * the sizes before it, inner: of those after it; inner == 1 is the last
 * dimension), element [o, c, j] at o*dim*inner + c*inner + j. Each of the
 * outer*inner columns of `dim` elements is one softmax:
 *
 *   log-softmax  y = x - (max + log(sum(exp(x - max))))   (as above)
 *                gx = gy - exp(y) * sum(gy)
 *   softmax      s = exp(x - max) / sum(exp(x - max))
 *                gx = s * (gy - sum(gy * s))   (from the saved output s)
 *
 * No transpose: the kernels vectorise along inner and keep blocks of
 * columns in cache across their passes. The special values, in-place rules
 * and return codes (for three sizes) are those of the row functions; for
 * softmax, a -inf entry gives 0 and a column of -inf, or with +inf or NaN,
 * gives NaN throughout. inner == 1 runs row kernels made for the last
 * dimension.
 */
S4J_API int s4j_log_softmax_dim_forward_f32(const float *x, float *y, int64_t outer,
                                            int64_t dim, int64_t inner);
S4J_API int s4j_log_softmax_dim_backward_f32(const float *gy, const float *y, float *gx,
                                             int64_t outer, int64_t dim, int64_t inner);
S4J_API int s4j_softmax_dim_forward_f32(const float *x, float *y, int64_t outer, int64_t dim,
                                        int64_t inner);
S4J_API int s4j_softmax_dim_backward_f32(const float *gy, const float *y, float *gx,
                                         int64_t outer, int64_t dim, int64_t inner);

/* The same over float64 tensors (see "Data types" below for what each type
 * computes in and its accuracy). Same checks, with 8-byte elements. */
S4J_API int s4j_log_softmax_dim_forward_f64(const double *x, double *y, int64_t outer,
                                            int64_t dim, int64_t inner);
S4J_API int s4j_log_softmax_dim_backward_f64(const double *gy, const double *y, double *gx,
                                             int64_t outer, int64_t dim, int64_t inner);
S4J_API int s4j_softmax_dim_forward_f64(const double *x, double *y, int64_t outer, int64_t dim,
                                        int64_t inner);
S4J_API int s4j_softmax_dim_backward_f64(const double *gy, const double *y, double *gx,
                                         int64_t outer, int64_t dim, int64_t inner);

/*
 * One entry point for every case of the family, the one the Java layer
 * calls: an operation, an element type and a direction, over tensors laid
 * out as `outer` slabs of [dim, inner] contiguous elements, slab o of each
 * tensor starting o * stride elements after its base (stride >= dim *
 * inner: a slice of a larger buffer, rows of a padded matrix). The softmax
 * runs over `dim`, as in the functions above.
 *
 *   forward   in = x, saved unused (may be NULL), out = y
 *   backward  in = gy, saved = the forward's output y, out = gx
 *
 * In-place use needs the same base and stride (out == in; out == saved in
 * the backward); other overlaps are undefined. Return codes, in this order:
 * S4J_ERR_UNSUPPORTED_ISA; S4J_ERR_BAD_ARGUMENT for an unknown op, dtype or
 * direction; S4J_ERR_NEGATIVE_SIZE; S4J_OK for an empty tensor;
 * S4J_ERR_BAD_ARGUMENT for a stride below dim * inner; S4J_ERR_SIZE_OVERFLOW
 * when a tensor's span does not fit in bytes; S4J_ERR_NULL_POINTER.
 *
 * Data types. `dtype` is that of all three tensors (in, saved, out): there
 * is no mixed-type call (a float32 input with a bfloat16 output is two
 * calls and a conversion); an unknown dtype is S4J_ERR_BAD_ARGUMENT.
 *   S4J_DTYPE_F32   float. exp in float (< 1 ulp), sums and log in double.
 *   S4J_DTYPE_F64   double. exp in double (< 1 ulp), log in double (< 2
 *                   ulp), every sum compensated (Neumaier/Kahan): measured
 *                   against a long double reference, log-softmax within 8
 *                   ulp of max(1, |y|), softmax within 8 ulp of y plus 8
 *                   ulp of the column's largest y.
 *   S4J_DTYPE_BF16  uint16_t bfloat16 (the top half of a float), and
 *   S4J_DTYPE_F16   uint16_t IEEE binary16: storage only. Each element is
 *                   widened to float, the computation is the float32 one
 *                   (never a 16-bit accumulator), and each result is rounded
 *                   once to nearest even (NaN stays NaN): within 1 ulp of
 *                   the format, and its correct rounding but where the
 *                   exact value is within float error of a halfway point.
 * Strides are in elements of the dtype.
 */
#define S4J_OP_LOG_SOFTMAX 0
#define S4J_OP_SOFTMAX 1
#define S4J_DTYPE_F32 0
#define S4J_DTYPE_F64 1
#define S4J_DTYPE_BF16 2
#define S4J_DTYPE_F16 3
#define S4J_DIRECTION_FORWARD 0
#define S4J_DIRECTION_BACKWARD 1
S4J_API int s4j_softmax_strided(int op, int dtype, int direction, int64_t outer, int64_t dim,
                                int64_t inner, const void *in, int64_t in_stride,
                                const void *saved, int64_t saved_stride, void *out,
                                int64_t out_stride);
/* The same in each variant by name, bypassing dispatch, as for the row
 * functions below (same checks; S4J_ERR_UNSUPPORTED_ISA, after them, where
 * the variant is not compiled in; calling one the CPU lacks is undefined). */
#define S4J_DECLARE_STRIDED_VARIANT(isa)                                                  \
  S4J_API int s4j_softmax_strided_##isa(int op, int dtype, int direction, int64_t outer,  \
                                        int64_t dim, int64_t inner, const void *in,      \
                                        int64_t in_stride, const void *saved,            \
                                        int64_t saved_stride, void *out, int64_t out_stride);
S4J_DECLARE_STRIDED_VARIANT(scalar)
S4J_DECLARE_STRIDED_VARIANT(avx2)
S4J_DECLARE_STRIDED_VARIANT(avx512)
#undef S4J_DECLARE_STRIDED_VARIANT

/*
 * LogSumExp over `dim` of a contiguous [outer, dim, inner] tensor (as the
 * dim functions above), as torch.logsumexp(x, dim) without keepdim:
 *
 *   forward   out[o, j] = log(sum_c exp(x[o, c, j])), out has outer * inner
 *             floats; computed as m + log(sum(exp(x - m))), the addition in
 *             double and rounded once. A slice of only -inf gives -inf, one
 *             with +inf (and no NaN) +inf, one with a NaN NaN; dim == 0
 *             gives -inf (the log of an empty sum).
 *   backward  gx[o, c, j] = gy[o, j] * softmax(x)[o, c, j], recomputed from
 *             the input x (not from the rounded output); gx may be x.
 *             Slices whose forward was +-inf or NaN get NaN.
 *
 * Return codes as for the dim functions; outer == 0 or inner == 0 is a
 * no-op whatever the pointers.
 */
S4J_API int s4j_logsumexp_forward_f32(const float *x, float *out, int64_t outer, int64_t dim,
                                      int64_t inner);
S4J_API int s4j_logsumexp_backward_f32(const float *gy, const float *x, float *gx, int64_t outer,
                                       int64_t dim, int64_t inner);
/*
 * The same over float64, bfloat16 and float16 tensors (bfloat16 and float16
 * as uint16_t bit patterns; see "Data types" above): out, gy and gx are of
 * the input's type, with the same checks and return codes, the byte counts
 * in elements of 8 or 2 bytes.
 *   float64   exp and log in double, the sum compensated: measured against
 *             a long double reference, the forward within 8 ulp of
 *             max(1, |out|), the backward within 32 ulp of |gx| (the
 *             rounding of x - m moves exp(x - m) by up to |x - m| / 2 ulp).
 *   bfloat16  widened to float, exp in float, the sum and m + log(sum) in
 *   float16   double, rounded once to nearest even on store: within 1 ulp
 *             of the format. The backward computes gy * softmax(x) in float
 *             (the softmax never rounded to 16 bits) and rounds once. A row
 *             of 512 equal bfloat16 logits v gives log(512) + v rounded.
 * The special values are those of float32 (all -inf, +inf, NaN, dim == 0).
 */
S4J_API int s4j_logsumexp_forward_f64(const double *x, double *out, int64_t outer, int64_t dim,
                                      int64_t inner);
S4J_API int s4j_logsumexp_backward_f64(const double *gy, const double *x, double *gx,
                                       int64_t outer, int64_t dim, int64_t inner);
S4J_API int s4j_logsumexp_forward_bf16(const uint16_t *x, uint16_t *out, int64_t outer,
                                       int64_t dim, int64_t inner);
S4J_API int s4j_logsumexp_backward_bf16(const uint16_t *gy, const uint16_t *x, uint16_t *gx,
                                        int64_t outer, int64_t dim, int64_t inner);
S4J_API int s4j_logsumexp_forward_f16(const uint16_t *x, uint16_t *out, int64_t outer,
                                      int64_t dim, int64_t inner);
S4J_API int s4j_logsumexp_backward_f16(const uint16_t *gy, const uint16_t *x, uint16_t *gx,
                                       int64_t outer, int64_t dim, int64_t inner);

/* Every dtype's LogSumExp in each variant by name, bypassing dispatch (as
 * for the others: S4J_ERR_UNSUPPORTED_ISA, after the checks, where the
 * variant is not compiled in). */
#define S4J_DECLARE_LOGSUMEXP_TYPE_VARIANT(sfx, type, isa)                                    \
  S4J_API int s4j_logsumexp_forward_##sfx##_##isa(const type *x, type *out, int64_t outer,    \
                                                  int64_t dim, int64_t inner);                \
  S4J_API int s4j_logsumexp_backward_##sfx##_##isa(const type *gy, const type *x, type *gx,   \
                                                   int64_t outer, int64_t dim, int64_t inner);
#define S4J_DECLARE_LOGSUMEXP_VARIANT(isa)                  \
  S4J_DECLARE_LOGSUMEXP_TYPE_VARIANT(f32, float, isa)       \
  S4J_DECLARE_LOGSUMEXP_TYPE_VARIANT(f64, double, isa)      \
  S4J_DECLARE_LOGSUMEXP_TYPE_VARIANT(bf16, uint16_t, isa)   \
  S4J_DECLARE_LOGSUMEXP_TYPE_VARIANT(f16, uint16_t, isa)
S4J_DECLARE_LOGSUMEXP_VARIANT(scalar)
S4J_DECLARE_LOGSUMEXP_VARIANT(avx2)
S4J_DECLARE_LOGSUMEXP_VARIANT(avx512)
#undef S4J_DECLARE_LOGSUMEXP_VARIANT
#undef S4J_DECLARE_LOGSUMEXP_TYPE_VARIANT

/*
 * The kernel variant in use: "avx512", "avx2" or "scalar"; "none" when
 * s4j_isa_status() is S4J_ERR_UNSUPPORTED_ISA (no kernel runs then).
 * Never NULL.
 */
S4J_API const char *s4j_isa(void);

/*
 * The status of the variant choice: S4J_OK, or S4J_ERR_UNSUPPORTED_ISA when
 * SOFTMAX4J_ISA asked for a variant that cannot run here. In that case the
 * compute functions return S4J_ERR_UNSUPPORTED_ISA and compute nothing, so a
 * forced choice is never silently ignored.
 */
S4J_API int s4j_isa_status(void);

/*
 * The CPU features that matter to the kernels, each usable here (the CPU has
 * it and the OS saves its registers), space-separated, e.g.
 * "avx avx2 fma f16c avx512f avx512dq avx512bw avx512vl". Never NULL.
 */
S4J_API const char *s4j_cpu_features(void);

/* Whether this CPU and OS can run the named variant (1) or not (0). */
S4J_API int s4j_isa_supported(const char *isa);

/* A short English description of a return code. Never NULL. */
S4J_API const char *s4j_strerror(int code);

/*
 * Each variant by name, bypassing dispatch, for tests and benchmarks.
 * Calling a variant the CPU lacks is undefined: check s4j_isa_supported().
 * They check their arguments exactly as the dispatched functions do (but
 * ignore SOFTMAX4J_ISA). Where a variant is not compiled in (avx2, avx512
 * outside x86-64) it returns S4J_ERR_UNSUPPORTED_ISA after those checks.
 */
S4J_API int s4j_log_softmax_forward_f32_scalar(const float *x, float *y,
                                               int64_t rows, int64_t cols);
S4J_API int s4j_log_softmax_forward_f32_avx2(const float *x, float *y,
                                             int64_t rows, int64_t cols);
S4J_API int s4j_log_softmax_forward_f32_avx512(const float *x, float *y,
                                               int64_t rows, int64_t cols);
S4J_API int s4j_log_softmax_backward_f32_scalar(const float *gy,
                                                const float *y, float *gx,
                                                int64_t rows, int64_t cols);
S4J_API int s4j_log_softmax_backward_f32_avx2(const float *gy, const float *y,
                                              float *gx, int64_t rows,
                                              int64_t cols);
S4J_API int s4j_log_softmax_backward_f32_avx512(const float *gy,
                                                const float *y, float *gx,
                                                int64_t rows, int64_t cols);

/* ---- Losses: cross-entropy and NLL ---------------------------------------
 *
 * The semantics of PyTorch's cross_entropy and nll_loss. The input has
 * n * classes * inner floats, laid out as [n, classes, d1..dk] with
 * inner = d1 * ... * dk (inner = 1 for [n, classes]): position (i, j), for
 * i < n and j < inner, has its classes at logits[(i * classes + c) * inner + j].
 * There are n * inner positions; per-position arrays (target, loss, stats,
 * grad_loss) are indexed by p = i * inner + j.
 *
 * Targets (target_kind):
 *   S4J_TARGET_INT32, S4J_TARGET_INT64: one class index per position, an
 *     int32_t or int64_t [n * inner]. A position whose index equals
 *     ignore_index has loss 0 and gradient 0 and is not counted; every other
 *     index must be in [0, classes) (else S4J_ERR_TARGET_OUT_OF_RANGE,
 *     checked for all positions before anything is written).
 *   S4J_TARGET_PROB_F32: class probabilities, float [n * classes * inner],
 *     laid out like the logits; ignore_index does not apply. Not checked:
 *     any float is used as given.
 *
 * Per position, with x the logits of its classes, m = max(x),
 * lse = m + log(sum_c exp(x_c - m)), w = weight (all ones when NULL),
 * eps = label_smoothing and C = classes, a target weight vector q:
 *   index t:  q = (1 - eps) * w[t] * e_t + (eps / C) * w
 *   probs t:  q_c = w_c * ((1 - eps) * t_c + eps / C)
 *   loss      = sum_c q_c * ((m - x_c) + log(sum exp(x - m)))
 *   gradient  = scale * (softmax(x) * sum_c q_c - q)
 * The weights of the counted positions add up in totals[1]: w[t] for index
 * targets, 1 for probabilities; so a mean is totals[0] / totals[1] (NaN when
 * nothing is counted, as in PyTorch).
 *
 * Special values come out of the arithmetic as in PyTorch: a +inf or NaN
 * logit, or a position whose logits are all -inf, gives a NaN loss and NaN
 * gradients; a -inf logit at the target gives +inf; 0 * inf products (a zero
 * weight or probability at a -inf logit) give NaN, as PyTorch's do.
 * Weights are used as given (the Java API requires them finite and >= 0).
 *
 * Kernels: for inner == 1 the max, the sum of exponentials and the gradient
 * run in the dispatched variant (vectorised along the classes); for
 * inner > 1 the softmax-over-a-dimension kernels do, vectorised along the
 * inner dimension (the forward when stats is given; without it, and for
 * NLL, a portable strided loop). Sums are carried in double.
 *
 * Checks, in this order: S4J_ERR_UNSUPPORTED_ISA, S4J_ERR_NEGATIVE_SIZE
 * (n, classes or inner < 0), S4J_ERR_BAD_ARGUMENT (unknown target_kind;
 * label_smoothing NaN or outside [0, 1]; classes == 0 while n * inner > 0),
 * S4J_OK for no positions (totals, when given, set to {0, 0}),
 * S4J_ERR_SIZE_OVERFLOW, S4J_ERR_NULL_POINTER (a required pointer is NULL),
 * S4J_ERR_TARGET_OUT_OF_RANGE. Nothing is written unless all pass.
 * Outputs must not overlap inputs or each other.
 */
#define S4J_TARGET_INT32 1    /* int32_t class indices           */
#define S4J_TARGET_INT64 2    /* int64_t class indices           */
#define S4J_TARGET_PROB_F32 3 /* float class probabilities       */

/*
 * Cross-entropy forward: log-softmax and NLL fused, one pass per position.
 *   weight   float [classes], or NULL for all ones
 *   loss     out, float [n * inner]: each position's loss (0 where ignored),
 *            or NULL
 *   stats    out, float [n * inner * 2]: per position the max m and
 *            log(sum exp(x - m)), what the backward needs; or NULL
 *   totals   out, double [2]: the sum of the losses and the weight of the
 *            counted positions (the mean's denominator); or NULL
 * Required: logits, target.
 */
S4J_API int s4j_cross_entropy_forward_f32(
    const float *logits, int64_t n, int64_t classes, int64_t inner,
    const void *target, int target_kind, const float *weight,
    int64_t ignore_index, float label_smoothing,
    float *loss, float *stats, double *totals);

/*
 * Cross-entropy backward: grad_logits = scale_p * (softmax * sum(q) - q) at
 * each counted position, 0 at ignored ones, with
 * scale_p = grad_scale * (grad_loss ? grad_loss[p] : 1). For reduction
 * "none" pass grad_loss (float [n * inner]) and grad_scale = 1; for "sum"
 * grad_loss = NULL and the upstream gradient as grad_scale; for "mean" the
 * upstream gradient divided by totals[1].
 *   stats        the forward's stats for the same logits and targets
 *   grad_logits  out, float [n * classes * inner]
 * Required: logits, stats, target, grad_logits. The other arguments are the
 * forward's.
 */
S4J_API int s4j_cross_entropy_backward_f32(
    const float *logits, const float *stats, int64_t n, int64_t classes,
    int64_t inner, const void *target, int target_kind, const float *weight,
    int64_t ignore_index, float label_smoothing,
    const float *grad_loss, float grad_scale, float *grad_logits);

/*
 * NLL forward over log-probabilities laid out like the logits above:
 * loss_p = -w[t] * log_probs[t] (0 where ignored). Index targets only
 * (S4J_TARGET_INT32 or S4J_TARGET_INT64; S4J_ERR_BAD_ARGUMENT otherwise);
 * loss and totals as for cross-entropy, each optional. Required: log_probs,
 * target.
 */
S4J_API int s4j_nll_loss_forward_f32(
    const float *log_probs, int64_t n, int64_t classes, int64_t inner,
    const void *target, int target_kind, const float *weight,
    int64_t ignore_index, float *loss, double *totals);

/*
 * NLL backward: grad_log_probs = -scale_p * w[t] at the target class, 0
 * elsewhere and at ignored positions; scale_p as for cross-entropy.
 * Required: target, grad_log_probs.
 */
S4J_API int s4j_nll_loss_backward_f32(
    int64_t n, int64_t classes, int64_t inner, const void *target,
    int target_kind, const float *weight, int64_t ignore_index,
    const float *grad_loss, float grad_scale, float *grad_log_probs);

/*
 * The cross-entropy pair in one named variant, bypassing dispatch, as for
 * log-softmax above (same checks; S4J_ERR_UNSUPPORTED_ISA where the variant
 * is not compiled in; calling one the CPU lacks is undefined).
 */
#define S4J_DECLARE_CROSS_ENTROPY_VARIANT(isa)                                  \
  S4J_API int s4j_cross_entropy_forward_f32_##isa(                              \
      const float *logits, int64_t n, int64_t classes, int64_t inner,           \
      const void *target, int target_kind, const float *weight,                 \
      int64_t ignore_index, float label_smoothing, float *loss, float *stats,   \
      double *totals);                                                          \
  S4J_API int s4j_cross_entropy_backward_f32_##isa(                             \
      const float *logits, const float *stats, int64_t n, int64_t classes,      \
      int64_t inner, const void *target, int target_kind, const float *weight,  \
      int64_t ignore_index, float label_smoothing, const float *grad_loss,      \
      float grad_scale, float *grad_logits);
S4J_DECLARE_CROSS_ENTROPY_VARIANT(scalar)
S4J_DECLARE_CROSS_ENTROPY_VARIANT(avx2)
S4J_DECLARE_CROSS_ENTROPY_VARIANT(avx512)
#undef S4J_DECLARE_CROSS_ENTROPY_VARIANT

#ifdef __cplusplus
}
#endif

#endif /* SOFTMAX4J_H */
