package org.softmax4j;

import java.lang.foreign.Arena;
import org.softmax4j.internal.Losses;

/**
 * The negative log-likelihood of log-probabilities at class-index targets, PyTorch's
 * {@code nll_loss}: {@code loss = -weight[t] * logProbs[t]} per position, and a backward that
 * writes {@code -scale * weight[t]} at each target class and 0 elsewhere. Use it after a
 * {@link LogSoftmax}; {@link CrossEntropy} fuses the two.
 *
 * <p>Shapes, options, reductions, the saved state and the errors are those of
 * {@link CrossEntropy}, with two differences: the target is class indices only (int32 or int64
 * of shape {@code [N, d1..dk]}), and {@code labelSmoothing} must be 0
 * ({@link IllegalArgumentException} at construction). Forward saves the log-probabilities
 * tensor (backward checks it is still alive but reads only its shape) and the target.
 */
public final class NllLoss {
    private final LossEngine engine;

    /** Mean NLL with PyTorch's defaults (see {@link LossOptions#defaults()}). */
    public NllLoss() {
        this(LossOptions.defaults());
    }

    public NllLoss(LossOptions options) {
        this.engine = new LossEngine(false, options, null);
    }

    /** Pinned to one kernel implementation, for tests that cover every backend. */
    NllLoss(LossOptions options, Losses losses) {
        this.engine = new LossEngine(false, options, losses);
    }

    public LossOptions options() {
        return engine.options();
    }

    /** The loss of {@code logProbs} against {@code target}, in a new tensor allocated in {@code arena}. */
    public Tensor forward(Tensor logProbs, Tensor target, Arena arena) {
        return engine.forward(logProbs, target, arena);
    }

    /** The loss of {@code logProbs} against {@code target}, written to {@code out}; returns {@code out}. */
    public Tensor forward(Tensor logProbs, Tensor target, Tensor out) {
        return engine.forward(logProbs, target, out);
    }

    /**
     * The gradient with respect to the saved log-probabilities for the upstream gradient {@code gradLoss} of
     * a sum or mean (1 for the loss itself), in a new tensor allocated in {@code arena}.
     *
     * @throws IllegalArgumentException for {@link Reduction#NONE}, which needs a tensor
     */
    public Tensor backward(float gradLoss, Arena arena) {
        return engine.backward(gradLoss, arena);
    }

    /** As {@link #backward(float, Arena)}, written to {@code gradLogProbs}; returns it. */
    public Tensor backward(float gradLoss, Tensor gradLogProbs) {
        return engine.backward(gradLoss, gradLogProbs);
    }

    /**
     * The gradient with respect to the saved log-probabilities for the upstream gradient {@code gradLoss},
     * of the loss's shape ({@code [1]} for a sum or mean).
     */
    public Tensor backward(Tensor gradLoss, Arena arena) {
        return engine.backward(gradLoss, arena);
    }

    /** As {@link #backward(Tensor, Arena)}, written to {@code gradLogProbs}; returns it. */
    public Tensor backward(Tensor gradLoss, Tensor gradLogProbs) {
        return engine.backward(gradLoss, gradLogProbs);
    }

    @Override
    public String toString() {
        return "NllLoss" + engine.options();
    }
}
