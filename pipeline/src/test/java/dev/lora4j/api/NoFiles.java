package dev.lora4j.api;

import dev.lora4j.actors.TrialFiles;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.checkpoint.Checkpoint;
import dev.lora4j.lora.AdapterSnapshot;
import dev.lora4j.sweep.TrialSpec;
import dev.lora4j.train.StepReport;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Trial files that go nowhere (the sweep's own files, its leaderboard, still do): for tests of the orchestration at
 * a scale where thousands of fsyncs would be the only thing measured.
 */
final class NoFiles implements TrialFiles {
    static final AtomicInteger RESULTS = new AtomicInteger();

    private final Path dir;

    NoFiles(Path dir) {
        this.dir = dir;
    }

    static Factory in(Path runDir) {
        return id -> new NoFiles(runDir.resolve("trials").resolve(id));
    }

    @Override
    public Path dir() {
        return dir;
    }

    @Override
    public void writeSpec(TrialSpec spec) {}

    @Override
    public List<Path> checkpoints() {
        return List.of();
    }

    @Override
    public Checkpoint loadCheckpoint(Path checkpoint) {
        throw new IllegalStateException("no checkpoints here");
    }

    @Override
    public void truncateProgressAfter(long step) {}

    @Override
    public List<Map<String, Double>> progress() {
        return List.of();
    }

    @Override
    public void appendStep(StepReport report) {}

    @Override
    public void appendEval(long step, Map<String, Double> metrics) {}

    @Override
    public Path saveCheckpoint(Checkpoint checkpoint, int keepLast, long protectStep) {
        return dir.resolve("checkpoints/step-" + checkpoint.state().step());
    }

    @Override
    public Path writeAdapter(AdapterSnapshot adapter) {
        return dir.resolve("adapter");
    }

    @Override
    public void writeResult(TrialResult result) {
        RESULTS.incrementAndGet();
    }

    @Override
    public Optional<TrialResult> readResult() {
        return Optional.empty();
    }
}
