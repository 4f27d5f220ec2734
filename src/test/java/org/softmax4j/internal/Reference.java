package org.softmax4j.internal;

/**
 * The tests' comparison against {@link Float64Reference}: which element breaks the bound, for a
 * readable failure message.
 */
public final class Reference {
    /** The accuracy every backend promises: |error| <= 2e-6 * max(1, |exact|). */
    public static final double BOUND = Float64Reference.BOUND;

    private Reference() {}

    /**
     * Checks {@code actual} against {@code expected} within {@link #BOUND}; a NaN or an infinity
     * must be matched exactly.
     *
     * @return null when all match, otherwise a description of the first mismatch
     */
    public static String mismatch(float[] actual, double[] expected, int cols) {
        for (int i = 0; i < expected.length; i++) {
            double a = actual[i];
            double e = expected[i];
            boolean ok;
            if (Double.isNaN(e)) {
                ok = Double.isNaN(a);
            } else if (Double.isInfinite(e)) {
                ok = a == e;
            } else {
                ok = Math.abs(a - e) <= BOUND * Math.max(1, Math.abs(e));
            }
            if (!ok) {
                return "at row " + (i / cols) + ", col " + (i % cols) + ": got " + actual[i] + ", expected " + e
                        + " (error " + Math.abs(a - e) + ")";
            }
        }
        return null;
    }
}
