package dev.lora4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.lora4j.runtime.Ops;
import java.util.SplittableRandom;

/**
 * Inverted dropout whose masks come from the trial's own counter-based random stream, not libtorch's process-wide
 * generator: trials running side by side on one device draw exactly the masks they would draw alone, and a resumed
 * run redraws the masks of step N from (seed, step) alone.
 */
public final class Dropout {
    private final long seed;
    private final long step;
    private int calls;

    private Dropout(long seed, long step) {
        this.seed = seed;
        this.step = step;
    }

    /** The masks of one training step. */
    public static Dropout forStep(long seed, long step) {
        return new Dropout(seed, step);
    }

    /** {@code x} with each element zeroed with probability {@code p} and the rest scaled by {@code 1/(1-p)}. */
    public NDArray apply(Ops ops, NDArray x, double p) {
        if (p <= 0) {
            return x;
        }
        if (p >= 1) {
            return ops.mul(x, ops.zeros(new Shape(), x.getDataType()));
        }
        Shape shape = x.getShape();
        int n = Math.toIntExact(shape.size());
        boolean[] keep = new boolean[n];
        SplittableRandom rng = new SplittableRandom(mix(seed, step, calls++));
        // two 32-bit uniforms per draw; p is resolved to 2^-32, far below float precision
        long threshold = (long) Math.ceil(p * 4294967296.0);
        int i = 0;
        for (; i + 1 < n; i += 2) {
            long r = rng.nextLong();
            keep[i] = (r >>> 32) >= threshold;
            keep[i + 1] = (r & 0xFFFFFFFFL) >= threshold;
        }
        if (i < n) {
            keep[i] = (rng.nextLong() >>> 32) >= threshold;
        }
        NDArray mask = ops.booleans(keep, shape);
        return ops.mul(ops.mul(x, mask), ops.scalar(1.0 / (1.0 - p), x.getDataType()));
    }

    static long mix(long seed, long step, long call) {
        long h = seed * 0x9E3779B97F4A7C15L;
        h ^= (step + 0x632BE59BD9B4E019L) * 0xC2B2AE3D27D4EB4FL;
        h = Long.rotateLeft(h, 31) ^ (call * 0x165667B19E3779F9L);
        return h;
    }
}
