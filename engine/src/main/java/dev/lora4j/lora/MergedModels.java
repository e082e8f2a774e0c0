package dev.lora4j.lora;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.LabelNames;
import dev.lora4j.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;

/**
 * PEFT's {@code merge_and_unload} followed by {@code save_pretrained}: the adapter merged into a copy of the base and
 * written as a plain Hugging Face folder (config.json, model.safetensors, the tokenizer files) that any
 * transformers-compatible tool, and lora4j's {@code eval}, reads without PEFT.
 */
public final class MergedModels {
    private static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "tokenizer.model", "vocab.txt", "merges.txt", "vocab.json",
            "generation_config.json");

    private MergedModels() {}

    /** Merges {@code adapter} (safely: non-finite results are an error) and writes the folder {@code out}. */
    public static void write(Adapter adapter, Path out) {
        try (MergedWeights merged = MergedWeights.of(adapter).merge(true)) {
            write(adapter.base(), merged.weights(), merged.untied(), adapter.labelNames(), out);
        }
    }

    static void write(BaseModel base, Map<String, NDArray> weights, boolean untied, Path out) {
        write(base, weights, untied, List.of(), out);
    }

    /**
     * The folder as transformers' {@code save_pretrained} writes the merged model: {@code architectures} names its
     * class ({@code BertForSequenceClassification} for a merged classifier, so it loads as one), and a classifier's
     * label names are {@code id2label}/{@code label2id}.
     */
    static void write(BaseModel base, Map<String, NDArray> weights, boolean untied, List<String> labelNames,
            Path out) {
        try {
            Files.createDirectories(out);
            SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
            for (Map.Entry<String, NDArray> e : weights.entrySet()) {
                w.add(e.getKey(), e.getValue());
            }
            w.write(out.resolve("model.safetensors"));
            ObjectNode config = LabelNames.savedConfig(base, labelNames);
            if (untied) {
                config.put("tie_word_embeddings", false);
            }
            // the merged weights are stored in the dtype lora4j computed in
            config.put("torch_dtype", base.dataType().toString().toLowerCase(java.util.Locale.ROOT));
            ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            Path tmp = Files.createTempFile(out, ".config", ".json");
            json.writeValue(tmp.toFile(), config);
            Files.move(tmp, out.resolve("config.json"), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
            if (base.folder().isPresent()) {
                for (String f : TOKENIZER_FILES) {
                    Path src = base.folder().get().resolve(f);
                    if (Files.isRegularFile(src)) {
                        Files.copy(src, out.resolve(f), StandardCopyOption.REPLACE_EXISTING);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write merged model to " + out + ": " + e.getMessage(), e);
        }
    }
}
