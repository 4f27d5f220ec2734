package org.softmax4j.jmh;

import java.util.SplittableRandom;

/** Seeded inputs for the benchmarks, and the check that a baseline computes the right answer. */
final class TestData {
    private TestData() {}

    /** Logits uniform in [-10, 10): wide enough that the max shift matters, seeded so runs repeat. */
    static float[] logits(int n, long seed) {
        return uniform(n, seed, 10f);
    }

    /** Output gradients uniform in [-1, 1). */
    static float[] gradients(int n, long seed) {
        return uniform(n, seed, 1f);
    }

    private static float[] uniform(int n, long seed, float halfWidth) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) ((random.nextDouble() * 2 - 1) * halfWidth);
        }
        return a;
    }

    /**
     * Throws unless every element of {@code actual} is within {@code 1e-5 * max(1, |expected|)} of
     * {@code expected}: five times looser than the library's own bound, since the baselines are
     * checked for being right, not for being as accurate.
     */
    static void requireClose(String what, float[] expected, float[] actual) {
        if (expected.length != actual.length) {
            throw new IllegalStateException(what + ": " + actual.length + " elements, expected " + expected.length);
        }
        for (int i = 0; i < expected.length; i++) {
            float e = expected[i];
            float a = actual[i];
            if (!(Math.abs(a - e) <= 1e-5f * Math.max(1f, Math.abs(e)))) {
                throw new IllegalStateException(what + " is wrong at element " + i + ": " + a + ", expected " + e);
            }
        }
    }
}
