package org.softmax4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;

/** The Java example of README.md, statement for statement, so that the README stays true. */
class ReadmeExampleTest {
    @Test
    void readmeExampleGivesSoftmaxMinusOnehot() {
        float[] result;
        try (Arena arena = Arena.ofConfined()) {
            Tensor logits = Tensor.copyOf(arena, new float[] {1, 2, 3, 4, 1, 1, 1, 1}, 2, 4);
            LogSoftmax op = new LogSoftmax();             // over the last dimension
            Tensor logProbs = op.forward(logits, arena);  // saved for backward
            Tensor grad = Tensor.copyOf(arena, new float[] {0, 0, 0, -1, -1, 0, 0, 0}, 2, 4);
            Tensor gradLogits = op.backward(grad, arena); // softmax - onehot
            result = gradLogits.toArray();
            assertArrayEquals(new float[] {-3.4401897f, -2.4401897f, -1.4401897f, -0.4401897f,
                    -1.3862944f, -1.3862944f, -1.3862944f, -1.3862944f}, logProbs.toArray(), 1e-6f);
        }
        double e = Math.E;
        double z = 1 + e + e * e + e * e * e;
        float[] softmaxMinusOnehot = {
            (float) (1 / z), (float) (e / z), (float) (e * e / z), (float) (e * e * e / z - 1),
            0.25f - 1, 0.25f, 0.25f, 0.25f};
        assertArrayEquals(softmaxMinusOnehot, result, 1e-6f);
    }
}
