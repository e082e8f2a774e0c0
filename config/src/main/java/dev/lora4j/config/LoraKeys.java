package dev.lora4j.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The keys of PEFT's {@code LoraConfig} as they appear in adapter_config.json, and how lora4j treats each. */
public final class LoraKeys {
    private LoraKeys() {}

    /** Keys read into typed fields of {@link LoraConfig}. */
    public static final Set<String> MODELED = Set.of(
            "alpha_pattern", "base_model_name_or_path", "bias", "exclude_modules", "fan_in_fan_out",
            "inference_mode", "init_lora_weights", "layers_pattern", "layers_to_transform", "lora_alpha",
            "lora_bias", "lora_dropout", "modules_to_save", "peft_type", "peft_version", "r", "rank_pattern",
            "revision", "target_modules", "task_type", "use_dora", "use_rslora");

    /**
     * PEFT fields lora4j keeps verbatim in {@link LoraConfig#extra()}, with the value PEFT {@value
     * LoraConfig#PEFT_VERSION} writes by default; a config built in code is written with these.
     */
    public static final Map<String, JsonNode> NICHE_DEFAULTS = niche();

    /** PEFT fields newer than {@value LoraConfig#PEFT_VERSION} (kept when read, never added). */
    public static final Set<String> NEWER = Set.of("kasa_config");

    /** Never persisted by PEFT: dropped with a warning when a file has it. */
    public static final String RUNTIME_CONFIG = "runtime_config";

    /** Every field of PEFT's LoraConfig; any other key in a file is unknown to PEFT. */
    public static final Set<String> PEFT_FIELDS =
            union(MODELED, NICHE_DEFAULTS.keySet(), NEWER, Set.of(RUNTIME_CONFIG));

    /** Keys whose values must be integers (the rest of the numbers may be fractional). */
    public static final Set<String> INTEGER_KEYS = Set.of("r", "layers_to_transform", "qalora_group_size");

    /** Every PEFT method's {@code peft_type}, to tell a user which adapter they have when it is not LoRA. */
    public static final List<String> PEFT_TYPES = List.of(
            "PROMPT_TUNING", "MULTITASK_PROMPT_TUNING", "P_TUNING", "PREFIX_TUNING", "LORA", "ADALORA", "BOFT",
            "ADAPTION_PROMPT", "IA3", "LOHA", "LOKR", "OFT", "POLY", "LN_TUNING", "VERA", "FOURIERFT", "XLORA",
            "HRA", "VBLORA", "CPT", "BONE", "RANDLORA", "TRAINABLE_TOKENS", "SHIRA", "C3A", "ROAD", "WAVEFT",
            "DELORA", "OSF", "GRALORA", "MISS");

    private static Map<String, JsonNode> niche() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        Map<String, JsonNode> m = new LinkedHashMap<>();
        for (String k : List.of("alora_invocation_tokens", "arrow_config", "auto_mapping", "corda_config",
                "eva_config", "layer_replication", "lora_ga_config", "megatron_config", "monteclora_config",
                "target_parameters", "trainable_token_indices", "use_bdlora", "velora_config")) {
            m.put(k, f.nullNode());
        }
        m.put("ensure_weight_tying", f.booleanNode(false));
        m.put("loftq_config", f.objectNode());
        m.put("megatron_core", f.textNode("megatron.core"));
        m.put("qalora_group_size", f.numberNode(16));
        m.put("use_qalora", f.booleanNode(false));
        return Collections.unmodifiableMap(m);
    }

    @SafeVarargs
    private static Set<String> union(Set<String>... sets) {
        Set<String> all = new LinkedHashSet<>();
        for (Set<String> s : sets) {
            all.addAll(s);
        }
        return Set.copyOf(all);
    }
}
