package org.softmax4j;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The parallel setting: its validation, its thread counts, and results equal to one thread's. */
class ParallelismTest {
    static final int PROCESSORS = Runtime.getRuntime().availableProcessors();
    /** Every processor, and splitting even the smallest work, so that every shape is split. */
    static final Parallelism SPLIT_ALL = Parallelism.allProcessors().withMinElementsPerThread(1);

    @Test
    void badSettingsAreRejectedWithTheirRange() {
        for (int threads : new int[] {0, -1, PROCESSORS + 1, Integer.MAX_VALUE}) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> Parallelism.threads(threads));
            assertEquals("threads must be in [1, " + PROCESSORS + "] (1 to the available processors), was "
                    + threads, e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Parallelism.allProcessors().withMinElementsPerThread(0));
        assertEquals("elements must be >= 1, was 0", e.getMessage());
    }

    @Test
    void defaultsAreSingleThreaded() {
        assertSame(Parallelism.single(), Parallelism.threads(1));
        assertSame(Parallelism.single(), new LogSoftmax().parallelism());
        assertEquals(1, Parallelism.single().threads());
        assertEquals(PROCESSORS, Parallelism.allProcessors().threads());
        assertEquals(Parallelism.DEFAULT_MIN_ELEMENTS_PER_THREAD, Parallelism.allProcessors().minElementsPerThread());
        assertEquals(Parallelism.threads(PROCESSORS), Parallelism.allProcessors());
        assertEquals("Parallelism[single]", Parallelism.single().toString());
    }

    @Test
    void threadsForSmallWorkIsOne() {
        Parallelism all = Parallelism.allProcessors();
        long min = Parallelism.DEFAULT_MIN_ELEMENTS_PER_THREAD;
        assertEquals(1, all.threadsFor(0, 0));
        assertEquals(1, all.threadsFor(1, 10));
        assertEquals(1, all.threadsFor(64, 1000));
        assertEquals(1, all.threadsFor(1, 10 * min)); // one row is never split
        assertEquals(1, all.threadsFor(2, min - 1));
        assertEquals(Math.min(2, PROCESSORS), all.threadsFor(2, min));
        assertEquals(PROCESSORS, all.threadsFor(4096, 4096 * PROCESSORS));
        assertEquals(1, Parallelism.single().threadsFor(4096, 4096));
        assertEquals(Math.min(3, PROCESSORS), SPLIT_ALL.threadsFor(3, 1));
    }

    @Test
    void nullParallelismIsRejected() {
        float[] x = new float[4];
        assertThrows(NullPointerException.class, () -> Softmax4j.logSoftmaxForward(x, x, 2, 2, null));
        assertThrows(NullPointerException.class, () -> Softmax4j.logSoftmaxBackward(x, x, new float[4], 2, 2, null));
        assertThrows(NullPointerException.class, () -> new LogSoftmax(-1, null));
    }

    @ParameterizedTest
    @CsvSource({"1,1", "2,3", "3,1", "3,1000", "5,37", "7,129", "16,16", "64,1000", "100,17", "257,256", "2,32000",
        "1000,10"})
    void arraysGiveTheSameAsOneThread(int rows, int cols) {
        float[] x = Softmax4jTest.random(rows * cols, rows + cols);
        float[] gy = Softmax4jTest.random(rows * cols, rows * cols);
        float[] y = new float[x.length];
        float[] gx = new float[x.length];
        Softmax4j.logSoftmaxForward(x, y, rows, cols);
        Softmax4j.logSoftmaxBackward(gy, y, gx, rows, cols);

        float[] yp = new float[x.length];
        float[] gxp = new float[x.length];
        Softmax4j.logSoftmaxForward(x, yp, rows, cols, SPLIT_ALL);
        Softmax4j.logSoftmaxBackward(gy, yp, gxp, rows, cols, SPLIT_ALL);
        assertArrayEquals(y, yp);
        assertArrayEquals(gx, gxp);

        // In place: y over x, then gx over gy.
        float[] inPlace = x.clone();
        Softmax4j.logSoftmaxForward(inPlace, inPlace, rows, cols, SPLIT_ALL);
        assertArrayEquals(y, inPlace);
        float[] gyInPlace = gy.clone();
        Softmax4j.logSoftmaxBackward(gyInPlace, inPlace, gyInPlace, rows, cols, SPLIT_ALL);
        assertArrayEquals(gx, gyInPlace);
    }

    @ParameterizedTest
    @CsvSource({"2,3", "7,129", "64,1000", "257,256"})
    void confinedSharedAndAutoSegmentsGiveTheSameAsOneThread(int rows, int cols) {
        try (Arena arena = Arena.ofConfined()) {
            checkSegments(arena, rows, cols);
        }
        try (Arena arena = Arena.ofShared()) {
            checkSegments(arena, rows, cols);
        }
        checkSegments(Arena.ofAuto(), rows, cols);
    }

    private static void checkSegments(Arena arena, int rows, int cols) {
        float[] x = Softmax4jTest.random(rows * cols, 7);
        float[] gy = Softmax4jTest.random(rows * cols, 8);
        float[] y = new float[x.length];
        float[] gx = new float[x.length];
        Softmax4j.logSoftmaxForward(x, y, rows, cols);
        Softmax4j.logSoftmaxBackward(gy, y, gx, rows, cols);

        MemorySegment xs = arena.allocateFrom(JAVA_FLOAT, x);
        MemorySegment gys = arena.allocateFrom(JAVA_FLOAT, gy);
        MemorySegment ys = arena.allocate(JAVA_FLOAT, x.length);
        MemorySegment gxs = arena.allocate(JAVA_FLOAT, x.length);
        Softmax4j.logSoftmaxForward(xs, ys, rows, cols, SPLIT_ALL);
        Softmax4j.logSoftmaxBackward(gys, ys, gxs, rows, cols, SPLIT_ALL);
        assertArrayEquals(y, ys.toArray(JAVA_FLOAT));
        assertArrayEquals(gx, gxs.toArray(JAVA_FLOAT));

        // The operation, off-heap, writing into tensors it is given.
        LogSoftmax op = new LogSoftmax(-1, SPLIT_ALL);
        Tensor out = Tensor.allocate(arena, rows, cols);
        Tensor gradInput = Tensor.allocate(arena, rows, cols);
        op.forward(Tensor.wrap(xs, rows, cols), out);
        op.backward(Tensor.wrap(gys, rows, cols), gradInput);
        assertArrayEquals(y, out.toArray());
        assertArrayEquals(gx, gradInput.toArray());
    }

    @Test
    void aRejectedParallelCallWritesNothing() {
        float[] x = Softmax4jTest.random(64 * 100, 9);
        float[] y = new float[64 * 100];
        Arrays.fill(y, 42f);
        assertThrows(IndexOutOfBoundsException.class,
                () -> Softmax4j.logSoftmaxForward(x, y, 65, 100, SPLIT_ALL));
        MemorySegment whole = MemorySegment.ofArray(x);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Softmax4j.logSoftmaxForward(
                whole.asSlice(0, 4L * 32 * 100), whole.asSlice(4L * 100, 4L * 32 * 100), 32, 100, SPLIT_ALL));
        assertEquals("y overlaps x without being the same memory", e.getMessage());
        float[] fill = new float[64 * 100];
        Arrays.fill(fill, 42f);
        assertArrayEquals(fill, y);
    }

    @Test
    void toStringNamesASplittingSetting() {
        Parallelism two = Parallelism.single().withMinElementsPerThread(5);
        assertEquals("LogSoftmax[dim=-1]", new LogSoftmax(-1, two).toString());
        if (PROCESSORS > 1) {
            assertEquals("LogSoftmax[dim=-1, Parallelism[threads=" + PROCESSORS + ", minElementsPerThread=1]]",
                    new LogSoftmax(-1, SPLIT_ALL).toString());
        }
    }

    @Test
    void softmaxAndOtherDimensionsSplitGiveTheBitsOfOneThread() {
        try (Arena arena = Arena.ofConfined()) {
            float[] values = new float[9 * 40 * 33];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) Math.sin(i * 0.37) * 9;
            }
            Tensor x = Tensor.copyOf(arena, values, 9, 40, 33);
            Tensor x64 = Tensor.copyOf(arena, java.util.stream.IntStream.range(0, values.length)
                    .mapToDouble(i -> values[i]).toArray(), 9, 40, 33);
            for (int dim : new int[] {0, 1, 2}) {
                float[] one = new Softmax(dim).forward(x, arena).toArray();
                float[] split = new Softmax(dim, SPLIT_ALL).forward(x, arena).toArray();
                assertArrayEquals(one, split, "softmax dim " + dim);
                LogSoftmax single = new LogSoftmax(dim);
                LogSoftmax parallel = new LogSoftmax(dim, SPLIT_ALL);
                assertArrayEquals(single.forward(x, arena).toArray(), parallel.forward(x, arena).toArray(),
                        "log-softmax dim " + dim);
                assertArrayEquals(single.backward(x, arena).toArray(), parallel.backward(x, arena).toArray(),
                        "log-softmax backward dim " + dim);
                assertArrayEquals(new Softmax(dim).forward(x64, arena).toDoubleArray(),
                        new Softmax(dim, SPLIT_ALL).forward(x64, arena).toDoubleArray(), "float64 softmax dim " + dim);
            }
        }
    }
}
