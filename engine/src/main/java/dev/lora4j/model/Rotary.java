package dev.lora4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.lora4j.runtime.Ops;

/**
 * Rotary position embeddings as transformers' Llama-style models apply them ({@code LlamaRotaryEmbedding},
 * {@code GemmaRotaryEmbedding}, {@code rotate_half}, {@code apply_rotary_pos_emb}): cos and sin tables of
 * {@code head_dim} columns (the {@code head_dim / 2} frequencies twice), and {@code x * cos + rotate_half(x) * sin}.
 */
final class Rotary {
    private final float[] invFreq;
    private final int headDim;

    /** {@code invFreq}: the inverse frequencies ({@link Llama#inverseFrequencies}); {@code headDim}: rotated. */
    Rotary(float[] invFreq, int headDim) {
        this.invFreq = invFreq.clone();
        this.headDim = headDim;
    }

    /**
     * The cos table for a pass over {@code in} in {@code type}: {@code (T, head_dim)}, or {@code (B, 1, T, head_dim)}
     * at a packed input's positions.
     */
    NDArray cos(Forward f, ModelInput in, DataType type) {
        return forInput(f, in, type, true);
    }

    /** The sin table for a pass over {@code in}, as {@link #cos}. */
    NDArray sin(Forward f, ModelInput in, DataType type) {
        return forInput(f, in, type, false);
    }

    private NDArray forInput(Forward f, ModelInput in, DataType type, boolean cos) {
        return in.positionIds() == null ? table(f, in.length(), type, cos)
                : at(f, in.positionIds(), in.length(), type, cos);
    }

    /**
     * Rows {@code 0..t-1} of the cos or sin table in {@code type}, a view of a table shared by all passes. Tables are
     * built for power-of-two lengths, so varying batch lengths make a handful of tables, not one per length.
     */
    private NDArray table(Forward f, int t, DataType type, boolean cos) {
        int capacity = Llama.capacity(t);
        NDArray table = f.constant("llama.rope." + (cos ? "cos." : "sin.") + capacity + "." + type, ops -> {
            float[] values = new float[capacity * headDim];
            int half = headDim / 2;
            for (int p = 0; p < capacity; p++) {
                for (int j = 0; j < half; j++) {
                    float angle = invFreq[j] * (float) p;
                    float v = cos ? (float) Math.cos(angle) : (float) Math.sin(angle);
                    values[p * headDim + j] = v;
                    values[p * headDim + j + half] = v;
                }
            }
            return ops.toType(ops.floats(values, new Shape(capacity, headDim)), type);
        });
        return f.ops().slice(table, 0, 0, t);
    }

    /**
     * Rows {@code positions (B, T)} of the cos or sin table, {@code (B, 1, T, head_dim)}: each packed row's positions
     * start again at 0, as transformers' {@code position_ids}.
     */
    private NDArray at(Forward f, NDArray positions, int t, DataType type, boolean cos) {
        Ops ops = f.ops();
        NDArray table = table(f, t, type, cos);
        return ops.unsqueeze(ops.embedding(positions, table), 1);
    }

    /** {@code x * cos + rotate_half(x) * sin}, with {@code rotate_half(x) = cat(-x2, x1)}. */
    NDArray apply(Ops ops, NDArray x, NDArray cos, NDArray sin) {
        int half = headDim / 2;
        NDArray x1 = ops.slice(x, -1, 0, half);
        NDArray x2 = ops.slice(x, -1, half, headDim);
        NDArray rotated = ops.concat(ops.neg(x2), x1, -1);
        return ops.add(ops.mul(x, cos), ops.mul(rotated, sin));
    }
}
