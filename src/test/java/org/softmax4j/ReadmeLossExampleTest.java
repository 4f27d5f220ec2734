package org.softmax4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;

/** The loss example of README.md ("Losses"), statement for statement, so that the README stays true. */
class ReadmeLossExampleTest {
    @Test
    void readmeLossExampleGivesTheSmoothedMean() {
        float value0;
        float[] grad;
        try (Arena arena = Arena.ofConfined()) {
            Tensor logits = Tensor.copyOf(arena, new float[] {2, 0, 0, 0, 0, 0}, 2, 3); // [N = 2, C = 3]
            Tensor labels = Tensor.wrap(new long[] {0, 2}, 2);                          // int64 class indices
            CrossEntropy loss = new CrossEntropy(LossOptions.defaults().withLabelSmoothing(0.1f));
            Tensor value = loss.forward(logits, labels, arena); // [1]: the mean over the two positions
            Tensor gradLogits = loss.backward(1f, arena);       // [2, 3]: d value / d logits
            System.out.println(value.get(0));
            value0 = value.get(0);
            grad = gradLogits.toArray();
        }
        // By hand: q = 0.9 at the label + 0.1/3 everywhere; row 1 is uniform, so its loss is log 3.
        double z = Math.exp(2) + 2;
        double[] logp0 = {2 - Math.log(z), -Math.log(z), -Math.log(z)};
        double loss0 = -(0.9 * logp0[0] + 0.1 / 3 * (logp0[0] + logp0[1] + logp0[2]));
        assertEquals((loss0 + Math.log(3)) / 2, value0, 1e-6);
        double[] q0 = {0.9 + 0.1 / 3, 0.1 / 3, 0.1 / 3};
        double[] q1 = {0.1 / 3, 0.1 / 3, 0.9 + 0.1 / 3};
        float[] want = new float[6];
        for (int c = 0; c < 3; c++) {
            want[c] = (float) ((Math.exp(logp0[c]) - q0[c]) / 2);
            want[3 + c] = (float) ((1.0 / 3 - q1[c]) / 2);
        }
        assertArrayEquals(want, grad, 1e-7f);
    }
}
