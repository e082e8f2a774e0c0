package dev.lora4j.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.lora4j.config.LoraConfigJson;
import dev.lora4j.files.AtomicFiles;
import dev.lora4j.lora.AdapterSnapshot;
import dev.lora4j.lora.HostTensor;
import dev.lora4j.lora.PeftAdapters;
import dev.lora4j.safetensors.SafetensorsFile;
import dev.lora4j.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A trial's {@code checkpoints/} folder: one {@code step-N/} per checkpoint with the adapter in PEFT format,
 * {@code optimizer.safetensors} and {@code trainer_state.json}. Each checkpoint is assembled in a hidden temp folder
 * and renamed into place, so a crash (even kill -9) mid-write leaves every earlier checkpoint intact and never a
 * partial {@code step-N}.
 */
public final class CheckpointStore {
    public static final String STATE = "trainer_state.json";
    public static final String OPTIMIZER = "optimizer.safetensors";
    private static final Pattern STEP = Pattern.compile("step-(\\d+)");
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path dir;

    public CheckpointStore(Path dir) {
        this.dir = dir;
    }

    public Path dir() {
        return dir;
    }

    public Path pathOf(long step) {
        return dir.resolve("step-" + step);
    }

    /** Writes {@code c} as {@code step-N}, replacing one of the same step. */
    public Path save(Checkpoint c) {
        Path target = pathOf(c.state().step());
        try {
            Path tmp = AtomicFiles.stagingFolder(target);
            try {
                PeftAdapters.writeInto(c.adapter(), tmp);
                SafetensorsWriter w = new SafetensorsWriter().metadata("format", "lora4j-adamw");
                for (Map.Entry<String, HostTensor> e : c.firstMoments().entrySet()) {
                    w.add("exp_avg/" + e.getKey(), e.getValue().shape(), e.getValue().data());
                }
                for (Map.Entry<String, HostTensor> e : c.secondMoments().entrySet()) {
                    w.add("exp_avg_sq/" + e.getKey(), e.getValue().shape(), e.getValue().data());
                }
                w.write(tmp.resolve(OPTIMIZER));
                // the state file goes last: a folder without it was never completed
                JSON.writeValue(tmp.resolve(STATE).toFile(), c.state());
                if (Files.exists(target)) {
                    AtomicFiles.deleteRecursively(target);
                }
                AtomicFiles.move(tmp, target);
            } finally {
                AtomicFiles.deleteRecursively(tmp);
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint " + target + ": " + e.getMessage(), e);
        }
    }

    /**
     * Moves a complete checkpoint folder written elsewhere (received from another node) into place as
     * {@code step-N}, replacing one of the same step. It must be on this store's file system.
     */
    public Path adopt(Path folder, long step) {
        Path target = pathOf(step);
        if (!Files.isRegularFile(folder.resolve(STATE))) {
            throw new IllegalArgumentException("cannot adopt " + folder + " as a checkpoint: it has no " + STATE);
        }
        try {
            Files.createDirectories(dir);
            if (Files.exists(target)) {
                AtomicFiles.deleteRecursively(target);
            }
            AtomicFiles.move(folder, target);
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint " + target + ": " + e.getMessage(), e);
        }
    }

    /** Complete checkpoints, oldest first. */
    public List<Path> list() {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<Path> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> STEP.matcher(p.getFileName().toString()).matches())
                    .filter(p -> Files.isRegularFile(p.resolve(STATE)))
                    .sorted(Comparator.comparingLong(CheckpointStore::stepOf))
                    .forEach(out::add);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    public Optional<Path> latest() {
        List<Path> all = list();
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }

    public static long stepOf(Path checkpoint) {
        Matcher m = STEP.matcher(checkpoint.getFileName().toString());
        if (!m.matches()) {
            throw new IllegalArgumentException(checkpoint + " is not a step-N checkpoint folder");
        }
        return Long.parseLong(m.group(1));
    }

    /** Reads a checkpoint written by {@link #save}. */
    public static Checkpoint load(Path checkpoint) {
        try {
            TrainerState state = JSON.readValue(checkpoint.resolve(STATE).toFile(), TrainerState.class);
            var config = LoraConfigJson.read(checkpoint.resolve(PeftAdapters.CONFIG)).value();
            Map<String, HostTensor> tensors = PeftAdapters.readTensors(checkpoint);
            Map<String, HostTensor> first = new LinkedHashMap<>();
            Map<String, HostTensor> second = new LinkedHashMap<>();
            try (SafetensorsFile f = SafetensorsFile.open(checkpoint.resolve(OPTIMIZER))) {
                for (String n : f.names()) {
                    HostTensor t = new HostTensor(f.info(n).shape(), f.floats(n));
                    if (n.startsWith("exp_avg_sq/")) {
                        second.put(n.substring("exp_avg_sq/".length()), t);
                    } else if (n.startsWith("exp_avg/")) {
                        first.put(n.substring("exp_avg/".length()), t);
                    }
                }
            }
            return new Checkpoint(state, new AdapterSnapshot(config, tensors, ""), first, second);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read checkpoint " + checkpoint + ": " + e.getMessage(), e);
        }
    }

    /** Keeps the newest {@code keepLast} checkpoints plus {@code protectStep} (the best); 0 keeps all. */
    public void prune(int keepLast, long protectStep) {
        if (keepLast <= 0) {
            return;
        }
        List<Path> all = list();
        for (int i = 0; i < all.size() - keepLast; i++) {
            Path p = all.get(i);
            if (stepOf(p) != protectStep) {
                try {
                    AtomicFiles.deleteRecursively(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
    }
}
