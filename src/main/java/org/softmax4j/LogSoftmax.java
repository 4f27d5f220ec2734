package org.softmax4j;

import java.lang.foreign.Arena;
import java.util.Objects;
import org.softmax4j.internal.Backends;
import org.softmax4j.internal.Checks;
import org.softmax4j.internal.RowParallel;

/**
 * Log-softmax as an autograd-style operation: {@link #forward} computes
 * {@code y = x - max - log(sum(exp(x - max)))} over the last dimension and saves {@code y};
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
 * argument, {@link IllegalArgumentException} for a tensor that is not float32, mismatched shapes, a read-only output or an
 * output that partly overlaps an input, {@link IllegalStateException} for a tensor whose arena is
 * closed (naming the argument) and for {@code backward} before {@code forward}.
 *
 * <p>An instance is not thread-safe: it holds the output of the last {@code forward}. Use one per
 * thread, or the stateless static methods of {@link Softmax4j}. An instance built with a
 * {@link Parallelism} of several threads splits large calls into slices of rows, on the caller
 * thread and a shared pool; by default every call runs on the caller thread alone.
 */
public final class LogSoftmax {
    private final int dim;
    private final Parallelism parallelism;
    private Tensor saved;

    /** Log-softmax over the last dimension. */
    public LogSoftmax() {
        this(-1);
    }

    /**
     * Log-softmax over dimension {@code dim}, negative counting from the end. For now only the last
     * dimension is supported: {@code forward} rejects any other.
     */
    public LogSoftmax(int dim) {
        this(dim, Parallelism.single());
    }

    /**
     * Log-softmax over dimension {@code dim}, as {@link #LogSoftmax(int)}, whose calls use up to
     * {@code parallelism.threads()} threads when their work is large enough.
     */
    public LogSoftmax(int dim, Parallelism parallelism) {
        this.dim = dim;
        this.parallelism = Objects.requireNonNull(parallelism, "parallelism");
    }

    /** The dimension given to the constructor, as given. */
    public int dim() {
        return dim;
    }

    /** The threads a call may use, {@link Parallelism#single()} unless given. */
    public Parallelism parallelism() {
        return parallelism;
    }

    /**
     * Computes log-softmax of {@code x} into a new tensor allocated in {@code arena}, and saves it
     * for {@link #backward}.
     *
     * @return the output, of the shape of {@code x}
     * @throws IllegalArgumentException if {@code dim} is not the last dimension of {@code x}
     * @throws IllegalStateException if the arena of {@code x}, or {@code arena}, is closed
     */
    public Tensor forward(Tensor x, Arena arena) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(arena, "arena");
        TensorChecks.requireFloat32("x", x);
        requireLastDim(x.shape());
        Checks.requireAlive("x", x.segment());
        return forward(x, Tensor.allocate(arena, x.shape()));
    }

    /**
     * Computes log-softmax of {@code x} into {@code out}, and saves {@code out} for
     * {@link #backward}. {@code out} may be {@code x} itself (in place); it must not otherwise
     * overlap it.
     *
     * @return {@code out}
     * @throws IllegalArgumentException if {@code dim} is not the last dimension of {@code x}; if
     *     the shapes differ; if {@code out} is read-only or partly overlaps {@code x}
     * @throws IllegalStateException if the arena of {@code x} or {@code out} is closed
     */
    public Tensor forward(Tensor x, Tensor out) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(out, "out");
        TensorChecks.requireFloat32("x", x);
        TensorChecks.requireFloat32("out", out);
        requireLastDim(x.shape());
        requireSameShape("out", out, "x", x);
        Shape shape = x.shape();
        Checks.forward("x", x.segment(), "out", out.segment(), shape.rows(), shape.cols());
        long rows = shape.rows();
        long cols = shape.cols();
        RowParallel.forward(Backends.get(), x.segment(), out.segment(), rows, cols, parallelism.threadsFor(rows, cols));
        saved = out;
        return out;
    }

    /**
     * Computes the gradient with respect to the input of the last {@code forward}, from
     * {@code gradOutput} (the gradient with respect to its output), into a new tensor allocated in
     * {@code arena}.
     *
     * @return the gradient with respect to the input, of the shape of the saved output
     * @throws IllegalStateException if {@code forward} was not called; if the arena of
     *     {@code gradOutput} or of the saved output, or {@code arena}, is closed
     * @throws IllegalArgumentException if the shape of {@code gradOutput} differs from the saved
     *     output's
     */
    public Tensor backward(Tensor gradOutput, Arena arena) {
        Objects.requireNonNull(gradOutput, "gradOutput");
        Objects.requireNonNull(arena, "arena");
        TensorChecks.requireFloat32("gradOutput", gradOutput);
        Tensor y = savedOrThrow();
        requireSameShape("gradOutput", gradOutput, "saved output", y);
        Checks.requireAlive("gradOutput", gradOutput.segment());
        Checks.requireAlive("saved output", y.segment());
        return backward(gradOutput, Tensor.allocate(arena, y.shape()));
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
        Objects.requireNonNull(gradOutput, "gradOutput");
        Objects.requireNonNull(gradInput, "gradInput");
        TensorChecks.requireFloat32("gradOutput", gradOutput);
        TensorChecks.requireFloat32("gradInput", gradInput);
        Tensor y = savedOrThrow();
        requireSameShape("gradOutput", gradOutput, "saved output", y);
        requireSameShape("gradInput", gradInput, "saved output", y);
        Shape shape = y.shape();
        Checks.requireAlive("gradOutput", gradOutput.segment());
        Checks.requireAlive("gradInput", gradInput.segment());
        Checks.requireAlive("saved output", y.segment());
        Checks.requireDisjoint("gradInput", gradInput.segment(), "the saved output", y.segment(), y.segment().byteSize());
        Checks.backward("gradOutput", gradOutput.segment(), "saved output", y.segment(),
                "gradInput", gradInput.segment(), shape.rows(), shape.cols());
        long rows = shape.rows();
        long cols = shape.cols();
        RowParallel.backward(Backends.get(), gradOutput.segment(), y.segment(), gradInput.segment(), rows, cols,
                parallelism.threadsFor(rows, cols));
        return gradInput;
    }

    /**
     * The output of the last {@code forward}, which {@code backward} reads.
     *
     * @throws IllegalStateException if {@code forward} was not called
     */
    public Tensor savedOutput() {
        if (saved == null) {
            throw new IllegalStateException("no saved output: forward was not called");
        }
        return saved;
    }

    @Override
    public String toString() {
        return "LogSoftmax[dim=" + dim + (parallelism.threads() == 1 ? "" : ", " + parallelism)
                + (saved == null ? "" : ", saved " + saved) + "]";
    }

    private Tensor savedOrThrow() {
        if (saved == null) {
            throw new IllegalStateException("backward called before forward");
        }
        return saved;
    }

    private void requireLastDim(Shape shape) {
        int last = shape.rank() - 1;
        if (dim != -1 && dim != last) {
            throw new IllegalArgumentException("dim must be the last dimension (-1 or " + last
                    + ") for now, was " + dim + " (x has rank " + shape.rank() + ")");
        }
    }

    private static void requireSameShape(String name, Tensor tensor, String otherName, Tensor other) {
        if (!tensor.shape().equals(other.shape())) {
            throw new IllegalArgumentException(name + " has shape " + tensor.shape()
                    + ", but " + otherName + " has shape " + other.shape());
        }
    }
}
