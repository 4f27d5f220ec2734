package org.softmax4j;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Every rejected call of the static entries: the exception type, a message that names the
 * argument, and an output that still holds its sentinel values afterwards.
 */
class Softmax4jChecksTest {
    static final int ROWS = 3;
    static final int COLS = 4;
    static final int N = ROWS * COLS;
    static final float SENTINEL = 42.5f;

    // ---- sizes ----

    @Test
    void negativeSizes() {
        float[] x = new float[N];
        float[] y = sentinels(N);
        rejects(IllegalArgumentException.class, "rows must be >= 0, was -3",
                () -> Softmax4j.logSoftmaxForward(x, y, -3, COLS), y);
        rejects(IllegalArgumentException.class, "cols must be >= 0, was -1",
                () -> Softmax4j.logSoftmaxForward(x, y, ROWS, -1), y);
        rejects(IllegalArgumentException.class, "rows must be >= 0, was -3",
                () -> Softmax4j.logSoftmaxForward(MemorySegment.ofArray(x), MemorySegment.ofArray(y), -3, COLS), y);
        rejects(IllegalArgumentException.class, "cols must be >= 0, was -7",
                () -> Softmax4j.logSoftmaxBackward(x, x, y, ROWS, -7), y);
        rejects(IllegalArgumentException.class, "rows must be >= 0, was -1",
                () -> Softmax4j.logSoftmaxBackward(MemorySegment.ofArray(x), MemorySegment.ofArray(x),
                        MemorySegment.ofArray(y), -1, COLS), y);
    }

    @Test
    void sizeOverflow() {
        float[] x = new float[N];
        float[] y = sentinels(N);
        rejects(IllegalArgumentException.class, "rows * cols * 4 must fit in a long",
                () -> Softmax4j.logSoftmaxForward(x, y, Integer.MAX_VALUE, Integer.MAX_VALUE), y);
        rejects(IllegalArgumentException.class, "rows * cols * 4 must fit in a long",
                () -> Softmax4j.logSoftmaxForward(MemorySegment.ofArray(x), MemorySegment.ofArray(y), 1L << 31, 1L << 31), y);
        rejects(IllegalArgumentException.class, "rows * cols * 4 must fit in a long",
                () -> Softmax4j.logSoftmaxBackward(MemorySegment.ofArray(x), MemorySegment.ofArray(x),
                        MemorySegment.ofArray(y), Long.MAX_VALUE, 2), y);
    }

    @Test
    void nullArguments() {
        float[] x = new float[N];
        float[] y = sentinels(N);
        rejects(NullPointerException.class, "x", () -> Softmax4j.logSoftmaxForward(null, y, ROWS, COLS), y);
        rejects(NullPointerException.class, "y", () -> Softmax4j.logSoftmaxForward(x, null, ROWS, COLS));
        rejects(NullPointerException.class, "x",
                () -> Softmax4j.logSoftmaxForward(null, MemorySegment.ofArray(y), ROWS, COLS), y);
        rejects(NullPointerException.class, "gy", () -> Softmax4j.logSoftmaxBackward(null, x, y, ROWS, COLS), y);
        rejects(NullPointerException.class, "y", () -> Softmax4j.logSoftmaxBackward(x, null, y, ROWS, COLS), y);
        rejects(NullPointerException.class, "gx", () -> Softmax4j.logSoftmaxBackward(x, x, null, ROWS, COLS));
    }

    @Test
    void tooSmallArraysAndSegments() {
        float[] small = new float[N - 2];
        float[] x = new float[N];
        float[] y = sentinels(N);
        float[] smallOut = sentinels(N - 2);
        rejects(IndexOutOfBoundsException.class, "x holds 10 floats, needs rows * cols = 12",
                () -> Softmax4j.logSoftmaxForward(small, y, ROWS, COLS), y);
        rejects(IndexOutOfBoundsException.class, "y holds 10 floats, needs rows * cols = 12",
                () -> Softmax4j.logSoftmaxForward(x, smallOut, ROWS, COLS), smallOut);
        rejects(IndexOutOfBoundsException.class, "gy holds 10 floats, needs rows * cols = 12",
                () -> Softmax4j.logSoftmaxBackward(small, x, y, ROWS, COLS), y);
        rejects(IndexOutOfBoundsException.class, "y holds 10 floats, needs rows * cols = 12",
                () -> Softmax4j.logSoftmaxBackward(x, small, y, ROWS, COLS), y);
        rejects(IndexOutOfBoundsException.class, "gx holds 10 floats, needs rows * cols = 12",
                () -> Softmax4j.logSoftmaxBackward(x, x, smallOut, ROWS, COLS), smallOut);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment xs = arena.allocate(N * 4 - 1);
            MemorySegment ys = sentinels(arena, N);
            rejects(IndexOutOfBoundsException.class, "x holds 47 bytes, needs rows * cols * 4 = 48",
                    () -> Softmax4j.logSoftmaxForward(xs, ys, ROWS, COLS), ys);
            rejects(IndexOutOfBoundsException.class, "gy holds 47 bytes",
                    () -> Softmax4j.logSoftmaxBackward(xs, ys, ys, ROWS, COLS), ys);
        }
    }

    // ---- arenas and threads ----

    @Test
    void closedArenas() {
        Arena closed = Arena.ofConfined();
        MemorySegment dead = closed.allocate(N * 4L, 4);
        closed.close();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = arena.allocate(N * 4L, 4);
            MemorySegment out = sentinels(arena, N);
            rejects(IllegalStateException.class, "x: its arena is closed",
                    () -> Softmax4j.logSoftmaxForward(dead, out, ROWS, COLS), out);
            rejects(IllegalStateException.class, "y: its arena is closed",
                    () -> Softmax4j.logSoftmaxForward(x, dead, ROWS, COLS));
            rejects(IllegalStateException.class, "gy: its arena is closed",
                    () -> Softmax4j.logSoftmaxBackward(dead, x, out, ROWS, COLS), out);
            rejects(IllegalStateException.class, "y: its arena is closed",
                    () -> Softmax4j.logSoftmaxBackward(x, dead, out, ROWS, COLS), out);
            rejects(IllegalStateException.class, "gx: its arena is closed",
                    () -> Softmax4j.logSoftmaxBackward(x, x, dead, ROWS, COLS));
            // Even with nothing to do, a dead segment is an error.
            rejects(IllegalStateException.class, "x: its arena is closed",
                    () -> Softmax4j.logSoftmaxForward(dead, out, 0, 0), out);
        }
    }

    @Test
    void segmentsConfinedToAnotherThread() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = arena.allocate(N * 4L, 4);
            MemorySegment out = sentinels(arena, N);
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            Thread other = new Thread(() -> {
                try {
                    Softmax4j.logSoftmaxForward(MemorySegment.ofArray(new float[N]), out, ROWS, COLS);
                } catch (Throwable t) {
                    thrown.set(t);
                }
            });
            other.start();
            other.join();
            assertTrue(thrown.get() instanceof WrongThreadException, String.valueOf(thrown.get()));
            assertTrue(thrown.get().getMessage().contains("y: its arena is confined to another thread"),
                    thrown.get().getMessage());
            assertUntouched(out);
            assertEquals(0f, x.get(JAVA_FLOAT, 0));
        }
    }

    // ---- writability, alignment, kind of memory ----

    @Test
    void readOnlyOutputs() {
        float[] x = new float[N];
        float[] y = sentinels(N);
        MemorySegment readOnly = MemorySegment.ofArray(y).asReadOnly();
        rejects(IllegalArgumentException.class, "y is read-only",
                () -> Softmax4j.logSoftmaxForward(MemorySegment.ofArray(x), readOnly, ROWS, COLS), y);
        rejects(IllegalArgumentException.class, "gx is read-only",
                () -> Softmax4j.logSoftmaxBackward(MemorySegment.ofArray(x), MemorySegment.ofArray(x), readOnly, ROWS, COLS), y);
        // In place on read-only memory is still a write to read-only memory.
        rejects(IllegalArgumentException.class, "y is read-only",
                () -> Softmax4j.logSoftmaxForward(readOnly, readOnly, ROWS, COLS), y);
    }

    @Test
    void misalignedNativeSegments() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment base = arena.allocate(N * 4L + 16, 16);
            MemorySegment misaligned = base.asSlice(2, N * 4L);
            MemorySegment aligned = base.asSlice(8, N * 4L);
            MemorySegment out = sentinels(arena, N);
            rejects(IllegalArgumentException.class, "x must be 4-byte aligned, its address is 0x",
                    () -> Softmax4j.logSoftmaxForward(misaligned, out, ROWS, COLS), out);
            fill(base, SENTINEL);
            rejects(IllegalArgumentException.class, "y must be 4-byte aligned",
                    () -> Softmax4j.logSoftmaxForward(out, misaligned, ROWS, COLS), aligned);
            rejects(IllegalArgumentException.class, "gx must be 4-byte aligned",
                    () -> Softmax4j.logSoftmaxBackward(out, out, misaligned, ROWS, COLS), aligned);
            rejects(IllegalArgumentException.class, "y must be 4-byte aligned",
                    () -> Softmax4j.logSoftmaxBackward(out, misaligned, aligned, ROWS, COLS), aligned);
        }
    }

    @Test
    void heapSegmentsMustBeFloatArrays() {
        float[] y = sentinels(N);
        MemorySegment out = MemorySegment.ofArray(y);
        rejects(IllegalArgumentException.class, "x must be native memory or a heap segment over a float[],"
                        + " was a heap segment over byte[]",
                () -> Softmax4j.logSoftmaxForward(MemorySegment.ofArray(new byte[N * 4]), out, ROWS, COLS), y);
        rejects(IllegalArgumentException.class, "over int[]",
                () -> Softmax4j.logSoftmaxForward(MemorySegment.ofArray(new int[N]), out, ROWS, COLS), y);
        rejects(IllegalArgumentException.class, "x must start at a multiple of 4 bytes in a float[]",
                () -> Softmax4j.logSoftmaxForward(MemorySegment.ofArray(new byte[N * 4]).asReadOnly(), out, ROWS, COLS), y);
        rejects(IllegalArgumentException.class, "x must start at a multiple of 4 bytes in a float[], starts at byte 2",
                () -> Softmax4j.logSoftmaxForward(MemorySegment.ofArray(new float[N + 1]).asSlice(2), out, ROWS, COLS), y);
        byte[] bytes = new byte[N * 4];
        Arrays.fill(bytes, (byte) 7);
        rejects(IllegalArgumentException.class, "gx must be native memory or a heap segment over a float[]",
                () -> Softmax4j.logSoftmaxBackward(out, out, MemorySegment.ofArray(bytes), ROWS, COLS));
        for (byte b : bytes) {
            assertEquals(7, b);
        }
    }

    // ---- aliasing ----

    @Test
    void partialOverlapIsRejectedInBothDirections() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = sentinels(arena, N + 4);
            MemorySegment low = memory.asSlice(0, N * 4L);
            MemorySegment high = memory.asSlice(4, N * 4L);
            rejects(IllegalArgumentException.class, "y overlaps x without being the same memory",
                    () -> Softmax4j.logSoftmaxForward(low, high, ROWS, COLS), memory);
            rejects(IllegalArgumentException.class, "y overlaps x without being the same memory",
                    () -> Softmax4j.logSoftmaxForward(high, low, ROWS, COLS), memory);
            MemorySegment other = arena.allocate(N * 4L, 4);
            rejects(IllegalArgumentException.class, "gx overlaps gy without being the same memory",
                    () -> Softmax4j.logSoftmaxBackward(low, other, high, ROWS, COLS), memory);
            rejects(IllegalArgumentException.class, "gx overlaps gy without being the same memory",
                    () -> Softmax4j.logSoftmaxBackward(high, other, low, ROWS, COLS), memory);
            rejects(IllegalArgumentException.class, "gx overlaps y without being the same memory",
                    () -> Softmax4j.logSoftmaxBackward(other, low, high, ROWS, COLS), memory);
            rejects(IllegalArgumentException.class, "gx overlaps y without being the same memory",
                    () -> Softmax4j.logSoftmaxBackward(other, high, low, ROWS, COLS), memory);
        }
        float[] array = sentinels(N + 1);
        MemorySegment whole = MemorySegment.ofArray(array);
        rejects(IllegalArgumentException.class, "y overlaps x without being the same memory",
                () -> Softmax4j.logSoftmaxForward(whole, whole.asSlice(4), ROWS, COLS), array);
    }

    @Test
    void overlapIsJudgedOnTheBytesUsedOnly() {
        float[] x = Softmax4jTest.random(N, 9);
        float[] expected = new float[N];
        Softmax4j.logSoftmaxForward(x, expected, ROWS, COLS);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(2 * N * 4L, 4);
            MemorySegment.copy(x, 0, memory, JAVA_FLOAT, 0, N);
            // x is the whole segment, but only its first half is read: y, the second half, is disjoint.
            Softmax4j.logSoftmaxForward(memory, memory.asSlice(N * 4L), ROWS, COLS);
            assertArrayEquals(expected, memory.asSlice(N * 4L).toArray(JAVA_FLOAT));
            // And the inputs of backward may overlap each other in any way.
            MemorySegment gx = arena.allocate(N * 4L, 4);
            Softmax4j.logSoftmaxBackward(memory.asSlice(4, N * 4L), memory.asSlice(N * 4L), gx, ROWS, COLS);
        }
    }

    // ---- helpers ----

    static float[] sentinels(int n) {
        float[] values = new float[n];
        Arrays.fill(values, SENTINEL);
        return values;
    }

    static MemorySegment sentinels(Arena arena, int n) {
        MemorySegment segment = arena.allocate(n * 4L, 4);
        fill(segment, SENTINEL);
        return segment;
    }

    static void fill(MemorySegment segment, float value) {
        for (long i = 0; i + 4 <= segment.byteSize(); i += 4) {
            segment.set(JAVA_FLOAT, i, value);
        }
    }

    static void assertUntouched(float[] output) {
        for (int i = 0; i < output.length; i++) {
            assertEquals(SENTINEL, output[i], "output[" + i + "] was written");
        }
    }

    static void assertUntouched(MemorySegment output) {
        assertUntouched(output.toArray(JAVA_FLOAT));
    }

    static <T extends Throwable> void rejects(Class<T> type, String message, Executable call, Object... outputs) {
        T thrown = assertThrows(type, call);
        assertTrue(thrown.getMessage() != null && thrown.getMessage().contains(message),
                "expected a message containing \"" + message + "\", was \"" + thrown.getMessage() + "\"");
        for (Object output : outputs) {
            if (output instanceof float[] array) {
                assertUntouched(array);
            } else {
                assertUntouched((MemorySegment) output);
            }
        }
    }
}
