package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Fixtures;
import dev.lora4j.model.Adaptation;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.HfModels;
import dev.lora4j.train.CausalLmEval;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fixture adapters (written in PEFT's layout, losses from an independent PyTorch implementation of
 * transformers' Llama and PEFT's LoRA): lora4j must reproduce every loss to 1e-5 relative, merged or not.
 */
class PeftAdapterEvalTest {

    @ParameterizedTest(name = "{0}/{1}")
    @CsvSource({"s2,qv", "s2,rslora-all-linear", "s2,dora", "s2,patterns", "s3,qv", "s3,rslora-all-linear",
            "s3,dora", "s3,patterns"})
    void adapterLossMatchesReference(String variant, String adapter) {
        Path dir = Fixtures.tinyLlama(variant);
        List<long[]> rows = Fixtures.rows(dir.resolve("data.jsonl"));
        double expected = Fixtures.expected(variant).get(adapter).asDouble();
        try (BaseModel base = HfModels.load(dir.resolve("model"))) {
            PeftAdapters.LoadedAdapter loaded = PeftAdapters.load(base, dir.resolve("adapters").resolve(adapter), false);
            try (Adapter ad = loaded.adapter()) {
                assertEquals(List.of(), loaded.unexpectedKeys());
                assertTrue(loaded.warnings().stream().noneMatch(w -> w.contains("missing adapter keys")),
                        loaded.warnings().toString());
                double loss = CausalLmEval.evaluate(base, ad, rows, 4).loss();
                assertEquals(expected, loss, expected * 1e-5, "adapter");
                try (MergedWeights mw = MergedWeights.of(ad).merge(true); BaseModel merged = mw.asBaseModel()) {
                    double mergedLoss = CausalLmEval.evaluate(merged, Adaptation.NONE, rows, 4).loss();
                    assertEquals(expected, mergedLoss, expected * 1e-5, "merged");
                    mw.unmerge();
                    for (Map.Entry<String, ai.djl.ndarray.NDArray> w : base.weights().entrySet()) {
                        assertArrayEquals(w.getValue().toFloatArray(), mw.weights().get(w.getKey()).toFloatArray(),
                                1e-6f, "unmerge restores " + w.getKey());
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"qv", "dora", "patterns"})
    void saveThenLoadRoundTrips(String adapter, @TempDir Path tmp) throws IOException {
        Path dir = Fixtures.tinyLlama("s2");
        try (BaseModel base = HfModels.load(dir.resolve("model"));
                Adapter ad = PeftAdapters.load(base, dir.resolve("adapters").resolve(adapter), false).adapter()) {
            Path out = tmp.resolve("saved");
            PeftAdapters.save(ad, out);
            assertTrue(Files.isRegularFile(out.resolve("README.md")));
            Map<String, HostTensor> original = PeftAdapters.readTensors(dir.resolve("adapters").resolve(adapter));
            Map<String, HostTensor> saved = PeftAdapters.readTensors(out);
            assertEquals(original.keySet(), saved.keySet());
            original.forEach((k, v) -> assertArrayEquals(v.data(), saved.get(k).data(), k));
            String json = Files.readString(out.resolve(PeftAdapters.CONFIG));
            assertTrue(json.contains("\"inference_mode\" : true") || json.contains("\"inference_mode\": true"), json);
        }
    }

    @Test
    void mergedFolderEvaluatesLikeTheAdapter(@TempDir Path tmp) {
        Path dir = Fixtures.tinyLlama("s3");
        List<long[]> rows = Fixtures.rows(dir.resolve("data.jsonl"));
        double expected = Fixtures.expected("s3").get("rslora-all-linear").asDouble();
        try (BaseModel base = HfModels.load(dir.resolve("model"));
                Adapter ad = PeftAdapters.load(base, dir.resolve("adapters/rslora-all-linear"), false).adapter()) {
            MergedModels.write(ad, tmp.resolve("merged"));
        }
        try (BaseModel merged = HfModels.load(tmp.resolve("merged"))) {
            assertEquals(expected, CausalLmEval.evaluate(merged, Adaptation.NONE, rows, 3).loss(), expected * 1e-5);
        }
    }

    @Test
    void shapeMismatchesAreAllReported(@TempDir Path tmp) throws IOException {
        Path dir = Fixtures.tinyLlama("s2");
        Path bad = tmp.resolve("bad");
        Files.createDirectories(bad);
        Files.copy(dir.resolve("adapters/qv/adapter_model.safetensors"), bad.resolve(PeftAdapters.WEIGHTS));
        Files.writeString(bad.resolve(PeftAdapters.CONFIG), Files.readString(dir.resolve(
                "adapters/qv/adapter_config.json")).replace("\"r\": 4", "\"r\": 8"));
        try (BaseModel base = HfModels.load(dir.resolve("model"))) {
            String msg = assertThrows(LoraException.class, () -> PeftAdapters.load(base, bad, false)).getMessage();
            assertTrue(msg.contains("size mismatch for base_model.model.model.layers.0.self_attn.q_proj.lora_A.default"
                    + ".weight: copying a param with shape [4, 64] from checkpoint, the shape in current model is"
                    + " [8, 64]"), msg);
            assertEquals(8, msg.split("size mismatch").length - 1, "every tensor reported: " + msg);
        }
    }

    @Test
    void pickleAdaptersGetConversionAdvice(@TempDir Path tmp) throws IOException {
        Files.copy(Fixtures.tinyLlama("s2").resolve("adapters/qv/adapter_config.json"),
                tmp.resolve(PeftAdapters.CONFIG));
        Files.write(tmp.resolve(PeftAdapters.PICKLE), new byte[] {(byte) 0x80, 2, 'c'});
        try (BaseModel base = HfModels.load(Fixtures.tinyLlama("s2").resolve("model"))) {
            String msg = assertThrows(LoraException.class, () -> PeftAdapters.load(base, tmp, false)).getMessage();
            assertTrue(msg.contains("is a PyTorch pickle") && msg.contains("save_file"), msg);
        }
    }
}
