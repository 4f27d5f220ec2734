package org.softmax4j.internal;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every backend's LogSumExp, forward and backward, over rows and middle dimensions, against a
 * double reference written here, and torch.logsumexp's special values.
 */
class LogSumExpBackendTest {
    /** {outer, dim, inner}. */
    static final int[][] SHAPES = {
        {1, 1, 1}, {3, 2, 1}, {2, 17, 1}, {2, 1000, 1}, {1, 32000, 1}, {2, 5, 7}, {3, 9, 16}, {2, 81, 33},
        {1, 1000, 16},
    };

    static Stream<String> backends() {
        return TestBackends.names();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void matchesTheReference(String name) {
        Backend backend = TestBackends.get(name);
        for (int[] s : SHAPES) {
            for (boolean large : new boolean[] {false, true}) {
                check(backend, s[0], s[1], s[2], large);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void specialValuesFollowTorchLogsumexp(String name) {
        Backend backend = TestBackends.get(name);
        float inf = Float.POSITIVE_INFINITY;
        float[] x = {
            -inf, 0, -inf,           // masks: log(exp(0)) = 0
            -inf, -inf, -inf,        // all -inf
            1, inf, 2,               // +inf
            1, Float.NaN, 2,         // NaN
            inf, Float.NaN, -inf,    // +inf and NaN
            1e30f, -1e30f, 1e30f,    // huge
        };
        float[] out = new float[6];
        backend.logSumExpForward(MemorySegment.ofArray(x), MemorySegment.ofArray(out), 6, 3, 1);
        assertEquals(0f, out[0]);
        assertEquals(-inf, out[1]);
        assertEquals(inf, out[2]);
        assertTrue(Float.isNaN(out[3]) && Float.isNaN(out[4]), out[3] + " " + out[4]);
        assertEquals(1e30f, out[5]);
        // The same slices as the columns of a [1, 3, 6] tensor.
        float[] xt = new float[18];
        for (int r = 0; r < 6; r++) {
            for (int c = 0; c < 3; c++) {
                xt[c * 6 + r] = x[r * 3 + c];
            }
        }
        float[] outt = new float[6];
        backend.logSumExpForward(MemorySegment.ofArray(xt), MemorySegment.ofArray(outt), 1, 3, 6);
        for (int r = 0; r < 6; r++) {
            assertTrue(Float.compare(out[r], outt[r]) == 0, "slice " + r + ": " + outt[r] + " vs " + out[r]);
        }
    }

    /** Inputs in [-10, 10], or [90, 100] where exp without the max shift overflows. */
    private static void check(Backend backend, int outer, int dim, int inner, boolean large) {
        int n = outer * dim * inner;
        int positions = outer * inner;
        Random random = new Random(n * 7L + dim + (large ? 1 : 0));
        float[] x = new float[n];
        float[] gy = new float[positions];
        for (int i = 0; i < n; i++) {
            x[i] = large ? random.nextFloat(90, 100) : random.nextFloat(-10, 10);
        }
        for (int i = 0; i < positions; i++) {
            gy[i] = random.nextFloat(-1, 1);
        }
        double[] lse = new double[positions];
        double[] gx = new double[n];
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < inner; j++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int c = 0; c < dim; c++) {
                    max = Math.max(max, x[(o * dim + c) * inner + j]);
                }
                double sum = 0;
                for (int c = 0; c < dim; c++) {
                    sum += Math.exp(x[(o * dim + c) * inner + j] - max);
                }
                lse[o * inner + j] = max + Math.log(sum);
                for (int c = 0; c < dim; c++) {
                    int i = (o * dim + c) * inner + j;
                    gx[i] = gy[o * inner + j] * Math.exp(x[i] - max) / sum;
                }
            }
        }
        String where = backend + " [" + outer + ", " + dim + ", " + inner + "]" + (large ? " large" : "") + ": ";
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment xs = arena.allocateFrom(JAVA_FLOAT, x);
            MemorySegment out = arena.allocate(JAVA_FLOAT, positions);
            backend.logSumExpForward(xs, out, outer, dim, inner);
            String forward = Reference.mismatch(out.toArray(JAVA_FLOAT), lse, positions);
            assertNull(forward, () -> where + "forward " + forward);
            MemorySegment grad = arena.allocate(JAVA_FLOAT, n);
            backend.logSumExpBackward(arena.allocateFrom(JAVA_FLOAT, gy), xs, grad, outer, dim, inner);
            String backward = Reference.mismatch(grad.toArray(JAVA_FLOAT), gx, n);
            assertNull(backward, () -> where + "backward " + backward);
        }
    }
}
