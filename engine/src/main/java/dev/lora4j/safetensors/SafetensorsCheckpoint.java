package dev.lora4j.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * All tensors of a Hugging Face checkpoint behind one view: either a single {@code model.safetensors} or the shards
 * that {@code model.safetensors.index.json} lists. Shards are opened (and their headers validated) up front; their
 * bytes are mapped only when a tensor is asked for. Closing the checkpoint closes every shard.
 */
public final class SafetensorsCheckpoint implements TensorSource {

    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path origin;
    private final List<SafetensorsFile> shards;
    private final Map<String, SafetensorsFile> owners;
    private final List<String> names;
    private final Map<String, String> metadata;

    private SafetensorsCheckpoint(Path origin, List<SafetensorsFile> shards, Map<String, SafetensorsFile> owners,
            Map<String, String> metadata) {
        this.origin = origin;
        this.shards = List.copyOf(shards);
        this.owners = Collections.unmodifiableMap(owners);
        this.names = List.copyOf(owners.keySet());
        this.metadata = metadata;
    }

    /**
     * Opens a checkpoint folder (its index if present, else its {@code model.safetensors}), an index file
     * ({@code *.index.json}) or one safetensors file such as a PEFT {@code adapter_model.safetensors}.
     */
    public static SafetensorsCheckpoint open(Path folderOrFile) throws IOException {
        if (Files.isDirectory(folderOrFile)) {
            Path index = folderOrFile.resolve(INDEX_FILE);
            if (Files.isRegularFile(index)) {
                return openIndex(index);
            }
            Path single = folderOrFile.resolve(SINGLE_FILE);
            if (Files.exists(single)) {
                return openSingle(single);
            }
            throw new SafetensorsFormatException(folderOrFile, folderOrFile + " has neither " + INDEX_FILE + " nor "
                    + SINGLE_FILE + pickleHint(folderOrFile) + " (for a PEFT adapter pass the path of its"
                    + " adapter_model.safetensors)");
        }
        if (folderOrFile.getFileName() != null && folderOrFile.getFileName().toString().endsWith(".json")) {
            return openIndex(folderOrFile);
        }
        return openSingle(folderOrFile);
    }

    private static String pickleHint(Path folder) throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            List<String> pickles = files.map(f -> f.getFileName().toString())
                    .filter(f -> f.endsWith(".bin"))
                    .sorted()
                    .toList();
            return pickles.isEmpty() ? "" : "; it has " + String.join(", ", pickles)
                    + ", PyTorch pickles: " + SafetensorsFile.PICKLE_ADVICE;
        }
    }

    private static SafetensorsCheckpoint openSingle(Path file) throws IOException {
        SafetensorsFile only = SafetensorsFile.open(file);
        Map<String, SafetensorsFile> owners = new LinkedHashMap<>();
        for (String name : only.names()) {
            owners.put(name, only);
        }
        return new SafetensorsCheckpoint(file, List.of(only), owners, only.metadata());
    }

    private static SafetensorsCheckpoint openIndex(Path index) throws IOException {
        JsonNode root;
        try {
            root = SafetensorsFile.JSON.readTree(Files.readString(index));
        } catch (JsonProcessingException e) {
            throw new SafetensorsFormatException(index, index + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new SafetensorsFormatException(index, index + ": not a JSON object");
        }
        JsonNode weightMap = root.path("weight_map");
        if (!weightMap.isObject() || weightMap.isEmpty()) {
            throw new SafetensorsFormatException(index, index + ": weight_map is missing, empty or not a JSON object");
        }
        Path folder = index.toAbsolutePath().getParent();
        // shard file name -> the tensors the index puts there, shards in name order (model-00001-of-... first)
        Map<String, List<String>> byShard = new TreeMap<>();
        for (Map.Entry<String, JsonNode> e : weightMap.properties()) {
            String shard = e.getValue().isTextual() ? e.getValue().textValue() : "";
            Path resolved = folder.resolve(shard).normalize();
            if (shard.isEmpty() || !folder.equals(resolved.getParent())) {
                throw new SafetensorsFormatException(index, index + ": tensor '" + e.getKey() + "' maps to "
                        + e.getValue() + ", which is not a file name in the index's folder");
            }
            byShard.computeIfAbsent(shard, s -> new ArrayList<>()).add(e.getKey());
        }

        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            Map<String, SafetensorsFile> owners = new LinkedHashMap<>();
            for (Map.Entry<String, List<String>> e : byShard.entrySet()) {
                Path shardPath = folder.resolve(e.getKey());
                if (!Files.exists(shardPath)) {
                    throw new SafetensorsFormatException(index, index + " lists shard " + e.getKey() + " (for "
                            + e.getValue().size() + " tensors, e.g. '" + e.getValue().get(0) + "') but " + shardPath
                            + " does not exist");
                }
                SafetensorsFile shard = SafetensorsFile.open(shardPath);
                opened.add(shard);
                for (String name : e.getValue()) {
                    if (!shard.contains(name)) {
                        throw new SafetensorsFormatException(index, index + " maps tensor '" + name + "' to "
                                + e.getKey() + ", which has no such tensor");
                    }
                }
                // the index decides which shard owns a tensor; anything else in a shard is not part of the checkpoint
                Set<String> assigned = new HashSet<>(e.getValue());
                for (String name : shard.names()) {
                    if (assigned.contains(name)) {
                        owners.put(name, shard);
                    }
                }
            }
            return new SafetensorsCheckpoint(index, opened, owners, indexMetadata(root.path("metadata")));
        } catch (IOException | RuntimeException e) {
            closeAll(opened, e);
            throw e;
        }
    }

    /** The index's metadata as strings: transformers writes numbers there (total_size). */
    private static Map<String, String> indexMetadata(JsonNode node) {
        Map<String, String> out = new LinkedHashMap<>();
        if (node.isObject()) {
            for (Map.Entry<String, JsonNode> e : node.properties()) {
                out.put(e.getKey(), e.getValue().isTextual() ? e.getValue().textValue() : e.getValue().toString());
            }
        }
        return Collections.unmodifiableMap(out);
    }

    private static void closeAll(List<SafetensorsFile> files, Throwable failure) {
        for (SafetensorsFile f : files) {
            try {
                f.close();
            } catch (IOException suppressed) {
                failure.addSuppressed(suppressed);
            }
        }
    }

    /** The files holding the tensors, in shard order. */
    public List<Path> files() {
        return shards.stream().map(SafetensorsFile::path).collect(Collectors.toUnmodifiableList());
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public List<String> names() {
        return names;
    }

    @Override
    public boolean contains(String name) {
        return owners.containsKey(name);
    }

    @Override
    public TensorInfo info(String name) {
        return owner(name).info(name);
    }

    @Override
    public Path fileOf(String name) {
        return owner(name).path();
    }

    @Override
    public ByteBuffer data(String name) throws IOException {
        return owner(name).data(name);
    }

    private SafetensorsFile owner(String name) {
        SafetensorsFile shard = owners.get(name);
        if (shard == null) {
            throw new IllegalArgumentException(origin + ": no tensor '" + name + "' (the checkpoint has "
                    + owners.size() + " tensors in " + shards.size() + " file(s))");
        }
        return shard;
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (SafetensorsFile shard : shards) {
            try {
                shard.close();
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    @Override
    public String toString() {
        return "SafetensorsCheckpoint[" + origin + ", " + names.size() + " tensors in " + shards.size() + " file(s)]";
    }
}
