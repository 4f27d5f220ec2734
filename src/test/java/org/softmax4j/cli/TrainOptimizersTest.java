package org.softmax4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.softmax4j.Tensor;

/** Adam and SGD against updates worked out by hand on one or two parameters. */
class TrainOptimizersTest {
    private static final double TOLERANCE = 1e-6;

    @Test
    void adamTwoStepsOnOneScalar() {
        float[] p = {1f};
        float[] g = {0.5f};
        Adam adam = new Adam(List.of(parameter(p, g)), 0.1);

        // t = 1: m = 0.1·0.5 = 0.05, v = 0.001·0.25 = 0.00025; m̂ = 0.05/0.1 = 0.5, v̂ = 0.00025/0.001 = 0.25;
        // p = 1 − 0.1·0.5/(0.5 + 1e-8) = 0.9 (+2e-9).
        adam.step();
        assertEquals(0.9, p[0], TOLERANCE);

        // t = 2, g = −1: m = 0.9·0.05 − 0.1 = −0.055, v = 0.999·0.00025 + 0.001 = 0.00124975;
        // m̂ = −0.055/0.19 = −0.2894737, v̂ = 0.00124975/0.001999 = 0.6251876, sqrt = 0.7906881;
        // p = 0.9 + 0.1·0.2894737/0.7906881 = 0.9366104.
        g[0] = -1f;
        adam.step();
        assertEquals(0.9366104, p[0], TOLERANCE);
    }

    @Test
    void adamFirstStepMovesEveryElementByTheLearningRateAgainstItsGradient() {
        // At t = 1, m̂ = g and v̂ = g², so the step is lr·g/|g| whatever the size of g.
        float[] w = {1f, 2f, 3f, 4f};
        float[] gw = {0.001f, -20f, 3f, -0.5f};
        float[] b = {0f};
        float[] gb = {-7f};
        Adam adam = new Adam(List.of(parameter2x2(w, gw), parameter(b, gb)), 0.01);
        adam.step();
        assertEquals(0.99, w[0], TOLERANCE);
        assertEquals(2.01, w[1], TOLERANCE);
        assertEquals(2.99, w[2], TOLERANCE);
        assertEquals(4.01, w[3], TOLERANCE);
        assertEquals(0.01, b[0], TOLERANCE);
        assertEquals(-7f, gb[0], "the gradient is left as it is");
    }

    @Test
    void sgdWithMomentumAccumulatesTheVelocity() {
        float[] p = {1f, -1f};
        float[] g = {0.5f, 2f};
        Sgd sgd = new Sgd(List.of(parameter(p, g)), 0.1, 0.9);
        // v = g = (0.5, 2); p = (1 − 0.05, −1 − 0.2)
        sgd.step();
        assertEquals(0.95, p[0], TOLERANCE);
        assertEquals(-1.2, p[1], TOLERANCE);
        // v = 0.9·(0.5, 2) + (0.5, 2) = (0.95, 3.8); p = (0.95 − 0.095, −1.2 − 0.38)
        sgd.step();
        assertEquals(0.855, p[0], TOLERANCE);
        assertEquals(-1.58, p[1], TOLERANCE);
    }

    @Test
    void sgdWithoutMomentumIsPlainGradientDescent() {
        float[] p = {1f};
        float[] g = {0.5f};
        Sgd sgd = new Sgd(List.of(parameter(p, g)), 0.1, 0);
        sgd.step();
        sgd.step();
        assertEquals(0.9, p[0], TOLERANCE);
    }

    private static Parameter parameter(float[] value, float[] grad) {
        return new Parameter("p", Tensor.wrap(value, value.length), Tensor.wrap(grad, grad.length));
    }

    private static Parameter parameter2x2(float[] value, float[] grad) {
        return new Parameter("w", Tensor.wrap(value, 2, 2), Tensor.wrap(grad, 2, 2));
    }
}
