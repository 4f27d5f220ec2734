package org.softmax4j;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Backward checked against central differences of forward, for Linear alone and for the whole
 * classification head: Linear, then the fused {@link CrossEntropy} (class weights, label
 * smoothing, mean over the batch), whose backward gives the logits' gradient directly.
 *
 * <p>The differences are taken on the float32 forward with a step of 1e-2: the rounding noise of a
 * loss near 1 is then near 1e-5, and the truncation error of the (smooth) head below 1e-4, so a
 * tolerance of 1e-3 (plus 1e-2 relative) catches a wrong transpose, sign or missing term, each off
 * by far more.
 */
class LinearGradientCheckTest {
    static final double STEP = 1e-2;
    static final double TOLERANCE = 1e-3;

    @ParameterizedTest(name = "rows={0} in={1} out={2}")
    @CsvSource({"1, 1, 1", "1, 5, 3", "4, 7, 5", "6, 3, 10"})
    void linearBackwardIsTheDerivativeOfForward(int rows, int in, int out) {
        SplittableRandom random = new SplittableRandom(rows * 31L + in * 7L + out);
        try (Arena arena = Arena.ofConfined()) {
            Linear layer = new Linear(arena, in, out, random);
            Tensor x = Tensor.copyOf(arena, LinearTest.random(random, rows * in), rows, in);
            float[] g = LinearTest.random(random, rows * out);
            // L = sum(g * y): its gradient with respect to y is g.
            DoubleSupplier loss = () -> {
                float[] y = layer.forward(x, arena).toArray();
                double sum = 0;
                for (int i = 0; i < y.length; i++) {
                    sum += (double) g[i] * y[i];
                }
                return sum;
            };
            layer.forward(x, arena);
            layer.zeroGrad();
            Tensor gx = layer.backward(Tensor.copyOf(arena, g, rows, out), arena);
            check("dx", x, gx, loss);
            check("dW", layer.weight(), layer.gradWeight(), loss);
            check("db", layer.bias(), layer.gradBias(), loss);
        }
    }

    @ParameterizedTest(name = "rows={0} in={1} classes={2}")
    @CsvSource({"1, 4, 3", "5, 8, 10", "7, 13, 2", "3, 1, 5"})
    void wholeHeadBackwardIsTheDerivativeOfCrossEntropy(int rows, int in, int classes) {
        SplittableRandom random = new SplittableRandom(rows * 131L + in * 17L + classes);
        try (Arena arena = Arena.ofConfined()) {
            Linear layer = new Linear(arena, in, classes, random);
            float[] weights = new float[classes];
            for (int c = 0; c < classes; c++) {
                weights[c] = 0.5f + c % 3; // uneven class weights, to check the weighted mean
            }
            CrossEntropy crossEntropy = new CrossEntropy(LossOptions.defaults()
                    .withWeight(Tensor.copyOf(arena, weights, classes))
                    .withLabelSmoothing(0.1f));
            float[] xs = LinearTest.random(random, rows * in);
            for (int i = 0; i < xs.length; i++) {
                xs[i] *= 3; // logits of a few units, so that the softmax is not flat
            }
            Tensor x = Tensor.copyOf(arena, xs, rows, in);
            int[] target = new int[rows];
            for (int r = 0; r < rows; r++) {
                target[r] = random.nextInt(classes);
            }
            Tensor targets = Tensor.copyOf(arena, target, rows);
            DoubleSupplier loss = () -> crossEntropy.forward(layer.forward(x, arena), targets, arena).get(0);
            loss.getAsDouble();
            Tensor gradLogits = crossEntropy.backward(1f, arena);
            layer.zeroGrad();
            Tensor gx = layer.backward(gradLogits, arena);
            check("dx", x, gx, loss);
            check("dW", layer.weight(), layer.gradWeight(), loss);
            check("db", layer.bias(), layer.gradBias(), loss);
        }
    }

    /** Compares each element of {@code gradient} with the central difference of {@code loss} in {@code param}. */
    private static void check(String name, Tensor param, Tensor gradient, DoubleSupplier loss) {
        float[] analytic = gradient.toArray();
        for (int i = 0; i < analytic.length; i++) {
            long offset = (long) i * Float.BYTES;
            float saved = param.segment().get(JAVA_FLOAT, offset);
            float up = (float) (saved + STEP);
            float down = (float) (saved - STEP);
            param.segment().set(JAVA_FLOAT, offset, up);
            double plus = loss.getAsDouble();
            param.segment().set(JAVA_FLOAT, offset, down);
            double minus = loss.getAsDouble();
            param.segment().set(JAVA_FLOAT, offset, saved);
            double numeric = (plus - minus) / ((double) up - down); // the step float could represent
            double error = Math.abs(numeric - analytic[i]);
            assertTrue(error <= TOLERANCE + 1e-2 * Math.abs(numeric),
                    name + "[" + i + "] = " + analytic[i] + ", central difference " + numeric);
        }
    }
}
