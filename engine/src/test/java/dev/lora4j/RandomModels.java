package dev.lora4j;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.config.TaskType;
import dev.lora4j.model.Architecture;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.HfConfig;
import dev.lora4j.model.HfModels;
import dev.lora4j.runtime.Ops;
import dev.lora4j.runtime.Torch;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/** Small models of every supported family with seeded random weights, built in memory (several layers). */
public final class RandomModels {
    private RandomModels() {}

    /** A llama (or mistral with {@code window > 0}): 3 layers, hidden 32, 4 heads, 2 kv heads, vocab 50. */
    public static ObjectNode llama(int window) {
        ObjectNode c = JsonNodeFactory.instance.objectNode();
        c.put("model_type", window > 0 ? "mistral" : "llama");
        c.put("vocab_size", 50);
        c.put("hidden_size", 32);
        c.put("intermediate_size", 48);
        c.put("num_hidden_layers", 3);
        c.put("num_attention_heads", 4);
        c.put("num_key_value_heads", 2);
        c.put("rms_norm_eps", 1e-5);
        c.put("tie_word_embeddings", false);
        c.put("num_labels", 3);
        c.put("pad_token_id", 1);
        if (window > 0) {
            c.put("sliding_window", window);
        }
        return c;
    }

    /** A BERT or RoBERTa encoder: 3 layers, hidden 16, 2 heads, vocab 40, 64 positions, dropout 0.1. */
    /**
     * Qwen3 on the Llama shape: head_dim 12 (not hidden / heads), q_norm/k_norm, attention biases, a window of
     * {@code window} on the last two layers (layer_types), attention dropout.
     */
    public static ObjectNode qwen3(int window) {
        ObjectNode c = llama(0);
        c.put("model_type", "qwen3");
        c.put("head_dim", 12);
        c.put("attention_bias", true);
        c.put("attention_dropout", 0.1);
        c.put("use_sliding_window", true);
        c.put("sliding_window", window);
        c.putArray("layer_types").add("full_attention").add("sliding_attention").add("sliding_attention");
        return c;
    }

    /**
     * Phi-3 on the Llama shape: fused projections, partial_rotary_factor 0.5, LongRoPE whose long factors apply past
     * {@code originalLength} positions, a sliding window, residual and attention dropout.
     */
    public static ObjectNode phi3(int window, int originalLength) {
        ObjectNode c = llama(0);
        c.put("model_type", "phi3");
        c.put("partial_rotary_factor", 0.5);
        c.put("sliding_window", window);
        c.put("resid_pdrop", 0.1);
        c.put("attention_dropout", 0.1);
        c.put("original_max_position_embeddings", originalLength);
        c.put("max_position_embeddings", 4 * originalLength);
        ObjectNode rope = c.putObject("rope_scaling");
        rope.put("type", "longrope");
        rope.putArray("short_factor").add(1.0).add(1.5);
        rope.putArray("long_factor").add(2.0).add(4.0);
        return c;
    }

    public static ObjectNode bert(boolean roberta) {
        ObjectNode c = JsonNodeFactory.instance.objectNode();
        c.put("model_type", roberta ? "roberta" : "bert");
        c.put("vocab_size", 40);
        c.put("hidden_size", 16);
        c.put("intermediate_size", 24);
        c.put("num_hidden_layers", 3);
        c.put("num_attention_heads", 2);
        c.put("max_position_embeddings", 64);
        c.put("type_vocab_size", 2);
        c.put("hidden_dropout_prob", 0.1);
        c.put("attention_probs_dropout_prob", 0.1);
        c.put("pad_token_id", 1);
        c.put("num_labels", 3);
        return c;
    }

    /** Random weights N(0, 0.2) (norm weights near 1) for {@code config} as {@code task}, in {@code type}. */
    public static BaseModel build(ObjectNode config, TaskType task, DataType type, long seed) {
        HfConfig c = HfConfig.of(config);
        Architecture arch = HfModels.architecture(c, task, Set.of("lm_head.weight"));
        NDManager manager = Torch.newManager(Device.cpu());
        Ops keep = Ops.into(manager);
        SplittableRandom rng = new SplittableRandom(seed);
        Map<String, NDArray> weights = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> p : arch.parameters().entrySet()) {
            long[] shape = p.getValue();
            float[] v = new float[Math.toIntExact(Arrays.stream(shape).reduce(1, Math::multiplyExact))];
            boolean norm = p.getKey().toLowerCase().contains("norm.weight");
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) ((norm ? 1 : 0) + rng.nextGaussian() * 0.2);
            }
            NDArray w = keep.toType(keep.floats(v, new Shape(shape)), type);
            w.setName(p.getKey());
            weights.put(p.getKey(), w);
        }
        return BaseModel.of(c, arch, manager, weights);
    }
}
