package dev.lora4j.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;

/**
 * Every rule PEFT checks when a {@code LoraConfig} is constructed (with PEFT's messages), plus the checks PEFT leaves
 * until a layer is created or never makes (rank, alpha, dropout, bias, init strategy, regexes): lora4j reports all of
 * them before anything is loaded. docs/peft-compatibility.md lists where lora4j is stricter than PEFT.
 */
public final class LoraConfigValidator {
    /** What {@code init_lora_weights} may be, for messages. */
    public static final String INIT_ALLOWED = "true, false, \"gaussian\", \"pissa\", \"pissa_niter_<k>\", \"olora\", "
            + "\"orthogonal\", \"eva\", \"corda\", \"loftq\", \"lora_ga\", \"mica\"";

    /** PEFT's layer-index pattern around each {@code layers_pattern} name (tuners_utils.check_target_module_exists). */
    public static final String LAYER_PREFIX = ".*?\\.";
    public static final String LAYER_SUFFIX = "\\.(\\d+)\\.";

    private LoraConfigValidator() {}

    public static Validation validate(LoraConfig c) {
        return validate(c, LoraConfigJson.PATH);
    }

    /** Validates with field paths under {@code prefix} (e.g. {@code lora} gives {@code lora.r}). */
    public static Validation validate(LoraConfig c, String prefix) {
        Problems p = new Problems();
        new Check(c, prefix, p).run();
        return p.toValidation();
    }

    private record Check(LoraConfig c, String prefix, Problems p) {
        String at(String key) {
            return Problems.join(prefix, key);
        }

        void run() {
            peftRules();
            stricterRules();
        }

        /** PEFT's LoraConfig.__post_init__, in its order (spec section 3.1). */
        private void peftRules() {
            c.taskType().filter(t -> TaskType.parse(t).isEmpty()).ifPresent(t -> p.error(at("task_type"),
                    "Invalid task type: '" + t + "'. Must be one of the following task types: " + TaskType.allowed()
                            + "."));
            JsonNode targetParameters = c.extra().get("target_parameters");
            if (targetParameters != null && targetParameters.isTextual()) {
                p.error(at("target_parameters"), "`target_parameters` must be a list of strings or None.");
            }
            boolean stringTargets = c.targetModules().filter(t -> !(t instanceof TargetModules.Names)).isPresent();
            if (stringTargets && c.layersToTransform().isPresent()) {
                p.error(at("layers_to_transform"),
                        "`layers_to_transform` cannot be used when `target_modules` is a str.");
            }
            if (stringTargets && c.layersPattern().isPresent()) {
                p.error(at("layers_pattern"), "`layers_pattern` cannot be used when `target_modules` is a str.");
            }
            if (c.layersPattern().filter(l -> !l.isEmpty()).isPresent() && c.layersToTransform().isEmpty()) {
                p.error(at("layers_pattern"), "When `layers_pattern` is specified, `layers_to_transform` must also be "
                        + "specified.");
            }
            if (c.useDora() && truthy(c.extra().get("megatron_config"))) {
                p.error(at("use_dora"), "DoRA does not support megatron_core, please set `use_dora=False`.");
            }
            initSubConfigs();
            if (c.loraBias()) {
                if (!c.initLoraWeights().isBoolean()) {
                    p.error(at("lora_bias"), "The argument lora_bias=True is only supported with "
                            + "init_lora_weights=True or False, got init_lora_weights=" + c.initLoraWeights().python()
                            + " instead.");
                }
                if (c.useDora()) {
                    p.error(at("lora_bias"), "The argument lora_bias=True is not supported for DoRA, please pass "
                            + "use_dora=False");
                }
            }
            if (truthy(c.extra().get("alora_invocation_tokens")) && !"CAUSAL_LM".equals(c.taskType().orElse(null))) {
                p.warn("aLoRA (alora_invocation_tokens) is only supported for task_type CAUSAL_LM");
            }
            boolean patterns = !c.rankPattern().isEmpty() || !c.alphaPattern().isEmpty();
            if (c.useRslora() && patterns && convertsAtSave(c.initLoraWeights().kind())) {
                p.warn("Using Rank-Stabilized LoRA with rank_pattern/alpha_pattern and post-training conversion of "
                        + "modified base weights PiSSA/CorDA/OLoRA/LoRA-GA means that you won't be able to pass "
                        + "`path_initial_model_for_weight_conversion` to `save_pretrained` to restore the initial "
                        + "values of the base weights; if you intend to do this, please ensure not to use rslora or "
                        + "rank_pattern/alpha_pattern.");
            }
            evaConfig();
        }

        /** PEFT's single if/elif chain over loftq, eva and corda (a stray loftq_config skips the rest). */
        private void initSubConfigs() {
            InitLoraWeights.Kind k = c.initLoraWeights().kind();
            boolean loftq = truthy(c.extra().get("loftq_config"));
            boolean eva = present(c.extra().get("eva_config"));
            boolean corda = present(c.extra().get("corda_config"));
            if (k == InitLoraWeights.Kind.LOFTQ) {
                if (!loftq) {
                    p.error(at("loftq_config"),
                            "`loftq_config` must be specified when `init_lora_weights` is 'loftq'.");
                }
            } else if (loftq) {
                p.warn("`loftq_config` specified but will be ignored when `init_lora_weights` is not 'loftq' "
                        + "(PEFT resets it to {}).");
            } else if (k == InitLoraWeights.Kind.EVA && !eva) {
                p.warn("`init_lora_weights` is 'eva' but `eva_config` is not specified. Using default EVA config "
                        + "(rho=2.0, tau=0.99, use_label_mask=true, label_mask_value=-100, whiten=false, "
                        + "adjust_scaling_factors=true).");
            } else if (k != InitLoraWeights.Kind.EVA && eva) {
                p.warn("`eva_config` specified but will be ignored when `init_lora_weights` is not 'eva'.");
            } else if (k == InitLoraWeights.Kind.CORDA && !corda) {
                p.warn("`init_lora_weights` is 'corda' but `corda_config` is not specified. Using default CorDA "
                        + "config.");
            } else if (k != InitLoraWeights.Kind.CORDA && corda) {
                p.warn("`corda_config` specified but will be ignored when `init_lora_weights` is not 'corda'.");
            }
        }

        private void evaConfig() {
            JsonNode eva = c.extra().get("eva_config");
            if (eva == null || eva.isNull()) {
                return;
            }
            if (!eva.isObject()) {
                p.error(at("eva_config"), "eva_config must be a mapping (PEFT's EvaConfig), got " + Section.show(eva));
                return;
            }
            JsonNode rho = eva.get("rho");
            if (rho != null && !rho.isNull() && (!rho.isNumber() || rho.doubleValue() < 1.0)) {
                p.error(at("eva_config.rho"), "`rho` must be >= 1.0");
            }
            JsonNode tau = eva.get("tau");
            if (tau != null && !tau.isNull() && (!tau.isNumber() || tau.doubleValue() < 0 || tau.doubleValue() > 1)) {
                p.error(at("eva_config.tau"), "`tau` must be between 0.0 and 1.0.");
            }
        }

        /** Checks PEFT makes late (layer creation, injection) or never; see docs/peft-compatibility.md. */
        private void stricterRules() {
            if (c.r() < 1) {
                p.error(at("r"), "r must be >= 1, got " + c.r());
            }
            if (!(c.loraAlpha() > 0) || Double.isInfinite(c.loraAlpha())) {
                p.error(at("lora_alpha"), "lora_alpha must be > 0, got " + Numbers.format(c.loraAlpha()));
            }
            if (!(c.loraDropout() >= 0 && c.loraDropout() < 1)) {
                p.error(at("lora_dropout"), "lora_dropout must be >= 0 and < 1, got "
                        + Numbers.format(c.loraDropout()));
            }
            if (c.biasMode().isEmpty()) {
                p.error(at("bias"), "bias must be one of " + Bias.allowed() + ", got \"" + c.bias() + "\"");
            }
            if (c.initLoraWeights().kind() == InitLoraWeights.Kind.UNKNOWN) {
                p.error(at("init_lora_weights"), "Unknown initialization init_lora_weights='" + c.initLoraWeights()
                        + "'; allowed: " + INIT_ALLOWED);
            }
            if (!"LORA".equals(c.peftType())) {
                p.error(at("peft_type"), "peft_type must be \"LORA\", got \"" + c.peftType() + "\"");
            }
            c.targetModules().ifPresent(t -> targets("target_modules", t, true));
            c.excludeModules().ifPresent(t -> targets("exclude_modules", t, false));
            c.layersToTransform().ifPresent(l -> {
                for (int i = 0; i < l.size(); i++) {
                    if (l.get(i) < 0) {
                        String path = c.layersToTransformScalar() ? at("layers_to_transform")
                                : at("layers_to_transform") + "[" + i + "]";
                        p.error(path, "layer index must be >= 0, got " + l.get(i));
                    }
                }
            });
            for (Map.Entry<String, Integer> e : c.rankPattern().entrySet()) {
                String path = at("rank_pattern") + "." + e.getKey();
                patternKey(path, e.getKey());
                if (e.getValue() < 1) {
                    p.error(path, "rank must be >= 1, got " + e.getValue());
                }
            }
            for (Map.Entry<String, Double> e : c.alphaPattern().entrySet()) {
                String path = at("alpha_pattern") + "." + e.getKey();
                patternKey(path, e.getKey());
                if (!(e.getValue() > 0) || Double.isInfinite(e.getValue())) {
                    p.error(path, "alpha must be > 0, got " + Numbers.format(e.getValue()));
                }
            }
            c.modulesToSave().ifPresent(l -> {
                for (int i = 0; i < l.size(); i++) {
                    compiles(at("modules_to_save") + "[" + i + "]", l.get(i), "(^|.*\\.)", "($|\\..*)");
                }
            });
            c.layersPattern().ifPresent(l -> layersPattern(l, c.layersPatternScalar()));
            if (c.initLoraWeights().kind() == InitLoraWeights.Kind.ORTHOGONAL) {
                if (c.r() >= 1 && c.r() % 2 != 0) {
                    p.error(at("r"), "Orthogonal initialization requires the LoRA rank to be even, got " + c.r()
                            + " instead.");
                }
                c.rankPattern().forEach((k, v) -> {
                    if (v >= 1 && v % 2 != 0) {
                        p.error(at("rank_pattern") + "." + k, "Orthogonal initialization requires the LoRA rank to be "
                                + "even, got " + v + " instead.");
                    }
                });
            }
        }

        private void targets(String key, TargetModules t, boolean target) {
            if (t instanceof TargetModules.Regex r) {
                compiles(at(key), r.pattern(), "", "");
            } else if (t instanceof TargetModules.Names n) {
                if (n.names().stream().anyMatch(s -> s.equalsIgnoreCase("all-linear"))) {
                    p.error(at(key), "\"all-linear\" only works as a string (" + key + ": \"all-linear\"); in a list "
                            + "it is an ordinary module name that matches nothing");
                }
                if (target && n.names().isEmpty() && !truthy(c.extra().get("target_parameters"))) {
                    p.error(at(key), key + " is empty and there are no target_parameters: nothing would be adapted; "
                            + "leave it out for the architecture's defaults");
                }
            }
        }

        /** PEFT's {@code check_target_module_exists}: {@code re.match(rf".*?\.{pattern}\.(\d+)\.", key)}. */
        private void layersPattern(List<String> patterns, boolean scalar) {
            for (int i = 0; i < patterns.size(); i++) {
                String path = scalar ? at("layers_pattern") : at("layers_pattern") + "[" + i + "]";
                String lp = patterns.get(i);
                if (lp.isEmpty()) {
                    // "" alone means "any layer name"; inside a list PEFT uses it as given and it matches no key
                    p.warn(path + " is \"\": in a list an empty name matches no layer (PEFT looks for "
                            + "\"..<index>.\" in the key); leave layers_pattern out, or write layers_pattern: \"\", "
                            + "to accept any layer name");
                    continue;
                }
                PythonRegex.Translation t = compiles(path, lp, LAYER_PREFIX, LAYER_SUFFIX);
                if (t == null) {
                    continue;
                }
                if (t.groups() != 1) {
                    p.error(path, "layers_pattern \"" + lp + "\" has a capturing group: PEFT reads the layer index "
                            + "from group 1 of " + LAYER_PREFIX + lp + LAYER_SUFFIX + ", which would be this group "
                            + "(PEFT fails with ValueError); write (?:...) instead of (...)");
                } else if (t.topLevelBranches() > 1) {
                    p.error(path, "layers_pattern \"" + lp + "\" has a | outside any group, which splits PEFT's "
                            + LAYER_PREFIX + lp + LAYER_SUFFIX + " into alternatives without the layer index (PEFT "
                            + "fails with TypeError); write (?:a|b), or list the names: [a, b]");
                }
            }
        }

        /** The key as PEFT's get_pattern_key wraps it. */
        private void patternKey(String path, String key) {
            compiles(path, key, "(.*\\.)?(", ")$");
        }

        /**
         * Compiles {@code prefix + shown + suffix} as PEFT does (Python's re): the translation, or null after
         * reporting why it is refused. Positions in the message are in what the user wrote.
         */
        private PythonRegex.Translation compiles(String path, String shown, String prefix, String suffix) {
            String full = prefix + shown + suffix;
            try {
                return PythonRegex.translate(full);
            } catch (PythonRegex.SyntaxError e) {
                PythonRegex.SyntaxError err = e;
                int offset = prefix.length();
                int length = shown.codePointCount(0, shown.length());
                boolean inShown = e.position() >= offset && e.position() < offset + length;
                if (!full.equals(shown) && !inShown) {
                    // an error in PEFT's wrapping: the user's text alone often says better what is wrong
                    try {
                        PythonRegex.translate(shown);
                    } catch (PythonRegex.SyntaxError alone) {
                        err = alone;
                        offset = 0;
                        inShown = true;
                    }
                }
                String where = err.position() < 0 ? "" : inShown ? " at position " + (err.position() - offset)
                        : " (in PEFT's pattern \"" + full + "\" at position " + err.position() + ")";
                String hint = err.description().startsWith("global flags not at the start") && !full.equals(shown)
                        ? "; PEFT puts it inside " + prefix + "..." + suffix + ", so flags must be scoped: (?i:...)"
                        : "";
                if (err.untranslatable()) {
                    p.error(path, "\"" + shown + "\"" + where + " " + PythonRegex.explain(err));
                } else {
                    p.error(path, "\"" + shown + "\" is not a valid regular expression: " + PythonRegex.explain(err)
                            + where + hint + " (PEFT compiles it with Python's re)");
                }
                return null;
            }
        }
    }

    private static boolean convertsAtSave(InitLoraWeights.Kind k) {
        return List.of(InitLoraWeights.Kind.PISSA, InitLoraWeights.Kind.PISSA_NITER, InitLoraWeights.Kind.OLORA,
                InitLoraWeights.Kind.CORDA, InitLoraWeights.Kind.LORA_GA).contains(k);
    }

    /** Python truthiness of a JSON value: null, false, 0, "", [] and {} are false. */
    static boolean truthy(JsonNode v) {
        if (v == null || v.isNull()) {
            return false;
        }
        if (v.isBoolean()) {
            return v.booleanValue();
        }
        if (v.isNumber()) {
            return v.doubleValue() != 0;
        }
        if (v.isTextual()) {
            return !v.textValue().isEmpty();
        }
        return v.size() > 0;
    }

    private static boolean present(JsonNode v) {
        return v != null && !v.isNull();
    }
}
