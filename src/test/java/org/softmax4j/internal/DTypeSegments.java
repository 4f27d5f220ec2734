package org.softmax4j.internal;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.softmax4j.DType;

/**
 * Test data in float64, bfloat16 or float16 memory: values written to and read back from native
 * or heap segments, and the rounding a value takes on the way in.
 */
final class DTypeSegments {
    private DTypeSegments() {}

    /** {@code v} as stored in {@code dtype} (through float for the 16-bit formats), read back. */
    static double roundTo(DType dtype, double v) {
        return switch (dtype) {
            case BFLOAT16 -> HalfFloats.bfloat16ToFloat(HalfFloats.floatToBfloat16((float) v));
            case FLOAT16 -> HalfFloats.float16ToFloat(HalfFloats.floatToFloat16((float) v));
            default -> v;
        };
    }

    /** {@code n} zeroed elements: native memory from {@code arena}, or a heap segment when it is null. */
    static MemorySegment allocate(Arena arena, DType dtype, int n) {
        if (arena != null) {
            return arena.allocate((long) n * dtype.byteSize(), 8);
        }
        return dtype == DType.FLOAT64 ? MemorySegment.ofArray(new double[n]) : MemorySegment.ofArray(new short[n]);
    }

    /** The values in {@code dtype}: native memory, or a double[] / short[] heap segment. */
    static MemorySegment segment(Arena arena, DType dtype, double[] values) {
        MemorySegment s = allocate(arena, dtype, values.length);
        for (int i = 0; i < values.length; i++) {
            if (dtype == DType.FLOAT64) {
                s.setAtIndex(JAVA_DOUBLE, i, values[i]);
            } else {
                s.setAtIndex(JAVA_SHORT, i, half(dtype, values[i]));
            }
        }
        return s;
    }

    /** Every element of {@code s}, widened to double. */
    static double[] load(DType dtype, MemorySegment s) {
        int n = (int) (s.byteSize() / dtype.byteSize());
        double[] values = new double[n];
        for (int i = 0; i < n; i++) {
            if (dtype == DType.FLOAT64) {
                values[i] = s.getAtIndex(JAVA_DOUBLE, i);
            } else {
                short bits = s.getAtIndex(JAVA_SHORT, i);
                values[i] = dtype == DType.BFLOAT16 ? HalfFloats.bfloat16ToFloat(bits) : HalfFloats.float16ToFloat(bits);
            }
        }
        return values;
    }

    private static short half(DType dtype, double v) {
        return dtype == DType.BFLOAT16 ? HalfFloats.floatToBfloat16((float) v) : HalfFloats.floatToFloat16((float) v);
    }
}
