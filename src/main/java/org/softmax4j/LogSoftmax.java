package org.softmax4j;

import java.lang.foreign.Arena;
import org.softmax4j.internal.SoftmaxOp;

/**
 * Log-softmax as an autograd-style operation: {@link #forward} computes
 * {@code y = x - max - log(sum(exp(x - max)))} over one dimension (the last by default) and saves
 * {@code y};
 * {@link #backward} turns the gradient of a loss with respect to {@code y} into the gradient with
 * respect to {@code x}, {@code gx = gy - exp(y) * sum(gy)}, from the saved {@code y} alone.
 *
 * <pre>{@code
 * try (Arena arena = Arena.ofConfined()) {
 *     LogSoftmax op = new LogSoftmax();
 *     Tensor logProbs = op.forward(logits, arena);
 *     Tensor gradLogits = op.backward(gradLogProbs, arena);
 * }
 * }</pre>
 *
 * <p>The saved output is the output tensor itself, not a copy: it must stay unchanged, with its
 * arena open, until {@code backward}. Every call checks its arguments before writing anything and
 * leaves its output untouched when a check fails: {@link NullPointerException} for a null
 * argument, {@link IllegalArgumentException} for an integer tensor, an output or gradient of
 * another dtype than the input ("out has dtype float32, must be float64 like x"), mismatched shapes, a read-only output or an
 * output that partly overlaps an input, {@link IllegalStateException} for a tensor whose arena is
 * closed (naming the argument) and for {@code backward} before {@code forward}.
 *
 * <p>An instance is not thread-safe: it holds the output of the last {@code forward}. Use one per
 * thread, or the stateless static methods of {@link Softmax4j}. An instance built with a
 * {@link Parallelism} of several threads splits large calls into slices of rows, on the caller
 * thread and a shared pool (over another dimension, slices of the dimensions before it); by
 * default every call runs on the caller thread alone.
 *
 * <p>Any floating dtype: float32, float64 (computed in double, within a few ulp), bfloat16 and
 * float16 (computed in float, each result rounded once to nearest even); outputs and gradients
 * have the input's dtype. Only float32 over the last dimension is split across threads.
 *
 * <p>Over a dimension other than the last, the kernels reduce across the tensor in place, with no
 * transpose: a {@code [N, C, H, W]} tensor over {@code dim = 1} is {@code N} slabs of
 * {@code [C, H*W]}, each reduced over {@code C} for every one of the {@code H*W} positions.
 */
public final class LogSoftmax {
    private final SavedOutputOp op;

    /** Log-softmax over the last dimension. */
    public LogSoftmax() {
        this(-1);
    }

    /**
     * Log-softmax over dimension {@code dim}, negative counting from the end like PyTorch
     * ({@code -1} is the last). {@code forward} checks it against the rank of its input.
     */
    public LogSoftmax(int dim) {
        this(dim, Parallelism.single());
    }

    /**
     * Log-softmax over dimension {@code dim}, as {@link #LogSoftmax(int)}, whose calls use up to
     * {@code parallelism.threads()} threads when their work is large enough.
     */
    public LogSoftmax(int dim, Parallelism parallelism) {
        this.op = new SavedOutputOp(SoftmaxOp.LOG_SOFTMAX, dim, parallelism);
    }

    /** The dimension given to the constructor, as given. */
    public int dim() {
        return op.dim();
    }

    /** The threads a call may use, {@link Parallelism#single()} unless given. */
    public Parallelism parallelism() {
        return op.parallelism();
    }

    /**
     * Computes log-softmax of {@code x} into a new tensor allocated in {@code arena}, and saves it
     * for {@link #backward}.
     *
     * @return the output, of the shape of {@code x}
     * @throws IllegalArgumentException if {@code dim} is not in {@code [-rank, rank - 1]} for
     *     {@code x}
     * @throws IllegalStateException if the arena of {@code x}, or {@code arena}, is closed
     */
    public Tensor forward(Tensor x, Arena arena) {
        return op.forward(x, arena);
    }

    /**
     * Computes log-softmax of {@code x} into {@code out}, and saves {@code out} for
     * {@link #backward}. {@code out} may be {@code x} itself (in place); it must not otherwise
     * overlap it.
     *
     * @return {@code out}
     * @throws IllegalArgumentException if {@code dim} is not in {@code [-rank, rank - 1]} for
     *     {@code x}; if the shapes differ; if {@code out} is read-only or partly overlaps {@code x}
     * @throws IllegalStateException if the arena of {@code x} or {@code out} is closed
     */
    public Tensor forward(Tensor x, Tensor out) {
        return op.forward(x, out);
    }

    /**
     * Computes the gradient with respect to the input of the last {@code forward}, from
     * {@code gradOutput} (the gradient with respect to its output), into a new tensor allocated in
     * {@code arena}: {@code gx = gy - exp(y) * sum(gy)} over the dimension.
     *
     * @return the gradient with respect to the input, of the shape of the saved output
     * @throws IllegalStateException if {@code forward} was not called; if the arena of
     *     {@code gradOutput} or of the saved output, or {@code arena}, is closed
     * @throws IllegalArgumentException if the shape of {@code gradOutput} differs from the saved
     *     output's
     */
    public Tensor backward(Tensor gradOutput, Arena arena) {
        return op.backward(gradOutput, arena);
    }

    /**
     * Computes the gradient with respect to the input of the last {@code forward} into
     * {@code gradInput}. {@code gradInput} may be {@code gradOutput} itself (in place), but must not
     * otherwise overlap it, and must not overlap the saved output at all: backward reads it, and it
     * must survive for another backward.
     *
     * @return {@code gradInput}
     * @throws IllegalStateException if {@code forward} was not called; if the arena of an argument
     *     or of the saved output is closed
     * @throws IllegalArgumentException if a shape differs from the saved output's; if
     *     {@code gradInput} is read-only, partly overlaps {@code gradOutput} or overlaps the saved
     *     output
     */
    public Tensor backward(Tensor gradOutput, Tensor gradInput) {
        return op.backward(gradOutput, gradInput);
    }

    /**
     * The output of the last {@code forward}, which {@code backward} reads.
     *
     * @throws IllegalStateException if {@code forward} was not called
     */
    public Tensor savedOutput() {
        return op.savedOutput();
    }

    @Override
    public String toString() {
        return op.describe("LogSoftmax");
    }
}
