package dev.lora4j.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * PEFT's {@code LoraConfig} as an immutable value. Field names, defaults and meaning follow PEFT exactly (see
 * docs/peft-compatibility.md); keys lora4j does not model are kept verbatim in {@link #extra()} so that reading and
 * writing a PEFT {@code adapter_config.json} loses nothing.
 *
 * <p>Construction never validates (PEFT's constructor accepts {@code r=0}); {@link LoraConfigValidator} collects every
 * problem with its path.
 */
public final class LoraConfig {

    /** The PEFT version whose defaults and file format lora4j follows; written as {@code peft_version} if unset. */
    public static final String PEFT_VERSION = "0.20.0";

    private final int r;
    private final double loraAlpha;
    private final TargetModules targetModules;
    private final TargetModules excludeModules;
    private final double loraDropout;
    private final boolean fanInFanOut;
    private final String bias;
    private final boolean useRslora;
    private final List<String> modulesToSave;
    private final InitLoraWeights initLoraWeights;
    private final List<Integer> layersToTransform;
    private final boolean layersToTransformScalar;
    private final List<String> layersPattern;
    private final boolean layersPatternScalar;
    private final Map<String, Integer> rankPattern;
    private final Map<String, Double> alphaPattern;
    private final boolean useDora;
    private final boolean loraBias;
    private final String taskType;
    private final boolean inferenceMode;
    private final String baseModelNameOrPath;
    private final String revision;
    private final String peftType;
    private final String peftVersion;
    private final Map<String, JsonNode> extra;
    private final Set<String> keysAsRead;
    private final Set<String> nullsAsRead;

    private LoraConfig(Builder b) {
        this.r = b.r;
        this.loraAlpha = b.loraAlpha;
        this.targetModules = b.targetModules;
        this.excludeModules = b.excludeModules;
        this.loraDropout = b.loraDropout;
        this.fanInFanOut = b.fanInFanOut;
        this.bias = Objects.requireNonNull(b.bias, "bias");
        this.useRslora = b.useRslora;
        this.modulesToSave = b.modulesToSave == null ? null : List.copyOf(new LinkedHashSet<>(b.modulesToSave));
        this.initLoraWeights = Objects.requireNonNull(b.initLoraWeights, "initLoraWeights");
        this.layersToTransform = b.layersToTransform == null ? null
                : List.copyOf(new LinkedHashSet<>(b.layersToTransform));
        this.layersToTransformScalar = b.layersToTransformScalar;
        this.layersPattern = b.layersPattern == null ? null : List.copyOf(new LinkedHashSet<>(b.layersPattern));
        this.layersPatternScalar = b.layersPatternScalar;
        this.rankPattern = Collections.unmodifiableMap(new LinkedHashMap<>(b.rankPattern));
        this.alphaPattern = Collections.unmodifiableMap(new LinkedHashMap<>(b.alphaPattern));
        this.useDora = b.useDora;
        this.loraBias = b.loraBias;
        this.taskType = b.taskType;
        this.inferenceMode = b.inferenceMode;
        this.baseModelNameOrPath = b.baseModelNameOrPath;
        this.revision = b.revision;
        this.peftType = b.peftType;
        this.peftVersion = b.peftVersion;
        this.extra = Collections.unmodifiableMap(new LinkedHashMap<>(b.extra));
        this.keysAsRead = b.keysAsRead == null ? null : Set.copyOf(b.keysAsRead);
        this.nullsAsRead = Set.copyOf(b.nullsAsRead);
        for (String k : extra.keySet()) {
            if (LoraKeys.MODELED.contains(k)) {
                throw new IllegalArgumentException("extra key '" + k + "' is a modelled field; use its builder method");
            }
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder that starts from this config's values. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** PEFT's defaults: {@code LoraConfig()}. */
    public static LoraConfig defaults() {
        return builder().build();
    }

    public int r() {
        return r;
    }

    public double loraAlpha() {
        return loraAlpha;
    }

    /** Null in PEFT means "the architecture's default targets". */
    public Optional<TargetModules> targetModules() {
        return Optional.ofNullable(targetModules);
    }

    public Optional<TargetModules> excludeModules() {
        return Optional.ofNullable(excludeModules);
    }

    public double loraDropout() {
        return loraDropout;
    }

    public boolean fanInFanOut() {
        return fanInFanOut;
    }

    /** The raw {@code bias} string (PEFT keeps invalid values until injection; {@link #biasMode()} parses it). */
    public String bias() {
        return bias;
    }

    public Optional<Bias> biasMode() {
        return Bias.parse(bias);
    }

    public boolean useRslora() {
        return useRslora;
    }

    public Optional<List<String>> modulesToSave() {
        return Optional.ofNullable(modulesToSave);
    }

    public InitLoraWeights initLoraWeights() {
        return initLoraWeights;
    }

    /** Layer indices; a scalar {@code layers_to_transform: 3} reads as {@code [3]}. */
    public Optional<List<Integer>> layersToTransform() {
        return Optional.ofNullable(layersToTransform);
    }

    /** Whether {@code layers_to_transform} was written as a single int (kept for round trips). */
    public boolean layersToTransformScalar() {
        return layersToTransformScalar;
    }

    /** Layer container names; a string reads as a one-element list; {@code ""} reads as an empty list. */
    public Optional<List<String>> layersPattern() {
        return Optional.ofNullable(layersPattern);
    }

    public boolean layersPatternScalar() {
        return layersPatternScalar;
    }

    public Map<String, Integer> rankPattern() {
        return rankPattern;
    }

    public Map<String, Double> alphaPattern() {
        return alphaPattern;
    }

    public boolean useDora() {
        return useDora;
    }

    public boolean loraBias() {
        return loraBias;
    }

    /** The raw {@code task_type} string; {@link #task()} parses it. */
    public Optional<String> taskType() {
        return Optional.ofNullable(taskType);
    }

    public Optional<TaskType> task() {
        return taskType == null ? Optional.empty() : TaskType.parse(taskType);
    }

    public boolean inferenceMode() {
        return inferenceMode;
    }

    public Optional<String> baseModelNameOrPath() {
        return Optional.ofNullable(baseModelNameOrPath);
    }

    public Optional<String> revision() {
        return Optional.ofNullable(revision);
    }

    /** Always {@code "LORA"} for a config built here; a file's value is kept so validation can name it. */
    public String peftType() {
        return peftType;
    }

    public Optional<String> peftVersion() {
        return Optional.ofNullable(peftVersion);
    }

    /**
     * PEFT's {@code ensure_weight_tying} (kept in {@link #extra()}): tie the trainable copies of weights the model
     * ties ({@code lm_head} and {@code embed_tokens} with {@code tie_word_embeddings}) instead of training them apart.
     */
    public boolean ensureWeightTying() {
        JsonNode v = extra.get("ensure_weight_tying");
        return v != null && v.isBoolean() && v.booleanValue();
    }

    /** Every key lora4j does not model, verbatim (niche fields, newer or older PEFT keys). */
    public Map<String, JsonNode> extra() {
        return extra;
    }

    /**
     * The keys of the file this config was read from, so that writing it back reproduces that file; empty for a
     * config built in code, which is written with every key PEFT writes. Provenance, not value: not part of equals.
     */
    public Optional<Set<String>> keysAsRead() {
        return Optional.ofNullable(keysAsRead);
    }

    /**
     * The boolean fields a PEFT file held as {@code null} (Python's None, which PEFT only tests for truthiness, so
     * they read as false): written back as null while they are still false. Provenance, not value: not part of
     * equals.
     */
    public Set<String> nullsAsRead() {
        return nullsAsRead;
    }

    /** Rank of the module at {@code key} after {@code rank_pattern} (PEFT's get_pattern_key rule). */
    public int rankFor(String key) {
        return PatternKeys.find(rankPattern.keySet(), key).map(rankPattern::get).orElse(r);
    }

    /** Alpha of the module at {@code key} after {@code alpha_pattern}. */
    public double alphaFor(String key) {
        return PatternKeys.find(alphaPattern.keySet(), key).map(alphaPattern::get).orElse(loraAlpha);
    }

    /** PEFT's scaling for the module at {@code key}: alpha/r, or alpha/sqrt(r) with rsLoRA, in double precision. */
    public double scalingFor(String key) {
        int rk = rankFor(key);
        double a = alphaFor(key);
        return useRslora ? a / Math.sqrt(rk) : a / rk;
    }

    /** One line: {@code LORA r=16 alpha=32 targets=[q_proj, v_proj] task=CAUSAL_LM}. */
    public String summary() {
        StringBuilder sb = new StringBuilder(peftType).append(" r=").append(r).append(" alpha=")
                .append(Numbers.format(loraAlpha))
                .append(" targets=").append(targetModules == null ? "(architecture default)" : targetModules.describe());
        if (useRslora) {
            sb.append(" rslora");
        }
        if (useDora) {
            sb.append(" dora");
        }
        if (loraDropout > 0) {
            sb.append(" dropout=").append(Numbers.format(loraDropout));
        }
        if (!rankPattern.isEmpty()) {
            sb.append(" rank_pattern=").append(rankPattern);
        }
        if (!alphaPattern.isEmpty()) {
            Map<String, String> shown = new LinkedHashMap<>();
            alphaPattern.forEach((k, v) -> shown.put(k, Numbers.format(v)));
            sb.append(" alpha_pattern=").append(shown);
        }
        if (modulesToSave != null) {
            sb.append(" modules_to_save=").append(modulesToSave);
        }
        sb.append(" task=").append(taskType == null ? "none" : taskType);
        return sb.toString();
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof LoraConfig c)) {
            return false;
        }
        return r == c.r && Double.compare(loraAlpha, c.loraAlpha) == 0 && Objects.equals(targetModules, c.targetModules)
                && Objects.equals(excludeModules, c.excludeModules) && Double.compare(loraDropout, c.loraDropout) == 0
                && fanInFanOut == c.fanInFanOut && bias.equals(c.bias) && useRslora == c.useRslora
                && Objects.equals(modulesToSave, c.modulesToSave)
                && Objects.equals(initLoraWeights.json(), c.initLoraWeights.json())
                && Objects.equals(layersToTransform, c.layersToTransform)
                && Objects.equals(layersPattern, c.layersPattern) && rankPattern.equals(c.rankPattern)
                && alphaPattern.equals(c.alphaPattern) && useDora == c.useDora && loraBias == c.loraBias
                && Objects.equals(taskType, c.taskType) && inferenceMode == c.inferenceMode
                && Objects.equals(baseModelNameOrPath, c.baseModelNameOrPath) && Objects.equals(revision, c.revision)
                && Objects.equals(peftType, c.peftType) && Objects.equals(peftVersion, c.peftVersion)
                && extra.equals(c.extra);
    }

    @Override
    public int hashCode() {
        return Objects.hash(r, loraAlpha, targetModules, loraDropout, bias, useRslora, useDora, taskType);
    }

    @Override
    public String toString() {
        return "LoraConfig{" + summary() + "}";
    }

    /** Builder with PEFT's defaults. */
    public static final class Builder {
        private int r = 8;
        private double loraAlpha = 8;
        private TargetModules targetModules;
        private TargetModules excludeModules;
        private double loraDropout = 0.0;
        private boolean fanInFanOut;
        private String bias = "none";
        private boolean useRslora;
        private List<String> modulesToSave;
        private InitLoraWeights initLoraWeights = InitLoraWeights.DEFAULT;
        private List<Integer> layersToTransform;
        private boolean layersToTransformScalar;
        private List<String> layersPattern;
        private boolean layersPatternScalar;
        private Map<String, Integer> rankPattern = new LinkedHashMap<>();
        private Map<String, Double> alphaPattern = new LinkedHashMap<>();
        private boolean useDora;
        private boolean loraBias;
        private String taskType;
        private boolean inferenceMode;
        private String baseModelNameOrPath;
        private String revision;
        private String peftType = "LORA";
        private String peftVersion = PEFT_VERSION;
        private Map<String, JsonNode> extra = new LinkedHashMap<>();
        private Set<String> keysAsRead;
        private Set<String> nullsAsRead = new LinkedHashSet<>();

        private Builder() {}

        private Builder(LoraConfig c) {
            r = c.r;
            loraAlpha = c.loraAlpha;
            targetModules = c.targetModules;
            excludeModules = c.excludeModules;
            loraDropout = c.loraDropout;
            fanInFanOut = c.fanInFanOut;
            bias = c.bias;
            useRslora = c.useRslora;
            modulesToSave = c.modulesToSave;
            initLoraWeights = c.initLoraWeights;
            layersToTransform = c.layersToTransform;
            layersToTransformScalar = c.layersToTransformScalar;
            layersPattern = c.layersPattern;
            layersPatternScalar = c.layersPatternScalar;
            rankPattern = new LinkedHashMap<>(c.rankPattern);
            alphaPattern = new LinkedHashMap<>(c.alphaPattern);
            useDora = c.useDora;
            loraBias = c.loraBias;
            taskType = c.taskType;
            inferenceMode = c.inferenceMode;
            baseModelNameOrPath = c.baseModelNameOrPath;
            revision = c.revision;
            peftType = c.peftType;
            peftVersion = c.peftVersion;
            extra = new LinkedHashMap<>(c.extra);
            keysAsRead = c.keysAsRead;
            nullsAsRead = new LinkedHashSet<>(c.nullsAsRead);
        }

        public Builder r(int v) {
            r = v;
            return this;
        }

        public Builder loraAlpha(double v) {
            loraAlpha = v;
            return this;
        }

        public Builder targetModules(TargetModules v) {
            targetModules = v;
            return this;
        }

        /** A list of names (exact key or dot-bounded suffix). */
        public Builder targetModules(String... names) {
            targetModules = new TargetModules.Names(List.of(names));
            return this;
        }

        /** A regex (full match) or {@code "all-linear"}. */
        public Builder targetModulesRegex(String regex) {
            targetModules = TargetModules.ofString(regex);
            return this;
        }

        public Builder excludeModules(TargetModules v) {
            excludeModules = v;
            return this;
        }

        public Builder loraDropout(double v) {
            loraDropout = v;
            return this;
        }

        public Builder fanInFanOut(boolean v) {
            fanInFanOut = v;
            return this;
        }

        public Builder bias(String v) {
            bias = v;
            return this;
        }

        public Builder bias(Bias v) {
            bias = v.json();
            return this;
        }

        public Builder useRslora(boolean v) {
            useRslora = v;
            return this;
        }

        public Builder modulesToSave(List<String> v) {
            modulesToSave = v == null ? null : new ArrayList<>(v);
            return this;
        }

        public Builder initLoraWeights(InitLoraWeights v) {
            initLoraWeights = v;
            return this;
        }

        public Builder initLoraWeights(boolean v) {
            initLoraWeights = InitLoraWeights.of(v);
            return this;
        }

        public Builder initLoraWeights(String v) {
            initLoraWeights = InitLoraWeights.of(v);
            return this;
        }

        public Builder layersToTransform(List<Integer> v) {
            layersToTransform = v == null ? null : new ArrayList<>(v);
            layersToTransformScalar = false;
            return this;
        }

        public Builder layersToTransform(int v) {
            layersToTransform = List.of(v);
            layersToTransformScalar = true;
            return this;
        }

        public Builder layersPattern(List<String> v) {
            layersPattern = v == null ? null : new ArrayList<>(v);
            layersPatternScalar = false;
            return this;
        }

        /** A single name; {@code ""} means "no pattern" as in PEFT. */
        public Builder layersPattern(String v) {
            layersPattern = v == null ? null : (v.isEmpty() ? List.of() : List.of(v));
            layersPatternScalar = v != null;
            return this;
        }

        public Builder rankPattern(Map<String, Integer> v) {
            rankPattern = new LinkedHashMap<>(v);
            return this;
        }

        public Builder alphaPattern(Map<String, Double> v) {
            alphaPattern = new LinkedHashMap<>(v);
            return this;
        }

        public Builder useDora(boolean v) {
            useDora = v;
            return this;
        }

        public Builder loraBias(boolean v) {
            loraBias = v;
            return this;
        }

        public Builder taskType(String v) {
            taskType = v;
            return this;
        }

        public Builder taskType(TaskType v) {
            taskType = v == null ? null : v.name();
            return this;
        }

        public Builder inferenceMode(boolean v) {
            inferenceMode = v;
            return this;
        }

        public Builder baseModelNameOrPath(String v) {
            baseModelNameOrPath = v;
            return this;
        }

        public Builder revision(String v) {
            revision = v;
            return this;
        }

        public Builder peftType(String v) {
            peftType = v;
            return this;
        }

        public Builder peftVersion(String v) {
            peftVersion = v;
            return this;
        }

        /** Keeps an unmodelled key verbatim. */
        public Builder extra(String key, JsonNode value) {
            extra.put(key, value);
            return this;
        }

        public Builder extra(Map<String, JsonNode> v) {
            extra = new LinkedHashMap<>(v);
            return this;
        }

        /** See {@link LoraConfig#keysAsRead()}; {@code null} writes PEFT's full set of keys. */
        public Builder keysAsRead(Set<String> v) {
            keysAsRead = v == null ? null : new LinkedHashSet<>(v);
            return this;
        }

        /** See {@link LoraConfig#nullsAsRead()}. */
        public Builder nullAsRead(String key) {
            nullsAsRead.add(key);
            return this;
        }

        public LoraConfig build() {
            return new LoraConfig(this);
        }
    }
}
