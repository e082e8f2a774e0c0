package dev.lora4j.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Real files: PEFT adapters from public repositories (fixtures/peft-adapters/SOURCES.tsv) and the tiny Llama models.
 * Expected sums were computed independently with numpy from the raw bytes.
 */
class PeftFixturesTest {

    private static final String GPT2_LAYER = "base_model.model.transformer.h.%d.attn.%s.lora_%s.weight";

    private static void assertAllOfType(SafetensorsFile f, int count, DType dtype) {
        assertEquals(count, f.names().size());
        for (String name : f.names()) {
            assertEquals(dtype, f.info(name).dtype(), name);
        }
    }

    private static double sum(float[] values) {
        double s = 0;
        for (float v : values) {
            s += v;
        }
        return s;
    }

    @Test
    void sanaearDistilgpt2CAttn() throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(TestFiles.peftAdapter("sanaear"))) {
            assertEquals(Map.of("format", "pt"), f.metadata());
            assertAllOfType(f, 12, DType.F32);
            for (int layer = 0; layer < 6; layer++) {
                assertArrayEquals(new long[] {8, 768}, f.info(GPT2_LAYER.formatted(layer, "c_attn", "A")).shape());
                assertArrayEquals(new long[] {2304, 8}, f.info(GPT2_LAYER.formatted(layer, "c_attn", "B")).shape());
            }
            assertEquals(GPT2_LAYER.formatted(0, "c_attn", "A"), f.names().get(0));
            float[] a0 = f.floats(GPT2_LAYER.formatted(0, "c_attn", "A"));
            assertEquals(8 * 768, a0.length);
            assertArrayEquals(new float[] {0.02599899098277092f, -0.020203428342938423f, 0.029033012688159943f},
                    new float[] {a0[0], a0[1], a0[2]});
            assertEquals(0.2842798010419756, sum(a0), 1e-6);
        }
    }

    @Test
    void shahidmoDistilgpt2CAttnAndCProj() throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(TestFiles.peftAdapter("shahidmo"))) {
            assertAllOfType(f, 24, DType.F32);
            assertArrayEquals(new long[] {16, 768}, f.info(GPT2_LAYER.formatted(5, "c_proj", "A")).shape());
            assertArrayEquals(new long[] {2304, 16}, f.info(GPT2_LAYER.formatted(0, "c_attn", "B")).shape());
        }
    }

    @Test
    void deepbiolabGpt2SequenceClassificationWithSavedHead() throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(TestFiles.peftAdapter("deepbiolab"))) {
            assertAllOfType(f, 73, DType.F32);
            assertEquals("base_model.model.score.weight", f.names().get(0));
            assertArrayEquals(new long[] {2, 768}, f.info("base_model.model.score.weight").shape());
            assertTrue(f.contains("base_model.model.transformer.h.9.mlp.c_proj.lora_B.weight"),
                    "suffix-matched mlp.c_proj");
        }
    }

    @Test
    void weijun124RobertaClassifier() throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(TestFiles.peftAdapter("weijun124"))) {
            assertAllOfType(f, 28, DType.F32);
            assertArrayEquals(new long[] {768, 768}, f.info("base_model.model.classifier.dense.weight").shape());
            assertArrayEquals(new long[] {4}, f.info("base_model.model.classifier.out_proj.bias").shape());
            assertTrue(f.contains("base_model.model.roberta.encoder.layer.9.attention.self.value.lora_B.weight"));
        }
    }

    @Test
    void bk7195OpenCalmF16() throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(TestFiles.peftAdapter("bk7195"))) {
            assertAllOfType(f, 48, DType.F16);
            String prefix = "base_model.model.gpt_neox.layers.0.attention.query_key_value.lora_";
            assertArrayEquals(new long[] {1, 2048}, f.info(prefix + "A.weight").shape());
            assertArrayEquals(new long[] {6144, 1}, f.info(prefix + "B.weight").shape());
            float[] b = f.floats(prefix + "B.weight");
            assertArrayEquals(new float[] {0.3115234375f, 0.109130859375f, -0.0897216796875f},
                    new float[] {b[0], b[1], b[2]});
            assertEquals(2.1233242750167847, sum(b), 1e-9);
        }
    }

    @Test
    void tinyLlamaModels() throws IOException {
        Path s2 = TestFiles.fixtures().resolve("tiny-llama-s2/model/model.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(s2)) {
            assertAllOfType(f, 21, DType.F32);
            assertEquals(Map.of(), f.metadata());
            assertEquals(List.of("lm_head.weight", "model.embed_tokens.weight"), f.names().subList(0, 2));
            assertArrayEquals(new long[] {101, 64}, f.info("lm_head.weight").shape());
        }
        Path s3 = TestFiles.fixtures().resolve("tiny-llama-s3/model/model.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(s3)) {
            assertAllOfType(f, 20, DType.F16);
            assertTrue(!f.contains("lm_head.weight"), "tied embeddings");
            assertArrayEquals(new long[] {64, 176}, f.info("model.layers.0.mlp.down_proj.weight").shape());
            float[] embed = f.floats("model.embed_tokens.weight");
            assertEquals(101 * 64, embed.length);
            assertArrayEquals(new float[] {1.0205078125f, -1.2783203125f, 0.2091064453125f},
                    new float[] {embed[0], embed[1], embed[2]});
            assertEquals(14.752365708351135, sum(embed), 1e-9);
        }
    }
}
