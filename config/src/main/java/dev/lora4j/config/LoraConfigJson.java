package dev.lora4j.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * {@link LoraConfig} to and from PEFT's {@code adapter_config.json}: the same snake_case keys, keys sorted, 2-space
 * indent, {@code inference_mode} written as true. Keys lora4j does not model are kept verbatim, so reading and then
 * writing a PEFT file loses nothing.
 *
 * <p>Error and field paths start with {@code lora.}, the name the same fields have in sweep and training files.
 */
public final class LoraConfigJson {
    public static final String FILE_NAME = "adapter_config.json";
    /** Path prefix of LoRA fields in errors. */
    public static final String PATH = "lora";

    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final String PEFT_TYPE = "peft_type";

    private LoraConfigJson() {}

    /** Reads {@code path}, or {@code path/adapter_config.json} when it is a folder. Does not validate. */
    public static Loaded<LoraConfig> read(Path path) {
        Path file = resolve(path);
        try {
            return fromJson(Documents.read(file));
        } catch (ConfigException e) {
            throw e.withFile(file);
        }
    }

    /** {@link #read} plus {@link LoraConfigValidator}: throws on any error; warnings of both are returned. */
    public static Loaded<LoraConfig> load(Path path) {
        Loaded<LoraConfig> loaded = read(path);
        Validation v = LoraConfigValidator.validate(loaded.value());
        v.orThrow(resolve(path));
        List<String> warnings = new ArrayList<>(loaded.warnings());
        warnings.addAll(v.warnings());
        return new Loaded<>(loaded.value(), warnings);
    }

    /** The file {@link #read} reads for {@code path}. */
    public static Path resolve(Path path) {
        return Files.isDirectory(path) ? path.resolve(FILE_NAME) : path;
    }

    public static Loaded<LoraConfig> fromJson(String json) {
        return fromJson(Documents.parse(json, true));
    }

    /** Reads an adapter_config.json tree: unknown keys are kept and warned about, as PEFT does. */
    public static Loaded<LoraConfig> fromJson(JsonNode node) {
        Problems problems = new Problems();
        if (!(node instanceof ObjectNode o)) {
            throw ConfigException.ofFile(null, "expected a JSON object (PEFT's adapter_config.json), got "
                    + Section.show(node));
        }
        checkIsLora(o, problems);
        LoraConfig c = parse(new Section(o, PATH, problems), true);
        return new Loaded<>(c, problems.throwIfErrors(null));
    }

    /**
     * Reads the {@code lora} mapping of a lora4j sweep or training file. These files are lora4j's own, so an unknown
     * key is an error (a typo must not silently train something else) rather than a warning.
     */
    public static LoraConfig fromSection(Section section) {
        JsonNode type = section.node().get(PEFT_TYPE);
        if (type != null && !(type.isTextual() && type.textValue().equals("LORA"))) {
            section.problems().error(section.path(PEFT_TYPE), "peft_type must be \"LORA\" (or left out), got "
                    + Section.show(type));
        }
        return parse(section, false);
    }

    public static String toJson(LoraConfig c) {
        return JsonText.peft(toTree(c));
    }

    /**
     * The tree PEFT would write. A config read from a file is written with that file's keys (plus any field that now
     * differs from PEFT's default); one built in code gets every key PEFT {@value LoraConfig#PEFT_VERSION} writes.
     */
    public static ObjectNode toTree(LoraConfig c) {
        Set<String> asRead = c.keysAsRead().orElse(null);
        ObjectNode values = modeled(c);
        for (String k : c.nullsAsRead()) {
            // a PEFT file's None stays None while the field still reads as false
            if (values.has(k) && values.get(k).isBoolean() && !values.get(k).booleanValue()) {
                values.putNull(k);
            }
        }
        ObjectNode defaults = modeled(LoraConfig.defaults());
        ObjectNode out = F.objectNode();
        for (Map.Entry<String, JsonNode> e : values.properties()) {
            String k = e.getKey();
            boolean keep = asRead == null || asRead.contains(k) || !e.getValue().equals(defaults.get(k));
            if (k.equals("peft_version") && e.getValue().isNull()) {
                if (asRead == null) {
                    out.put(k, LoraConfig.PEFT_VERSION);
                } else if (asRead.contains(k)) {
                    out.set(k, e.getValue());
                }
            } else if (keep || k.equals(PEFT_TYPE)) {
                out.set(k, e.getValue());
            }
        }
        c.extra().forEach(out::set);
        if (asRead == null) {
            LoraKeys.NICHE_DEFAULTS.forEach((k, v) -> {
                if (!out.has(k)) {
                    out.set(k, v.deepCopy());
                }
            });
        }
        // PEFT saves every adapter as frozen; loading decides trainability
        out.put("inference_mode", true);
        return out;
    }

    /** Writes {@code file} atomically (a temporary file in the same folder, then a rename). */
    public static void write(LoraConfig c, Path file) {
        writeAtomically(file, toJson(c));
    }

    /** Writes text to a temporary sibling and renames it, so a reader never sees half a file. */
    public static void writeAtomically(Path file, String text) {
        dev.lora4j.files.AtomicFiles.writeString(file, text);
    }

    private static void checkIsLora(ObjectNode o, Problems problems) {
        JsonNode type = o.get(PEFT_TYPE);
        if (type == null) {
            if (o.has("r")) {
                problems.warn("no peft_type: read as a LORA config (PEFT does the same when LoraConfig loads it)");
                return;
            }
            Optional<String> foreign = ForeignConfigs.describe(o);
            throw ConfigException.ofFile(null, foreign.orElseGet(() -> "The LoraConfig config that is trying to be "
                    + "loaded is missing required keys: {'peft_type'}. This is not a PEFT adapter config: PEFT "
                    + "writes peft_type \"LORA\" and r into every LoRA adapter_config.json; keys found: "
                    + ForeignConfigs.someKeys(o, 8)));
        }
        if (type.isNull()) {
            throw new ConfigException(List.of(new ConfigError(PATH + "." + PEFT_TYPE, "peft_type must be \"LORA\", "
                    + "got null (PEFT looks the adapter's method up by peft_type and fails with KeyError)")));
        }
        if (!type.isTextual()) {
            throw ConfigException.ofFile(null, "peft_type must be a string such as \"LORA\", got "
                    + Section.show(type));
        }
        String t = type.textValue();
        if (t.equals("LORA")) {
            return;
        }
        if (LoraKeys.PEFT_TYPES.contains(t)) {
            throw ConfigException.ofFile(null, "this is a PEFT " + t + " adapter; lora4j reads LORA");
        }
        throw ConfigException.ofFile(null, "peft_type \"" + t + "\" is not a PEFT method; lora4j reads LORA "
                + "adapters (peft_type \"LORA\", case-sensitive)");
    }

    private static LoraConfig parse(Section s, boolean peftFile) {
        LoraConfig.Builder b = LoraConfig.builder();
        Problems p = s.problems();
        // null is Python's None: accepted where PEFT only tests the field for truthiness or has a default for it,
        // refused where PEFT's code would fail on it (see NULL_FAILS)
        NULL_FAILS.forEach((key, why) -> {
            JsonNode v = s.node().get(key);
            if (v != null && v.isNull()) {
                p.error(s.path(key), key + " must be " + why);
            }
        });
        if (s.hasValue("r")) {
            s.integer("r").ifPresent(b::r);
        }
        if (s.hasValue("lora_alpha")) {
            s.number("lora_alpha").ifPresent(b::loraAlpha);
        }
        if (s.hasValue("lora_dropout")) {
            s.number("lora_dropout").ifPresent(b::loraDropout);
        }
        targets(s, "target_modules").ifPresent(b::targetModules);
        targets(s, "exclude_modules").ifPresent(b::excludeModules);
        falsy(s, "fan_in_fan_out", peftFile, b).ifPresent(b::fanInFanOut);
        if (s.hasValue("bias")) {
            s.string("bias").ifPresent(b::bias);
        }
        falsy(s, "use_rslora", peftFile, b).ifPresent(b::useRslora);
        falsy(s, "use_dora", peftFile, b).ifPresent(b::useDora);
        falsy(s, "lora_bias", peftFile, b).ifPresent(b::loraBias);
        falsy(s, "inference_mode", peftFile, b).ifPresent(b::inferenceMode);
        s.value("modules_to_save").filter(v -> !v.isNull()).ifPresent(v -> names(s, "modules_to_save", v,
                "a list of module names").ifPresent(b::modulesToSave));
        // a niche field kept verbatim in extra(), but one the engine acts on: its type is checked here
        s.value("ensure_weight_tying").filter(v -> !v.isNull() && !v.isBoolean()).ifPresent(v -> p.error(
                s.path("ensure_weight_tying"), "ensure_weight_tying must be true or false, got " + Section.show(v)));
        s.value("init_lora_weights").ifPresent(v -> {
            if (v.isNull()) {
                b.initLoraWeights(InitLoraWeights.NONE);
            } else if (v.isBoolean()) {
                b.initLoraWeights(v.booleanValue());
            } else if (v.isTextual()) {
                b.initLoraWeights(v.textValue());
            } else {
                p.error(s.path("init_lora_weights"), "init_lora_weights must be true, false or the name of a "
                        + "strategy such as \"gaussian\" or \"pissa\", got " + Section.show(v));
            }
        });
        layersToTransform(s, b);
        layersPattern(s, b);
        b.rankPattern(pattern(s, "rank_pattern", true, Integer.class));
        b.alphaPattern(pattern(s, "alpha_pattern", false, Double.class));
        s.stringOrNull("task_type").ifPresent(b::taskType);
        s.stringOrNull("base_model_name_or_path").ifPresent(b::baseModelNameOrPath);
        s.stringOrNull("revision").ifPresent(b::revision);
        b.peftVersion(s.stringOrNull("peft_version").orElse(peftFile ? null : LoraConfig.PEFT_VERSION));

        Set<String> unknown = new TreeSet<>();
        Set<String> asRead = new LinkedHashSet<>();
        for (Map.Entry<String, JsonNode> e : s.node().properties()) {
            String k = e.getKey();
            if (k.equals(LoraKeys.RUNTIME_CONFIG)) {
                p.warn("The configuration file contains a `runtime_config` key. This is ignored. Runtime "
                        + "configurations are only valid at runtime.");
                continue;
            }
            asRead.add(k);
            if (LoraKeys.MODELED.contains(k)) {
                continue;
            }
            if (!LoraKeys.PEFT_FIELDS.contains(k)) {
                if (!peftFile) {
                    p.error(s.path(k), "unknown key" + Suggestions.hint(k, knownForSuggestions()));
                    continue;
                }
                unknown.add(k);
            }
            b.extra(k, e.getValue().deepCopy());
        }
        if (!unknown.isEmpty()) {
            p.warn("Unexpected keyword arguments " + pythonList(unknown) + " for class LoraConfig, these are ignored. "
                    + "This probably means that you're loading a configuration file that was saved using a higher "
                    + "version of the library and additional parameters have been introduced since. lora4j keeps "
                    + "them and writes them back unchanged.");
        }
        if (peftFile) {
            b.keysAsRead(asRead);
        }
        return b.build();
    }

    /**
     * The fields whose null PEFT's code cannot handle, with what is allowed and how PEFT fails
     * (src/peft/tuners/lora/layer.py update_layer, tuners/lora/model.py _create_and_replace,
     * tuners/tuners_utils.py _mark_only_adapters_as_trainable, utils/save_and_load.py).
     */
    private static final Map<String, String> NULL_FAILS = nullFails();

    private static Map<String, String> nullFails() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("r", "an integer >= 1, got null (PEFT compares r with 0 when it creates each layer and fails with "
                + "TypeError)");
        m.put("lora_alpha", "a number > 0, got null (PEFT computes lora_alpha / r for each layer and fails with "
                + "TypeError)");
        m.put("lora_dropout", "a number >= 0 and < 1, got null (PEFT compares lora_dropout with 0.0 for each layer "
                + "and fails with TypeError)");
        m.put("bias", "one of " + Bias.allowed() + ", got null (PEFT fails with AttributeError when it marks the "
                + "biases trainable)");
        m.put("rank_pattern", "a mapping of module-name patterns to ranks ({} for none), got null (PEFT calls "
                + "rank_pattern.keys() for each targeted module and fails with AttributeError)");
        m.put("alpha_pattern", "a mapping of module-name patterns to alphas ({} for none), got null (PEFT calls "
                + "alpha_pattern.keys() for each targeted module and fails with AttributeError)");
        return Collections.unmodifiableMap(m);
    }

    /** A boolean PEFT only tests for truthiness: null reads as false (and, in a PEFT file, is written back). */
    private static Optional<Boolean> falsy(Section s, String key, boolean peftFile, LoraConfig.Builder b) {
        JsonNode v = s.node().get(key);
        if (v != null && v.isNull()) {
            if (peftFile) {
                b.nullAsRead(key);
            }
            return Optional.empty();
        }
        return s.bool(key);
    }

    /** A list of strings; an element that is not one is reported at its index. */
    private static Optional<List<String>> names(Section s, String key, JsonNode v, String expected) {
        if (!v.isArray()) {
            s.problems().error(s.path(key), key + " must be " + expected + ", got " + Section.show(v));
            return Optional.empty();
        }
        List<String> out = new ArrayList<>();
        boolean ok = true;
        for (int i = 0; i < v.size(); i++) {
            JsonNode e = v.get(i);
            if (e.isTextual()) {
                out.add(e.textValue());
            } else {
                s.problems().error(s.path(key) + "[" + i + "]", "must be a name (a string), got " + Section.show(e));
                ok = false;
            }
        }
        return ok ? Optional.of(out) : Optional.empty();
    }

    private static Set<String> knownForSuggestions() {
        Set<String> k = new TreeSet<>(LoraKeys.PEFT_FIELDS);
        k.remove(LoraKeys.RUNTIME_CONFIG);
        return k;
    }

    private static Optional<TargetModules> targets(Section s, String key) {
        Optional<JsonNode> value = s.value(key);
        if (value.isEmpty() || value.get().isNull()) {
            return Optional.empty();
        }
        JsonNode v = value.get();
        if (v.isTextual()) {
            return Optional.of(TargetModules.ofString(v.textValue()));
        }
        return names(s, key, v, "a list of module names, a regex string or \"all-linear\"")
                .map(TargetModules::ofNames);
    }

    private static void layersToTransform(Section s, LoraConfig.Builder b) {
        String key = "layers_to_transform";
        s.value(key).filter(v -> !v.isNull()).ifPresent(v -> {
            if (v.isArray()) {
                List<Integer> idx = new ArrayList<>();
                for (int i = 0; i < v.size(); i++) {
                    Optional<Integer> n = Section.asInt(v.get(i));
                    if (n.isEmpty()) {
                        s.problems().error(s.path(key) + "[" + i + "]", "layer index must be an integer, got "
                                + Section.show(v.get(i)));
                    } else {
                        idx.add(n.get());
                    }
                }
                b.layersToTransform(idx);
            } else {
                Section.asInt(v).ifPresentOrElse(b::layersToTransform, () -> s.problems().error(s.path(key),
                        key + " must be a layer index or a list of them, got " + Section.show(v)));
            }
        });
    }

    private static void layersPattern(Section s, LoraConfig.Builder b) {
        String key = "layers_pattern";
        s.value(key).filter(v -> !v.isNull()).ifPresent(v -> {
            if (v.isTextual()) {
                b.layersPattern(v.textValue());
            } else {
                names(s, key, v, "a name such as \"layers\" or a list of names").ifPresent(b::layersPattern);
            }
        });
    }

    private static <T> Map<String, T> pattern(Section s, String key, boolean integers, Class<T> type) {
        Map<String, T> out = new LinkedHashMap<>();
        Optional<JsonNode> value = s.value(key).filter(v -> !v.isNull()); // null: reported with NULL_FAILS
        if (value.isEmpty()) {
            return out;
        }
        if (!value.get().isObject()) {
            s.problems().error(s.path(key), key + " must be a mapping of module-name patterns to "
                    + (integers ? "ranks" : "alphas") + ", got " + Section.show(value.get()));
            return out;
        }
        for (Map.Entry<String, JsonNode> e : value.get().properties()) {
            JsonNode v = e.getValue();
            Optional<?> n = integers ? Section.asInt(v) : Optional.of(v).filter(JsonNode::isNumber)
                    .map(JsonNode::doubleValue);
            if (n.isEmpty()) {
                s.problems().error(s.path(key) + "." + e.getKey(), (integers ? "a rank must be an integer" : "an alpha "
                        + "must be a number") + ", got " + Section.show(v));
            } else {
                out.put(e.getKey(), type.cast(n.get()));
            }
        }
        return out;
    }

    /** Every modelled field as PEFT writes it. */
    private static ObjectNode modeled(LoraConfig c) {
        ObjectNode o = F.objectNode();
        o.set("alpha_pattern", numbers(c.alphaPattern()));
        o.put("base_model_name_or_path", c.baseModelNameOrPath().orElse(null));
        o.put("bias", c.bias());
        o.set("exclude_modules", targets(c.excludeModules().orElse(null)));
        o.put("fan_in_fan_out", c.fanInFanOut());
        o.put("inference_mode", c.inferenceMode());
        Object init = c.initLoraWeights().json();
        o.set("init_lora_weights", init == null ? F.nullNode() : init instanceof Boolean bool ? F.booleanNode(bool)
                : F.textNode(String.valueOf(init)));
        o.set("layers_pattern", c.layersPattern().map(l -> c.layersPatternScalar()
                ? (JsonNode) F.textNode(l.isEmpty() ? "" : l.get(0)) : strings(l)).orElse(F.nullNode()));
        o.set("layers_to_transform", c.layersToTransform().map(l -> c.layersToTransformScalar() && l.size() == 1
                ? (JsonNode) F.numberNode(l.get(0)) : ints(l)).orElse(F.nullNode()));
        o.set("lora_alpha", number(c.loraAlpha()));
        o.put("lora_bias", c.loraBias());
        o.put("lora_dropout", c.loraDropout());
        o.set("modules_to_save", c.modulesToSave().map(l -> (JsonNode) strings(l)).orElse(F.nullNode()));
        o.put(PEFT_TYPE, c.peftType());
        o.put("peft_version", c.peftVersion().orElse(null));
        o.put("r", c.r());
        ObjectNode ranks = F.objectNode();
        c.rankPattern().forEach(ranks::put);
        o.set("rank_pattern", ranks);
        o.put("revision", c.revision().orElse(null));
        o.set("target_modules", targets(c.targetModules().orElse(null)));
        o.put("task_type", c.taskType().orElse(null));
        o.put("use_dora", c.useDora());
        o.put("use_rslora", c.useRslora());
        return o;
    }

    private static JsonNode targets(TargetModules t) {
        if (t == null) {
            return F.nullNode();
        }
        if (t instanceof TargetModules.Names n) {
            return strings(n.names());
        }
        return F.textNode(t instanceof TargetModules.AllLinear a ? a.spelling() : ((TargetModules.Regex) t).pattern());
    }

    /** PEFT's alphas are ints unless someone wrote a fraction; Python then writes {@code 16} rather than 16.0. */
    public static JsonNode number(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            long l = (long) v;
            return l == (int) l ? F.numberNode((int) l) : F.numberNode(l);
        }
        return F.numberNode(v);
    }

    private static ObjectNode numbers(Map<String, Double> m) {
        ObjectNode o = F.objectNode();
        m.forEach((k, v) -> o.set(k, number(v)));
        return o;
    }

    private static ArrayNode strings(List<String> l) {
        ArrayNode a = F.arrayNode();
        l.forEach(a::add);
        return a;
    }

    private static ArrayNode ints(List<Integer> l) {
        ArrayNode a = F.arrayNode();
        l.forEach(a::add);
        return a;
    }

    private static String pythonList(Set<String> keys) {
        List<String> quoted = new ArrayList<>();
        keys.forEach(k -> quoted.add("'" + k + "'"));
        return "[" + String.join(", ", quoted) + "]";
    }
}
