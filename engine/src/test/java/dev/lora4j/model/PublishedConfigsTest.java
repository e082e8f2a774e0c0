package dev.lora4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The shapes lora4j expects for published Qwen3 and Phi checkpoints, from their config.json's fields (no weights
 * needed): the tensors of Qwen3-0.6B (head_dim 128 with hidden 1024 and 16 heads, tied), Phi-3-mini-128k-instruct
 * (LongRoPE with 48 factors, 96-wide heads) and Phi-4-mini-instruct (24 heads, 8 kv, partial_rotary_factor 0.75:
 * 96 of 128 features rotate, 48 factors, tied).
 */
class PublishedConfigsTest {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private static ObjectNode base(String type, int vocab, int hidden, int inter, int layers, int heads, int kv) {
        ObjectNode c = F.objectNode();
        c.put("model_type", type);
        c.put("vocab_size", vocab);
        c.put("hidden_size", hidden);
        c.put("intermediate_size", inter);
        c.put("num_hidden_layers", layers);
        c.put("num_attention_heads", heads);
        c.put("num_key_value_heads", kv);
        return c;
    }

    private static ObjectNode longRope(ObjectNode c, int factors) {
        ObjectNode r = c.putObject("rope_scaling");
        r.put("type", "longrope");
        ArrayNode s = r.putArray("short_factor");
        ArrayNode l = r.putArray("long_factor");
        for (int i = 0; i < factors; i++) {
            s.add(1.0 + i / 100.0);
            l.add(1.0 + i);
        }
        c.put("original_max_position_embeddings", 4096);
        c.put("max_position_embeddings", 131072);
        return c;
    }

    private static Map<String, long[]> params(ObjectNode c, Set<String> names) {
        return HfModels.architecture(HfConfig.of(c), null, names).parameters();
    }

    @Test
    void qwen3ZeroPointSixB() {
        ObjectNode c = base("qwen3", 151936, 1024, 3072, 28, 16, 8);
        c.put("head_dim", 128);
        c.put("tie_word_embeddings", true);
        c.put("rope_theta", 1000000);
        c.put("use_sliding_window", false);
        c.putNull("sliding_window");
        c.put("max_window_layers", 28);
        Map<String, long[]> p = params(c, Set.of());
        assertArrayEquals(new long[] {2048, 1024}, p.get("model.layers.27.self_attn.q_proj.weight"));
        assertArrayEquals(new long[] {1024, 1024}, p.get("model.layers.0.self_attn.k_proj.weight"));
        assertArrayEquals(new long[] {1024, 2048}, p.get("model.layers.0.self_attn.o_proj.weight"));
        assertArrayEquals(new long[] {128}, p.get("model.layers.0.self_attn.k_norm.weight"));
        assertTrue(!p.containsKey("lm_head.weight") && !p.containsKey("model.layers.0.self_attn.q_proj.bias"));
        assertEquals(28 * 11 + 2, p.size());
    }

    @Test
    void phi3Mini128kAndPhi4Mini() {
        ObjectNode mini = longRope(base("phi3", 32064, 3072, 8192, 32, 32, 32), 48);
        mini.put("sliding_window", 262144);
        Map<String, long[]> p = params(mini, Set.of("lm_head.weight"));
        assertArrayEquals(new long[] {9216, 3072}, p.get("model.layers.31.self_attn.qkv_proj.weight"));
        assertArrayEquals(new long[] {16384, 3072}, p.get("model.layers.0.mlp.gate_up_proj.weight"));
        assertArrayEquals(new long[] {32064, 3072}, p.get("lm_head.weight"));

        ObjectNode phi4 = longRope(base("phi3", 200064, 3072, 8192, 32, 24, 8), 48);
        phi4.put("partial_rotary_factor", 0.75);
        phi4.put("tie_word_embeddings", true);
        Architecture a = HfModels.architecture(HfConfig.of(phi4), null, Set.of());
        assertArrayEquals(new long[] {5120, 3072}, a.parameters().get("model.layers.0.self_attn.qkv_proj.weight"));
        assertEquals(Map.of("lm_head.weight", "model.embed_tokens.weight"), a.aliases());
        assertTrue(a.describe().contains("head dim 128 (96 rotated)"), a.describe());
        // 64 factors would be Phi-3-mini's 96-wide heads without the partial factor: refused, naming the field
        phi4.set("rope_scaling", longRope(F.objectNode(), 64).get("rope_scaling"));
        String msg = org.junit.jupiter.api.Assertions.assertThrows(ModelException.class,
                () -> HfModels.architecture(HfConfig.of(phi4), null, Set.of())).getMessage();
        assertTrue(msg.contains("rope_scaling.short_factor must be a list of 48 numbers"), msg);
    }
}
