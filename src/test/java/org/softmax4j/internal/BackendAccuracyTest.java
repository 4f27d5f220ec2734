package org.softmax4j.internal;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.stream.Stream;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every backend against the double reference, over row lengths that hit every loop of the
 * kernels: each length up to 70 (all the tails of 8- and 16-wide vectors and of a few unrolled
 * iterations), primes, each side of the powers of two, and vocabulary sizes up to 128256.
 */
class BackendAccuracyTest {
    static final int[] COLS = IntStream.concat(IntStream.rangeClosed(1, 70), IntStream.of(
                    71, 73, 97, 101, 127, 128, 129, 211, 251, 255, 256, 257, 509, 1021,
                    1023, 1024, 1025, 4093, 4096, 32000, 128256))
            .toArray();

    static Stream<String> backends() {
        return TestBackends.names();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void forwardAndBackwardMatchTheReferenceOnNativeMemory(String name) {
        Backend backend = TestBackends.get(name);
        for (int cols : COLS) {
            for (boolean large : new boolean[] {false, true}) {
                try (Arena arena = Arena.ofConfined()) {
                    check(backend, cols, large, arena);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void forwardAndBackwardMatchTheReferenceOnHeapMemory(String name) {
        Backend backend = TestBackends.get(name);
        for (int cols : COLS) {
            for (boolean large : new boolean[] {false, true}) {
                check(backend, cols, large, null);
            }
        }
    }

    /**
     * Inputs in [-10, 10], or in [90, 100] where exp without the max shift would overflow float;
     * gradients in [-1, 1]. Heap memory when {@code arena} is null.
     */
    private static void check(Backend backend, int cols, boolean large, Arena arena) {
        int rows = cols <= 4096 ? 3 : 2;
        long seed = cols * 31L + (large ? 1 : 0);
        Random random = new Random(seed);
        int n = rows * cols;
        float[] x = new float[n];
        float[] gy = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = large ? 90 + 10 * random.nextFloat() : -10 + 20 * random.nextFloat();
            gy[i] = -1 + 2 * random.nextFloat();
        }
        String where = backend + ", rows " + rows + ", cols " + cols + ", inputs " + (large ? "[90, 100]" : "[-10, 10]")
                + ", " + (arena == null ? "heap" : "native") + ", seed " + seed;

        MemorySegment xs = segment(arena, x);
        MemorySegment ys = segment(arena, new float[n]);
        backend.forward(xs, ys, rows, cols);
        float[] y = ys.toArray(JAVA_FLOAT);
        assertNull(Reference.mismatch(y, Float64Reference.forward(x, rows, cols), cols), () -> "forward, " + where);

        MemorySegment gxs = segment(arena, new float[n]);
        backend.backward(segment(arena, gy), ys, gxs, rows, cols);
        float[] gx = gxs.toArray(JAVA_FLOAT);
        assertNull(Reference.mismatch(gx, Float64Reference.backward(gy, y, rows, cols), cols), () -> "backward, " + where);
    }

    static MemorySegment segment(Arena arena, float[] values) {
        if (arena == null) {
            return MemorySegment.ofArray(values.clone());
        }
        MemorySegment segment = arena.allocate((long) values.length * Float.BYTES, 64);
        MemorySegment.copy(values, 0, segment, JAVA_FLOAT, 0, values.length);
        return segment;
    }
}
