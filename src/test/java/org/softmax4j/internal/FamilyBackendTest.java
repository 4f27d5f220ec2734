package org.softmax4j.internal;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every backend's log-softmax and softmax over any dimension ({@code [outer, dim, inner]}, the
 * last dimension being {@code inner = 1}) against {@link FamilyReference}, on native and heap
 * memory, in place, and on the special values.
 */
class FamilyBackendTest {
    /** {outer, dim, inner}: around the vector widths of inner (8, 16, two vectors), long dims. */
    static final int[][] SHAPES = {
        {1, 1, 1}, {2, 3, 1}, {3, 17, 1}, {2, 1000, 1}, {1, 1, 5}, {2, 5, 7}, {3, 7, 16}, {2, 9, 17},
        {1, 4, 33}, {2, 81, 40}, {1, 1000, 16}, {4, 10, 9}, {1, 2, 600},
    };

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        TestBackends.names().forEach(name -> {
            for (SoftmaxOp op : SoftmaxOp.values()) {
                cases.add(Arguments.of(name, op));
            }
        });
        return cases.stream();
    }

    @ParameterizedTest
    @MethodSource("cases")
    void matchesTheReferenceOnNativeAndHeapMemory(String name, SoftmaxOp op) {
        Backend backend = TestBackends.get(name);
        for (int[] s : SHAPES) {
            for (boolean large : new boolean[] {false, true}) {
                try (Arena arena = Arena.ofConfined()) {
                    check(backend, op, s[0], s[1], s[2], large, arena);
                }
                check(backend, op, s[0], s[1], s[2], large, null);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void inPlaceGivesTheSameBits(String name, SoftmaxOp op) {
        Backend backend = TestBackends.get(name);
        int outer = 2, dim = 11, inner = 19, n = outer * dim * inner;
        Random random = new Random(7);
        float[] x = new float[n];
        float[] gy = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = random.nextFloat(-5, 5);
            gy[i] = random.nextFloat(-1, 1);
        }
        float[] y = new float[n];
        backend.forward(op, MemorySegment.ofArray(x), MemorySegment.ofArray(y), outer, dim, inner);
        float[] inPlace = x.clone();
        backend.forward(op, MemorySegment.ofArray(inPlace), MemorySegment.ofArray(inPlace), outer, dim, inner);
        assertArrayEquals(y, inPlace);

        float[] gx = new float[n];
        backend.backward(op, MemorySegment.ofArray(gy), MemorySegment.ofArray(y), MemorySegment.ofArray(gx),
                outer, dim, inner);
        float[] intoGy = gy.clone();
        backend.backward(op, MemorySegment.ofArray(intoGy), MemorySegment.ofArray(y), MemorySegment.ofArray(intoGy),
                outer, dim, inner);
        assertArrayEquals(gx, intoGy);
        float[] intoY = y.clone();
        backend.backward(op, MemorySegment.ofArray(gy), MemorySegment.ofArray(intoY), MemorySegment.ofArray(intoY),
                outer, dim, inner);
        assertArrayEquals(gx, intoY);
    }

    /**
     * A {@code [1, 4, 6]} tensor over dim 1, one case per position: finite; {@code -inf} masks;
     * all {@code -inf}; {@code +inf}; NaN; huge magnitudes.
     */
    @ParameterizedTest
    @MethodSource("cases")
    void specialValuesFollowPyTorch(String name, SoftmaxOp op) {
        Backend backend = TestBackends.get(name);
        float inf = Float.POSITIVE_INFINITY;
        float[] x = {
            1, -inf, -inf, 0.5f, 2, 1e30f,
            2, 3, -inf, inf, -1, -1e30f,
            3, -inf, -inf, -2, 0, 0,
            4, 1, -inf, 1, Float.NaN, -1e30f,
        };
        float[] y = new float[x.length];
        backend.forward(op, MemorySegment.ofArray(x), MemorySegment.ofArray(y), 1, 4, 6);
        double[] expected = FamilyReference.forward(op, x, 1, 4, 6);
        for (int i = 0; i < x.length; i++) {
            if (x[i] == -inf && !Double.isNaN(expected[i])) {
                // A mask: exactly -inf in log space, exactly +0 as a probability.
                assertEquals(op == SoftmaxOp.LOG_SOFTMAX ? -inf : 0f, y[i], "position " + i);
            }
        }
        assertNull(mismatch(y, expected), backend + " " + op);
        for (int i : new int[] {2, 3, 4, 8, 9, 10, 14, 15, 16, 20, 21, 22}) {
            assertTrue(Float.isNaN(y[i]), "position " + i + " must be NaN, was " + y[i]);
        }
        assertEquals(op == SoftmaxOp.LOG_SOFTMAX ? 0f : 1f, y[5]);
        assertEquals(op == SoftmaxOp.LOG_SOFTMAX ? -2e30f : 0f, y[11]);
    }

    /** Inputs in [-10, 10], or [90, 100] where exp without the max shift overflows. */
    private static void check(Backend backend, SoftmaxOp op, int outer, int dim, int inner, boolean large,
            Arena arena) {
        int n = outer * dim * inner;
        Random random = new Random(n * 31L + dim + (large ? 1 : 0));
        float[] x = new float[n];
        float[] gy = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = large ? random.nextFloat(90, 100) : random.nextFloat(-10, 10);
            gy[i] = random.nextFloat(-1, 1);
        }
        float[] y = run(arena, x, n, (in, out) -> backend.forward(op, in, out, outer, dim, inner));
        String where = backend + " " + op + " [" + outer + ", " + dim + ", " + inner + "]"
                + (arena == null ? " heap" : " native") + (large ? " large" : "") + ": ";
        String forward = mismatch(y, FamilyReference.forward(op, x, outer, dim, inner));
        assertNull(forward, () -> where + "forward " + forward);
        float[] gx = run(arena, gy, n, (in, out) -> backend.backward(op, in, segment(arena, y), out, outer, dim,
                inner));
        String backward = mismatch(gx, FamilyReference.backward(op, gy, y, outer, dim, inner));
        assertNull(backward, () -> where + "backward " + backward);
    }

    private interface Call {
        void run(MemorySegment in, MemorySegment out);
    }

    private static float[] run(Arena arena, float[] input, int n, Call call) {
        if (arena == null) {
            float[] out = new float[n];
            call.run(MemorySegment.ofArray(input), MemorySegment.ofArray(out));
            return out;
        }
        MemorySegment out = arena.allocate((long) n * Float.BYTES, Float.BYTES);
        call.run(segment(arena, input), out);
        return out.toArray(JAVA_FLOAT);
    }

    private static MemorySegment segment(Arena arena, float[] values) {
        if (arena == null) {
            return MemorySegment.ofArray(values);
        }
        MemorySegment segment = arena.allocate((long) values.length * Float.BYTES, Float.BYTES);
        MemorySegment.copy(values, 0, segment, JAVA_FLOAT, 0, values.length);
        return segment;
    }

    /** {@link Reference#mismatch} with the position reported as a flat index. */
    private static String mismatch(float[] actual, double[] expected) {
        return Reference.mismatch(actual, expected, expected.length);
    }
}
