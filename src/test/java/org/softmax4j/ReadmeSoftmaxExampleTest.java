package org.softmax4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;

/** The softmax example of README.md ("Softmax, and any dimension"), statement for statement. */
class ReadmeSoftmaxExampleTest {
    @Test
    void readmeSoftmaxExampleNormalisesEachColumn() {
        float[] p;
        float[] g;
        try (Arena arena = Arena.ofConfined()) {
            // [N = 1, C = 3, H*W = 2]: a probability over the 3 classes at each of the 2 positions.
            Tensor scores = Tensor.copyOf(arena, new float[] {0, 1, 1, 0, 0, 1}, 1, 3, 2);
            Softmax softmax = new Softmax(1);
            Tensor probs = softmax.forward(scores, arena); // each column sums to 1
            Tensor grad = softmax.backward(Tensor.copyOf(arena, new float[] {1, 0, 0, 0, 0, 0}, 1, 3, 2), arena);
            p = probs.toArray();
            g = grad.toArray();
        }
        // By hand: element [0, c, j] is at 2c + j, so column 0 holds (0, 1, 0), column 1 (1, 0, 1).
        double a = 1 / (2 + Math.E);
        double b = Math.E / (2 + Math.E);
        double c = 1 / (1 + 2 * Math.E);
        double d = Math.E / (1 + 2 * Math.E);
        assertArrayEquals(new float[] {(float) a, (float) d, (float) b, (float) c, (float) a, (float) d}, p, 1e-7f);
        // gx = s * (gy - sum(gy * s)); gy is 1 at [0, 0, 0] only, so column 1 gets 0.
        float[] want = {(float) (a * (1 - a)), 0, (float) (b * -a), 0, (float) (a * -a), 0};
        assertArrayEquals(want, g, 1e-7f);
    }

    @Test
    void readmeViewExampleReadsOnlyTheView() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor padded = Tensor.allocate(arena, 8, 32000);         // rows padded to 32000
            Tensor logits = padded.narrow(-1, 0, 31999);              // the real vocabulary, rows 32000 apart
            Tensor logProbs = new LogSoftmax().forward(logits, arena); // [8, 31999], contiguous
            assertEquals(Shape.of(8, 31999), logProbs.shape());
            // Zero logits: log(1 / 31999) everywhere, whatever the padding holds.
            padded.set(Float.NaN, 3, 31999);
            float[] again = new LogSoftmax().forward(logits, arena).toArray();
            for (float v : again) {
                assertEquals(-Math.log(31999), v, 1e-5);
            }
        }
    }
}
