package dev.lora4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.runtime.Ops;
import java.util.Arrays;

/**
 * Rotary position embeddings as transformers' Llama-style models apply them ({@code LlamaRotaryEmbedding},
 * {@code GemmaRotaryEmbedding}, {@code Phi3RotaryEmbedding}, {@code rotate_half}, {@code apply_rotary_pos_emb}): cos and
 * sin tables of {@code dim} columns (the {@code dim / 2} frequencies twice), times LongRoPE's attention factor, and
 * {@code x * cos + rotate_half(x) * sin} over the first {@code dim} features of a head (all of them but for Phi-3's
 * {@code partial_rotary_factor}; the rest pass through).
 */
final class Rotary {
    private final float[] inverse;
    private final float[] longInverse;
    private final int originalLength;
    private final float scaling;
    private final int dim;
    private final int headDim;

    /**
     * @param inverse        the inverse frequencies ({@code dim / 2}), LongRoPE's short ones
     * @param longInverse    LongRoPE's long inverse frequencies, else null
     * @param originalLength LongRoPE uses the long ones when a pass's largest position + 1 exceeds this
     * @param scaling        multiplies cos and sin (LongRoPE's {@code attention_scaling}; 1 otherwise)
     * @param dim            the rotated features of a head
     * @param headDim        the features of a head
     */
    private Rotary(float[] inverse, float[] longInverse, int originalLength, float scaling, int dim, int headDim) {
        this.inverse = inverse.clone();
        this.longInverse = longInverse == null ? null : longInverse.clone();
        this.originalLength = originalLength;
        this.scaling = scaling;
        this.dim = dim;
        this.headDim = headDim;
    }

    /** Plain RoPE over the first {@code dim} features of each head (GPT-NeoX's {@code rotary_ndims}). */
    Rotary(float[] inverse, int dim, int headDim) {
        this(inverse, null, Integer.MAX_VALUE, 1f, dim, headDim);
    }

    static Rotary of(HfConfig c, int dim, int headDim) {
        JsonNode r = Llama.ropeParameters(c).orElse(null);
        String type = Llama.ropeType(r);
        boolean phi3 = c.modelType().equals("phi3");
        if (phi3 && (type.equals("su") || type.equals("yarn"))) {
            type = "longrope"; // Phi3Config.convert_rope_params_to_dict: the names of older Phi-3 checkpoints
        }
        if (phi3 && !type.equals("default") && !type.equals("longrope")) {
            throw new ModelException(c.source() + ": rope_scaling type '" + type + "' is not supported for phi3"
                    + " (supported: default, longrope; su and yarn are read as longrope, as Phi3Config does)");
        }
        if (!type.equals("longrope")) {
            return new Rotary(Llama.inverseFrequencies(c, dim), null, Integer.MAX_VALUE, 1f, dim, headDim);
        }
        // _compute_longrope_parameters: 1 / (ext_factors * base ** (arange(0, dim, 2) / dim)), in fp32
        double theta = Llama.ropeTheta(c);
        int original = r.hasNonNull("original_max_position_embeddings")
                ? positive(c, r, "original_max_position_embeddings")
                : c.sizeOr("original_max_position_embeddings", c.sizeOr("max_position_embeddings", 4096));
        double factor = r.hasNonNull("factor") ? positiveNumber(c, r, "factor")
                : (double) c.sizeOr("max_position_embeddings", original) / original;
        double attention = r.hasNonNull("attention_factor") ? positiveNumber(c, r, "attention_factor")
                : factor <= 1 ? 1.0 : Math.sqrt(1 + Math.log(factor) / Math.log(original));
        return new Rotary(longRope(c, r, "short_factor", theta, dim), longRope(c, r, "long_factor", theta, dim),
                original, (float) attention, dim, headDim);
    }

    private static int positive(HfConfig c, JsonNode r, String key) {
        JsonNode v = r.get(key);
        if (!v.canConvertToInt() || v.asInt() < 1) {
            throw c.invalid("rope_scaling." + key, "a positive integer", v);
        }
        return v.asInt();
    }

    private static double positiveNumber(HfConfig c, JsonNode r, String key) {
        JsonNode v = r.get(key);
        if (!v.isNumber() || !(v.asDouble() > 0) || !Double.isFinite(v.asDouble())) {
            throw c.invalid("rope_scaling." + key, "a number > 0", v);
        }
        return v.asDouble();
    }

    private static float[] longRope(HfConfig c, JsonNode r, String key, double theta, int dim) {
        JsonNode f = r.get(key);
        if (f == null || !f.isArray() || f.size() != dim / 2) {
            throw c.invalid("rope_scaling." + key, "a list of " + dim / 2 + " numbers (half the rotated features"
                    + " of a head) for longrope", f == null ? com.fasterxml.jackson.databind.node.NullNode.instance
                    : f);
        }
        float[] inv = new float[dim / 2];
        for (int i = 0; i < inv.length; i++) {
            if (!f.get(i).isNumber() || !(f.get(i).asDouble() > 0)) {
                throw c.invalid("rope_scaling." + key, "a list of positive numbers", f);
            }
            float pow = (float) Math.pow(theta, (float) (2 * i) / (float) dim);
            inv[i] = 1.0f / ((float) f.get(i).asDouble() * pow);
        }
        return inv;
    }

    /** A pass's cos and sin tables: {@code (T, dim)}, or {@code (B, 1, T, dim)} at a packed input's positions. */
    record Tables(NDArray cos, NDArray sin) {}

    /** The cos and sin tables for a pass over {@code in} in {@code type}. */
    Tables tables(Forward f, ModelInput in, DataType type) {
        boolean useLong = longInverse != null && longFor(in);
        return new Tables(forInput(f, in, type, true, useLong), forInput(f, in, type, false, useLong));
    }

    private NDArray forInput(Forward f, ModelInput in, DataType type, boolean cos, boolean useLong) {
        NDArray table = table(f, in.length(), type, cos, useLong);
        if (in.positionIds() == null) {
            return table;
        }
        Ops ops = f.ops();
        // each packed row's positions start again at 0, as transformers' position_ids
        return ops.unsqueeze(ops.embedding(in.positionIds(), table), 1);
    }

    /**
     * LongRoPE's frequencies depend on the pass's largest position ({@code dynamic_rope_update}): in a padded batch the
     * padded length decides, as in transformers. Packed positions never exceed the length, so only a pass longer than
     * {@code original_max_position_embeddings} reads them back.
     */
    private boolean longFor(ModelInput in) {
        if (in.length() <= originalLength) {
            return false;
        }
        long last = in.positionIds() == null ? in.length() - 1
                : Arrays.stream(in.positionIds().toLongArray()).max().orElse(0);
        return last + 1 > originalLength;
    }

    /**
     * Rows {@code 0..t-1} of the cos or sin table in {@code type}, a view of a table shared by all passes. Tables are
     * built for power-of-two lengths, so varying batch lengths make a handful of tables, not one per length.
     */
    private NDArray table(Forward f, int t, DataType type, boolean cos, boolean useLong) {
        int capacity = Decoder.capacity(t);
        float[] inv = useLong ? longInverse : inverse;
        NDArray table = f.constant("rope." + dim + (cos ? ".cos." : ".sin.") + (useLong ? "long." : "") + capacity + "."
                + type, ops -> {
                    float[] values = new float[capacity * dim];
                    int half = dim / 2;
                    for (int p = 0; p < capacity; p++) {
                        for (int j = 0; j < half; j++) {
                            float angle = inv[j] * (float) p;
                            // cos and sin in fp32, times the attention scaling, then cast
                            float v = (cos ? (float) Math.cos(angle) : (float) Math.sin(angle)) * scaling;
                            values[p * dim + j] = v;
                            values[p * dim + j + half] = v;
                        }
                    }
                    return ops.toType(ops.floats(values, new Shape(capacity, dim)), type);
                });
        return f.ops().slice(table, 0, 0, t);
    }

    /** {@code x * cos + rotate_half(x) * sin} on the first {@code dim} features, {@code rotate_half(x) = cat(-x2, x1)}. */
    NDArray apply(Ops ops, NDArray x, NDArray cos, NDArray sin) {
        NDArray r = dim == headDim ? x : ops.slice(x, -1, 0, dim);
        int half = dim / 2;
        NDArray x1 = ops.slice(r, -1, 0, half);
        NDArray x2 = ops.slice(r, -1, half, dim);
        NDArray rotated = ops.concat(ops.neg(x2), x1, -1);
        NDArray out = ops.add(ops.mul(r, cos), ops.mul(rotated, sin));
        return dim == headDim ? out : ops.concat(out, ops.slice(x, -1, dim, headDim), -1);
    }
}
