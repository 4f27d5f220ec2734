package org.softmax4j;

import java.lang.foreign.ValueLayout;

/**
 * The element type of a {@link Tensor}. Float ops (log-softmax, {@link Linear}, the logits of the
 * losses) take {@link #FLOAT32}; class-index targets of the losses take {@link #INT32} or
 * {@link #INT64}.
 *
 * <p>Each constant carries what code needs to handle its elements generically (size, memory
 * layout, name), so that a new type is one constant here plus the ops that accept it.
 */
public enum DType {
    FLOAT32("float32", ValueLayout.JAVA_FLOAT_UNALIGNED),
    INT32("int32", ValueLayout.JAVA_INT_UNALIGNED),
    INT64("int64", ValueLayout.JAVA_LONG_UNALIGNED);

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

    /** Like {@code float32}, as in PyTorch. */
    @Override
    public String toString() {
        return label;
    }
}
