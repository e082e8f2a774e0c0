package dev.lora4j.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * {@link Ops}' promise, intermediates included: whatever manager the operands live in (a shared base, an adapter),
 * an op leaves nothing there; everything it makes belongs to the calling scope and goes when the scope closes.
 */
class OpsOwnershipTest {

    private static void leavesNothingInTheOperandsManager(String what, boolean grad,
            Function<Ops, NDArray> op, NDArray... operands) {
        NDManager home = operands[0].getManager();
        int before = home.getManagedArrays().size();
        int live = Torch.liveArrays();
        try (NDManager caller = Torch.newManager(Device.cpu()); GradMode g = grad ? GradMode.on() : GradMode.off();
                Ops ops = Ops.scope(caller)) {
            NDArray out = op.apply(ops);
            assertEquals(before, home.getManagedArrays().size(), what + ": arrays left in the operands' manager");
            assertEquals(caller, out.getManager().getParentManager(), what + ": result in the caller's scope");
        }
        assertEquals(live, Torch.liveArrays(), what + ": live arrays after the scope closed");
    }

    @Test
    void noOpLeavesAnythingInItsOperandsManager() {
        try (NDManager shared = Torch.newManager(Device.cpu())) {
            Ops in = Ops.into(shared);
            NDArray w;
            NDArray half;
            NDArray ids;
            try (GradMode g = GradMode.off()) {
                w = in.floats(new float[] {1f, -2f, Float.NaN, 4f, 0.5f, 6f}, new Shape(2, 3));
                half = in.toType(w, DataType.FLOAT16);
                ids = in.longs(new long[] {1, 0, -100}, new Shape(3));
            }
            leavesNothingInTheOperandsManager("detachedCopy", false, o -> o.detachedCopy(w), w);
            leavesNothingInTheOperandsManager("detachedCopy in grad mode", true, o -> o.detachedCopy(w), w);
            leavesNothingInTheOperandsManager("isFinite", false, o -> o.isFinite(w), w);
            leavesNothingInTheOperandsManager("isNotIgnored", false, o -> o.isNotIgnored(ids), ids);
            leavesNothingInTheOperandsManager("toType", false, o -> o.toType(half, DataType.FLOAT32), half);
            leavesNothingInTheOperandsManager("toType in grad mode", true, o -> o.toType(half, DataType.FLOAT32),
                    half);
            leavesNothingInTheOperandsManager("copy", false, o -> o.copy(w), w);
            leavesNothingInTheOperandsManager("detach", false, o -> o.detach(w), w);
            leavesNothingInTheOperandsManager("transpose", false, o -> o.transpose(w, 0, 1), w);
            leavesNothingInTheOperandsManager("rowNorm", false, o -> o.rowNorm(w), w);
            leavesNothingInTheOperandsManager("scale", false, o -> o.scale(half, 0.5), half);
            leavesNothingInTheOperandsManager("matmul", false, o -> o.matmul(w, o.transpose(w, 0, 1)), w);
            leavesNothingInTheOperandsManager("concat", false, o -> o.concat(new NDList(w, w), 0), w);
            leavesNothingInTheOperandsManager("embedding", false,
                    o -> o.embedding(o.longs(new long[] {1, 0}, new Shape(2)), w), w);
            try (Ops ops = Ops.scope(shared)) {
                assertArrayEquals(new boolean[] {true, true, false, true, true, true}, ops.isFinite(w).toBooleanArray());
            }
        }
    }
}
