package dev.lora4j.actors;

import dev.lora4j.checkpoint.Checkpoint;
import dev.lora4j.lora.AdapterSnapshot;
import dev.lora4j.train.StepReport;
import dev.lora4j.train.TrainListener;
import dev.lora4j.train.TrialData;
import dev.lora4j.train.TrialRun;
import java.util.Map;
import java.util.function.LongPredicate;

/**
 * What a lane steps: one trial's training, one optimizer step at a time. {@link #engine()} runs the engine's
 * {@link TrialRun}; tests plug in stand-ins to drive thousands of trials or inject faults without tensors.
 */
public interface TrainingRun extends AutoCloseable {
    long totalSteps();

    long completedSteps();

    boolean finished();

    /** One optimizer step (evaluation included when due); throws when the step fails. */
    StepReport step();

    boolean checkpointDue();

    /** A host copy of the state, to be written by another thread. */
    Checkpoint checkpoint();

    /** The step of the best evaluated adapter, -1 before any evaluation. */
    long bestStep();

    /** Ends the run (final evaluation, best adapter in place) and returns its metrics. */
    Map<String, Double> finish();

    /** A host copy of the adapter as it is now (the best one, after {@link #finish}). */
    AdapterSnapshot snapshot();

    @Override
    void close();

    /** Opens a trial's run on the calling (lane) thread. */
    @FunctionalInterface
    interface Factory {
        /**
         * @param resumeFrom a checkpoint to continue from, or null for a fresh start
         * @param listener receives evaluations
         * @param alsoEvaluateAt steps at which to evaluate besides the configured cadence
         */
        TrainingRun open(TrialModel model, TrialData data, TrialRun.Settings settings, Checkpoint resumeFrom,
                TrainListener listener, LongPredicate alsoEvaluateAt);
    }

    /** The engine's training loop. */
    static Factory engine() {
        return (model, data, settings, resumeFrom, listener, alsoEvaluateAt) -> {
            // a classifier's adapter is saved with the names of the classes it learnt
            if (model.adapter() != null) {
                model.adapter().useLabelNames(data.labels());
            }
            TrialRun run = new TrialRun(model.base(), model.adapter(), data.objective(), settings, data.train(),
                    data.eval(), null);
            try {
                if (resumeFrom != null) {
                    run.restore(resumeFrom);
                }
                run.listen(listener);
                run.alsoEvaluateAt(alsoEvaluateAt);
            } catch (RuntimeException e) {
                run.close();
                throw e;
            }
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
                    return model.adapter().snapshot();
                }

                @Override
                public void close() {
                    run.close();
                }
            };
        };
    }
}
