package dev.lora4j.actors;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.checkpoint.Checkpoint;
import dev.lora4j.checkpoint.CheckpointStore;
import dev.lora4j.config.LoraConfigJson;
import dev.lora4j.files.AtomicFiles;
import dev.lora4j.lora.AdapterSnapshot;
import dev.lora4j.lora.PeftAdapters;
import dev.lora4j.sweep.TrialSpec;
import dev.lora4j.train.RunFolder;
import dev.lora4j.train.StepReport;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.StandardOpenOption;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** A trial's files in its folder of a sweep's run folder ({@code trials/<id>/}). */
public final class TrialFolder implements TrialFiles {
    private final RunFolder folder;

    public TrialFolder(Path dir) {
        this.folder = new RunFolder(dir);
    }

    /** The trials of the run folder {@code runDir}. */
    public static Factory in(Path runDir) {
        return id -> new TrialFolder(runDir.resolve("trials").resolve(id));
    }

    @Override
    public Path dir() {
        return folder.dir();
    }

    @Override
    public void writeSpec(TrialSpec spec) {
        folder.writeParams(params(spec));
        folder.writeTrainConfig(spec.runTree());
    }

    @Override
    public List<Path> checkpoints() {
        List<Path> all = new ArrayList<>(folder.checkpoints().list());
        Collections.reverse(all);
        return all;
    }

    @Override
    public Checkpoint loadCheckpoint(Path checkpoint) {
        return CheckpointStore.load(checkpoint);
    }

    @Override
    public void truncateProgressAfter(long step) {
        folder.truncateProgressAfter(step);
    }

    @Override
    public List<Map<String, Double>> progress() {
        return folder.readProgress();
    }

    @Override
    public void appendStep(StepReport report) {
        folder.appendStep(report);
    }

    @Override
    public void appendEval(long step, Map<String, Double> metrics) {
        folder.appendEval(step, metrics);
    }

    @Override
    public Path saveCheckpoint(Checkpoint checkpoint, int keepLast, long protectStep) {
        CheckpointStore store = folder.checkpoints();
        Path p = store.save(checkpoint);
        store.prune(keepLast, protectStep);
        return p;
    }

    @Override
    public Path writeAdapter(AdapterSnapshot adapter) {
        PeftAdapters.write(adapter, folder.adapterDir());
        return folder.adapterDir();
    }

    @Override
    public Path incoming() {
        try {
            Files.createDirectories(folder.dir());
            return AtomicFiles.newFolder(folder.dir(), ".incoming-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a folder in " + folder.dir() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Path adoptCheckpoint(Path received, long step, int keepLast, long protectStep) {
        CheckpointStore store = folder.checkpoints();
        Path p = store.adopt(received, step);
        store.prune(keepLast, protectStep);
        return p;
    }

    @Override
    public Path adoptAdapter(Path received) {
        try {
            AtomicFiles.replaceFolder(received, folder.adapterDir());
            return folder.adapterDir();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write adapter to " + folder.adapterDir() + ": " + e.getMessage(),
                    e);
        }
    }

    /** Lineage lines of population-based training, one per copied checkpoint. */
    static final String LINEAGE = "lineage.jsonl";

    @Override
    public void writeResult(TrialResult result) {
        ObjectNode o = result.toJson(folder.dir());
        List<ObjectNode> lineage = lineage();
        if (!lineage.isEmpty()) {
            o.putArray("lineage").addAll(lineage);
        }
        folder.writeResult(o);
    }

    @Override
    public void appendLineage(long step, String parent, Map<String, JsonNode> config) {
        ObjectNode line = Json.MAPPER.createObjectNode();
        line.put("step", step);
        line.put("from", parent);
        config.forEach(line.putObject("parameters")::set);
        Path f = folder.dir().resolve(LINEAGE);
        try {
            Files.createDirectories(folder.dir());
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND)) {
                ch.write(ByteBuffer.wrap((line.toString() + "\n")
                        .getBytes(StandardCharsets.UTF_8)));
                // the decision must outlive a kill that follows the copy
                ch.force(true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + f + ": " + e.getMessage(), e);
        }
    }

    @Override
    public List<ObjectNode> lineage() {
        Path f = folder.dir().resolve(LINEAGE);
        if (!Files.isRegularFile(f)) {
            return List.of();
        }
        List<ObjectNode> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                try {
                    if (Json.MAPPER.readTree(line) instanceof ObjectNode o && o.has("step") && o.has("from")) {
                        out.add(o);
                    }
                } catch (IOException torn) {
                    // a line cut by a kill: the decision is made again when the trial reaches that step
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
        }
        return out;
    }

    @Override
    public Path copyCheckpoint(Path checkpoint, long step) {
        Path staged = incoming();
        try {
            try (var walk = Files.walk(checkpoint)) {
                for (Path p : (Iterable<Path>) walk::iterator) {
                    Path to = staged.resolve(checkpoint.relativize(p).toString());
                    if (Files.isDirectory(p)) {
                        Files.createDirectories(to);
                    } else {
                        Files.copy(p, to);
                    }
                }
            }
            return folder.checkpoints().adopt(staged, step);
        } catch (IOException | RuntimeException e) {
            try {
                AtomicFiles.deleteRecursively(staged);
            } catch (IOException ignored) {
                // the staging folder is a hidden leftover at worst
            }
            if (e instanceof IOException io) {
                throw new UncheckedIOException("cannot copy " + checkpoint + ": " + io.getMessage(), io);
            }
            throw (RuntimeException) e;
        }
    }

    @Override
    public Optional<TrialResult> readResult() {
        Path f = folder.dir().resolve(RunFolder.RESULT);
        if (!Files.isRegularFile(f)) {
            return Optional.empty();
        }
        try {
            JsonNode node = Json.MAPPER.readTree(f.toFile());
            return Optional.of(TrialResult.fromJson(node, folder.dir()));
        } catch (IOException | IllegalArgumentException e) {
            // torn by a kill mid-write, or not ours: the trial has to run again
            return Optional.empty();
        }
    }

    static Map<String, Object> params(TrialSpec spec) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("trial_id", spec.id());
        p.put("name", spec.name());
        p.put("index", spec.index());
        p.put("parameters", spec.parameters());
        p.put("lora", LoraConfigJson.toTree(spec.lora()));
        p.put("training", spec.training().toTree());
        return p;
    }
}
