package org.softmax4j.internal;

/**
 * The 16-bit float formats as {@code short} bit patterns: exact widening to float, and rounding
 * of a float to nearest even (NaN stays NaN, quieted, with its sign), as the native kernels do.
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
}
