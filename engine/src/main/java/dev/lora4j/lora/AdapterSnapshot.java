package dev.lora4j.lora;

import dev.lora4j.config.LoraConfig;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An adapter's saved form, detached from any device: the config as PEFT saves it and the tensors by their key in
 * {@code adapter_model.safetensors}. It can be written on another thread while training goes on.
 */
public record AdapterSnapshot(LoraConfig config, Map<String, HostTensor> tensors, String report) {
    public AdapterSnapshot {
        tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
    }
}
