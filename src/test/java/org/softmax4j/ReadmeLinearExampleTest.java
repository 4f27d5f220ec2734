package org.softmax4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The Linear example of README.md, statement for statement, so that the README stays true. */
class ReadmeLinearExampleTest {
    @Test
    void readmeExampleRunsTheHead() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.copyOf(arena, LinearTest.random(new SplittableRandom(9), 3 * 64), 3, 64);
            float[] oneHot = new float[30];
            oneHot[2] = oneHot[10 + 7] = oneHot[20 + 0] = -1f / 3;
            Tensor gradLogProbs = Tensor.copyOf(arena, oneHot, 3, 10);

            Linear layer = new Linear(arena, 64, 10, new SplittableRandom(42)); // W [10, 64], b [10]
            LogSoftmax logSoftmax = new LogSoftmax();
            Tensor logProbs = logSoftmax.forward(layer.forward(x, arena), arena); // x [batch, 64]
            Tensor gradLogits = logSoftmax.backward(gradLogProbs, arena); // -onehot(target)/batch: cross-entropy
            layer.zeroGrad();
            Tensor gradX = layer.backward(gradLogits, arena); // dx = dy · W; dW += dyᵀ · x; db += Σ dy

            assertEquals(Shape.of(3, 10), logProbs.shape());
            assertEquals(Shape.of(3, 64), gradX.shape());
            float dbSum = 0;
            for (float v : layer.gradBias().toArray()) {
                dbSum += v; // softmax - onehot sums to 0 in each row
            }
            assertEquals(0f, dbSum, 1e-6f);
            assertNotEquals(0f, layer.gradWeight().get(2, 0));
        }
    }
}
