package dev.lora4j.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HalfFloatsTest {

    private static float f16(int bits) {
        return HalfFloats.f16ToFloat((short) bits);
    }

    @Test
    void f16KnownBitPatterns() {
        assertEquals(1.0f, f16(0x3C00));
        assertEquals(-2.0f, f16(0xC000));
        assertEquals(0.5f, f16(0x3800));
        assertEquals(65504.0f, f16(0x7BFF), "largest finite half");
        assertEquals(0x1p-14f, f16(0x0400), "smallest normal");
        assertEquals(0x1p-24f, f16(0x0001), "smallest subnormal");
        assertEquals(5.9604645e-8f, f16(0x0001));
        assertEquals(0x3FFp-24f, f16(0x03FF), "largest subnormal");
        assertEquals(-0x1p-24f, f16(0x8001));
        assertEquals(0.0f, f16(0x0000));
        assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(f16(0x8000)),
                "negative zero keeps its sign");
        assertEquals(Float.POSITIVE_INFINITY, f16(0x7C00));
        assertEquals(Float.NEGATIVE_INFINITY, f16(0xFC00));
        assertTrue(Float.isNaN(f16(0x7E00)));
        assertTrue(Float.isNaN(f16(0x7C01)), "signalling NaN stays NaN, not infinity");
        assertTrue(Float.isNaN(f16(0xFFFF)));
        assertEquals(0.333251953125f, f16(0x3555));
    }

    @Test
    void f16EveryFiniteValueMatchesTheDefinition() {
        for (int bits = 0; bits < 0x10000; bits++) {
            int exponent = (bits >>> 10) & 0x1F;
            if (exponent == 0x1F) {
                continue;
            }
            int mantissa = bits & 0x3FF;
            double magnitude = exponent == 0
                    ? mantissa * Math.pow(2, -24)
                    : (1 + mantissa / 1024.0) * Math.pow(2, exponent - 15);
            double expected = (bits & 0x8000) != 0 ? -magnitude : magnitude;
            assertEquals(expected, f16(bits), 0.0, Integer.toHexString(bits));
        }
    }

    @Test
    void bf16IsTheUpperHalfOfAFloat() {
        assertEquals(1.0f, HalfFloats.bf16ToFloat((short) 0x3F80));
        assertEquals(-2.0f, HalfFloats.bf16ToFloat((short) 0xC000));
        assertEquals(3.140625f, HalfFloats.bf16ToFloat((short) 0x4049));
        assertEquals(Float.NEGATIVE_INFINITY, HalfFloats.bf16ToFloat((short) 0xFF80));
        assertTrue(Float.isNaN(HalfFloats.bf16ToFloat((short) 0x7FC0)));
        assertEquals(Float.MIN_NORMAL, HalfFloats.bf16ToFloat((short) 0x0080));
        float pi = (float) Math.PI;
        int upper = Float.floatToIntBits(pi) >>> 16;
        assertEquals(Float.intBitsToFloat(upper << 16), HalfFloats.bf16ToFloat((short) upper));
    }
}
