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
