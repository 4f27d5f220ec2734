package org.softmax4j;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.softmax4j.internal.NativeBackend;
import org.softmax4j.internal.Float64Reference;
import org.softmax4j.internal.Reference;
import org.softmax4j.internal.TestBackends;

/** The static entries on heap and off-heap memory, in place, and the backend information. */
class Softmax4jTest {
    static final int ROWS = 5;
    static final int COLS = 37;

    @Test
    void forwardAndBackwardOnArrays() {
        float[] x = random(ROWS * COLS, 1);
        float[] gy = random(ROWS * COLS, 2);
        float[] y = new float[x.length];
        float[] gx = new float[x.length];
        Softmax4j.logSoftmaxForward(x, y, ROWS, COLS);
        Softmax4j.logSoftmaxBackward(gy, y, gx, ROWS, COLS);
        assertNull(Reference.mismatch(y, Float64Reference.forward(x, ROWS, COLS), COLS));
        assertNull(Reference.mismatch(gx, Float64Reference.backward(gy, y, ROWS, COLS), COLS));
    }

    @Test
    void arraysLongerThanNeededAreUsedOnlyAtTheirStart() {
        float[] x = random(ROWS * COLS + 3, 1);
        float[] y = new float[x.length + 5];
        y[ROWS * COLS] = 42.5f;
        Softmax4j.logSoftmaxForward(x, y, ROWS, COLS);
        assertEquals(42.5f, y[ROWS * COLS]);
        float[] exact = new float[ROWS * COLS];
        Softmax4j.logSoftmaxForward(x, exact, ROWS, COLS);
        assertArrayEquals(exact, java.util.Arrays.copyOf(y, ROWS * COLS));
    }

    @Test
    void offHeapConfinedSharedAndAutoGiveTheSameAsArrays() {
        try (Arena arena = Arena.ofConfined()) {
            checkOffHeap(arena);
        }
        try (Arena arena = Arena.ofShared()) {
            checkOffHeap(arena);
        }
        checkOffHeap(Arena.ofAuto());
    }

    private static void checkOffHeap(Arena arena) {
        float[] x = random(ROWS * COLS, 3);
        float[] gy = random(ROWS * COLS, 4);
        float[] y = new float[x.length];
        float[] gx = new float[x.length];
        Softmax4j.logSoftmaxForward(x, y, ROWS, COLS);
        Softmax4j.logSoftmaxBackward(gy, y, gx, ROWS, COLS);

        MemorySegment xs = arena.allocateFrom(JAVA_FLOAT, x);
        MemorySegment gys = arena.allocateFrom(JAVA_FLOAT, gy);
        MemorySegment ys = arena.allocate(JAVA_FLOAT, x.length);
        MemorySegment gxs = arena.allocate(JAVA_FLOAT, x.length);
        Softmax4j.logSoftmaxForward(xs, ys, ROWS, COLS);
        Softmax4j.logSoftmaxBackward(gys, ys, gxs, ROWS, COLS);
        assertArrayEquals(y, ys.toArray(JAVA_FLOAT));
        assertArrayEquals(gx, gxs.toArray(JAVA_FLOAT));

        // Mixed: heap input and native output, and the other way round.
        MemorySegment mixed = arena.allocate(JAVA_FLOAT, x.length);
        Softmax4j.logSoftmaxForward(MemorySegment.ofArray(x), mixed, ROWS, COLS);
        assertArrayEquals(y, mixed.toArray(JAVA_FLOAT));
        float[] back = new float[x.length];
        Softmax4j.logSoftmaxForward(xs, MemorySegment.ofArray(back), ROWS, COLS);
        assertArrayEquals(y, back);
    }

    @Test
    void largeOffHeapWorkGoesThroughTheNonCriticalPath() {
        int rows = 3;
        int cols = 40_000; // rows * cols > 1 << 16
        float[] x = random(rows * cols, 5);
        float[] y = new float[x.length];
        Softmax4j.logSoftmaxForward(x, y, rows, cols);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment xs = arena.allocateFrom(JAVA_FLOAT, x);
            MemorySegment ys = arena.allocate(JAVA_FLOAT, x.length);
            Softmax4j.logSoftmaxForward(xs, ys, rows, cols);
            assertArrayEquals(y, ys.toArray(JAVA_FLOAT));
            MemorySegment gxs = arena.allocate(JAVA_FLOAT, x.length);
            Softmax4j.logSoftmaxBackward(xs, ys, gxs, rows, cols);
            float[] gx = new float[x.length];
            Softmax4j.logSoftmaxBackward(x, y, gx, rows, cols);
            assertArrayEquals(gx, gxs.toArray(JAVA_FLOAT));
        }
    }

    @Test
    void inPlaceGivesTheSameAsOutOfPlace() {
        float[] x = random(ROWS * COLS, 6);
        float[] gy = random(ROWS * COLS, 7);
        float[] y = new float[x.length];
        float[] gx = new float[x.length];
        Softmax4j.logSoftmaxForward(x, y, ROWS, COLS);
        Softmax4j.logSoftmaxBackward(gy, y, gx, ROWS, COLS);

        float[] inPlace = x.clone();
        Softmax4j.logSoftmaxForward(inPlace, inPlace, ROWS, COLS);
        assertArrayEquals(y, inPlace);

        float[] gradInPlace = gy.clone();
        Softmax4j.logSoftmaxBackward(gradInPlace, y, gradInPlace, ROWS, COLS);
        assertArrayEquals(gx, gradInPlace, "gx == gy");

        float[] overY = y.clone();
        Softmax4j.logSoftmaxBackward(gy, overY, overY, ROWS, COLS);
        assertArrayEquals(gx, overY, "gx == y");

        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocateFrom(JAVA_FLOAT, x);
            // Different segment objects over the same memory, one read-only: still in place.
            Softmax4j.logSoftmaxForward(s.asReadOnly(), s.asSlice(0), ROWS, COLS);
            assertArrayEquals(y, s.toArray(JAVA_FLOAT));
        }
    }

    @Test
    void readOnlyInputsAreFine() {
        float[] x = random(ROWS * COLS, 8);
        float[] y = new float[x.length];
        float[] expected = new float[x.length];
        Softmax4j.logSoftmaxForward(x, expected, ROWS, COLS);
        Softmax4j.logSoftmaxForward(MemorySegment.ofArray(x).asReadOnly(), MemorySegment.ofArray(y), ROWS, COLS);
        assertArrayEquals(expected, y);
    }

    @Test
    void emptyShapesAreNoOps() {
        float[] x = new float[0];
        float[] y = new float[0];
        Softmax4j.logSoftmaxForward(x, y, 0, 10);
        Softmax4j.logSoftmaxForward(x, y, 10, 0);
        Softmax4j.logSoftmaxBackward(x, x, y, 0, 0);
        Softmax4j.logSoftmaxForward(MemorySegment.NULL, MemorySegment.NULL, 0, 5);
    }

    @Test
    void backendInformationIsConsistent() {
        String backend = Softmax4j.backend();
        assertTrue(backend.equals("native") || backend.equals("java"), backend);
        if (backend.equals("native")) {
            assertTrue(Softmax4j.fallbackReason().isEmpty());
            assertTrue(NativeBackend.VARIANTS.contains(Softmax4j.isa()), Softmax4j.isa());
            List<String> supported = Softmax4j.supportedIsas();
            assertTrue(supported.contains("scalar"), supported.toString());
            assertTrue(supported.contains(Softmax4j.isa()), supported + " lacks " + Softmax4j.isa());
            if (supported.contains("avx2")) {
                assertTrue(Softmax4j.cpuFeatures().contains("avx2"), Softmax4j.cpuFeatures());
            }
        } else {
            assertFalse(TestBackends.nativeBuilt(), "the library is built but the backend is java: "
                    + Softmax4j.fallbackReason());
            assertEquals("java", Softmax4j.isa());
            assertTrue(Softmax4j.fallbackReason().isPresent());
            assertEquals("", Softmax4j.cpuFeatures());
            assertEquals(List.of(), Softmax4j.supportedIsas());
        }
    }

    static float[] random(int n, long seed) {
        Random random = new Random(seed);
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = -8 + 16 * random.nextFloat();
        }
        return values;
    }
}
