package dev.lora4j.lora;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.files.AtomicFiles;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.LabelNames;
import dev.lora4j.safetensors.SafetensorsCheckpoint;
import dev.lora4j.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * PEFT's {@code merge_and_unload} followed by {@code save_pretrained}: the adapter merged into a copy of the base and
 * written as a plain Hugging Face folder (config.json, model.safetensors, the tokenizer files) that any
 * transformers-compatible tool, and lora4j's {@code eval}, reads without PEFT.
 *
 * <p>A merge never overwrites what a user owns: it never writes into its base model's folder (or one that contains
 * it or lies inside it), and it writes into a new or empty folder unless forced, and then it replaces only the files
 * it writes ({@link #CONFIG}, {@link #WEIGHTS} and the base's {@link #TOKENIZER_FILES}), keeping the rest. Everything
 * is assembled in a hidden folder first: a merge that fails leaves the output folder as it was.
 */
public final class MergedModels {
    /** The merged model's config: the base's, with the merged dtype. */
    public static final String CONFIG = "config.json";
    /** The merged weights, one file. */
    public static final String WEIGHTS = SafetensorsCheckpoint.SINGLE_FILE;
    /** The base folder's tokenizer (and generation) files, copied when the base has them. */
    public static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "tokenizer.model", "vocab.txt", "merges.txt", "vocab.json",
            "generation_config.json");

    private MergedModels() {}

    /** How two folders lie: one is the other, inside it, contains it, or neither. */
    enum Overlap {
        SAME("is"), INSIDE("is inside"), CONTAINS("contains"), NONE("");

        final String words;

        Overlap(String words) {
            this.words = words;
        }
    }

    /**
     * Checks, before anything is loaded, that a merge may write {@code out}: a folder that can be created or written,
     * that is not, does not contain and does not lie inside {@code model}'s folder or {@code adapter}'s, and that is
     * new or empty (or, with {@code force}, that holds no sharded model whose index loaders would read instead of
     * the merged weights). Paths are compared after resolving symbolic links (and by file identity, so a bind mount
     * of the model folder is recognised too).
     *
     * @param model the base model's folder, or null if it has none
     * @param adapter the adapter's folder (or its adapter_config.json), or null
     * @param out the folder to write
     * @param force whether a non-empty {@code out} may have the files a merge writes replaced
     * @param outLabel what the user calls {@code out} in messages ({@code --out})
     * @param forceLabel what the user passes to force ({@code --force})
     * @throws IllegalArgumentException in one line naming {@code outLabel} and what is allowed
     */
    public static void checkOut(Path model, Path adapter, Path out, boolean force, String outLabel,
            String forceLabel) {
        AtomicFiles.requireWritableFolder(out, outLabel);
        if (model != null) {
            Overlap o = overlap(out, model);
            if (o != Overlap.NONE) {
                throw new IllegalArgumentException(outLabel + " " + out + " " + o.words + " the model folder " + model
                        + ": a merge never writes into its base model's folder; choose another " + outLabel);
            }
        }
        if (adapter != null) {
            Path folder = Files.isRegularFile(adapter) ? adapter.toAbsolutePath().getParent() : adapter;
            Overlap o = overlap(out, folder);
            if (o != Overlap.NONE) {
                throw new IllegalArgumentException(outLabel + " " + out + " " + o.words + " the adapter folder "
                        + folder + ": a merge never writes into the adapter it reads; choose another " + outLabel);
            }
        }
        List<String> held = entries(out);
        if (held.isEmpty()) {
            return;
        }
        if (!force) {
            throw new IllegalArgumentException(outLabel + " " + out + " is not empty (" + describe(held)
                    + "): a merge writes into a new or empty folder; choose another " + outLabel + ", or pass "
                    + forceLabel + " to replace the files a merge writes (" + CONFIG + ", " + WEIGHTS
                    + ", the tokenizer files) and keep the rest");
        }
        for (String f : written()) {
            if (held.contains(f) && Files.isDirectory(out.resolve(f))) {
                throw new IllegalArgumentException(outLabel + " " + out + ": " + f + " is a folder, where a merge"
                        + " writes a file; choose another " + outLabel);
            }
        }
        if (held.contains(SafetensorsCheckpoint.INDEX_FILE)) {
            throw new IllegalArgumentException(outLabel + " " + out + " holds a sharded model ("
                    + SafetensorsCheckpoint.INDEX_FILE + "), which loaders read instead of the merged " + WEIGHTS
                    + "; even with " + forceLabel + " a merge only replaces its own files: choose another " + outLabel);
        }
    }

    /** Merges {@code adapter} (safely: non-finite results are an error) into the new or empty folder {@code out}. */
    public static void write(Adapter adapter, Path out) {
        write(adapter, out, false);
    }

    /**
     * Merges {@code adapter} (safely: non-finite results are an error) and writes the folder {@code out}, after
     * {@link #checkOut}: with {@code force} a non-empty folder has the files a merge writes replaced, the rest kept.
     */
    public static void write(Adapter adapter, Path out, boolean force) {
        checkOut(adapter.base().folder().orElse(null), null, out, force, "out folder", "force");
        try (MergedWeights merged = MergedWeights.of(adapter).merge(true)) {
            write(adapter.base(), merged.weights(), merged.untied(), adapter.labelNames(), out, force);
        }
    }

    static void write(BaseModel base, Map<String, NDArray> weights, boolean untied, Path out, boolean force) {
        write(base, weights, untied, List.of(), out, force);
    }

    /**
     * The folder as transformers' {@code save_pretrained} writes the merged model: {@code architectures} names its
     * class ({@code BertForSequenceClassification} for a merged classifier, so it loads as one), and a classifier's
     * label names are {@code id2label}/{@code label2id}.
     */
    static void write(BaseModel base, Map<String, NDArray> weights, boolean untied, List<String> labelNames,
            Path out, boolean force) {
        checkOut(base.folder().orElse(null), null, out, force, "out folder", "force");
        Path target = out.toAbsolutePath();
        try {
            boolean exists = Files.isDirectory(target);
            // a new folder is assembled beside it and renamed into place at once; an existing one gets its files
            // assembled inside it (the same file system) and renamed one by one, config.json last
            Path staging = exists ? AtomicFiles.newFolder(target, ".merge-") : AtomicFiles.stagingFolder(target);
            try {
                List<String> files = writeInto(base, weights, untied, labelNames, staging);
                if (exists) {
                    for (String f : files) {
                        AtomicFiles.move(staging.resolve(f), target.resolve(f));
                    }
                } else {
                    AtomicFiles.move(staging, target);
                }
            } finally {
                AtomicFiles.deleteRecursively(staging);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write merged model to " + out + ": " + e.getMessage(), e);
        }
    }

    /** Writes the merged folder's files into {@code dir}; returns their names, the weights first, the config last. */
    private static List<String> writeInto(BaseModel base, Map<String, NDArray> weights, boolean untied,
            List<String> labelNames, Path dir) throws IOException {
        List<String> files = new ArrayList<>();
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
        for (Map.Entry<String, NDArray> e : weights.entrySet()) {
            w.add(e.getKey(), e.getValue());
        }
        w.write(dir.resolve(WEIGHTS));
        files.add(WEIGHTS);
        if (base.folder().isPresent()) {
            for (String f : TOKENIZER_FILES) {
                Path src = base.folder().get().resolve(f);
                if (Files.isRegularFile(src)) {
                    Files.copy(src, dir.resolve(f));
                    files.add(f);
                }
            }
        }
        ObjectNode config = LabelNames.savedConfig(base, labelNames);
        if (untied) {
            config.put("tie_word_embeddings", false);
        }
        // the merged weights are stored in the dtype lora4j computed in
        config.put("torch_dtype", base.dataType().toString().toLowerCase(Locale.ROOT));
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        try (OutputStream o = Files.newOutputStream(dir.resolve(CONFIG))) {
            json.writeValue(o, config);
        }
        files.add(CONFIG);
        return files;
    }

    /** Every name a merge may write into its folder. */
    private static List<String> written() {
        List<String> all = new ArrayList<>(List.of(WEIGHTS, CONFIG));
        all.addAll(TOKENIZER_FILES);
        return all;
    }

    /** The names in {@code dir}, sorted; empty if it is not a folder. */
    private static List<String> entries(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    private static String describe(List<String> names) {
        int shown = Math.min(3, names.size());
        return "holds " + String.join(", ", names.subList(0, shown))
                + (names.size() > shown ? " and " + (names.size() - shown) + " more" : "");
    }

    /** How {@code x} lies relative to {@code y}, after resolving symbolic links; by file identity too. */
    static Overlap overlap(Path x, Path y) {
        Path rx = real(x);
        Path ry = real(y);
        if (rx.equals(ry)) {
            return Overlap.SAME;
        }
        if (rx.startsWith(ry)) {
            return Overlap.INSIDE;
        }
        if (ry.startsWith(rx)) {
            return Overlap.CONTAINS;
        }
        // the same folder under two real paths (a bind mount): compare identities along each path
        if (Files.exists(ry)) {
            for (Path a = rx; a != null; a = a.getParent()) {
                if (sameFile(a, ry)) {
                    return a.equals(rx) ? Overlap.SAME : Overlap.INSIDE;
                }
            }
        }
        if (Files.exists(rx)) {
            for (Path a = ry.getParent(); a != null; a = a.getParent()) {
                if (sameFile(a, rx)) {
                    return Overlap.CONTAINS;
                }
            }
        }
        return Overlap.NONE;
    }

    private static boolean sameFile(Path a, Path b) {
        try {
            return Files.exists(a) && Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * {@code p} with every symbolic link resolved: the real path of its deepest existing part, then the names that
     * do not exist yet.
     */
    static Path real(Path p) {
        Path abs = p.toAbsolutePath();
        Path existing = abs;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return abs.normalize();
        }
        try {
            return existing.toRealPath().resolve(existing.relativize(abs)).normalize();
        } catch (IOException e) {
            return abs.normalize();
        }
    }
}
