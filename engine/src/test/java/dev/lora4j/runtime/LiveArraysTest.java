package dev.lora4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

/** {@link Torch#liveArrays()} sees arrays in nested managers (scopes under a trial's manager) and drops closed ones. */
class LiveArraysTest {

    @Test
    void countsArraysInNestedManagersUntilTheyClose() {
        int start = Torch.liveArrays();
        try (NDManager root = Torch.newManager(Device.cpu())) {
            Ops top = Ops.into(root);
            top.zeros(new Shape(2), DataType.FLOAT32);
            assertEquals(start + 1, Torch.liveArrays(), "an array in a root manager");
            try (Ops step = Ops.scope(root); Ops layer = step.child()) {
                step.zeros(new Shape(3), DataType.FLOAT32);
                layer.ones(new Shape(4), DataType.FLOAT32);
                layer.zeros(new Shape(5), DataType.FLOAT32);
                assertEquals(start + 4, Torch.liveArrays(), "arrays two managers down");
            }
            assertEquals(start + 1, Torch.liveArrays(), "after the scopes closed");
            top.ones(new Shape(1), DataType.FLOAT32).close();
            assertEquals(start + 1, Torch.liveArrays(), "a closed array no longer counts");
        }
        assertEquals(start, Torch.liveArrays(), "after the root closed");
    }
}
