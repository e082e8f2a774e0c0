package dev.lora4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.Fixtures;
import dev.lora4j.config.TaskType;
import dev.lora4j.lora.Adapter;
import dev.lora4j.lora.PeftAdapters;
import dev.lora4j.train.CausalLmEval;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real PEFT adapters of fixtures/peft-adapters for GPT-2 and GPT-NeoX, loaded onto random bases of the shapes
 * they were trained on (hashed weights, see {@link HashedWeights}; the real bases are not available here) and
 * evaluated against the float64 reference (fixtures/reference/gpt2.py and gpt_neox.py, {@code real()}).
 */
class GptPeftFixturesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CONV1D_WARNING = "fan_in_fan_out is set to False but the target module is `Conv1D`."
            + " Setting fan_in_fan_out to True.";

    // distilgpt2's config.json: 6 layers, n_embd 768, 12 heads; n_inner and vocab shrunk (the adapters touch neither)
    private static final String DISTILGPT2 = "{\"model_type\": \"gpt2\", \"vocab_size\": 64, \"n_positions\": 32,"
            + " \"n_embd\": 768, \"n_layer\": 6, \"n_head\": 12, \"n_inner\": 16, \"activation_function\": \"gelu_new\","
            + " \"layer_norm_epsilon\": 1e-5}";
    // gpt2: 12 layers, 768, 12 heads, n_inner 3072 (the adapter has mlp.c_proj)
    private static final String GPT2_SEQCLS = "{\"model_type\": \"gpt2\", \"vocab_size\": 64, \"n_positions\": 32,"
            + " \"n_embd\": 768, \"n_layer\": 12, \"n_head\": 12, \"n_inner\": null, \"activation_function\":"
            + " \"gelu_new\", \"layer_norm_epsilon\": 1e-5, \"num_labels\": 2, \"pad_token_id\": 63}";
    // open-calm-1b: GPT-NeoX, hidden 2048, 16 heads; 2 of its 24 layers, a small MLP and vocab
    private static final String OPEN_CALM = "{\"model_type\": \"gpt_neox\", \"vocab_size\": 64, \"hidden_size\": 2048,"
            + " \"num_hidden_layers\": 2, \"num_attention_heads\": 16, \"intermediate_size\": 16, \"hidden_act\":"
            + " \"gelu\", \"rotary_pct\": 1.0, \"rotary_emb_base\": 10000, \"max_position_embeddings\": 2048,"
            + " \"layer_norm_eps\": 1e-5, \"use_parallel_residual\": false, \"tie_word_embeddings\": false}";
    private static final List<long[]> ROWS = List.of(new long[] {5, 17, 33, 2, 60, 11, 9},
            new long[] {40, 3, 3, 28, 51, 7, 19, 22, 1, 0, 44, 12}, new long[] {8, 30, 63, 63});

    private static BaseModel hashedBase(String json, long seed, String dtype, TaskType task, Path tmp)
            throws IOException {
        HfConfig config = HfConfig.of((ObjectNode) JSON.readTree(json));
        // every parameter the architecture reads, an untied head included
        Architecture arch = HfModels.architecture(config, task, Set.of("embed_out.weight"));
        HashedWeights source = new HashedWeights(arch.parameters(), seed, dtype,
                n -> n.endsWith("ln_1.weight") || n.endsWith("ln_2.weight") || n.endsWith("ln_f.weight")
                        || n.endsWith("layernorm.weight") || n.endsWith("final_layer_norm.weight"));
        return HfModels.load(tmp, config, source, HfModels.Options.cpu().withTask(task));
    }

    /** An adapter folder from a fixture's tensors and a config (the repository's, or one written here). */
    private static Path adapter(Path tmp, String tensors, String config) throws IOException {
        Path dir = Files.createTempDirectory(tmp, "adapter");
        Files.copy(Fixtures.root().resolve("peft-adapters/" + tensors), dir.resolve(PeftAdapters.WEIGHTS));
        Files.writeString(dir.resolve(PeftAdapters.CONFIG), config);
        return dir;
    }

    private static String repositoryConfig(String name) throws IOException {
        return Files.readString(Fixtures.root().resolve("peft-adapters/" + name + "-adapter_config.json"));
    }

    @Test
    void distilgpt2AdaptersEvaluateLikeTheReference(@TempDir Path tmp) throws IOException {
        JsonNode e = Fixtures.tinyExpected("gpt2").get("peft-adapters");
        List<long[]> rows = ROWS.subList(0, 2);
        try (BaseModel base = hashedBase(DISTILGPT2, 1, "F32", null, tmp)) {
            DecoderFixtures.assertClose(e.get("distilgpt2-base").asDouble(),
                    CausalLmEval.evaluate(base, Adaptation.NONE, rows, 2).loss(), "distilgpt2 hashed base");
            // sanaear's config says fan_in_fan_out false for c_attn (a Conv1D): PEFT warns and sets it to True
            PeftAdapters.LoadedAdapter sanaear = PeftAdapters.load(base, adapter(tmp,
                    "sanaear-distilgpt2-c_attn-r8.safetensors", repositoryConfig("sanaear")), false);
            try (Adapter ad = sanaear.adapter()) {
                assertEquals(List.of(), sanaear.unexpectedKeys());
                assertEquals(6, ad.layers().size());
                List<String> warnings = new ArrayList<>(sanaear.warnings());
                warnings.addAll(ad.warnings());
                assertTrue(warnings.contains(CONV1D_WARNING), warnings.toString());
                assertTrue(ad.config().fanInFanOut(), "the layers run with fan_in_fan_out");
                for (int batch : new int[] {1, 2}) {
                    DecoderFixtures.assertClose(e.get("sanaear").asDouble(),
                            CausalLmEval.evaluate(base, ad, rows, batch).loss(), "sanaear r8 c_attn, batch " + batch);
                }
            }
            PeftAdapters.LoadedAdapter shahidmo = PeftAdapters.load(base, adapter(tmp,
                    "shahidmo-distilgpt2-r16.safetensors", repositoryConfig("shahidmo")), false);
            try (Adapter ad = shahidmo.adapter()) {
                assertEquals(List.of(), shahidmo.unexpectedKeys());
                assertEquals(12, ad.layers().size());
                assertTrue(!shahidmo.warnings().contains(CONV1D_WARNING) && !ad.warnings().contains(CONV1D_WARNING));
                DecoderFixtures.assertClose(e.get("shahidmo").asDouble(),
                        CausalLmEval.evaluate(base, ad, rows, 2).loss(), "shahidmo r16 c_attn + c_proj");
            }
        }
    }

    @Test
    void gpt2ClassifierAdapterWithItsScoreHeadEvaluatesLikeTheReference(@TempDir Path tmp) throws IOException {
        JsonNode e = Fixtures.tinyExpected("gpt2").get("peft-adapters").get("deepbiolab-logits");
        // the repository has no adapter_config.json: r 8 from the tensors, lora_alpha chosen (the reference uses 16)
        String config = "{\"peft_type\": \"LORA\", \"task_type\": \"SEQ_CLS\", \"r\": 8, \"lora_alpha\": 16,"
                + " \"target_modules\": [\"c_attn\", \"c_proj\"], \"fan_in_fan_out\": true, \"modules_to_save\":"
                + " [\"score\"], \"bias\": \"none\", \"lora_dropout\": 0.0}";
        try (BaseModel base = hashedBase(GPT2_SEQCLS, 2, "F16", TaskType.SEQ_CLS, tmp)) {
            PeftAdapters.LoadedAdapter loaded = PeftAdapters.load(base, adapter(tmp,
                    "deepbiolab-gpt2-seqcls-r8.safetensors", config), false);
            try (Adapter ad = loaded.adapter()) {
                assertEquals(List.of(), loaded.unexpectedKeys());
                // c_proj matches attn.c_proj and mlp.c_proj in each of the 12 layers, c_attn once
                assertEquals(36, ad.layers().size());
                float[] logits = GptForwardTest.classify(base, ad, ROWS, 63);
                // 12 float32 layers of width 768 (3072 in the MLP): float32 sums reach ~1e-6 here (measured 9.9e-7),
                // so 3e-6; the tiny fixtures hold 1e-6

                for (int r = 0; r < ROWS.size(); r++) {
                    GptForwardTest.assertLogits(e, java.util.Arrays.copyOfRange(logits, 2 * r, 2 * r + 2), r,
                            "deepbiolab gpt2 SEQ_CLS", 3e-6);
                }
            }
        }
    }

    @Test
    void openCalmFusedQkvAdapterInHalfPrecisionEvaluatesLikeTheReference(@TempDir Path tmp) throws IOException {
        JsonNode e = Fixtures.tinyExpected("gpt-neox").get("peft-adapters");
        List<long[]> rows = ROWS.subList(0, 2);
        String config = "{\"peft_type\": \"LORA\", \"task_type\": \"CAUSAL_LM\", \"r\": 1, \"lora_alpha\": 2,"
                + " \"target_modules\": [\"query_key_value\"], \"bias\": \"none\", \"lora_dropout\": 0.0}";
        try (BaseModel base = hashedBase(OPEN_CALM, 3, "F16", null, tmp)) {
            DecoderFixtures.assertClose(e.get("open-calm-base").asDouble(),
                    CausalLmEval.evaluate(base, Adaptation.NONE, rows, 2).loss(), "open-calm hashed base");
            PeftAdapters.LoadedAdapter loaded = PeftAdapters.load(base, adapter(tmp,
                    "bk7195-opencalm1b-qkv-r1.safetensors", config), false);
            try (Adapter ad = loaded.adapter()) {
                // the base has 2 of the 24 layers: the adapter's other 22 layers' A and B are unexpected keys
                assertEquals(44, loaded.unexpectedKeys().size(), loaded.unexpectedKeys().toString());
                assertTrue(loaded.unexpectedKeys().stream().noneMatch(k -> k.contains(".layers.0.")
                        || k.contains(".layers.1.")));
                for (int batch : new int[] {1, 2}) {
                    DecoderFixtures.assertClose(e.get("bk7195").asDouble(),
                            CausalLmEval.evaluate(base, ad, rows, batch).loss(), "bk7195 r1 query_key_value, batch "
                                    + batch);
                }
            }
        }
    }
}
