package org.softmax4j.jmh;

/**
 * The baseline a Java developer writes first: scalar loops, {@code Math.exp} and a {@code double}
 * sum, three passes per row forward (max, sum, write) and two backward (sum, write).
 */
final class JavaLoopLogSoftmax {
    private JavaLoopLogSoftmax() {}

    static void forward(float[] x, float[] y, int rows, int cols) {
        for (int r = 0; r < rows; r++) {
            int from = r * cols;
            int to = from + cols;
            float max = Float.NEGATIVE_INFINITY;
            for (int i = from; i < to; i++) {
                max = Math.max(max, x[i]);
            }
            double sum = 0;
            for (int i = from; i < to; i++) {
                sum += Math.exp(x[i] - max);
            }
            float logSum = (float) Math.log(sum);
            for (int i = from; i < to; i++) {
                y[i] = (x[i] - max) - logSum;
            }
        }
    }

    static void backward(float[] gy, float[] y, float[] gx, int rows, int cols) {
        for (int r = 0; r < rows; r++) {
            int from = r * cols;
            int to = from + cols;
            double sum = 0;
            for (int i = from; i < to; i++) {
                sum += gy[i];
            }
            for (int i = from; i < to; i++) {
                gx[i] = (float) (gy[i] - Math.exp(y[i]) * sum);
            }
        }
    }
}
