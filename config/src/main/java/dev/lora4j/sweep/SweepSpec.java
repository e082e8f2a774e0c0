package dev.lora4j.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.config.Documents;
import dev.lora4j.config.Loaded;
import dev.lora4j.run.RunSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * A sweep file (YAML or JSON, shaped like a W&B sweep): a base run ({@code name, model, task, data, training, lora,
 * resources}) plus {@code method}, {@code metric}, {@code parameters} and {@code early_terminate}. Reading one checks
 * everything, every parameter value included, so that nothing fails after the first trial started.
 */
public final class SweepSpec {
    /** The top-level keys of a sweep file. */
    public static final List<String> KEYS = List.of("name", "model", "task", "data", "training", "lora", "resources",
            "method", "metric", "parameters", "early_terminate", "scheduler",
            "run_cap");

    private final RunSpec base;
    private final ObjectNode loraTree;
    private final ObjectNode trainingTree;
    private final SweepMethod method;
    private final Metric metric;
    private final List<Parameter> parameters;
    private final EarlyTerminate earlyTerminate;
    private final long runCap;
    private final Trials trials;

    SweepSpec(RunSpec base, ObjectNode loraTree, ObjectNode trainingTree, SweepMethod method, Metric metric,
              List<Parameter> parameters, EarlyTerminate earlyTerminate, long runCap) {
        this.base = Objects.requireNonNull(base, "base");
        this.loraTree = loraTree.deepCopy();
        this.trainingTree = trainingTree.deepCopy();
        this.method = Objects.requireNonNull(method, "method");
        this.metric = Objects.requireNonNull(metric, "metric");
        this.parameters = List.copyOf(parameters);
        this.earlyTerminate = earlyTerminate;
        this.runCap = runCap;
        this.trials = new Trials(this);
    }

    /** Reads and checks a sweep file; throws a {@link dev.lora4j.config.ConfigException} listing every error. */
    public static Loaded<SweepSpec> read(Path file) {
        return fromTree(Documents.read(file), file);
    }

    /** Reads a sweep tree whose relative paths are relative to {@code file}'s folder. */
    public static Loaded<SweepSpec> fromTree(JsonNode root, Path file) {
        return SweepParser.parse(root, file);
    }

    public String name() {
        return base.name();
    }

    /** The run every trial starts from: the file's lora and training with no parameter applied. */
    public RunSpec base() {
        return base;
    }

    public SweepMethod method() {
        return method;
    }

    public Metric metric() {
        return metric;
    }

    /** In the order the file declares them. */
    public List<Parameter> parameters() {
        return parameters;
    }

    /** ASHA, Hyperband or population-based training (a sweep file's {@code scheduler}); empty: every trial runs to its end (or its own early stopping). */
    public Optional<EarlyTerminate> earlyTerminate() {
        return Optional.ofNullable(earlyTerminate);
    }

    /** W&B's {@code run_cap}: the most trials the sweep runs (the first ones); {@link Long#MAX_VALUE} without one. */
    public long runCap() {
        return runCap;
    }

    /** The trials, expanded lazily. */
    public Trials trials() {
        return trials;
    }

    /** The number of trials, computed without expanding them. */
    public long size() {
        return trials.size();
    }

    /** {@code NAME: 6 trials (grid over r, lora_alpha), metric eval_loss minimize}. */
    public String summary() {
        String over = parameters.stream().filter(Parameter::varies).map(Parameter::name)
                .collect(Collectors.joining(", "));
        String how = method.json() + (over.isEmpty() ? ", nothing varies" : " over " + over)
                + (method instanceof SweepMethod.Random r ? ", seed " + r.seed() : "")
                + (method instanceof SweepMethod.Bayes b ? ", seed " + b.seed() + ", " + b.startupTrials()
                        + " start-up" : "")
                + (runCap != Long.MAX_VALUE ? ", run_cap " + runCap : "");
        String pbt = earlyTerminate instanceof Pbt p ? ", pbt every " + p.perturbationInterval() + " steps mutating "
                + p.mutations().keySet().stream().map(f -> f.substring(f.indexOf('.') + 1))
                        .collect(Collectors.joining(", ")) : "";
        return name() + ": " + size() + " trial" + (size() == 1 ? "" : "s") + " (" + how + "), metric " + metric
                + pbt;
    }

    /** A copy of the file's lora mapping (before any parameter). */
    ObjectNode loraTree() {
        return loraTree.deepCopy();
    }

    /** A copy of the file's training mapping (before any parameter). */
    ObjectNode trainingTree() {
        return trainingTree.deepCopy();
    }
}
