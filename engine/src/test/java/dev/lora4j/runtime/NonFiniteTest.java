package dev.lora4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

/** {@link Ops#nonFinite}: the check every base weight gets when it loads. */
class NonFiniteTest {

    private static String check(float... values) {
        try (NDManager m = Torch.newManager(Device.cpu()); Ops ops = Ops.scope(m)) {
            String f32 = ops.nonFinite(ops.floats(values, new Shape(values.length)));
            String f16 = ops.nonFinite(ops.toType(ops.floats(values, new Shape(values.length)), DataType.FLOAT16));
            assertEquals(f32, f16, "float16 agrees");
            return f32;
        }
    }

    @Test
    void findsNanAndInfinityAnywhere() {
        assertNull(check(1f, -2f, 3.5f, 0f, -0f, 1e-30f));
        assertEquals("NaN", check(1f, Float.NaN, 3f));
        assertEquals("NaN", check(Float.NaN, Float.POSITIVE_INFINITY));
        assertEquals("NaN", check(Float.NaN));
        assertEquals("infinite values", check(1f, 2f, Float.POSITIVE_INFINITY));
        assertEquals("infinite values", check(Float.NEGATIVE_INFINITY, 2f));
    }

    @Test
    void integerTensorsAndEmptyOnesAreFinite() {
        try (NDManager m = Torch.newManager(Device.cpu()); Ops ops = Ops.scope(m)) {
            assertNull(ops.nonFinite(ops.ints(new int[] {1, 2}, new Shape(2))));
            assertNull(ops.nonFinite(ops.zeros(new Shape(0), DataType.FLOAT32)));
        }
    }
}
