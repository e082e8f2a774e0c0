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
import java.io.IOException;
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

    @Override
    public void writeResult(TrialResult result) {
        folder.writeResult(result.toJson(folder.dir()));
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
