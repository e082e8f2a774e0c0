package dev.lora4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.config.TaskType;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.runtime.Ops;
import dev.lora4j.safetensors.SafetensorsCheckpoint;
import java.io.IOException;
import java.io.InputStream;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code builtin:all-minilm-l6-v2} end to end: imported from the langchain4j artifact into a temporary cache, then
 * lora4j's BERT on the imported folder must give the sentence embeddings that ONNX Runtime gives on the original graph.
 */
class AllMiniLmImportTest {
    private static final String SPEC = "builtin:all-minilm-l6-v2";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path home;
    static Path folder;

    @BeforeAll
    static void importOnce() {
        long t0 = System.nanoTime();
        folder = Builtins.resolve(SPEC, home);
        System.out.printf("import of %s took %.2f s%n", SPEC, (System.nanoTime() - t0) / 1e9);
    }

    @Test
    void importsIntoAVersionedCacheFolderOnce() throws IOException {
        assertEquals(home.resolve("models").resolve("all-minilm-l6-v2-1.19.0-beta29"), folder);
        assertTrue(Builtins.isComplete(folder));
        try (var leftovers = Files.list(home.resolve("models"))) {
            assertEquals(List.of(folder), leftovers.toList(), "no staging files left behind");
        }
        var before = Files.getLastModifiedTime(folder.resolve("model.safetensors"));
        long t0 = System.nanoTime();
        assertEquals(folder, Builtins.resolve(SPEC, home));
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertEquals(before, Files.getLastModifiedTime(folder.resolve("model.safetensors")), "not imported again");
        assertTrue(seconds < 1, "a cached resolve took " + seconds + " s");
    }

    @Test
    void theImportedFolderHasTheUsersModes(@TempDir Path probes) throws IOException {
        // the modes of a plain write (the umask), not createTempDirectory's rwx------
        String file = PosixFilePermissions.toString(Files.getPosixFilePermissions(Files.writeString(
                probes.resolve("probe.txt"), "x")));
        String dir = PosixFilePermissions.toString(Files.getPosixFilePermissions(Files.createDirectory(
                probes.resolve("probe"))));
        assertEquals(dir, PosixFilePermissions.toString(Files.getPosixFilePermissions(folder)), folder.toString());
        try (var files = Files.list(folder)) {
            for (Path f : files.toList()) {
                assertEquals(file, PosixFilePermissions.toString(Files.getPosixFilePermissions(f)), f.toString());
            }
        }
    }

    @Test
    void reimportsAFolderThatLostAFile(@TempDir Path other) throws IOException {
        Path f = Builtins.resolve(SPEC, other);
        Files.delete(f.resolve("tokenizer_config.json"));
        assertEquals(f, Builtins.resolve(SPEC, other));
        assertTrue(Builtins.isComplete(f));
        try (var leftovers = Files.list(other.resolve("models"))) {
            assertEquals(List.of(f), leftovers.toList(), "the old folder and the staging files are gone");
        }
    }

    @Test
    void writesAHuggingFaceBertFolder() throws IOException {
        JsonNode c = JSON.readTree(folder.resolve("config.json").toFile());
        assertEquals("bert", c.get("model_type").asText());
        assertEquals("BertModel", c.get("architectures").get(0).asText());
        Map<String, Number> expected = Map.ofEntries(Map.entry("vocab_size", 30522), Map.entry("hidden_size", 384),
                Map.entry("num_hidden_layers", 6), Map.entry("num_attention_heads", 12),
                Map.entry("intermediate_size", 1536), Map.entry("max_position_embeddings", 512),
                Map.entry("type_vocab_size", 2), Map.entry("pad_token_id", 0), Map.entry("layer_norm_eps", 1e-12),
                Map.entry("hidden_dropout_prob", 0.1), Map.entry("attention_probs_dropout_prob", 0.1),
                Map.entry("initializer_range", 0.02));
        expected.forEach((k, v) -> assertEquals(v.doubleValue(), c.get(k).asDouble(), k));
        assertEquals("gelu", c.get("hidden_act").asText());

        JsonNode tc = JSON.readTree(folder.resolve("tokenizer_config.json").toFile());
        assertEquals(512, tc.get("model_max_length").asInt());
        assertTrue(tc.get("do_lower_case").asBoolean());
        for (String t : List.of("cls", "sep", "pad", "unk", "mask")) {
            assertTrue(tc.get(t + "_token").asText().startsWith("["), t);
        }
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(folder)) {
            // 5 embedding tensors and 16 per layer; this export has no pooler
            assertEquals(5 + 6 * 16, ckpt.names().size());
            assertFalse(ckpt.names().stream().anyMatch(n -> n.startsWith("onnx::")));
            assertEquals(List.of(1536L, 384L), boxed(ckpt.info("encoder.layer.5.intermediate.dense.weight").shape()));
        }
    }

    private static List<Long> boxed(long[] a) {
        List<Long> l = new ArrayList<>();
        for (long v : a) {
            l.add(v);
        }
        return l;
    }

    /** One padded batch: ids, mask and token types, row-major {@code (b, t)}. */
    private record Batch(int b, int t, long[] ids, long[] mask, long[] types) {}

    private static Batch tokenize(Path tokenizerJson) throws IOException {
        List<Encoding> enc = new ArrayList<>();
        // the file pads and truncates to 128 on its own; lora4j's data loader, like this test, turns that off
        try (HuggingFaceTokenizer tok = HuggingFaceTokenizer.newInstance(tokenizerJson,
                Map.of("padding", "false", "truncation", "false"))) {
            enc.add(tok.encode("The quick brown fox jumps over the lazy dog."));
            enc.add(tok.encode("LoRA fine-tunes a frozen model through small low-rank updates to its weights."));
            enc.add(tok.encode("Hi!"));
            enc.add(tok.encode("Café au lait, s'il vous plaît — ÜBER 3.14 €"));
            enc.add(tok.encode("How old are you?", "I am six years old.")); // token type 1 on the second part
        }
        int b = enc.size();
        int t = enc.stream().mapToInt(e -> e.getIds().length).max().orElseThrow();
        assertTrue(t < 128, "the tokenizer's built-in padding to 128 was not turned off");
        long[] ids = new long[b * t];
        long[] mask = new long[b * t];
        long[] types = new long[b * t];
        for (int r = 0; r < b; r++) {
            Encoding e = enc.get(r);
            // the tail stays [PAD] = 0 with mask 0 and type 0, as the tokenizer pads
            System.arraycopy(e.getIds(), 0, ids, r * t, e.getIds().length);
            System.arraycopy(e.getAttentionMask(), 0, mask, r * t, e.getIds().length);
            System.arraycopy(e.getTypeIds(), 0, types, r * t, e.getIds().length);
        }
        assertTrue(types[(b - 1) * t + enc.get(b - 1).getIds().length - 1] == 1, "the pair has token type 1");
        return new Batch(b, t, ids, mask, types);
    }

    /** Mean over the real tokens of a row-major {@code (b, t, h)} hidden state. */
    private static double[][] meanPool(float[] hidden, Batch x, int h) {
        double[][] pooled = new double[x.b()][h];
        for (int r = 0; r < x.b(); r++) {
            int n = 0;
            for (int i = 0; i < x.t(); i++) {
                if (x.mask()[r * x.t() + i] == 0) {
                    continue;
                }
                n++;
                for (int k = 0; k < h; k++) {
                    pooled[r][k] += hidden[(r * x.t() + i) * h + k];
                }
            }
            for (int k = 0; k < h; k++) {
                pooled[r][k] /= n;
            }
        }
        return pooled;
    }

    private static float[] onnxRuntime(Batch x) throws IOException, OrtException {
        byte[] model;
        try (InputStream in = AllMiniLmImportTest.class.getClassLoader().getResourceAsStream("all-minilm-l6-v2.onnx")) {
            model = in.readAllBytes();
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] shape = {x.b(), x.t()};
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
                OrtSession session = env.createSession(model, opts);
                OnnxTensor ids = OnnxTensor.createTensor(env, LongBuffer.wrap(x.ids()), shape);
                OnnxTensor mask = OnnxTensor.createTensor(env, LongBuffer.wrap(x.mask()), shape);
                OnnxTensor types = OnnxTensor.createTensor(env, LongBuffer.wrap(x.types()), shape)) {
            assertEquals(Set.of("input_ids", "attention_mask", "token_type_ids"), session.getInputNames());
            try (OrtSession.Result r = session.run(Map.of("input_ids", ids, "attention_mask", mask,
                    "token_type_ids", types))) {
                OnnxTensor out = (OnnxTensor) r.get(0);
                float[] flat = new float[x.b() * x.t() * 384];
                out.getFloatBuffer().get(flat);
                return flat;
            }
        }
    }

    private static float[] lora4j(Batch x) {
        try (BaseModel base = HfModels.load(folder, HfModels.Options.cpu().withTask(TaskType.FEATURE_EXTRACTION));
                GradMode off = GradMode.off();
                Ops ops = Ops.scope(base.manager())) {
            Shape shape = new Shape(x.b(), x.t());
            NDArray hidden = base.architecture().forward(Forward.eval(ops, base, Adaptation.NONE),
                    new ModelInput(ops.longs(x.ids(), shape), ops.longs(x.mask(), shape), ops.longs(x.types(), shape)));
            assertEquals(new Shape(x.b(), x.t(), 384), hidden.getShape());
            return hidden.toFloatArray();
        }
    }

    @Test
    void meanPooledEmbeddingsMatchOnnxRuntime() throws Exception {
        Batch x = tokenize(folder.resolve("tokenizer.json"));
        float[] expected = onnxRuntime(x);
        float[] actual = lora4j(x);
        double tokenDiff = 0;
        for (int i = 0; i < expected.length; i++) {
            if (x.mask()[i / 384] != 0) {
                tokenDiff = Math.max(tokenDiff, Math.abs(expected[i] - actual[i]));
            }
        }
        double[][] e = meanPool(expected, x, 384);
        double[][] a = meanPool(actual, x, 384);
        double pooledDiff = 0;
        double scale = 0;
        for (int r = 0; r < x.b(); r++) {
            for (int k = 0; k < 384; k++) {
                pooledDiff = Math.max(pooledDiff, Math.abs(e[r][k] - a[r][k]));
                scale = Math.max(scale, Math.abs(e[r][k]));
            }
        }
        System.out.printf("all-minilm-l6-v2, %d sentences x %d tokens: max |lora4j - onnxruntime| = %.3g on mean-pooled"
                + " embeddings (largest |value| %.3g), %.3g on per-token hidden states%n", x.b(), x.t(), pooledDiff,
                scale, tokenDiff);
        assertTrue(pooledDiff <= 1e-4, "mean-pooled embeddings differ by " + pooledDiff);
        assertTrue(scale > 0.1, "embeddings are suspiciously small: " + scale);
    }
}
