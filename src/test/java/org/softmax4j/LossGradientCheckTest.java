package org.softmax4j;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.softmax4j.internal.Losses;
import org.softmax4j.internal.TestBackends;

/**
 * Finite-difference checks of every loss backward: each input element is moved by {@code ±h} and
 * the change of the forward's objective ({@code sum_p gradLoss_p * loss_p} for NONE, the loss
 * times the upstream gradient otherwise) must match the backward's gradient.
 *
 * <p>Bound: {@code 2e-3 + 1e-2 * |grad|}. With {@code h = 1e-2} the central difference's
 * truncation error is {@code h^2 / 6 * |f'''|}, about 1e-5 here, and the float32 forward's rounding
 * (about 1e-6 of losses of a few units) divided by {@code 2h} adds up to 5e-4.
 */
class LossGradientCheckTest {
    static final float H = 1e-2f;

    record Setup(String name, String op, long[] shape, boolean probs, boolean weighted, long ignoreIndex,
            float smoothing, Reduction reduction) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Arguments> cases() {
        List<Setup> setups = List.of(
                new Setup("ce index [3,5] weight smoothing ignore mean", "ce", new long[] {3, 5}, false, true, 2, 0.2f, Reduction.MEAN),
                new Setup("ce index [2,4,3] none", "ce", new long[] {2, 4, 3}, false, false, -100, 0f, Reduction.NONE),
                new Setup("ce index [2,17] smoothing sum", "ce", new long[] {2, 17}, false, false, -100, 0.1f, Reduction.SUM),
                new Setup("ce probs [3,6] weight smoothing mean", "ce", new long[] {3, 6}, true, true, -100, 0.3f, Reduction.MEAN),
                new Setup("ce probs [2,3,2,2] none", "ce", new long[] {2, 3, 2, 2}, true, false, -100, 0f, Reduction.NONE),
                new Setup("nll [3,5,2] weight ignore mean", "nll", new long[] {3, 5, 2}, false, true, 1, 0f, Reduction.MEAN),
                new Setup("nll [4,3] none", "nll", new long[] {4, 3}, false, false, -100, 0f, Reduction.NONE));
        List<Arguments> arguments = new ArrayList<>();
        for (String backend : List.of("dispatched", "java")) {
            for (Setup s : setups) {
                arguments.add(Arguments.of(backend, s));
            }
        }
        return arguments.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void backwardMatchesFiniteDifferences(String backend, Setup s) {
        Losses losses = TestBackends.get(backend).losses();
        Random random = new Random(s.name.hashCode());
        int n = (int) s.shape[0];
        int classes = (int) s.shape[1];
        int inner = 1;
        long[] positions = new long[s.shape.length - 1];
        positions[0] = n;
        for (int d = 2; d < s.shape.length; d++) {
            inner *= (int) s.shape[d];
            positions[d - 1] = s.shape[d];
        }
        float[] x = new float[n * classes * inner];
        for (int e = 0; e < x.length; e++) {
            x[e] = (float) (random.nextGaussian() * 1.5);
        }
        if (s.op.equals("nll")) {
            double[] logp = LossReference.logSoftmax(x, n, classes, inner);
            for (int e = 0; e < x.length; e++) {
                x[e] = (float) logp[e];
            }
        }
        float[] gradLoss = new float[n * inner];
        long[] indices = new long[n * inner];
        for (int p = 0; p < gradLoss.length; p++) {
            gradLoss[p] = (float) (random.nextDouble() * 2 - 1);
            indices[p] = random.nextInt(classes);
        }
        float[] probs = new float[x.length];
        for (int e = 0; e < probs.length; e++) {
            probs[e] = random.nextFloat(); // unnormalised on purpose: the loss is linear in them
        }
        float upstream = 0.8f;

        try (Arena arena = Arena.ofConfined()) {
            Tensor weight = null;
            if (s.weighted) {
                float[] w = new float[classes];
                for (int c = 0; c < classes; c++) {
                    w[c] = 0.3f + random.nextFloat();
                }
                weight = Tensor.copyOf(arena, w, classes);
            }
            LossOptions options = new LossOptions(s.reduction, weight, s.ignoreIndex, s.smoothing);
            Tensor target = s.probs ? Tensor.copyOf(arena, probs, s.shape) : Tensor.copyOf(arena, indices, positions);
            Tensor gradLossTensor = Tensor.copyOf(arena, gradLoss, positions);
            Tensor input = Tensor.copyOf(arena, x, s.shape);

            Tensor grad;
            if (s.op.equals("ce")) {
                CrossEntropy op = new CrossEntropy(options, losses);
                op.forward(input, target, arena);
                grad = s.reduction == Reduction.NONE ? op.backward(gradLossTensor, arena) : op.backward(upstream, arena);
            } else {
                NllLoss op = new NllLoss(options, losses);
                op.forward(input, target, arena);
                grad = s.reduction == Reduction.NONE ? op.backward(gradLossTensor, arena) : op.backward(upstream, arena);
            }
            float[] g = grad.toArray();
            for (int e = 0; e < x.length; e++) {
                float saved = x[e];
                input.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, e, saved + H);
                double plus = objective(s, options, losses, input, target, gradLoss, upstream, arena);
                input.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, e, saved - H);
                double minus = objective(s, options, losses, input, target, gradLoss, upstream, arena);
                input.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, e, saved);
                double numeric = (plus - minus) / (((double) saved + H) - ((double) saved - H));
                assertTrue(Math.abs(numeric - g[e]) <= 2e-3 + 1e-2 * Math.abs(g[e]),
                        "d loss / d input[" + e + "]: backward " + g[e] + ", finite difference " + numeric);
            }
        }
    }

    private static double objective(Setup s, LossOptions options, Losses losses, Tensor input, Tensor target,
            float[] gradLoss, float upstream, Arena arena) {
        Tensor loss = s.op.equals("ce")
                ? new CrossEntropy(options, losses).forward(input, target, arena)
                : new NllLoss(options, losses).forward(input, target, arena);
        float[] values = loss.toArray();
        if (s.reduction != Reduction.NONE) {
            return (double) upstream * values[0];
        }
        double total = 0;
        for (int p = 0; p < values.length; p++) {
            total += (double) gradLoss[p] * values[p];
        }
        return total;
    }
}
