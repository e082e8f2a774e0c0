package dev.lora4j.actors;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.config.ConfigError;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How a trial ended: its metrics (train_loss, eval_loss, eval_accuracy or eval_perplexity, steps, tokens_per_s, ...),
 * where its best adapter and last checkpoint are, and why it did not finish if it did not.
 */
public record TrialResult(String trialId, String name, long index, Map<String, JsonNode> parameters, Status status,
        Map<String, Double> metrics, long steps, double seconds, Path adapter, Path lastCheckpoint, String reason,
        List<ConfigError> errors, int attempts) {

    public enum Status {
        /** Trained to the end (or early-stopped by its own patience). */
        FINISHED,
        /** Stopped by the sweep's early termination (ASHA); its metrics are those of the last evaluation. */
        STOPPED,
        /** Its config was invalid; it never ran. */
        REJECTED,
        /** Failed more often than the sweep allows. */
        FAILED,
        /** The sweep was cancelled while it ran; its last checkpoint allows resuming. */
        CANCELLED
    }

    public TrialResult {
        parameters = parameters == null ? Map.of() : parameters;
        metrics = metrics == null ? Map.of() : metrics;
        errors = errors == null ? List.of() : List.copyOf(errors);
    }

    public Optional<Double> metric(String name) {
        return Optional.ofNullable(metrics.get(name)).filter(v -> !v.isNaN());
    }

    public Optional<Path> adapterDir() {
        return Optional.ofNullable(adapter);
    }

    public Optional<Path> checkpoint() {
        return Optional.ofNullable(lastCheckpoint);
    }
}
