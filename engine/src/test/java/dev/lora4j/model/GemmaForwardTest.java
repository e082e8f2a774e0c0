package dev.lora4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.Fixtures;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.TargetModules;
import dev.lora4j.config.TaskType;
import dev.lora4j.data.Batch;
import dev.lora4j.data.Example;
import dev.lora4j.lora.Adapter;
import dev.lora4j.lora.MergedModels;
import dev.lora4j.lora.MergedWeights;
import dev.lora4j.lora.PeftAdapters;
import dev.lora4j.lora.TargetMatcher;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.runtime.Ops;
import dev.lora4j.train.CausalLmEval;
import dev.lora4j.safetensors.DType;
import dev.lora4j.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Gemma and Gemma 2 against fixtures/reference/gemma.py, a float64 transcription of transformers'
 * {@code GemmaRMSNorm.forward}, {@code GemmaMLP.forward} (gelu_pytorch_tanh), {@code apply_rotary_pos_emb},
 * {@code repeat_kv}, Gemma 2's {@code eager_attention_forward} (query_pre_attn_scalar, attn_logit_softcapping before
 * the mask), {@code Gemma2DecoderLayer.forward} (four norms), the sliding-window layers of {@code layer_types},
 * {@code GemmaModel.forward} (embeddings times sqrt(hidden_size) in their dtype), {@code Gemma2ForCausalLM.forward}
 * (final_logit_softcapping) and {@code GemmaForSequenceClassification}, with PEFT's LoRA, rsLoRA and DoRA
 * ({@code peft/tuners/lora/layer.py}, {@code dora.py}). The engine computes in float32: 1e-6 relative.
 */
class GemmaForwardTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final double TOLERANCE = 1e-6;

    static double relative(double expected, double actual) {
        return Math.abs(actual - expected) / Math.abs(expected);
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"gemma,base", "gemma,lora", "gemma,rslora", "gemma,dora", "gemma2,base", "gemma2,lora",
            "gemma2,rslora", "gemma2,dora"})
    void causalLossMatchesTheReference(String family, String adapter) throws IOException {
        Path dir = Fixtures.tiny(family);
        List<long[]> rows = Fixtures.rows(dir.resolve("data.jsonl"));
        double expected = Fixtures.tinyExpected(family).get(adapter).asDouble();
        try (BaseModel base = HfModels.load(dir.resolve("model"))) {
            assertEquals(List.of(), base.warnings());
            if (adapter.equals("base")) {
                for (int batch : new int[] {1, 4}) {
                    double loss = CausalLmEval.evaluate(base, Adaptation.NONE, rows, batch).loss();
                    assertTrue(relative(expected, loss) <= TOLERANCE, family + " batch " + batch + ": " + loss
                            + " vs " + expected + ", relative " + relative(expected, loss));
                }
                return;
            }
            PeftAdapters.LoadedAdapter loaded = PeftAdapters.load(base, dir.resolve("adapters").resolve(adapter),
                    false);
            try (Adapter ad = loaded.adapter()) {
                assertEquals(List.of(), loaded.unexpectedKeys());
                assertTrue(loaded.warnings().stream().noneMatch(w -> w.contains("missing adapter keys")),
                        loaded.warnings().toString());
                for (int batch : new int[] {1, 4}) {
                    double loss = CausalLmEval.evaluate(base, ad, rows, batch).loss();
                    assertTrue(relative(expected, loss) <= TOLERANCE, adapter + " batch " + batch + ": " + loss
                            + " vs " + expected + ", relative " + relative(expected, loss));
                }
                try (MergedWeights mw = MergedWeights.of(ad).merge(true); BaseModel merged = mw.asBaseModel()) {
                    double loss = CausalLmEval.evaluate(merged, Adaptation.NONE, rows, 4).loss();
                    assertTrue(relative(expected, loss) <= TOLERANCE, "merged: " + loss + " vs " + expected);
                    mw.unmerge();
                    for (Map.Entry<String, NDArray> w : base.weights().entrySet()) {
                        assertArrayEquals(w.getValue().toFloatArray(), mw.weights().get(w.getKey()).toFloatArray(),
                                1e-6f, "unmerge restores " + w.getKey());
                    }
                }
            }
        }
    }

    @Test
    void theFixtureExercisesWhatGemma2AddsAndWouldCatchItsAbsence() throws IOException {
        // the reference's own measurements: each Gemma 2 piece left out (or the window one longer) moves the base loss
        // by far more than the tolerance, so the tests above would fail without it
        JsonNode s = Fixtures.tinyExpected("gemma2").get("sensitivity");
        for (String piece : List.of("attn_logit_softcapping", "final_logit_softcapping", "sliding_window",
                "sliding_window_plus_one")) {
            assertTrue(Math.abs(s.get(piece).asDouble()) > 100 * TOLERANCE, piece + ": " + s.get(piece));
        }
        // the exact (erf) GELU instead of the tanh approximation: 3.8e-6 on tiny-gemma, above the tolerance
        assertTrue(Math.abs(Fixtures.tinyExpected("gemma").get("sensitivity").get("erf_gelu").asDouble()) > 2 * TOLERANCE);
        JsonNode config = JSON.readTree(Fixtures.tiny("gemma2").resolve("model/config.json").toFile());
        int longest = Fixtures.rows(Fixtures.tiny("gemma2").resolve("data.jsonl")).stream().mapToInt(r -> r.length).max()
                .orElse(0);
        assertTrue(longest > 2 * config.get("sliding_window").asInt(), "rows longer than the window: " + longest);
        assertTrue(config.get("head_dim").asInt() * config.get("num_attention_heads").asInt()
                != config.get("hidden_size").asInt(), "head_dim is not hidden_size / num_attention_heads");
    }

    @ParameterizedTest
    @ValueSource(strings = {"gemma", "gemma2"})
    void sequenceClassifierLogitsMatchTheReference(String family) throws IOException {
        Path dir = Fixtures.tiny(family);
        JsonNode cls = Fixtures.tinyExpected(family).get("seq_cls");
        List<Example> examples = new ArrayList<>();
        for (JsonNode row : cls.get("rows")) {
            long[] ids = new long[row.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = row.get(i).asLong();
            }
            examples.add(new Example(examples.size() + 1, ids, null, null, 0));
        }
        // one padded batch: rows of different lengths, padded on the right with pad_token_id 0
        Batch batch = Batch.of(new int[] {0, 1, 2, 3}, examples, 0);
        try (BaseModel base = HfModels.load(dir.resolve("model-seq-cls"),
                HfModels.Options.cpu().withTask(TaskType.SEQ_CLS))) {
            assertEquals(List.of(), base.initialised(), "the fixture's score head is loaded");
            assertEquals((family.equals("gemma") ? "Gemma" : "Gemma2") + "ForSequenceClassification",
                    base.architecture().className());
            assertLogits(cls.get("base"), logits(base, Adaptation.NONE, batch), "base");
            try (Adapter ad = PeftAdapters.load(base, dir.resolve("adapters/seq-cls-lora"), false).adapter()) {
                assertLogits(cls.get("seq-cls-lora"), logits(base, ad, batch), "seq-cls-lora");
            }
        }
    }

    private static float[] logits(BaseModel base, Adaptation adaptation, Batch batch) {
        try (GradMode g = GradMode.off(); Ops ops = Ops.scope(base.manager())) {
            return base.architecture().forward(Forward.eval(ops, base, adaptation), batch.modelInput(ops))
                    .toFloatArray();
        }
    }

    private static void assertLogits(JsonNode expected, float[] actual, String what) {
        double largest = 0;
        int i = 0;
        double worst = 0;
        for (JsonNode row : expected) {
            for (JsonNode v : row) {
                largest = Math.max(largest, Math.abs(v.asDouble()));
                worst = Math.max(worst, Math.abs(actual[i++] - v.asDouble()));
            }
        }
        assertEquals(i, actual.length, what + ": logits");
        assertTrue(worst <= TOLERANCE * largest, what + ": largest difference " + worst + " of logits up to "
                + largest);
    }

    @ParameterizedTest
    @ValueSource(strings = {"gemma", "gemma2"})
    void peftsDefaultTargetsAndAllLinear(String family) {
        try (BaseModel base = HfModels.load(Fixtures.tiny(family).resolve("model"))) {
            ModuleTree tree = base.tree();
            LoraConfig none = LoraConfig.builder().r(4).loraAlpha(8).build();
            // TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING: "gemma" and "gemma2": ["q_proj", "v_proj"]
            assertEquals(new TargetModules.Names(List.of("q_proj", "v_proj")),
                    TargetMatcher.resolve(none, tree).targetModules().orElseThrow());
            LoraConfig all = LoraConfig.builder().targetModules(new TargetModules.AllLinear("all-linear")).r(4)
                    .loraAlpha(8).build();
            TargetModules.Names names = (TargetModules.Names) TargetMatcher.resolve(all, tree).targetModules()
                    .orElseThrow();
            assertTrue(names.names().stream().noneMatch(n -> n.contains("lm_head")), names.toString());
            assertEquals(7 * (family.equals("gemma") ? 2 : 3), names.names().size(), names.toString());
            assertEquals("lm_head", tree.outputLayer().orElseThrow());
            assertEquals(Map.of("lm_head.weight", "model.embed_tokens.weight"), base.architecture().aliases());
            assertEquals(family.equals("gemma") ? "GemmaForCausalLM" : "Gemma2ForCausalLM",
                    base.architecture().transformersClass().orElseThrow());
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "gemma2: hidden_activation silu|{\"hidden_activation\": \"silu\"}|hidden_activation silu is not supported for"
                + " gemma2 (supported: gelu_pytorch_tanh, gelu_new, gelu)",
        "gemma2: bidirectional|{\"use_bidirectional_attention\": true}|use_bidirectional_attention true is not"
                + " supported",
        "gemma2: layer_types length|{\"layer_types\": [\"full_attention\"]}|layer_types must be a list of 3"
                + " (num_hidden_layers) entries",
        "gemma2: layer_types kind|{\"layer_types\": [\"full_attention\", \"chunked_attention\", \"full_attention\"]}"
                + "|layer_types must be a list of \"sliding_attention\" or \"full_attention\" entries",
        "gemma2: no window|{\"sliding_window\": null}|sliding_window is missing",
        "gemma2: softcap|{\"attn_logit_softcapping\": 0}|attn_logit_softcapping must be a number > 0",
        "gemma2: query_pre_attn_scalar|{\"query_pre_attn_scalar\": -1}|query_pre_attn_scalar must be a number > 0",
        "gemma2: rope_scaling|{\"rope_scaling\": {\"rope_type\": \"yarn\"}}|rope_scaling type 'yarn' is not"
                + " supported",
        "gemma2: rope_parameters|{\"rope_parameters\": {\"rope_type\": \"dynamic\", \"factor\": 2.0}}"
                + "|rope_scaling type 'dynamic' is not supported",
        "gemma: hidden_act relu|{\"hidden_act\": \"relu\"}|hidden_act relu is not supported for gemma"})
    void configsAskingForWhatIsNotImplementedAreRefused(String name, String patch, String message)
            throws IOException {
        String family = name.substring(0, name.indexOf(':'));
        ObjectNode config = (ObjectNode) JSON.readTree(Fixtures.tiny(family).resolve("model/config.json").toFile());
        config.setAll((ObjectNode) JSON.readTree(patch));
        HfConfig c = HfConfig.of(config);
        String msg = assertThrows(ModelException.class,
                () -> HfModels.architecture(c, TaskType.CAUSAL_LM, Set.of())).getMessage();
        assertTrue(msg.contains(message), msg);
    }

    @Test
    void gemma2DefaultsAreThoseOfGemma2Config() throws IOException {
        // no layer_types: "sliding_attention" if bool((i + 1) % 2); absent soft-capping keys: 50 and 30; explicit
        // nulls: none
        ObjectNode config = (ObjectNode) JSON.readTree(Fixtures.tiny("gemma2").resolve("model/config.json").toFile());
        config.remove(List.of("attn_logit_softcapping", "final_logit_softcapping", "head_dim"));
        Gemma g = (Gemma) HfModels.architecture(HfConfig.of(config), TaskType.CAUSAL_LM, Set.of());
        assertTrue(g.describe().contains("head dim 256") && g.describe().contains("sliding window 6"),
                g.describe());
        config.set("layer_types", JSON.readTree("[\"full_attention\", \"full_attention\", \"full_attention\"]"));
        Gemma full = (Gemma) HfModels.architecture(HfConfig.of(config), TaskType.CAUSAL_LM, Set.of());
        assertTrue(!full.describe().contains("sliding window"), full.describe());
    }

    @ParameterizedTest
    @ValueSource(strings = {"gemma", "gemma2"})
    void aMergedFolderEvaluatesLikeTheAdapter(String family, @TempDir Path tmp) throws IOException {
        Path dir = Fixtures.tiny(family);
        List<long[]> rows = Fixtures.rows(dir.resolve("data.jsonl"));
        double expected = Fixtures.tinyExpected(family).get("dora").asDouble();
        try (BaseModel base = HfModels.load(dir.resolve("model"));
                Adapter ad = PeftAdapters.load(base, dir.resolve("adapters/dora"), false).adapter()) {
            MergedModels.write(ad, tmp.resolve("merged"));
        }
        JsonNode config = JSON.readTree(tmp.resolve("merged/config.json").toFile());
        assertEquals((family.equals("gemma") ? "Gemma" : "Gemma2") + "ForCausalLM",
                config.get("architectures").get(0).asText());
        try (BaseModel merged = HfModels.load(tmp.resolve("merged"))) {
            assertEquals(List.of(), merged.warnings());
            double loss = CausalLmEval.evaluate(merged, Adaptation.NONE, rows, 3).loss();
            assertTrue(relative(expected, loss) <= TOLERANCE, "merged folder: " + loss + " vs " + expected);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gemma", "gemma2"})
    void inFloat16TheLossStaysNearTheReference(String family) throws IOException {
        // fp16 compute (a GPU's precision; CPU kernels here): norms and softmax in fp32 as transformers does them, the
        // rest rounded to fp16, sqrt(hidden_size) included
        Path dir = Fixtures.tiny(family);
        double expected = Fixtures.tinyExpected(family).get("dora").asDouble();
        try (BaseModel base = HfModels.load(dir.resolve("model"),
                HfModels.Options.cpu().withDataType(ai.djl.ndarray.types.DataType.FLOAT16));
                Adapter ad = PeftAdapters.load(base, dir.resolve("adapters/dora"), false).adapter()) {
            double loss = CausalLmEval.evaluate(base, ad, Fixtures.rows(dir.resolve("data.jsonl")), 3).loss();
            // measured: 2.2e-6 (gemma), 8.6e-5 (gemma2)
            assertTrue(relative(expected, loss) < 1e-3, "fp16: " + loss + " vs " + expected);
        }
    }

    @Test
    void shardedAndBf16CheckpointsLoadLikeTheSingleFile(@TempDir Path tmp) throws IOException {
        Path dir = Fixtures.tiny("gemma2");
        List<long[]> rows = Fixtures.rows(dir.resolve("data.jsonl"));
        Map<String, float[]> values = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        double single;
        try (BaseModel base = HfModels.load(dir.resolve("model"))) {
            base.weights().forEach((k, w) -> {
                values.put(k, w.toFloatArray());
                shapes.put(k, w.getShape().getShape());
            });
            single = CausalLmEval.evaluate(base, Adaptation.NONE, rows, 3).loss();
        }
        // two shards and model.safetensors.index.json, as save_pretrained(max_shard_size=...) writes them
        Path sharded = Files.createDirectories(tmp.resolve("sharded"));
        Files.copy(dir.resolve("model/config.json"), sharded.resolve("config.json"));
        SafetensorsWriter[] shards = {new SafetensorsWriter(), new SafetensorsWriter()};
        ObjectNode weightMap = JSON.createObjectNode();
        int i = 0;
        for (String k : values.keySet()) {
            int shard = i++ < values.size() / 2 ? 0 : 1;
            shards[shard].add(k, shapes.get(k), values.get(k));
            weightMap.put(k, "model-0000" + (shard + 1) + "-of-00002.safetensors");
        }
        for (int s = 0; s < 2; s++) {
            shards[s].write(sharded.resolve("model-0000" + (s + 1) + "-of-00002.safetensors"));
        }
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata");
        index.set("weight_map", weightMap);
        Files.writeString(sharded.resolve("model.safetensors.index.json"), index.toString());
        try (BaseModel base = HfModels.load(sharded)) {
            assertEquals(single, CausalLmEval.evaluate(base, Adaptation.NONE, rows, 3).loss(), 0, "sharded");
        }
        // BF16 (widened to float32 on load) gives the loss of the same rounded values stored as F32
        Path bf16 = Files.createDirectories(tmp.resolve("bf16"));
        Path f32 = Files.createDirectories(tmp.resolve("f32"));
        SafetensorsWriter halves = new SafetensorsWriter();
        SafetensorsWriter rounded = new SafetensorsWriter();
        for (String k : values.keySet()) {
            float[] v = values.get(k);
            float[] r = new float[v.length];
            ByteBuffer bits = ByteBuffer.allocate(2 * v.length).order(ByteOrder.LITTLE_ENDIAN);
            for (int j = 0; j < v.length; j++) {
                int b = Float.floatToIntBits(v[j]);
                // round to nearest even on the upper 16 bits (the values here are finite)
                int upper = (b + 0x7FFF + ((b >>> 16) & 1)) >>> 16;
                bits.putShort((short) upper);
                r[j] = Float.intBitsToFloat(upper << 16);
            }
            halves.add(k, DType.BF16, shapes.get(k), bits.flip());
            rounded.add(k, shapes.get(k), r);
        }
        halves.write(bf16.resolve("model.safetensors"));
        rounded.write(f32.resolve("model.safetensors"));
        Files.copy(dir.resolve("model/config.json"), bf16.resolve("config.json"));
        Files.copy(dir.resolve("model/config.json"), f32.resolve("config.json"));
        try (BaseModel a = HfModels.load(bf16); BaseModel b = HfModels.load(f32)) {
            double loss = CausalLmEval.evaluate(a, Adaptation.NONE, rows, 3).loss();
            assertEquals(CausalLmEval.evaluate(b, Adaptation.NONE, rows, 3).loss(), loss, 0, "bf16");
            assertTrue(loss != single, "bf16 rounding changed the weights");
        }
    }

    @Test
    void aMissingLmHeadMeansTiedAndAnUntiedCheckpointKeepsItsOwn() throws IOException {
        ObjectNode config = (ObjectNode) JSON.readTree(Fixtures.tiny("gemma").resolve("model/config.json").toFile());
        config.put("tie_word_embeddings", false);
        HfConfig c = HfConfig.of(config);
        assertEquals(Map.of(), HfModels.architecture(c, TaskType.CAUSAL_LM, Set.of("lm_head.weight")).aliases());
        assertTrue(HfModels.architecture(c, TaskType.CAUSAL_LM, Set.of()).aliases().containsKey("lm_head.weight"));
    }
}
