package org.softmax4j;

import java.lang.foreign.Arena;
import org.softmax4j.internal.SoftmaxOp;

/**
 * Softmax as an autograd-style operation: {@link #forward} computes
 * {@code s = exp(x - max) / sum(exp(x - max))} over one dimension (the last by default) and saves
 * {@code s}; {@link #backward} turns the gradient of a loss with respect to {@code s} into the
 * gradient with respect to {@code x}, {@code gx = s * (gy - sum(gy * s))}, from the saved
 * {@code s} alone.
 *
 * <pre>{@code
 * try (Arena arena = Arena.ofConfined()) {
 *     Softmax op = new Softmax(1);                 // over the classes of [N, C, H, W]
 *     Tensor probs = op.forward(logits, arena);
 *     Tensor gradLogits = op.backward(gradProbs, arena);
 * }
 * }</pre>
 *
 * <p>Special values follow PyTorch: a {@code -inf} entry gets probability exactly 0 and the rest
 * of its slice is computed as if it were absent; a slice of only {@code -inf}, or with a
 * {@code +inf} or a NaN, gives NaN throughout; slices never affect each other. Probabilities too
 * small for a float become exactly 0.
 *
 * <p>The dtypes (float32, float64, bfloat16, float16; outputs and gradients of the input's), the
 * saved output, the checks, the exceptions and the in-place rules are those of
 * {@link LogSoftmax}, and so is the lack of thread safety of an instance. By default every call
 * runs on the caller thread.
 */
public final class Softmax {
    private final SavedOutputOp op;

    /** Softmax over the last dimension. */
    public Softmax() {
        this(-1);
    }

    /**
     * Softmax over dimension {@code dim}, negative counting from the end like PyTorch ({@code -1}
     * is the last). {@code forward} checks it against the rank of its input.
     */
    public Softmax(int dim) {
        this(dim, Parallelism.single());
    }

    /**
     * Softmax over dimension {@code dim}, as {@link #Softmax(int)}, whose calls use up to
     * {@code parallelism.threads()} threads when their work is large enough, split by whole
     * slices of the dimensions before {@code dim} (rows, for the last dimension).
     */
    public Softmax(int dim, Parallelism parallelism) {
        this.op = new SavedOutputOp(SoftmaxOp.SOFTMAX, dim, parallelism);
    }

    /** The threads a call may use, {@link Parallelism#single()} unless given. */
    public Parallelism parallelism() {
        return op.parallelism();
    }

    /** The dimension given to the constructor, as given. */
    public int dim() {
        return op.dim();
    }

    /**
     * Computes softmax of {@code x} into a new tensor allocated in {@code arena}, and saves it for
     * {@link #backward}.
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
     * Computes softmax of {@code x} into {@code out}, and saves {@code out} for {@link #backward}.
     * {@code out} may be {@code x} itself (in place); it must not otherwise overlap it.
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
     * {@code gradOutput}, into a new tensor allocated in {@code arena}.
     *
     * @return the gradient with respect to the input, of the shape of the saved output
     * @throws IllegalStateException if {@code forward} was not called; if an arena is closed
     * @throws IllegalArgumentException if the shape of {@code gradOutput} differs from the saved
     *     output's
     */
    public Tensor backward(Tensor gradOutput, Arena arena) {
        return op.backward(gradOutput, arena);
    }

    /**
     * Computes the gradient with respect to the input of the last {@code forward} into
     * {@code gradInput}, which may be {@code gradOutput} itself but must not otherwise overlap it,
     * nor overlap the saved output at all.
     *
     * @return {@code gradInput}
     * @throws IllegalStateException if {@code forward} was not called; if an arena is closed
     * @throws IllegalArgumentException if a shape differs from the saved output's; if
     *     {@code gradInput} is read-only or overlaps as described
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
        return op.describe("Softmax");
    }
}
