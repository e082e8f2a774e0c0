package dev.lora4j.model;

import dev.lora4j.Fixtures;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.config.LoraConfig;
import dev.lora4j.lora.LoraException;
import dev.lora4j.lora.TargetMatcher;
import dev.lora4j.train.CausalLmEval;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Phi-3 against fixtures/reference/phi3.py, a float64 transcription of transformers' modeling_phi3.py
 * ({@code Phi3Attention.forward}'s split of the fused qkv_proj, {@code apply_rotary_pos_emb} with a partial rotary
 * dimension, {@code Phi3MLP.forward}'s gate_up_proj chunk, {@code Phi3Model.forward}'s sliding window) and
 * modeling_rope_utils ({@code _compute_longrope_parameters}, {@code dynamic_rope_update}), with PEFT's LoRA/DoRA on
 * the fused modules. The fixture: float16 weights, 2 kv heads of 4, partial_rotary_factor 0.75, LongRoPE with
 * original_max_position_embeddings 16 (rows of 6 to 25 tokens: short and long factors both used), sliding window 7.
 */
class Phi3ForwardTest {
    static BaseModel base;

    @BeforeAll
    static void load() {
        base = HfModels.load(Fixtures.tiny("phi3").resolve("model"));
    }

    @AfterAll
    static void close() {
        base.close();
    }

    @Test
    void theModelIsPhi3WithFusedProjections() {
        assertEquals("Phi3ForCausalLM", base.architecture().className());
        // (4 heads + 2 x 2 kv heads) x head_dim 16; gate and up, 2 x 72
        assertEquals(128, base.tree().require("model.layers.0.self_attn.qkv_proj").outFeatures());
        assertEquals(144, base.tree().require("model.layers.1.mlp.gate_up_proj").outFeatures());
        assertTrue(base.tree().get("model.layers.0.self_attn.q_proj").isEmpty());
        assertTrue(base.architecture().describe().contains("head dim 16 (12 rotated)"), base.architecture().describe());
    }

    @ParameterizedTest(name = "{0} batch {1}")
    @CsvSource({"base,base,1", "base,base_batch4,4", "lora,lora,1", "rslora,rslora,1", "dora,dora,1",
            "dora,dora_batch4,4"})
    void lossesEqualTheReference(String adapter, String key, int batch) {
        if (adapter.equals("base")) {
            DecoderFixtures.assertClose(Fixtures.tinyExpected("phi3").get(key).asDouble(),
                    CausalLmEval.evaluate(base, Adaptation.NONE, DecoderFixtures.rows("phi3"), batch).loss(),
                    "phi3/" + key);
        } else {
            DecoderFixtures.adapterMatches("phi3", base, adapter, key, batch);
        }
    }

    @Test
    void longRopeFollowsTheBatchsPaddedLengthAsTransformersDoes() {
        // rows of 8 and 11 tokens padded to 25 use the long factors: the loss differs from one row at a time
        double one = Fixtures.tinyExpected("phi3").get("base").asDouble();
        double four = Fixtures.tinyExpected("phi3").get("base_batch4").asDouble();
        assertFalse(Math.abs(one - four) < 1e-4, one + " vs " + four);
    }

    @Test
    void suIsLongRopeAndWithoutScalingTheDefaultRopeRotatesPartially(@TempDir Path tmp) throws IOException {
        Path su = DecoderFixtures.withConfig("phi3", Files.createDirectories(tmp.resolve("su")),
                c -> ((com.fasterxml.jackson.databind.node.ObjectNode) c.get("rope_scaling")).put("type", "su"));
        try (BaseModel m = HfModels.load(su)) {
            DecoderFixtures.assertClose(Fixtures.tinyExpected("phi3").get("base").asDouble(),
                    CausalLmEval.evaluate(m, Adaptation.NONE, DecoderFixtures.rows("phi3"), 1).loss(), "phi3/su");
        }
        Path plain = DecoderFixtures.withConfig("phi3", Files.createDirectories(tmp.resolve("plain")),
                c -> c.remove("rope_scaling"));
        try (BaseModel m = HfModels.load(plain)) {
            DecoderFixtures.assertClose(Fixtures.tinyExpected("phi3").get("base_default_rope").asDouble(),
                    CausalLmEval.evaluate(m, Adaptation.NONE, DecoderFixtures.rows("phi3"), 3).loss(),
                    "phi3/default rope");
        }
    }

    @Test
    void aMergedFolderOfTheFusedAdapterEvaluatesLikeTheAdapter(@TempDir Path tmp) {
        try (dev.lora4j.lora.Adapter ad = dev.lora4j.lora.PeftAdapters.load(base, Fixtures.tiny("phi3")
                .resolve("adapters/dora"), false).adapter()) {
            dev.lora4j.lora.MergedModels.write(ad, tmp.resolve("merged"));
        }
        try (BaseModel merged = HfModels.load(tmp.resolve("merged"))) {
            assertEquals("phi3", merged.config().modelType());
            DecoderFixtures.assertClose(Fixtures.tinyExpected("phi3").get("dora").asDouble(),
                    CausalLmEval.evaluate(merged, Adaptation.NONE, DecoderFixtures.rows("phi3"), 1).loss(),
                    "phi3/dora merged folder");
        }
    }

    @Test
    void sequenceClassifierMatchesTheReference(@TempDir Path tmp) throws IOException {
        DecoderFixtures.sequenceClassifierMatches("phi3", tmp);
    }

    @Test
    void peftHasNoDefaultTargetsForPhi3() {
        // TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING has "phi" (Phi-1/2) but no "phi3": PEFT asks for them
        String msg = assertThrows(LoraException.class, () -> TargetMatcher.resolve(LoraConfig.builder().r(4)
                .build(), base.tree())).getMessage();
        assertTrue(msg.contains("Please specify `target_modules`") && msg.contains("'phi3'"), msg);
    }

    @Test
    void ropeTypesItCannotRunAreRefusedNamingTheSupportedOnes(@TempDir Path tmp) throws IOException {
        Path linear = DecoderFixtures.withConfig("phi3", Files.createDirectories(tmp.resolve("linear")),
                c -> c.putObject("rope_scaling").put("type", "linear").put("factor", 2.0));
        String msg = assertThrows(ModelException.class, () -> HfModels.load(linear)).getMessage();
        assertTrue(msg.contains("rope_scaling type 'linear' is not supported for phi3 (supported: default, longrope;"
                + " su and yarn are read as longrope"), msg);
        Path shortList = DecoderFixtures.withConfig("phi3", Files.createDirectories(tmp.resolve("short")),
                c -> ((com.fasterxml.jackson.databind.node.ObjectNode) c.get("rope_scaling")).putArray("short_factor")
                        .add(1.0));
        msg = assertThrows(ModelException.class, () -> HfModels.load(shortList)).getMessage();
        assertTrue(msg.contains("rope_scaling.short_factor must be a list of 6 numbers"), msg);
        Path factor = DecoderFixtures.withConfig("phi3", Files.createDirectories(tmp.resolve("factor")),
                c -> ((com.fasterxml.jackson.databind.node.ObjectNode) c.get("rope_scaling")).put("attention_factor",
                        "big"));
        msg = assertThrows(ModelException.class, () -> HfModels.load(factor)).getMessage();
        assertTrue(msg.contains("rope_scaling.attention_factor must be a number > 0, got \"big\""), msg);
        Path odd = DecoderFixtures.withConfig("phi3", Files.createDirectories(tmp.resolve("odd")),
                c -> c.put("partial_rotary_factor", 0.35));
        msg = assertThrows(ModelException.class, () -> HfModels.load(odd)).getMessage();
        assertTrue(msg.contains("partial_rotary_factor 0.35 gives 5 rotated features of a head of 16; it must be at"
                + " most 1 and give an even number >= 2"), msg);
    }
}
