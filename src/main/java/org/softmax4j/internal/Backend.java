package org.softmax4j.internal;

import java.lang.foreign.MemorySegment;
import org.softmax4j.DType;

/**
 * One implementation of the softmax family's kernels: log-softmax over the rows of a row-major
 * {@code [rows, cols]} float32 matrix, every {@link SoftmaxOp} over any dimension, and the losses.
 * The arguments have already been checked by {@link Checks}: the segments are alive, large
 * enough, float-aligned, and outputs are writable and either the same memory as an input or
 * disjoint from it. Implementations are stateless and thread-safe.
 */
public interface Backend {

    /** {@code y = (x - max) - log(sum(exp(x - max)))} per row; {@code y} may be {@code x}. */
    void forward(MemorySegment x, MemorySegment y, long rows, long cols);

    /** {@code gx = gy - exp(y) * sum(gy)} per row; {@code gx} may be {@code gy} or {@code y}. */
    void backward(MemorySegment gy, MemorySegment y, MemorySegment gx, long rows, long cols);

    /**
     * {@code op} forward over the middle dimension of a contiguous {@code [outer, dim, inner]}
     * tensor (element {@code [o, c, j]} at {@code (o * dim + c) * inner + j}); {@code y} may be
     * {@code x}.
     */
    void forward(SoftmaxOp op, MemorySegment x, MemorySegment y, long outer, long dim, long inner);

    /**
     * {@code op} backward over the middle dimension of {@code [outer, dim, inner]}, from the saved
     * output {@code y}; {@code gx} may be {@code gy} or {@code y}.
     */
    void backward(SoftmaxOp op, MemorySegment gy, MemorySegment y, MemorySegment gx, long outer, long dim,
            long inner);

    /**
     * {@link #forward(SoftmaxOp, MemorySegment, MemorySegment, long, long, long)} on elements of
     * {@code dtype}, any floating type; {@code x} and {@code y} both of it (checked by
     * {@link Checks#forward(String, MemorySegment, String, MemorySegment, long, long, DType)}).
     * bfloat16 and float16 compute in float and round each output once, to nearest even.
     */
    default void forward(SoftmaxOp op, DType dtype, MemorySegment x, MemorySegment y, long outer, long dim,
            long inner) {
        if (dtype != DType.FLOAT32) {
            throw new UnsupportedOperationException(name() + " has no " + dtype + " kernels");
        }
        forward(op, x, y, outer, dim, inner);
    }

    /** {@link #backward(SoftmaxOp, MemorySegment, MemorySegment, MemorySegment, long, long, long)} on elements of {@code dtype}. */
    default void backward(SoftmaxOp op, DType dtype, MemorySegment gy, MemorySegment y, MemorySegment gx, long outer,
            long dim, long inner) {
        if (dtype != DType.FLOAT32) {
            throw new UnsupportedOperationException(name() + " has no " + dtype + " kernels");
        }
        backward(op, gy, y, gx, outer, dim, inner);
    }

    /**
     * LogSumExp over the middle dimension of a contiguous {@code [outer, dim, inner]} float32
     * tensor into {@code out} ({@code outer * inner} floats), with torch.logsumexp's special values.
     */
    void logSumExpForward(MemorySegment x, MemorySegment out, long outer, long dim, long inner);

    /**
     * LogSumExp backward: {@code gx[o, c, j] = gy[o, j] * softmax(x)[o, c, j]}, recomputed from the
     * input {@code x}; {@code gx} may be {@code x}.
     */
    void logSumExpBackward(MemorySegment gy, MemorySegment x, MemorySegment gx, long outer, long dim, long inner);

    /**
     * {@link #logSumExpForward(MemorySegment, MemorySegment, long, long, long)} on elements of
     * {@code dtype}, any floating type, {@code out} of it too. float64 computes in double;
     * bfloat16 and float16 widen to float, sum in double and round {@code max + log(sum)} once.
     */
    default void logSumExpForward(DType dtype, MemorySegment x, MemorySegment out, long outer, long dim,
            long inner) {
        if (dtype != DType.FLOAT32) {
            throw new UnsupportedOperationException(name() + " has no " + dtype + " LogSumExp");
        }
        logSumExpForward(x, out, outer, dim, inner);
    }

    /**
     * {@link #logSumExpBackward(MemorySegment, MemorySegment, MemorySegment, long, long, long)} on
     * elements of {@code dtype}; bfloat16 and float16 compute {@code gy * softmax(x)} in float and
     * round once.
     */
    default void logSumExpBackward(DType dtype, MemorySegment gy, MemorySegment x, MemorySegment gx, long outer,
            long dim, long inner) {
        if (dtype != DType.FLOAT32) {
            throw new UnsupportedOperationException(name() + " has no " + dtype + " LogSumExp");
        }
        logSumExpBackward(gy, x, gx, outer, dim, inner);
    }

    /**
     * {@code op} forward over the last dimension of {@code rows} rows of {@code cols} elements of
     * {@code dtype}, the rows of {@code x} {@code xStride} elements apart and those of {@code y}
     * {@code yStride} apart (each at least {@code cols}): a view of some columns of a larger
     * matrix, read and written in place. {@code y} may be {@code x} with the same stride. This
     * default makes one contiguous call per row.
     */
    default void forwardRows(SoftmaxOp op, DType dtype, MemorySegment x, long xStride, MemorySegment y,
            long yStride, long rows, long cols) {
        long size = dtype.byteSize();
        for (long r = 0; r < rows; r++) {
            forward(op, dtype, x.asSlice(r * xStride * size, cols * size), y.asSlice(r * yStride * size, cols * size),
                    1, cols, 1);
        }
    }

    /**
     * {@code op} backward over strided rows, as {@link #forwardRows}; {@code gx} may be
     * {@code gy} or {@code y} with the same stride.
     */
    default void backwardRows(SoftmaxOp op, DType dtype, MemorySegment gy, long gyStride, MemorySegment y,
            long yStride, MemorySegment gx, long gxStride, long rows, long cols) {
        long size = dtype.byteSize();
        for (long r = 0; r < rows; r++) {
            backward(op, dtype, gy.asSlice(r * gyStride * size, cols * size), y.asSlice(r * yStride * size, cols * size),
                    gx.asSlice(r * gxStride * size, cols * size), 1, cols, 1);
        }
    }

    /**
     * The loss kernels of this backend: the same implementation family and variant as the
     * log-softmax kernels. A backend without its own computes them in Java.
     */
    default Losses losses() {
        return JavaLosses.INSTANCE;
    }

    /** {@code "native"} or {@code "java"}. */
    String name();

    /** The kernel variant: {@code "avx512"}, {@code "avx2"}, {@code "scalar"} or {@code "java"}. */
    String isa();
}
