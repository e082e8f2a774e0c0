package dev.lora4j.train;

import java.nio.file.Path;
import java.util.Map;

/** Receives a trial's progress as it happens (progress bars, the actor pipeline's event stream). */
public interface TrainListener {
    default void onStep(StepReport report) {}

    default void onEvaluated(long step, Map<String, Double> metrics, boolean best) {}

    default void onCheckpoint(long step, Path dir) {}

    TrainListener NONE = new TrainListener() {};
}
