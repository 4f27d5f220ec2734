package org.softmax4j.cli;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.softmax4j.Tensor;

/**
 * The training loop: mini-batches in a fresh seeded order each epoch, forward, loss, backward,
 * optimizer step; after each epoch the model is scored on the test set.
 */
final class Trainer {
    /** What one epoch produced: the mean training loss over its batches, the test accuracy after it. */
    interface Listener {
        void batchDone(int epoch, int batch, int batches);

        void epochDone(int epoch, double trainLoss, double testAccuracy);
    }

    /** Per epoch, the mean training loss and the test accuracy (a fraction); and the wall time. */
    record History(String model, double[] trainLoss, double[] testAccuracy, double seconds) {
        double finalAccuracy() {
            return testAccuracy[testAccuracy.length - 1];
        }
    }

    private Trainer() {}

    static History train(Classifier model, Optimizer optimizer, DigitsSplit split, int epochs, int batchSize,
            SplittableRandom shuffle, Listener listener) {
        long start = System.nanoTime();
        DigitsSplit.Dataset train = split.train();
        int rows = train.rows();
        int batches = (rows + batchSize - 1) / batchSize;
        double[] losses = new double[epochs];
        double[] accuracies = new double[epochs];
        for (int epoch = 0; epoch < epochs; epoch++) {
            int[] order = DigitsSplit.shuffled(rows, shuffle);
            double lossSum = 0;
            for (int b = 0; b < batches; b++) {
                int from = b * batchSize;
                int count = Math.min(batchSize, rows - from);
                // One arena per step: the activations Linear and Relu save live exactly until backward.
                try (Arena arena = Arena.ofConfined()) {
                    int[] labels = new int[count];
                    Tensor x = gather(train, order, from, count, labels, arena);
                    model.zeroGrad();
                    ClassifierLoss.Result loss = ClassifierLoss.compute(model.forward(x, arena), labels, arena);
                    model.backward(loss.gradLogits(), arena);
                    optimizer.step();
                    // Weighted by the batch size, so that a short last batch counts for what it holds.
                    lossSum += loss.loss() * count;
                }
                listener.batchDone(epoch, b + 1, batches);
            }
            losses[epoch] = lossSum / rows;
            accuracies[epoch] = accuracy(model, split.test());
            listener.epochDone(epoch, losses[epoch], accuracies[epoch]);
        }
        return new History(model.name(), losses, accuracies, (System.nanoTime() - start) / 1e9);
    }

    /** The fraction of rows whose largest logit is at their label. */
    static double accuracy(Classifier model, DigitsSplit.Dataset data) {
        try (Arena arena = Arena.ofConfined()) {
            int features = DigitsData.FEATURES;
            Tensor x = Tensor.copyOf(arena, data.features(), data.rows(), features);
            float[] logits = model.forward(x, arena).toArray();
            int classes = logits.length / data.rows();
            int correct = 0;
            for (int r = 0; r < data.rows(); r++) {
                int best = 0;
                for (int c = 1; c < classes; c++) {
                    if (logits[r * classes + c] > logits[r * classes + best]) {
                        best = c;
                    }
                }
                if (best == data.labels()[r]) {
                    correct++;
                }
            }
            return (double) correct / data.rows();
        }
    }

    private static Tensor gather(DigitsSplit.Dataset data, int[] order, int from, int count, int[] labels,
            Arena arena) {
        int features = DigitsData.FEATURES;
        float[] x = new float[count * features];
        for (int i = 0; i < count; i++) {
            int row = order[from + i];
            System.arraycopy(data.features(), row * features, x, i * features, features);
            labels[i] = data.labels()[row];
        }
        return Tensor.copyOf(arena, x, count, features);
    }
}
