package org.softmax4j;

import java.lang.foreign.Arena;
import java.util.Objects;
import org.softmax4j.internal.Backends;
import org.softmax4j.internal.Checks;
import org.softmax4j.internal.RowParallel;
import org.softmax4j.internal.SoftmaxOp;

/**
 * What {@link LogSoftmax} and {@link Softmax} share: a reduction over one dimension whose output
 * has the input's shape and is all the backward needs. This class holds the dimension, the
 * parallelism and the saved output, checks every argument, and picks the kernel: the row kernels
 * for the last dimension, the {@code [outer, dim, inner]} kernels otherwise (no transpose).
 *
 * <p>Any floating dtype: the output, the gradients and the saved output all have the input's
 * type. Over the last dimension, any of the tensors may be a view with strided rows
 * ({@link StridedRows}, always on the caller thread). Large calls on contiguous tensors split
 * across the {@link Parallelism}'s threads: float32 log-softmax over the last dimension by rows,
 * every other case by whole slabs of the outer dimensions (a tensor with one slab stays on the
 * caller thread).
 */
final class SavedOutputOp {
    private final SoftmaxOp op;
    private final int dim;
    private final Parallelism parallelism;
    private Tensor saved;

    SavedOutputOp(SoftmaxOp op, int dim, Parallelism parallelism) {
        this.op = op;
        this.dim = dim;
        this.parallelism = Objects.requireNonNull(parallelism, "parallelism");
    }

    int dim() {
        return dim;
    }

    Parallelism parallelism() {
        return parallelism;
    }

    Tensor forward(Tensor x, Arena arena) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(arena, "arena");
        TensorChecks.requireFloating("x", x);
        x.shape().normalize(dim);
        Checks.requireAlive("x", x.span());
        return forward(x, Tensor.allocate(arena, x.dtype(), x.shape()));
    }

    Tensor forward(Tensor x, Tensor out) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(out, "out");
        TensorChecks.requireFloating("x", x);
        TensorChecks.requireSameDType("out", out, "x", x);
        DType dtype = x.dtype();
        Shape shape = x.shape();
        int d = shape.normalize(dim);
        requireSameShape("out", out, "x", x);
        if (StridedRows.any(x, out)) {
            StridedRows.forward(op, d, x, out);
            saved = out;
            return out;
        }
        Checks.forward("x", x.segment(), "out", out.segment(), shape.rows(), shape.cols(), dtype);
        long inner = shape.sizeAfter(d);
        if (dtype == DType.FLOAT32 && op == SoftmaxOp.LOG_SOFTMAX && inner == 1) {
            long rows = shape.rows();
            long cols = shape.cols();
            RowParallel.forward(Backends.get(), x.segment(), out.segment(), rows, cols,
                    parallelism.threadsFor(rows, cols));
        } else if (shape.numel() != 0) {
            long outer = shape.sizeBefore(d);
            long size = shape.dims()[d];
            RowParallel.forward(Backends.get(), op, dtype, x.segment(), out.segment(), outer, size, inner,
                    parallelism.threadsFor(outer, size * inner));
        }
        saved = out;
        return out;
    }

    Tensor backward(Tensor gradOutput, Arena arena) {
        Objects.requireNonNull(gradOutput, "gradOutput");
        Objects.requireNonNull(arena, "arena");
        Tensor y = savedOrThrow();
        TensorChecks.requireSameDType("gradOutput", gradOutput, "the saved output", y);
        requireSameShape("gradOutput", gradOutput, "saved output", y);
        Checks.requireAlive("gradOutput", gradOutput.span());
        Checks.requireAlive("saved output", y.span());
        return backward(gradOutput, Tensor.allocate(arena, y.dtype(), y.shape()));
    }

    Tensor backward(Tensor gradOutput, Tensor gradInput) {
        Objects.requireNonNull(gradOutput, "gradOutput");
        Objects.requireNonNull(gradInput, "gradInput");
        Tensor y = savedOrThrow();
        TensorChecks.requireSameDType("gradOutput", gradOutput, "the saved output", y);
        TensorChecks.requireSameDType("gradInput", gradInput, "the saved output", y);
        DType dtype = y.dtype();
        requireSameShape("gradOutput", gradOutput, "saved output", y);
        requireSameShape("gradInput", gradInput, "saved output", y);
        Shape shape = y.shape();
        if (StridedRows.any(gradOutput, y, gradInput)) {
            StridedRows.backward(op, shape.normalize(dim), gradOutput, y, gradInput);
            return gradInput;
        }
        Checks.requireAlive("gradOutput", gradOutput.segment());
        Checks.requireAlive("gradInput", gradInput.segment());
        Checks.requireAlive("saved output", y.segment());
        Checks.requireDisjoint("gradInput", gradInput.segment(), "the saved output", y.segment(),
                y.segment().byteSize());
        Checks.backward("gradOutput", gradOutput.segment(), "saved output", y.segment(),
                "gradInput", gradInput.segment(), shape.rows(), shape.cols(), dtype);
        // The saved output has passed the same checks in forward, on this shape.
        int d = shape.normalize(dim);
        long inner = shape.sizeAfter(d);
        if (dtype == DType.FLOAT32 && op == SoftmaxOp.LOG_SOFTMAX && inner == 1) {
            long rows = shape.rows();
            long cols = shape.cols();
            RowParallel.backward(Backends.get(), gradOutput.segment(), y.segment(), gradInput.segment(), rows, cols,
                    parallelism.threadsFor(rows, cols));
        } else if (shape.numel() != 0) {
            long outer = shape.sizeBefore(d);
            long size = shape.dims()[d];
            RowParallel.backward(Backends.get(), op, dtype, gradOutput.segment(), y.segment(), gradInput.segment(),
                    outer, size, inner, parallelism.threadsFor(outer, size * inner));
        }
        return gradInput;
    }

    Tensor savedOutput() {
        if (saved == null) {
            throw new IllegalStateException("no saved output: forward was not called");
        }
        return saved;
    }

    String describe(String name) {
        return name + "[dim=" + dim + (parallelism.threads() == 1 ? "" : ", " + parallelism)
                + (saved == null ? "" : ", saved " + saved) + "]";
    }

    private Tensor savedOrThrow() {
        if (saved == null) {
            throw new IllegalStateException("backward called before forward");
        }
        return saved;
    }

    private static void requireSameShape(String name, Tensor tensor, String otherName, Tensor other) {
        if (!tensor.shape().equals(other.shape())) {
            throw new IllegalArgumentException(name + " has shape " + tensor.shape()
                    + ", but " + otherName + " has shape " + other.shape());
        }
    }
}
