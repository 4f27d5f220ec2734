package org.softmax4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.softmax4j.DType;
import org.softmax4j.Parallelism;

/** How calls are split into slices of rows: which threads run them, and what each slice covers. */
class RowParallelTest {
    /** Records each call's thread and its rows and byte offset into the segments. */
    static class Recorder implements Backend {
        final Set<Thread> threads = ConcurrentHashMap.newKeySet();
        final List<long[]> slices = Collections.synchronizedList(new ArrayList<>()); // {offset, rows}
        final MemorySegment base;

        Recorder(MemorySegment base) {
            this.base = base;
        }

        @Override
        public void forward(MemorySegment x, MemorySegment y, long rows, long cols) {
            threads.add(Thread.currentThread());
            slices.add(new long[] {x.address() - base.address(), rows});
            assertEquals(rows * cols * Float.BYTES, x.byteSize());
            assertEquals(x.address() - base.address(), y.address() - base.address());
        }

        @Override
        public void backward(MemorySegment gy, MemorySegment y, MemorySegment gx, long rows, long cols) {
            forward(gy, gx, rows, cols);
        }

        @Override
        public void forward(SoftmaxOp op, MemorySegment x, MemorySegment y, long outer, long dim, long inner) {
            // A slice of whole [dim, inner] slabs: recorded as its offset and its number of slabs.
            forward(x, y, outer, dim * inner);
        }

        @Override
        public void backward(SoftmaxOp op, MemorySegment gy, MemorySegment y, MemorySegment gx, long outer,
                long dim, long inner) {
            forward(gy, gx, outer, dim * inner);
        }

        @Override
        public void logSumExpForward(MemorySegment x, MemorySegment out, long outer, long dim, long inner) {
            throw new UnsupportedOperationException("only rows are split");
        }

        @Override
        public void logSumExpBackward(MemorySegment gy, MemorySegment x, MemorySegment gx, long outer, long dim,
                long inner) {
            throw new UnsupportedOperationException("only rows are split");
        }

        @Override
        public String name() {
            return "recorder";
        }

        @Override
        public String isa() {
            return "recorder";
        }
    }

    @Test
    void smallWorkStaysOnTheCallerThread() {
        Parallelism all = Parallelism.allProcessors();
        long[][] shapes = {{1, 10}, {1, 1000}, {64, 1000}, {1, 1 << 20}, {3, 1000}};
        for (long[] shape : shapes) {
            MemorySegment memory = MemorySegment.ofArray(new float[(int) (shape[0] * shape[1])]);
            Recorder recorder = new Recorder(memory);
            RowParallel.forward(recorder, memory, memory, shape[0], shape[1], all.threadsFor(shape[0], shape[1]));
            RowParallel.backward(recorder, memory, memory, memory, shape[0], shape[1],
                    all.threadsFor(shape[0], shape[1]));
            assertEquals(Set.of(Thread.currentThread()), recorder.threads, "shape " + shape[0] + "x" + shape[1]);
            assertEquals(2, recorder.slices.size());
        }
    }

    @Test
    void slicesCoverEveryRowOnceInOrderOfOffset() {
        for (int slices = 1; slices <= 5; slices++) {
            for (long rows : new long[] {slices, slices + 1, 7, 100, 1001}) {
                long cols = 3;
                MemorySegment memory = MemorySegment.ofArray(new float[(int) (rows * cols)]);
                Recorder recorder = new Recorder(memory);
                RowParallel.forward(recorder, memory, memory, rows, cols, slices);
                List<long[]> sorted = new ArrayList<>(recorder.slices);
                sorted.sort((a, b) -> Long.compare(a[0], b[0]));
                assertEquals(slices, sorted.size());
                long next = 0;
                for (long[] slice : sorted) {
                    assertEquals(next * cols * Float.BYTES, slice[0]);
                    assertTrue(slice[1] >= rows / slices && slice[1] <= rows / slices + 1);
                    next += slice[1];
                }
                assertEquals(rows, next);
                assertTrue(recorder.threads.contains(Thread.currentThread()));
            }
        }
    }

    @Test
    void otherDimensionsAreSplitByWholeSlabs() {
        long outer = 7, dim = 5, inner = 3;
        for (int slices = 1; slices <= 4; slices++) {
            MemorySegment memory = MemorySegment.ofArray(new float[(int) (outer * dim * inner)]);
            Recorder recorder = new Recorder(memory);
            RowParallel.forward(recorder, SoftmaxOp.SOFTMAX, DType.FLOAT32, memory, memory, outer, dim, inner, slices);
            RowParallel.backward(recorder, SoftmaxOp.SOFTMAX, DType.FLOAT32, memory, memory, memory, outer, dim, inner,
                    slices);
            List<long[]> sorted = new ArrayList<>(recorder.slices);
            sorted.sort((a, b) -> Long.compare(a[0], b[0]));
            assertEquals(2 * slices, sorted.size());
            long covered = 0;
            for (long[] slice : sorted) {
                covered += slice[1];
                assertEquals(0, slice[0] % (dim * inner * Float.BYTES), "a slice starts on a slab boundary");
            }
            assertEquals(2 * outer, covered, "every slab once per direction");
        }
    }

    @Test
    void thePoolNeverOutgrowsTheProcessors() {
        MemorySegment memory = MemorySegment.ofArray(new float[64]);
        Recorder recorder = new Recorder(memory);
        for (int i = 0; i < 20; i++) {
            RowParallel.forward(recorder, memory, memory, 64, 1, 8);
        }
        assertTrue(RowParallel.startedPoolThreads() <= Math.max(1, RowParallel.poolSize()));
        assertTrue(recorder.threads.size() <= Math.max(2, Runtime.getRuntime().availableProcessors()));
        for (Thread thread : recorder.threads) {
            assertTrue(thread == Thread.currentThread() || thread.isDaemon(), thread + " is not a daemon");
        }
    }

    @Test
    void aFailingSliceFailsTheCallAfterEverySliceHasFinished() {
        MemorySegment memory = MemorySegment.ofArray(new float[40]);
        Set<Thread> finished = ConcurrentHashMap.newKeySet();
        IllegalStateException failure = new IllegalStateException("slice failed");
        Backend failing = new Recorder(memory) {
            @Override
            public void forward(MemorySegment x, MemorySegment y, long rows, long cols) {
                if (x.address() != memory.address()) {
                    throw failure; // every slice but the caller's
                }
                finished.add(Thread.currentThread());
            }
        };
        IllegalStateException thrown = assertThrows(IllegalStateException.class,
                () -> RowParallel.forward(failing, memory, memory, 4, 10, 2));
        assertSame(failure, thrown);
        assertEquals(Set.of(Thread.currentThread()), finished);
    }
}
