package dev.lora4j.lora;

import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.LoraConfigValidator;
import dev.lora4j.config.PythonRegex;
import dev.lora4j.config.TargetModules;
import dev.lora4j.config.TaskType;
import dev.lora4j.model.ModuleNode;
import dev.lora4j.model.ModuleTree;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * PEFT's choice of which modules get a LoRA layer (spec section 4): default targets per architecture,
 * {@code all-linear} expansion, exclusion, the {@code modules_to_save} shield, regex full match, exact keys, dot-bounded
 * suffixes and layer indexing; and PEFT's errors when nothing is targeted.
 */
public final class TargetMatcher {

    /** How {@link #check} classifies one module key. */
    public enum Result { TARGETED, EXCLUDED, UNMATCHED }

    /** PEFT's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING for the architectures lora4j knows. */
    private static final Map<String, List<String>> DEFAULT_TARGETS = Map.ofEntries(
            Map.entry("llama", List.of("q_proj", "v_proj")),
            Map.entry("mistral", List.of("q_proj", "v_proj")),
            Map.entry("mixtral", List.of("q_proj", "v_proj")),
            Map.entry("qwen2", List.of("q_proj", "v_proj")),
            Map.entry("qwen3", List.of("q_proj", "v_proj")),
            Map.entry("gemma", List.of("q_proj", "v_proj")),
            Map.entry("gemma2", List.of("q_proj", "v_proj")),
            Map.entry("opt", List.of("q_proj", "v_proj")),
            Map.entry("gpt2", List.of("c_attn")),
            Map.entry("gpt_neox", List.of("query_key_value")),
            Map.entry("bloom", List.of("query_key_value")),
            Map.entry("falcon", List.of("query_key_value")),
            Map.entry("bert", List.of("query", "value")),
            Map.entry("roberta", List.of("query", "value")),
            Map.entry("xlm-roberta", List.of("query", "value")),
            Map.entry("electra", List.of("query", "value")),
            Map.entry("deberta-v2", List.of("query_proj", "value_proj")),
            Map.entry("t5", List.of("q", "v")),
            Map.entry("mt5", List.of("q", "v")),
            Map.entry("phi", List.of("q_proj", "v_proj", "fc1", "fc2")));

    private static final Pattern LAYER_INDEX_ANY = PythonRegex.compile(".*?\\.[^.]*\\.(\\d+)\\.");

    private TargetMatcher() {}

    /**
     * The config with {@code target_modules} resolved as PEFT saves it: the architecture default when null, and
     * {@code all-linear} replaced by the full keys of every linear layer but the output layer.
     */
    public static LoraConfig resolve(LoraConfig config, ModuleTree tree) {
        TargetModules t = config.targetModules().orElse(null);
        if (t == null) {
            if (config.extra().containsKey("target_parameters") && !config.extra().get("target_parameters").isNull()) {
                throw new LoraException("target_parameters is not supported by lora4j yet; use target_modules");
            }
            List<String> d = DEFAULT_TARGETS.get(tree.modelType());
            if (d == null) {
                throw new LoraException("Please specify `target_modules` or `target_parameters`in `peft_config`"
                        + " (lora4j has no default targets for model_type '" + tree.modelType() + "')");
            }
            return config.toBuilder().targetModules(new TargetModules.Names(d)).build();
        }
        if (t instanceof TargetModules.AllLinear) {
            return config.toBuilder().targetModules(new TargetModules.Names(allLinear(config, tree))).build();
        }
        return config;
    }

    /** PEFT's {@code _maybe_include_all_linear_layers}: every Linear/Conv1D key minus the output layer. */
    static List<String> allLinear(LoraConfig config, ModuleTree tree) {
        Set<String> keys = new LinkedHashSet<>();
        for (ModuleNode n : tree.linears()) {
            keys.add(n.path());
        }
        if (tree.transformersModel()) {
            Optional<String> out = tree.outputLayer();
            if (out.isPresent()) {
                keys.remove(out.get());
            } else if (config.task().orElse(null) == TaskType.SEQ_CLS) {
                for (String head : List.of("score", "classifier")) {
                    if (tree.hasTopLevel(head)) {
                        keys.remove(head);
                        break;
                    }
                }
            }
        }
        return new ArrayList<>(keys);
    }

    /** Spec section 4.4, in order; {@code config} must have resolved targets (see {@link #resolve}). */
    public static Result check(LoraConfig config, String key) {
        Optional<TargetModules> exclude = config.excludeModules();
        if (exclude.isPresent() && isExcluded(exclude.get(), key)) {
            return Result.EXCLUDED;
        }
        for (String m : config.modulesToSave().orElse(List.of())) {
            if (shieldedByModulesToSave(m, key)) {
                return Result.EXCLUDED;
            }
        }
        TargetModules targets = config.targetModules().orElse(null);
        if (targets == null) {
            return Result.UNMATCHED;
        }
        if (targets instanceof TargetModules.Regex r) {
            return fullMatch(r.pattern(), key, "target_modules") ? Result.TARGETED : Result.UNMATCHED;
        }
        if (targets instanceof TargetModules.AllLinear a) {
            // only reachable unresolved; PEFT would have expanded it
            return fullMatch(a.spelling(), key, "target_modules") ? Result.TARGETED : Result.UNMATCHED;
        }
        List<String> names = ((TargetModules.Names) targets).names();
        if (names.contains(key)) {
            return Result.TARGETED;
        }
        boolean suffix = false;
        for (String t : names) {
            if (key.endsWith("." + t)) {
                suffix = true;
                break;
            }
        }
        if (!suffix) {
            return Result.UNMATCHED;
        }
        List<Integer> layers = config.layersToTransform().orElse(null);
        if (layers == null || layers.isEmpty()) {
            return Result.TARGETED;
        }
        BigInteger idx = layerIndex(key, config.layersPattern().orElse(List.of()));
        boolean listed = idx != null && idx.bitLength() < 32 && layers.contains(idx.intValue());
        return listed ? Result.TARGETED : Result.UNMATCHED;
    }

    /**
     * The layer index PEFT reads from a key (tuners_utils.check_target_module_exists): with no patterns ({@code None},
     * {@code ""} or {@code []}) the first number after any segment, else the first number after {@code .<pattern>.},
     * trying each pattern as given, in order ({@code ""} inside a list only matches a key with {@code ".."}). Null
     * when there is none.
     */
    static BigInteger layerIndex(String key, List<String> patterns) {
        Matcher m = null;
        String used = null;
        if (patterns.isEmpty()) {
            m = LAYER_INDEX_ANY.matcher(key);
            if (!m.lookingAt()) {
                return null;
            }
        } else {
            for (String p : patterns) {
                Matcher candidate = pattern(LoraConfigValidator.LAYER_PREFIX + p + LoraConfigValidator.LAYER_SUFFIX,
                        "layers_pattern").matcher(key);
                if (candidate.lookingAt()) {
                    m = candidate;
                    used = p;
                    break;
                }
            }
            if (m == null) {
                return null;
            }
        }
        String digits = m.group(1);
        if (digits == null || !digits.chars().allMatch(Character::isDigit) || digits.isEmpty()) {
            // PEFT calls int() on group 1 here and fails (TypeError for None, ValueError for text)
            throw new LoraException("lora.layers_pattern: \"" + used + "\" matched " + key + " without a layer index"
                    + " in group 1 of " + LoraConfigValidator.LAYER_PREFIX + used + LoraConfigValidator.LAYER_SUFFIX
                    + " (PEFT fails here too); use (?:...) for groups and alternatives in layers_pattern");
        }
        StringBuilder ascii = new StringBuilder();
        digits.chars().forEach(c -> ascii.append(Character.digit(c, 10)));
        return new BigInteger(ascii.toString());
    }

    private static boolean isExcluded(TargetModules exclude, String key) {
        if (exclude instanceof TargetModules.Names n) {
            for (String e : n.names()) {
                if (key.equals(e) || key.endsWith("." + e)) {
                    return true;
                }
            }
            return false;
        }
        String pattern = exclude instanceof TargetModules.Regex r ? r.pattern()
                : ((TargetModules.AllLinear) exclude).spelling();
        return fullMatch(pattern, key, "exclude_modules");
    }

    /** Nothing inside a module to save gets LoRA: the key is the module (dot-bounded suffix) or lies below it. */
    private static boolean shieldedByModulesToSave(String m, String key) {
        return pattern("(^|.*\\.)" + m + "($|\\..*)", "modules_to_save").matcher(key).lookingAt();
    }

    /** PEFT's {@code re.fullmatch(pattern, key)}. */
    private static boolean fullMatch(String regex, String key, String field) {
        return pattern(regex, field).matcher(key).matches();
    }

    /** A PEFT pattern (Python syntax) as Java runs it; validation reports bad ones before this is reached. */
    private static Pattern pattern(String python, String field) {
        try {
            return PythonRegex.compile(python);
        } catch (PythonRegex.SyntaxError e) {
            String at = e.position() < 0 ? "" : " at position " + e.position();
            throw new LoraException("lora." + field + ": \"" + python + "\"" + (e.untranslatable()
                    ? at + " " + PythonRegex.explain(e)
                    : " is not a valid regular expression: " + PythonRegex.explain(e) + at
                            + " (PEFT compiles it with Python's re)"));
        }
    }

    /** The outcome of matching a whole model. */
    public record Selection(LoraConfig config, List<ModuleNode> targeted, List<String> excluded,
            List<String> unmatched, List<String> warnings) {}

    /**
     * Matches every module of {@code tree}. Raises PEFT's errors when nothing is targeted or a targeted module
     * cannot carry LoRA; the message also lists the model's linear modules, since that is what the user needs.
     */
    public static Selection select(LoraConfig config, ModuleTree tree) {
        LoraConfig resolved = resolve(config, tree);
        List<ModuleNode> targeted = new ArrayList<>();
        List<String> excluded = new ArrayList<>();
        List<String> unmatched = new ArrayList<>();
        for (ModuleNode n : tree.nodes()) {
            switch (check(resolved, n.path())) {
                case TARGETED -> targeted.add(n);
                case EXCLUDED -> excluded.add(n.path());
                default -> unmatched.add(n.path());
            }
        }
        for (ModuleNode n : targeted) {
            if (n.kind() == ModuleNode.Kind.OTHER) {
                throw new LoraException("Target module " + n.describe() + " at " + n.path() + " is not supported."
                        + " Currently, only the following modules are supported: `torch.nn.Linear`,"
                        + " `torch.nn.Embedding`, `transformers.pytorch_utils.Conv1D`.");
            }
        }
        if (targeted.isEmpty()) {
            throw new LoraException(nothingTargeted(resolved, excluded, unmatched) + " " + linearModules(tree));
        }
        List<String> warnings = new ArrayList<>();
        if (resolved.excludeModules().isPresent() && excluded.stream().noneMatch(k ->
                isExcluded(resolved.excludeModules().get(), k))) {
            warnings.add("You have passed exclude_modules=" + resolved.excludeModules().get().describe()
                    + " but no modules were excluded. Please check that exclude_modules was set correctly.");
        }
        return new Selection(resolved, targeted, excluded, unmatched, warnings);
    }

    private static String nothingTargeted(LoraConfig c, List<String> excluded, List<String> unmatched) {
        TargetModules t = c.targetModules().orElse(null);
        boolean emptyTargets = t == null || (t instanceof TargetModules.Names n && n.names().isEmpty())
                || (t instanceof TargetModules.Regex r && r.pattern().isEmpty());
        if (!excluded.isEmpty() && unmatched.isEmpty()) {
            return "All modules were excluded. This is likely unintended. Check your `target_modules`,"
                    + " `exclude_modules` and `modules_to_save` configuration.";
        }
        if (excluded.isEmpty() && emptyTargets) {
            return "No `target_modules` passed but also no `target_parameters` found. Please check the values for"
                    + " these arguments.";
        }
        if (excluded.isEmpty()) {
            String msg = "Target modules " + describe(t) + " not found in the base model. Please check the target"
                    + " modules and try again.";
            if (c.layersToTransform().isPresent()) {
                msg += " Note: You specified 'layers_to_transform': " + c.layersToTransform().get() + ".";
            }
            if (c.layersPattern().isPresent()) {
                msg += " You also specified 'layers_pattern': " + (c.layersPatternScalar()
                        ? "'" + String.join("", c.layersPattern().get()) + "'"
                        : c.layersPattern().get().stream().map(l -> "'" + l + "'")
                                .collect(Collectors.joining(", ", "[", "]"))) + ".";
            }
            return msg;
        }
        return "No modules were targeted for adaptation. This might be caused by a combination of mismatched target"
                + " modules and excluded modules. Please check your `target_modules` and `exclude_modules`"
                + " configuration.";
    }

    private static String describe(TargetModules t) {
        if (t instanceof TargetModules.Names n) {
            return n.names().stream().map(s -> "'" + s + "'").collect(Collectors.joining(", ", "{", "}"));
        }
        return t == null ? "None" : t.describe();
    }

    private static String linearModules(ModuleTree tree) {
        Set<String> names = new LinkedHashSet<>();
        for (ModuleNode n : tree.nodes()) {
            if (n.kind() != ModuleNode.Kind.OTHER) {
                names.add(n.name());
            }
        }
        return "The model's linear and embedding modules are named " + names + " (full keys like "
                + tree.linears().stream().findFirst().map(ModuleNode::path).orElse("?") + ").";
    }
}
