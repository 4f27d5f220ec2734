package org.softmax4j;

/**
 * The tensor-level checks the ops share beyond those of {@code internal.Checks} (which work on
 * segments): element types and shapes, each message naming the argument.
 */
final class TensorChecks {
    private TensorChecks() {}

    /** @throws IllegalArgumentException if {@code tensor} is not float32 */
    static void requireFloat32(String name, Tensor tensor) {
        requireDType(name, tensor, DType.FLOAT32);
    }

    /** @throws IllegalArgumentException if {@code tensor} is not of {@code dtype} */
    static void requireDType(String name, Tensor tensor, DType dtype) {
        if (tensor.dtype() != dtype) {
            throw new IllegalArgumentException(name + " must be " + dtype + ", was " + tensor.dtype() + " " + tensor.shape());
        }
        requireContiguous(name, tensor);
    }

    /**
     * Only log-softmax and softmax over the last dimension take views with strided rows; every
     * other operation reads its tensors as one run of memory.
     *
     * @throws IllegalArgumentException if {@code tensor} is a view with strided rows
     */
    static void requireContiguous(String name, Tensor tensor) {
        if (!tensor.isContiguous()) {
            throw new IllegalArgumentException(name + " is a view with strided rows (shape " + tensor.shape()
                    + ", row stride " + tensor.rowStride() + "), this operation needs a contiguous tensor:"
                    + " pass tensor.contiguous(arena)");
        }
    }

    /** @throws IllegalArgumentException if {@code tensor} is not of a floating type */
    static void requireFloating(String name, Tensor tensor) {
        if (!tensor.dtype().isFloating()) {
            throw new IllegalArgumentException(name + " must be float32, float64, bfloat16 or float16, was "
                    + tensor.dtype() + " " + tensor.shape());
        }
    }

    /**
     * @throws IllegalArgumentException if {@code tensor} does not have the type of {@code other}, as
     *     in "out has dtype float32, must be float64 like x"
     */
    static void requireSameDType(String name, Tensor tensor, String otherName, Tensor other) {
        if (tensor.dtype() != other.dtype()) {
            throw new IllegalArgumentException(name + " has dtype " + tensor.dtype() + ", must be " + other.dtype()
                    + " like " + otherName);
        }
    }

    /** @throws IllegalArgumentException if the shape of {@code tensor} is not {@code expected} */
    static void requireShape(String name, Tensor tensor, Shape expected) {
        if (!tensor.shape().equals(expected)) {
            throw new IllegalArgumentException(name + " must have shape " + expected + ", was " + tensor.shape());
        }
    }
}
