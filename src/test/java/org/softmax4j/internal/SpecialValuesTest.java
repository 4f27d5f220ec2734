package org.softmax4j.internal;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The special values of PyTorch's log_softmax, exactly, on every backend; placed at the first and
 * last element of a row and on each side of every vector and unroll boundary, so that they also
 * go through the tail code of the kernels.
 */
class SpecialValuesTest {
    static final int[] COLS = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 23, 31, 32, 33, 47, 63, 64, 65, 100, 127, 128, 129, 1000};
    static final float SENTINEL = 42.5f;

    static Stream<String> backends() {
        return TestBackends.names();
    }

    /** Where a special value goes in a row of {@code cols}: ends, middle, around each vector tail. */
    static int[] positions(int cols) {
        TreeSet<Integer> set = new TreeSet<>(Arrays.asList(0, 1, cols / 2, cols - 2, cols - 1));
        for (int width : new int[] {4, 8, 16, 32, 64, 128}) {
            int boundary = cols / width * width;
            set.add(boundary - 1);
            set.add(boundary);
        }
        return set.stream().filter(p -> p >= 0 && p < cols).mapToInt(Integer::intValue).toArray();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void minusInfinityGivesMinusInfinityAndLeavesTheRestOfTheRowAlone(String name) {
        Backend backend = TestBackends.get(name);
        for (int cols : COLS) {
            for (int p : positions(cols)) {
                float[] x = randomRows(3, cols, cols * 100L + p);
                x[cols + p] = Float.NEGATIVE_INFINITY;
                float[] y = forward(backend, x, 3, cols);
                String where = backend + ", cols " + cols + ", -inf at " + p;
                if (cols > 1) {
                    assertEquals(Float.NEGATIVE_INFINITY, y[cols + p], where);
                    // The rest of the row is the log-softmax of the row without the masked entry.
                    assertNull(Reference.mismatch(y, Float64Reference.forward(x, 3, cols), cols), where);
                    for (int c = 0; c < cols; c++) {
                        assertTrue(c == p || Float.isFinite(y[cols + c]), where);
                    }
                } else {
                    assertTrue(Float.isNaN(y[cols + p]), where + ": a row of only -inf is NaN");
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void manyMaskedEntriesAreIgnored(String name) {
        Backend backend = TestBackends.get(name);
        for (int cols : COLS) {
            float[] x = randomRows(2, cols, cols);
            for (int i = 0; i < x.length; i++) {
                if (cols > 1 && i % cols % 3 != 1) { // column 1 of each row stays finite
                    x[i] = Float.NEGATIVE_INFINITY;
                }
            }
            float[] y = forward(backend, x, 2, cols);
            for (int i = 0; i < x.length; i++) {
                if (x[i] == Float.NEGATIVE_INFINITY) {
                    assertEquals(Float.NEGATIVE_INFINITY, y[i], backend + ", cols " + cols + ", at " + i);
                }
            }
            assertNull(Reference.mismatch(y, Float64Reference.forward(x, 2, cols), cols), backend + ", cols " + cols);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void plusInfinityOrNanAnywhereMakesOnlyItsRowNan(String name) {
        Backend backend = TestBackends.get(name);
        for (float special : new float[] {Float.POSITIVE_INFINITY, Float.NaN}) {
            for (int cols : COLS) {
                for (int p : positions(cols)) {
                    float[] x = randomRows(3, cols, cols * 100L + p);
                    x[cols + p] = special;
                    float[] y = forward(backend, x, 3, cols);
                    String where = backend + ", cols " + cols + ", " + special + " at " + p;
                    for (int c = 0; c < cols; c++) {
                        assertTrue(Float.isNaN(y[cols + c]), where + ", col " + c + " is " + y[cols + c]);
                    }
                    assertNull(Reference.mismatch(y, Float64Reference.forward(x, 3, cols), cols), where);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aRowOfOnlyMinusInfinityIsNan(String name) {
        Backend backend = TestBackends.get(name);
        for (int cols : COLS) {
            float[] x = randomRows(3, cols, cols);
            Arrays.fill(x, cols, 2 * cols, Float.NEGATIVE_INFINITY);
            float[] y = forward(backend, x, 3, cols);
            for (int c = 0; c < cols; c++) {
                assertTrue(Float.isNaN(y[cols + c]), backend + ", cols " + cols + ", col " + c);
            }
            assertNull(Reference.mismatch(y, Float64Reference.forward(x, 3, cols), cols), backend + ", cols " + cols);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void equalHugeLogitsGiveExactlyLogOfOneOverCols(String name) {
        Backend backend = TestBackends.get(name);
        for (float value : new float[] {1e8f, -1e8f, 1e30f, -1e30f, 0f}) {
            for (int cols : COLS) {
                float[] x = new float[2 * cols];
                Arrays.fill(x, value);
                float[] y = forward(backend, x, 2, cols);
                float expected = (float) Math.log(1.0 / cols);
                for (int i = 0; i < y.length; i++) {
                    assertTrue(Math.abs(y[i] - expected) <= Math.ulp(expected),
                            backend + ", all " + value + ", cols " + cols + ": got " + y[i] + ", expected " + expected);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void hugeMixedLogitsAreExactToRounding(String name) {
        Backend backend = TestBackends.get(name);
        for (int cols : COLS) {
            Random random = new Random(cols);
            float[] x = new float[cols];
            int top = 0;
            for (int c = 0; c < cols; c++) {
                x[c] = random.nextBoolean() ? 1e30f : -1e30f;
            }
            x[random.nextInt(cols)] = 1e30f;
            for (float v : x) {
                top += v == 1e30f ? 1 : 0;
            }
            float[] y = forward(backend, x, 1, cols);
            // exp(-2e30) is 0, so the sum is the number of maxima and the others are -2e30 - log(top).
            float atMax = (float) -Math.log(top);
            for (int c = 0; c < cols; c++) {
                String where = backend + ", cols " + cols + ", col " + c + " of " + Arrays.toString(x);
                if (x[c] == 1e30f) {
                    assertTrue(Math.abs(y[c] - atMax) <= Math.ulp(atMax), where + ": got " + y[c] + ", expected " + atMax);
                } else {
                    assertEquals(-2e30f, y[c], where);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void oneColumnGivesZeroForFiniteValues(String name) {
        Backend backend = TestBackends.get(name);
        float[] x = {0, 5, -7.5f, 1e30f, -1e30f, 1e-30f, Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, 100, -100};
        float[] y = forward(backend, x, x.length, 1);
        for (int i = 0; i < x.length; i++) {
            assertEquals(0f, y[i], backend + ", x = " + x[i]);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void smallExponentsUnderflowToZeroNotNan(String name) {
        Backend backend = TestBackends.get(name);
        float[] row = {0, -200, -1000, -87, -88, -103, -104, -150, -3e38f, 1, -5};
        for (int cols : new int[] {row.length, 17, 40}) {
            float[] x = new float[cols];
            for (int c = 0; c < cols; c++) {
                x[c] = row[c % row.length];
            }
            float[] y = forward(backend, x, 1, cols);
            assertNull(Reference.mismatch(y, Float64Reference.forward(x, 1, cols), cols), backend + ", cols " + cols);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void backwardPassesTheGradientOfMaskedEntriesThrough(String name) {
        Backend backend = TestBackends.get(name);
        for (int cols : COLS) {
            for (int p : positions(cols)) {
                float[] x = randomRows(2, cols, cols * 7L + p);
                x[p] = Float.NEGATIVE_INFINITY;
                x[cols + p] = Float.NaN;
                float[] y = forward(backend, x, 2, cols);
                float[] gy = randomRows(2, cols, p);
                MemorySegment gx = MemorySegment.ofArray(new float[2 * cols]);
                backend.backward(MemorySegment.ofArray(gy), MemorySegment.ofArray(y), gx, 2, cols);
                float[] g = gx.toArray(JAVA_FLOAT);
                String where = backend + ", cols " + cols + ", at " + p;
                if (cols > 1) {
                    assertEquals(gy[p], g[p], where + ": exp(-inf) = 0, so gx = gy");
                    assertNull(Reference.mismatch(g, Float64Reference.backward(gy, y, 2, cols), cols), where);
                }
                for (int c = 0; c < cols; c++) {
                    assertTrue(Float.isNaN(g[cols + c]), where + ": a NaN row stays NaN");
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void emptyShapesWriteNothing(String name) {
        Backend backend = TestBackends.get(name);
        float[] x = new float[8];
        float[] out = new float[8];
        Arrays.fill(out, SENTINEL);
        MemorySegment xs = MemorySegment.ofArray(x);
        MemorySegment os = MemorySegment.ofArray(out);
        backend.forward(xs, os, 0, 8);
        backend.forward(xs, os, 8, 0);
        backend.forward(xs, os, 0, 0);
        backend.backward(xs, xs, os, 0, 8);
        backend.backward(xs, xs, os, 8, 0);
        for (float v : out) {
            assertEquals(SENTINEL, v, backend.toString());
        }
    }

    static float[] randomRows(int rows, int cols, long seed) {
        Random random = new Random(seed);
        float[] x = new float[rows * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = -5 + 10 * random.nextFloat();
        }
        return x;
    }

    static float[] forward(Backend backend, float[] x, int rows, int cols) {
        float[] y = new float[x.length];
        Arrays.fill(y, SENTINEL);
        backend.forward(MemorySegment.ofArray(x), MemorySegment.ofArray(y), rows, cols);
        return y;
    }
}
