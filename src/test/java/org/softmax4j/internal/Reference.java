package org.softmax4j.internal;

/**
 * Log-softmax forward and backward in double, from float inputs: the yardstick of the tests. It
 * follows the same special-value rules as the kernels by construction: a NaN or {@code +inf}
 * poisons the maximum or the sum, and {@code exp(-inf) = 0}.
 */
public final class Reference {
    /** The accuracy every backend promises: |error| <= 2e-6 * max(1, |exact|). */
    public static final double BOUND = 2e-6;

    private Reference() {}

    public static double[] forward(float[] x, int rows, int cols) {
        double[] y = new double[rows * cols];
        for (int r = 0; r < rows; r++) {
            int base = r * cols;
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < cols; c++) {
                max = Math.max(max, x[base + c]);
            }
            double sum = 0;
            for (int c = 0; c < cols; c++) {
                sum += Math.exp(x[base + c] - max);
            }
            double logSum = Math.log(sum);
            for (int c = 0; c < cols; c++) {
                y[base + c] = (x[base + c] - max) - logSum;
            }
        }
        return y;
    }

    /** {@code gx = gy - exp(y) * sum(gy)} in double, from the float {@code y} a backend produced. */
    public static double[] backward(float[] gy, float[] y, int rows, int cols) {
        double[] gx = new double[rows * cols];
        for (int r = 0; r < rows; r++) {
            int base = r * cols;
            double sum = 0;
            for (int c = 0; c < cols; c++) {
                sum += gy[base + c];
            }
            for (int c = 0; c < cols; c++) {
                gx[base + c] = gy[base + c] - Math.exp(y[base + c]) * sum;
            }
        }
        return gx;
    }

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
