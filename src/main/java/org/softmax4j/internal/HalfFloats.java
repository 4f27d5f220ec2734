package org.softmax4j.internal;

/**
 * The 16-bit float formats as {@code short} bit patterns: exact widening to float, and rounding
 * of a float (or, once, of a double) to nearest even (NaN stays NaN, quieted, with its sign), as the native kernels do.
 * float16 uses the JDK's conversions, which are IEEE round-to-nearest-even; bfloat16 rounds the 16
 * bits it drops with an integer add.
 */
public final class HalfFloats {
    private HalfFloats() {}

    /** The float a bfloat16 pattern stands for (exact). */
    public static float bfloat16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** {@code value} rounded to the nearest bfloat16, ties to even. */
    public static short floatToBfloat16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x0040); // NaN: keep the sign, set the quiet bit
        }
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }

    /** The float a float16 pattern stands for (exact). */
    public static float float16ToFloat(short bits) {
        return Float.float16ToFloat(bits);
    }

    /** {@code value} rounded to the nearest float16, ties to even. */
    public static short floatToFloat16(float value) {
        return Float.floatToFloat16(value);
    }

    /** {@code value} rounded once to the nearest bfloat16, ties to even (not through a float rounding). */
    public static short doubleToBfloat16(double value) {
        return floatToBfloat16(toFloatRoundToOdd(value));
    }

    /** {@code value} rounded once to the nearest float16, ties to even (not through a float rounding). */
    public static short doubleToFloat16(double value) {
        return floatToFloat16(toFloatRoundToOdd(value));
    }

    /**
     * {@code value} rounded to float with round-to-odd: an inexact result whose last bit came out
     * even moves one float towards {@code value}'s side, so an odd last bit records that bits were
     * dropped. Float keeps more than 2 bits beyond either 16-bit format at every magnitude they
     * reach, so rounding this to nearest even gives the single rounding of {@code value}; rounding
     * to nearest float first could land on a halfway point and round twice.
     */
    private static float toFloatRoundToOdd(double value) {
        float f = (float) value;
        if (Float.isFinite(f) && f != value) {
            int bits = Float.floatToRawIntBits(f);
            if ((bits & 1) == 0) {
                boolean belowInMagnitude = (f < value) == (value > 0);
                f = Float.intBitsToFloat(belowInMagnitude ? bits + 1 : bits - 1);
            }
        }
        return f;
    }
}
