package org.softmax4j;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Eight threads share one read-only input in a shared arena, each writing its own outputs, through
 * the static entries (small work: critical calls; large work: ordinary ones) and through an op per
 * thread. Every result must equal the single-threaded one bit for bit.
 */
class ConcurrencyTest {
    static final int THREADS = 8;
    static final int ROUNDS = 20;

    @Test
    void concurrentCallsOnSharedInputGiveTheSingleThreadedResults() throws Exception {
        for (int[] size : new int[][] {{16, 100}, {4, 20_000}}) {
            int rows = size[0];
            int cols = size[1];
            int n = rows * cols;
            float[] x = Softmax4jTest.random(n, 31);
            float[] gy = Softmax4jTest.random(n, 32);
            float[] expectedY = new float[n];
            float[] expectedGx = new float[n];
            Softmax4j.logSoftmaxForward(x, expectedY, rows, cols);
            Softmax4j.logSoftmaxBackward(gy, expectedY, expectedGx, rows, cols);

            try (Arena shared = Arena.ofShared(); ExecutorService pool = Executors.newFixedThreadPool(THREADS)) {
                MemorySegment xs = shared.allocateFrom(JAVA_FLOAT, x).asReadOnly();
                MemorySegment gys = shared.allocateFrom(JAVA_FLOAT, gy).asReadOnly();
                CountDownLatch start = new CountDownLatch(1);
                List<Future<?>> futures = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    boolean useOp = t % 2 == 1;
                    futures.add(pool.submit(() -> {
                        start.await();
                        try (Arena own = Arena.ofConfined()) {
                            MemorySegment y = own.allocate(JAVA_FLOAT, n);
                            MemorySegment gx = own.allocate(JAVA_FLOAT, n);
                            LogSoftmax op = new LogSoftmax();
                            for (int round = 0; round < ROUNDS; round++) {
                                if (useOp) {
                                    op.forward(Tensor.wrap(xs, rows, cols), Tensor.wrap(y, rows, cols));
                                    op.backward(Tensor.wrap(gys, rows, cols), Tensor.wrap(gx, rows, cols));
                                } else {
                                    Softmax4j.logSoftmaxForward(xs, y, rows, cols);
                                    Softmax4j.logSoftmaxBackward(gys, y, gx, rows, cols);
                                }
                                assertArrayEquals(expectedY, y.toArray(JAVA_FLOAT));
                                assertArrayEquals(expectedGx, gx.toArray(JAVA_FLOAT));
                            }
                        }
                        return null;
                    }));
                }
                start.countDown();
                for (Future<?> future : futures) {
                    future.get(); // rethrows a thread's assertion failure
                }
            }
        }
    }
}
