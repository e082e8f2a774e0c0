package dev.lora4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.runtime.Ops;
import dev.lora4j.runtime.Torch;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The dropout stream is counter-based: any element of any call's mask can be drawn alone, and the masks are the ones
 * lora4j always drew (a checkpoint written before this change resumes with the same masks).
 */
class DropoutStreamTest {

    @Test
    void valueKIsSplittableRandomsKthDraw() {
        for (long start : new long[] {0, 1, -7, Dropout.mix(42, 3, 5)}) {
            SplittableRandom r = new SplittableRandom(start);
            for (int k = 0; k < 1000; k++) {
                assertEquals(r.nextLong(), Dropout.value(start, k), "draw " + k + " of seed " + start);
            }
        }
    }

    /** The mask as lora4j drew it before the stream was made counter-based: one SplittableRandom per call. */
    private static float[] reference(long seed, long step, int call, long n, double p) {
        SplittableRandom rng = new SplittableRandom(Dropout.mix(seed, step, call));
        long threshold = (long) Math.ceil(p * 4294967296.0);
        float kept = (float) (1.0 / (1.0 - p));
        float[] out = new float[(int) n];
        int i = 0;
        for (; i + 1 < n; i += 2) {
            long r = rng.nextLong();
            out[i] = (r >>> 32) >= threshold ? kept : 0f;
            out[i + 1] = (r & 0xFFFFFFFFL) >= threshold ? kept : 0f;
        }
        if (i < n) {
            out[i] = (rng.nextLong() >>> 32) >= threshold ? kept : 0f;
        }
        return out;
    }

    @Test
    void theMasksAreTheOnesDrawnBefore() {
        try (GradMode g = GradMode.off(); Ops ops = Ops.scope(Torch.newManager(ai.djl.Device.cpu()))) {
            // an odd size above one chunk (16384): chunk boundaries and the last odd element
            Shape shape = new Shape(3, 7, 1171);
            NDArray ones = ops.ones(shape, DataType.FLOAT32);
            Dropout d = Dropout.forStep(9, 4);
            d.apply(ops, ones, 0.3); // call 0
            float[] second = d.apply(ops, ones, 0.3).toFloatArray();
            assertArrayEquals(reference(9, 4, 1, shape.size(), 0.3), second, 0f);
            assertEquals(2, d.position());
            // a layer recomputed from call 1 redraws call 1's mask
            assertArrayEquals(second, Dropout.forStep(9, 4).at(1).apply(ops, ones, 0.3).toFloatArray(), 0f);
        }
    }

    @Test
    void blocksOfRowsAndColumnsDrawTheWholeMasksParts() {
        try (GradMode g = GradMode.off(); Ops ops = Ops.scope(Torch.newManager(ai.djl.Device.cpu()))) {
            // (batch 2, heads 3, queries 13, keys 13): odd rows, so blocks start on odd elements
            int q = 13;
            Shape whole = new Shape(2, 3, q, q);
            Dropout d = Dropout.forStep(1, 2);
            float[] expected = d.apply(ops, ops.ones(whole, DataType.FLOAT32), 0.25).toFloatArray();
            NDList rows = new NDList();
            for (int q0 = 0; q0 < q; q0 += 4) {
                int q1 = Math.min(q, q0 + 4);
                // a block over keys [k0, q1) (a causal block skips later keys), the rest filled from another block
                int k0 = q0 / 2;
                NDArray left = k0 == 0 ? null : Dropout.forStep(1, 2).applyRows(ops,
                        ops.ones(new Shape(2, 3, q1 - q0, k0), DataType.FLOAT32), 0.25, 0, q, q, q0, 0);
                NDArray mid = Dropout.forStep(1, 2).applyRows(ops,
                        ops.ones(new Shape(2, 3, q1 - q0, q1 - k0), DataType.FLOAT32), 0.25, 0, q, q, q0, k0);
                NDArray right = q1 == q ? null : Dropout.forStep(1, 2).applyRows(ops,
                        ops.ones(new Shape(2, 3, q1 - q0, q - q1), DataType.FLOAT32), 0.25, 0, q, q, q0, q1);
                NDArray row = left == null ? mid : ops.concat(left, mid, 3);
                rows.add(right == null ? row : ops.concat(row, right, 3));
            }
            assertArrayEquals(expected, ops.concat(rows, 2).toFloatArray(), 0f);
            // another call's stream differs
            float[] other = Dropout.forStep(1, 2).applyRows(ops, ops.ones(whole, DataType.FLOAT32), 0.25, 1, q, q,
                    0, 0).toFloatArray();
            assertNotEquals(java.util.Arrays.toString(expected), java.util.Arrays.toString(other));
        }
    }
}
