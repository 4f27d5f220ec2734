package org.softmax4j;

import java.lang.foreign.ValueLayout;

/**
 * The element type of a {@link Tensor}. {@link LogSoftmax} and {@link Softmax} take any floating
 * type ({@link #isFloating()}), with outputs and gradients of the input's type; the other float
 * ops ({@link Linear}, the logits of the losses) take {@link #FLOAT32}; class-index targets of the
 * losses take {@link #INT32} or {@link #INT64}.
 *
 * <p>{@link #BFLOAT16} and {@link #FLOAT16} are storage formats: the kernels widen each element to
 * float, compute as for float32 and round each result once to nearest even. Their elements are
 * 16-bit patterns, held in a {@code short[]} or in memory; {@link #FLOAT64} computes in double.
 *
 * <p>Each constant carries what code needs to handle its elements generically (size, memory
 * layout, name), so that a new type is one constant here plus the ops that accept it.
 */
public enum DType {
    FLOAT32("float32", ValueLayout.JAVA_FLOAT_UNALIGNED),
    INT32("int32", ValueLayout.JAVA_INT_UNALIGNED),
    INT64("int64", ValueLayout.JAVA_LONG_UNALIGNED),
    /** IEEE binary64, a {@code double}. */
    FLOAT64("float64", ValueLayout.JAVA_DOUBLE_UNALIGNED),
    /** bfloat16: the top 16 bits of a float32 (8 exponent bits, 7 fraction bits). */
    BFLOAT16("bfloat16", ValueLayout.JAVA_SHORT_UNALIGNED),
    /** IEEE binary16 (5 exponent bits, 10 fraction bits, largest finite 65504). */
    FLOAT16("float16", ValueLayout.JAVA_SHORT_UNALIGNED);

    private final String label;
    private final ValueLayout layout;

    DType(String label, ValueLayout layout) {
        this.label = label;
        this.layout = layout;
    }

    /** The size of one element in bytes. */
    public int byteSize() {
        return (int) layout.byteSize();
    }

    /** The layout of one element, without alignment constraint (heap arrays of any type). */
    public ValueLayout layout() {
        return layout;
    }

    /** Whether the elements are integers. */
    public boolean isInteger() {
        return this == INT32 || this == INT64;
    }

    /** Whether the elements are floating point: float32, float64, bfloat16 or float16. */
    public boolean isFloating() {
        return !isInteger();
    }

    /** Whether the elements are 16-bit floats, stored as {@code short} bit patterns. */
    public boolean isHalf() {
        return this == BFLOAT16 || this == FLOAT16;
    }

    /** Like {@code float32}, as in PyTorch. */
    @Override
    public String toString() {
        return label;
    }
}
