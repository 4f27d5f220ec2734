package org.softmax4j;

import java.lang.foreign.Arena;
import org.softmax4j.internal.Losses;

/**
 * Cross-entropy of logits against targets, PyTorch's {@code cross_entropy}, as an autograd-style
 * operation: log-softmax and NLL fused in one pass over the logits, and a backward that writes
 * {@code scale * (softmax(logits) * sum(q) - q)} directly, with no one-hot matrix.
 *
 * <pre>{@code
 * try (Arena arena = Arena.ofConfined()) {
 *     CrossEntropy loss = new CrossEntropy(LossOptions.defaults().withLabelSmoothing(0.1f));
 *     Tensor value = loss.forward(logits, Tensor.wrap(labels, labels.length), arena); // [1], the mean
 *     Tensor gradLogits = loss.backward(1f, arena);
 * }
 * }</pre>
 *
 * <p>Shapes: logits {@code [N, C]} or {@code [N, C, d1, ..., dk]} (classes in dimension 1), float32;
 * the target either class indices, int32 or int64 of shape {@code [N, d1, ..., dk]}, or class
 * probabilities, float32 of the logits' shape. A single position is {@code [1, C]} with target
 * {@code [1]}: shapes of rank 0 do not exist in this library. The loss has shape {@code [1]} for
 * {@link Reduction#SUM} and {@link Reduction#MEAN}, the target's (indices) or {@code [N, d1..dk]}
 * (probabilities) for {@link Reduction#NONE}. The options, the weights and the special values are
 * described in {@link LossOptions} and the README ("Losses").
 *
 * <p>Forward saves the logits and target tensors themselves (not copies) and a small array of
 * per-position statistics: they must stay unchanged, with their arenas open, until
 * {@code backward}. Every call checks all its arguments before writing anything, and leaves its
 * output untouched when a check fails: {@link IllegalArgumentException} for a wrong type, shape
 * or option, a read-only output or an output overlapping an input;
 * {@link IndexOutOfBoundsException} for a class index that is neither {@code ignoreIndex} nor in
 * {@code [0, C)}, naming its position; {@link IllegalStateException} for a closed arena and for
 * {@code backward} before {@code forward}. Not thread-safe (it holds the saved state); calls run
 * on the caller thread.
 */
public final class CrossEntropy {
    private final LossEngine engine;

    /** Mean cross-entropy with PyTorch's defaults (see {@link LossOptions#defaults()}). */
    public CrossEntropy() {
        this(LossOptions.defaults());
    }

    public CrossEntropy(LossOptions options) {
        this.engine = new LossEngine(true, options, null);
    }

    /** Pinned to one kernel implementation, for tests that cover every backend. */
    CrossEntropy(LossOptions options, Losses losses) {
        this.engine = new LossEngine(true, options, losses);
    }

    public LossOptions options() {
        return engine.options();
    }

    /** The loss of {@code logits} against {@code target}, in a new tensor allocated in {@code arena}. */
    public Tensor forward(Tensor logits, Tensor target, Arena arena) {
        return engine.forward(logits, target, arena);
    }

    /** The loss of {@code logits} against {@code target}, written to {@code out}; returns {@code out}. */
    public Tensor forward(Tensor logits, Tensor target, Tensor out) {
        return engine.forward(logits, target, out);
    }

    /**
     * The gradient with respect to the saved logits for the upstream gradient {@code gradLoss} of
     * a sum or mean (1 for the loss itself), in a new tensor allocated in {@code arena}.
     *
     * @throws IllegalArgumentException for {@link Reduction#NONE}, which needs a tensor
     */
    public Tensor backward(float gradLoss, Arena arena) {
        return engine.backward(gradLoss, arena);
    }

    /** As {@link #backward(float, Arena)}, written to {@code gradLogits}; returns it. */
    public Tensor backward(float gradLoss, Tensor gradLogits) {
        return engine.backward(gradLoss, gradLogits);
    }

    /**
     * The gradient with respect to the saved logits for the upstream gradient {@code gradLoss},
     * of the loss's shape ({@code [1]} for a sum or mean).
     */
    public Tensor backward(Tensor gradLoss, Arena arena) {
        return engine.backward(gradLoss, arena);
    }

    /** As {@link #backward(Tensor, Arena)}, written to {@code gradLogits}; returns it. */
    public Tensor backward(Tensor gradLoss, Tensor gradLogits) {
        return engine.backward(gradLoss, gradLogits);
    }

    @Override
    public String toString() {
        return "CrossEntropy" + engine.options();
    }
}
