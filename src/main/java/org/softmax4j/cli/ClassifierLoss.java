package org.softmax4j.cli;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.softmax4j.LogSoftmax;
import org.softmax4j.Tensor;

/**
 * Cross-entropy of logits against class labels, averaged over the batch, and its gradient with
 * respect to the logits: the one place the demo computes its loss.
 *
 * <p>The loss is {@code −mean(log_softmax(z)[i, label_i])}. Its gradient with respect to the
 * log-probabilities is {@code −onehot/N}; log-softmax's backward,
 * {@code gx = gy − softmax · sum(gy)}, turns it into {@code (softmax − onehot)/N}, since each
 * row of {@code gy} sums to {@code −1/N}.
 */
final class ClassifierLoss {
    /** The mean loss of a batch, and the gradient of that mean with respect to the logits. */
    record Result(double loss, Tensor gradLogits) {}

    private ClassifierLoss() {}

    static Result compute(Tensor logits, int[] labels, Arena arena) {
        int rows = Math.toIntExact(logits.shape().rows());
        int classes = Math.toIntExact(logits.shape().cols());
        if (labels.length != rows) {
            throw new IllegalArgumentException("labels has " + labels.length + " entries, logits has " + rows + " rows");
        }
        LogSoftmax logSoftmax = new LogSoftmax();
        MemorySegment logProbs = logSoftmax.forward(logits, arena).segment();
        Tensor gradLogProbs = Tensor.allocate(arena, rows, classes);
        MemorySegment gy = gradLogProbs.segment();
        float minusOneOverN = -1f / rows;
        double sum = 0;
        for (int r = 0; r < rows; r++) {
            int label = labels[r];
            if (label < 0 || label >= classes) {
                throw new IllegalArgumentException("labels[" + r + "] must be in [0, " + classes + "), was " + label);
            }
            long at = (long) r * classes + label;
            sum -= logProbs.getAtIndex(JAVA_FLOAT, at);
            gy.setAtIndex(JAVA_FLOAT, at, minusOneOverN);
        }
        return new Result(sum / rows, logSoftmax.backward(gradLogProbs, arena));
    }
}
