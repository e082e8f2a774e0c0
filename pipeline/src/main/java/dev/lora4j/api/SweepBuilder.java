package dev.lora4j.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.LoraConfigJson;
import dev.lora4j.config.TaskType;
import dev.lora4j.run.TrainingConfig;
import dev.lora4j.sweep.Goal;
import dev.lora4j.sweep.SweepSpec;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A sweep built in Java instead of read from a file. It produces the same tree a sweep file would and goes through
 * the same parser, so a built sweep is validated exactly like a file (and {@link #build()} throws a
 * {@link dev.lora4j.config.ConfigException} listing every problem).
 *
 * <pre>{@code
 * SweepSpec spec = SweepBuilder.named("qv-grid")
 *         .model(Path.of("models/tinyllama")).data(Path.of("train.jsonl"), Path.of("eval.jsonl"))
 *         .lora(LoraConfig.builder().targetModules("q_proj", "v_proj").build())
 *         .training(TrainingConfig.builder().maxSteps(200).evalSteps(50).build())
 *         .grid("r", 8, 16).tiedTo("lora_alpha", "r", 1, 2)
 *         .build();
 * }</pre>
 */
public final class SweepBuilder {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private final ObjectNode root = F.objectNode();
    private final ObjectNode parameters = F.objectNode();
    private Path baseDir = Path.of("").toAbsolutePath();

    private SweepBuilder(String name) {
        root.put("name", name);
    }

    public static SweepBuilder named(String name) {
        return new SweepBuilder(name);
    }

    /** Relative paths are resolved against this folder (default: the working directory). */
    public SweepBuilder relativeTo(Path dir) {
        baseDir = dir.toAbsolutePath();
        return this;
    }

    public SweepBuilder model(Path folder) {
        root.put("model", folder.toString());
        return this;
    }

    /** {@code builtin:all-minilm-l6-v2} and friends. */
    public SweepBuilder model(String spec) {
        root.put("model", spec);
        return this;
    }

    public SweepBuilder task(TaskType task) {
        root.put("task", task.name());
        return this;
    }

    public SweepBuilder data(Path train, Path eval) {
        ObjectNode d = root.putObject("data");
        d.put("train", train.toString());
        if (eval != null) {
            d.put("eval", eval.toString());
        }
        return this;
    }

    /** Any other data key ({@code text_field}, {@code max_length}, {@code labels}, ...). */
    public SweepBuilder data(String key, JsonNode value) {
        ((ObjectNode) root.with("data")).set(key, value);
        return this;
    }

    public SweepBuilder lora(LoraConfig lora) {
        root.set("lora", LoraConfigJson.toTree(lora));
        return this;
    }

    public SweepBuilder training(TrainingConfig training) {
        root.set("training", training.toTree());
        return this;
    }

    public SweepBuilder grid() {
        root.put("method", "grid");
        return this;
    }

    public SweepBuilder random(int trials, long seed) {
        root.putObject("method").put("type", "random").put("trials", trials).put("seed", seed);
        return this;
    }

    public SweepBuilder metric(String name, Goal goal) {
        root.putObject("metric").put("name", name).put("goal", goal.name().toLowerCase(Locale.ROOT));
        return this;
    }

    /** A parameter with a list of values (a field of lora or training, by name or dotted path). */
    public SweepBuilder grid(String parameter, Number... values) {
        ArrayNode v = parameters.putObject(parameter).putArray("values");
        for (Number n : values) {
            v.add(n instanceof Double || n instanceof Float ? F.numberNode(n.doubleValue())
                    : F.numberNode(n.longValue()));
        }
        return this;
    }

    /** {@code parameter = other x factor} for each factor (e.g. lora_alpha tied to r). */
    public SweepBuilder tiedTo(String parameter, String other, Number... factors) {
        ObjectNode p = parameters.putObject(parameter);
        p.put("ratio_to", other);
        ArrayNode v = p.putArray("values");
        for (Number n : factors) {
            v.add(n.doubleValue());
        }
        return this;
    }

    /** A random-search range: distribution {@code uniform}, {@code log_uniform} or {@code int_uniform}. */
    public SweepBuilder range(String parameter, double min, double max, String distribution) {
        parameters.putObject(parameter).put("min", min).put("max", max).put("distribution", distribution);
        return this;
    }

    /** ASHA early termination (rungs count evaluations; needs training.eval_steps). */
    public SweepBuilder asha(int gracePeriod, int reductionFactor, Integer maxT) {
        ObjectNode a = root.putObject("early_terminate").put("type", "asha").put("grace_period", gracePeriod)
                .put("reduction_factor", reductionFactor);
        if (maxT != null) {
            a.put("max_t", maxT);
        }
        return this;
    }

    /** Devices ({@code cpu}, {@code gpu:0}) and trials per device. */
    public SweepBuilder resources(int trialsPerDevice, Integer maxFailures, String... devices) {
        ObjectNode r = root.putObject("resources");
        if (devices.length == 0) {
            r.put("devices", "auto");
        } else {
            ArrayNode d = r.putArray("devices");
            for (String s : devices) {
                d.add(s);
            }
        }
        r.put("trials_per_device", trialsPerDevice);
        if (maxFailures != null) {
            r.put("max_failures", maxFailures);
        }
        return this;
    }

    /** The tree a sweep file with these settings would hold. */
    public ObjectNode tree() {
        ObjectNode t = root.deepCopy();
        if (!t.has("method")) {
            t.put("method", "grid");
        }
        t.set("parameters", parameters.deepCopy());
        return t;
    }

    public SweepSpec build() {
        return SweepSpec.fromTree(tree(), baseDir.resolve("sweep.yaml")).value();
    }
}
