package org.softmax4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;
import org.softmax4j.Tensor;

/** The pieces of the training step written for the demo: ReLU and the classifier loss. */
class TrainLayersTest {
    @Test
    void reluPassesTheGradientOnlyWhereTheInputWasPositive() {
        try (Arena arena = Arena.ofConfined()) {
            Relu relu = new Relu();
            Tensor x = Tensor.copyOf(arena, new float[] {-1f, 0f, 2f, -0.5f, 3f, 1e-30f}, 2, 3);
            assertArrayEquals(new float[] {0f, 0f, 2f, 0f, 3f, 1e-30f}, relu.forward(x, arena).toArray());
            Tensor gy = Tensor.copyOf(arena, new float[] {1f, 2f, 3f, 4f, 5f, 6f}, 2, 3);
            // Zero at x = 0, as PyTorch's subgradient.
            assertArrayEquals(new float[] {0f, 0f, 3f, 0f, 5f, 6f}, relu.backward(gy, arena).toArray());
        }
    }

    @Test
    void reluBackwardChecksItsState() {
        try (Arena arena = Arena.ofConfined()) {
            Relu relu = new Relu();
            Tensor gy = Tensor.allocate(arena, 2, 3);
            assertThrows(IllegalStateException.class, () -> relu.backward(gy, arena));
            relu.forward(Tensor.allocate(arena, 3, 2), arena);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> relu.backward(gy, arena));
            assertEquals("gradOutput must have shape [3, 2], was [2, 3]", e.getMessage());
        }
    }

    @Test
    void lossIsTheMeanNegativeLogLikelihoodAndItsGradientSoftmaxMinusOnehotOverN() {
        float[] z = {1f, 2f, 3f, 0.5f, -1f, 4f, 10f, 10f, 10f};
        int[] labels = {2, 0, 1};
        try (Arena arena = Arena.ofConfined()) {
            ClassifierLoss.Result result = ClassifierLoss.compute(Tensor.copyOf(arena, z, 3, 3), labels, arena);
            double expectedLoss = 0;
            double[] expectedGrad = new double[z.length];
            for (int r = 0; r < 3; r++) {
                double sum = 0;
                for (int c = 0; c < 3; c++) {
                    sum += Math.exp(z[r * 3 + c]);
                }
                expectedLoss -= Math.log(Math.exp(z[r * 3 + labels[r]]) / sum) / 3;
                for (int c = 0; c < 3; c++) {
                    expectedGrad[r * 3 + c] = (Math.exp(z[r * 3 + c]) / sum - (c == labels[r] ? 1 : 0)) / 3;
                }
            }
            assertEquals(expectedLoss, result.loss(), 1e-6);
            float[] grad = result.gradLogits().toArray();
            for (int i = 0; i < grad.length; i++) {
                assertEquals(expectedGrad[i], grad[i], 1e-6, "gradient element " + i);
            }
        }
    }

    @Test
    void lossRejectsALabelOutOfRange() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor z = Tensor.allocate(arena, 2, 3);
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class,
                    () -> ClassifierLoss.compute(z, new int[] {0, 3}, arena));
            assertTrue(e.getMessage().startsWith("target[1] = 3 "), e.getMessage());
        }
    }
}
