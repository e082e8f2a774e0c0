package dev.lora4j.lora;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.config.LoraConfig;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An adapter's saved form, detached from any device: the config as PEFT saves it and the tensors by their key in
 * {@code adapter_model.safetensors}. It can be written on another thread while training goes on.
 *
 * @param config      the adapter_config.json
 * @param tensors     the tensors by saved key
 * @param report      PEFT's trainable-parameters line, for the model card
 * @param modelConfig a classifier's {@code config.json} as transformers saves it, with the label names the adapter
 *                    was trained on ({@code id2label}, {@code label2id}); null when the adapter names no labels
 */
public record AdapterSnapshot(LoraConfig config, Map<String, HostTensor> tensors, String report,
                              ObjectNode modelConfig) {
    public AdapterSnapshot {
        tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
    }

    /** A snapshot without label names. */
    public AdapterSnapshot(LoraConfig config, Map<String, HostTensor> tensors, String report) {
        this(config, tensors, report, null);
    }
}
