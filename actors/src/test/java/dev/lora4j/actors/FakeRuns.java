package dev.lora4j.actors;

import dev.lora4j.checkpoint.Checkpoint;
import dev.lora4j.checkpoint.TrainerState;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.lora.AdapterSnapshot;
import dev.lora4j.lora.HostTensor;
import dev.lora4j.train.StepReport;
import dev.lora4j.train.TrainListener;
import dev.lora4j.train.TrialData;
import dev.lora4j.train.TrialRun;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongPredicate;

/**
 * Stand-in training for the actor and pipeline tests: steps that take no tensors, a one-number "adapter" that is a
 * pure function of the trial's id and its steps (so a run resumed from a checkpoint ends with the same value as one
 * that never stopped, as the engine does), evaluations at the configured cadence, and faults on cue, each fired once.
 */
public final class FakeRuns implements TrainingRun.Factory {
    /** What a trial meets at a step. */
    public enum Fault {
        /** A RuntimeException inside the step (an internal failure). */
        EXCEPTION,
        /** libtorch's allocation failure. */
        OUT_OF_MEMORY,
        /** An Error the lane does not catch: the lane dies. */
        KILL_LANE,
        /** The loss becomes NaN. */
        DIVERGE
    }

    private record Planned(long step, Fault fault) {}

    private final Map<String, Planned> faults = new ConcurrentHashMap<>();
    private final AtomicInteger opened = new AtomicInteger();
    private final AtomicLong steps = new AtomicLong();
    private final AtomicInteger live = new AtomicInteger();
    private final Map<String, Long> resumedAt = new ConcurrentHashMap<>();
    private volatile long stepMillis;

    /** Each step sleeps this long (0: none), to keep trials running while a test acts. */
    public FakeRuns stepMillis(long ms) {
        this.stepMillis = ms;
        return this;
    }

    /** The trial meets {@code fault} at {@code step} (1-based) of its next attempt that reaches it; once. */
    public FakeRuns fault(String trialId, long step, Fault fault) {
        faults.put(trialId, new Planned(step, fault));
        return this;
    }

    /** Runs opened so far (every attempt of every trial). */
    public int opened() {
        return opened.get();
    }

    /** Optimizer steps taken so far, by every run. */
    public long steps() {
        return steps.get();
    }

    /** The step each trial's latest run opened from a checkpoint continued at, by trial id. */
    public Map<String, Long> resumedAt() {
        return Map.copyOf(resumedAt);
    }

    /** Runs opened and not closed. */
    public int live() {
        return live.get();
    }

    /** The adapter value a trial has after {@code steps} steps. */
    public static float value(String trialId, long steps) {
        return trialId.hashCode() % 1000 + 0.5f * steps;
    }

    @Override
    public TrainingRun open(TrialModel model, TrialData data, TrialRun.Settings settings, Checkpoint resumeFrom,
            TrainListener listener, LongPredicate alsoEvaluateAt) {
        opened.incrementAndGet();
        live.incrementAndGet();
        if (resumeFrom != null) {
            resumedAt.put(model.spec().id(), resumeFrom.state().step());
        }
        return new Run(model.spec().id(), model.spec().lora(), settings, resumeFrom, listener, alsoEvaluateAt);
    }

    private final class Run implements TrainingRun {
        private final String id;
        private final LoraConfig lora;
        private final TrialRun.Settings settings;
        private final TrainListener listener;
        private final LongPredicate alsoEvaluateAt;
        private long step;
        private Double best;
        private long bestStep = -1;
        private boolean closed;

        Run(String id, LoraConfig lora, TrialRun.Settings settings, Checkpoint from, TrainListener listener,
                LongPredicate alsoEvaluateAt) {
            this.id = id;
            this.lora = lora;
            this.settings = settings;
            this.listener = listener;
            this.alsoEvaluateAt = alsoEvaluateAt;
            if (from != null) {
                step = from.state().step();
                best = from.state().bestMetric();
                bestStep = from.state().bestStep();
                float saved = from.adapter().tensors().get(KEY).data()[0];
                if (saved != value(id, step)) {
                    throw new IllegalStateException("checkpoint of " + id + " holds " + saved + " at step " + step);
                }
            }
        }

        @Override
        public long totalSteps() {
            return settings.maxSteps();
        }

        @Override
        public long completedSteps() {
            return step;
        }

        @Override
        public boolean finished() {
            return step >= settings.maxSteps();
        }

        @Override
        public StepReport step() {
            if (stepMillis > 0) {
                try {
                    Thread.sleep(stepMillis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            Planned p = faults.get(id);
            if (p != null && p.step() == step + 1 && faults.remove(id, p)) {
                switch (p.fault()) {
                    case EXCEPTION -> throw new IllegalStateException("injected failure at step " + (step + 1));
                    case OUT_OF_MEMORY -> throw new RuntimeException(
                            "[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory");
                    case KILL_LANE -> throw new AssertionError("injected lane death at step " + (step + 1));
                    case DIVERGE -> throw new dev.lora4j.train.NonFiniteLossException(step + 1, Double.NaN);
                }
            }
            step++;
            steps.incrementAndGet();
            StepReport r = new StepReport(step, settings.maxSteps(), 0, 1.0 / step, settings.learningRate(), 1, 100,
                    10, 0, step * 0.001);
            boolean due = settings.evalSteps() > 0 && step % settings.evalSteps() == 0 || alsoEvaluateAt.test(step);
            if (due && !finished()) {
                evaluate();
            }
            return r;
        }

        private void evaluate() {
            double loss = Math.abs(id.hashCode() % 97) / 97.0 + 1.0 / step;
            boolean isBest = best == null || loss < best;
            if (isBest) {
                best = loss;
                bestStep = step;
            }
            listener.onEvaluated(step, Map.of("eval_loss", loss), isBest);
        }

        @Override
        public boolean checkpointDue() {
            return settings.saveSteps() > 0 && step > 0 && step % settings.saveSteps() == 0 && !finished();
        }

        @Override
        public Checkpoint checkpoint() {
            TrainerState s = new TrainerState(step, step, 0, (int) step, 1, 0, 0, 0, step * 0.001, best, bestStep, 0,
                    Map.of(), null, 0, 0);
            return new Checkpoint(s, snapshot(), Map.of(), Map.of());
        }

        @Override
        public long bestStep() {
            return bestStep;
        }

        @Override
        public Map<String, Double> finish() {
            evaluate();
            Map<String, Double> m = new LinkedHashMap<>();
            m.put("train_loss", 1.0 / Math.max(1, step));
            m.put("eval_loss", best);
            m.put("steps", (double) step);
            m.put("train_runtime_s", step * 0.001);
            return m;
        }

        @Override
        public AdapterSnapshot snapshot() {
            return new AdapterSnapshot(lora, Map.of(KEY, new HostTensor(new long[] {1}, new float[] {value(id, step)})),
                    "");
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                live.decrementAndGet();
            }
        }
    }

    /** The one tensor of a fake adapter, named as PEFT names a LoRA weight. */
    public static final String KEY = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight";
}
