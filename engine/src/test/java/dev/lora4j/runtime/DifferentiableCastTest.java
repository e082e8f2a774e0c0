package dev.lora4j.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

/**
 * Casts inside the autograd graph must carry gradients: DJL's own cast runs under a NoGradGuard, so an fp16 model
 * with float32 adapter weights would train nothing before the first cast (backward fails, or worse, finds no path).
 */
class DifferentiableCastTest {

    @Test
    void gradientsFlowThroughHalfPrecisionCastsBothWays() {
        try (NDManager m = Torch.newManager(Device.cpu())) {
            NDArray w;
            try (GradMode g = GradMode.off()) {
                w = Ops.into(m).floats(new float[] {0.5f, -1.25f, 3f}, new Shape(3));
                w.setRequiresGradient(true);
            }
            try (GradMode g = GradMode.on(); Ops ops = Ops.scope(m)) {
                NDArray half = ops.toType(w, DataType.FLOAT16);
                assertEquals(DataType.FLOAT16, half.getDataType());
                assertEquals(w.getShape(), half.getShape());
                NDArray back = ops.toType(ops.mul(half, half), DataType.FLOAT32);
                assertEquals(DataType.FLOAT32, back.getDataType());
                assertArrayEquals(new float[] {0.25f, 1.5625f, 9f}, back.toFloatArray(), 0f);
                ops.backward(ops.sum(ops.mul(back, ops.floats(new float[] {1f, 2f, 3f}, new Shape(3)))));
                // d/dw sum(c * w^2) = 2 c w, exact in fp16 for these values
                assertArrayEquals(new float[] {1f, -5f, 18f}, ops.grad(w).toFloatArray(), 0f);
            }
        }
    }

    @Test
    void outsideAutogradTheCastIsThePlainOne() {
        try (NDManager m = Torch.newManager(Device.cpu()); GradMode g = GradMode.off(); Ops ops = Ops.scope(m)) {
            NDArray x = ops.floats(new float[] {1f / 3, 70000f}, new Shape(2));
            float[] half = ops.toType(ops.toType(x, DataType.FLOAT16), DataType.FLOAT32).toFloatArray();
            assertEquals(0.333251953125f, half[0], 0f, "rounded to fp16's 11 significant bits");
            assertEquals(Float.POSITIVE_INFINITY, half[1], "beyond fp16's range");
        }
    }
}
