package org.softmax4j.internal;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;

import java.lang.foreign.MemorySegment;

/**
 * The pure-Java kernels, used when the native library cannot load. The algorithm and the special
 * values are those of the C kernels: the row maximum is subtracted first, so large logits do not
 * overflow {@code exp}; a NaN or {@code +inf} anywhere makes the maximum or a shifted value NaN,
 * which spreads to the whole row; {@code -inf} entries shift to {@code -inf}, whose {@code exp}
 * is exactly 0; a row of only {@code -inf} has {@code -inf - -inf = NaN} everywhere.
 *
 * <p>The row sums are accumulated in double, so this backend is at least as accurate as the C
 * ones, which are tested against the same double reference.
 */
public final class JavaBackend implements Backend {
    public static final JavaBackend INSTANCE = new JavaBackend();

    private JavaBackend() {}

    @Override
    public void forward(MemorySegment x, MemorySegment y, long rows, long cols) {
        for (long r = 0; r < rows; r++) {
            long row = r * cols * Float.BYTES;
            long end = row + cols * Float.BYTES;
            float max = Float.NEGATIVE_INFINITY;
            for (long i = row; i < end; i += Float.BYTES) {
                max = Math.max(max, x.get(JAVA_FLOAT_UNALIGNED, i)); // Math.max keeps a NaN
            }
            double sum = 0;
            for (long i = row; i < end; i += Float.BYTES) {
                sum += Math.exp(x.get(JAVA_FLOAT_UNALIGNED, i) - max);
            }
            float logSum = (float) Math.log(sum);
            // Reads x[i] before writing y[i], so y may be x.
            for (long i = row; i < end; i += Float.BYTES) {
                y.set(JAVA_FLOAT_UNALIGNED, i, (x.get(JAVA_FLOAT_UNALIGNED, i) - max) - logSum);
            }
        }
    }

    @Override
    public void backward(MemorySegment gy, MemorySegment y, MemorySegment gx, long rows, long cols) {
        for (long r = 0; r < rows; r++) {
            long row = r * cols * Float.BYTES;
            long end = row + cols * Float.BYTES;
            double sum = 0;
            for (long i = row; i < end; i += Float.BYTES) {
                sum += gy.get(JAVA_FLOAT_UNALIGNED, i);
            }
            // Reads gy[i] and y[i] before writing gx[i], so gx may be either of them.
            for (long i = row; i < end; i += Float.BYTES) {
                double g = gy.get(JAVA_FLOAT_UNALIGNED, i) - Math.exp(y.get(JAVA_FLOAT_UNALIGNED, i)) * sum;
                gx.set(JAVA_FLOAT_UNALIGNED, i, (float) g);
            }
        }
    }

    @Override
    public void forward(SoftmaxOp op, MemorySegment x, MemorySegment y, long outer, long dim, long inner) {
        long step = inner * Float.BYTES;
        for (long o = 0; o < outer; o++) {
            for (long j = 0; j < inner; j++) {
                long start = (o * dim * inner + j) * Float.BYTES;
                long end = start + dim * step;
                float max = Float.NEGATIVE_INFINITY;
                for (long i = start; i < end; i += step) {
                    max = Math.max(max, x.get(JAVA_FLOAT_UNALIGNED, i)); // Math.max keeps a NaN
                }
                double sum = 0;
                for (long i = start; i < end; i += step) {
                    sum += Math.exp(x.get(JAVA_FLOAT_UNALIGNED, i) - max);
                }
                float logSum = (float) Math.log(sum);
                double inverse = 1 / sum;
                // Reads x[i] before writing y[i], so y may be x.
                for (long i = start; i < end; i += step) {
                    float shifted = x.get(JAVA_FLOAT_UNALIGNED, i) - max;
                    y.set(JAVA_FLOAT_UNALIGNED, i, op == SoftmaxOp.LOG_SOFTMAX
                            ? shifted - logSum
                            : (float) (Math.exp(shifted) * inverse));
                }
            }
        }
    }

    @Override
    public void backward(SoftmaxOp op, MemorySegment gy, MemorySegment y, MemorySegment gx, long outer, long dim,
            long inner) {
        long step = inner * Float.BYTES;
        for (long o = 0; o < outer; o++) {
            for (long j = 0; j < inner; j++) {
                long start = (o * dim * inner + j) * Float.BYTES;
                long end = start + dim * step;
                double sum = 0;
                for (long i = start; i < end; i += step) {
                    double g = gy.get(JAVA_FLOAT_UNALIGNED, i);
                    sum += op == SoftmaxOp.LOG_SOFTMAX ? g : g * y.get(JAVA_FLOAT_UNALIGNED, i);
                }
                // Reads gy[i] and y[i] before writing gx[i], so gx may be either of them.
                for (long i = start; i < end; i += step) {
                    double g = gy.get(JAVA_FLOAT_UNALIGNED, i);
                    double out = y.get(JAVA_FLOAT_UNALIGNED, i);
                    gx.set(JAVA_FLOAT_UNALIGNED, i, (float) (op == SoftmaxOp.LOG_SOFTMAX
                            ? g - Math.exp(out) * sum
                            : out * (g - sum)));
                }
            }
        }
    }

    @Override
    public void logSumExpForward(MemorySegment x, MemorySegment out, long outer, long dim, long inner) {
        long step = inner * Float.BYTES;
        for (long o = 0; o < outer; o++) {
            for (long j = 0; j < inner; j++) {
                long start = (o * dim * inner + j) * Float.BYTES;
                long end = start + dim * step;
                float max = Float.NEGATIVE_INFINITY;
                boolean nan = false;
                for (long i = start; i < end; i += step) {
                    float v = x.get(JAVA_FLOAT_UNALIGNED, i);
                    nan |= v != v;
                    max = Math.max(max, v);
                }
                float result;
                if (nan || Float.isInfinite(max)) {
                    // torch.logsumexp: NaN stays NaN, a max of +-inf is the result.
                    result = nan ? Float.NaN : max;
                } else {
                    double sum = 0;
                    for (long i = start; i < end; i += step) {
                        sum += Math.exp(x.get(JAVA_FLOAT_UNALIGNED, i) - max);
                    }
                    result = (float) (max + Math.log(sum));
                }
                out.set(JAVA_FLOAT_UNALIGNED, (o * inner + j) * Float.BYTES, result);
            }
        }
    }

    @Override
    public void logSumExpBackward(MemorySegment gy, MemorySegment x, MemorySegment gx, long outer, long dim,
            long inner) {
        // softmax(x) into gx, then each slice scaled by its gradient; gx may be x.
        forward(SoftmaxOp.SOFTMAX, x, gx, outer, dim, inner);
        for (long o = 0; o < outer; o++) {
            for (long c = 0; c < dim; c++) {
                for (long j = 0; j < inner; j++) {
                    long at = ((o * dim + c) * inner + j) * Float.BYTES;
                    float g = gy.get(JAVA_FLOAT_UNALIGNED, (o * inner + j) * Float.BYTES);
                    gx.set(JAVA_FLOAT_UNALIGNED, at, gx.get(JAVA_FLOAT_UNALIGNED, at) * g);
                }
            }
        }
    }

    @Override
    public String name() {
        return "java";
    }

    @Override
    public String isa() {
        return "java";
    }

    @Override
    public String toString() {
        return "JavaBackend";
    }
}
