package dev.lora4j.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;

/**
 * Recognises JSON/YAML files that people pass by mistake (an MLX adapter config is even called adapter_config.json)
 * and says what they are, instead of a list of "unknown key" errors.
 */
public final class ForeignConfigs {
    private ForeignConfigs() {}

    /** What {@code node} is, when it is a known kind of file that is not a PEFT or lora4j config. */
    public static Optional<String> describe(ObjectNode node) {
        if (node.has("peft_type")) {
            return Optional.empty();
        }
        List<String> mlx = present(node, "fine_tune_type", "lora_parameters", "num_layers");
        if (!mlx.isEmpty()) {
            return Optional.of("this is an MLX (mlx-lm) adapter config (keys " + String.join(", ", mlx) + "), not "
                    + "PEFT's: lora4j reads PEFT adapter_config.json files, which have peft_type \"LORA\", r, "
                    + "lora_alpha and target_modules");
        }
        if (node.has("model_type") || node.has("architectures")) {
            JsonNode type = node.get("model_type");
            return Optional.of("this is a Hugging Face model config" + (type != null && type.isTextual()
                    ? " (model_type \"" + type.textValue() + "\")" : "") + ", not an adapter, sweep or training "
                    + "config: name the folder that holds it with `model:` in a sweep or training config");
        }
        if (node.has("weight_map")) {
            return Optional.of("this is a safetensors index (model.safetensors.index.json), not a config");
        }
        if (node.has("tokenizer_class") || (node.has("added_tokens") && node.has("model"))) {
            return Optional.of("this is a tokenizer file, not an adapter, sweep or training config");
        }
        List<String> otherLora = present(node, "lora_rank", "lora_r", "lora_target_modules", "lora_target",
                "rank", "lora_scale", "alpha");
        if (!otherLora.isEmpty() && !node.has("r") && !node.has("target_modules")) {
            return Optional.of("this looks like the LoRA settings of another library or training script (JAX/Flax, "
                    + "MLX, axolotl, ...: keys " + String.join(", ", otherLora) + "), not PEFT's adapter_config.json: "
                    + "lora4j reads files with peft_type \"LORA\", r, lora_alpha and target_modules");
        }
        return Optional.empty();
    }

    /** Up to {@code max} of the node's keys, for messages about files lora4j does not recognise. */
    public static String someKeys(ObjectNode node, int max) {
        List<String> keys = new ArrayList<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext() && keys.size() < max; ) {
            keys.add(it.next());
        }
        String more = node.size() > max ? ", ..." : "";
        return keys.isEmpty() ? "none" : String.join(", ", keys) + more;
    }

    private static List<String> present(ObjectNode node, String... keys) {
        List<String> found = new ArrayList<>();
        for (String k : keys) {
            if (node.has(k)) {
                found.add(k);
            }
        }
        return found;
    }
}
