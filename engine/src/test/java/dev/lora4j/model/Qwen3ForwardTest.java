package dev.lora4j.model;

import dev.lora4j.Fixtures;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.train.CausalLmEval;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Qwen3 against fixtures/reference/qwen3.py, a float64 transcription of transformers' modeling_qwen3.py
 * ({@code Qwen3Attention.forward} with q_norm/k_norm over head_dim before {@code apply_rotary_pos_emb},
 * {@code Qwen3RMSNorm.forward}, {@code Qwen3MLP.forward}, {@code Qwen3Model.forward}'s per-layer sliding-window mask,
 * {@code Qwen3Config.__post_init__}'s layer_types) and PEFT's LoRA/DoRA ({@code Linear.forward},
 * {@code DoraLinearLayer.forward}). The fixture: head_dim 16 with hidden 48 and 4 heads (not hidden / heads), 2 kv
 * heads, attention biases, a tied head, {@code rope_parameters} (transformers 5), a sliding window of 6 on layer 1
 * only ({@code layer_types}), rows of 5 to 21 tokens.
 */
class Qwen3ForwardTest {
    static BaseModel base;

    @BeforeAll
    static void load() {
        base = HfModels.load(Fixtures.tiny("qwen3").resolve("model"));
    }

    @AfterAll
    static void close() {
        base.close();
    }

    @Test
    void theModelIsQwen3WithTransformersNames() {
        assertEquals("Qwen3ForCausalLM", base.architecture().className());
        assertTrue(base.tree().get("model.layers.0.self_attn.q_norm").isPresent());
        assertEquals(64, base.tree().require("model.layers.0.self_attn.q_proj").outFeatures(), "4 heads x head_dim 16");
        assertTrue(((Llama) base.architecture()).tiedEmbeddings());
        assertTrue(base.architecture().describe().contains("head dim 16"), base.architecture().describe());
    }

    @ParameterizedTest(name = "{0} batch {1}")
    @CsvSource({"base,1", "base,4", "lora,1", "lora,4", "rslora,3", "dora,1", "dora,4"})
    void lossesEqualTheReference(String adapter, int batch) {
        if (adapter.equals("base")) {
            DecoderFixtures.assertClose(Fixtures.tinyExpected("qwen3").get("base").asDouble(),
                    CausalLmEval.evaluate(base, Adaptation.NONE, DecoderFixtures.rows("qwen3"), batch).loss(),
                    "qwen3/base batch " + batch);
        } else {
            DecoderFixtures.adapterMatches("qwen3", base, adapter, adapter, batch);
        }
    }

    @Test
    void withoutLayerTypesMaxWindowLayersChoosesTheSlidingLayers(@TempDir Path tmp) throws IOException {
        Path dir = DecoderFixtures.withConfig("qwen3", tmp, c -> {
            c.remove("layer_types");
            c.put("max_window_layers", 2);
        });
        double expected = Fixtures.tinyExpected("qwen3").get("base_max_window_layers_2").asDouble();
        assertFalse(Math.abs(expected - Fixtures.tinyExpected("qwen3").get("base").asDouble()) < 1e-4,
                "the layers that slide change the loss");
        try (BaseModel other = HfModels.load(dir)) {
            DecoderFixtures.assertClose(expected, CausalLmEval.evaluate(other, Adaptation.NONE,
                    DecoderFixtures.rows("qwen3"), 4).loss(), "qwen3/max_window_layers 2");
        }
    }

    @Test
    void sequenceClassifierMatchesTheReference(@TempDir Path tmp) throws IOException {
        DecoderFixtures.sequenceClassifierMatches("qwen3", tmp);
    }

    @Test
    void configsItCannotRunAreRefusedNamingTheField(@TempDir Path tmp) throws IOException {
        Path sliding = DecoderFixtures.withConfig("qwen3", tmp.resolve("a").toFile().mkdirs() ? tmp.resolve("a")
                : tmp, c -> c.put("use_sliding_window", false));
        String msg = assertThrows(ModelException.class, () -> HfModels.load(sliding)).getMessage();
        assertTrue(msg.contains("layer_types has sliding_attention layers but use_sliding_window is not true"), msg);
        Path types = DecoderFixtures.withConfig("qwen3", tmp.resolve("b").toFile().mkdirs() ? tmp.resolve("b") : tmp,
                c -> c.putArray("layer_types").add("full_attention"));
        msg = assertThrows(ModelException.class, () -> HfModels.load(types)).getMessage();
        assertTrue(msg.contains("layer_types must be a list of 3 (num_hidden_layers) entries"), msg);
        Path yarn = DecoderFixtures.withConfig("qwen3", tmp.resolve("c").toFile().mkdirs() ? tmp.resolve("c") : tmp,
                c -> c.putObject("rope_parameters").put("rope_type", "yarn").put("factor", 4.0));
        msg = assertThrows(ModelException.class, () -> HfModels.load(yarn)).getMessage();
        assertTrue(msg.contains("rope_scaling type 'yarn' is not supported (supported: default, linear, llama3,"
                + " longrope)"), msg);
    }
}
