package org.softmax4j;

import java.lang.foreign.Arena;
import java.util.Objects;
import org.softmax4j.internal.Backends;
import org.softmax4j.internal.Checks;

/**
 * LogSumExp over one dimension, as an autograd-style operation: {@link #forward} computes
 * {@code log(sum(exp(x)))} over {@code dim} (as {@code max + log(sum(exp(x - max)))}, so large
 * logits do not overflow), without the whole softmax, and saves its input; {@link #backward} gives
 * {@code gx = gy * softmax(x)}, recomputed from the saved input.
 *
 * <pre>{@code
 * try (Arena arena = Arena.ofConfined()) {
 *     LogSumExp op = new LogSumExp(-1);           // the normaliser of each row of logits
 *     Tensor lse = op.forward(logits, arena);      // [rows] for [rows, vocab]
 *     Tensor gradLogits = op.backward(gradLse, arena);
 * }
 * }</pre>
 *
 * <p>The output has the input's shape without {@code dim} (PyTorch's {@code keepdim=False});
 * a rank-1 input gives a tensor of shape {@code [1]}. Special values follow
 * {@code torch.logsumexp}: a slice of only {@code -inf} gives {@code -inf}, one with
 * {@code +inf} (and no NaN) {@code +inf}, one with a NaN NaN; a {@code dim} of size 0 gives
 * {@code -inf}. The backward gives NaN for the slices whose forward was not finite.
 *
 * <p>Any floating dtype: the output and both gradients have the input's dtype (a mix is refused
 * with an {@link IllegalArgumentException} naming the argument). float32 computes {@code exp} in
 * float, the sum and {@code max + log(sum)} in double, rounded once; float64 all in double with a
 * compensated sum; bfloat16 and float16 widen each element to float, compute as float32 does and
 * round {@code max + log(sum)} once from double to the format (so 512 equal bfloat16 logits
 * {@code v} give {@code log(512) + v} correctly rounded). Their backward computes
 * {@code gy * softmax(x)} in float and rounds once; the softmax is never rounded to 16 bits.
 *
 * <p>The saved input is the input tensor itself, not a copy: it must stay unchanged, with its
 * arena open, until {@code backward}. The checks, exceptions and thread-safety are those of
 * {@link LogSoftmax}; every call runs on the caller thread.
 */
public final class LogSumExp {
    private final int dim;
    private Tensor saved;

    /** LogSumExp over the last dimension. */
    public LogSumExp() {
        this(-1);
    }

    /** LogSumExp over dimension {@code dim}, negative counting from the end. */
    public LogSumExp(int dim) {
        this.dim = dim;
    }

    /** The dimension given to the constructor, as given. */
    public int dim() {
        return dim;
    }

    /**
     * The shape of the output for an input of shape {@code input}: {@code input} without
     * {@code dim}, or {@code [1]} for a rank-1 input.
     *
     * @throws IllegalArgumentException if {@code dim} is not in {@code [-rank, rank - 1]}
     */
    public Shape outputShape(Shape input) {
        int d = input.normalize(dim);
        long[] dims = input.dims();
        if (dims.length == 1) {
            return Shape.of(1);
        }
        long[] reduced = new long[dims.length - 1];
        for (int i = 0, k = 0; i < dims.length; i++) {
            if (i != d) {
                reduced[k++] = dims[i];
            }
        }
        return new Shape(reduced);
    }

    /**
     * Computes LogSumExp of {@code x} into a new tensor allocated in {@code arena}, and saves
     * {@code x} for {@link #backward}.
     *
     * @throws IllegalArgumentException if {@code dim} is out of range for {@code x}, or {@code x}
     *     is not of a floating type
     * @throws IllegalStateException if an arena is closed
     */
    public Tensor forward(Tensor x, Arena arena) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(arena, "arena");
        TensorChecks.requireFloating("x", x);
        TensorChecks.requireContiguous("x", x);
        Checks.requireAlive("x", x.segment());
        return forward(x, Tensor.allocate(arena, x.dtype(), outputShape(x.shape())));
    }

    /**
     * Computes LogSumExp of {@code x} into {@code out}, of shape {@link #outputShape}, and saves
     * {@code x}. {@code out} must not overlap {@code x}.
     *
     * @return {@code out}
     * @throws IllegalArgumentException if {@code dim} is out of range, {@code x} is not of a
     *     floating type, {@code out} not of its type, {@code out} has the wrong shape, is read-only
     *     or overlaps {@code x}
     * @throws IllegalStateException if an arena is closed
     */
    public Tensor forward(Tensor x, Tensor out) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(out, "out");
        TensorChecks.requireFloating("x", x);
        TensorChecks.requireContiguous("x", x);
        TensorChecks.requireSameDType("out", out, "x", x);
        TensorChecks.requireContiguous("out", out);
        DType dtype = x.dtype();
        Shape shape = x.shape();
        TensorChecks.requireShape("out", out, outputShape(shape));
        long positions = out.shape().numel();
        Checks.requireAlive("x", x.segment());
        Checks.requireInput("x", x.segment(), Checks.byteSize(shape.rows(), shape.cols(), dtype), dtype);
        Checks.requireAlive("out", out.segment());
        Checks.requireOutput("out", out.segment(), positions * dtype.byteSize(), dtype);
        Checks.requireDisjoint("out", out.segment(), "x", x.segment(), Math.min(out.segment().byteSize(),
                x.segment().byteSize()));
        int d = shape.normalize(dim);
        if (positions != 0) {
            Backends.get().logSumExpForward(dtype, x.segment(), out.segment(), shape.sizeBefore(d),
                    shape.dims()[d], shape.sizeAfter(d));
        }
        saved = x;
        return out;
    }

    /**
     * Computes the gradient with respect to the saved input from {@code gradOutput} (of the
     * output's shape) into a new tensor allocated in {@code arena}.
     *
     * @throws IllegalStateException if {@code forward} was not called, or an arena is closed
     * @throws IllegalArgumentException if the shape of {@code gradOutput} is wrong, or its dtype
     *     is not the saved input's
     */
    public Tensor backward(Tensor gradOutput, Arena arena) {
        Objects.requireNonNull(gradOutput, "gradOutput");
        Objects.requireNonNull(arena, "arena");
        Tensor x = savedOrThrow();
        TensorChecks.requireSameDType("gradOutput", gradOutput, "the saved input", x);
        Checks.requireAlive("saved input", x.segment());
        return backward(gradOutput, Tensor.allocate(arena, x.dtype(), x.shape()));
    }

    /**
     * Computes the gradient with respect to the saved input into {@code gradInput}, of the input's
     * shape, which must overlap neither {@code gradOutput} nor the saved input (backward reads it,
     * and it must survive for another backward).
     *
     * @return {@code gradInput}
     * @throws IllegalStateException if {@code forward} was not called, or an arena is closed
     * @throws IllegalArgumentException if a shape is wrong, a dtype is not the saved input's,
     *     {@code gradInput} is read-only or overlaps as described
     */
    public Tensor backward(Tensor gradOutput, Tensor gradInput) {
        Objects.requireNonNull(gradOutput, "gradOutput");
        Objects.requireNonNull(gradInput, "gradInput");
        Tensor x = savedOrThrow();
        TensorChecks.requireSameDType("gradOutput", gradOutput, "the saved input", x);
        TensorChecks.requireContiguous("gradOutput", gradOutput);
        TensorChecks.requireSameDType("gradInput", gradInput, "the saved input", x);
        TensorChecks.requireContiguous("gradInput", gradInput);
        DType dtype = x.dtype();
        Shape shape = x.shape();
        TensorChecks.requireShape("gradOutput", gradOutput, outputShape(shape));
        TensorChecks.requireShape("gradInput", gradInput, shape);
        long positions = gradOutput.shape().numel();
        Checks.requireAlive("saved input", x.segment());
        Checks.requireAlive("gradOutput", gradOutput.segment());
        Checks.forward("saved input", x.segment(), "gradInput", gradInput.segment(), shape.rows(), shape.cols(),
                dtype);
        Checks.requireInput("gradOutput", gradOutput.segment(), positions * dtype.byteSize(), dtype);
        long bytes = shape.numel() * dtype.byteSize();
        Checks.requireDisjoint("gradInput", gradInput.segment(), "the saved input", x.segment(), bytes);
        Checks.requireDisjoint("gradInput", gradInput.segment(), "gradOutput", gradOutput.segment(),
                Math.min(bytes, gradOutput.segment().byteSize()));
        int d = shape.normalize(dim);
        if (shape.numel() != 0) {
            Backends.get().logSumExpBackward(dtype, gradOutput.segment(), x.segment(), gradInput.segment(),
                    shape.sizeBefore(d), shape.dims()[d], shape.sizeAfter(d));
        }
        return gradInput;
    }

    /**
     * The input of the last {@code forward}, which {@code backward} reads.
     *
     * @throws IllegalStateException if {@code forward} was not called
     */
    public Tensor savedInput() {
        return savedOrThrow();
    }

    @Override
    public String toString() {
        return "LogSumExp[dim=" + dim + (saved == null ? "" : ", saved " + saved) + "]";
    }

    private Tensor savedOrThrow() {
        if (saved == null) {
            throw new IllegalStateException("backward called before forward");
        }
        return saved;
    }
}
