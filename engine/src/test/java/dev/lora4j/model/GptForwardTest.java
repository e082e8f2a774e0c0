package dev.lora4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.Fixtures;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.TaskType;
import dev.lora4j.lora.Adapter;
import dev.lora4j.lora.MergedWeights;
import dev.lora4j.lora.PeftAdapters;
import dev.lora4j.lora.TargetMatcher;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.runtime.Ops;
import dev.lora4j.train.CausalLmEval;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * GPT-2 and GPT-NeoX against their float64 references (fixtures/reference/gpt2.py and gpt_neox.py, transcribed from
 * transformers' {@code GPT2Attention._attn}, {@code GPT2Block.forward}, {@code Conv1D.forward},
 * {@code NewGELUActivation}, {@code GPTNeoXAttention.forward}, {@code GPTNeoXLayer.forward} (parallel and sequential
 * residual), {@code apply_rotary_pos_emb} on {@code rotary_ndims} features, the
 * {@code *ForSequenceClassification} pooling on the rightmost non-pad token; and PEFT's {@code Linear.forward},
 * {@code DoraLinearLayer.forward}, merge with {@code fan_in_fan_out}): losses and logits to 1e-6 relative.
 */
class GptForwardTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final double REL = 1e-6;

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "gpt-neox"})
    void baseLossMatchesTheReference(String family) {
        List<long[]> rows = Fixtures.rows(Fixtures.tiny(family).resolve("data.jsonl"));
        double expected = Fixtures.tinyExpected(family).get("base").asDouble();
        try (BaseModel base = HfModels.load(Fixtures.tiny(family).resolve("model"))) {
            assertEquals(List.of(), base.warnings());
            for (int batch : new int[] {1, 4}) {
                DecoderFixtures.assertClose(expected, CausalLmEval.evaluate(base, Adaptation.NONE, rows, batch).loss(),
                        family + " base, batch " + batch);
            }
        }
    }

    @ParameterizedTest(name = "{0}/{1}")
    @CsvSource({"gpt2,lora", "gpt2,rslora", "gpt2,dora", "gpt-neox,lora", "gpt-neox,rslora", "gpt-neox,dora"})
    void adapterMergedAndUnmergedMatchTheReference(String family, String adapter) {
        List<long[]> rows = Fixtures.rows(Fixtures.tiny(family).resolve("data.jsonl"));
        JsonNode e = Fixtures.tinyExpected(family);
        try (BaseModel base = HfModels.load(Fixtures.tiny(family).resolve("model"))) {
            PeftAdapters.LoadedAdapter loaded = PeftAdapters.load(base, Fixtures.tiny(family).resolve("adapters/" + adapter),
                    false);
            try (Adapter ad = loaded.adapter()) {
                assertEquals(List.of(), loaded.unexpectedKeys());
                String fanInFanOut = "fan_in_fan_out is set to False but the target module is `Conv1D`. Setting"
                        + " fan_in_fan_out to True.";
                // the gpt2 DoRA adapter was saved with fan_in_fan_out false: PEFT's warning, and the override
                assertEquals(family.equals("gpt2") && adapter.equals("dora"),
                        ad.warnings().contains(fanInFanOut) || loaded.warnings().contains(fanInFanOut),
                        loaded.warnings() + " " + ad.warnings());
                for (int batch : new int[] {1, 4}) {
                    DecoderFixtures.assertClose(e.get(adapter).asDouble(), CausalLmEval.evaluate(base, ad, rows, batch).loss(),
                            family + " " + adapter + ", batch " + batch);
                }
                try (MergedWeights mw = MergedWeights.of(ad).merge(true); BaseModel merged = mw.asBaseModel()) {
                    DecoderFixtures.assertClose(e.get(adapter + "-merged").asDouble(),
                            CausalLmEval.evaluate(merged, Adaptation.NONE, rows, 4).loss(), family + " " + adapter
                                    + " merged");
                    mw.unmerge();
                    for (Map.Entry<String, NDArray> w : base.weights().entrySet()) {
                        assertArrayEquals(w.getValue().toFloatArray(), mw.weights().get(w.getKey()).toFloatArray(),
                                1e-6f, "unmerge restores " + w.getKey());
                    }
                }
            }
        }
    }

    /** Right-padded with the pad id, as lora4j's batches are; logits {@code (B, labels)}. */
    static float[] classify(BaseModel base, Adaptation adaptation, List<long[]> rows, long pad) {
        int t = rows.stream().mapToInt(r -> r.length).max().orElseThrow();
        long[] ids = new long[rows.size() * t];
        long[] mask = new long[rows.size() * t];
        for (int r = 0; r < rows.size(); r++) {
            for (int j = 0; j < t; j++) {
                boolean real = j < rows.get(r).length;
                ids[r * t + j] = real ? rows.get(r)[j] : pad;
                mask[r * t + j] = real ? 1 : 0;
            }
        }
        try (GradMode g = GradMode.off(); Ops ops = Ops.scope(base.manager())) {
            Shape s = new Shape(rows.size(), t);
            ModelInput in = new ModelInput(ops.longs(ids, s), ops.longs(mask, s), null);
            return base.architecture().forward(Forward.eval(ops, base, adaptation), in).toFloatArray();
        }
    }

    static void assertLogits(JsonNode expected, float[] got, int row, String what) {
        assertLogits(expected, got, row, what, REL);
    }

    /** Logits to {@code tolerance} relative, or absolute below 1. */
    static void assertLogits(JsonNode expected, float[] got, int row, String what, double tolerance) {
        JsonNode e = expected.get(row);
        for (int c = 0; c < e.size(); c++) {
            double x = e.get(c).asDouble();
            double value = got[c];
            System.out.printf("%s row %d label %d: expected %.9f got %.9f abs error %.2e%n", what, row, c, x, value,
                    Math.abs(value - x));
            assertEquals(x, value, Math.max(1.0, Math.abs(x)) * tolerance, what + " row " + row + " label " + c);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "gpt-neox"})
    void sequenceClassificationPoolsTheLastNonPadToken(String family) {
        List<long[]> rows = Fixtures.rows(Fixtures.tiny(family).resolve("seqcls-data.jsonl"));
        JsonNode e = Fixtures.tinyExpected(family);
        // the folder's architectures names the classifier: loaded as SEQ_CLS without asking
        try (BaseModel base = HfModels.load(Fixtures.tiny(family).resolve("seqcls"))) {
            assertEquals(TaskType.SEQ_CLS, base.architecture().task());
            assertEquals(3, base.architecture().numLabels());
            float[] batched = classify(base, Adaptation.NONE, rows, 7);
            for (int r = 0; r < rows.size(); r++) {
                assertLogits(e.get("seqcls-base-logits"), java.util.Arrays.copyOfRange(batched, 3 * r, 3 * r + 3), r,
                        family + " classifier, padded batch");
                assertLogits(e.get("seqcls-base-logits"), classify(base, Adaptation.NONE, List.of(rows.get(r)), 7), r,
                        family + " classifier, batch 1");
            }
            if (family.equals("gpt2")) {
                // a SEQ_CLS adapter with its score head in modules_to_save
                PeftAdapters.LoadedAdapter loaded = PeftAdapters.load(base, Fixtures.tiny(family).resolve("adapters/seqcls"),
                        false);
                try (Adapter ad = loaded.adapter()) {
                    assertEquals(List.of(), loaded.unexpectedKeys());
                    float[] adapted = classify(base, ad, rows, 7);
                    for (int r = 0; r < rows.size(); r++) {
                        assertLogits(e.get("seqcls-logits"), java.util.Arrays.copyOfRange(adapted, 3 * r, 3 * r + 3),
                                r, "gpt2 classifier + adapter");
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"gpt2,c_attn,lm_head", "gpt-neox,query_key_value,embed_out"})
    void defaultTargetsAndAllLinearFollowPeft(String family, String target, String head) {
        try (BaseModel base = HfModels.load(Fixtures.tiny(family).resolve("model"))) {
            LoraConfig none = LoraConfig.builder().r(2).loraAlpha(4).build();
            try (Adapter ad = Adapter.create(base, none, 1)) {
                assertFalse(ad.layers().isEmpty());
                assertTrue(ad.layers().keySet().stream().allMatch(k -> k.endsWith("." + target)),
                        ad.layers().keySet().toString());
            }
            LoraConfig all = LoraConfig.builder().targetModulesRegex("all-linear").r(2).loraAlpha(4).build();
            try (Adapter ad = Adapter.create(base, all, 1)) {
                assertFalse(ad.layers().containsKey(head), ad.layers().keySet().toString());
                assertEquals(base.tree().linears().size() - 1, ad.layers().size(), ad.layers().keySet().toString());
            }
            assertTrue(TargetMatcher.resolve(all, base.tree()).toString().contains(target));
        }
    }

    @Test
    void theGpt2TreeHasConv1dLayersStoredInOut() {
        try (BaseModel base = HfModels.load(Fixtures.tiny("gpt2").resolve("model"))) {
            ModuleNode cAttn = base.tree().require("transformer.h.0.attn.c_attn");
            assertEquals(ModuleNode.Kind.CONV1D, cAttn.kind());
            assertEquals("Conv1D(nf=72, nx=24)", cAttn.describe());
            assertArrayEquals(new long[] {24, 72}, base.weight("transformer.h.0.attn.c_attn.weight").getShape()
                    .getShape());
            assertEquals("Conv1D(nf=24, nx=96)", base.tree().require("transformer.h.2.mlp.c_proj").describe());
            assertEquals("NewGELUActivation()", base.tree().require("transformer.h.1.mlp.act").describe());
            assertEquals("GPT2LMHeadModel", base.architecture().className());
        }
    }

    private static HfConfig config(String json) {
        try {
            return HfConfig.of((ObjectNode) JSON.readTree(json));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void configsAskingForWhatIsNotImplementedAreRefused() {
        String gpt2 = "{\"model_type\": \"gpt2\", \"vocab_size\": 10, \"n_embd\": 8, \"n_layer\": 1, \"n_head\": 2";
        String act = assertThrows(ModelException.class, () -> HfModels.architecture(config(gpt2
                + ", \"activation_function\": \"swish\"}"), null, Set.of())).getMessage();
        assertTrue(act.contains("activation_function swish is not supported for gpt2 (supported: gelu, gelu_new,"),
                act);
        String heads = assertThrows(ModelException.class, () -> HfModels.architecture(config(gpt2.replace(
                "\"n_head\": 2", "\"n_head\": 3") + "}"), null, Set.of())).getMessage();
        assertTrue(heads.contains("n_head 3 does not divide n_embd 8"), heads);
        String cross = assertThrows(ModelException.class, () -> HfModels.architecture(config(gpt2
                + ", \"add_cross_attention\": true}"), null, Set.of())).getMessage();
        assertTrue(cross.contains("add_cross_attention"), cross);
        String neox = "{\"model_type\": \"gpt_neox\", \"vocab_size\": 10, \"hidden_size\": 24, \"num_hidden_layers\":"
                + " 1, \"num_attention_heads\": 2, \"intermediate_size\": 8";
        String odd = assertThrows(ModelException.class, () -> HfModels.architecture(config(neox
                + ", \"rotary_pct\": 0.25}"), null, Set.of())).getMessage();
        assertTrue(odd.contains("rotary_pct 0.25 rotates 3 of the 12 features"), odd);
        String pct = assertThrows(ModelException.class, () -> HfModels.architecture(config(neox
                + ", \"partial_rotary_factor\": 1.5}"), null, Set.of())).getMessage();
        assertTrue(pct.contains("partial_rotary_factor must be a number from 0 to 1"), pct);
        String rope = assertThrows(ModelException.class, () -> HfModels.architecture(config(neox
                + ", \"rotary_pct\": 0.5, \"rope_scaling\": {\"type\": \"dynamic\", \"factor\": 2.0}}"), null,
                Set.of())).getMessage();
        assertTrue(rope.contains("rope_scaling type 'dynamic' is not supported"), rope);
        String task = assertThrows(ModelException.class, () -> HfModels.architecture(config(neox + "}"),
                TaskType.FEATURE_EXTRACTION, Set.of())).getMessage();
        assertTrue(task.contains("task FEATURE_EXTRACTION is not supported for gpt_neox"), task);
        String unknown = assertThrows(ModelException.class, () -> HfModels.architecture(config(
                "{\"model_type\": \"gptj\"}"), null, Set.of())).getMessage();
        assertTrue(unknown.contains("gpt2, gpt_neox"), unknown);
    }

    @Test
    void gpt2CheckpointsWithoutThePrefixAndWithMaskBuffersLoadQuietly(@org.junit.jupiter.api.io.TempDir Path tmp)
            throws IOException {
        // the original gpt2 checkpoint is saved by GPT2Model: h.0.attn.c_attn.weight, wte.weight, and h.0.attn.bias
        Path src = Fixtures.tiny("gpt2").resolve("model");
        Map<String, dev.lora4j.lora.HostTensor> tensors = readAll(src.resolve("model.safetensors"));
        dev.lora4j.safetensors.SafetensorsWriter w = new dev.lora4j.safetensors.SafetensorsWriter();
        tensors.forEach((k, v) -> w.add(k.replaceFirst("^(base_model\\.model\\.)?transformer\\.", ""), v.shape(),
                v.data()));
        w.add("h.0.attn.bias", new long[] {1, 1, 2, 2}, new float[] {1, 0, 1, 1});
        w.add("h.0.attn.masked_bias", new long[] {1}, new float[] {-1e4f});
        Path folder = tmp.resolve("gpt2");
        Files.createDirectories(folder);
        Files.copy(src.resolve("config.json"), folder.resolve("config.json"));
        w.write(folder.resolve("model.safetensors"));
        List<long[]> rows = Fixtures.rows(Fixtures.tiny("gpt2").resolve("data.jsonl"));
        try (BaseModel base = HfModels.load(folder)) {
            assertEquals(List.of(), base.warnings());
            DecoderFixtures.assertClose(Fixtures.tinyExpected("gpt2").get("base").asDouble(),
                    CausalLmEval.evaluate(base, Adaptation.NONE, rows, 3).loss(), "gpt2 without prefix");
        }
    }

    private static Map<String, dev.lora4j.lora.HostTensor> readAll(Path file) {
        // PeftAdapters.readTensors reads a folder's adapter_model.safetensors; the same reader for a model file
        try {
            Path tmp = Files.createTempDirectory("lora4j-gpt2");
            Files.copy(file, tmp.resolve(PeftAdapters.WEIGHTS));
            Map<String, dev.lora4j.lora.HostTensor> t = PeftAdapters.readTensors(tmp);
            Files.delete(tmp.resolve(PeftAdapters.WEIGHTS));
            Files.delete(tmp);
            return t;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
