package dev.lora4j.actors;

import dev.lora4j.api.trial.Failure;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.checkpoint.Checkpoint;
import dev.lora4j.lora.AdapterSnapshot;
import dev.lora4j.sweep.TrialSpec;
import dev.lora4j.train.StepReport;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A trial's files, written only by its session (one writer per trial folder). Every method is blocking and throws
 * an unchecked exception when the disk does not cooperate; the session turns that into a {@link Failure.Storage}.
 * {@link TrialFolder} is the real folder; tests wrap it to inject faults.
 */
public interface TrialFiles {
    /** The trial's folder ({@code runs/<sweep>/trials/<id>}). */
    Path dir();

    /** {@code params.json} and {@code train.json}: what the trial is and how to train it alone. */
    void writeSpec(TrialSpec spec);

    /** Complete checkpoints, newest first. */
    List<Path> checkpoints();

    /** Reads a checkpoint; throws if it is torn or corrupt. */
    Checkpoint loadCheckpoint(Path checkpoint);

    /** Drops {@code progress.csv} rows after {@code step} (a resumed attempt writes them again). */
    void truncateProgressAfter(long step);

    /** {@code progress.csv} read back, one map per row with its filled cells. */
    List<Map<String, Double>> progress();

    void appendStep(StepReport report);

    void appendEval(long step, Map<String, Double> metrics);

    /** Writes a checkpoint and prunes older ones to the newest {@code keepLast} plus {@code protectStep}. */
    Path saveCheckpoint(Checkpoint checkpoint, int keepLast, long protectStep);

    /** Writes the trial's best adapter (PEFT format); returns its folder. */
    Path writeAdapter(AdapterSnapshot adapter);

    /**
     * A fresh, empty folder inside the trial's folder, where a checkpoint or adapter from another node is received
     * before {@link #adoptCheckpoint} or {@link #adoptAdapter} moves it into place.
     */
    default Path incoming() {
        throw new UnsupportedOperationException("these trial files cannot receive from other nodes");
    }

    /**
     * Moves a received checkpoint folder (from {@link #incoming()}) into place as the checkpoint of {@code step} and
     * prunes older ones as {@link #saveCheckpoint} does.
     */
    default Path adoptCheckpoint(Path folder, long step, int keepLast, long protectStep) {
        throw new UnsupportedOperationException("these trial files cannot receive from other nodes");
    }

    /** Moves a received adapter folder (from {@link #incoming()}) into place as the trial's adapter. */
    default Path adoptAdapter(Path folder) {
        throw new UnsupportedOperationException("these trial files cannot receive from other nodes");
    }

    void writeResult(TrialResult result);

    /**
     * Population-based training: records that the trial copied {@code parent}'s checkpoint of {@code step} and trains
     * on with {@code config} (appended to its lineage before the copy, so a resumed sweep can redo the copy).
     */
    default void appendLineage(long step, String parent, Map<String, JsonNode> config) {
        throw new UnsupportedOperationException("these trial files keep no lineage");
    }

    /** The trial's lineage, oldest first: {@code {step, from, parameters}} per copied checkpoint. */
    default List<ObjectNode> lineage() {
        return List.of();
    }

    /** Copies another trial's checkpoint folder in as this trial's checkpoint of {@code step} (replacing one). */
    default Path copyCheckpoint(Path checkpoint, long step) {
        throw new UnsupportedOperationException("these trial files cannot copy checkpoints");
    }

    /** The stored {@code result.json}, if there is a readable one. */
    Optional<TrialResult> readResult();

    /** The files of each trial of a sweep. */
    @FunctionalInterface
    interface Factory {
        TrialFiles of(String trialId);
    }
}
