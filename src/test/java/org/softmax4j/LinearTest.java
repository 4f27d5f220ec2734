package org.softmax4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Linear forward and backward against a float64 reference: shapes with one row, odd sizes, an
 * empty batch, empty feature dimensions, heap and native memory, products small enough for a
 * critical call and large enough for an ordinary one.
 */
class LinearTest {

    @ParameterizedTest(name = "rows={0} in={1} out={2} bias={3}")
    @CsvSource({
        "1, 1, 1, true", "1, 7, 3, true", "5, 13, 11, true", "17, 64, 10, false", "33, 1, 9, true",
        "0, 5, 3, true", "3, 0, 4, true", "4, 5, 0, true", "2, 17, 31, false", "70, 80, 60, true",
        "129, 100, 257, true"
    })
    void matchesTheFloat64Reference(int rows, int in, int out, boolean withBias) {
        SplittableRandom random = new SplittableRandom(rows * 1_000_003L + in * 1009L + out);
        try (Arena arena = Arena.ofConfined()) {
            Linear layer = layer(arena, in, out, withBias, random);
            float[] w = layer.weight().toArray();
            float[] b = withBias ? layer.bias().toArray() : new float[out];
            // dW and db accumulate: start them from non-zero values.
            float[] dw0 = random(random, out * in);
            float[] db0 = random(random, out);
            layer.gradWeight().segment().copyFrom(MemorySegment.ofArray(dw0));
            if (withBias) {
                layer.gradBias().segment().copyFrom(MemorySegment.ofArray(db0));
            }
            float[] xs = random(random, rows * in);
            float[] gys = random(random, rows * out);
            Tensor x = Tensor.copyOf(arena, xs, rows, in);
            Tensor y = layer.forward(x, arena);
            assertEquals(Shape.of(rows, out), y.shape());
            Tensor gy = Tensor.copyOf(arena, gys, rows, out);
            Tensor gx = layer.backward(gy, arena);
            assertEquals(Shape.of(rows, in), gx.shape());

            for (int r = 0; r < rows; r++) {
                for (int o = 0; o < out; o++) {
                    double sum = b[o];
                    double abs = Math.abs(b[o]);
                    for (int k = 0; k < in; k++) {
                        sum += (double) xs[r * in + k] * w[o * in + k];
                        abs += Math.abs((double) xs[r * in + k] * w[o * in + k]);
                    }
                    assertClose(sum, abs, y.get(r, o), "y", r, o);
                }
                for (int k = 0; k < in; k++) {
                    double sum = 0;
                    double abs = 0;
                    for (int o = 0; o < out; o++) {
                        sum += (double) gys[r * out + o] * w[o * in + k];
                        abs += Math.abs((double) gys[r * out + o] * w[o * in + k]);
                    }
                    assertClose(sum, abs, gx.get(r, k), "dx", r, k);
                }
            }
            for (int o = 0; o < out; o++) {
                for (int k = 0; k < in; k++) {
                    double sum = dw0[o * in + k];
                    double abs = Math.abs(sum);
                    for (int r = 0; r < rows; r++) {
                        sum += (double) gys[r * out + o] * xs[r * in + k];
                        abs += Math.abs((double) gys[r * out + o] * xs[r * in + k]);
                    }
                    assertClose(sum, abs, layer.gradWeight().get(o, k), "dW", o, k);
                }
                if (withBias) {
                    double sum = db0[o];
                    double abs = Math.abs(sum);
                    for (int r = 0; r < rows; r++) {
                        sum += gys[r * out + o];
                        abs += Math.abs(gys[r * out + o]);
                    }
                    assertClose(sum, abs, layer.gradBias().get(o), "db", o, 0);
                }
            }
        }
    }

    @Test
    void heapTensorsAndHigherRanksWork() {
        SplittableRandom random = new SplittableRandom(7);
        try (Arena arena = Arena.ofConfined()) {
            Linear reference = new Linear(arena, 5, 3, random);
            float[] xs = random(random, 2 * 4 * 5);
            float[] expected = reference.forward(Tensor.copyOf(arena, xs, 8, 5), arena).toArray();

            // The same layer over float[] parameters, on a [2, 4, 5] heap input.
            Linear heap = new Linear(Tensor.wrap(reference.weight().toArray(), 3, 5),
                    Tensor.wrap(reference.bias().toArray(), 3), Tensor.wrap(new float[15], 3, 5), Tensor.wrap(new float[3], 3));
            float[] ys = new float[2 * 4 * 3];
            Tensor y = heap.forward(Tensor.wrap(xs, 2, 4, 5), Tensor.wrap(ys, 2, 4, 3));
            assertArrayEquals(expected, ys, 1e-6f);
            assertEquals(Shape.of(2, 4, 3), y.shape());
            Tensor gx = heap.backward(Tensor.wrap(new float[24], 2, 4, 3), arena);
            assertEquals(Shape.of(2, 4, 5), gx.shape());

            // A single vector: [in] -> [out].
            Tensor one = heap.forward(Tensor.wrap(xs, 5), arena);
            assertArrayEquals(Arrays.copyOf(expected, 3), one.toArray(), 1e-6f);
        }
    }

    @Test
    void gradientsAccumulateUntilZeroGrad() {
        SplittableRandom random = new SplittableRandom(11);
        try (Arena arena = Arena.ofConfined()) {
            Linear layer = new Linear(arena, 6, 4, random);
            Tensor x = Tensor.copyOf(arena, random(random, 18), 3, 6);
            Tensor gy = Tensor.copyOf(arena, random(random, 12), 3, 4);
            layer.forward(x, arena);
            layer.zeroGrad();
            layer.backwardParameters(gy);
            float[] dw = layer.gradWeight().toArray();
            float[] db = layer.gradBias().toArray();
            Tensor gx = Tensor.allocate(arena, 3, 6);
            assertSame(gx, layer.backward(gy, gx));
            float[] dw2 = layer.gradWeight().toArray();
            float[] db2 = layer.gradBias().toArray();
            for (int i = 0; i < dw.length; i++) {
                assertEquals(2 * dw[i], dw2[i], 1e-6f * (1 + Math.abs(dw[i])));
            }
            for (int i = 0; i < db.length; i++) {
                assertEquals(2 * db[i], db2[i], 1e-6f * (1 + Math.abs(db[i])));
            }
            layer.zeroGrad();
            assertArrayEquals(new float[24], layer.gradWeight().toArray());
            assertArrayEquals(new float[4], layer.gradBias().toArray());
        }
    }

    @Test
    void initialisationIsPyTorchsUniformBound() {
        try (Arena arena = Arena.ofConfined()) {
            Linear layer = new Linear(arena, 16, 8, new SplittableRandom(3));
            for (float v : layer.weight().toArray()) {
                assertTrue(Math.abs(v) <= 0.25f, "weight " + v);
            }
            for (float v : layer.bias().toArray()) {
                assertTrue(Math.abs(v) <= 0.25f, "bias " + v);
            }
            assertArrayEquals(new float[128], layer.gradWeight().toArray());
        }
    }

    @Test
    void describesTheBlasItRuns() {
        String description = Linear.blasDescription();
        assertTrue(description.startsWith("OpenBLAS "), description);
        assertTrue(description.endsWith("; 1 thread)"), description);
    }

    static Linear layer(Arena arena, int in, int out, boolean withBias, SplittableRandom random) {
        if (withBias) {
            return new Linear(arena, in, out, random);
        }
        Tensor w = Tensor.copyOf(arena, random(random, out * in), out, in);
        return new Linear(w, null, Tensor.allocate(arena, out, in), null);
    }

    static float[] random(SplittableRandom random, int n) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) random.nextDouble(-1, 1);
        }
        return values;
    }

    /** A float32 sum of k terms is within about k * 2^-24 of the sum of their magnitudes. */
    private static void assertClose(double expected, double magnitude, float actual, String what, int i, int j) {
        double tolerance = 1e-5 * magnitude + 1e-6;
        assertTrue(Math.abs(actual - expected) <= tolerance,
                what + "[" + i + ", " + j + "] = " + actual + ", expected " + expected + " within " + tolerance);
    }
}
