package dev.lora4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.config.ConfigException;
import dev.lora4j.config.JsonText;
import dev.lora4j.config.Loaded;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.LoraConfigJson;
import dev.lora4j.files.AtomicFiles;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.LabelNames;
import dev.lora4j.model.ModelException;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.runtime.Ops;
import dev.lora4j.runtime.Torch;
import dev.lora4j.safetensors.SafetensorsFile;
import dev.lora4j.safetensors.SafetensorsWriter;
import dev.lora4j.safetensors.TensorInfo;
import dev.lora4j.safetensors.TensorLoader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Adapters in PEFT's own format (spec 6): a folder with {@code adapter_config.json} and
 * {@code adapter_model.safetensors} whose keys are {@code base_model.model.<module>.lora_A.weight} and friends, so an
 * adapter trained here loads in Python with {@code PeftModel.from_pretrained} and back.
 */
public final class PeftAdapters {
    public static final String CONFIG = "adapter_config.json";
    public static final String WEIGHTS = "adapter_model.safetensors";
    public static final String PICKLE = "adapter_model.bin";
    /**
     * A classifier adapter's label names live in a transformers {@code config.json} beside the adapter files, as
     * {@code model.config.save_pretrained(dir)} writes it ({@code id2label}, {@code label2id}). Not in
     * {@code adapter_config.json}: PEFT drops keys {@code LoraConfig} does not have, with a warning to upgrade PEFT
     * ({@code PeftConfigMixin.from_peft_type}); and PEFT and transformers read an adapter folder's
     * {@code adapter_config.json} and weights only, so this file is invisible to them.
     */
    public static final String MODEL_CONFIG = "config.json";
    private static final String PREFIX = "base_model.model.";

    private PeftAdapters() {}

    /** An adapter read from disk, with PEFT's warnings (missing keys) and the file keys nothing used. */
    public record LoadedAdapter(Adapter adapter, List<String> warnings, List<String> unexpectedKeys) {}

    /**
     * Writes {@code adapter} into {@code dir} (created or replaced as a whole): the config as PEFT writes it
     * ({@code inference_mode: true}, sorted keys), the tensors under their saved keys, and a short model card. The
     * folder is assembled beside the target and renamed into place, so a crash leaves the old one or the new one.
     */
    public static void save(Adapter adapter, Path dir) {
        write(adapter.snapshot(), dir);
    }

    /** Writes a snapshot (see {@link #save}); safe to call from any thread. */
    public static void write(AdapterSnapshot snapshot, Path dir) {
        try {
            Path tmp = AtomicFiles.stagingFolder(dir);
            try {
                writeInto(snapshot, tmp);
                AtomicFiles.replaceFolder(tmp, dir);
            } finally {
                AtomicFiles.deleteRecursively(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write adapter to " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Writes the adapter files into an existing (temporary) folder; callers make the folder appear atomically. */
    public static void writeInto(AdapterSnapshot snapshot, Path folder) throws IOException {
        LoraConfigJson.write(snapshot.config(), folder.resolve(CONFIG));
        if (snapshot.modelConfig() != null) {
            // transformers' PretrainedConfig.to_json_file: sorted keys, 2-space indent, a final newline
            AtomicFiles.writeString(folder.resolve(MODEL_CONFIG),
                    JsonText.peft(snapshot.modelConfig()) + "\n");
        }
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
        for (Map.Entry<String, HostTensor> e : snapshot.tensors().entrySet()) {
            w.add(e.getKey(), e.getValue().shape(), e.getValue().data());
        }
        w.write(folder.resolve(WEIGHTS));
        Files.writeString(folder.resolve("README.md"), modelCard(snapshot), StandardCharsets.UTF_8);
    }

    /** The tensors of an adapter file by key, as float32 (a checkpoint to resume from). */
    public static Map<String, HostTensor> readTensors(Path dir) {
        Path weights = weightsFile(dir);
        Map<String, HostTensor> out = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(weights)) {
            for (String n : f.names()) {
                out.put(n.startsWith(PREFIX) ? n : PREFIX + n, new HostTensor(f.info(n).shape(), f.floats(n)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(withFile(weights, e), e);
        }
        return out;
    }

    private static String modelCard(AdapterSnapshot s) {
        LoraConfig c = s.config();
        return "---\nlibrary_name: peft\nbase_model: " + c.baseModelNameOrPath().orElse("unknown") + "\n---\n\n"
                + "# LoRA adapter\n\nTrained with lora4j (PEFT-compatible). " + c.summary() + "\n\n"
                + s.report() + "\n\n" + labelsNote(s) + "Load in Python with `PeftModel.from_pretrained(base, path)`.\n";
    }

    private static String labelsNote(AdapterSnapshot s) {
        if (s.modelConfig() == null || !s.modelConfig().has(LabelNames.ID2LABEL)) {
            return "";
        }
        List<String> names = new ArrayList<>();
        s.modelConfig().get(LabelNames.ID2LABEL).forEach(n -> names.add(n.asText()));
        return "Labels (class ids in order, `id2label` in `" + MODEL_CONFIG + "`): " + String.join(", ", names)
                + ". Give them to the base model: `AutoModelForSequenceClassification.from_pretrained(base,"
                + " id2label=AutoConfig.from_pretrained(path).id2label)`.\n\n";
    }

    /**
     * Loads the adapter in {@code dir} onto {@code base}; frozen unless {@code trainable} (PEFT's is_trainable). As
     * PEFT's {@code set_peft_model_state_dict}: the adapter's tensors (and {@code modules_to_save} copies, which must
     * be in the file) are loaded by key; a full tensor that names a base parameter replaces it for this adapter;
     * anything else in the file is an unexpected key, which lora4j warns about (PEFT returns them without a word).
     */
    public static LoadedAdapter load(BaseModel base, Path dir, boolean trainable) {
        Path configFile = configFile(dir);
        Path weights = weightsFile(configFile.getParent());
        Loaded<LoraConfig> loaded = LoraConfigJson.load(configFile);
        List<String> warnings = new ArrayList<>(loaded.warnings());
        Adapter adapter;
        try {
            adapter = Adapter.create(base, loaded.value(), 0);
        } catch (ConfigException e) {
            // a rank that cannot be allocated on this model: name the adapter's config file
            throw e.file().isPresent() ? e : e.withFile(configFile);
        }
        warnings.addAll(adapter.warnings());
        try (SafetensorsFile file = SafetensorsFile.open(weights); GradMode g = GradMode.off()) {
            Map<String, String> byKey = new LinkedHashMap<>();
            for (String n : file.names()) {
                byKey.put(n.startsWith(PREFIX) ? n : PREFIX + n, n);
            }
            Map<String, List<String>> aliasesOf = new LinkedHashMap<>();
            adapter.savedAliases().forEach((alias, key) -> aliasesOf.computeIfAbsent(key, k -> new ArrayList<>())
                    .add(alias));
            Set<String> used = new LinkedHashSet<>();
            List<String> missing = new ArrayList<>();
            List<String> missingCopies = new ArrayList<>();
            List<String> mismatches = new ArrayList<>();
            Map<Parameter, String> plan = new LinkedHashMap<>();
            for (Parameter p : adapter.parameters()) {
                List<String> keys = new ArrayList<>();
                keys.add(p.savedKey());
                keys.addAll(aliasesOf.getOrDefault(p.savedKey(), List.of()));
                String name = null;
                for (String k : keys) {
                    String n = byKey.get(k);
                    if (n == null) {
                        continue;
                    }
                    used.add(n);
                    long[] stored = file.info(n).shape();
                    long[] expected = p.tensor().getShape().getShape();
                    if (!Arrays.equals(stored, expected)) {
                        mismatches.add(sizeMismatch(p.name(), stored, expected));
                    } else if (name == null) {
                        name = n;
                    }
                }
                if (name != null) {
                    plan.put(p, name);
                } else if (p.name().contains(".modules_to_save.")) {
                    missingCopies.add(p.savedKey());
                } else if (p.name().contains("lora_") && keys.stream().noneMatch(byKey::containsKey)) {
                    missing.add(p.name());
                }
            }
            // full tensors that name a base parameter: PEFT's load_state_dict(strict=False) loads them into the base
            Map<String, String> intoBase = new LinkedHashMap<>();
            List<String> unexpected = new ArrayList<>();
            for (String n : file.names()) {
                if (used.contains(n)) {
                    continue;
                }
                String target = baseParameterOf(adapter, n.startsWith(PREFIX) ? n.substring(PREFIX.length()) : n);
                if (target == null) {
                    unexpected.add(n);
                    continue;
                }
                long[] stored = file.info(n).shape();
                long[] expected = base.weight(target).getShape().getShape();
                if (!Arrays.equals(stored, expected)) {
                    mismatches.add(sizeMismatch(PREFIX + target, stored, expected));
                } else {
                    intoBase.put(n, target);
                }
            }
            if (!mismatches.isEmpty()) {
                throw new LoraException(weights + " does not fit " + base.architecture().describe() + " with "
                        + loaded.value().summary() + ":\n  " + String.join("\n  ", mismatches));
            }
            if (!missingCopies.isEmpty()) {
                // PEFT's set_peft_model_state_dict fails with a KeyError on the first one
                throw new LoraException(weights + " has no " + String.join(", ", missingCopies) + ", which "
                        + configFile.getFileName() + " asks for (modules_to_save " + loaded.value().modulesToSave()
                        .orElse(List.of()) + "): the file is incomplete or belongs to another config");
            }
            try (NDManager tmp = Torch.engine().newBaseManager()) {
                for (Map.Entry<Parameter, String> e : plan.entrySet()) {
                    NDArray v = TensorLoader.load(tmp, file, e.getValue(), DataType.FLOAT32);
                    NDArray target = e.getKey().tensor();
                    Ops.assign(target, v.toType(target.getDataType(), false));
                }
                for (Map.Entry<String, String> e : intoBase.entrySet()) {
                    adapter.replaceBaseWeight(e.getValue(), TensorLoader.load(tmp, file, e.getKey(),
                            DataType.FLOAT32));
                }
            }
            if (!missing.isEmpty()) {
                warnings.add("Found missing adapter keys while loading the checkpoint: " + missing);
            }
            if (!unexpected.isEmpty()) {
                // transformers' PeftAdapterMixin.load_adapter says this; PEFT's from_pretrained says nothing
                warnings.add("Loading adapter weights from " + dir + " led to unexpected keys not found in the"
                        + " model: " + pythonList(unexpected, 10) + " (" + configFile.getFileName() + " does not"
                        + " target or save these modules; lora4j ignores these tensors, as PEFT does)");
            }
            for (Parameter p : adapter.parameters()) {
                p.tensor().setRequiresGradient(trainable && p.trainable());
            }
            List<String> names = labelNames(configFile.getParent()).orElse(List.of());
            int classes = base.architecture().numLabels();
            if (!names.isEmpty() && classes > 0 && names.size() != classes) {
                throw new LoraException(configFile.getParent().resolve(MODEL_CONFIG) + ": id2label names "
                        + names.size() + " labels " + names + " but the model's classifier has " + classes
                        + " classes (num_labels)");
            }
            adapter.useLabelNames(names);
            return new LoadedAdapter(adapter, warnings, unexpected);
        } catch (IOException e) {
            adapter.close();
            throw new UncheckedIOException(withFile(weights, e), e);
        } catch (RuntimeException e) {
            adapter.close();
            throw e;
        }
    }

    /**
     * The label names an adapter folder carries ({@link #MODEL_CONFIG}'s {@code id2label}).
     *
     * @param dirOrConfig the adapter folder, or its {@code adapter_config.json}
     * @return the names in class-id order; empty when the folder has no {@code config.json} (as PEFT writes
     *     adapters) or it names no labels
     * @throws dev.lora4j.model.ModelException if that file is not valid JSON or its {@code id2label} is malformed
     */
    public static Optional<List<String>> labelNames(Path dirOrConfig) {
        Path dir = Files.isDirectory(dirOrConfig) ? dirOrConfig : dirOrConfig.toAbsolutePath().getParent();
        Path f = dir.resolve(MODEL_CONFIG);
        if (!Files.isRegularFile(f)) {
            return Optional.empty();
        }
        JsonNode tree;
        try {
            tree = new ObjectMapper().readTree(f.toFile());
        } catch (JsonProcessingException e) {
            throw new ModelException(f + ": not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new UncheckedIOException(f + ": " + e.getMessage(), e);
        }
        if (tree == null || !tree.isObject()) {
            throw new ModelException(f + ": expected a JSON object (a transformers config.json)");
        }
        return LabelNames.of(tree, f.toString());
    }

    private static String sizeMismatch(String name, long[] stored, long[] expected) {
        return "size mismatch for " + name + ": copying a param with shape " + Arrays.toString(stored)
                + " from checkpoint, the shape in current model is " + Arrays.toString(expected);
    }

    /**
     * The base parameter a saved key names in a PEFT model, if any: {@code K.base_layer.P} for a module the adapter
     * wraps with LoRA, {@code K.P} for one it does not wrap at all.
     */
    private static String baseParameterOf(Adapter adapter, String key) {
        BaseModel base = adapter.base();
        int i = key.indexOf(".base_layer.");
        if (i > 0) {
            String plain = key.substring(0, i) + key.substring(i + ".base_layer".length());
            return adapter.layers().containsKey(key.substring(0, i)) && base.weightOrNull(plain) != null ? plain
                    : null;
        }
        int dot = key.lastIndexOf('.');
        String module = dot < 0 ? "" : key.substring(0, dot);
        boolean wrapped = adapter.layers().containsKey(module) || adapter.modulesToSave().stream()
                .anyMatch(m -> module.equals(m) || module.startsWith(m + "."));
        return !wrapped && base.weightOrNull(key) != null ? key : null;
    }

    /** Python's repr of a list of strings, cut to {@code limit} entries (as transformers prints key lists). */
    public static String pythonList(List<String> items, int limit) {
        return dev.lora4j.model.HfModels.pythonList(items, limit);
    }

    /** An I/O error's message, naming the file once (a format error already starts with it). */
    static String withFile(Path file, IOException e) {
        String m = String.valueOf(e.getMessage());
        return m.startsWith(file.toString()) ? m : file + ": " + m;
    }

    /** The {@code adapter_config.json} of a folder (or the file itself), with PEFT-format advice when absent. */
    public static Path configFile(Path dirOrFile) {
        Path f = Files.isDirectory(dirOrFile) ? dirOrFile.resolve(CONFIG) : dirOrFile;
        if (!Files.exists(dirOrFile) && Files.isSymbolicLink(dirOrFile)) {
            throw new LoraException(dirOrFile + ": a symbolic link that leads to no folder (a loop of links, or its"
                    + " target is missing)");
        }
        if (!Files.isRegularFile(f)) {
            throw new LoraException(dirOrFile + ": no " + CONFIG + " (expected a PEFT adapter folder with "
                    + CONFIG + " and " + WEIGHTS + ")");
        }
        return f;
    }

    /** The safetensors file next to a config; an old pickle gets advice on converting it. */
    public static Path weightsFile(Path dir) {
        Path f = dir.resolve(WEIGHTS);
        if (Files.isRegularFile(f)) {
            return f;
        }
        if (Files.isRegularFile(dir.resolve(PICKLE))) {
            throw new LoraException(dir.resolve(PICKLE) + " is a PyTorch pickle, which lora4j does not read (it can"
                    + " run code). Convert it once in Python: `import torch; from safetensors.torch import"
                    + " save_file; save_file(torch.load('" + PICKLE + "'), '" + WEIGHTS + "')`, or re-save with"
                    + " `model.save_pretrained(dir, safe_serialization=True)`.");
        }
        throw new LoraException(dir + ": no " + WEIGHTS + " next to " + CONFIG);
    }

    /** What a PEFT adapter file holds, read without its base model: one entry per adapted module. */
    public record ModuleSummary(String module, int rank, long in, long out, String dtype, boolean dora,
            boolean loraBias, boolean embedding) {}

    /** Every module with LoRA tensors, the modules_to_save/bias keys, and everything else in the file. */
    public record Summary(Path file, List<ModuleSummary> modules, List<String> fullTensors, List<String> other) {
        public Set<Integer> ranks() {
            Set<Integer> r = new LinkedHashSet<>();
            modules.forEach(m -> r.add(m.rank()));
            return r;
        }
    }

    /** Reads the keys and shapes of an {@code adapter_model.safetensors} (or the folder holding one). */
    public static Summary inspect(Path dirOrFile) {
        Path file = Files.isDirectory(dirOrFile) ? weightsFile(dirOrFile) : dirOrFile;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Map<String, Map<String, TensorInfo>> byModule = new LinkedHashMap<>();
            List<String> full = new ArrayList<>();
            List<String> other = new ArrayList<>();
            for (String n : f.names()) {
                String key = n.startsWith(PREFIX) ? n.substring(PREFIX.length()) : n;
                int i = key.indexOf(".lora_");
                if (i > 0) {
                    byModule.computeIfAbsent(key.substring(0, i), k -> new LinkedHashMap<>())
                            .put(key.substring(i + 1), f.info(n));
                } else if (key.endsWith(".weight") || key.endsWith(".bias")) {
                    full.add(n);
                } else {
                    other.add(n);
                }
            }
            List<ModuleSummary> modules = new ArrayList<>();
            for (Map.Entry<String, Map<String, TensorInfo>> e : byModule.entrySet()) {
                Map<String, TensorInfo> t = e.getValue();
                TensorInfo a = t.getOrDefault("lora_A.weight", t.get("lora_embedding_A"));
                TensorInfo b = t.getOrDefault("lora_B.weight", t.get("lora_embedding_B"));
                if (a == null || b == null) {
                    other.addAll(t.keySet().stream().map(k -> e.getKey() + "." + k).toList());
                    continue;
                }
                boolean emb = t.containsKey("lora_embedding_A");
                modules.add(new ModuleSummary(e.getKey(), (int) a.shape()[0], a.shape()[1], b.shape()[0],
                        a.dtype().name(), t.containsKey("lora_magnitude_vector"), t.containsKey("lora_B.bias"),
                        emb));
            }
            return new Summary(file, modules, full, other);
        } catch (IOException e) {
            throw new UncheckedIOException(withFile(file, e), e);
        }
    }
}
