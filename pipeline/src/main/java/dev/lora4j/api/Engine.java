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
import dev.lora4j.files.AtomicFiles;
import dev.lora4j.lora.Adapter;
import dev.lora4j.lora.MergedModels;
import dev.lora4j.lora.PeftAdapters;
import dev.lora4j.model.Adaptation;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.Builtins;
import dev.lora4j.model.HfModels;
import dev.lora4j.model.LabelNames;
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
import java.util.Optional;
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
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Engine.class);

    private Engine() {}

    /**
     * What an evaluation measured.
     *
     * @param metrics {@code eval_loss}, and {@code eval_tokens}/{@code eval_perplexity} (causal LM) or
     *     {@code eval_samples}/{@code eval_accuracy} (classifier)
     * @param warnings what loading the model and the adapter warned about (transformers' and PEFT's warnings), and
     *     how a classifier's label names became class ids when nothing named them
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
     * @param labels a classifier's label names in id order; empty for the ones the adapter was saved with (its
     *     {@code config.json}'s {@code id2label}), else the model's {@code id2label}, else the file's, sorted (with
     *     a warning). Names that differ from the adapter's are an error; given names replace the model's
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
            DataOptions options = DataOptions.of(head).withMaxLength(r.maxLength())
                    .withModel(base.architecture().vocabSize(), base.architecture().numLabels());
            Labels known = head == TaskType.SEQ_CLS ? knownLabels(r, base) : Labels.NONE;
            if (!r.labels().isEmpty()) {
                // the adapter's names are what its classifier learnt; the model's id2label may come from another
                // fine-tune, so given names override those
                if (known.fromAdapter() && !known.names().equals(r.labels())) {
                    throw new IllegalArgumentException("the labels given " + r.labels() + " differ from "
                            + known.from() + ": " + known.names() + " (class ids in that order); leave them out,"
                            + " or give them in that order");
                }
                options = options.withLabels(r.labels(), "the labels given");
            } else if (!known.names().isEmpty()) {
                options = options.withLabels(known.names(), known.from());
            }
            TokenizedDataset rows = TokenizedDataset.build(r.data(), tokenizer, options);
            if (head == TaskType.SEQ_CLS && options.labels().isEmpty()) {
                inferredLabelsWarning(rows, base.architecture().numLabels(), r.adapter() != null)
                        .ifPresent(warnings::add);
            }
            rows.requireTargets("the max length (eval's --max-length)");
            Objective objective = Objective.of(head);
            warnings.addAll(base.warnings());
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

    /** A classifier's label names and where they were found (for messages). */
    private record Labels(List<String> names, String from, boolean fromAdapter) {
        static final Labels NONE = new Labels(List.of(), null, false);
    }

    /**
     * The names a classifier's classes already have: the adapter's ({@code config.json} saved beside it, as lora4j
     * saves a trained classifier), else the model's own {@code id2label} (a merged folder, a fine-tuned classifier),
     * as transformers' pipelines name predictions from {@code model.config.id2label}.
     */
    private static Labels knownLabels(Evaluate r, BaseModel base) {
        if (r.adapter() != null) {
            Optional<List<String>> a = PeftAdapters.labelNames(r.adapter());
            if (a.isPresent()) {
                Path f = PeftAdapters.configFile(r.adapter()).toAbsolutePath().getParent()
                        .resolve(PeftAdapters.MODEL_CONFIG);
                return new Labels(a.get(), "the adapter's labels, id2label in " + f, true);
            }
        }
        Optional<List<String>> m = LabelNames.of(base.config().raw(), base.config().source());
        return m.map(names -> new Labels(names, "the model's labels, id2label in " + base.config().source()
                + ", unless --labels names them", false)).orElse(Labels.NONE);
    }

    /**
     * Says how a file's label names became class ids when nothing named them (a PEFT adapter, a model without
     * {@code id2label}): sorted, which is right only if training sorted the same names. Ids written as numbers
     * need no warning.
     */
    private static Optional<String> inferredLabelsWarning(TokenizedDataset rows, int classes, boolean adapter) {
        List<String> names = rows.labelNames();
        boolean ids = true;
        for (int i = 0; i < names.size(); i++) {
            ids &= names.get(i).equals(Integer.toString(i));
        }
        if (ids) {
            return Optional.empty();
        }
        StringBuilder mapping = new StringBuilder();
        for (int i = 0; i < names.size(); i++) {
            mapping.append(i == 0 ? "" : ", ").append(names.get(i)).append('=').append(i);
        }
        return Optional.of(rows.source() + ": " + (adapter ? "neither the adapter nor the model names its labels"
                : "the model names no labels") + " (config.json id2label), so the file's labels, sorted, are the"
                + " class ids: " + mapping
                + (names.size() < classes ? "; the model has " + classes + " classes but the file names only "
                + names.size() + ", so these ids are likely not the ones it was trained with" : "")
                + "; give the labels in training order (--labels) if they differ");
    }

    /**
     * A merge's inputs; {@link #of(String, Path, Path)} gives the defaults (the adapter's task type, the CPU, a new or
     * empty {@code out}).
     *
     * @param model a Hugging Face folder or {@code builtin:NAME}
     * @param adapter a PEFT adapter folder
     * @param out the folder to write: never the model's or the adapter's folder, one inside them or one that
     *     contains them; new or empty unless {@code force}
     * @param task the model's head, or null for the adapter's task type
     * @param device {@code cpu}, {@code gpu}, {@code gpu:N}
     * @param force whether a non-empty {@code out} may have the files a merge writes ({@code config.json},
     *     {@code model.safetensors}, the base's tokenizer files) replaced; everything else in it is kept
     */
    public record Merge(String model, Path adapter, Path out, TaskType task, String device, boolean force) {
        /**
         * Checks what can be checked without reading files.
         *
         * @param model a Hugging Face folder or {@code builtin:NAME}
         * @param adapter a PEFT adapter folder
         * @param out the folder to write
         * @param task the model's head, or null
         * @param device {@code cpu}, {@code gpu}, {@code gpu:N}
         * @param force whether the files a merge writes may be replaced in a non-empty {@code out}
         */
        public Merge {
            Objects.requireNonNull(model, "model");
            Objects.requireNonNull(adapter, "adapter");
            Objects.requireNonNull(out, "out");
            Objects.requireNonNull(device, "device");
        }

        /**
         * A merge of {@code adapter} into {@code model}, written to the new or empty folder {@code out}, on the CPU.
         *
         * @param model a Hugging Face folder or {@code builtin:NAME}
         * @param adapter a PEFT adapter folder
         * @param out the folder to write
         * @return the request
         */
        public static Merge of(String model, Path adapter, Path out) {
            return new Merge(model, adapter, out, null, "cpu", false);
        }

        /**
         * @param t the model's head
         * @return this request with that task
         */
        public Merge withTask(TaskType t) {
            return new Merge(model, adapter, out, t, device, force);
        }

        /**
         * @param d {@code cpu}, {@code gpu}, {@code gpu:N}
         * @return this request on that device
         */
        public Merge onDevice(String d) {
            return new Merge(model, adapter, out, task, d, force);
        }

        /**
         * @param f whether a non-empty {@code out} may have the files a merge writes replaced (the rest is kept)
         * @return this request, forced or not
         */
        public Merge withForce(boolean f) {
            return new Merge(model, adapter, out, task, device, f);
        }
    }

    /**
     * PEFT's {@code merge_and_unload}: the adapter folded into the base's weights, written as a plain Hugging Face
     * folder, on the CPU. {@code out} must be new or empty (see {@link #merge(Merge)}). Its {@code config.json} is the
     * one transformers' {@code save_pretrained} writes: the model's class in {@code architectures}, and a classifier's
     * label names ({@code id2label}, {@code label2id}) from the adapter's {@code config.json}.
     *
     * @param model a Hugging Face folder or {@code builtin:NAME}
     * @param adapter a PEFT adapter folder
     * @param out the folder to write
     * @return {@code out}
     * @throws IllegalArgumentException if {@code out} is not a folder a merge may write
     */
    public static Path merge(String model, Path adapter, Path out) {
        return merge(Merge.of(model, adapter, out));
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
     * @throws IllegalArgumentException if {@code out} is not a folder a merge may write
     */
    public static Path merge(String model, Path adapter, Path out, TaskType task, String device) {
        return merge(Merge.of(model, adapter, out).withTask(task).onDevice(device));
    }

    /**
     * PEFT's {@code merge_and_unload} with every option. A merge never writes into its model's or adapter's folder
     * (nor one inside them or one that contains them, symbolic links resolved), and writes into a new or empty
     * folder unless forced; then it replaces only {@code config.json}, {@code model.safetensors} and the tokenizer
     * files it copies from the base, keeping the rest. Both are checked before the model is loaded. The files are
     * assembled in a hidden folder and renamed into place, so a merge that fails leaves {@code out} as it was.
     * Loading warnings (transformers' and PEFT's) are logged.
     *
     * @param r what to merge and where
     * @return {@code r.out()}
     * @throws IllegalArgumentException if {@code out} is a file, read-only, overlaps the model's or adapter's folder,
     *     or is not empty and {@code force} is off
     */
    public static Path merge(Merge r) {
        return merge(r, w -> LOG.warn(w));
    }

    /**
     * As {@link #merge(Merge)}, telling {@code warn} what loading the model and the adapter warned about
     * (transformers' and PEFT's warnings) before it merges.
     *
     * @param r what to merge and where
     * @param warn told each warning
     * @return {@code r.out()}
     * @throws IllegalArgumentException as {@link #merge(Merge)}
     */
    public static Path merge(Merge r, Consumer<String> warn) {
        MergedModels.checkOut(Builtins.resolve(r.model()), r.adapter(), r.out(), r.force(), "out folder",
                "Merge.withForce(true)");
        TaskType t = r.task() != null ? r.task()
                : LoraConfigJson.read(PeftAdapters.configFile(r.adapter())).value().task().orElse(null);
        try (BaseModel base = load(r.model(), t, r.device())) {
            base.warnings().forEach(warn);
            PeftAdapters.LoadedAdapter loaded = PeftAdapters.load(base, r.adapter(), false);
            try (Adapter a = loaded.adapter()) {
                loaded.warnings().forEach(warn);
                MergedModels.write(a, r.out(), r.force());
            }
        }
        return r.out();
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
     * @param warn told what went wrong but not fatally (a checkpoint that cannot be read and is skipped) and what
     *     loading the model and creating the adapter warned about (transformers' and PEFT's warnings)
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
         * @param threads intra-op threads, 0 for libtorch's default, at most the machine's cores
         * @param listener sees steps and evaluations
         * @param stop checked after each step
         * @param log told what the run does
         * @param warn told what went wrong but not fatally
         */
        public Train {
            Objects.requireNonNull(config, "config");
            Objects.requireNonNull(out, "out");
            int cores = Runtime.getRuntime().availableProcessors();
            if (threads < 0 || threads > cores) {
                throw new IllegalArgumentException("threads must be 0 (libtorch's default) to " + cores
                        + " (this machine's cores), got " + threads);
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
     * @throws IllegalArgumentException if {@code out} already holds a run and {@code resume} is off, or is a file or
     *     a folder that cannot be written (checked before the model is loaded)
     */
    public static Training train(Train r) {
        RunSpec run = r.config();
        AtomicFiles.requireWritableFolder(r.out(), "out folder");
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
            TrialData data = TrainingData.open(run.data(), run.task(), tokenizer, base.architecture(),
                    run.training().batchSize(), run.training().seed(), TrainingData.Layout.of(run.training()));
            adapter.useLabelNames(data.labels());
            base.warnings().forEach(r.warn());
            adapter.warnings().forEach(r.warn());
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
