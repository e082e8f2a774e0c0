package dev.lora4j.api.trial;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.config.ConfigError;
import dev.lora4j.sweep.TrialSpec;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * How a trial ended: its metrics (train_loss, eval_loss, eval_accuracy or eval_perplexity, steps, tokens_per_s, ...),
 * where its best adapter and last checkpoint are, and why it did not finish if it did not. Built with
 * {@link #of(TrialSpec)} or {@link #builder(String)}; stored as the trial's {@code result.json} ({@link #toJson},
 * {@link #fromJson}).
 *
 * @param reason why it did not finish, for people (the ASHA decision, the failure's message); null when finished
 * @param failure what went wrong, for code: set for failed trials and for cancelled ones
 * @param attempts how many times it was started (retries and out-of-memory back-offs count)
 * @param node where its last attempt trained ({@code local}, or a cluster node's {@code host:port}); null if it
 *     never trained
 */
public record TrialResult(String trialId, String name, long index, Map<String, JsonNode> parameters, Status status,
        Map<String, Double> metrics, long steps, double seconds, Path adapter, Path lastCheckpoint, String reason,
        Failure failure, List<ConfigError> errors, int attempts, String node) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A trial's terminal state. */
    public enum Status {
        /** Trained to the end (or early-stopped by its own patience). */
        FINISHED,
        /** Stopped by the sweep's early termination (ASHA); its metrics are those of the last evaluation. */
        STOPPED,
        /** Its config was invalid; it never ran. */
        REJECTED,
        /** Failed more often than the sweep allows. */
        FAILED,
        /** The sweep (or this trial) was cancelled, or a storage fault stopped it; it resumes from its checkpoint. */
        CANCELLED;

        /**
         * Whether a resumed sweep keeps the trial as it is.
         *
         * @return false for a cancelled (interrupted) trial, which continues instead
         */
        public boolean ended() {
            return this != CANCELLED;
        }

        /**
         * The name files and events use.
         *
         * @return the lower-case name ({@code finished})
         */
        public String json() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Status parse(String s) {
            return valueOf(s.toUpperCase(Locale.ROOT));
        }
    }

    /**
     * Copies the maps and lists; a null name is the id.
     *
     * @param trialId the trial's id
     * @param name its readable name
     * @param index its place in the sweep's expansion
     * @param parameters its parameter values by canonical field
     * @param status how it ended
     * @param metrics what it reached
     * @param steps optimizer steps done
     * @param seconds training time
     * @param adapter its best adapter's folder, or null
     * @param lastCheckpoint its newest checkpoint, or null
     * @param reason why it did not finish, or null
     * @param failure what went wrong, or null
     * @param errors why it was rejected
     * @param attempts how many times it was started
     * @param node where its last attempt trained, or null
     */
    public TrialResult {
        Objects.requireNonNull(trialId, "trialId");
        Objects.requireNonNull(status, "status");
        name = name == null ? trialId : name;
        parameters = parameters == null ? Map.of() : java.util.Collections.unmodifiableMap(
                new LinkedHashMap<>(parameters));
        metrics = metrics == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(metrics));
        errors = errors == null ? List.of() : List.copyOf(errors);
    }

    /**
     * A metric's value.
     *
     * @param name {@code eval_loss}, {@code train_loss}, ...
     * @return its value, empty when the trial has none (or it is NaN)
     */
    public Optional<Double> metric(String name) {
        return Optional.ofNullable(metrics.get(name)).filter(v -> !v.isNaN());
    }

    /**
     * The best adapter.
     *
     * @return its folder (PEFT format), empty when the trial has none
     */
    public Optional<Path> adapterDir() {
        return Optional.ofNullable(adapter);
    }

    /**
     * The checkpoint a resumed sweep continues from.
     *
     * @return its folder, empty when the trial has none
     */
    public Optional<Path> checkpoint() {
        return Optional.ofNullable(lastCheckpoint);
    }

    /**
     * A builder for a result of {@code spec}.
     *
     * @param spec the trial
     * @return a builder with id, name, index and parameters filled in
     */
    public static Builder of(TrialSpec spec) {
        return builder(spec.id()).name(spec.name()).index(spec.index()).parameters(spec.parameters());
    }

    /**
     * A builder for a result of trial {@code trialId}.
     *
     * @param trialId the trial's id
     * @return an empty builder (finished, one attempt)
     */
    public static Builder builder(String trialId) {
        return new Builder(trialId);
    }

    /**
     * A builder that starts from this result.
     *
     * @return a builder with every field of this result
     */
    public Builder toBuilder() {
        return new Builder(trialId).name(name).index(index).parameters(parameters).status(status).metrics(metrics)
                .steps(steps).seconds(seconds).adapter(adapter).lastCheckpoint(lastCheckpoint).reason(reason)
                .failure(failure).errors(errors).attempts(attempts).node(node);
    }

    /**
     * The result as {@code result.json} holds it.
     *
     * @param dir the trial's folder: paths inside it are written relative to it
     * @return the JSON object
     */
    public ObjectNode toJson(Path dir) {
        ObjectMapper json = JSON;
        ObjectNode o = json.createObjectNode();
        o.put("trial_id", trialId);
        o.put("name", name);
        o.put("index", index);
        o.put("status", status.json());
        if (reason != null) {
            o.put("reason", reason);
        }
        if (failure != null) {
            o.put("failure", failure.kind());
        }
        o.put("steps", steps);
        o.put("attempts", attempts);
        if (node != null) {
            o.put("node", node);
        }
        o.put("seconds", seconds);
        o.set("parameters", json.valueToTree(parameters));
        ObjectNode m = o.putObject("metrics");
        metrics.forEach((k, v) -> {
            if (v.isNaN() || v.isInfinite()) {
                m.putNull(k);
            } else {
                m.put(k, v);
            }
        });
        if (adapter != null) {
            o.put("adapter", relative(dir, adapter));
        }
        if (lastCheckpoint != null) {
            o.put("checkpoint", relative(dir, lastCheckpoint));
        }
        if (!errors.isEmpty()) {
            ArrayNode e = o.putArray("errors");
            errors.forEach(x -> e.addObject().put("path", x.path()).put("message", x.message()));
        }
        return o;
    }

    /**
     * Reads a {@code result.json} written by {@link #toJson} (or by an earlier lora4j, which wrote only id, name,
     * status, reason, parameters and metrics). Throws {@link IllegalArgumentException} if it is not one.
     *
     * @param o the JSON object
     * @param dir the trial's folder, which relative paths start from
     * @return the result
     */
    public static TrialResult fromJson(JsonNode o, Path dir) {
        if (!o.isObject() || !o.path("status").isTextual() || !o.path("trial_id").isTextual()) {
            throw new IllegalArgumentException("not a trial result (no trial_id or status)");
        }
        Status status = Status.parse(o.path("status").asText());
        Map<String, JsonNode> parameters = new LinkedHashMap<>();
        o.path("parameters").properties().forEach(e -> parameters.put(e.getKey(), e.getValue()));
        Map<String, Double> metrics = new LinkedHashMap<>();
        o.path("metrics").properties().forEach(e -> metrics.put(e.getKey(),
                e.getValue().isNumber() ? e.getValue().asDouble() : Double.NaN));
        String reason = o.hasNonNull("reason") ? o.get("reason").asText() : null;
        Failure failure = o.hasNonNull("failure") ? Failure.of(o.get("failure").asText(), reason) : null;
        List<ConfigError> errors = new java.util.ArrayList<>();
        o.path("errors").forEach(e -> errors.add(new ConfigError(e.path("path").asText(""),
                e.path("message").asText(""))));
        long steps = o.has("steps") ? o.get("steps").asLong() : (long) (double) metrics.getOrDefault("steps", 0.0);
        double seconds = o.has("seconds") ? o.get("seconds").asDouble() : metrics.getOrDefault("train_runtime_s", 0.0);
        Path adapter = o.hasNonNull("adapter") ? dir.resolve(o.get("adapter").asText())
                : status == Status.FINISHED || status == Status.STOPPED ? dir.resolve("adapter") : null;
        return builder(o.get("trial_id").asText()).name(o.path("name").asText(null)).index(o.path("index").asLong(0))
                .parameters(parameters).status(status).metrics(metrics).steps(steps).seconds(seconds).adapter(adapter)
                .lastCheckpoint(o.hasNonNull("checkpoint") ? dir.resolve(o.get("checkpoint").asText()) : null)
                .reason(reason).failure(failure).errors(errors).attempts(o.path("attempts").asInt(1))
                .node(o.hasNonNull("node") ? o.get("node").asText() : null).build();
    }

    private static String relative(Path dir, Path p) {
        Path a = dir.toAbsolutePath().normalize();
        Path b = p.toAbsolutePath().normalize();
        return b.startsWith(a) ? a.relativize(b).toString() : b.toString();
    }

    /** Builds a {@link TrialResult}; unset fields are empty (no metrics, no files, no failure, one attempt). */
    public static final class Builder {
        private final String trialId;
        private String name;
        private long index;
        private Map<String, JsonNode> parameters = Map.of();
        private Status status = Status.FINISHED;
        private Map<String, Double> metrics = Map.of();
        private long steps;
        private double seconds;
        private Path adapter;
        private Path lastCheckpoint;
        private String reason;
        private Failure failure;
        private List<ConfigError> errors = List.of();
        private int attempts = 1;
        private String node;

        private Builder(String trialId) {
            this.trialId = trialId;
        }

        /**
         * @param v the readable name
         * @return this builder
         */
        public Builder name(String v) {
            name = v;
            return this;
        }

        /**
         * @param v the place in the sweep's expansion
         * @return this builder
         */
        public Builder index(long v) {
            index = v;
            return this;
        }

        /**
         * @param v parameter values by canonical field
         * @return this builder
         */
        public Builder parameters(Map<String, JsonNode> v) {
            parameters = v;
            return this;
        }

        /**
         * @param v how the trial ended
         * @return this builder
         */
        public Builder status(Status v) {
            status = v;
            return this;
        }

        /**
         * @param v what it reached
         * @return this builder
         */
        public Builder metrics(Map<String, Double> v) {
            metrics = v;
            return this;
        }

        /**
         * @param v optimizer steps done
         * @return this builder
         */
        public Builder steps(long v) {
            steps = v;
            return this;
        }

        /**
         * @param v training time in seconds
         * @return this builder
         */
        public Builder seconds(double v) {
            seconds = v;
            return this;
        }

        /**
         * @param v the best adapter's folder
         * @return this builder
         */
        public Builder adapter(Path v) {
            adapter = v;
            return this;
        }

        /**
         * @param v the newest checkpoint's folder
         * @return this builder
         */
        public Builder lastCheckpoint(Path v) {
            lastCheckpoint = v;
            return this;
        }

        /**
         * @param v why it did not finish
         * @return this builder
         */
        public Builder reason(String v) {
            reason = v;
            return this;
        }

        /**
         * Sets the failure and, unless one is set, the reason (its message).
         *
         * @param v what went wrong
         * @return this builder
         */
        public Builder failure(Failure v) {
            failure = v;
            if (v != null && reason == null) {
                reason = v.message();
            }
            return this;
        }

        /**
         * @param v why it was rejected
         * @return this builder
         */
        public Builder errors(List<ConfigError> v) {
            errors = v;
            return this;
        }

        /**
         * @param v how many times it was started
         * @return this builder
         */
        public Builder attempts(int v) {
            attempts = v;
            return this;
        }

        /**
         * @param v where its last attempt trained
         * @return this builder
         */
        public Builder node(String v) {
            node = v;
            return this;
        }

        /**
         * @return the result
         */
        public TrialResult build() {
            return new TrialResult(trialId, name, index, parameters, status, metrics, steps, seconds, adapter,
                    lastCheckpoint, reason, failure, errors, attempts, node);
        }
    }
}
