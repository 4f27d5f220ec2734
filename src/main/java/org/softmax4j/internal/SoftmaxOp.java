package org.softmax4j.internal;

/**
 * The members of the softmax family that share one kernel shape (a reduction over one dimension
 * and an output of the input's shape, saved for the backward). {@link #code()} is the C API's
 * {@code S4J_OP_*} value.
 */
public enum SoftmaxOp {
    /** {@code y = x - max - log(sum(exp(x - max)))}; backward {@code gx = gy - exp(y) * sum(gy)}. */
    LOG_SOFTMAX(0),
    /** {@code s = exp(x - max) / sum(exp(x - max))}; backward {@code gx = s * (gy - sum(gy * s))}. */
    SOFTMAX(1);

    private final int code;

    SoftmaxOp(int code) {
        this.code = code;
    }

    /** The operation's number in the C API. */
    public int code() {
        return code;
    }
}
