package org.softmax4j;

/**
 * A float64 reference for the losses, written from PyTorch's definitions and not from our
 * kernels: log-softmax by log-sum-exp, the loss as {@code -sum_c q_c * logp_c}, and the gradient
 * by the chain rule through log-softmax ({@code dlogp = -scale * q}, then
 * {@code g = dlogp - softmax * sum(dlogp)}), where the kernels use the fused closed form.
 *
 * <p>Arrays are in the memory order of {@code [N, C, inner]}: element {@code (i, c, j)} at
 * {@code (i * C + c) * inner + j}, position {@code (i, j)} at {@code i * inner + j}.
 */
final class LossReference {
    /** Per-position losses, their sum, the mean's denominator, and the gradient. */
    record Result(double[] losses, double sum, double denominator, double[] grad) {
        double reduced(Reduction reduction) {
            return switch (reduction) {
                case NONE -> Double.NaN;
                case SUM -> sum;
                case MEAN -> sum / denominator;
            };
        }
    }

    private LossReference() {}

    /** Log-softmax over dimension 1 of {@code [n, classes, inner]}. */
    static double[] logSoftmax(float[] x, int n, int classes, int inner) {
        double[] out = new double[x.length];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < inner; j++) {
                double m = Double.NEGATIVE_INFINITY;
                for (int c = 0; c < classes; c++) {
                    m = Math.max(m, x[(i * classes + c) * inner + j]);
                }
                double s = 0;
                for (int c = 0; c < classes; c++) {
                    s += Math.exp(x[(i * classes + c) * inner + j] - m);
                }
                double lse = m + Math.log(s);
                for (int c = 0; c < classes; c++) {
                    out[(i * classes + c) * inner + j] = x[(i * classes + c) * inner + j] - lse;
                }
            }
        }
        return out;
    }

    /**
     * The loss of log-probabilities {@code logp} for index targets ({@code indices}, else
     * {@code probs}), with {@code gradLoss} per position (null: {@code scalarGrad} on the
     * reduction, which {@code reduction} turns into per-position scales). {@code fromLogits}:
     * whether the gradient goes back through log-softmax (cross-entropy) or stops at logp (NLL).
     */
    static Result compute(double[] logp, int n, int classes, int inner, long[] indices, float[] probs,
            float[] weight, long ignoreIndex, double eps, Reduction reduction, float[] gradLoss, double scalarGrad,
            boolean fromLogits) {
        int positions = n * inner;
        double[] losses = new double[positions];
        double[][] q = new double[positions][];
        double sum = 0;
        double denominator = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < inner; j++) {
                int p = i * inner + j;
                double[] qp = new double[classes];
                if (indices != null) {
                    long t = indices[p];
                    if (t == ignoreIndex) {
                        continue;
                    }
                    for (int c = 0; c < classes; c++) {
                        qp[c] = eps / classes * w(weight, c);
                    }
                    qp[(int) t] += (1 - eps) * w(weight, (int) t);
                    denominator += w(weight, (int) t);
                } else {
                    for (int c = 0; c < classes; c++) {
                        qp[c] = w(weight, c) * ((1 - eps) * probs[(i * classes + c) * inner + j] + eps / classes);
                    }
                    denominator += 1;
                }
                double l = 0;
                for (int c = 0; c < classes; c++) {
                    l -= qp[c] * logp[(i * classes + c) * inner + j];
                }
                losses[p] = l;
                sum += l;
                q[p] = qp;
            }
        }
        double[] grad = new double[logp.length];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < inner; j++) {
                int p = i * inner + j;
                if (q[p] == null) {
                    continue;
                }
                double scale = switch (reduction) {
                    case NONE -> gradLoss[p];
                    case SUM -> scalarGrad;
                    case MEAN -> scalarGrad / denominator;
                };
                double dsum = 0;
                for (int c = 0; c < classes; c++) {
                    dsum += -scale * q[p][c];
                }
                for (int c = 0; c < classes; c++) {
                    int e = (i * classes + c) * inner + j;
                    double dlogp = -scale * q[p][c];
                    grad[e] = fromLogits ? dlogp - Math.exp(logp[e]) * dsum : dlogp;
                }
            }
        }
        return new Result(losses, sum, denominator, grad);
    }

    private static double w(float[] weight, int c) {
        return weight == null ? 1.0 : weight[c];
    }
}
