package org.softmax4j.internal;

import java.lang.foreign.MemorySegment;

/**
 * One implementation of the row-wise log-softmax kernels over a row-major {@code [rows, cols]}
 * float32 matrix. The arguments have already been checked by {@link Checks}: the segments are
 * alive, large enough, float-aligned, and outputs are writable and either the same memory as an
 * input or disjoint from it. Implementations are stateless and thread-safe.
 */
public interface Backend {

    /** {@code y = (x - max) - log(sum(exp(x - max)))} per row; {@code y} may be {@code x}. */
    void forward(MemorySegment x, MemorySegment y, long rows, long cols);

    /** {@code gx = gy - exp(y) * sum(gy)} per row; {@code gx} may be {@code gy} or {@code y}. */
    void backward(MemorySegment gy, MemorySegment y, MemorySegment gx, long rows, long cols);

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
