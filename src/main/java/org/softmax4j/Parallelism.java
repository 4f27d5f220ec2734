package org.softmax4j;

/**
 * How many threads one call may use, splitting its rows into contiguous slices: an explicit,
 * opt-in setting. The default, {@link #single()}, runs every call on the caller thread.
 *
 * <pre>{@code
 * Parallelism two = Parallelism.threads(2);
 * Softmax4j.logSoftmaxForward(x, y, rows, cols, two);  // static entries
 * LogSoftmax op = new LogSoftmax(-1, two);             // or an operation
 * }</pre>
 *
 * <p>A call uses more than one thread only when its work is large enough to pay for the hand-off
 * (about ten microseconds): at least {@link #minElementsPerThread()} elements per thread, default
 * {@value #DEFAULT_MIN_ELEMENTS_PER_THREAD}; smaller calls run on the caller thread and start no
 * thread. Each slice has whole rows, so a matrix of fewer rows than threads uses fewer threads,
 * and results are identical to a single-threaded call.
 *
 * <p>The caller thread computes the first slice; the others go to a pool of daemon threads shared
 * by all calls, started on first use with {@code availableProcessors() - 1} threads, so that
 * Softmax4J never keeps more threads busy than there are processors. Every argument check runs
 * on the caller thread before any slice starts, and the call returns when every slice is done.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class Parallelism {
    /**
     * The default {@link #minElementsPerThread()}: with 2^17 elements (512 KiB of input), a slice
     * takes 15 microseconds or more, several times the cost of handing it to another thread.
     */
    public static final long DEFAULT_MIN_ELEMENTS_PER_THREAD = 1L << 17;

    private static final Parallelism SINGLE = new Parallelism(1, DEFAULT_MIN_ELEMENTS_PER_THREAD);

    private final int threads;
    private final long minElementsPerThread;

    private Parallelism(int threads, long minElementsPerThread) {
        this.threads = threads;
        this.minElementsPerThread = minElementsPerThread;
    }

    /** One thread, the caller's: the default. */
    public static Parallelism single() {
        return SINGLE;
    }

    /**
     * Up to {@code threads} threads per call, the caller's included.
     *
     * @throws IllegalArgumentException if {@code threads} is below 1 or above
     *     {@code Runtime.getRuntime().availableProcessors()}
     */
    public static Parallelism threads(int threads) {
        int processors = Runtime.getRuntime().availableProcessors();
        if (threads < 1 || threads > processors) {
            throw new IllegalArgumentException("threads must be in [1, " + processors
                    + "] (1 to the available processors), was " + threads);
        }
        return threads == 1 ? SINGLE : new Parallelism(threads, DEFAULT_MIN_ELEMENTS_PER_THREAD);
    }

    /** As many threads as there are available processors. */
    public static Parallelism allProcessors() {
        return threads(Runtime.getRuntime().availableProcessors());
    }

    /**
     * The same number of threads, used only when each gets at least {@code elements} elements.
     *
     * @throws IllegalArgumentException if {@code elements} is below 1
     */
    public Parallelism withMinElementsPerThread(long elements) {
        if (elements < 1) {
            throw new IllegalArgumentException("elements must be >= 1, was " + elements);
        }
        return new Parallelism(threads, elements);
    }

    /** The most threads a call may use, the caller's included. */
    public int threads() {
        return threads;
    }

    /** The fewest elements a thread is given: smaller calls use fewer threads. */
    public long minElementsPerThread() {
        return minElementsPerThread;
    }

    /**
     * The number of threads a call on {@code rows x cols} uses: at most {@link #threads()}, at
     * most {@code rows}, and at most one per {@link #minElementsPerThread()} elements; at least 1.
     * Assumes valid sizes ({@code rows, cols >= 0}, product within a {@code long}).
     */
    public int threadsFor(long rows, long cols) {
        if (threads == 1) {
            return 1;
        }
        long byWork = rows * cols / minElementsPerThread;
        return (int) Math.max(1, Math.min(threads, Math.min(rows, byWork)));
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Parallelism that
                && threads == that.threads
                && minElementsPerThread == that.minElementsPerThread;
    }

    @Override
    public int hashCode() {
        return 31 * threads + Long.hashCode(minElementsPerThread);
    }

    @Override
    public String toString() {
        return threads == 1
                ? "Parallelism[single]"
                : "Parallelism[threads=" + threads + ", minElementsPerThread=" + minElementsPerThread + "]";
    }
}
