package dev.lora4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.config.Bias;
import dev.lora4j.config.InitLoraWeights;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.TargetModules;
import dev.lora4j.config.TaskType;
import dev.lora4j.model.Adaptation;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.Forward;
import dev.lora4j.model.LabelNames;
import dev.lora4j.model.ModuleNode;
import dev.lora4j.model.ModuleTree;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.runtime.Ops;
import dev.lora4j.runtime.Torch;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * One trial's LoRA adapter on a shared base model: PEFT's {@code get_peft_model} without touching the base. The
 * adapter owns its LoRA tensors, the trainable copies ({@code modules_to_save}, trainable biases) and the residual
 * weights of base-rewriting inits, all in its own manager on the base's device.
 */
public final class Adapter implements Adaptation, AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Adapter.class);
    private static final String PREFIX = "base_model.model.";
    private static final String NAME = "default";

    /** PEFT's {@code EMBEDDING_LAYER_NAMES}: the names its weight-tying checks look for. */
    private static final List<String> EMBEDDING_LAYER_NAMES = List.of("embed_tokens", "lm_head");

    /** PEFT's warning (tuners_utils.py, {@code BaseTuner._check_tied_modules}) for a LoraConfig. */
    static final String TIED_LAYER_WARNING = "Model has `tie_word_embeddings=True` and a tied layer is part of the"
            + " adapter, but `ensure_weight_tying` is not set to True. This can lead to complications, for example"
            + " when merging the adapter or converting your model to formats other than safetensors. Check the"
            + " discussion here: https://github.com/huggingface/peft/issues/2777";

    private static final List<String> UNSUPPORTED_KEYS = List.of("target_parameters", "layer_replication",
            "trainable_token_indices", "alora_invocation_tokens", "megatron_config", "arrow_config", "velora_config",
            "kasa_config", "use_bdlora", "monteclora_config", "lora_ga_config");

    private final BaseModel base;
    private final LoraConfig config;
    private final NDManager manager;
    private final Map<String, LoraLayer> layers;
    private final Map<String, NDArray> overrides;
    private final Map<String, NDArray> ownOverrides;
    private final List<Parameter> parameters;
    private final List<String> modulesToSave;
    private final Map<String, String> savedAliases;
    private final List<String> warnings;
    // a classifier's label names in id order (set once its data is known, or read with a saved adapter)
    private volatile List<String> labelNames = List.of();

    private Adapter(BaseModel base, LoraConfig config, NDManager manager, Map<String, LoraLayer> layers,
            Map<String, NDArray> overrides, List<Parameter> parameters, List<String> modulesToSave,
            Map<String, String> savedAliases, List<String> warnings) {
        this.base = base;
        this.config = config;
        this.manager = manager;
        this.layers = Collections.unmodifiableMap(layers);
        this.ownOverrides = overrides;
        this.overrides = Collections.unmodifiableMap(overrides);
        this.parameters = List.copyOf(parameters);
        this.modulesToSave = List.copyOf(modulesToSave);
        this.savedAliases = Collections.unmodifiableMap(new LinkedHashMap<>(savedAliases));
        this.warnings = List.copyOf(warnings);
    }

    /** A trainable adapter, initialised from {@code seed} (the same seed gives the same adapter). */
    public static Adapter create(BaseModel base, LoraConfig config, long seed) {
        return build(base, config, seed, true);
    }

    /**
     * How many float32 values a trainable adapter of {@code config} holds on a model with {@code tree} and
     * {@code parameters} (name to shape), without making any tensor: LoRA A and B (and B's bias, DoRA's magnitude) of
     * every targeted module, the copies of {@code modules_to_save} (the task's heads included) and the trainable
     * biases. What {@link #trainableParameters()} would hold, for memory estimates.
     */
    public static long trainableValues(ModuleTree tree, Map<String, long[]> parameters, LoraConfig config) {
        LoraConfig withHeads = withTaskModulesToSave(config);
        TargetMatcher.Selection sel = TargetMatcher.select(withHeads, tree);
        LoraConfig c = sel.config();
        long total = 0;
        Set<String> targeted = new HashSet<>();
        for (ModuleNode m : sel.targeted()) {
            targeted.add(m.path());
            int r = c.rankFor(m.path());
            boolean embedding = m.kind() == ModuleNode.Kind.EMBEDDING;
            long in = embedding ? m.weightShape()[0] : m.inFeatures();
            long out = embedding ? m.weightShape()[1] : m.outFeatures();
            total += r * in + out * r + (c.loraBias() ? out : 0) + (c.useDora() ? out : 0);
        }
        Set<String> wrapped = new HashSet<>(modulesToSave(tree, c));
        Bias bias = c.biasMode().orElse(Bias.NONE);
        for (Map.Entry<String, long[]> p : parameters.entrySet()) {
            String name = p.getKey();
            int dot = name.lastIndexOf('.');
            String module = dot < 0 ? "" : name.substring(0, dot);
            long n = Arrays.stream(p.getValue()).reduce(1, Math::multiplyExact);
            if (wrapped.contains(module)) {
                total += n;
            } else if (trainableBias(name, bias, targeted::contains)) {
                total += n;
            }
        }
        return total;
    }

    private static Adapter build(BaseModel base, LoraConfig config, long seed, boolean trainable) {
        Torch.engine();
        checkSupported(config);
        Bias bias = config.biasMode().orElseThrow(() ->
                new LoraException("Requested bias: " + config.bias() + ", is not implemented."));
        LoraConfig withHeads = withTaskModulesToSave(config);
        List<String> warnings = new ArrayList<>();
        Tying tying = checkTiedModules(base, withHeads, warnings);
        TargetMatcher.Selection sel = TargetMatcher.select(tying.config(), base.tree());
        LoraConfig resolved = sel.config();
        AdapterSize.check(resolved, sel.targeted());
        warnings.addAll(sel.warnings());
        boolean fanInFanOut = resolved.fanInFanOut();
        NDManager manager = Torch.newManager(base.device());
        try (GradMode g = GradMode.off(); Ops tmp = Ops.scope(manager)) {
            Map<String, LoraLayer> layers = new LinkedHashMap<>();
            Map<String, NDArray> overrides = new LinkedHashMap<>();
            List<Parameter> params = new ArrayList<>();
            Ops keep = Ops.into(manager);
            for (ModuleNode m : sel.targeted()) {
                String key = m.path();
                int r = resolved.rankFor(key);
                if (r <= 0) {
                    throw new LoraException("`r` should be a positive integer value but the value passed is " + r);
                }
                double p = resolved.loraDropout();
                if (p > 1) {
                    throw new LoraException("dropout probability has to be between 0 and 1, but got " + p);
                }
                double alpha = resolved.alphaFor(key);
                double scaling = resolved.useRslora() ? alpha / Math.sqrt(r) : alpha / r;
                boolean conv1d = m.kind() == ModuleNode.Kind.CONV1D;
                if (m.isLinear() && fanInFanOut != conv1d) {
                    warnings.add(conv1d
                            ? "fan_in_fan_out is set to False but the target module is `Conv1D`. Setting"
                                    + " fan_in_fan_out to True."
                            : "fan_in_fan_out is set to True but the target module is `torch.nn.Linear`. Setting"
                                    + " fan_in_fan_out to False.");
                    fanInFanOut = conv1d;
                }
                LoraLayer layer = m.kind() == ModuleNode.Kind.EMBEDDING
                        ? embeddingLayer(base, resolved, m, r, alpha, scaling, seed, keep)
                        : linearLayer(base, resolved, m, r, alpha, scaling, Math.max(p, 0), seed, keep, tmp,
                                overrides, warnings);
                layers.put(key, layer);
            }
            // PEFT mutates the shared config with the last correction; the saved file says what the layers did
            resolved = resolved.toBuilder().fanInFanOut(fanInFanOut).build();
            for (LoraLayer l : layers.values()) {
                addLayerParams(params, l, trainable);
            }
            Map<String, String> savedAliases = new LinkedHashMap<>();
            List<String> wrapped = wrapModulesToSave(base, resolved, keep, overrides, params, trainable,
                    tying.modulesToTie(), savedAliases);
            addTrainableBiases(base, bias, layers, keep, overrides, params, trainable);
            for (Parameter prm : params) {
                prm.tensor().setRequiresGradient(prm.trainable());
            }
            // the callers hand these to the user (Engine's results, the sweep's events); the log is for apps
            for (String w : warnings) {
                LOG.debug(w);
            }
            return new Adapter(base, resolved, manager, layers, overrides, params, wrapped, savedAliases, warnings);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    private static void checkSupported(LoraConfig c) {
        for (String k : UNSUPPORTED_KEYS) {
            JsonNode v = c.extra().get(k);
            if (v != null && !v.isNull() && !(v.isBoolean() && !v.asBoolean())
                    && !(v.isContainerNode() && v.isEmpty())) {
                throw new LoraException(k + " is not supported by lora4j yet");
            }
        }
        JsonNode qa = c.extra().get("use_qalora");
        if (qa != null && qa.asBoolean(false)) {
            throw new LoraException("use_qalora is not supported by lora4j (QA-LoRA needs GPTQ-quantised models)");
        }
        InitLoraWeights init = c.initLoraWeights();
        if (init.kind() == InitLoraWeights.Kind.UNKNOWN && init.json() instanceof String s && s.startsWith("pissa")) {
            throw new LoraException("init_lora_weights should be 'pissa' or 'pissa_niter_[number of iters]', got "
                    + s + " instead.");
        }
        if (init.kind() != InitLoraWeights.Kind.UNKNOWN && !init.kind().supported()) {
            throw new LoraException("init_lora_weights='" + init.json() + "' is not supported by lora4j yet"
                    + " (it needs calibration data, gradients or a quantisation back-end); use true, false,"
                    + " \"gaussian\", \"pissa\", \"pissa_niter_K\", \"olora\" or \"orthogonal\"");
        }
    }

    /** What weight tying does to a config on a model: the config PEFT injects, and the modules tied to the copy. */
    record Tying(LoraConfig config, List<String> modulesToTie) {}

    /**
     * PEFT's {@code BaseTuner._check_tied_modules} (tuners_utils.py) for a LoraConfig: warns when a layer tied to the
     * input embeddings ({@code lm_head} with {@code tie_word_embeddings}) is part of the adapter, and with
     * {@code ensure_weight_tying} trains one copy of the embeddings for both ({@code LoraModel
     * ._add_modules_to_save_to_tie}: the embeddings join {@code modules_to_save}, the tied layers leave it).
     */
    static Tying checkTiedModules(BaseModel base, LoraConfig c, List<String> warnings) {
        List<String> toSave = c.modulesToSave().orElse(List.of());
        boolean embeddingToSave = toSave.stream().anyMatch(m -> EMBEDDING_LAYER_NAMES.contains(lastSegment(m)));
        boolean embeddingInTarget = embeddingInTarget(c.targetModules().orElse(null));
        List<String> tied = tiedWithEmbedding(base);
        if (c.ensureWeightTying()) {
            if (tied.isEmpty()) {
                warnings.add("You have requested `ensure_weight_tying`, but no tied modules were found in the model");
            } else if (embeddingToSave) {
                List<String> mts = new ArrayList<>(toSave);
                String embedding = inputEmbedding(base);
                if (!mts.contains(embedding)) {
                    mts.add(embedding);
                }
                for (String key : tied) {
                    for (String m : mts) {
                        if (key.equals(m) || key.endsWith("." + m)) {
                            mts.remove(m);
                            break;
                        }
                    }
                }
                return new Tying(c.toBuilder().modulesToSave(mts).build(), tied);
            } else if (embeddingInTarget) {
                throw new LoraException("ensure_weight_tying with a tied layer in target_modules (LoRA on "
                        + String.join(", ", tied) + " tied to " + inputEmbedding(base) + ") is not supported by"
                        + " lora4j yet: PEFT shares the embedding's LoRA tensors, transposed, with " + String.join(
                        ", ", tied) + "; use modules_to_save for the tied layers, or set ensure_weight_tying to"
                        + " false");
            } else {
                warnings.add("You have requested `ensure_weight_tying`, but no tied modules are added in either"
                        + " `modules_to_save` or `target_modules`");
            }
        } else if ((embeddingToSave || embeddingInTarget) && !tied.isEmpty()) {
            warnings.add(TIED_LAYER_WARNING);
        }
        return new Tying(c, List.of());
    }

    private static String lastSegment(String name) {
        return name.substring(name.lastIndexOf('.') + 1);
    }

    /** PEFT matches a string against the bare names ({@code re.fullmatch(target, "lm_head")}), a list by name. */
    private static boolean embeddingInTarget(TargetModules t) {
        if (t instanceof TargetModules.Regex r) {
            // PEFT's target regexes are Python's: translated in one place (a bad one is reported by TargetMatcher)
            java.util.regex.Pattern p;
            try {
                p = dev.lora4j.config.PythonRegex.compile(r.pattern());
            } catch (dev.lora4j.config.PythonRegex.SyntaxError e) {
                return false;
            }
            return EMBEDDING_LAYER_NAMES.stream().anyMatch(e -> p.matcher(e).matches());
        }
        if (t instanceof TargetModules.Names n) {
            return n.names().stream().anyMatch(m -> EMBEDDING_LAYER_NAMES.contains(lastSegment(m)));
        }
        return false;
    }

    /**
     * PEFT's {@code _get_module_names_tied_with_embedding}: the modules whose weight is the input embeddings' (a tied
     * {@code lm_head}), sorted; empty when the model ties nothing ({@code tie_word_embeddings: false}).
     */
    static List<String> tiedWithEmbedding(BaseModel base) {
        return base.architecture().aliases().keySet().stream().map(Adapter::moduleOf).distinct().sorted().toList();
    }

    /** The input embeddings' module ({@code model.embed_tokens}): what the tied weights are an alias of. */
    private static String inputEmbedding(BaseModel base) {
        return base.architecture().aliases().values().stream().map(Adapter::moduleOf).findFirst()
                .orElseThrow(() -> new IllegalStateException("the model ties no weights"));
    }

    private static String moduleOf(String parameter) {
        int dot = parameter.lastIndexOf('.');
        return dot < 0 ? "" : parameter.substring(0, dot);
    }

    /** A tensor replacing base parameter {@code name} and every parameter tied to it (they are one tensor). */
    private static void putShared(BaseModel base, Map<String, NDArray> overrides, String name, NDArray tensor) {
        String target = base.architecture().aliases().getOrDefault(name, name);
        overrides.put(target, tensor);
        base.architecture().aliases().forEach((alias, t) -> {
            if (t.equals(target)) {
                overrides.put(alias, tensor);
            }
        });
    }

    /** PEFT's task wrappers add their heads to {@code modules_to_save} (spec 5.8); the saved config lists them. */
    static LoraConfig withTaskModulesToSave(LoraConfig c) {
        TaskType t = c.task().orElse(null);
        List<String> extra = t == TaskType.SEQ_CLS || t == TaskType.TOKEN_CLS ? List.of("classifier", "score")
                : t == TaskType.QUESTION_ANS ? List.of("qa_outputs") : List.of();
        if (extra.isEmpty()) {
            return c;
        }
        List<String> mts = new ArrayList<>(c.modulesToSave().orElse(List.of()));
        mts.addAll(extra);
        return c.toBuilder().modulesToSave(mts).build();
    }

    private static SplittableRandom rng(long seed, String key) {
        long h = 0xcbf29ce484222325L;
        for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        return new SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ h);
    }

    private static LoraLayer linearLayer(BaseModel base, LoraConfig c, ModuleNode m, int r, double alpha,
            double scaling, double dropout, long seed, Ops keep, Ops tmp, Map<String, NDArray> overrides,
            List<String> warnings) {
        String key = m.path();
        int in = (int) m.inFeatures();
        int out = (int) m.outFeatures();
        boolean conv1d = m.kind() == ModuleNode.Kind.CONV1D;
        if (c.loraBias() && !m.hasBias()) {
            warnings.add("`lora_bias=True` was passed but the targeted layer of type Linear at " + key
                    + " has no bias. This means that merging LoRA weights won't be possible.");
        }
        InitLoraWeights init = c.initLoraWeights();
        String weightName = base.weightNameOf(m);
        NDArray w = base.weight(weightName);
        double[][] weightOutIn = null;
        if (init.kind().mutatesBase()) {
            if (!w.getDataType().isFloating()) {
                throw new LoraException("Please initialize PiSSA under float32, float16, or bfloat16. (" + key
                        + " has " + w.getDataType() + ")");
            }
            float[] flat;
            // the cast must not be called on w (its result would live in the base's manager until the base closes)
            try (Ops cast = tmp.child()) {
                flat = cast.toType(w, DataType.FLOAT32).toFloatArray();
            }
            double[][] stored = Linalg.reshape(flat, (int) w.getShape().get(0), (int) w.getShape().get(1));
            weightOutIn = conv1d && init.kind() != InitLoraWeights.Kind.OLORA ? Linalg.transpose(stored) : stored;
        }
        LoraInit.Init values = LoraInit.linear(init, r, in, out, scaling, c.loraBias(), weightOutIn, conv1d,
                rng(seed, key));
        NDArray a = keep.floats(values.a(), new Shape(r, in));
        NDArray b = keep.floats(values.b(), new Shape(out, r));
        NDArray bBias = values.bBias() == null ? null : keep.floats(values.bBias(), new Shape(out));
        if (values.residual() != null) {
            double[][] res = conv1d && init.kind() != InitLoraWeights.Kind.OLORA
                    ? Linalg.transpose(values.residual()) : values.residual();
            NDArray resF = tmp.floats(Linalg.flatten(res), w.getShape());
            // only the residual in the base's dtype stays in the adapter, not its float32 staging copy
            NDArray resW = w.getDataType() == DataType.FLOAT32 ? tmp.keep(resF, keep)
                    : keep.toType(resF, w.getDataType());
            resW.setName(weightName);
            // PEFT rewrites the base weight in place: a weight tied to this one (lm_head) sees the residual too
            putShared(base, overrides, weightName, resW);
        }
        NDArray magnitude = null;
        if (c.useDora()) {
            // m = ||V + s·B·A|| per output row: identity at default init, plain LoRA with init false
            NDArray v = overrides.getOrDefault(weightName, w);
            NDArray vf = tmp.toType(conv1d ? tmp.transpose(v, 0, 1) : v, DataType.FLOAT32);
            NDArray norm = tmp.rowNorm(tmp.add(vf, tmp.scale(tmp.matmul(b, a), scaling)));
            magnitude = keep.copy(norm);
        }
        return new LoraLayer(m, r, alpha, scaling, dropout, conv1d, a, b, bBias, magnitude);
    }

    private static LoraLayer embeddingLayer(BaseModel base, LoraConfig c, ModuleNode m, int r, double alpha,
            double scaling, long seed, Ops keep) {
        if (c.loraBias()) {
            throw new LoraException("lora_bias=True is not supported for Embedding.");
        }
        if (c.useDora()) {
            throw new LoraException("DoRA on Embedding layers (" + m.path() + ") is not supported by lora4j yet");
        }
        int num = (int) m.weightShape()[0];
        int dim = (int) m.weightShape()[1];
        LoraInit.Init v = LoraInit.embedding(c.initLoraWeights(), r, num, dim, rng(seed, m.path()));
        NDArray a = keep.floats(v.a(), new Shape(r, num));
        NDArray b = keep.floats(v.b(), new Shape(dim, r));
        // PEFT never applies dropout to embedding adapters
        return new LoraLayer(m, r, alpha, scaling, 0, false, a, b, null, null);
    }

    private static void addLayerParams(List<Parameter> params, LoraLayer l, boolean trainable) {
        String k = PREFIX + l.key();
        if (l.isEmbedding()) {
            params.add(new Parameter(k + ".lora_embedding_A." + NAME, k + ".lora_embedding_A", l.a(), trainable));
            params.add(new Parameter(k + ".lora_embedding_B." + NAME, k + ".lora_embedding_B", l.b(), trainable));
            return;
        }
        params.add(new Parameter(k + ".lora_A." + NAME + ".weight", k + ".lora_A.weight", l.a(), trainable));
        params.add(new Parameter(k + ".lora_B." + NAME + ".weight", k + ".lora_B.weight", l.b(), trainable));
        if (l.bBias() != null) {
            params.add(new Parameter(k + ".lora_B." + NAME + ".bias", k + ".lora_B.bias", l.bBias(), trainable));
        }
        if (l.magnitude() != null) {
            params.add(new Parameter(k + ".lora_magnitude_vector." + NAME + ".weight", k + ".lora_magnitude_vector",
                    l.magnitude(), trainable));
        }
    }

    /**
     * PEFT's {@code ModulesToSaveWrapper}: every module whose key ends with a listed name (plain suffix, no dot
     * boundary, as PEFT: "classifier" also wraps "pre_classifier") gets a trainable copy of all its parameters, a
     * tied weight included (a tied {@code lm_head} gets a copy of its own, as PEFT's {@code deepcopy} does). With
     * {@code ensure_weight_tying} the modules in {@code modulesToTie} share the input embeddings' copy instead
     * ({@code ModulesToSaveWrapper.update(tied_module=...)}), and are saved under their own key as well.
     */
    private static List<String> wrapModulesToSave(BaseModel base, LoraConfig c, Ops keep,
            Map<String, NDArray> overrides, List<Parameter> params, boolean trainable, List<String> modulesToTie,
            Map<String, String> savedAliases) {
        List<String> wrapped = new ArrayList<>(modulesToSave(base.tree(), c));
        List<String> names = new ArrayList<>(base.weights().keySet());
        names.addAll(base.architecture().aliases().keySet());
        for (String path : wrapped) {
            for (String w : names) {
                if (!w.startsWith(path + ".")) {
                    continue;
                }
                NDArray source = overrides.containsKey(w) ? overrides.get(w) : base.weight(w);
                NDArray copy = master(keep, source);
                copy.setName(w);
                overrides.put(w, copy);
                String p = w.substring(path.length() + 1);
                params.add(new Parameter(PREFIX + path + ".modules_to_save." + NAME + "." + p, PREFIX + w, copy,
                        trainable));
            }
        }
        if (!modulesToTie.isEmpty()) {
            String embeddingWeight = inputEmbedding(base) + ".weight";
            NDArray shared = overrides.get(embeddingWeight);
            for (ModuleNode n : base.tree().nodes()) {
                String tiedWeight = n.path() + ".weight";
                if (shared == null || wrapped.contains(n.path())
                        || modulesToTie.stream().noneMatch(t -> n.path().endsWith(t))) {
                    continue;
                }
                overrides.put(tiedWeight, shared);
                savedAliases.put(PREFIX + tiedWeight, PREFIX + embeddingWeight);
                wrapped.add(n.path());
            }
        }
        return wrapped;
    }

    /** The modules PEFT's {@code modules_to_save} wraps: every key ending with a listed name, in listing order. */
    private static Set<String> modulesToSave(ModuleTree tree, LoraConfig c) {
        Set<String> wrapped = new LinkedHashSet<>();
        for (String name : new LinkedHashSet<>(c.modulesToSave().orElse(List.of()))) {
            for (ModuleNode n : tree.nodes()) {
                if (n.path().endsWith(name)) {
                    wrapped.add(n.path());
                }
            }
        }
        return wrapped;
    }

    /** Whether the base parameter {@code name} is a bias that {@code bias} trains ({@code loraModule}: wrapped). */
    private static boolean trainableBias(String name, Bias bias, java.util.function.Predicate<String> loraModule) {
        if (bias == Bias.NONE || !(name.equals("bias") || name.endsWith(".bias"))) {
            return false;
        }
        String module = name.endsWith(".bias") ? name.substring(0, name.length() - 5) : "";
        return bias == Bias.ALL || loraModule.test(module);
    }

    /** {@code bias="all"}: every base bias; {@code "lora_only"}: the biases of LoRA-wrapped layers (spec 5.7). */
    private static void addTrainableBiases(BaseModel base, Bias bias, Map<String, LoraLayer> layers, Ops keep,
            Map<String, NDArray> overrides, List<Parameter> params, boolean trainable) {
        if (bias == Bias.NONE) {
            return;
        }
        for (Map.Entry<String, NDArray> w : base.weights().entrySet()) {
            String name = w.getKey();
            if (!trainableBias(name, bias, layers::containsKey) || overrides.containsKey(name)) {
                continue;
            }
            String module = name.endsWith(".bias") ? name.substring(0, name.length() - 5) : "";
            boolean wrapped = layers.containsKey(module);
            NDArray copy = master(keep, w.getValue());
            copy.setName(name);
            overrides.put(name, copy);
            String key = PREFIX + (wrapped ? module + ".base_layer.bias" : name);
            params.add(new Parameter(key, key, copy, trainable));
        }
    }

    /**
     * A trainable copy of a base tensor: float32 whatever the base's dtype, as mixed-precision training keeps its
     * master weights (fp16 updates would round small steps away, and PyTorch's GradScaler refuses fp16 gradients).
     */
    private static NDArray master(Ops keep, NDArray w) {
        DataType t = w.getDataType();
        return t.isFloating() && t != DataType.FLOAT32 && t != DataType.FLOAT64 ? keep.toType(w, DataType.FLOAT32)
                : keep.copy(w);
    }

    // ------------------------------------------------------------------ Adaptation

    @Override
    public NDArray override(String name) {
        return overrides.get(name);
    }

    @Override
    public NDArray linear(Forward f, ModuleNode module, NDArray x, NDArray baseOut, NDArray weight, NDArray bias) {
        LoraLayer l = layers.get(module.path());
        return l == null ? baseOut : l.linear(f, x, baseOut, weight, bias);
    }

    @Override
    public NDArray embedding(Forward f, ModuleNode module, NDArray ids, NDArray baseOut) {
        LoraLayer l = layers.get(module.path());
        return l == null ? baseOut : l.embedding(f, ids, baseOut);
    }

    // ------------------------------------------------------------------ accessors

    public BaseModel base() {
        return base;
    }

    /** The config as PEFT would save it: targets resolved, task heads in modules_to_save, fan_in_fan_out fixed. */
    public LoraConfig config() {
        return config;
    }

    /**
     * A {@code SEQ_CLS} adapter's label names in class-id order: what its classifier was trained to tell apart.
     * Saved with it ({@code config.json}'s {@code id2label}, see {@link PeftAdapters#write}); empty when unknown.
     */
    public List<String> labelNames() {
        return labelNames;
    }

    /** Names the classes (from the training data, or from a saved adapter); empty for none. */
    public void useLabelNames(List<String> names) {
        this.labelNames = List.copyOf(names);
    }

    public Map<String, LoraLayer> layers() {
        return layers;
    }

    /** Base parameters this trial replaces (trainable copies, residual weights), by base name. */
    public Map<String, NDArray> overrides() {
        return overrides;
    }

    public List<Parameter> parameters() {
        return parameters;
    }

    public List<Parameter> trainableParameters() {
        return parameters.stream().filter(Parameter::trainable).toList();
    }

    /**
     * Saved keys that hold the same tensor as another saved key (a tied {@code lm_head} with
     * {@code ensure_weight_tying}): alias to the key of the tensor's {@link Parameter}.
     */
    public Map<String, String> savedAliases() {
        return savedAliases;
    }

    /**
     * Replaces base parameter {@code name} (and what is tied to it) with {@code value} for this adapter only, frozen
     * and never saved: what PEFT's {@code load_state_dict} does with a full tensor in an adapter file that names a
     * base parameter (the embeddings {@code save_embedding_layers} writes).
     */
    void replaceBaseWeight(String name, NDArray value) {
        NDArray shared = base.weight(name);
        try (GradMode g = GradMode.off()) {
            Ops keep = Ops.into(manager);
            NDArray own = value.getDataType() == shared.getDataType() ? keep.copy(value)
                    : keep.toType(value, shared.getDataType());
            own.setName(base.architecture().aliases().getOrDefault(name, name));
            putShared(base, ownOverrides, name, own);
        }
    }

    /** Keys of the modules wrapped for {@code modules_to_save}. */
    public List<String> modulesToSave() {
        return modulesToSave;
    }

    public List<String> warnings() {
        return warnings;
    }

    public NDManager manager() {
        return manager;
    }

    public long trainableCount() {
        return parameters.stream().filter(Parameter::trainable).mapToLong(Parameter::size).sum();
    }

    /** All parameters of the PEFT model: the base, the adapter's, and the modules_to_save copies. */
    public long allCount() {
        long extra = 0;
        for (Parameter p : parameters) {
            if (!p.name().endsWith(".base_layer.bias") && !(config.bias().equals("all") && p.name().endsWith(".bias")
                    && !p.name().contains(".lora_") && !p.name().contains(".modules_to_save."))) {
                extra += p.size();
            }
        }
        return base.parameterCount() + extra;
    }

    /** PEFT's {@code print_trainable_parameters} line. */
    public String trainableReport() {
        long t = trainableCount();
        long all = allCount();
        return String.format(Locale.ROOT, "trainable params: %,d || all params: %,d || trainable%%: %.4f", t, all,
                100.0 * t / all);
    }

    /** A host copy of every saved tensor, for checkpoints written off the training thread. */
    public AdapterSnapshot snapshot() {
        Map<String, HostTensor> t = new LinkedHashMap<>();
        // a cast called on a parameter would add a copy to the adapter's manager at every snapshot
        try (GradMode g = GradMode.off(); Ops cast = Ops.scope(manager)) {
            for (Parameter p : parameters) {
                if (p.savedKey() != null) {
                    NDArray v = p.tensor();
                    float[] data = cast.toType(v, DataType.FLOAT32).toFloatArray();
                    t.put(p.savedKey(), new HostTensor(v.getShape().getShape(), data));
                }
            }
        }
        // PEFT saves a tied copy under each module's key (safetensors gets a clone per name)
        savedAliases.forEach((alias, key) -> t.put(alias, t.get(key)));
        LoraConfig c = config;
        if (c.baseModelNameOrPath().isEmpty() && base.folder().isPresent()) {
            c = c.toBuilder().baseModelNameOrPath(base.folder().get().toString()).build();
        }
        List<String> names = labelNames;
        return new AdapterSnapshot(c, t, trainableReport(), names.isEmpty() ? null
                : LabelNames.savedConfig(base, names));
    }

    /** Overwrites the adapter's tensors with saved values (a checkpoint, the best step); shapes must match. */
    public void restore(Map<String, HostTensor> bySavedKey) {
        try (GradMode g = GradMode.off(); Ops ops = Ops.scope(manager)) {
            for (Parameter p : parameters) {
                HostTensor h = bySavedKey.get(p.savedKey());
                if (h == null) {
                    continue;
                }
                if (!java.util.Arrays.equals(h.shape(), p.tensor().getShape().getShape())) {
                    throw new LoraException("cannot restore " + p.savedKey() + ": saved shape "
                            + java.util.Arrays.toString(h.shape()) + ", adapter has " + p.tensor().getShape());
                }
                NDArray v = ops.toType(ops.floats(h.data(), new Shape(h.shape())), p.tensor().getDataType());
                Ops.assign(p.tensor(), v);
            }
        }
    }

    public Set<String> keys() {
        return layers.keySet();
    }

    @Override
    public void close() {
        manager.close();
    }
}
