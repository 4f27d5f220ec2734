package org.softmax4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.softmax4j.internal.DTypeSegments.allocate;
import static org.softmax4j.internal.DTypeSegments.load;
import static org.softmax4j.internal.DTypeSegments.roundTo;
import static org.softmax4j.internal.DTypeSegments.segment;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.softmax4j.DType;

/**
 * Every backend's LogSumExp in float64, bfloat16 and float16, over rows and middle dimensions, on
 * native and heap memory ({@code double[]}, {@code short[]}), against a double reference whose
 * sums are exact ({@link BigDecimal}):
 *
 * <ul>
 *   <li>float64: the forward within 8 ulp of {@code max(1, |lse|)}; the gradient within 8 ulp of
 *       {@code |gx| * (1 + |x - max|)} (the rounding of {@code x - max} moves {@code exp} by that
 *       much);
 *   <li>bfloat16 and float16: within one ulp of the format, plus the float computation's error
 *       (2e-6 of {@code max(1, |lse|)} forward, 4 float ulp of {@code |gx| * (1 + |x - max|)}
 *       backward).
 * </ul>
 *
 * Also the special values, dim of 1 and an empty dim, a row of 512 equal bfloat16 logits, and a
 * finite-difference gradient check in float64.
 */
class LogSumExpDTypeTest {
    /** {outer, dim, inner}. */
    static final int[][] SHAPES = {
        {1, 1, 1}, {3, 2, 1}, {2, 17, 1}, {2, 1000, 1}, {1, 4099, 1}, {4, 1, 5}, {2, 5, 7}, {3, 9, 16},
        {2, 9, 17}, {2, 81, 33}, {1, 300, 24},
    };
    static final DType[] DTYPES = {DType.FLOAT64, DType.BFLOAT16, DType.FLOAT16};

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        TestBackends.names().forEach(name -> {
            for (DType dtype : DTYPES) {
                cases.add(Arguments.of(name, dtype));
            }
        });
        return cases.stream();
    }

    static Stream<String> backendNames() {
        return TestBackends.names();
    }

    @ParameterizedTest
    @MethodSource("cases")
    void matchesTheReferenceOnNativeAndHeapMemory(String name, DType dtype) {
        Backend backend = TestBackends.get(name);
        for (int[] s : SHAPES) {
            for (boolean large : new boolean[] {false, true}) {
                check(backend, dtype, s[0], s[1], s[2], large, null);
                try (Arena arena = Arena.ofConfined()) {
                    check(backend, dtype, s[0], s[1], s[2], large, arena);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void specialValuesFollowTorchLogsumexp(String name, DType dtype) {
        Backend backend = TestBackends.get(name);
        double inf = Double.POSITIVE_INFINITY;
        double huge = dtype == DType.FLOAT64 ? 1e300 : dtype == DType.BFLOAT16 ? 1e30 : 60000;
        double[] x = {
            -inf, 0, -inf,           // masks: log(exp(0)) = 0
            -inf, -inf, -inf,        // all -inf
            1, inf, 2,               // +inf
            1, Double.NaN, 2,        // NaN
            inf, Double.NaN, -inf,   // +inf and NaN
            huge, -huge, huge,       // huge: huge + log 2, which rounds to huge
        };
        x = roundAll(dtype, x);
        double[] want = {0, -inf, inf, Double.NaN, Double.NaN, x[15]};
        double[] gy = roundAll(dtype, new double[] {0.75, 0.75, 0.75, 0.75, 0.75, 0.75});
        // As rows, then as the columns of a [1, 3, 6] tensor.
        double[] xt = new double[18];
        for (int r = 0; r < 6; r++) {
            for (int c = 0; c < 3; c++) {
                xt[c * 6 + r] = x[r * 3 + c];
            }
        }
        for (boolean columns : new boolean[] {false, true}) {
            int outer = columns ? 1 : 6, inner = columns ? 6 : 1;
            MemorySegment out = allocate(null, dtype, 6);
            MemorySegment input = segment(null, dtype, columns ? xt : x);
            backend.logSumExpForward(dtype, input, out, outer, 3, inner);
            double[] got = load(dtype, out);
            for (int r = 0; r < 6; r++) {
                assertEquals(want[r], got[r], backend + " " + dtype + (columns ? " columns" : " rows") + " slice " + r);
            }
            MemorySegment gx = allocate(null, dtype, 18);
            backend.logSumExpBackward(dtype, segment(null, dtype, gy), input, gx, outer, 3, inner);
            double[] g = load(dtype, gx);
            for (int r = 0; r < 6; r++) {
                for (int c = 0; c < 3; c++) {
                    double v = g[columns ? c * 6 + r : r * 3 + c];
                    String where = backend + " " + dtype + " gradient slice " + r + " element " + c;
                    if (r == 0) {
                        assertEquals(c == 1 ? 0.75 : 0.0, v, where); // the masks get exactly 0
                    } else if (r <= 4) {
                        assertTrue(Double.isNaN(v), where + ": " + v);
                    } else {
                        assertEquals(c == 1 ? 0.0 : 0.375, v, where); // two equal maxima: gy / 2
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void dimOfOneIsTheInputAndAnEmptyDimIsMinusInfinity(String name, DType dtype) {
        Backend backend = TestBackends.get(name);
        double[] x = roundAll(dtype, new double[] {-3.5, 0, 7.25, Double.NEGATIVE_INFINITY});
        MemorySegment out = allocate(null, dtype, 4);
        backend.logSumExpForward(dtype, segment(null, dtype, x), out, 4, 1, 1);
        assertTrue(Arrays.equals(x, load(dtype, out)), backend + " " + dtype + ": " + Arrays.toString(load(dtype, out)));
        double[] gy = roundAll(dtype, new double[] {0.5, -2, 3});
        MemorySegment gx = allocate(null, dtype, 3);
        backend.logSumExpBackward(dtype, segment(null, dtype, gy), segment(null, dtype, x), gx, 3, 1, 1);
        assertTrue(Arrays.equals(gy, load(dtype, gx)), backend + " " + dtype + " gradient of dim 1");
        MemorySegment empty = allocate(null, dtype, 3);
        backend.logSumExpForward(dtype, allocate(null, dtype, 0), empty, 1, 0, 3);
        for (double v : load(dtype, empty)) {
            assertEquals(Double.NEGATIVE_INFINITY, v, backend + " " + dtype + " empty dim");
        }
    }

    /** log(512) + v rounded once to bfloat16: a 16-bit accumulator, or rounding twice, misses it. */
    @ParameterizedTest
    @MethodSource("backendNames")
    void aRowOf512EqualBfloat16LogitsGivesLog512PlusTheLogit(String name) {
        Backend backend = TestBackends.get(name);
        for (float logit : new float[] {0f, 1.5f, -7.25f, 40f}) {
            for (int inner : new int[] {1, 3}) {
                short[] x = new short[2 * 512 * inner];
                Arrays.fill(x, HalfFloats.floatToBfloat16(logit));
                short[] out = new short[2 * inner];
                backend.logSumExpForward(DType.BFLOAT16, MemorySegment.ofArray(x), MemorySegment.ofArray(out), 2, 512,
                        inner);
                short want = nearestBfloat16(new BigDecimal(Math.log(512)).add(new BigDecimal(logit)));
                for (short v : out) {
                    assertEquals(want, v, backend + " logit " + logit + " inner " + inner);
                }
                short[] gy = new short[2 * inner];
                Arrays.fill(gy, HalfFloats.floatToBfloat16(1f));
                short[] gx = new short[x.length];
                backend.logSumExpBackward(DType.BFLOAT16, MemorySegment.ofArray(gy), MemorySegment.ofArray(x),
                        MemorySegment.ofArray(gx), 2, 512, inner);
                for (short v : gx) {
                    assertEquals((short) 0x3b00, v, backend + " gradient: 1/512 each");
                }
            }
        }
    }

    /** Central differences of L(x) = sum(w * lse(x)) against backward(w), in float64. */
    @ParameterizedTest
    @MethodSource("backendNames")
    void float64BackwardIsTheDerivativeOfForward(String name) {
        Backend backend = TestBackends.get(name);
        for (int[] s : new int[][] {{2, 6, 1}, {2, 5, 3}, {1, 9, 8}}) {
            int outer = s[0], dim = s[1], inner = s[2], n = outer * dim * inner, p = outer * inner;
            Random random = new Random(13);
            double[] x = new double[n];
            for (int i = 0; i < n; i++) {
                x[i] = random.nextDouble(-3, 3);
            }
            double[] w = new double[p];
            for (int i = 0; i < p; i++) {
                w[i] = random.nextDouble(-1, 1);
            }
            double[] gx = new double[n];
            backend.logSumExpBackward(DType.FLOAT64, MemorySegment.ofArray(w), MemorySegment.ofArray(x),
                    MemorySegment.ofArray(gx), outer, dim, inner);
            double h = 1e-5;
            for (int i = 0; i < n; i++) {
                double[] plus = x.clone();
                double[] minus = x.clone();
                plus[i] += h;
                minus[i] -= h;
                double numeric = (loss(backend, plus, w, outer, dim, inner) - loss(backend, minus, w, outer, dim, inner))
                        / (2 * h);
                assertEquals(numeric, gx[i], 1e-8, backend + " [" + outer + ", " + dim + ", " + inner + "] at " + i);
            }
        }
    }

    private static double loss(Backend backend, double[] x, double[] w, int outer, int dim, int inner) {
        double[] out = new double[w.length];
        backend.logSumExpForward(DType.FLOAT64, MemorySegment.ofArray(x), MemorySegment.ofArray(out), outer, dim,
                inner);
        double sum = 0;
        for (int i = 0; i < w.length; i++) {
            sum += w[i] * out[i];
        }
        return sum;
    }

    private static void check(Backend backend, DType dtype, int outer, int dim, int inner, boolean large,
            Arena arena) {
        int n = outer * dim * inner, p = outer * inner;
        Random random = new Random(n * 37L + dim + (large ? 1 : 0));
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = roundTo(dtype, large ? random.nextDouble(90, 100) : random.nextDouble(-10, 10));
        }
        double[] gy = new double[p];
        for (int i = 0; i < p; i++) {
            gy[i] = roundTo(dtype, random.nextDouble(-1, 1));
        }
        String where = backend + " " + dtype + " [" + outer + ", " + dim + ", " + inner + "]"
                + (arena == null ? " heap" : " native") + (large ? " large" : "") + ": ";
        double[] max = new double[p];
        double[] lse = new double[p];
        double[] softmax = new double[n];
        reference(x, outer, dim, inner, max, lse, softmax);

        MemorySegment xs = segment(arena, dtype, x);
        MemorySegment out = allocate(arena, dtype, p);
        backend.logSumExpForward(dtype, xs, out, outer, dim, inner);
        double[] got = load(dtype, out);
        for (int i = 0; i < p; i++) {
            double bound = dtype == DType.FLOAT64
                    ? 8 * Math.ulp(Math.max(1, Math.abs(lse[i])))
                    : DTypeFamilyTest.formatUlp(dtype, lse[i]) + 2e-6 * Math.max(1, Math.abs(lse[i]));
            if (!(Math.abs(got[i] - lse[i]) <= bound)) {
                fail(where + "forward at " + i + ": " + got[i] + ", expected " + lse[i] + " (bound " + bound + ")");
            }
        }

        MemorySegment gxs = allocate(arena, dtype, n);
        backend.logSumExpBackward(dtype, segment(arena, dtype, gy), xs, gxs, outer, dim, inner);
        double[] gx = load(dtype, gxs);
        for (int i = 0; i < n; i++) {
            int o = i / (dim * inner), j = i % inner;
            double want = gy[o * inner + j] * softmax[i];
            double shift = Math.abs(x[i] - max[o * inner + j]);
            double bound = dtype == DType.FLOAT64
                    ? 8 * Math.ulp(want) * (1 + shift) + Double.MIN_VALUE
                    : DTypeFamilyTest.formatUlp(dtype, want) + 4 * 0x1p-24 * Math.abs(want) * (1 + shift);
            if (!(Math.abs(gx[i] - want) <= bound)) {
                fail(where + "backward at " + i + ": " + gx[i] + ", expected " + want + " (bound " + bound + ")");
            }
        }
    }

    /** Per position the max and LogSumExp, per element the softmax; the sums exact before rounding. */
    private static void reference(double[] x, int outer, int dim, int inner, double[] max, double[] lse,
            double[] softmax) {
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < inner; j++) {
                int base = o * dim * inner + j;
                double m = Double.NEGATIVE_INFINITY;
                for (int c = 0; c < dim; c++) {
                    m = Math.max(m, x[base + c * inner]);
                }
                BigDecimal sum = BigDecimal.ZERO;
                for (int c = 0; c < dim; c++) {
                    sum = sum.add(new BigDecimal(Math.exp(x[base + c * inner] - m)));
                }
                double s = sum.doubleValue();
                max[o * inner + j] = m;
                lse[o * inner + j] = m + Math.log(s);
                for (int c = 0; c < dim; c++) {
                    softmax[base + c * inner] = Math.exp(x[base + c * inner] - m) / s;
                }
            }
        }
    }

    /** The bfloat16 nearest {@code exact}, ties to even, found among the neighbours of a guess. */
    private static short nearestBfloat16(BigDecimal exact) {
        short guess = HalfFloats.floatToBfloat16(exact.floatValue());
        short best = guess;
        for (int d = -1; d <= 1; d += 2) {
            short candidate = (short) (guess + d);
            BigDecimal distance = exact.subtract(new BigDecimal(HalfFloats.bfloat16ToFloat(candidate))).abs();
            BigDecimal bestDistance = exact.subtract(new BigDecimal(HalfFloats.bfloat16ToFloat(best))).abs();
            int cmp = distance.compareTo(bestDistance);
            if (cmp < 0 || (cmp == 0 && (candidate & 1) == 0)) {
                best = candidate;
            }
        }
        return best;
    }

    private static double[] roundAll(DType dtype, double[] values) {
        double[] rounded = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            rounded[i] = roundTo(dtype, values[i]);
        }
        return rounded;
    }
}
