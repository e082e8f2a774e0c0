package dev.lora4j.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.config.ConfigException;
import dev.lora4j.config.Documents;
import dev.lora4j.config.Loaded;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.LoraConfigJson;
import dev.lora4j.config.LoraConfigValidator;
import dev.lora4j.config.Numbers;
import dev.lora4j.config.Problems;
import dev.lora4j.config.Section;
import dev.lora4j.config.TaskType;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * One training run, as the {@code train} command's file describes it (YAML or JSON): {@code name}, {@code model},
 * {@code task}, {@code data}, {@code training}, {@code lora}, {@code resources}. A sweep file has the same keys plus
 * the search; every trial of a sweep is a RunSpec.
 *
 * @param file the file the run was read from; relative paths in it were resolved against its folder
 */
public record RunSpec(String name, ModelSpec model, TaskType task, DataSpec data, TrainingConfig training,
                      LoraConfig lora, Resources resources, Path file) {
    public static final List<String> KEYS = List.of("name", "model", "task", "data", "training", "lora", "resources");

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    public RunSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(task, "task");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(training, "training");
        Objects.requireNonNull(lora, "lora");
        Objects.requireNonNull(resources, "resources");
        Objects.requireNonNull(file, "file");
    }

    /** Reads and checks a training config file; throws a {@link ConfigException} listing every error. */
    public static Loaded<RunSpec> read(Path file) {
        return fromTree(Documents.read(file), file);
    }

    /** Reads a training config tree whose relative paths are relative to {@code file}'s folder. */
    public static Loaded<RunSpec> fromTree(JsonNode root, Path file) {
        Problems p = new Problems();
        Optional<Section> s = Section.of(root, "", p);
        Optional<RunSpec> run = s.flatMap(sec -> {
            sec.rejectUnknown(KEYS);
            return parse(sec, file);
        });
        p.throwIfErrors(file);
        return new Loaded<>(run.orElseThrow(), p.warnings());
    }

    /**
     * Reads the keys a run has from {@code root} (other keys are left to the caller: a sweep file has more) and checks
     * them, files on disk included, reporting to {@code root.problems()}. The result is empty when the model or data
     * could not be read at all; when it is present there may still have been errors (the bad fields then hold their
     * defaults), which lets a sweep check its parameters against the base even when the base has a mistake.
     */
    public static Optional<RunSpec> parse(Section root, Path file) {
        Problems p = root.problems();
        Path baseDir = file.toAbsolutePath().normalize().getParent();
        String name = root.string("name").orElseGet(() -> stem(file));
        if (!NAME.matcher(name).matches()) {
            p.error("name", "name must start with a letter or digit and hold only letters, digits, '.', '_' or '-' "
                    + "(it names the run folder), got \"" + name + "\"");
        }
        Optional<ModelSpec> model = root.string("model").map(m -> ModelSpec.parse(m, baseDir));
        if (!root.has("model")) {
            p.error("model", "missing: a Hugging Face model folder (relative to this file) or builtin:NAME");
        }
        model.ifPresent(m -> m.validate("model", p));
        TaskType task = task(root);
        Optional<DataSpec> data = Optional.empty();
        if (!root.has("data")) {
            p.error("data", "missing: a mapping with at least train: <file>");
        } else {
            data = root.section("data").flatMap(d -> DataSpec.fromSection(d, baseDir));
        }
        Resources resources = root.section("resources").map(Resources::fromSection).orElse(Resources.defaults());
        ObjectNode lora = tree(root, "lora");
        ObjectNode training = tree(root, "training");
        if (model.isEmpty() || data.isEmpty()) {
            // still check the sections so that all errors come out in one run
            sections(task, data.orElse(null), lora, training, p);
            return Optional.empty();
        }
        RunSpec shell = new RunSpec(name, model.get(), task, data.get(), TrainingConfig.defaults(),
                LoraConfig.defaults(), resources, file.toAbsolutePath().normalize());
        return Optional.of(shell.withSections(lora, training, p));
    }

    /**
     * This run with its {@code lora} and {@code training} mappings replaced (a sweep trial is the base run with some
     * fields set), checked as a file would be. Errors go to {@code p}; the result is meaningful only when there were
     * none (a value of the wrong type reads as its default).
     */
    public RunSpec withSections(ObjectNode loraTree, ObjectNode trainingTree, Problems p) {
        Sections sec = sections(task, data, loraTree, trainingTree, p);
        return new RunSpec(name, model, task, data, sec.training(), sec.lora(), resources, file);
    }

    /** One line: {@code NAME: LORA r=8 ... task=CAUSAL_LM, model M, 20 steps}. */
    public String summary() {
        String length = training.maxSteps() > 0 ? training.maxSteps() + " steps"
                : Numbers.format(training.numTrainEpochs()) + " epoch" + (training.numTrainEpochs() == 1 ? "" : "s");
        return name + ": " + lora.summary() + ", model " + model.text() + ", " + length;
    }

    /** The file's tree with resolved paths: what a run folder records as the spec it ran. */
    public ObjectNode toTree() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("name", name);
        o.put("model", model.isBuiltin() ? model.text() : model.path().toString());
        o.put("task", task.name());
        o.set("data", data.toTree());
        o.set("training", training.toTree());
        o.set("lora", LoraConfigJson.toTree(lora));
        o.set("resources", resources.toTree());
        return o;
    }

    private record Sections(TrainingConfig training, LoraConfig lora) {}

    /** Reads and checks the lora and training mappings; {@code data} is null when the data section was bad. */
    private static Sections sections(TaskType task, DataSpec data, ObjectNode loraTree, ObjectNode trainingTree,
                                     Problems p) {
        TrainingConfig t = TrainingConfig.fromSection(new Section(trainingTree, "training", p));
        p.addAll(t.validate("training"));
        LoraConfig l = LoraConfigJson.fromSection(new Section(loraTree, LoraConfigJson.PATH, p));
        Optional<TaskType> loraTask = l.taskType().flatMap(TaskType::parse);
        if (loraTask.isPresent() && loraTask.get() != task) {
            p.error("lora.task_type", "task_type \"" + loraTask.get() + "\" contradicts task \"" + task
                    + "\"; set task only");
        } else if (l.taskType().isEmpty()) {
            l = l.toBuilder().taskType(task).build();
        }
        p.addAll(LoraConfigValidator.validate(l, LoraConfigJson.PATH));
        if (data != null && t.earlyStoppingPatience().isPresent() && data.eval().isEmpty()) {
            p.error("training.early_stopping_patience", "early stopping watches the evaluation loss: set data.eval, "
                    + "or early_stopping_patience: null");
        }
        if (t.packing() && task != TaskType.CAUSAL_LM) {
            p.error("training.packing", "packing concatenates causal-LM rows into full-length sequences; task is "
                    + task + ": set packing: false (allowed only with task CAUSAL_LM)");
        }
        if (data != null && !data.labels().isEmpty() && task != TaskType.SEQ_CLS) {
            p.warn("data.labels is only used by SEQ_CLS tasks; task is " + task);
        }
        return new Sections(t, l);
    }

    /** {@code task}, else a valid {@code lora.task_type}, else CAUSAL_LM. */
    private static TaskType task(Section root) {
        Optional<String> text = root.string("task");
        if (text.isPresent()) {
            Optional<TaskType> t = TaskType.parse(text.get());
            if (t.isEmpty()) {
                root.problems().error("task", "Invalid task type: '" + text.get() + "'. Must be one of the following "
                        + "task types: " + TaskType.allowed() + ".");
            }
            return t.orElse(TaskType.CAUSAL_LM);
        }
        JsonNode lt = root.node().path("lora").path("task_type");
        return lt.isTextual() ? TaskType.parse(lt.textValue()).orElse(TaskType.CAUSAL_LM) : TaskType.CAUSAL_LM;
    }

    /** The mapping at {@code key}, an empty one when absent (defaults), a type error otherwise. */
    private static ObjectNode tree(Section root, String key) {
        return root.section(key).map(Section::node).orElseGet(JsonNodeFactory.instance::objectNode);
    }

    private static String stem(Path file) {
        String n = file.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 ? n.substring(0, dot) : n;
    }
}
