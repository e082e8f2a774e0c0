package dev.lora4j.api;

import dev.lora4j.checkpoint.Checkpoint;
import dev.lora4j.checkpoint.CheckpointStore;
import dev.lora4j.config.Loaded;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.LoraConfigJson;
import dev.lora4j.config.TaskType;
import dev.lora4j.data.Batches;
import dev.lora4j.data.DataOptions;
import dev.lora4j.data.TokenizedDataset;
import dev.lora4j.data.Tokenizer;
import dev.lora4j.lora.Adapter;
import dev.lora4j.lora.MergedModels;
import dev.lora4j.lora.PeftAdapters;
import dev.lora4j.model.Adaptation;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.Builtins;
import dev.lora4j.model.HfModels;
import dev.lora4j.run.RunSpec;
import dev.lora4j.runtime.Torch;
import dev.lora4j.train.Evaluator;
import dev.lora4j.train.Objective;
import dev.lora4j.train.RunFolder;
import dev.lora4j.train.StepReport;
import dev.lora4j.train.TrainListener;
import dev.lora4j.train.TrainingData;
import dev.lora4j.train.TrialData;
import dev.lora4j.train.TrialRun;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalDouble;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The common jobs on one model, each one call that returns a typed result, without actors: evaluate a model (with a
 * PEFT adapter) on a data file, merge an adapter into a model folder, read what an adapter holds, train one config.
 * The CLI's {@code eval}, {@code merge} and {@code train} are these calls. Models are Hugging Face folders or
 * {@code builtin:NAME}; devices are {@code cpu} (the default), {@code gpu} or {@code gpu:N}.
 *
 * <pre>{@code
 * Engine.Evaluation e = Engine.evaluate("models/tiny", Path.of("adapter"), Path.of("eval.jsonl"));
 * double loss = e.loss();
 * }</pre>
 */
public final class Engine {
    private Engine() {}

    /**
     * What an evaluation measured.
     *
     * @param metrics {@code eval_loss}, and {@code eval_tokens}/{@code eval_perplexity} (causal LM) or
     *     {@code eval_samples}/{@code eval_accuracy} (classifier)
     * @param warnings what loading the adapter warned about (PEFT's warnings)
     */
    public record Evaluation(Map<String, Double> metrics, List<String> warnings) {
        /**
         * Copies the maps, keeping their order.
         *
         * @param metrics what was measured
         * @param warnings what loading warned about
         */
        public Evaluation {
            metrics = Collections.unmodifiableMap(new LinkedHashMap<>(metrics));
            warnings = List.copyOf(warnings);
        }

        /**
         * The mean loss.
         *
         * @return {@code eval_loss}
         */
        public double loss() {
            return metrics.get("eval_loss");
        }

        /**
         * A classifier's accuracy.
         *
         * @return {@code eval_accuracy}, empty for a causal LM
         */
        public OptionalDouble accuracy() {
            Double a = metrics.get("eval_accuracy");
            return a == null ? OptionalDouble.empty() : OptionalDouble.of(a);
        }

        /**
         * A causal LM's perplexity.
         *
         * @return {@code eval_perplexity}, empty for a classifier
         */
        public OptionalDouble perplexity() {
            Double p = metrics.get("eval_perplexity");
            return p == null ? OptionalDouble.empty() : OptionalDouble.of(p);
        }
    }

    /**
     * An evaluation's inputs; {@link #of(String, Path)} gives the defaults (no adapter, batches of 8, 512 tokens per
     * row, the task the adapter or architecture says, the CPU).
     *
     * @param model a Hugging Face folder or {@code builtin:NAME}
     * @param data a JSONL or CSV file
     * @param adapter a PEFT adapter folder, or null for the base model alone
     * @param batchSize rows per batch (the result does not depend on it)
     * @param maxLength tokens per row after truncation
     * @param labels a classifier's label names in id order, or empty for the file's, sorted
     * @param task the model's head, or null for the adapter's task type, else the architecture's default
     * @param device {@code cpu}, {@code gpu}, {@code gpu:N}
     */
    public record Evaluate(String model, Path data, Path adapter, int batchSize, int maxLength, List<String> labels,
            TaskType task, String device) {
        /**
         * Checks what can be checked without reading files.
         *
         * @param model a Hugging Face folder or {@code builtin:NAME}
         * @param data a JSONL or CSV file
         * @param adapter a PEFT adapter folder, or null
         * @param batchSize rows per batch, at least 1
         * @param maxLength tokens per row, at least 1
         * @param labels label names in id order, or empty
         * @param task the model's head, or null
         * @param device {@code cpu}, {@code gpu}, {@code gpu:N}
         */
        public Evaluate {
            Objects.requireNonNull(model, "model");
            Objects.requireNonNull(data, "data");
            labels = List.copyOf(labels);
            if (batchSize < 1) {
                throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
            }
            if (maxLength < 1) {
                throw new IllegalArgumentException("max length must be >= 1, got " + maxLength);
            }
        }

        /**
         * An evaluation of {@code model} on {@code data} with the defaults.
         *
         * @param model a Hugging Face folder or {@code builtin:NAME}
         * @param data a JSONL or CSV file
         * @return the request
         */
        public static Evaluate of(String model, Path data) {
            return new Evaluate(model, data, null, 8, 512, List.of(), null, "cpu");
        }

        /**
         * @param dir a PEFT adapter folder
         * @return this request with the adapter
         */
        public Evaluate withAdapter(Path dir) {
            return new Evaluate(model, data, dir, batchSize, maxLength, labels, task, device);
        }

        /**
         * @param n rows per batch
         * @return this request with that batch size
         */
        public Evaluate withBatchSize(int n) {
            return new Evaluate(model, data, adapter, n, maxLength, labels, task, device);
        }

        /**
         * @param tokens tokens per row after truncation
         * @return this request with that length
         */
        public Evaluate withMaxLength(int tokens) {
            return new Evaluate(model, data, adapter, batchSize, tokens, labels, task, device);
        }

        /**
         * @param names a classifier's label names in id order
         * @return this request with those labels
         */
        public Evaluate withLabels(String... names) {
            return new Evaluate(model, data, adapter, batchSize, maxLength, List.of(names), task, device);
        }

        /**
         * @param t the model's head
         * @return this request with that task
         */
        public Evaluate withTask(TaskType t) {
            return new Evaluate(model, data, adapter, batchSize, maxLength, labels, t, device);
        }

        /**
         * @param d {@code cpu}, {@code gpu}, {@code gpu:N}
         * @return this request on that device
         */
        public Evaluate onDevice(String d) {
            return new Evaluate(model, data, adapter, batchSize, maxLength, labels, task, d);
        }
    }

    /**
     * The loss of a base model on a data file.
     *
     * @param model a Hugging Face folder or {@code builtin:NAME}
     * @param data a JSONL or CSV file
     * @return what was measured
     */
    public static Evaluation evaluate(String model, Path data) {
        return evaluate(Evaluate.of(model, data));
    }

    /**
     * The loss of a model with a PEFT adapter on a data file.
     *
     * @param model a Hugging Face folder or {@code builtin:NAME}
     * @param adapter a PEFT adapter folder ({@code adapter_config.json} + {@code adapter_model.safetensors})
     * @param data a JSONL or CSV file
     * @return what was measured
     */
    public static Evaluation evaluate(String model, Path adapter, Path data) {
        return evaluate(Evaluate.of(model, data).withAdapter(adapter));
    }

    /**
     * An evaluation with every option. The causal-LM loss is the mean cross-entropy over every predicted token of
     * the whole file (token-weighted, next-token, padding excluded); a classifier reports its mean loss and accuracy.
     *
     * @param r what to evaluate
     * @return what was measured
     */
    public static Evaluation evaluate(Evaluate r) {
        TaskType task = r.task() != null ? r.task() : r.adapter() == null ? null
                : LoraConfigJson.read(PeftAdapters.configFile(r.adapter())).value().task().orElse(null);
        List<String> warnings = new ArrayList<>();
        Map<String, Double> metrics;
        try (BaseModel base = load(r.model(), task, r.device());
                Tokenizer tokenizer = Tokenizer.forModel(base.folder().orElseThrow(),
                        base.config().intOr("pad_token_id", 0))) {
            TaskType head = base.architecture().task();
            DataOptions options = DataOptions.of(head).withMaxLength(r.maxLength());
            if (!r.labels().isEmpty()) {
                options = options.withLabels(r.labels());
            }
            TokenizedDataset rows = TokenizedDataset.build(r.data(), tokenizer, options);
            Objective objective = Objective.of(head);
            if (r.adapter() == null) {
                metrics = Evaluator.evaluate(base, Adaptation.NONE, objective, Batches.evaluation(rows,
                        r.batchSize()));
            } else {
                PeftAdapters.LoadedAdapter loaded = PeftAdapters.load(base, r.adapter(), false);
                warnings.addAll(loaded.warnings());
                try (Adapter a = loaded.adapter()) {
                    metrics = Evaluator.evaluate(base, a, objective, Batches.evaluation(rows, r.batchSize()));
                }
            }
        }
        return new Evaluation(metrics, warnings);
    }

    /**
     * PEFT's {@code merge_and_unload}: the adapter folded into the base's weights, written as a plain Hugging Face
     * folder, on the CPU.
     *
     * @param model a Hugging Face folder or {@code builtin:NAME}
     * @param adapter a PEFT adapter folder
     * @param out the folder to write
     * @return {@code out}
     */
    public static Path merge(String model, Path adapter, Path out) {
        return merge(model, adapter, out, null, "cpu");
    }

    /**
     * As {@link #merge(String, Path, Path)}, with the head and device chosen.
     *
     * @param model a Hugging Face folder or {@code builtin:NAME}
     * @param adapter a PEFT adapter folder
     * @param out the folder to write
     * @param task the model's head, or null for the adapter's task type
     * @param device {@code cpu}, {@code gpu}, {@code gpu:N}
     * @return {@code out}
     */
    public static Path merge(String model, Path adapter, Path out, TaskType task, String device) {
        TaskType t = task != null ? task
                : LoraConfigJson.read(PeftAdapters.configFile(adapter)).value().task().orElse(null);
        try (BaseModel base = load(model, t, device);
                Adapter a = PeftAdapters.load(base, adapter, false).adapter()) {
            MergedModels.write(a, out);
        }
        return out;
    }

    /**
     * One adapted module as an adapter file holds it.
     *
     * @param module the module's path in the model ({@code model.layers.0.self_attn.q_proj})
     * @param rank its r
     * @param in input features
     * @param out output features
     * @param dtype the tensors' type ({@code F32}, {@code F16}, ...)
     * @param dora whether it carries a DoRA magnitude
     * @param embedding whether it adapts an embedding
     */
    public record Module(String module, int rank, long in, long out, String dtype, boolean dora,
            boolean embedding) {}

    /**
     * What a PEFT adapter holds, read without its base model.
     *
     * @param config its {@code adapter_config.json}
     * @param modules every adapted module
     * @param fullTensors whole tensors saved with it ({@code modules_to_save}, biases)
     * @param other any other key of the file
     */
    public record AdapterInfo(LoraConfig config, List<Module> modules, List<String> fullTensors,
            List<String> other) {
        /**
         * Copies the lists.
         *
         * @param config its {@code adapter_config.json}
         * @param modules every adapted module
         * @param fullTensors whole tensors saved with it
         * @param other any other key of the file
         */
        public AdapterInfo {
            modules = List.copyOf(modules);
            fullTensors = List.copyOf(fullTensors);
            other = List.copyOf(other);
        }
    }

    /**
     * Reads a PEFT adapter folder.
     *
     * @param adapter the folder
     * @return what it holds
     */
    public static AdapterInfo inspect(Path adapter) {
        LoraConfig config = LoraConfigJson.read(PeftAdapters.configFile(adapter)).value();
        PeftAdapters.Summary s = PeftAdapters.inspect(adapter);
        return new AdapterInfo(config, s.modules().stream().map(m -> new Module(m.module(), m.rank(), m.in(),
                m.out(), m.dtype(), m.dora(), m.embedding())).toList(), s.fullTensors(), s.other());
    }

    /**
     * A training run's outcome.
     *
     * @param metrics {@code train_loss}, the best evaluation's metrics, {@code steps}, throughput
     * @param adapter the best adapter (PEFT format), or null if the run was stopped before its end
     * @param steps optimizer steps done
     * @param checkpoint the checkpoint a stopped run resumes from, or null
     */
    public record Training(Map<String, Double> metrics, Path adapter, long steps, Path checkpoint) {
        /**
         * Copies the metrics, keeping their order.
         *
         * @param metrics what the run reached
         * @param adapter the best adapter, or null
         * @param steps optimizer steps done
         * @param checkpoint where a stopped run resumes, or null
         */
        public Training {
            metrics = Collections.unmodifiableMap(new LinkedHashMap<>(metrics));
        }

        /**
         * Whether the run reached its end (or stopped early by its own patience), as opposed to being stopped.
         *
         * @return true when it has an adapter
         */
        public boolean finished() {
            return adapter != null;
        }
    }

    /**
     * A training run's inputs; {@link #of(RunSpec, Path)} gives the defaults (a fresh start, the CPU, libtorch's
     * threads, no listener, never stopped).
     *
     * @param config what to train (a training config file read with {@code RunSpec.read})
     * @param out the run's folder: {@code adapter/}, {@code progress.csv}, {@code result.json}, {@code checkpoints/}
     * @param resume continue from the newest readable checkpoint in {@code out} (a torn one is skipped)
     * @param device {@code cpu}, {@code gpu}, {@code gpu:N}
     * @param threads intra-op threads, 0 for libtorch's default
     * @param listener sees steps and evaluations as they happen (after they are written)
     * @param stop checked after each step: true stops the run there, after a checkpoint
     * @param log told what the run does (the model, resumed from where)
     * @param warn told what went wrong but not fatally (a checkpoint that cannot be read and is skipped)
     */
    public record Train(RunSpec config, Path out, boolean resume, String device, int threads, TrainListener listener,
            BooleanSupplier stop, Consumer<String> log, Consumer<String> warn) {
        /**
         * Checks the request.
         *
         * @param config what to train
         * @param out the run's folder
         * @param resume continue from the newest readable checkpoint
         * @param device {@code cpu}, {@code gpu}, {@code gpu:N}
         * @param threads intra-op threads, 0 for libtorch's default
         * @param listener sees steps and evaluations
         * @param stop checked after each step
         * @param log told what the run does
         * @param warn told what went wrong but not fatally
         */
        public Train {
            Objects.requireNonNull(config, "config");
            Objects.requireNonNull(out, "out");
            if (threads < 0) {
                throw new IllegalArgumentException("threads must be >= 0, got " + threads);
            }
        }

        /**
         * Trains {@code config} into {@code out} with the defaults.
         *
         * @param config what to train
         * @param out the run's folder
         * @return the request
         */
        public static Train of(RunSpec config, Path out) {
            return new Train(config, out, false, "cpu", 0, TrainListener.NONE, () -> false, m -> {}, m -> {});
        }

        /**
         * @param r whether to continue from the newest checkpoint
         * @return this request, resuming or not
         */
        public Train resuming(boolean r) {
            return new Train(config, out, r, device, threads, listener, stop, log, warn);
        }

        /**
         * @param d {@code cpu}, {@code gpu}, {@code gpu:N}
         * @return this request on that device
         */
        public Train onDevice(String d) {
            return new Train(config, out, resume, d, threads, listener, stop, log, warn);
        }

        /**
         * @param n intra-op threads
         * @return this request with that many
         */
        public Train withThreads(int n) {
            return new Train(config, out, resume, device, n, listener, stop, log, warn);
        }

        /**
         * @param l sees steps and evaluations
         * @return this request with that listener
         */
        public Train listenedBy(TrainListener l) {
            return new Train(config, out, resume, device, threads, l, stop, log, warn);
        }

        /**
         * @param s checked after each step; true stops the run after a checkpoint
         * @return this request, stoppable
         */
        public Train stoppedWhen(BooleanSupplier s) {
            return new Train(config, out, resume, device, threads, listener, s, log, warn);
        }

        /**
         * @param w told what went wrong but not fatally
         * @return this request with that warning sink
         */
        public Train warningTo(Consumer<String> w) {
            return new Train(config, out, resume, device, threads, listener, stop, log, w);
        }

        /**
         * @param l told what the run does
         * @return this request with that log
         */
        public Train loggingTo(Consumer<String> l) {
            return new Train(config, out, resume, device, threads, listener, stop, l, warn);
        }
    }

    /**
     * Trains a training config file into {@code out}.
     *
     * @param configFile a training config (YAML or JSON)
     * @param out the run's folder
     * @return the outcome
     * @throws dev.lora4j.config.ConfigException listing every problem of the file
     */
    public static Training train(Path configFile, Path out) {
        Loaded<RunSpec> loaded = RunSpec.read(configFile);
        return train(Train.of(loaded.value(), out));
    }

    /**
     * One training run, the same engine path every trial of a sweep takes: checkpoints at {@code save_steps}, the
     * best adapter by {@code eval_loss} at the end.
     *
     * @param r what to train and how
     * @return the outcome
     * @throws IllegalArgumentException if {@code out} already holds a run and {@code resume} is off
     */
    public static Training train(Train r) {
        RunSpec run = r.config();
        RunFolder folder = new RunFolder(r.out());
        CheckpointStore store = folder.checkpoints();
        if (!r.resume() && !store.list().isEmpty()) {
            throw new IllegalArgumentException(r.out() + " already holds a run (" + store.dir() + "); resume it, or"
                    + " choose another folder");
        }
        Path resumeFrom = null;
        Checkpoint checkpoint = null;
        if (r.resume()) {
            List<Path> all = new ArrayList<>(store.list());
            Collections.reverse(all);
            for (Path p : all) {
                try {
                    checkpoint = CheckpointStore.load(p);
                    resumeFrom = p;
                    break;
                } catch (RuntimeException e) {
                    r.warn().accept("checkpoint " + p + " cannot be read (" + e.getMessage()
                            + "); falling back to the one before it");
                }
            }
            if (resumeFrom == null) {
                r.warn().accept("no checkpoint in " + store.dir() + "; starting from the beginning");
            }
        }
        if (r.threads() > 0) {
            Torch.setThreads(r.threads());
        }
        try (BaseModel base = HfModels.load(run.model(), run.task(), Torch.device(r.device()),
                run.training().precision());
                Tokenizer tokenizer = Tokenizer.forModel(HfModels.folderOf(run.model()),
                        base.config().intOr("pad_token_id", 0));
                Adapter adapter = adapterFor(base, run)) {
            TrialData data = TrainingData.open(run.data(), run.task(), tokenizer, run.training().batchSize(),
                    run.training().seed());
            r.log().accept(run.name() + ": " + base.architecture().describe() + "; " + adapter.trainableReport());
            TrialRun.Settings settings = TrialRun.Settings.of(run.training(), "eval_loss", false);
            try (TrialRun trial = new TrialRun(base, adapter, data.objective(), settings, data.train(), data.eval(),
                    null)) {
                if (checkpoint != null) {
                    trial.restore(checkpoint);
                    folder.truncateProgressAfter(checkpoint.state().step());
                    r.log().accept("resumed from " + resumeFrom + " (step " + checkpoint.state().step() + ")");
                } else {
                    folder.truncateProgressAfter(0);
                }
                trial.listen(recording(folder, r.listener()));
                long saved = resumeFrom == null ? 0 : trial.completedSteps();
                while (!trial.finished()) {
                    trial.step();
                    boolean stop = r.stop().getAsBoolean();
                    if (trial.checkpointDue() || stop && trial.completedSteps() > saved) {
                        store.save(trial.checkpoint());
                        store.prune(run.training().saveTotalLimit().orElse(0), trial.bestStep());
                        saved = trial.completedSteps();
                    }
                    if (stop && !trial.finished()) {
                        return new Training(Map.of(), null, trial.completedSteps(), store.pathOf(saved));
                    }
                }
                Map<String, Double> metrics = trial.finish();
                PeftAdapters.save(adapter, folder.adapterDir());
                Map<String, Object> result = new LinkedHashMap<>();
                result.put("name", run.name());
                result.put("status", trial.stoppedEarly() ? "stopped_early" : "finished");
                result.put("metrics", metrics);
                result.put("adapter", folder.adapterDir().toString());
                folder.writeResult(result);
                return new Training(metrics, folder.adapterDir(), trial.completedSteps(), null);
            }
        }
    }

    /** The run's adapter on {@code base}; a rank the model cannot hold is reported against the config file. */
    private static Adapter adapterFor(BaseModel base, RunSpec run) {
        try {
            return Adapter.create(base, run.lora(), run.training().seed());
        } catch (dev.lora4j.config.ConfigException e) {
            throw e.file().isPresent() || run.file() == null ? e : e.withFile(run.file());
        }
    }

    /** Writes each step and evaluation to the run folder, then tells the caller's listener. */
    private static TrainListener recording(RunFolder folder, TrainListener then) {
        return new TrainListener() {
            @Override
            public void onStep(StepReport s) {
                folder.appendStep(s);
                then.onStep(s);
            }

            @Override
            public void onEvaluated(long step, Map<String, Double> m, boolean best) {
                folder.appendEval(step, m);
                then.onEvaluated(step, m, best);
            }
        };
    }

    private static BaseModel load(String model, TaskType task, String device) {
        return HfModels.load(Builtins.resolve(model), HfModels.Options.cpu().withDevice(Torch.device(device))
                .withTask(task));
    }
}
