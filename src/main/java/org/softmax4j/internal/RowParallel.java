package org.softmax4j.internal;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.softmax4j.DType;

/**
 * Runs one kernel call as several, each on a contiguous slice of whole rows: the caller thread
 * takes the first slice and a shared pool of daemon threads the others. Rows are independent, so
 * every row is computed exactly as one call would compute it, at the same address.
 *
 * <p>The pool starts on the first call that splits, with {@code availableProcessors() - 1}
 * threads: with the caller, never more threads busy than processors, however many callers share
 * it (the extra slices wait in its queue).
 *
 * <p>The arguments must already have passed {@link Checks} on the caller thread. A segment of a
 * confined arena may only be used by its owner thread, so the other threads get an unscoped view
 * of the same memory: safe, because only the owner can close that arena, and the owner waits in
 * this class until every slice has finished, even when interrupted or when a slice fails.
 */
public final class RowParallel {
    /** An unstarted thread: a segment it may access is accessible from any thread. */
    private static final Thread ANOTHER_THREAD = new Thread(() -> {});

    private RowParallel() {}

    /** The number of pool threads, {@code availableProcessors() - 1}: zero on one processor. */
    public static int poolSize() {
        return Runtime.getRuntime().availableProcessors() - 1;
    }

    /** Forward over {@code slices} slices of rows; one slice runs on the caller thread alone. */
    public static void forward(Backend backend, MemorySegment x, MemorySegment y, long rows, long cols, int slices) {
        if (slices <= 1) {
            backend.forward(x, y, rows, cols);
            return;
        }
        MemorySegment xs = shareable(x);
        MemorySegment ys = y == x ? xs : shareable(y);
        run(rows, cols * Float.BYTES, slices, (offset, sliceRows, bytes) ->
                backend.forward(xs.asSlice(offset, bytes), ys.asSlice(offset, bytes), sliceRows, cols));
    }

    /** Backward over {@code slices} slices of rows; one slice runs on the caller thread alone. */
    public static void backward(
            Backend backend, MemorySegment gy, MemorySegment y, MemorySegment gx, long rows, long cols, int slices) {
        if (slices <= 1) {
            backend.backward(gy, y, gx, rows, cols);
            return;
        }
        MemorySegment gys = shareable(gy);
        MemorySegment ys = y == gy ? gys : shareable(y);
        MemorySegment gxs = gx == gy ? gys : gx == y ? ys : shareable(gx);
        run(rows, cols * Float.BYTES, slices, (offset, sliceRows, bytes) -> backend.backward(
                gys.asSlice(offset, bytes), ys.asSlice(offset, bytes), gxs.asSlice(offset, bytes), sliceRows, cols));
    }

    /**
     * {@code op} forward over the middle dimension of {@code [outer, dim, inner]} elements of
     * {@code dtype}, in {@code slices} slices of whole slabs {@code [dim, inner]}; one slice runs
     * on the caller thread alone.
     */
    public static void forward(Backend backend, SoftmaxOp op, DType dtype, MemorySegment x, MemorySegment y,
            long outer, long dim, long inner, int slices) {
        if (slices <= 1) {
            backend.forward(op, dtype, x, y, outer, dim, inner);
            return;
        }
        MemorySegment xs = shareable(x);
        MemorySegment ys = y == x ? xs : shareable(y);
        run(outer, dim * inner * dtype.byteSize(), slices, (offset, sliceOuter, bytes) ->
                backend.forward(op, dtype, xs.asSlice(offset, bytes), ys.asSlice(offset, bytes), sliceOuter, dim, inner));
    }

    /** {@code op} backward over {@code [outer, dim, inner]}, in slices of whole slabs, as {@link #forward}. */
    public static void backward(Backend backend, SoftmaxOp op, DType dtype, MemorySegment gy, MemorySegment y,
            MemorySegment gx, long outer, long dim, long inner, int slices) {
        if (slices <= 1) {
            backend.backward(op, dtype, gy, y, gx, outer, dim, inner);
            return;
        }
        MemorySegment gys = shareable(gy);
        MemorySegment ys = y == gy ? gys : shareable(y);
        MemorySegment gxs = gx == gy ? gys : gx == y ? ys : shareable(gx);
        run(outer, dim * inner * dtype.byteSize(), slices, (offset, sliceOuter, bytes) -> backend.backward(op, dtype,
                gys.asSlice(offset, bytes), ys.asSlice(offset, bytes), gxs.asSlice(offset, bytes), sliceOuter, dim,
                inner));
    }

    /** One slice: its first byte, its number of rows and its number of bytes in each segment. */
    @FunctionalInterface
    private interface Slice {
        void run(long offset, long rows, long bytes);
    }

    /** Runs {@code rows} rows of {@code rowBytes} bytes each in {@code slices} slices. */
    private static void run(long rows, long rowBytes, int slices, Slice slice) {
        List<Future<?>> others = new ArrayList<>(slices - 1);
        Throwable failure = null;
        try {
            for (int i = 1; i < slices; i++) {
                long first = rows * i / slices;
                long count = rows * (i + 1) / slices - first;
                others.add(Pool.EXECUTOR.submit(() -> slice.run(first * rowBytes, count, count * rowBytes)));
            }
            long count = rows / slices;
            slice.run(0, count, count * rowBytes);
        } catch (Throwable t) {
            failure = t;
        }
        failure = awaitAll(others, failure);
        if (failure instanceof RuntimeException e) {
            throw e;
        }
        if (failure instanceof Error e) {
            throw e;
        }
        if (failure != null) {
            throw new IllegalStateException("a slice of rows failed", failure);
        }
    }

    /** Waits for every slice, interrupted or not; returns the first failure. */
    private static Throwable awaitAll(List<Future<?>> futures, Throwable failure) {
        boolean interrupted = false;
        for (Future<?> future : futures) {
            while (true) {
                try {
                    future.get();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    if (failure == null) {
                        failure = e.getCause();
                    }
                    break;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return failure;
    }

    /**
     * {@code segment} itself when any thread may use it (heap, global, automatic or shared
     * arenas, whose closing the native call guards against); otherwise a view of the same memory
     * without the confinement, see the class documentation.
     */
    @SuppressWarnings("restricted")
    private static MemorySegment shareable(MemorySegment segment) {
        if (segment.isAccessibleBy(ANOTHER_THREAD)) {
            return segment;
        }
        return MemorySegment.ofAddress(segment.address()).reinterpret(segment.byteSize());
    }

    /** The pool, started on first use. */
    private static final class Pool {
        static final ThreadPoolExecutor EXECUTOR = start();

        private static ThreadPoolExecutor start() {
            int threads = Math.max(1, poolSize());
            AtomicInteger count = new AtomicInteger();
            return new ThreadPoolExecutor(threads, threads, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), task -> {
                Thread thread = new Thread(task, "softmax4j-rows-" + count.incrementAndGet());
                thread.setDaemon(true);
                return thread;
            });
        }
    }

    /** The pool threads started so far (for tests): at most {@link #poolSize()}. */
    static int startedPoolThreads() {
        return Pool.EXECUTOR.getPoolSize();
    }
}
