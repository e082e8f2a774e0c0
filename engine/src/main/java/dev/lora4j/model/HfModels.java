package dev.lora4j.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.config.TaskType;
import dev.lora4j.run.ModelSpec;
import dev.lora4j.run.Precision;
import dev.lora4j.runtime.Ops;
import dev.lora4j.runtime.Torch;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Collectors;

/** Reads Hugging Face model folders ({@code config.json} + safetensors) into a {@link BaseModel} on a device. */
public final class HfModels {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(HfModels.class);

    /** The {@code model_type}s lora4j implements. */
    public static final List<String> SUPPORTED = List.of("llama", "mistral", "qwen2", "qwen3", "phi3", "gemma",
            "gemma2", "gpt2", "gpt_neox", "bert", "roberta");

    private HfModels() {}

    /** How to load: device, compute dtype, task head. */
    public record Options(Device device, DataType dataType, TaskType task) {
        public static Options cpu() {
            return new Options(Device.cpu(), DataType.FLOAT32, null);
        }

        public Options withTask(TaskType t) {
            return new Options(device, dataType, t);
        }

        public Options withDevice(Device d) {
            return new Options(d, dataType, task);
        }

        public Options withDataType(DataType t) {
            return new Options(device, t, task);
        }
    }

    /**
     * Parameters a checkpoint lacks (a new classifier, the pooler of a sentence-transformers export) are initialised
     * as transformers does, but from this fixed seed: a base is shared by every trial on a device and reloaded for
     * evaluation, so its initial values must not depend on which trial loaded it or when.
     */
    static final long INIT_SEED = 0;

    /** The folder of a run's model: the path, or the imported folder of a {@code builtin:NAME}. */
    public static Path folderOf(ModelSpec spec) {
        return spec.isBuiltin() ? Builtins.resolve(spec.text()) : spec.path();
    }

    /**
     * The compute dtype for a training precision on a device. DJL 0.36's PyTorch engine cannot hold bfloat16 arrays
     * (creating one aborts the JVM), so bf16 is refused with advice; fp16 needs a GPU.
     */
    public static DataType dataTypeOf(Precision precision, Device device) {
        return switch (precision) {
            case FP32 -> DataType.FLOAT32;
            case FP16 -> {
                if (!device.isGpu()) {
                    throw new ModelException("precision fp16 needs a GPU (CPU kernels for fp16 are slow or missing);"
                            + " use fp32 on the CPU");
                }
                yield DataType.FLOAT16;
            }
            case BF16 -> throw new ModelException("precision bf16 is not available: DJL 0.36's PyTorch engine has no"
                    + " bfloat16 arrays; use fp16 on a GPU, or fp32");
        };
    }

    /** Loads a run's base model (a folder or a builtin) for its task, device and precision. */
    public static BaseModel load(ModelSpec spec, TaskType task, Device device, Precision precision) {
        return load(folderOf(spec), new Options(device, dataTypeOf(precision, device), task));
    }

    public static BaseModel load(Path folder) {
        return load(folder, Options.cpu());
    }

    public static BaseModel load(Path folder, Options options) {
        Torch.engine();
        HfConfig config;
        try {
            config = HfConfig.read(folder);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try (WeightSource source = WeightSources.open(folder)) {
            return load(folder, config, source, options);
        } catch (IOException e) {
            throw new UncheckedIOException(folder + ": " + e.getMessage(), e);
        }
    }

    /** The architecture for a config and task, checking the task is one this family supports. */
    public static Architecture architecture(HfConfig config, TaskType task, Set<String> checkpointNames) {
        String type = config.modelType();
        if (task == null && savedAsClassifier(config)) {
            // a folder saved by a *ForSequenceClassification (a merged SEQ_CLS adapter) is that classifier
            task = TaskType.SEQ_CLS;
        }
        switch (type) {
            case "llama", "mistral", "qwen2", "qwen3", "phi3", "gemma", "gemma2", "gpt2", "gpt_neox" -> {
                TaskType t = task == null ? TaskType.CAUSAL_LM : task;
                if (t != TaskType.CAUSAL_LM && t != TaskType.SEQ_CLS) {
                    throw new ModelException(config.source() + ": task " + t + " is not supported for " + type
                            + " (supported: CAUSAL_LM, SEQ_CLS)");
                }
                boolean hasLmHead = checkpointNames.contains("lm_head.weight");
                return switch (type) {
                    case "gemma", "gemma2" -> new Gemma(config, t, hasLmHead);
                    case "gpt2" -> new Gpt2(config, t, hasLmHead);
                    case "gpt_neox" -> new GptNeoX(config, t, checkpointNames.contains("embed_out.weight"));
                    default -> new Llama(config, t, hasLmHead);
                };
            }
            case "bert", "roberta" -> {
                if (task != null && task != TaskType.SEQ_CLS && task != TaskType.FEATURE_EXTRACTION) {
                    throw new ModelException(config.source() + ": task " + task + " is not supported for " + type
                            + " (supported: SEQ_CLS, FEATURE_EXTRACTION)");
                }
                return new Bert(config, task == null ? TaskType.FEATURE_EXTRACTION : task);
            }
            default -> throw new ModelException(config.source() + ": model_type '" + type
                    + "' is not supported (supported: " + String.join(", ", SUPPORTED) + ")");
        }
    }

    /** Whether {@code config.json}'s {@code architectures} names a sequence classifier, as transformers saves one. */
    static boolean savedAsClassifier(HfConfig config) {
        return config.get("architectures").filter(JsonNode::isArray)
                .map(a -> a.size() > 0 && a.get(0).asText("").endsWith("ForSequenceClassification")).orElse(false);
    }

    static BaseModel load(Path folder, HfConfig config, WeightSource source, Options options) {
        Set<String> names = new HashSet<>(source.names());
        Architecture arch = architecture(config, options.task(), names);
        Map<String, String> fileNames = new LinkedHashMap<>();
        List<String> missing = new ArrayList<>();
        List<String> heads = new ArrayList<>();
        for (String p : arch.parameters().keySet()) {
            String found = find(p, names);
            if (found != null) {
                fileNames.put(p, found);
            } else if (isHead(p)) {
                heads.add(p);
            } else {
                missing.add(p);
            }
        }
        if (!missing.isEmpty()) {
            throw new ModelException(source.describe() + ": " + missing.size() + " tensor(s) that "
                    + arch.describe() + " needs are missing: " + sample(missing) + "; the file has "
                    + names.size() + " tensors, e.g. " + sample(source.names()));
        }
        NDManager manager = Torch.newManager(options.device());
        try (Ops check = Ops.scope(manager)) {
            Map<String, NDArray> weights = new LinkedHashMap<>();
            for (Map.Entry<String, long[]> p : arch.parameters().entrySet()) {
                String file = fileNames.get(p.getKey());
                NDArray w;
                if (file != null) {
                    long[] stored = source.shape(file);
                    if (!Arrays.equals(stored, p.getValue())) {
                        throw new ModelException(source.describe() + ": tensor " + file + " has shape "
                                + Arrays.toString(stored) + ", " + arch.describe() + " expects "
                                + Arrays.toString(p.getValue()));
                    }
                    w = source.load(manager, file, options.dataType());
                    String bad;
                    try (Ops t = check.child()) {
                        bad = t.nonFinite(w);
                    }
                    if (bad != null) {
                        // found here rather than as a diverged loss that blames the learning rate
                        boolean narrowed = options.dataType() == DataType.FLOAT16 && !"F16".equals(source.dtype(file))
                                && bad.startsWith("inf");
                        throw new ModelException(source.fileOf(file) + ": tensor " + file + " holds " + bad
                                + (narrowed ? " once converted to float16 (values beyond +-65504, or infinite in the "
                                        + "file); train with precision fp32"
                                        : "; the checkpoint is damaged (or was saved after training diverged): "
                                                + "lora4j needs finite base weights"));
                    }
                } else {
                    w = initialiseHead(manager, p.getKey(), p.getValue(), config, options.dataType());
                }
                w.setName(p.getKey());
                weights.put(p.getKey(), w);
            }
            if (!heads.isEmpty()) {
                LOG.info("{}: initialised {} (not in the checkpoint), as transformers does for a new head",
                        folder, heads);
            }
            List<String> warnings = new ArrayList<>();
            unusedTensors(folder, config, arch, source.names(), names, fileNames.values()).ifPresent(warnings::add);
            return new BaseModel(config, arch, manager, weights, folder, heads, warnings);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * transformers' warning for checkpoint tensors the model does not use ({@code _load_pretrained_model}: "Some
     * weights of the model checkpoint at X were not used when initializing Y: [...]"), with the list cut short.
     * transformers only warns when the model's class is one the config's {@code architectures} names (a causal LM's
     * {@code lm_head} is expected to go unused by a classifier); lora4j warns too whenever a tensor outside a task
     * head goes unused (a {@code num_hidden_layers} smaller than the checkpoint's), whatever the class. Buffers that
     * old checkpoints carry ({@code position_ids}, {@code rotary_emb.inv_freq}) are not weights and are skipped, as
     * transformers skips the model's buffers.
     */
    static java.util.Optional<String> unusedTensors(Path folder, HfConfig config, Architecture arch,
            List<String> fileOrder, Set<String> names, java.util.Collection<String> used) {
        Set<String> consumed = new HashSet<>(used);
        for (String alias : arch.aliases().keySet()) {
            String found = find(alias, names);
            if (found != null) {
                // a tied copy in the file is the weight it is tied to (transformers loads it, then ties again)
                consumed.add(found);
            }
        }
        List<String> unused = new ArrayList<>();
        for (String n : fileOrder) {
            if (!consumed.contains(n) && !isBuffer(n)) {
                unused.add(n);
            }
        }
        if (unused.isEmpty()) {
            return java.util.Optional.empty();
        }
        String cls = arch.className();
        boolean named = config.get("architectures").map(a -> {
            for (com.fasterxml.jackson.databind.JsonNode e : a) {
                if (cls.equals(e.asText())) {
                    return true;
                }
            }
            return false;
        }).orElse(false);
        String message = "Some weights of the model checkpoint at " + folder + " were not used when initializing "
                + cls + ": " + pythonList(unused, 10) + "; this IS expected if the checkpoint is of another task"
                + " or architecture, NOT if it should be this very model (check config.json against the"
                + " checkpoint)";
        if (!named && unused.stream().allMatch(HfModels::isOtherHead)) {
            LOG.info(message);
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(message);
    }

    /** Non-persistent buffers that older checkpoints saved: not weights, and unused by design. */
    private static boolean isBuffer(String n) {
        // GPT-2's and older GPT-NeoX checkpoints' causal-mask buffers: attn.bias, attn.masked_bias,
        // attention.bias, attention.masked_bias
        return n.endsWith(".position_ids") || n.endsWith("embeddings.token_type_ids")
                || n.endsWith("rotary_emb.inv_freq") || n.matches(".*\\.(attn|attention)\\.(masked_)?bias");
    }

    /** A tensor of a task head or pooler, which a model built for another task leaves alone. */
    private static boolean isOtherHead(String n) {
        String bare = n.replaceFirst("^(bert|roberta|model|transformer|gpt_neox)\\.", "");
        return bare.contains("pooler.") || bare.startsWith("lm_head.") || bare.startsWith("embed_out.")
                || bare.startsWith("cls.")
                || bare.startsWith("score.") || bare.startsWith("classifier.") || bare.startsWith("qa_outputs.");
    }

    /** Python's repr of a list of strings, cut to {@code limit} entries: {@code ['a', 'b', ... (12 more)]}. */
    public static String pythonList(List<String> items, int limit) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < Math.min(limit, items.size()); i++) {
            sb.append(i == 0 ? "" : ", ").append('\'').append(items.get(i)).append('\'');
        }
        if (items.size() > limit) {
            sb.append(", ... (").append(items.size() - limit).append(" more)");
        }
        return sb.append(']').toString();
    }

    /** The file's name for parameter {@code p}, allowing for a checkpoint saved with or without the task prefix. */
    private static String find(String p, Set<String> names) {
        if (names.contains(p)) {
            return p;
        }
        // GPT-2 checkpoints (the original gpt2) are saved by GPT2Model, without the transformer. prefix
        for (String family : new String[] {"bert.", "roberta.", "transformer.", "gpt_neox."}) {
            if (p.startsWith(family) && names.contains(p.substring(family.length()))) {
                return p.substring(family.length());
            }
            if (!p.startsWith(family) && names.contains(family + p)) {
                return family + p;
            }
        }
        if (p.startsWith("model.") && names.contains(p.substring(6))) {
            return p.substring(6);
        }
        return null;
    }

    private static boolean isHead(String p) {
        return p.startsWith("classifier.") || p.startsWith("score.") || p.contains("pooler.");
    }

    /** transformers' {@code _init_weights}: normal(0, initializer_range) weights, zero biases; seeded. */
    private static NDArray initialiseHead(NDManager manager, String name, long[] shape, HfConfig config,
            DataType type) {
        long count = 1;
        for (long d : shape) {
            count = d > 0 && count > Long.MAX_VALUE / d ? Long.MAX_VALUE : count * d;
        }
        if (count > Integer.MAX_VALUE - 8) {
            throw new ModelException(config.source() + ": the new " + name + " would be " + Arrays.toString(shape)
                    + " (" + count + " values), more than lora4j can hold in one tensor; check num_labels and "
                    + "id2label");
        }
        int n = (int) count;
        float[] v = new float[n];
        if (name.endsWith(".weight")) {
            double std = config.doubleOr("initializer_range", 0.02);
            SplittableRandom rng = new SplittableRandom(INIT_SEED ^ name.hashCode());
            for (int i = 0; i < n; i++) {
                v[i] = (float) (rng.nextGaussian() * std);
            }
        }
        NDArray blob = manager.create(v, new Shape(shape));
        NDArray owned = blob.duplicate();
        blob.close();
        if (owned.getDataType() == type) {
            return owned;
        }
        // the float32 staging copy must not stay in the base's manager next to the cast weight
        NDArray cast = owned.toType(type, false);
        owned.close();
        return cast;
    }

    private static String sample(List<String> items) {
        List<String> s = items.size() > 8 ? items.subList(0, 8) : items;
        return s.stream().collect(Collectors.joining(", ", "[", items.size() > 8 ? ", ...]" : "]"));
    }

    /** Whether {@code folder} looks like a Hugging Face model folder. */
    public static boolean isModelFolder(Path folder) {
        return Files.isRegularFile(folder.resolve("config.json"));
    }
}
