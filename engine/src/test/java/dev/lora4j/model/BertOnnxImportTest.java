package dev.lora4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.config.TaskType;
import dev.lora4j.onnx.OnnxGraph;
import dev.lora4j.onnx.OnnxNode;
import dev.lora4j.onnx.OnnxTensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The import on a tiny BERT built as the transformers exporter lays it out: named norms and biases, MatMul weights. */
class BertOnnxImportTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int VOCAB = 20;
    private static final int HIDDEN = 8;
    private static final int INTER = 16;
    private static final int LAYERS = 2;

    @TempDir
    Path dir;

    private final SplittableRandom rng = new SplittableRandom(7);
    private final Map<String, OnnxTensor> inits = new LinkedHashMap<>();
    private final List<OnnxNode> nodes = new ArrayList<>();
    /** HF weight name -> the ONNX [in, out] initializer holding it. */
    private final Map<String, OnnxTensor> matmulWeights = new LinkedHashMap<>();
    private int counter = 100;

    private OnnxTensor init(String name, long... dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rng.nextGaussian();
        }
        OnnxTensor t = OnnxTensor.ofFloats(name, dims, v);
        inits.put(name, t);
        return t;
    }

    private void linear(String layer, int in, int out, String x) {
        OnnxTensor w = init("onnx::MatMul_" + counter++, in, out);
        init(layer + ".bias", out);
        nodes.add(new OnnxNode(layer + "/MatMul", "MatMul", List.of(x, w.name()), List.of(layer + "/mm")));
        nodes.add(new OnnxNode(layer + "/Add", "Add", List.of(layer + ".bias", layer + "/mm"), List.of(layer)));
        matmulWeights.put(layer + ".weight", w);
    }

    private void bert(boolean pooler) {
        inits.put("embeddings.position_ids", new OnnxTensor("embeddings.position_ids", dev.lora4j.onnx.OnnxType.INT64,
                new long[] {1, 16}, ByteBuffer.allocate(16 * 8)));
        init("embeddings.word_embeddings.weight", VOCAB, HIDDEN);
        init("embeddings.position_embeddings.weight", 16, HIDDEN);
        init("embeddings.token_type_embeddings.weight", 2, HIDDEN);
        init("embeddings.LayerNorm.weight", HIDDEN);
        init("embeddings.LayerNorm.bias", HIDDEN);
        for (int i = 0; i < LAYERS; i++) {
            String l = "encoder.layer." + i;
            for (String n : List.of("query", "key", "value")) {
                linear(l + ".attention.self." + n, HIDDEN, HIDDEN, "x");
            }
            linear(l + ".attention.output.dense", HIDDEN, HIDDEN, "ctx");
            init(l + ".attention.output.LayerNorm.weight", HIDDEN);
            init(l + ".attention.output.LayerNorm.bias", HIDDEN);
            linear(l + ".intermediate.dense", HIDDEN, INTER, "a");
            linear(l + ".output.dense", INTER, HIDDEN, "i");
            init(l + ".output.LayerNorm.weight", HIDDEN);
            init(l + ".output.LayerNorm.bias", HIDDEN);
        }
        if (pooler) {
            linear("pooler.dense", HIDDEN, HIDDEN, "first");
        }
    }

    private Path tokenizer() throws IOException {
        StringBuilder vocab = new StringBuilder("{\"[UNK]\":0,\"[PAD]\":1,\"[CLS]\":2,\"[SEP]\":3,\"[MASK]\":4");
        for (int i = 5; i < VOCAB; i++) {
            vocab.append(",\"w").append(i).append("\":").append(i);
        }
        vocab.append('}');
        return Files.writeString(dir.resolve("tok.json"), "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,"
                + "\"normalizer\":{\"type\":\"BertNormalizer\",\"clean_text\":true,\"handle_chinese_chars\":true,"
                + "\"strip_accents\":null,\"lowercase\":true},\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\","
                + "\"continuing_subword_prefix\":\"##\",\"max_input_chars_per_word\":100,\"vocab\":" + vocab + "}}");
    }

    private Path write() throws IOException {
        Path out = Files.createDirectories(dir.resolve("model"));
        BertOnnxImport.write(new OnnxGraph("g", nodes, inits, List.of("input_ids"), List.of("last_hidden_state")),
                "tiny.onnx", tokenizer(), BertOnnxImport.Hyper.bert(2), out);
        return out;
    }

    private static float[] transpose(OnnxTensor t) {
        long[] d = t.dims();
        float[] in = t.floats();
        float[] out = new float[in.length];
        for (int r = 0; r < d[0]; r++) {
            for (int c = 0; c < d[1]; c++) {
                out[(int) (c * d[0] + r)] = in[(int) (r * d[1] + c)];
            }
        }
        return out;
    }

    @Test
    void writesAFolderThatLoadsWithTheWeightsInPlace() throws IOException {
        bert(false);
        Path folder = write();
        JsonNode config = JSON.readTree(folder.resolve("config.json").toFile());
        assertEquals("bert", config.get("model_type").asText());
        assertEquals("BertModel", config.get("architectures").get(0).asText());
        assertEquals(VOCAB, config.get("vocab_size").asInt());
        assertEquals(HIDDEN, config.get("hidden_size").asInt());
        assertEquals(LAYERS, config.get("num_hidden_layers").asInt());
        assertEquals(2, config.get("num_attention_heads").asInt());
        assertEquals(INTER, config.get("intermediate_size").asInt());
        assertEquals(16, config.get("max_position_embeddings").asInt());
        assertEquals(2, config.get("type_vocab_size").asInt());
        assertEquals(1, config.get("pad_token_id").asInt(), "[PAD]'s id in the vocabulary");
        assertEquals(1e-12, config.get("layer_norm_eps").asDouble());
        assertEquals("gelu", config.get("hidden_act").asText());

        JsonNode tc = JSON.readTree(folder.resolve("tokenizer_config.json").toFile());
        assertEquals(16, tc.get("model_max_length").asInt());
        assertTrue(tc.get("do_lower_case").asBoolean());
        assertEquals("[PAD]", tc.get("pad_token").asText());
        assertEquals(Files.readString(dir.resolve("tok.json")), Files.readString(folder.resolve("tokenizer.json")));

        try (BaseModel base = HfModels.load(folder, HfModels.Options.cpu().withTask(TaskType.FEATURE_EXTRACTION))) {
            Set<String> loaded = base.weights().keySet();
            assertFalse(loaded.contains("embeddings.position_ids"), "a buffer, not a parameter");
            for (Map.Entry<String, OnnxTensor> w : matmulWeights.entrySet()) {
                assertArrayEquals(transpose(w.getValue()), base.weight(w.getKey()).toFloatArray(), w.getKey());
            }
            for (String n : List.of("embeddings.word_embeddings.weight", "encoder.layer.1.output.LayerNorm.bias",
                    "encoder.layer.0.attention.self.key.bias")) {
                assertArrayEquals(inits.get(n).floats(), base.weight(n).toFloatArray(), n);
            }
            // no pooler in the export: transformers would initialise one; lora4j's BertModel does the same
            assertEquals(List.of("pooler.dense.weight", "pooler.dense.bias"), base.initialised());
        }
    }

    @Test
    void keepsThePoolerWhenExported() throws IOException {
        bert(true);
        try (BaseModel base = HfModels.load(write())) {
            assertTrue(base.initialised().isEmpty());
            assertArrayEquals(transpose(matmulWeights.get("pooler.dense.weight")),
                    base.weight("pooler.dense.weight").toFloatArray());
        }
    }

    @Test
    void listsEveryMissingTensor() {
        bert(true);
        inits.remove("encoder.layer.0.output.LayerNorm.bias");
        inits.remove("encoder.layer.1.attention.self.value.bias");
        nodes.removeIf(n -> n.name().startsWith("encoder.layer.1.attention.self.value/"));
        ModelException e = assertThrows(ModelException.class, this::write);
        String m = e.getMessage();
        assertTrue(m.startsWith("tiny.onnx: 3 tensor(s)"), m);
        for (String n : List.of("encoder.layer.0.output.LayerNorm.bias", "encoder.layer.1.attention.self.value.weight",
                "encoder.layer.1.attention.self.value.bias")) {
            assertTrue(m.contains(n), n + " in " + m);
        }
    }

    @Test
    void rejectsWhatIsNotABertExport() {
        init("linear.weight", 4, 4);
        ModelException e = assertThrows(ModelException.class, this::write);
        assertTrue(e.getMessage().contains("embeddings.word_embeddings.weight"), e.getMessage());
    }

    @Test
    void rejectsAMisshapenTensor() {
        bert(false);
        init("encoder.layer.1.output.LayerNorm.weight", HIDDEN + 1);
        ModelException e = assertThrows(ModelException.class, this::write);
        assertTrue(e.getMessage().contains("encoder.layer.1.output.LayerNorm.weight") && e.getMessage()
                .contains("expected [8]"), e.getMessage());
    }
}
