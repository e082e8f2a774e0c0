package dev.lora4j.safetensors;

/**
 * Widening of the two 16-bit float formats to {@code float}. Java 17 has no {@code Float.float16ToFloat} (added in
 * Java 20), so F16 is decoded by hand; every F16 value, subnormals included, is exactly representable as a float.
 */
public final class HalfFloats {
    private HalfFloats() {}

    /** IEEE 754 binary16 bits to the float of the same value (subnormals, infinities and NaN included). */
    public static float f16ToFloat(short bits) {
        int h = bits & 0xFFFF;
        int sign = (h & 0x8000) << 16;
        int exponent = (h >>> 10) & 0x1F;
        int mantissa = h & 0x3FF;
        if (exponent == 0x1F) {
            // infinity or NaN: keep the payload bits so NaN stays NaN
            return Float.intBitsToFloat(sign | 0x7F80_0000 | (mantissa << 13));
        }
        if (exponent == 0) {
            // zero or subnormal: mantissa * 2^-24, exact in float
            float magnitude = mantissa * 0x1p-24f;
            return sign == 0 ? magnitude : -magnitude;
        }
        // normal: rebias the exponent from 15 to 127
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }

    /** bfloat16 bits to float: they are the upper half of the float's bits. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }
}
