package dev.lora4j.lora;

import ai.djl.ndarray.NDArray;

/**
 * A tensor a trial owns: its name inside a PEFT model ({@code base_model.model.K.lora_A.default.weight}), the key it
 * has in {@code adapter_model.safetensors} ({@code base_model.model.K.lora_A.weight}; null if never saved), and
 * whether the optimizer updates it.
 */
public record Parameter(String name, String savedKey, NDArray tensor, boolean trainable) {
    public long size() {
        return tensor.getShape().size();
    }
}
