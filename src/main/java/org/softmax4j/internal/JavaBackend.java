package org.softmax4j.internal;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import java.lang.foreign.MemorySegment;
import org.softmax4j.DType;

/**
 * The pure-Java kernels, used when the native library cannot load. The algorithm and the special
 * values are those of the C kernels: the row maximum is subtracted first, so large logits do not
 * overflow {@code exp}; a NaN or {@code +inf} anywhere makes the maximum or a shifted value NaN,
 * which spreads to the whole row; {@code -inf} entries shift to {@code -inf}, whose {@code exp}
 * is exactly 0; a row of only {@code -inf} has {@code -inf - -inf = NaN} everywhere.
 *
 * <p>The row sums are accumulated in double, so this backend is at least as accurate as the C
 * ones, which are tested against the same double reference. Float64 sums are compensated
 * (Neumaier); bfloat16 and float16 are widened to float, computed as float32 and rounded once to
 * nearest even on store, as the C kernels do (LogSumExp's {@code max + log(sum)} from double).
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
    public void forward(SoftmaxOp op, DType dtype, MemorySegment x, MemorySegment y, long outer, long dim,
            long inner) {
        switch (dtype) {
            case FLOAT32 -> forward(op, x, y, outer, dim, inner);
            case FLOAT64 -> forward64(op, x, y, outer, dim, inner);
            case BFLOAT16, FLOAT16 -> forwardHalf(op, dtype == DType.BFLOAT16, x, y, outer, dim, inner);
            default -> throw new IllegalArgumentException("dtype must be a floating type, was " + dtype);
        }
    }

    @Override
    public void backward(SoftmaxOp op, DType dtype, MemorySegment gy, MemorySegment y, MemorySegment gx, long outer,
            long dim, long inner) {
        switch (dtype) {
            case FLOAT32 -> backward(op, gy, y, gx, outer, dim, inner);
            case FLOAT64 -> backward64(op, gy, y, gx, outer, dim, inner);
            case BFLOAT16, FLOAT16 -> backwardHalf(op, dtype == DType.BFLOAT16, gy, y, gx, outer, dim, inner);
            default -> throw new IllegalArgumentException("dtype must be a floating type, was " + dtype);
        }
    }

    private static void forward64(SoftmaxOp op, MemorySegment x, MemorySegment y, long outer, long dim, long inner) {
        long step = inner * Double.BYTES;
        for (long o = 0; o < outer; o++) {
            for (long j = 0; j < inner; j++) {
                long start = (o * dim * inner + j) * Double.BYTES;
                long end = start + dim * step;
                double max = max64(x, start, end, step);
                double total = sumExp64(x, start, end, step, max);
                double logSum = Math.log(total);
                double inverse = 1 / total;
                // Reads x[i] before writing y[i], so y may be x.
                for (long i = start; i < end; i += step) {
                    double shifted = x.get(JAVA_DOUBLE_UNALIGNED, i) - max;
                    y.set(JAVA_DOUBLE_UNALIGNED, i,
                            op == SoftmaxOp.LOG_SOFTMAX ? shifted - logSum : Math.exp(shifted) * inverse);
                }
            }
        }
    }

    /** The max of the doubles at {@code start, start + step, ..} before {@code end}; NaN if one is. */
    private static double max64(MemorySegment x, long start, long end, long step) {
        double max = Double.NEGATIVE_INFINITY;
        for (long i = start; i < end; i += step) {
            max = Math.max(max, x.get(JAVA_DOUBLE_UNALIGNED, i)); // Math.max keeps a NaN
        }
        return max;
    }

    /** The compensated sum of {@code exp(x - max)} over the same doubles. */
    private static double sumExp64(MemorySegment x, long start, long end, long step, double max) {
        CompensatedSum sum = new CompensatedSum();
        for (long i = start; i < end; i += step) {
            sum.add(Math.exp(x.get(JAVA_DOUBLE_UNALIGNED, i) - max));
        }
        return sum.total();
    }

    private static void backward64(SoftmaxOp op, MemorySegment gy, MemorySegment y, MemorySegment gx, long outer,
            long dim, long inner) {
        long step = inner * Double.BYTES;
        for (long o = 0; o < outer; o++) {
            for (long j = 0; j < inner; j++) {
                long start = (o * dim * inner + j) * Double.BYTES;
                long end = start + dim * step;
                CompensatedSum sum = new CompensatedSum();
                for (long i = start; i < end; i += step) {
                    double g = gy.get(JAVA_DOUBLE_UNALIGNED, i);
                    sum.add(op == SoftmaxOp.LOG_SOFTMAX ? g : g * y.get(JAVA_DOUBLE_UNALIGNED, i));
                }
                double total = sum.total();
                // Reads gy[i] and y[i] before writing gx[i], so gx may be either of them.
                for (long i = start; i < end; i += step) {
                    double g = gy.get(JAVA_DOUBLE_UNALIGNED, i);
                    double out = y.get(JAVA_DOUBLE_UNALIGNED, i);
                    gx.set(JAVA_DOUBLE_UNALIGNED, i,
                            op == SoftmaxOp.LOG_SOFTMAX ? g - Math.exp(out) * total : out * (g - total));
                }
            }
        }
    }

    private static float load(boolean bf16, MemorySegment s, long offset) {
        short bits = s.get(JAVA_SHORT_UNALIGNED, offset);
        return bf16 ? HalfFloats.bfloat16ToFloat(bits) : HalfFloats.float16ToFloat(bits);
    }

    private static void store(boolean bf16, MemorySegment s, long offset, float value) {
        s.set(JAVA_SHORT_UNALIGNED, offset, bf16 ? HalfFloats.floatToBfloat16(value) : HalfFloats.floatToFloat16(value));
    }

    private static void forwardHalf(SoftmaxOp op, boolean bf16, MemorySegment x, MemorySegment y, long outer, long dim,
            long inner) {
        long step = inner * Short.BYTES;
        for (long o = 0; o < outer; o++) {
            for (long j = 0; j < inner; j++) {
                long start = (o * dim * inner + j) * Short.BYTES;
                long end = start + dim * step;
                float max = Float.NEGATIVE_INFINITY;
                for (long i = start; i < end; i += step) {
                    max = Math.max(max, load(bf16, x, i));
                }
                double sum = 0;
                for (long i = start; i < end; i += step) {
                    sum += Math.exp(load(bf16, x, i) - max);
                }
                float logSum = (float) Math.log(sum);
                double inverse = 1 / sum;
                for (long i = start; i < end; i += step) {
                    float shifted = load(bf16, x, i) - max;
                    store(bf16, y, i, op == SoftmaxOp.LOG_SOFTMAX
                            ? shifted - logSum
                            : (float) (Math.exp(shifted) * inverse));
                }
            }
        }
    }

    private static void backwardHalf(SoftmaxOp op, boolean bf16, MemorySegment gy, MemorySegment y, MemorySegment gx,
            long outer, long dim, long inner) {
        long step = inner * Short.BYTES;
        for (long o = 0; o < outer; o++) {
            for (long j = 0; j < inner; j++) {
                long start = (o * dim * inner + j) * Short.BYTES;
                long end = start + dim * step;
                double sum = 0;
                for (long i = start; i < end; i += step) {
                    double g = load(bf16, gy, i);
                    sum += op == SoftmaxOp.LOG_SOFTMAX ? g : g * load(bf16, y, i);
                }
                for (long i = start; i < end; i += step) {
                    double g = load(bf16, gy, i);
                    double out = load(bf16, y, i);
                    store(bf16, gx, i, (float) (op == SoftmaxOp.LOG_SOFTMAX
                            ? g - Math.exp(out) * sum
                            : out * (g - sum)));
                }
            }
        }
    }

    /** Neumaier's compensated sum: the rounding error of each addition kept apart. */
    private static final class CompensatedSum {
        private double sum;
        private double compensation;

        void add(double term) {
            double next = sum + term;
            if (Math.abs(sum) >= Math.abs(term)) {
                compensation += (sum - next) + term;
            } else {
                compensation += (term - next) + sum;
            }
            sum = next;
        }

        /** The sum with its compensation; an inf or NaN sum as it stands. */
        double total() {
            return Double.isFinite(sum) ? sum + compensation : sum;
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
    public void logSumExpForward(DType dtype, MemorySegment x, MemorySegment out, long outer, long dim,
            long inner) {
        switch (dtype) {
            case FLOAT32 -> logSumExpForward(x, out, outer, dim, inner);
            case FLOAT64, BFLOAT16, FLOAT16 -> logSumExpForwardWide(dtype, x, out, outer, dim, inner);
            default -> throw new IllegalArgumentException("dtype must be a floating type, was " + dtype);
        }
    }

    @Override
    public void logSumExpBackward(DType dtype, MemorySegment gy, MemorySegment x, MemorySegment gx, long outer,
            long dim, long inner) {
        switch (dtype) {
            case FLOAT32 -> logSumExpBackward(gy, x, gx, outer, dim, inner);
            case FLOAT64 -> logSumExpBackward64(gy, x, gx, outer, dim, inner);
            case BFLOAT16, FLOAT16 -> logSumExpBackwardHalf(dtype == DType.BFLOAT16, gy, x, gx, outer, dim, inner);
            default -> throw new IllegalArgumentException("dtype must be a floating type, was " + dtype);
        }
    }

    /** An element of a float64, bfloat16 or float16 tensor, widened to double (exact). */
    private static double loadWide(DType dtype, MemorySegment s, long offset) {
        return dtype == DType.FLOAT64 ? s.get(JAVA_DOUBLE_UNALIGNED, offset) : load(dtype == DType.BFLOAT16, s, offset);
    }

    /**
     * LogSumExp of float64 (compensated sum, in double) and of the 16-bit floats (widened; exp and
     * sum in double, {@code max + log(sum)} rounded once to the format), with torch.logsumexp's
     * special values.
     */
    private static void logSumExpForwardWide(DType dtype, MemorySegment x, MemorySegment out, long outer, long dim,
            long inner) {
        long size = dtype.byteSize();
        long step = inner * size;
        for (long o = 0; o < outer; o++) {
            for (long j = 0; j < inner; j++) {
                long start = (o * dim * inner + j) * size;
                long end = start + dim * step;
                double max = Double.NEGATIVE_INFINITY;
                boolean nan = false;
                for (long i = start; i < end; i += step) {
                    double v = loadWide(dtype, x, i);
                    nan |= v != v;
                    max = Math.max(max, v);
                }
                double result;
                if (nan || Double.isInfinite(max)) {
                    // torch.logsumexp: NaN stays NaN, a max of +-inf is the result.
                    result = nan ? Double.NaN : max;
                } else {
                    CompensatedSum sum = new CompensatedSum();
                    for (long i = start; i < end; i += step) {
                        sum.add(Math.exp(loadWide(dtype, x, i) - max));
                    }
                    result = max + Math.log(sum.total());
                }
                long at = (o * inner + j) * size;
                switch (dtype) {
                    case FLOAT64 -> out.set(JAVA_DOUBLE_UNALIGNED, at, result);
                    case BFLOAT16 -> out.set(JAVA_SHORT_UNALIGNED, at, HalfFloats.doubleToBfloat16(result));
                    default -> out.set(JAVA_SHORT_UNALIGNED, at, HalfFloats.doubleToFloat16(result));
                }
            }
        }
    }

    /** {@code gx = gy * (exp(x - max) * (1 / sum))} in double; gx may be x. */
    private static void logSumExpBackward64(MemorySegment gy, MemorySegment x, MemorySegment gx, long outer, long dim,
            long inner) {
        long step = inner * Double.BYTES;
        for (long o = 0; o < outer; o++) {
            for (long j = 0; j < inner; j++) {
                long start = (o * dim * inner + j) * Double.BYTES;
                long end = start + dim * step;
                double max = max64(x, start, end, step);
                double inverse = 1 / sumExp64(x, start, end, step, max);
                double g = gy.get(JAVA_DOUBLE_UNALIGNED, (o * inner + j) * Double.BYTES);
                for (long i = start; i < end; i += step) {
                    gx.set(JAVA_DOUBLE_UNALIGNED, i, g * (Math.exp(x.get(JAVA_DOUBLE_UNALIGNED, i) - max) * inverse));
                }
            }
        }
    }

    /**
     * {@code gx = gy * softmax(x)} with the softmax in float (never rounded to 16 bits), the
     * product rounded once; gx may be x.
     */
    private static void logSumExpBackwardHalf(boolean bf16, MemorySegment gy, MemorySegment x, MemorySegment gx,
            long outer, long dim, long inner) {
        long step = inner * Short.BYTES;
        for (long o = 0; o < outer; o++) {
            for (long j = 0; j < inner; j++) {
                long start = (o * dim * inner + j) * Short.BYTES;
                long end = start + dim * step;
                float max = Float.NEGATIVE_INFINITY;
                for (long i = start; i < end; i += step) {
                    max = Math.max(max, load(bf16, x, i)); // Math.max keeps a NaN
                }
                double sum = 0;
                for (long i = start; i < end; i += step) {
                    sum += Math.exp(load(bf16, x, i) - max);
                }
                float inverse = (float) (1 / sum);
                float g = load(bf16, gy, (o * inner + j) * Short.BYTES);
                for (long i = start; i < end; i += step) {
                    float p = (float) Math.exp(load(bf16, x, i) - max) * inverse;
                    store(bf16, gx, i, g * p);
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
