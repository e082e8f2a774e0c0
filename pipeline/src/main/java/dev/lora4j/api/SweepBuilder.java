package dev.lora4j.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.config.ConfigException;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.LoraConfigJson;
import dev.lora4j.config.TaskType;
import dev.lora4j.model.Builtins;
import dev.lora4j.run.TrainingConfig;
import dev.lora4j.sweep.Goal;
import dev.lora4j.sweep.Metric;
import dev.lora4j.sweep.SweepSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * A sweep built in Java instead of read from a file. Setters may come in any order; {@link #build()} assembles the
 * tree a sweep file would hold and checks it exactly as a file is checked, throwing a {@link ConfigException} that
 * lists every problem by its field ({@code lora.r}, {@code parameters.lora_alpha.values[2]}, {@code metric.name}):
 * nothing fails later, inside the sweep.
 *
 * <pre>{@code
 * SweepSpec spec = SweepBuilder.named("qv-grid")
 *         .model(Path.of("models/tinyllama")).data(Path.of("train.jsonl"), Path.of("eval.jsonl"))
 *         .lora(l -> l.targetModules("q_proj", "v_proj"))
 *         .training(t -> t.maxSteps(200).evalSteps(50))
 *         .grid("r", 8, 16).tiedTo("lora_alpha", "r", 1, 2)
 *         .build();
 * }</pre>
 */
public final class SweepBuilder {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String name;
    private Path baseDir = Path.of("").toAbsolutePath();
    private String model;
    private TaskType task;
    private Path train;
    private Path eval;
    private final Map<String, JsonNode> dataOptions = new LinkedHashMap<>();
    private LoraConfig lora = LoraConfig.builder().build();
    private TrainingConfig training = TrainingConfig.builder().build();
    private ObjectNode method;
    private ObjectNode metric;
    private final ObjectNode parameters = F.objectNode();
    private ObjectNode earlyTerminate;
    private Long runCap;
    private final List<String> devices = new ArrayList<>();
    private Integer trialsPerDevice;
    private Integer maxFailures;

    private SweepBuilder(String name) {
        this.name = Objects.requireNonNull(name, "name");
    }

    /**
     * A new sweep named {@code name} (the run folder's default name, {@code runs/NAME}).
     *
     * @param name letters, digits, {@code . _ -}
     * @return the builder
     */
    public static SweepBuilder named(String name) {
        return new SweepBuilder(name);
    }

    /**
     * Resolves relative paths against {@code dir} (default: the working directory).
     *
     * @param dir the folder relative paths start from
     * @return this builder
     */
    public SweepBuilder relativeTo(Path dir) {
        baseDir = dir.toAbsolutePath();
        return this;
    }

    /**
     * The base model: a Hugging Face folder ({@code config.json} and safetensors).
     *
     * @param folder the model's folder
     * @return this builder
     */
    public SweepBuilder model(Path folder) {
        model = folder.toString();
        return this;
    }

    /**
     * The base model by name: {@code builtin:all-minilm-l6-v2} (an encoder; its task defaults to {@code SEQ_CLS}), or
     * a folder's path.
     *
     * @param spec {@code builtin:NAME} or a path
     * @return this builder
     */
    public SweepBuilder model(String spec) {
        model = spec;
        return this;
    }

    /**
     * PEFT's task type; {@code CAUSAL_LM} and {@code SEQ_CLS} train. Default: {@code SEQ_CLS} for a builtin encoder,
     * else what a sweep file defaults to.
     *
     * @param task the task
     * @return this builder
     */
    public SweepBuilder task(TaskType task) {
        this.task = task;
        return this;
    }

    /**
     * Training data only (no evaluation: the metric must then be a training one, such as {@code train_loss}).
     *
     * @param train a JSONL or CSV file
     * @return this builder
     */
    public SweepBuilder data(Path train) {
        this.train = train;
        this.eval = null;
        return this;
    }

    /**
     * Training and evaluation data.
     *
     * @param train a JSONL or CSV file
     * @param eval a JSONL or CSV file evaluated at {@code eval_steps} and at the end
     * @return this builder
     */
    public SweepBuilder data(Path train, Path eval) {
        this.train = train;
        this.eval = eval;
        return this;
    }

    /**
     * The class labels of a {@code SEQ_CLS} task, in the order of their ids.
     *
     * @param labels label names
     * @return this builder
     */
    public SweepBuilder labels(String... labels) {
        dataOptions.put("labels", JSON.valueToTree(List.of(labels)));
        return this;
    }

    /**
     * Tokens per row after truncation.
     *
     * @param tokens at least 1
     * @return this builder
     */
    public SweepBuilder maxLength(int tokens) {
        dataOptions.put("max_length", F.numberNode(tokens));
        return this;
    }

    /**
     * Any other data key, as a sweep file spells it ({@code format}, {@code text_field}, {@code label_field}).
     *
     * @param key the key
     * @param value a string, number, boolean or list
     * @return this builder
     */
    public SweepBuilder dataOption(String key, Object value) {
        dataOptions.put(key, JSON.valueToTree(value));
        return this;
    }

    /**
     * The LoRA config every trial starts from (parameters then override fields of it).
     *
     * @param lora PEFT's {@code LoraConfig}
     * @return this builder
     */
    public SweepBuilder lora(LoraConfig lora) {
        this.lora = Objects.requireNonNull(lora, "lora");
        return this;
    }

    /**
     * The LoRA config, built in place: {@code .lora(l -> l.targetModules("q_proj", "v_proj").loraDropout(0.05))}.
     *
     * @param settings sets fields of a builder with PEFT's defaults
     * @return this builder
     */
    public SweepBuilder lora(UnaryOperator<LoraConfig.Builder> settings) {
        return lora(settings.apply(LoraConfig.builder()).build());
    }

    /**
     * The training config every trial starts from (Hugging Face {@code TrainingArguments} fields).
     *
     * @param training the config
     * @return this builder
     */
    public SweepBuilder training(TrainingConfig training) {
        this.training = Objects.requireNonNull(training, "training");
        return this;
    }

    /**
     * The training config, built in place: {@code .training(t -> t.maxSteps(200).learningRate(3e-4))}.
     *
     * @param settings sets fields of a builder with the defaults
     * @return this builder
     */
    public SweepBuilder training(UnaryOperator<TrainingConfig.Builder> settings) {
        return training(settings.apply(TrainingConfig.builder()).build());
    }

    /**
     * Grid search (the default): every combination of the parameters' values.
     *
     * @return this builder
     */
    public SweepBuilder grid() {
        method = null;
        return this;
    }

    /**
     * Random search: {@code trials} draws, reproducible from {@code seed}.
     *
     * @param trials how many trials
     * @param seed the draws' seed
     * @return this builder
     */
    public SweepBuilder random(int trials, long seed) {
        method = F.objectNode().put("type", "random").put("trials", trials).put("seed", seed);
        return this;
    }

    /**
     * The metric that ranks trials and picks each one's best adapter.
     *
     * @param name a metric trials report ({@code eval_loss}, {@code eval_accuracy}, {@code train_loss}, ...)
     * @param goal which way is better
     * @return this builder
     */
    public SweepBuilder metric(String name, Goal goal) {
        JsonNode target = metric == null ? null : metric.get("target");
        metric = F.objectNode().put("name", name).put("goal", goal.name().toLowerCase(Locale.ROOT));
        if (target != null) {
            metric.set("target", target);
        }
        return this;
    }

    /**
     * W&amp;B's {@code metric.target}: the sweep starts no trial after one reaches {@code value} (at or below it when
     * minimizing, at or above when maximizing); trials running then finish.
     *
     * @param value the metric value that is good enough
     * @return this builder
     */
    public SweepBuilder target(double value) {
        if (metric == null) {
            metric = F.objectNode().put("name", Metric.DEFAULT.name());
        }
        metric.put("target", value);
        return this;
    }

    /**
     * W&amp;B's {@code run_cap}: the sweep runs at most its first {@code n} trials.
     *
     * @param n at least 1
     * @return this builder
     */
    public SweepBuilder runCap(long n) {
        runCap = n;
        return this;
    }

    /**
     * Ranks by {@code name}, lower first.
     *
     * @param name a metric trials report
     * @return this builder
     */
    public SweepBuilder minimize(String name) {
        return metric(name, Goal.MINIMIZE);
    }

    /**
     * Ranks by {@code name}, higher first.
     *
     * @param name a metric trials report
     * @return this builder
     */
    public SweepBuilder maximize(String name) {
        return metric(name, Goal.MAXIMIZE);
    }

    /**
     * A parameter with a list of values: numbers, strings ({@code lr_scheduler_type}), booleans ({@code use_dora}),
     * lists ({@code target_modules}) or maps.
     *
     * @param parameter a field of lora or training, by name ({@code r}) or dotted path ({@code lora.r})
     * @param values its values, at least one
     * @return this builder
     */
    public SweepBuilder grid(String parameter, Object... values) {
        ArrayNode v = parameters.putObject(parameter).putArray("values");
        for (Object x : values) {
            v.add(value(x));
        }
        return this;
    }

    /**
     * {@code parameter = other x factor} for each factor (e.g. {@code lora_alpha} tied to {@code r}).
     *
     * @param parameter the tied field
     * @param other the field it follows
     * @param factors the ratios, at least one
     * @return this builder
     */
    public SweepBuilder tiedTo(String parameter, String other, Number... factors) {
        ObjectNode p = parameters.putObject(parameter);
        p.put("ratio_to", other);
        ArrayNode v = p.putArray("values");
        for (Number n : factors) {
            v.add(n.doubleValue());
        }
        return this;
    }

    /**
     * A random-search range.
     *
     * @param parameter a numeric field
     * @param min the lower bound
     * @param max the upper bound
     * @param distribution {@code uniform}, {@code log_uniform_values}, {@code int_uniform}, {@code q_uniform}, ...
     *     (W&amp;B's names and meanings: {@code log_uniform} takes natural-log exponents)
     * @return this builder
     */
    public SweepBuilder range(String parameter, double min, double max, String distribution) {
        parameters.putObject(parameter).put("min", min).put("max", max).put("distribution", distribution);
        return this;
    }

    /**
     * ASHA early termination (rungs count evaluations, so {@code training.eval_steps} must be set).
     *
     * @param gracePeriod evaluations before the first rung
     * @param reductionFactor 1/this of the trials go on at each rung
     * @return this builder
     */
    public SweepBuilder asha(int gracePeriod, int reductionFactor) {
        earlyTerminate = F.objectNode().put("type", "asha").put("grace_period", gracePeriod)
                .put("reduction_factor", reductionFactor);
        return this;
    }

    /**
     * As {@link #asha(int, int)}, with no rung at or beyond {@code maxT} evaluations.
     *
     * @param gracePeriod evaluations before the first rung
     * @param reductionFactor 1/this of the trials go on at each rung
     * @param maxT the last evaluation that can hold a rung
     * @return this builder
     */
    public SweepBuilder asha(int gracePeriod, int reductionFactor, int maxT) {
        asha(gracePeriod, reductionFactor);
        earlyTerminate.put("max_t", maxT);
        return this;
    }

    /**
     * Where trials train: {@code cpu}, {@code gpu:0}, ... (default: every GPU, else the CPU).
     *
     * @param devices device names
     * @return this builder
     */
    public SweepBuilder devices(String... devices) {
        this.devices.clear();
        this.devices.addAll(List.of(devices));
        return this;
    }

    /**
     * Trials that share one device lane, taking turns step by step (default 1).
     *
     * @param n at least 1
     * @return this builder
     */
    public SweepBuilder trialsPerDevice(int n) {
        trialsPerDevice = n;
        return this;
    }

    /**
     * Retries of a failed trial before it counts as failed (default 0; out-of-memory back-offs do not count).
     *
     * @param n at least 0
     * @return this builder
     */
    public SweepBuilder maxFailures(int n) {
        maxFailures = n;
        return this;
    }

    /**
     * The tree a sweep file with these settings would hold.
     *
     * @return a new tree
     */
    public ObjectNode tree() {
        ObjectNode t = F.objectNode();
        t.put("name", name);
        if (model != null) {
            t.put("model", model);
        }
        TaskType effective = task != null ? task
                : model != null && Builtins.isBuiltin(model) ? TaskType.SEQ_CLS : null;
        if (effective != null) {
            t.put("task", effective.name());
        }
        if (train != null || !dataOptions.isEmpty()) {
            ObjectNode d = t.putObject("data");
            if (train != null) {
                d.put("train", train.toString());
            }
            if (eval != null) {
                d.put("eval", eval.toString());
            }
            dataOptions.forEach(d::set);
        }
        t.set("training", training.toTree());
        t.set("lora", LoraConfigJson.toTree(lora));
        if (method == null) {
            t.put("method", "grid");
        } else {
            t.set("method", method.deepCopy());
        }
        if (metric != null) {
            t.set("metric", metric.deepCopy());
        }
        t.set("parameters", parameters.deepCopy());
        if (earlyTerminate != null) {
            t.set("early_terminate", earlyTerminate.deepCopy());
        }
        if (runCap != null) {
            t.put("run_cap", runCap);
        }
        if (!devices.isEmpty() || trialsPerDevice != null || maxFailures != null) {
            ObjectNode r = t.putObject("resources");
            if (!devices.isEmpty()) {
                ArrayNode d = r.putArray("devices");
                devices.forEach(d::add);
            }
            if (trialsPerDevice != null) {
                r.put("trials_per_device", trialsPerDevice);
            }
            if (maxFailures != null) {
                r.put("max_failures", maxFailures);
            }
        }
        return t;
    }

    /**
     * Checks the sweep as a file would be checked (which includes that a {@code builtin:} model exists).
     *
     * @return the sweep spec, ready for {@link Lora4j#sweep(SweepSpec, SweepOptions)}
     * @throws ConfigException listing every problem, each naming its field
     */
    public SweepSpec build() {
        try {
            return SweepSpec.fromTree(tree(), baseDir.resolve("sweep.yaml")).value();
        } catch (ConfigException e) {
            // a spec built in code has no file: its errors name fields only
            throw new ConfigException(e.errors());
        }
    }

    private static JsonNode value(Object x) {
        if (x instanceof Double || x instanceof Float) {
            return F.numberNode(((Number) x).doubleValue());
        }
        if (x instanceof Number n) {
            return F.numberNode(n.longValue());
        }
        return JSON.valueToTree(x);
    }
}
