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
