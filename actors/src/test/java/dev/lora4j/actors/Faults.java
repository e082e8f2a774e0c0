package dev.lora4j.actors;

import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.checkpoint.Checkpoint;
import dev.lora4j.lora.AdapterSnapshot;
import dev.lora4j.sweep.TrialSpec;
import dev.lora4j.train.StepReport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Faults injected into real training and real files, each planned for one trial at one step and fired once: an
 * exception in a step, libtorch running out of memory, the lane's thread dying, a checkpoint that cannot be written,
 * a progress row that meets a full disk.
 */
public final class Faults {
    public enum Kind { EXCEPTION, OUT_OF_MEMORY, KILL_LANE, CHECKPOINT_WRITE, DISK_FULL }

    /** @param everyTime fire at every attempt (a disk that stays full), not once */
    public record Planned(Kind kind, long step, boolean everyTime) {}

    private final Map<String, Planned> plan = new ConcurrentHashMap<>();
    private final Set<String> fired = ConcurrentHashMap.newKeySet();

    public Faults plan(String trialId, Kind kind, long step) {
        plan.put(trialId, new Planned(kind, step, false));
        return this;
    }

    public Faults planEveryTime(String trialId, Kind kind, long step) {
        plan.put(trialId, new Planned(kind, step, true));
        return this;
    }

    public Map<String, Planned> planned() {
        return Map.copyOf(plan);
    }

    /** Trials whose fault happened. */
    public Set<String> fired() {
        return Set.copyOf(fired);
    }

    private boolean due(String trialId, Kind kind, long step) {
        Planned p = plan.get(trialId);
        return p != null && p.kind() == kind && step >= p.step() && (fired.add(trialId) || p.everyTime());
    }

    /** {@code inner}'s runs, with the step faults of the plan. */
    public TrainingRun.Factory runs(TrainingRun.Factory inner) {
        return (model, data, settings, resumeFrom, listener, alsoEvaluateAt) -> {
            TrainingRun run = inner.open(model, data, settings, resumeFrom, listener, alsoEvaluateAt);
            String id = model.spec().id();
            return new TrainingRun() {
                @Override
                public long totalSteps() {
                    return run.totalSteps();
                }

                @Override
                public long completedSteps() {
                    return run.completedSteps();
                }

                @Override
                public boolean finished() {
                    return run.finished();
                }

                @Override
                public StepReport step() {
                    long next = run.completedSteps() + 1;
                    if (due(id, Kind.EXCEPTION, next)) {
                        throw new IllegalStateException("injected failure at step " + next);
                    }
                    if (due(id, Kind.OUT_OF_MEMORY, next)) {
                        throw new RuntimeException("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't"
                                + " allocate memory: you tried to allocate 1073741824 bytes");
                    }
                    if (due(id, Kind.KILL_LANE, next)) {
                        throw new AssertionError("injected lane death at step " + next);
                    }
                    return run.step();
                }

                @Override
                public boolean checkpointDue() {
                    return run.checkpointDue();
                }

                @Override
                public Checkpoint checkpoint() {
                    return run.checkpoint();
                }

                @Override
                public long bestStep() {
                    return run.bestStep();
                }

                @Override
                public Map<String, Double> finish() {
                    return run.finish();
                }

                @Override
                public AdapterSnapshot snapshot() {
                    return run.snapshot();
                }

                @Override
                public void close() {
                    run.close();
                }
            };
        };
    }

    /** {@code inner}'s trial files, with the disk faults of the plan. */
    public TrialFiles.Factory files(TrialFiles.Factory inner) {
        return id -> new Faulty(id, inner.of(id));
    }

    private final class Faulty implements TrialFiles {
        private final String id;
        private final TrialFiles inner;

        Faulty(String id, TrialFiles inner) {
            this.id = id;
            this.inner = inner;
        }

        @Override
        public Path dir() {
            return inner.dir();
        }

        @Override
        public void writeSpec(TrialSpec spec) {
            inner.writeSpec(spec);
        }

        @Override
        public List<Path> checkpoints() {
            return inner.checkpoints();
        }

        @Override
        public Checkpoint loadCheckpoint(Path checkpoint) {
            return inner.loadCheckpoint(checkpoint);
        }

        @Override
        public void truncateProgressAfter(long step) {
            inner.truncateProgressAfter(step);
        }

        @Override
        public List<Map<String, Double>> progress() {
            return inner.progress();
        }

        @Override
        public void appendStep(StepReport report) {
            if (due(id, Kind.DISK_FULL, report.step())) {
                throw new UncheckedIOException("cannot write " + dir().resolve("progress.csv")
                        + ": No space left on device", new IOException("No space left on device"));
            }
            inner.appendStep(report);
        }

        @Override
        public void appendEval(long step, Map<String, Double> metrics) {
            inner.appendEval(step, metrics);
        }

        @Override
        public Path saveCheckpoint(Checkpoint checkpoint, int keepLast, long protectStep) {
            if (due(id, Kind.CHECKPOINT_WRITE, checkpoint.state().step())) {
                throw new UncheckedIOException("cannot write checkpoint step-" + checkpoint.state().step()
                        + ": Input/output error", new IOException("Input/output error"));
            }
            return inner.saveCheckpoint(checkpoint, keepLast, protectStep);
        }

        @Override
        public Path writeAdapter(AdapterSnapshot adapter) {
            return inner.writeAdapter(adapter);
        }

        @Override
        public void writeResult(TrialResult result) {
            inner.writeResult(result);
        }

        @Override
        public Optional<TrialResult> readResult() {
            return inner.readResult();
        }
    }
}
