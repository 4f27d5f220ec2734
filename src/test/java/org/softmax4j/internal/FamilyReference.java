package org.softmax4j.internal;

/**
 * Log-softmax and softmax over the middle dimension of {@code [outer, dim, inner]}, forward and
 * backward, in double from float inputs: the yardstick of the family's tests, written apart from
 * the kernels. Special values follow the kernels' rules: a NaN or {@code +inf} in a slice, or a
 * slice of only {@code -inf}, gives NaN throughout.
 */
final class FamilyReference {
    private FamilyReference() {}

    static double[] forward(SoftmaxOp op, float[] x, int outer, int dim, int inner) {
        double[] y = new double[x.length];
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < inner; j++) {
                int base = o * dim * inner + j;
                double max = Double.NEGATIVE_INFINITY;
                boolean nan = false;
                for (int c = 0; c < dim; c++) {
                    float v = x[base + c * inner];
                    nan |= Float.isNaN(v) || v == Float.POSITIVE_INFINITY;
                    max = Math.max(max, v);
                }
                nan |= max == Double.NEGATIVE_INFINITY;
                double sum = 0;
                for (int c = 0; c < dim; c++) {
                    sum += Math.exp(x[base + c * inner] - max);
                }
                for (int c = 0; c < dim; c++) {
                    double shifted = x[base + c * inner] - max;
                    y[base + c * inner] = nan ? Double.NaN
                            : op == SoftmaxOp.LOG_SOFTMAX ? shifted - Math.log(sum) : Math.exp(shifted) / sum;
                }
            }
        }
        return y;
    }

    /** The gradient from the float output {@code y} that the kernels are given. */
    static double[] backward(SoftmaxOp op, float[] gy, float[] y, int outer, int dim, int inner) {
        double[] gx = new double[gy.length];
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < inner; j++) {
                int base = o * dim * inner + j;
                double sum = 0;
                for (int c = 0; c < dim; c++) {
                    int i = base + c * inner;
                    sum += op == SoftmaxOp.LOG_SOFTMAX ? gy[i] : (double) gy[i] * y[i];
                }
                for (int c = 0; c < dim; c++) {
                    int i = base + c * inner;
                    gx[i] = op == SoftmaxOp.LOG_SOFTMAX ? gy[i] - Math.exp(y[i]) * sum : y[i] * (gy[i] - sum);
                }
            }
        }
        return gx;
    }
}
