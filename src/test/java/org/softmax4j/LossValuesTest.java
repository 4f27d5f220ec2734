package org.softmax4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.softmax4j.internal.Losses;
import org.softmax4j.internal.TestBackends;

/**
 * Values derived by hand, and the special values, on every backend. Each expected value is
 * computed here from its closed form in double.
 */
class LossValuesTest {
    static final float INF = Float.POSITIVE_INFINITY;

    static java.util.stream.Stream<String> backends() {
        return TestBackends.names();
    }

    private static CrossEntropy ce(String backend, LossOptions options) {
        return new CrossEntropy(options, TestBackends.get(backend).losses());
    }

    @ParameterizedTest
    @MethodSource("backends")
    void uniformLogitsGiveLogC(String backend) {
        try (Arena arena = Arena.ofConfined()) {
            for (int classes : new int[] {1, 2, 10, 1000}) {
                float[] logits = new float[3 * classes];
                java.util.Arrays.fill(logits, 4.25f);
                CrossEntropy op = ce(backend, LossOptions.defaults());
                Tensor loss = op.forward(Tensor.copyOf(arena, logits, 3, classes), Tensor.wrap(new int[] {0, classes - 1, 0}, 3), arena);
                assertEquals(Math.log(classes), loss.get(0), 1e-6, "C=" + classes);
                // softmax - onehot, divided by the 3 positions of the mean
                float[] grad = op.backward(1f, arena).toArray();
                assertEquals((1.0 / classes - 1) / 3, grad[0], 1e-7);
                if (classes > 1) {
                    assertEquals(1.0 / classes / 3, grad[1], 1e-7);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void twoClassesSolvedByHand(String backend) {
        // logits (0, a), target 1: p1 = sigmoid(a), loss = log(1 + exp(-a)), grad = (p0, p1 - 1)
        try (Arena arena = Arena.ofConfined()) {
            float a = 1.5f;
            CrossEntropy op = ce(backend, LossOptions.defaults().withReduction(Reduction.SUM));
            Tensor loss = op.forward(Tensor.copyOf(arena, new float[] {0, a}, 1, 2), Tensor.wrap(new long[] {1}, 1), arena);
            double p1 = 1 / (1 + Math.exp(-a));
            assertEquals(Math.log1p(Math.exp(-a)), loss.get(0), 1e-7);
            assertArrayEquals(new float[] {(float) (1 - p1), (float) (p1 - 1)}, op.backward(1f, arena).toArray(), 1e-7f);

            // smoothing eps over 2 classes: q = (eps/2, 1 - eps/2); loss = -q . logp
            float eps = 0.4f;
            CrossEntropy smooth = ce(backend, LossOptions.defaults().withLabelSmoothing(eps));
            Tensor l2 = smooth.forward(Tensor.copyOf(arena, new float[] {0, a}, 1, 2), Tensor.wrap(new int[] {1}, 1), arena);
            double lp0 = -Math.log1p(Math.exp(a));
            double lp1 = -Math.log1p(Math.exp(-a));
            assertEquals(-(eps / 2 * lp0 + (1 - eps / 2) * lp1), l2.get(0), 1e-6);
            float[] g2 = smooth.backward(1f, arena).toArray();
            assertEquals((1 - p1) - eps / 2, g2[0], 1e-6);
            assertEquals(p1 - (1 - eps / 2), g2[1], 1e-6);
        }
    }

    /** PyTorch issue 73205: with ignore_index, the smoothing part of a mean divides by the counted positions too. */
    @ParameterizedTest
    @MethodSource("backends")
    void smoothingMeanDividesByTheCountedPositions(String backend) {
        try (Arena arena = Arena.ofConfined()) {
            float eps = 0.2f;
            CrossEntropy op = ce(backend, LossOptions.defaults().withLabelSmoothing(eps));
            Tensor loss = op.forward(Tensor.copyOf(arena, new float[] {1, 2, 3, 4}, 2, 2), Tensor.wrap(new int[] {0, -100}, 2), arena);
            double lse = Math.log(Math.exp(1) + Math.exp(2));
            double lp0 = 1 - lse;
            double lp1 = 2 - lse;
            double want = -(1 - eps) * lp0 - eps / 2 * (lp0 + lp1); // one counted position: divide by 1
            assertEquals(want, loss.get(0), 1e-6);
            double buggy = -(1 - eps) * lp0 - eps / 2 * (lp0 + lp1) / 2; // the smoothing divided by both positions
            assertTrue(Math.abs(loss.get(0) - buggy) > 1e-2);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void allIgnoredMeanIsNaNWithZeroGradients(String backend) {
        try (Arena arena = Arena.ofConfined()) {
            for (Reduction reduction : Reduction.values()) {
                CrossEntropy op = ce(backend, LossOptions.defaults().withReduction(reduction).withLabelSmoothing(0.1f));
                Tensor loss = op.forward(Tensor.copyOf(arena, new float[] {1, 2, 3, 4, 5, 6}, 2, 3),
                        Tensor.wrap(new int[] {-100, -100}, 2), arena);
                Tensor grad = reduction == Reduction.NONE
                        ? op.backward(Tensor.copyOf(arena, new float[] {1, 1}, 2), arena)
                        : op.backward(1f, arena);
                float[] l = loss.toArray();
                if (reduction == Reduction.MEAN) {
                    assertTrue(Float.isNaN(l[0]), "mean of nothing is 0/0");
                } else {
                    for (float v : l) {
                        assertEquals(0f, v);
                    }
                }
                assertArrayEquals(new float[6], grad.toArray());
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void specialValues(String backend) {
        try (Arena arena = Arena.ofConfined()) {
            float[] logits = {
                0, -INF, 1, //           -inf elsewhere: drops out
                -INF, 2, 3, //           -inf at the target: +inf loss
                -INF, -INF, -INF, //     all -inf: NaN
                0, INF, 1, //            +inf: NaN
                0, Float.NaN, 1, //      NaN: NaN
                1e30f, -1e30f, 0, //     huge: exact after the max shift
                95, 99.5f, 90.25f}; //   exp would overflow without the shift
            int[] target = {0, 0, 1, 0, 2, 0, 1};
            CrossEntropy op = ce(backend, LossOptions.defaults().withReduction(Reduction.NONE));
            float[] loss = op.forward(Tensor.copyOf(arena, logits, 7, 3), Tensor.wrap(target, 7), arena).toArray();
            float[] grad = op.backward(Tensor.copyOf(arena, new float[] {1, 1, 1, 1, 1, 1, 1}, 7), arena).toArray();
            double lse0 = Math.log(1 + Math.E);
            assertEquals(lse0, loss[0], 1e-6);
            assertEquals(0f, grad[1]);
            assertEquals(1 / (1 + Math.E) - 1, grad[0], 1e-6);
            assertEquals(INF, loss[1]);
            assertEquals(-1f, grad[3], 1e-6f);
            for (int row = 2; row <= 4; row++) {
                assertTrue(Float.isNaN(loss[row]), "row " + row);
                assertTrue(Float.isNaN(grad[3 * row]), "row " + row);
            }
            assertEquals(0f, loss[5], 1e-6f);
            assertEquals(0f, grad[15], 1e-6f);
            assertEquals(0f, grad[16]);
            double lse6 = 99.5 + Math.log(Math.exp(95 - 99.5) + 1 + Math.exp(90.25 - 99.5));
            assertEquals(lse6 - 99.5, loss[6], 1e-6);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void emptyBatches(String backend) {
        Losses losses = TestBackends.get(backend).losses();
        try (Arena arena = Arena.ofConfined()) {
            Tensor logits = Tensor.allocate(arena, 0, 4);
            Tensor target = Tensor.wrap(new int[0], 0);
            CrossEntropy mean = new CrossEntropy(LossOptions.defaults(), losses);
            assertTrue(Float.isNaN(mean.forward(logits, target, arena).get(0)), "mean of no positions");
            assertEquals(0, mean.backward(1f, arena).numel());
            CrossEntropy sum = new CrossEntropy(LossOptions.defaults().withReduction(Reduction.SUM), losses);
            assertEquals(0f, sum.forward(logits, target, arena).get(0));
            CrossEntropy none = new CrossEntropy(LossOptions.defaults().withReduction(Reduction.NONE), losses);
            assertArrayEquals(new long[] {0}, none.forward(logits, target, arena).shape().dims());
            NllLoss nll = new NllLoss(LossOptions.defaults().withReduction(Reduction.SUM), losses);
            assertEquals(0f, nll.forward(Tensor.allocate(arena, 0, 3, 2), Tensor.wrap(new long[0], 0, 2), arena).get(0));
        }
    }
}
