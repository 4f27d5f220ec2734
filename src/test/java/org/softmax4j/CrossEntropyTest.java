package org.softmax4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

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
 * Cross-entropy and NLL on every backend, against {@link LossReference}: every target kind, two-
 * and four-dimensional logits, every reduction, with and without weights, an ignored class and
 * label smoothing.
 *
 * <p>Bounds: each loss and the reduced loss within {@code 1e-5 * max(1, |ref|)} (the kernels add
 * in double, then round once to float; the float logits' own rounding is exact in the reference);
 * each gradient within {@code 1e-5} absolute (the gradients are at most
 * {@code |scale| * sum(q) <= 4} here, formed by a few float operations, each 6e-8 relative).
 */
class CrossEntropyTest {
    enum Kind { INT32, INT64, PROBS }

    static final long[][] SHAPES = {{6, 7}, {2, 19, 2, 3}, {4, 133}};

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (String backend : TestBackends.names().toList()) {
            for (Kind kind : Kind.values()) {
                for (long[] shape : SHAPES) {
                    for (Reduction reduction : Reduction.values()) {
                        for (boolean weighted : new boolean[] {false, true}) {
                            for (boolean ignore : new boolean[] {false, true}) {
                                for (float eps : new float[] {0f, 0.15f}) {
                                    cases.add(Arguments.of(backend, kind, shape, reduction, weighted, ignore, eps));
                                }
                            }
                        }
                    }
                }
            }
        }
        return cases.stream();
    }

    /** The inputs of one case, seeded by its description so that a failure replays. */
    record Problem(int n, int classes, int inner, long[] positionsShape, float[] logits, long[] indices,
            float[] probs, float[] weight, float[] gradLoss) {
        static Problem random(long[] shape, boolean weighted, long seed) {
            Random random = new Random(seed);
            int n = (int) shape[0];
            int classes = (int) shape[1];
            int inner = 1;
            long[] positions = new long[shape.length - 1];
            positions[0] = n;
            for (int d = 2; d < shape.length; d++) {
                inner *= (int) shape[d];
                positions[d - 1] = shape[d];
            }
            float[] logits = new float[n * classes * inner];
            for (int e = 0; e < logits.length; e++) {
                logits[e] = (float) (random.nextDouble() * 12 - 6);
            }
            long[] indices = new long[n * inner];
            float[] gradLoss = new float[n * inner];
            for (int p = 0; p < indices.length; p++) {
                indices[p] = p % 3 == 0 ? 1 : random.nextInt(classes); // class 1 often: the ignored one
                gradLoss[p] = (float) (random.nextDouble() * 4 - 2);
            }
            float[] probs = new float[logits.length];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < inner; j++) {
                    double total = 0;
                    for (int c = 0; c < classes; c++) {
                        float v = random.nextFloat();
                        probs[(i * classes + c) * inner + j] = v;
                        total += v;
                    }
                    for (int c = 0; c < classes; c++) {
                        probs[(i * classes + c) * inner + j] /= (float) total;
                    }
                }
            }
            float[] weight = null;
            if (weighted) {
                weight = new float[classes];
                for (int c = 0; c < classes; c++) {
                    weight[c] = 0.2f + 1.8f * random.nextFloat();
                }
            }
            return new Problem(n, classes, inner, positions, logits, indices, probs, weight, gradLoss);
        }

        Tensor target(Kind kind, long[] shape, Arena arena) {
            return switch (kind) {
                case INT32 -> {
                    int[] ints = new int[indices.length];
                    for (int p = 0; p < ints.length; p++) {
                        ints[p] = (int) indices[p];
                    }
                    yield Tensor.wrap(ints, positionsShape);
                }
                case INT64 -> Tensor.copyOf(arena, indices, positionsShape);
                case PROBS -> Tensor.copyOf(arena, probs, shape);
            };
        }
    }

    @ParameterizedTest(name = "{0} {1} {2} {3} weighted={4} ignore={5} eps={6}")
    @MethodSource("cases")
    void crossEntropyMatchesTheReference(String backend, Kind kind, long[] shape, Reduction reduction,
            boolean weighted, boolean ignore, float eps) {
        Losses losses = TestBackends.get(backend).losses();
        Problem pb = Problem.random(shape, weighted, (kind.ordinal() * 31L + shape.length) * 131 + (weighted ? 7 : 0));
        long ignoreIndex = ignore ? 1 : LossOptions.DEFAULT_IGNORE_INDEX;
        try (Arena arena = Arena.ofConfined()) {
            LossOptions options = LossOptions.defaults().withReduction(reduction).withIgnoreIndex(ignoreIndex)
                    .withLabelSmoothing(eps).withWeight(pb.weight == null ? null : Tensor.copyOf(arena, pb.weight, pb.classes));
            CrossEntropy op = new CrossEntropy(options, losses);
            Tensor logits = Tensor.copyOf(arena, pb.logits, shape);
            Tensor target = pb.target(kind, shape, arena);
            Tensor loss = op.forward(logits, target, arena);
            Tensor grad = reduction == Reduction.NONE
                    ? op.backward(Tensor.copyOf(arena, pb.gradLoss, pb.positionsShape), arena)
                    : op.backward(0.7f, arena);

            double[] logp = LossReference.logSoftmax(pb.logits, pb.n, pb.classes, pb.inner);
            LossReference.Result ref = LossReference.compute(logp, pb.n, pb.classes, pb.inner,
                    kind == Kind.PROBS ? null : pb.indices, pb.probs, pb.weight, ignoreIndex, eps, reduction,
                    pb.gradLoss, 0.7, true);
            check(loss, grad, ref, reduction, pb);
        }
    }

    static Stream<Arguments> nllCases() {
        return cases().filter(a -> a.get()[1] != Kind.PROBS && (float) a.get()[6] == 0f);
    }

    @ParameterizedTest(name = "{0} {1} {2} {3} weighted={4} ignore={5}")
    @MethodSource("nllCases")
    void nllMatchesTheReference(String backend, Kind kind, long[] shape, Reduction reduction, boolean weighted,
            boolean ignore, float eps) {
        Losses losses = TestBackends.get(backend).losses();
        Problem pb = Problem.random(shape, weighted, 977 + kind.ordinal() + shape.length * 5L);
        long ignoreIndex = ignore ? 1 : LossOptions.DEFAULT_IGNORE_INDEX;
        double[] logp = LossReference.logSoftmax(pb.logits, pb.n, pb.classes, pb.inner);
        float[] logpFloat = new float[logp.length];
        for (int e = 0; e < logp.length; e++) {
            logpFloat[e] = (float) logp[e];
            logp[e] = logpFloat[e]; // the reference sees the very inputs the kernel sees
        }
        try (Arena arena = Arena.ofConfined()) {
            LossOptions options = LossOptions.defaults().withReduction(reduction).withIgnoreIndex(ignoreIndex)
                    .withWeight(pb.weight == null ? null : Tensor.copyOf(arena, pb.weight, pb.classes));
            NllLoss op = new NllLoss(options, losses);
            Tensor loss = op.forward(Tensor.copyOf(arena, logpFloat, shape), pb.target(kind, shape, arena), arena);
            Tensor grad = reduction == Reduction.NONE
                    ? op.backward(Tensor.copyOf(arena, pb.gradLoss, pb.positionsShape), arena)
                    : op.backward(0.7f, arena);
            LossReference.Result ref = LossReference.compute(logp, pb.n, pb.classes, pb.inner, pb.indices, null,
                    pb.weight, ignoreIndex, 0, reduction, pb.gradLoss, 0.7, false);
            check(loss, grad, ref, reduction, pb);
        }
    }

    private static void check(Tensor loss, Tensor grad, LossReference.Result ref, Reduction reduction, Problem pb) {
        if (reduction == Reduction.NONE) {
            assertArrayEquals(pb.positionsShape, loss.shape().dims());
            float[] got = loss.toArray();
            for (int p = 0; p < got.length; p++) {
                assertClose(ref.losses()[p], got[p], 1e-5 * Math.max(1, Math.abs(ref.losses()[p])), "loss[" + p + "]");
            }
        } else {
            assertArrayEquals(new long[] {1}, loss.shape().dims());
            double want = ref.reduced(reduction);
            assertClose(want, loss.get(0), 1e-5 * Math.max(1, Math.abs(want)), "reduced loss");
        }
        float[] g = grad.toArray();
        assertEquals(ref.grad().length, g.length);
        for (int e = 0; e < g.length; e++) {
            assertClose(ref.grad()[e], g[e], 1e-5, "grad[" + e + "]");
        }
    }

    static void assertClose(double want, float got, double bound, String what) {
        if (Double.isNaN(want) ? !Float.isNaN(got) : !(Math.abs(got - want) <= bound)) {
            fail(what + ": got " + got + ", want " + want + " (bound " + bound + ")");
        }
    }
}
