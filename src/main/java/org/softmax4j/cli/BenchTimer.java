package org.softmax4j.cli;

import java.util.Arrays;

/**
 * Times an operation: warm-up first (until the JIT has compiled it and the data is where repeated
 * calls find it), then batches of calls of about a millisecond each, and the median time of one
 * call over the batches, which shrugs off an interrupt or a collection in one of them.
 */
final class BenchTimer {
    /** Runs the operation {@code n} times; the loop lives in the caller's lambda, so each call site sees one target. */
    @FunctionalInterface
    interface Calls {
        void run(int n);
    }

    private static final long WARMUP_NANOS = 40_000_000;
    private static final long BATCH_NANOS = 1_000_000;
    private static final long TIMED_NANOS = 150_000_000;
    private static final int MIN_SAMPLES = 3;
    private static final int MAX_SAMPLES = 9;

    private BenchTimer() {}

    /** The median time of one call, in nanoseconds. */
    static double nanosPerCall(Calls calls) {
        long start = System.nanoTime();
        long done = 0;
        int n = 1;
        long elapsed;
        do {
            calls.run(n);
            done += n;
            elapsed = System.nanoTime() - start;
            if (elapsed < WARMUP_NANOS / 4 && n < (1 << 24)) {
                n *= 2;
            }
        } while (done < 2 || elapsed < WARMUP_NANOS);

        double estimate = (double) elapsed / done;
        int batch = (int) Math.max(1, Math.min(1 << 24, BATCH_NANOS / estimate));
        double[] samples = new double[MAX_SAMPLES];
        int count = 0;
        long timed = 0;
        while (count < MAX_SAMPLES && (count < MIN_SAMPLES || timed < TIMED_NANOS)) {
            long t0 = System.nanoTime();
            calls.run(batch);
            long t = System.nanoTime() - t0;
            timed += t;
            samples[count++] = (double) t / batch;
        }
        double[] sorted = Arrays.copyOf(samples, count);
        Arrays.sort(sorted);
        return count % 2 == 1 ? sorted[count / 2] : (sorted[count / 2 - 1] + sorted[count / 2]) / 2;
    }
}
