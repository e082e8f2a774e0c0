package dev.lora4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.lora4j.config.TaskType;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.runtime.Ops;
import dev.lora4j.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tiny random BERT written to disk by the test, run by lora4j and by a straightforward double-precision
 * re-implementation of transformers' BertForSequenceClassification written here from the paper's formulas.
 */
public class BertForwardTest {
    static final int V = 20;
    static final int H = 8;
    static final int HEADS = 2;
    static final int I = 12;
    static final int P = 16;
    static final int LABELS = 3;

    public static Map<String, float[]> weights(long seed, boolean withPrefix) {
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, float[]> w = new LinkedHashMap<>();
        String p = withPrefix ? "bert." : "";
        w.put(p + "embeddings.word_embeddings.weight", rand(r, V * H, 0.5));
        w.put(p + "embeddings.position_embeddings.weight", rand(r, P * H, 0.5));
        w.put(p + "embeddings.token_type_embeddings.weight", rand(r, 2 * H, 0.5));
        w.put(p + "embeddings.LayerNorm.weight", rand(r, H, 0.2, 1.0));
        w.put(p + "embeddings.LayerNorm.bias", rand(r, H, 0.1));
        String l = p + "encoder.layer.0.";
        for (String n : new String[] {"query", "key", "value"}) {
            w.put(l + "attention.self." + n + ".weight", rand(r, H * H, 0.5));
            w.put(l + "attention.self." + n + ".bias", rand(r, H, 0.1));
        }
        w.put(l + "attention.output.dense.weight", rand(r, H * H, 0.5));
        w.put(l + "attention.output.dense.bias", rand(r, H, 0.1));
        w.put(l + "attention.output.LayerNorm.weight", rand(r, H, 0.2, 1.0));
        w.put(l + "attention.output.LayerNorm.bias", rand(r, H, 0.1));
        w.put(l + "intermediate.dense.weight", rand(r, I * H, 0.5));
        w.put(l + "intermediate.dense.bias", rand(r, I, 0.1));
        w.put(l + "output.dense.weight", rand(r, H * I, 0.5));
        w.put(l + "output.dense.bias", rand(r, H, 0.1));
        w.put(l + "output.LayerNorm.weight", rand(r, H, 0.2, 1.0));
        w.put(l + "output.LayerNorm.bias", rand(r, H, 0.1));
        w.put(p + "pooler.dense.weight", rand(r, H * H, 0.5));
        w.put(p + "pooler.dense.bias", rand(r, H, 0.1));
        w.put("classifier.weight", rand(r, LABELS * H, 0.5));
        w.put("classifier.bias", rand(r, LABELS, 0.1));
        return w;
    }

    private static float[] rand(SplittableRandom r, int n, double scale) {
        return rand(r, n, scale, 0);
    }

    private static float[] rand(SplittableRandom r, int n, double scale, double offset) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) (offset + (r.nextDouble() * 2 - 1) * scale);
        }
        return f;
    }

    static long[] shapeOf(String name) {
        if (name.contains("word_embeddings")) {
            return new long[] {V, H};
        }
        if (name.contains("position_embeddings")) {
            return new long[] {P, H};
        }
        if (name.contains("token_type")) {
            return new long[] {2, H};
        }
        if (name.equals("classifier.out_proj.weight")) {
            return new long[] {LABELS, H};
        }
        if (name.equals("classifier.out_proj.bias")) {
            return new long[] {LABELS};
        }
        if (name.equals("classifier.weight")) {
            return new long[] {LABELS, H};
        }
        if (name.equals("classifier.bias")) {
            return new long[] {LABELS};
        }
        if (name.endsWith("intermediate.dense.weight")) {
            return new long[] {I, H};
        }
        if (name.endsWith("intermediate.dense.bias")) {
            return new long[] {I};
        }
        if (name.endsWith("output.dense.weight") && !name.contains("attention")) {
            return new long[] {H, I};
        }
        return name.endsWith(".weight") && !name.contains("LayerNorm") ? new long[] {H, H} : new long[] {H};
    }

    public static Path writeFolder(Path dir, Map<String, float[]> w) throws IOException {
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"bert\", \"architectures\":"
                + " [\"BertForSequenceClassification\"], \"vocab_size\": " + V + ", \"hidden_size\": " + H
                + ", \"num_hidden_layers\": 1, \"num_attention_heads\": " + HEADS + ", \"intermediate_size\": " + I
                + ", \"max_position_embeddings\": " + P + ", \"type_vocab_size\": 2, \"layer_norm_eps\": 1e-12,"
                + " \"hidden_act\": \"gelu\", \"id2label\": {\"0\": \"a\", \"1\": \"b\", \"2\": \"c\"}}");
        SafetensorsWriter sw = new SafetensorsWriter().metadata("format", "pt");
        for (Map.Entry<String, float[]> e : w.entrySet()) {
            sw.add(e.getKey(), shapeOf(e.getKey().replace("bert.", "")), e.getValue());
        }
        sw.write(dir.resolve("model.safetensors"));
        return dir;
    }

    @Test
    void sequenceClassifierMatchesAReferenceImplementation(@TempDir Path dir) throws IOException {
        Map<String, float[]> w = weights(11, false);
        writeFolder(dir, w);
        long[][] ids = {{2, 5, 7, 9, 3}, {2, 11, 4, 3, 0}};
        long[][] mask = {{1, 1, 1, 1, 1}, {1, 1, 1, 1, 0}};
        long[][] types = {{0, 0, 0, 1, 1}, {0, 0, 0, 0, 0}};
        try (BaseModel base = HfModels.load(dir, HfModels.Options.cpu().withTask(TaskType.SEQ_CLS));
                GradMode g = GradMode.off(); Ops ops = Ops.scope(base.manager())) {
            assertEquals("bert.encoder.layer.0.attention.self.query", base.tree().linears().get(0).path());
            Shape s = new Shape(2, 5);
            ModelInput in = new ModelInput(ops.longs(flat(ids), s), ops.longs(flat(mask), s),
                    ops.longs(flat(types), s));
            NDArray logits = base.architecture().forward(Forward.eval(ops, base, Adaptation.NONE), in);
            assertArrayEquals(new long[] {2, LABELS}, logits.getShape().getShape());
            float[] got = logits.toFloatArray();
            for (int b = 0; b < 2; b++) {
                double[] expected = Reference.logits(w, ids[b], mask[b], types[b]);
                for (int c = 0; c < LABELS; c++) {
                    assertEquals(expected[c], got[b * LABELS + c], 1e-5, "row " + b + " label " + c);
                }
            }
        }
    }

    /** RoBERTa: positions from the padding index on, no pooler, a dense + tanh + out_proj head; one token type. */
    @Test
    void robertaClassifierMatchesAReferenceImplementation(@TempDir Path dir) throws IOException {
        Map<String, float[]> w = weights(17, false);
        w.remove("pooler.dense.weight");
        w.remove("pooler.dense.bias");
        w.remove("classifier.weight");
        w.remove("classifier.bias");
        SplittableRandom r = new SplittableRandom(5);
        w.put("classifier.dense.weight", rand(r, H * H, 0.5));
        w.put("classifier.dense.bias", rand(r, H, 0.1));
        w.put("classifier.out_proj.weight", rand(r, LABELS * H, 0.5));
        w.put("classifier.out_proj.bias", rand(r, LABELS, 0.1));
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"roberta\", \"architectures\":"
                + " [\"RobertaForSequenceClassification\"], \"vocab_size\": " + V + ", \"hidden_size\": " + H
                + ", \"num_hidden_layers\": 1, \"num_attention_heads\": " + HEADS + ", \"intermediate_size\": " + I
                + ", \"max_position_embeddings\": " + P + ", \"type_vocab_size\": 2, \"layer_norm_eps\": 1e-05,"
                + " \"pad_token_id\": 1, \"hidden_act\": \"gelu\", \"num_labels\": 3}");
        SafetensorsWriter sw = new SafetensorsWriter().metadata("format", "pt");
        // saved as RobertaForSequenceClassification saves itself: encoder under roberta., head at the top
        w.forEach((k, v) -> sw.add(k.startsWith("classifier") ? k : "roberta." + k, shapeOf(k), v));
        sw.write(dir.resolve("model.safetensors"));
        // a right-padded row: its tokens must get the same positions (2, 3, ...) as unpadded, its pad position 1
        long[][] ids = {{0, 5, 7, 9, 2}, {0, 11, 4, 2, 1}};
        long[][] mask = {{1, 1, 1, 1, 1}, {1, 1, 1, 1, 0}};
        long[][] positions = {{2, 3, 4, 5, 6}, {2, 3, 4, 5, 1}};
        try (BaseModel base = HfModels.load(dir, HfModels.Options.cpu().withTask(TaskType.SEQ_CLS));
                GradMode g = GradMode.off(); Ops ops = Ops.scope(base.manager())) {
            assertEquals("roberta.encoder.layer.0.attention.self.query", base.tree().linears().get(0).path());
            assertTrue(base.tree().get("classifier.out_proj").isPresent());
            assertTrue(base.tree().get("roberta.pooler.dense").isEmpty());
            assertEquals(java.util.List.of(), base.initialised(), "every tensor came from the file");
            Shape s = new Shape(2, 5);
            ModelInput in = new ModelInput(ops.longs(flat(ids), s), ops.longs(flat(mask), s), null);
            float[] got = base.architecture().forward(Forward.eval(ops, base, Adaptation.NONE), in).toFloatArray();
            for (int b = 0; b < 2; b++) {
                double[] first = Reference.firstToken(w, ids[b], mask[b], new long[5], positions[b], 1e-5);
                double[][] h = Reference.linear(new double[][] {first}, w, "classifier.dense", H);
                for (int j = 0; j < H; j++) {
                    h[0][j] = Math.tanh(h[0][j]);
                }
                double[] expected = Reference.linear(h, w, "classifier.out_proj", LABELS)[0];
                for (int c = 0; c < LABELS; c++) {
                    assertEquals(expected[c], got[b * LABELS + c], 1e-5, "row " + b + " label " + c);
                }
            }
        }
    }

    @Test
    void encoderWithoutHeadReturnsHiddenStatesAndReadsPrefixedCheckpoints(@TempDir Path dir) throws IOException {
        writeFolder(dir, weights(3, true));
        try (BaseModel base = HfModels.load(dir, HfModels.Options.cpu().withTask(TaskType.FEATURE_EXTRACTION));
                GradMode g = GradMode.off(); Ops ops = Ops.scope(base.manager())) {
            assertTrue(base.tree().get("encoder.layer.0.attention.self.query").isPresent());
            NDArray h = base.architecture().forward(Forward.eval(ops, base, Adaptation.NONE),
                    ModelInput.of(ops.longs(new long[] {2, 5, 3}, new Shape(1, 3))));
            assertArrayEquals(new long[] {1, 3, H}, h.getShape().getShape());
        }
    }

    @Test
    void missingTensorsAreListed(@TempDir Path dir) throws IOException {
        Map<String, float[]> w = weights(3, false);
        w.remove("encoder.layer.0.attention.self.key.weight");
        writeFolder(dir, w);
        String msg = assertThrows(ModelException.class, () -> HfModels.load(dir)).getMessage();
        assertTrue(msg.contains("encoder.layer.0.attention.self.key.weight"), msg);
        assertTrue(msg.contains("missing"), msg);
    }

    @Test
    void unknownModelTypeIsAClearError(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"t5\"}");
        new SafetensorsWriter().add("x", new long[] {1}, new float[] {1}).write(dir.resolve("model.safetensors"));
        String msg = assertThrows(ModelException.class, () -> HfModels.load(dir)).getMessage();
        assertTrue(msg.contains("model_type 't5' is not supported (supported: llama, mistral, qwen2, bert, roberta,"),
                msg);
        assertTrue(msg.endsWith("(supported: " + String.join(", ", HfModels.SUPPORTED) + ")"), msg);
    }

    private static long[] flat(long[][] a) {
        int n = a[0].length;
        long[] f = new long[a.length * n];
        for (int i = 0; i < a.length; i++) {
            System.arraycopy(a[i], 0, f, i * n, n);
        }
        return f;
    }

    /** BERT for one sequence in plain double arithmetic. */
    static final class Reference {
        static double[] logits(Map<String, float[]> w, long[] ids, long[] mask, long[] types) {
            long[] positions = new long[ids.length];
            for (int i = 0; i < positions.length; i++) {
                positions[i] = i;
            }
            double[][] pooled = linear(new double[][] {firstToken(w, ids, mask, types, positions, 1e-12)}, w,
                    "pooler.dense", H);
            for (int j = 0; j < H; j++) {
                pooled[0][j] = Math.tanh(pooled[0][j]);
            }
            return linear(pooled, w, "classifier", LABELS)[0];
        }

        /** The last hidden state of the first token. */
        static double[] firstToken(Map<String, float[]> w, long[] ids, long[] mask, long[] types, long[] positions,
                double eps) {
            int t = ids.length;
            double[][] x = new double[t][H];
            for (int i = 0; i < t; i++) {
                for (int j = 0; j < H; j++) {
                    x[i][j] = w.get("embeddings.word_embeddings.weight")[(int) ids[i] * H + j]
                            + w.get("embeddings.position_embeddings.weight")[(int) positions[i] * H + j]
                            + w.get("embeddings.token_type_embeddings.weight")[(int) types[i] * H + j];
                }
                x[i] = layerNorm(x[i], w.get("embeddings.LayerNorm.weight"), w.get("embeddings.LayerNorm.bias"),
                        eps);
            }
            String l = "encoder.layer.0.";
            double[][] q = linear(x, w, l + "attention.self.query", H);
            double[][] k = linear(x, w, l + "attention.self.key", H);
            double[][] v = linear(x, w, l + "attention.self.value", H);
            int hd = H / HEADS;
            double[][] ctx = new double[t][H];
            for (int h = 0; h < HEADS; h++) {
                for (int i = 0; i < t; i++) {
                    double[] s = new double[t];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < t; j++) {
                        double dot = 0;
                        for (int d = 0; d < hd; d++) {
                            dot += q[i][h * hd + d] * k[j][h * hd + d];
                        }
                        s[j] = mask[j] == 1 ? dot / Math.sqrt(hd) : Double.NEGATIVE_INFINITY;
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < t; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int j = 0; j < t; j++) {
                        for (int d = 0; d < hd; d++) {
                            ctx[i][h * hd + d] += s[j] / sum * v[j][h * hd + d];
                        }
                    }
                }
            }
            double[][] attn = linear(ctx, w, l + "attention.output.dense", H);
            for (int i = 0; i < t; i++) {
                for (int j = 0; j < H; j++) {
                    attn[i][j] += x[i][j];
                }
                attn[i] = layerNorm(attn[i], w.get(l + "attention.output.LayerNorm.weight"),
                        w.get(l + "attention.output.LayerNorm.bias"), eps);
            }
            double[][] inter = linear(attn, w, l + "intermediate.dense", I);
            for (double[] row : inter) {
                for (int j = 0; j < I; j++) {
                    row[j] = 0.5 * row[j] * (1 + erf(row[j] / Math.sqrt(2)));
                }
            }
            double[][] out = linear(inter, w, l + "output.dense", H);
            for (int i = 0; i < t; i++) {
                for (int j = 0; j < H; j++) {
                    out[i][j] += attn[i][j];
                }
                out[i] = layerNorm(out[i], w.get(l + "output.LayerNorm.weight"), w.get(l + "output.LayerNorm.bias"),
                        eps);
            }
            return out[0];
        }

        static double[][] linear(double[][] x, Map<String, float[]> w, String name, int out) {
            float[] wt = w.get(name + ".weight");
            float[] b = w.get(name + ".bias");
            int in = x[0].length;
            double[][] y = new double[x.length][out];
            for (int i = 0; i < x.length; i++) {
                for (int o = 0; o < out; o++) {
                    double s = b[o];
                    for (int j = 0; j < in; j++) {
                        s += x[i][j] * wt[o * in + j];
                    }
                    y[i][o] = s;
                }
            }
            return y;
        }

        static double[] layerNorm(double[] x, float[] g, float[] b, double eps) {
            double mean = 0;
            for (double v : x) {
                mean += v;
            }
            mean /= x.length;
            double var = 0;
            for (double v : x) {
                var += (v - mean) * (v - mean);
            }
            var /= x.length;
            double[] y = new double[x.length];
            for (int i = 0; i < x.length; i++) {
                y[i] = (x[i] - mean) / Math.sqrt(var + eps) * g[i] + b[i];
            }
            return y;
        }

        /** erf to double precision (Abramowitz-Stegun 7.1.26 is too coarse; use a series/continued fraction). */
        static double erf(double z) {
            double t = 1.0 / (1.0 + 0.5 * Math.abs(z));
            double ans = 1 - t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196
                    + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                    + t * (-0.82215223 + t * 0.17087277)))))))));
            return z >= 0 ? ans : -ans;
        }
    }
}
