package dev.lora4j.model;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.config.TaskType;
import dev.lora4j.onnx.HfLinearNames;
import dev.lora4j.onnx.OnnxFormatException;
import dev.lora4j.onnx.OnnxGraph;
import dev.lora4j.onnx.OnnxTensor;
import dev.lora4j.onnx.OnnxType;
import dev.lora4j.safetensors.DType;
import dev.lora4j.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a BERT encoder exported from transformers to ONNX, plus its {@code tokenizer.json}, into a Hugging Face model
 * folder that {@link HfModels} and transformers both load: {@code config.json}, {@code model.safetensors} with
 * {@code BertModel} parameter names, {@code tokenizer.json} as given and a {@code tokenizer_config.json}.
 */
public final class BertOnnxImport {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Pattern LAYER = Pattern.compile("^encoder\\.layer\\.(\\d+)\\.");
    private static final String WORD = "embeddings.word_embeddings.weight";
    private static final String POSITION = "embeddings.position_embeddings.weight";
    private static final String TOKEN_TYPE = "embeddings.token_type_embeddings.weight";
    private static final String INTERMEDIATE = "encoder.layer.0.intermediate.dense.bias";
    private static final List<String> SPECIAL = List.of("[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]");

    private BertOnnxImport() {}

    /**
     * What the tensors cannot tell: the head count, the activation and the LayerNorm epsilon (the last two live in
     * the graph's arithmetic, not in its initializers).
     */
    public record Hyper(int attentionHeads, String hiddenAct, double layerNormEps) {
        /** BERT's own choices, as in the original checkpoints and transformers' BertConfig defaults. */
        public static Hyper bert(int attentionHeads) {
            return new Hyper(attentionHeads, "gelu", 1e-12);
        }
    }

    /** One tensor of the new checkpoint: an initializer, transposed when it was a MatMul weight. */
    private record Source(OnnxTensor tensor, boolean transpose) {
        long[] shape() {
            long[] d = tensor.dims();
            return transpose ? new long[] {d[1], d[0]} : d;
        }
    }

    /**
     * Writes the model folder into {@code folder}, which must exist; files of the same names are replaced. Callers
     * that need the folder to appear all at once build it in a temporary folder and rename it.
     *
     * @param onnxSource names the ONNX model in errors
     */
    public static void write(OnnxGraph graph, String onnxSource, Path tokenizerJson, Hyper hyper, Path folder)
            throws IOException {
        Map<String, Source> tensors = hfTensors(graph, onnxSource);
        JsonNode tokenizer = readTokenizer(tokenizerJson);
        ObjectNode config = config(tensors, hyper, tokenizer.path("model").path("vocab").path("[PAD]").asInt(),
                onnxSource);
        int tokens = tokenizer.path("model").path("vocab").size();
        if (tokens > config.get("vocab_size").asInt()) {
            throw new ModelException(tokenizerJson + ": the vocabulary has " + tokens + " tokens, but " + onnxSource
                    + " embeds only " + config.get("vocab_size").asInt() + "; they do not belong together");
        }
        Bert bert = new Bert(HfConfig.of(config), TaskType.FEATURE_EXTRACTION);
        SafetensorsWriter writer = checkpoint(bert, tensors, onnxSource);
        writer.write(folder.resolve("model.safetensors"));
        JSON.writeValue(folder.resolve("config.json").toFile(), config);
        Files.copy(tokenizerJson, folder.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
        JSON.writeValue(folder.resolve("tokenizer_config.json").toFile(),
                tokenizerConfig(tokenizer, config.get("max_position_embeddings").asInt()));
    }

    /** Every initializer under its Hugging Face name: named ones as they are, MatMul weights through their bias. */
    static Map<String, Source> hfTensors(OnnxGraph graph, String onnxSource) {
        Map<String, String> linear;
        try {
            linear = HfLinearNames.of(graph);
        } catch (OnnxFormatException e) {
            throw new OnnxFormatException(onnxSource + ": " + e.getMessage());
        }
        Map<String, Source> tensors = new LinkedHashMap<>();
        for (OnnxTensor t : graph.initializers().values()) {
            String hf = linear.get(t.name());
            Source s = new Source(t, hf != null);
            Source clash = tensors.put(hf != null ? hf : t.name(), s);
            if (clash != null) {
                throw new ModelException(onnxSource + ": " + (hf != null ? hf : t.name()) + " is both initializer "
                        + clash.tensor().name() + " and " + t.name());
            }
        }
        return tensors;
    }

    /** A BertConfig whose sizes come from the tensor shapes; the rest are BERT's defaults. */
    static ObjectNode config(Map<String, Source> tensors, Hyper hyper, int padId, String onnxSource) {
        List<String> missing = new ArrayList<>();
        for (String n : List.of(WORD, POSITION, TOKEN_TYPE, INTERMEDIATE)) {
            if (!tensors.containsKey(n)) {
                missing.add(n);
            }
        }
        if (!missing.isEmpty()) {
            throw new ModelException(onnxSource + ": not a BERT encoder exported from transformers: no tensor "
                    + String.join(", ", missing) + " among its " + tensors.size() + " initializers (with the"
                    + " MatMul weights named after their biases): " + sample(tensors.keySet()));
        }
        long[] word = tensors.get(WORD).shape();
        TreeSet<Integer> layers = new TreeSet<>();
        for (String n : tensors.keySet()) {
            Matcher m = LAYER.matcher(n);
            if (m.find()) {
                layers.add(Integer.parseInt(m.group(1)));
            }
        }
        ObjectNode c = JSON.createObjectNode();
        // transformers writes its configs with sorted keys
        c.putArray("architectures").add("BertModel");
        c.put("attention_probs_dropout_prob", 0.1);
        c.putNull("classifier_dropout");
        c.put("hidden_act", hyper.hiddenAct());
        c.put("hidden_dropout_prob", 0.1);
        c.put("hidden_size", word[1]);
        c.put("initializer_range", 0.02);
        c.put("intermediate_size", tensors.get(INTERMEDIATE).shape()[0]);
        c.put("layer_norm_eps", hyper.layerNormEps());
        c.put("max_position_embeddings", tensors.get(POSITION).shape()[0]);
        c.put("model_type", "bert");
        c.put("num_attention_heads", hyper.attentionHeads());
        // layers are numbered from 0, so a gap shows up as a missing tensor of the highest layers' count
        c.put("num_hidden_layers", layers.last() + 1);
        c.put("pad_token_id", padId);
        c.put("position_embedding_type", "absolute");
        c.put("torch_dtype", "float32");
        c.put("type_vocab_size", tensors.get(TOKEN_TYPE).shape()[0]);
        c.put("use_cache", true);
        c.put("vocab_size", word[0]);
        return c;
    }

    /** The checkpoint for {@code bert}'s parameters, failing with every missing or misshapen tensor named. */
    static SafetensorsWriter checkpoint(Bert bert, Map<String, Source> tensors, String onnxSource) {
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
        List<String> missing = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        boolean hasPooler = tensors.containsKey("pooler.dense.weight") || tensors.containsKey("pooler.dense.bias");
        for (Map.Entry<String, long[]> p : bert.parameters().entrySet()) {
            String name = p.getKey();
            Source s = tensors.get(name);
            if (s == null) {
                // BertModel(add_pooling_layer=False) exports have no pooler, and feature extraction never uses it
                if (hasPooler || !name.startsWith("pooler.")) {
                    missing.add(name);
                }
                continue;
            }
            DType dtype = dtype(s.tensor().type());
            if (dtype == null) {
                problems.add(s.tensor() + " (expected FLOAT, FLOAT16, BFLOAT16 or DOUBLE)");
            } else if (!Arrays.equals(s.shape(), p.getValue())) {
                problems.add(name + " (initializer " + s.tensor().name() + ") is " + Arrays.toString(s.shape())
                        + (s.transpose() ? " after transposing" : "") + ", expected "
                        + Arrays.toString(p.getValue()));
            } else if (s.transpose()) {
                w.add(name, dtype, s.shape(), () -> transposed(s.tensor()));
            } else {
                w.add(name, dtype, s.shape(), s.tensor().data());
            }
        }
        if (!missing.isEmpty()) {
            throw new ModelException(onnxSource + ": " + missing.size() + " tensor(s) that " + bert.describe()
                    + " needs were not found: " + missing + "; the graph has, under Hugging Face names: "
                    + sample(tensors.keySet()));
        }
        if (!problems.isEmpty()) {
            throw new ModelException(onnxSource + ": " + String.join("; ", problems));
        }
        return w;
    }

    private static DType dtype(OnnxType t) {
        return switch (t) {
            case FLOAT -> DType.F32;
            case FLOAT16 -> DType.F16;
            case BFLOAT16 -> DType.BF16;
            case DOUBLE -> DType.F64;
            default -> null;
        };
    }

    /** {@code [in, out]} -> {@code [out, in]}, element by element whatever the element size. */
    static ByteBuffer transposed(OnnxTensor t) {
        long[] d = t.dims();
        int rows = Math.toIntExact(d[0]);
        int cols = Math.toIntExact(d[1]);
        int size = t.type().bytes();
        byte[] in = new byte[Math.multiplyExact(Math.multiplyExact(rows, cols), size)];
        t.data().get(in);
        byte[] out = new byte[in.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                System.arraycopy(in, (r * cols + c) * size, out, (c * rows + r) * size, size);
            }
        }
        return ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static JsonNode readTokenizer(Path file) throws IOException {
        JsonNode t;
        try {
            t = JSON.readTree(file.toFile());
        } catch (JacksonException e) {
            throw new ModelException(file + ": not valid JSON: " + e.getOriginalMessage());
        }
        JsonNode model = t == null ? null : t.get("model");
        if (model == null || !"WordPiece".equals(model.path("type").asText())) {
            throw new ModelException(file + ": expected a Hugging Face tokenizer.json with a WordPiece model (BERT's"
                    + " tokenizer), found model type '" + (model == null ? "none" : model.path("type").asText())
                    + "'");
        }
        JsonNode vocab = model.path("vocab");
        List<String> absent = SPECIAL.stream().filter(s -> !vocab.has(s)).toList();
        if (!absent.isEmpty()) {
            throw new ModelException(file + ": the vocabulary lacks BERT's special token(s) " + absent);
        }
        return t;
    }

    /** What transformers' AutoTokenizer needs besides tokenizer.json to rebuild BERT's tokenizer. */
    private static ObjectNode tokenizerConfig(JsonNode tokenizer, int maxLength) {
        JsonNode norm = tokenizer.path("normalizer");
        ObjectNode c = JSON.createObjectNode();
        c.put("clean_up_tokenization_spaces", true);
        c.put("cls_token", "[CLS]");
        c.put("do_basic_tokenize", true);
        c.put("do_lower_case", norm.path("lowercase").asBoolean(true));
        c.put("mask_token", "[MASK]");
        // tokenizer.json's own truncation and padding (128 here) are the exporter's choice, not the model's limit
        c.put("model_max_length", maxLength);
        c.putNull("never_split");
        c.put("pad_token", "[PAD]");
        c.put("sep_token", "[SEP]");
        c.set("strip_accents", norm.path("strip_accents").isMissingNode() ? null : norm.get("strip_accents"));
        c.put("tokenize_chinese_chars", norm.path("handle_chinese_chars").asBoolean(true));
        c.put("tokenizer_class", "BertTokenizer");
        c.put("unk_token", "[UNK]");
        return c;
    }

    private static String sample(Collection<String> names) {
        List<String> all = new ArrayList<>(names);
        List<String> s = all.size() > 12 ? all.subList(0, 12) : all;
        return s + (all.size() > 12 ? " and " + (all.size() - 12) + " more" : "");
    }
}
