package org.softmax4j.cli;

import java.util.Arrays;
import java.util.List;

/**
 * Times operations that are compared with each other: warm-up first (until the JIT has compiled
 * each and the data is where repeated calls find it), then rounds, each timing one batch of calls
 * (about a millisecond, after one untimed call) of every operation in turn. This machine's speed moves from one second to
 * the next, so a time is compared only with times taken in the same rounds: a ratio is the median
 * over the rounds of the two operations' times in the same round. Medians shrug off an interrupt
 * or a collection in one batch.
 */
final class BenchTimer {
    /** Runs the operation {@code n} times; the loop lives in the caller's lambda, so each call site sees one target. */
    @FunctionalInterface
    interface Calls {
        void run(int n);
    }

    private static final long WARMUP_NANOS = 40_000_000;
    private static final long BATCH_NANOS = 1_000_000;
    private static final long TIMED_NANOS_PER_OPERATION = 150_000_000;
    private static final int MIN_ROUNDS = 3;
    private static final int MAX_ROUNDS = 9;

    private BenchTimer() {}

    /**
     * The time per call of each operation in each round: {@code [operation][round]}, in
     * nanoseconds, with at least {@value #MIN_ROUNDS} and at most {@value #MAX_ROUNDS} rounds.
     */
    static double[][] rounds(List<Calls> operations) {
        int count = operations.size();
        int[] batch = new int[count];
        for (int k = 0; k < count; k++) {
            batch[k] = warmUp(operations.get(k));
        }
        double[][] samples = new double[count][MAX_ROUNDS];
        int rounds = 0;
        long timed = 0;
        while (rounds < MAX_ROUNDS && (rounds < MIN_ROUNDS || timed < TIMED_NANOS_PER_OPERATION * count)) {
            for (int k = 0; k < count; k++) {
                // One call untimed: a batch of a large shape may be one call, which would otherwise
                // find the caches as the previous operation left them.
                operations.get(k).run(1);
                long t0 = System.nanoTime();
                operations.get(k).run(batch[k]);
                long t = System.nanoTime() - t0;
                timed += t;
                samples[k][rounds] = (double) t / batch[k];
            }
            rounds++;
        }
        for (int k = 0; k < count; k++) {
            samples[k] = Arrays.copyOf(samples[k], rounds);
        }
        return samples;
    }

    /** Runs the operation for {@value #WARMUP_NANOS} ns and returns a batch size of about {@value #BATCH_NANOS} ns. */
    private static int warmUp(Calls calls) {
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
        return (int) Math.max(1, Math.min(1 << 24, BATCH_NANOS / estimate));
    }

    /** The median of the samples (the mean of the middle two for an even count). */
    static double median(double[] samples) {
        double[] sorted = samples.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** The median over rounds of {@code a[round] / b[round]}. */
    static double medianRatio(double[] a, double[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("a has " + a.length + " rounds, b has " + b.length);
        }
        double[] ratios = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            ratios[i] = a[i] / b[i];
        }
        return median(ratios);
    }
}
