package org.softmax4j.internal;

/**
 * Log-softmax forward and backward computed in double from float inputs: the yardstick of the
 * CLI's self-check and of the tests. It follows the kernels' special-value rules by construction:
 * a NaN or {@code +inf} poisons the maximum or the sum, and {@code exp(-inf) = 0}.
 *
 * <p>Not part of the API: public only so that the CLI and the tests can reach it.
 */
public final class Float64Reference {
    /** The accuracy every backend promises: |error| <= 2e-6 * max(1, |exact|). */
    public static final double BOUND = 2e-6;

    private Float64Reference() {}

    /** Row-wise log-softmax of {@code x} in double, with the same special-value rules as the kernels. */
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

    /** Row-wise gradient {@code gy - exp(y) * sum(gy)} in double, from the float output {@code y}. */
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
     * The largest error of {@code actual} against {@code expected}, each scaled by
     * {@code max(1, |expected|)}: the measure {@link #BOUND} is stated in.
     * A NaN or infinity must be matched exactly; a mismatch counts as an infinite error.
     */
    public static double maxScaledError(float[] actual, double[] expected) {
        double worst = 0;
        for (int i = 0; i < actual.length; i++) {
            double a = actual[i];
            double e = expected[i];
            double error;
            if (Double.isNaN(e) || Double.isInfinite(e)) {
                error = (Double.isNaN(e) ? Double.isNaN(a) : a == e) ? 0 : Double.POSITIVE_INFINITY;
            } else {
                error = Math.abs(a - e) / Math.max(1, Math.abs(e));
            }
            worst = Math.max(worst, error);
        }
        return worst;
    }
}
