package dev.lora4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.Fixtures;
import dev.lora4j.config.TaskType;
import dev.lora4j.lora.Adapter;
import dev.lora4j.lora.MergedWeights;
import dev.lora4j.lora.PeftAdapters;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.runtime.Ops;
import dev.lora4j.safetensors.SafetensorsWriter;
import dev.lora4j.train.CausalLmEval;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The checks every decoder fixture written by {@code fixtures/reference/<family>.py} gets: losses of the base and of
 * each PEFT adapter equal to the float64 reference at 1e-6 relative, merged and unmerged, and the sequence
 * classifier's logits on a right-padded batch.
 */
final class DecoderFixtures {
    /** fp32 against the float64 reference: rounding only (tanh- and erf-GELU differ by 1e-5, for scale). */
    static final double RELATIVE = 1e-6;
    private static final ObjectMapper JSON = new ObjectMapper();

    private DecoderFixtures() {}

    static List<long[]> rows(String family) {
        return Fixtures.rows(Fixtures.tiny(family).resolve("data.jsonl"));
    }

    /** The relative error, asserted within {@link #RELATIVE}; returned for the report. */
    static double assertClose(double expected, double actual, String what) {
        double rel = Math.abs(actual - expected) / Math.abs(expected);
        assertTrue(rel <= RELATIVE, what + ": expected " + expected + ", got " + actual + " (relative " + rel + ")");
        System.out.printf("%s: expected %.12f got %.12f relative %.2e%n", what, expected, actual, rel);
        return rel;
    }

    /**
     * The adapter's loss (batch 1 and a padded batch), then merged into the weights (the same loss) and unmerged
     * (the original weights back).
     */
    static void adapterMatches(String family, BaseModel base, String adapter, String key, int batch) {
        List<long[]> rows = rows(family);
        double expected = Fixtures.tinyExpected(family).get(key).asDouble();
        PeftAdapters.LoadedAdapter loaded = PeftAdapters.load(base, Fixtures.tiny(family).resolve("adapters").resolve(adapter),
                false);
        try (Adapter ad = loaded.adapter()) {
            assertEquals(List.of(), loaded.unexpectedKeys());
            assertTrue(loaded.warnings().stream().noneMatch(w -> w.contains("missing adapter keys")),
                    loaded.warnings().toString());
            assertClose(expected, CausalLmEval.evaluate(base, ad, rows, batch).loss(),
                    family + "/" + adapter + " batch " + batch);
            try (MergedWeights mw = MergedWeights.of(ad).merge(true); BaseModel merged = mw.asBaseModel()) {
                assertClose(expected, CausalLmEval.evaluate(merged, Adaptation.NONE, rows, batch).loss(),
                        family + "/" + adapter + " merged");
                mw.unmerge();
                for (Map.Entry<String, NDArray> w : base.weights().entrySet()) {
                    assertArrayEquals(w.getValue().toFloatArray(), mw.weights().get(w.getKey()).toFloatArray(),
                            1e-6f, "unmerge restores " + w.getKey());
                }
            }
        }
    }

    /**
     * The family's {@code *ForSequenceClassification} on the reference's rows, right-padded with pad_token_id: the
     * fixture's model with the reference's {@code score} head in a second shard (so sharded loading is exercised).
     */
    static void sequenceClassifierMatches(String family, Path tmp) throws IOException {
        JsonNode cls = Fixtures.tinyExpected(family).get("seq_cls");
        Path model = Fixtures.tiny(family).resolve("model");
        ObjectNode config = (ObjectNode) JSON.readTree(model.resolve("config.json").toFile());
        String cap = config.get("architectures").get(0).asText().replace("ForCausalLM", "ForSequenceClassification");
        config.putArray("architectures").add(cap);
        int labels = cls.get("num_labels").asInt();
        config.put("num_labels", labels);
        Files.writeString(tmp.resolve("config.json"), config.toPrettyString());
        Files.copy(model.resolve("model.safetensors"), tmp.resolve("model-00001-of-00002.safetensors"));
        int hidden = config.get("hidden_size").asInt();
        float[] score = new float[labels * hidden];
        for (int i = 0; i < score.length; i++) {
            score[i] = (float) cls.get("score").get(i).asDouble();
        }
        new SafetensorsWriter().metadata("format", "pt").add("score.weight", new long[] {labels, hidden}, score)
                .write(tmp.resolve("model-00002-of-00002.safetensors"));
        ObjectNode index = JSON.createObjectNode();
        ObjectNode map = index.putObject("weight_map");
        map.put("score.weight", "model-00002-of-00002.safetensors");
        try (var names = dev.lora4j.safetensors.SafetensorsCheckpoint.open(model)) {
            names.names().forEach(n -> map.put(n, "model-00001-of-00002.safetensors"));
        }
        Files.writeString(tmp.resolve("model.safetensors.index.json"), index.toPrettyString());
        JsonNode rows = cls.get("rows");
        int b = rows.size();
        int t = 0;
        for (JsonNode r : rows) {
            t = Math.max(t, r.size());
        }
        long pad = config.get("pad_token_id").asLong();
        long[] ids = new long[b * t];
        long[] mask = new long[b * t];
        for (int r = 0; r < b; r++) {
            for (int j = 0; j < t; j++) {
                boolean real = j < rows.get(r).size();
                ids[r * t + j] = real ? rows.get(r).get(j).asLong() : pad;
                mask[r * t + j] = real ? 1 : 0;
            }
        }
        try (BaseModel base = HfModels.load(tmp); GradMode g = GradMode.off(); Ops ops = Ops.scope(base.manager())) {
            assertEquals(TaskType.SEQ_CLS, base.architecture().task(), "architectures names a classifier");
            assertEquals(List.of(), base.initialised(), "score came from the second shard");
            ModelInput in = new ModelInput(ops.longs(ids, new Shape(b, t)), ops.longs(mask, new Shape(b, t)), null);
            float[] got = base.architecture().forward(Forward.eval(ops, base, Adaptation.NONE), in).toFloatArray();
            double worst = 0;
            for (int r = 0; r < b; r++) {
                for (int c = 0; c < labels; c++) {
                    double e = cls.get("logits").get(r).get(c).asDouble();
                    double err = Math.abs(got[r * labels + c] - e);
                    worst = Math.max(worst, err);
                    // logits near 0 have no meaningful relative error: relative to the row's scale
                    assertEquals(e, got[r * labels + c], 2e-6 * Math.max(1, Math.abs(e)), "row " + r + " label " + c);
                }
            }
            System.out.printf("%s seq_cls: largest absolute logit error %.2e%n", family, worst);
        }
    }

    /** A copy of the fixture's model folder with {@code edit} applied to its config.json. */
    static Path withConfig(String family, Path tmp, java.util.function.Consumer<ObjectNode> edit) throws IOException {
        Path model = Fixtures.tiny(family).resolve("model");
        ObjectNode config = (ObjectNode) JSON.readTree(model.resolve("config.json").toFile());
        edit.accept(config);
        Files.writeString(tmp.resolve("config.json"), config.toPrettyString());
        Files.copy(model.resolve("model.safetensors"), tmp.resolve("model.safetensors"));
        return tmp;
    }
}
