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
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.softmax4j.DType;

/**
 * Every backend's log-softmax and softmax in float64, bfloat16 and float16, over any dimension, on
 * native and heap memory ({@code double[]}, {@code short[]}), against a double reference whose
 * sums are exact ({@link BigDecimal}):
 *
 * <ul>
 *   <li>float64: log-softmax within 8 ulp of {@code max(1, |y|)}; softmax within 8 ulp of
 *       {@code y * (1 + |x - max|)} (the rounding of {@code x - max} moves {@code exp} by that
 *       much); gradients within 8 ulp of the size of their terms;
 *   <li>bfloat16 and float16: within one ulp of the format, plus the float32 computation's error.
 * </ul>
 *
 * Also the special values, a row of 512 equal bfloat16 logits, in-place use, and a
 * finite-difference gradient check in float64.
 */
class DTypeFamilyTest {
    static final int[][] SHAPES = {
        {1, 1, 1}, {2, 3, 1}, {3, 17, 1}, {2, 1000, 1}, {1, 1, 5}, {2, 5, 7}, {3, 7, 16}, {2, 9, 17},
        {1, 4, 33}, {2, 81, 40}, {1, 2, 600},
    };
    static final DType[] DTYPES = {DType.FLOAT64, DType.BFLOAT16, DType.FLOAT16};

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        TestBackends.names().forEach(name -> {
            for (SoftmaxOp op : SoftmaxOp.values()) {
                for (DType dtype : DTYPES) {
                    cases.add(Arguments.of(name, op, dtype));
                }
            }
        });
        return cases.stream();
    }

    @ParameterizedTest
    @MethodSource("cases")
    void matchesTheReferenceOnNativeAndHeapMemory(String name, SoftmaxOp op, DType dtype) {
        Backend backend = TestBackends.get(name);
        for (int[] s : SHAPES) {
            for (boolean large : new boolean[] {false, true}) {
                try (Arena arena = Arena.ofConfined()) {
                    check(backend, op, dtype, s[0], s[1], s[2], large, arena);
                }
                check(backend, op, dtype, s[0], s[1], s[2], large, null);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void inPlaceGivesTheSameBits(String name, SoftmaxOp op, DType dtype) {
        Backend backend = TestBackends.get(name);
        int outer = 2, dim = 11, inner = 19, n = outer * dim * inner;
        Random random = new Random(7);
        double[] x = new double[n];
        double[] gy = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = random.nextDouble(-5, 5);
            gy[i] = random.nextDouble(-1, 1);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment xs = segment(arena, dtype, x);
            MemorySegment y = arena.allocate(xs.byteSize(), 8);
            backend.forward(op, dtype, xs, y, outer, dim, inner);
            MemorySegment inPlace = segment(arena, dtype, x);
            backend.forward(op, dtype, inPlace, inPlace, outer, dim, inner);
            assertEquals(-1, y.mismatch(inPlace), backend + " " + op + " " + dtype + " forward in place");
            MemorySegment gys = segment(arena, dtype, gy);
            MemorySegment gx = arena.allocate(xs.byteSize(), 8);
            backend.backward(op, dtype, gys, y, gx, outer, dim, inner);
            MemorySegment intoGy = segment(arena, dtype, gy);
            backend.backward(op, dtype, intoGy, y, intoGy, outer, dim, inner);
            assertEquals(-1, gx.mismatch(intoGy), backend + " " + op + " " + dtype + " backward in place");
        }
    }

    /**
     * A {@code [1, 4, 6]} tensor over dim 1, one case per position: finite; {@code -inf} masks;
     * all {@code -inf}; {@code +inf}; NaN; huge magnitudes (float64 only: 1e300).
     */
    @ParameterizedTest
    @MethodSource("cases")
    void specialValuesFollowPyTorch(String name, SoftmaxOp op, DType dtype) {
        Backend backend = TestBackends.get(name);
        double inf = Double.POSITIVE_INFINITY;
        double huge = dtype == DType.FLOAT64 ? 1e300 : dtype == DType.BFLOAT16 ? 1e30 : 6e4;
        double[] x = {
            1, -inf, -inf, 0.5, 2, huge,
            2, 3, -inf, inf, -1, -huge,
            3, -inf, -inf, -2, 0, 0,
            4, 1, -inf, 1, Double.NaN, -huge,
        };
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate((long) x.length * dtype.byteSize(), 8);
            backend.forward(op, dtype, segment(arena, dtype, x), out, 1, 4, 6);
            double[] y = load(dtype, out);
            for (int i : new int[] {2, 3, 4, 8, 9, 10, 14, 15, 16, 20, 21, 22}) {
                assertTrue(Double.isNaN(y[i]), dtype + " position " + i + " must be NaN, was " + y[i]);
            }
            for (int i : new int[] {1, 13}) {
                assertEquals(op == SoftmaxOp.LOG_SOFTMAX ? -inf : 0.0, y[i], dtype + " mask at " + i);
            }
            assertEquals(op == SoftmaxOp.LOG_SOFTMAX ? 0.0 : 1.0, y[5]);
            double[] column0 = {1, 2, 3, 4};
            double[] expected = reference(op, column0, 1, 4, 1);
            for (int c = 0; c < 4; c++) {
                double got = y[c * 6];
                double bound = dtype == DType.FLOAT64 ? 1e-15 : formatUlp(dtype, expected[c]) + 1e-6;
                assertTrue(Math.abs(got - expected[c]) <= bound, dtype + " column 0 row " + c + ": " + got);
            }
            // Column 1: 1, 3, -inf, 1 (the -inf a mask).
            double[] column1 = reference(op, new double[] {-inf, 3, -inf, 1}, 1, 4, 1);
            assertTrue(Math.abs(y[7] - column1[1]) <= (dtype == DType.FLOAT64 ? 1e-15 : formatUlp(dtype, column1[1])));
        }
    }

    @ParameterizedTest
    @MethodSource("backendNames")
    void aRowOf512EqualBfloat16LogitsGivesExactlyLogOneIn512(String name) {
        Backend backend = TestBackends.get(name);
        for (int inner : new int[] {1, 3}) {
            short[] x = new short[2 * 512 * inner];
            java.util.Arrays.fill(x, HalfFloats.floatToBfloat16(1.5f));
            short[] y = new short[x.length];
            backend.forward(SoftmaxOp.LOG_SOFTMAX, DType.BFLOAT16, MemorySegment.ofArray(x), MemorySegment.ofArray(y),
                    2, 512, inner);
            short want = HalfFloats.floatToBfloat16((float) Math.log(1.0 / 512));
            for (short v : y) {
                assertEquals(want, v, "log-softmax inner " + inner);
            }
            backend.forward(SoftmaxOp.SOFTMAX, DType.BFLOAT16, MemorySegment.ofArray(x), MemorySegment.ofArray(y),
                    2, 512, inner);
            for (short v : y) {
                assertEquals((short) 0x3b00, v, "softmax inner " + inner + ": 1/512");
            }
        }
    }

    /** Central differences of L(x) = sum(w * op(x)) against backward(w), in float64. */
    @ParameterizedTest
    @MethodSource("backendNames")
    void float64BackwardIsTheDerivativeOfForward(String name) {
        Backend backend = TestBackends.get(name);
        for (SoftmaxOp op : SoftmaxOp.values()) {
            for (int[] s : new int[][] {{2, 6, 1}, {2, 5, 3}}) {
                int outer = s[0], dim = s[1], inner = s[2], n = outer * dim * inner;
                Random random = new Random(11);
                double[] x = new double[n];
                double[] w = new double[n];
                for (int i = 0; i < n; i++) {
                    x[i] = random.nextDouble(-3, 3);
                    w[i] = random.nextDouble(-1, 1);
                }
                double[] y = new double[n];
                backend.forward(op, DType.FLOAT64, MemorySegment.ofArray(x), MemorySegment.ofArray(y), outer, dim,
                        inner);
                double[] gx = new double[n];
                backend.backward(op, DType.FLOAT64, MemorySegment.ofArray(w.clone()), MemorySegment.ofArray(y),
                        MemorySegment.ofArray(gx), outer, dim, inner);
                double h = 1e-5;
                for (int i = 0; i < n; i++) {
                    double[] plus = x.clone();
                    double[] minus = x.clone();
                    plus[i] += h;
                    minus[i] -= h;
                    double numeric = (loss(backend, op, plus, w, outer, dim, inner)
                            - loss(backend, op, minus, w, outer, dim, inner)) / (2 * h);
                    assertEquals(numeric, gx[i], 1e-8, backend + " " + op + " at " + i);
                }
            }
        }
    }

    static Stream<String> backendNames() {
        return TestBackends.names();
    }

    private static double loss(Backend backend, SoftmaxOp op, double[] x, double[] w, int outer, int dim, int inner) {
        double[] y = new double[x.length];
        backend.forward(op, DType.FLOAT64, MemorySegment.ofArray(x), MemorySegment.ofArray(y), outer, dim, inner);
        double sum = 0;
        for (int i = 0; i < x.length; i++) {
            sum += w[i] * y[i];
        }
        return sum;
    }

    private static void check(Backend backend, SoftmaxOp op, DType dtype, int outer, int dim, int inner,
            boolean large, Arena arena) {
        int n = outer * dim * inner;
        Random random = new Random(n * 31L + dim + (large ? 1 : 0));
        double[] x = new double[n];
        double[] gy = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = roundTo(dtype, large ? random.nextDouble(90, 100) : random.nextDouble(-10, 10));
            gy[i] = roundTo(dtype, random.nextDouble(-1, 1));
        }
        String where = backend + " " + op + " " + dtype + " [" + outer + ", " + dim + ", " + inner + "]"
                + (arena == null ? " heap" : " native") + (large ? " large" : "") + ": ";
        MemorySegment ys = allocate(arena, dtype, n);
        backend.forward(op, dtype, segment(arena, dtype, x), ys, outer, dim, inner);
        double[] y = load(dtype, ys);
        double[] expected = reference(op, x, outer, dim, inner);
        for (int i = 0; i < n; i++) {
            double shift = Math.abs(x[i] - max(x, i, outer, dim, inner));
            double bound;
            if (dtype == DType.FLOAT64) {
                bound = op == SoftmaxOp.LOG_SOFTMAX
                        ? 8 * Math.ulp(Math.max(1, Math.abs(expected[i])))
                        : 8 * Math.ulp(expected[i]) * (1 + shift) + Double.MIN_VALUE;
            } else {
                bound = formatUlp(dtype, expected[i]) + (op == SoftmaxOp.LOG_SOFTMAX
                        ? 2e-6 * Math.max(1, Math.abs(expected[i]))
                        : 2e-6 * expected[i] * (1 + shift) + 1e-30);
            }
            if (!(Math.abs(y[i] - expected[i]) <= bound)) {
                fail(where + "forward at " + i + ": " + y[i] + ", expected " + expected[i] + " (bound " + bound + ")");
            }
        }
        MemorySegment gxs = allocate(arena, dtype, n);
        backend.backward(op, dtype, segment(arena, dtype, gy), ys, gxs, outer, dim, inner);
        double[] gx = load(dtype, gxs);
        double[][] ref = referenceBackward(op, gy, y, outer, dim, inner);
        for (int i = 0; i < n; i++) {
            double bound = dtype == DType.FLOAT64
                    ? 8 * Math.ulp(1.0) * ref[1][i] + Double.MIN_VALUE
                    : formatUlp(dtype, ref[0][i]) + 4 * 0x1p-24 * ref[1][i];
            if (!(Math.abs(gx[i] - ref[0][i]) <= bound)) {
                fail(where + "backward at " + i + ": " + gx[i] + ", expected " + ref[0][i] + " (bound " + bound + ")");
            }
        }
    }

    private static double max(double[] x, int i, int outer, int dim, int inner) {
        int o = i / (dim * inner);
        int j = i % inner;
        double m = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < dim; c++) {
            m = Math.max(m, x[o * dim * inner + c * inner + j]);
        }
        return m;
    }

    /** The forward in double, the sum of exponentials exact before its one rounding. */
    static double[] reference(SoftmaxOp op, double[] x, int outer, int dim, int inner) {
        double[] y = new double[x.length];
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
                for (int c = 0; c < dim; c++) {
                    double shifted = x[base + c * inner] - m;
                    y[base + c * inner] = op == SoftmaxOp.LOG_SOFTMAX ? shifted - Math.log(s) : Math.exp(shifted) / s;
                }
            }
        }
        return y;
    }

    /** {gx, the size of its terms}, the sums exact before their one rounding. */
    private static double[][] referenceBackward(SoftmaxOp op, double[] gy, double[] y, int outer, int dim, int inner) {
        double[] gx = new double[gy.length];
        double[] size = new double[gy.length];
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < inner; j++) {
                int base = o * dim * inner + j;
                BigDecimal sum = BigDecimal.ZERO;
                double abs = 0;
                for (int c = 0; c < dim; c++) {
                    int i = base + c * inner;
                    BigDecimal term = op == SoftmaxOp.LOG_SOFTMAX
                            ? new BigDecimal(gy[i]) : new BigDecimal(gy[i]).multiply(new BigDecimal(y[i]));
                    sum = sum.add(term);
                    abs += Math.abs(term.doubleValue());
                }
                double s = sum.doubleValue();
                for (int c = 0; c < dim; c++) {
                    int i = base + c * inner;
                    if (op == SoftmaxOp.LOG_SOFTMAX) {
                        gx[i] = gy[i] - Math.exp(y[i]) * s;
                        size[i] = Math.abs(gy[i]) + Math.exp(y[i]) * abs;
                    } else {
                        gx[i] = y[i] * (gy[i] - s);
                        size[i] = Math.abs(y[i]) * (Math.abs(gy[i]) + abs);
                    }
                }
            }
        }
        return new double[][] {gx, size};
    }

    /** One ulp of the 16-bit format at {@code v}, the subnormal spacing below its normals. */
    static double formatUlp(DType dtype, double v) {
        int fraction = dtype == DType.BFLOAT16 ? 7 : 10;
        int minExponent = dtype == DType.BFLOAT16 ? -126 : -14;
        int e = v == 0 ? minExponent : Math.max(Math.getExponent(v), minExponent);
        return Math.scalb(1.0, e - fraction);
    }

}
