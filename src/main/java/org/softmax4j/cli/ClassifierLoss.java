package org.softmax4j.cli;

import java.lang.foreign.Arena;
import org.softmax4j.CrossEntropy;
import org.softmax4j.Tensor;

/**
 * Cross-entropy of logits against class labels, averaged over the batch, and its gradient with
 * respect to the logits, {@code (softmax − onehot)/N}: the one place the demo computes its loss,
 * with the library's fused {@link CrossEntropy} (mean reduction).
 */
final class ClassifierLoss {
    /** The mean loss of a batch, and the gradient of that mean with respect to the logits. */
    record Result(double loss, Tensor gradLogits) {}

    private ClassifierLoss() {}

    /**
     * @throws IndexOutOfBoundsException if a label is not a class of the logits
     * @throws IllegalArgumentException if there is not one label per row
     */
    static Result compute(Tensor logits, int[] labels, Arena arena) {
        CrossEntropy loss = new CrossEntropy();
        Tensor value = loss.forward(logits, Tensor.wrap(labels, labels.length), arena);
        return new Result(value.get(0), loss.backward(1f, arena));
    }
}
