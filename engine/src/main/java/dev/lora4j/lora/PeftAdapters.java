package dev.lora4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.lora4j.config.ConfigException;
import dev.lora4j.config.Loaded;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.LoraConfigJson;
import dev.lora4j.files.AtomicFiles;
import dev.lora4j.model.BaseModel;
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
            throw new UncheckedIOException(weights + ": " + e.getMessage(), e);
        }
        return out;
    }

    private static String modelCard(AdapterSnapshot s) {
        LoraConfig c = s.config();
        return "---\nlibrary_name: peft\nbase_model: " + c.baseModelNameOrPath().orElse("unknown") + "\n---\n\n"
                + "# LoRA adapter\n\nTrained with lora4j (PEFT-compatible). " + c.summary() + "\n\n"
                + s.report() + "\n\nLoad in Python with `PeftModel.from_pretrained(base, path)`.\n";
    }

    /** Loads the adapter in {@code dir} onto {@code base}; frozen unless {@code trainable} (PEFT's is_trainable). */
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
        try (SafetensorsFile file = SafetensorsFile.open(weights); GradMode g = GradMode.off()) {
            Map<String, String> byKey = new LinkedHashMap<>();
            for (String n : file.names()) {
                byKey.put(n.startsWith(PREFIX) ? n : PREFIX + n, n);
            }
            Set<String> used = new LinkedHashSet<>();
            List<String> missing = new ArrayList<>();
            List<String> mismatches = new ArrayList<>();
            Map<Parameter, String> plan = new LinkedHashMap<>();
            for (Parameter p : adapter.parameters()) {
                String name = byKey.get(p.savedKey());
                if (name == null) {
                    if (p.name().contains("lora_")) {
                        missing.add(p.name());
                    }
                    continue;
                }
                used.add(name);
                long[] stored = file.info(name).shape();
                long[] expected = p.tensor().getShape().getShape();
                if (!Arrays.equals(stored, expected)) {
                    mismatches.add("size mismatch for " + p.name() + ": copying a param with shape "
                            + Arrays.toString(stored) + " from checkpoint, the shape in current model is "
                            + Arrays.toString(expected));
                } else {
                    plan.put(p, name);
                }
            }
            if (!mismatches.isEmpty()) {
                throw new LoraException(weights + " does not fit " + base.architecture().describe() + " with "
                        + loaded.value().summary() + ":\n  " + String.join("\n  ", mismatches));
            }
            try (NDManager tmp = Torch.engine().newBaseManager()) {
                for (Map.Entry<Parameter, String> e : plan.entrySet()) {
                    NDArray v = TensorLoader.load(tmp, file, e.getValue(), DataType.FLOAT32);
                    NDArray target = e.getKey().tensor();
                    Ops.assign(target, v.toType(target.getDataType(), false));
                }
            }
            if (!missing.isEmpty()) {
                warnings.add("Found missing adapter keys while loading the checkpoint: " + missing);
            }
            List<String> unexpected = file.names().stream().filter(n -> !used.contains(n)).toList();
            for (Parameter p : adapter.parameters()) {
                p.tensor().setRequiresGradient(trainable && p.trainable());
            }
            return new LoadedAdapter(adapter, warnings, unexpected);
        } catch (IOException e) {
            adapter.close();
            throw new UncheckedIOException(weights + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            adapter.close();
            throw e;
        }
    }

    /** The {@code adapter_config.json} of a folder (or the file itself), with PEFT-format advice when absent. */
    public static Path configFile(Path dirOrFile) {
        Path f = Files.isDirectory(dirOrFile) ? dirOrFile.resolve(CONFIG) : dirOrFile;
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
            throw new UncheckedIOException(file + ": " + e.getMessage(), e);
        }
    }
}
