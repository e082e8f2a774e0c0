package dev.lora4j.train;

import dev.lora4j.config.TaskType;
import dev.lora4j.data.Batch;
import dev.lora4j.data.Batches;
import dev.lora4j.data.DataException;
import dev.lora4j.data.DataOptions;
import dev.lora4j.data.DatasetCache;
import dev.lora4j.data.Format;
import dev.lora4j.data.TokenizedDataset;
import dev.lora4j.data.Tokenizer;
import dev.lora4j.model.Architecture;
import dev.lora4j.run.DataFormat;
import dev.lora4j.run.DataSpec;
import dev.lora4j.run.TrainingConfig;
import java.util.ArrayList;
import java.util.List;

/** A run's data spec turned into training batches and evaluation batches, tokenised through the shared cache. */
public final class TrainingData {
    private TrainingData() {}

    /**
     * Opens {@code data} for {@code task}: the training set batched with the run's seed and micro-batch size, the
     * evaluation set (if any) in file order, its class labels mapped exactly as the training set's.
     */
    public static TrialData open(DataSpec data, TaskType task, Tokenizer tokenizer, int batchSize, long seed) {
        return open(data, task, tokenizer, null, batchSize, seed);
    }

    /**
     * As {@link #open(DataSpec, TaskType, Tokenizer, int, long)}, every row checked against {@code model} as it is
     * read, before any tensor sees it: token ids below its {@code vocab_size}, class ids and names within its
     * classifier's {@code num_labels}. A row outside them is bad data naming the file, the line and the range.
     *
     * @param model the architecture the data is for, or null to check nothing against a model
     */
    public static TrialData open(DataSpec data, TaskType task, Tokenizer tokenizer, Architecture model,
            int batchSize, long seed) {
        return open(data, task, tokenizer, model, batchSize, seed, Layout.NONE);
    }

    /**
     * How rows become sequences: TRL's {@code packing} (causal LM: rows packed whole into sequences of up to
     * {@code data.max_length} tokens, training and evaluation, as TRL's {@code eval_packing} follows
     * {@code packing}) and transformers' {@code group_by_length} (batches of rows of similar length).
     */
    public record Layout(boolean packing, boolean groupByLength) {
        public static final Layout NONE = new Layout(false, false);

        public static Layout of(TrainingConfig t) {
            return new Layout(t.packing(), t.groupByLength());
        }
    }

    /** As {@link #open(DataSpec, TaskType, Tokenizer, Architecture, int, long)}, rows laid out by {@code layout}. */
    public static TrialData open(DataSpec data, TaskType task, Tokenizer tokenizer, Architecture model,
            int batchSize, long seed, Layout layout) {
        if (layout.packing() && task != TaskType.CAUSAL_LM) {
            throw new DataException("training.packing: packing is for CAUSAL_LM rows; task is " + task);
        }
        DataOptions options = options(data, task);
        if (model != null) {
            options = options.withModel(model.vocabSize(), task == TaskType.SEQ_CLS ? model.numLabels() : 0);
        }
        TokenizedDataset train = DatasetCache.shared().get(data.train(), tokenizer, options);
        requireTargets(train, data.maxLength());
        if (layout.packing()) {
            train = packed(train, data.maxLength());
        }
        if (batchSize > train.size()) {
            // transformers' drop_last=False: a batch larger than the data set is one batch of every row
            LOG.warn("training.batch_size {} is more than the {} rows of {}: each step takes all {} rows", batchSize,
                    train.size(), data.train(), train.size());
        }
        List<Batch> eval = new ArrayList<>();
        if (data.eval().isPresent()) {
            TokenizedDataset ev = DatasetCache.shared().get(data.eval().get(), tokenizer,
                    options.withLabels(train.labelNames(), data.labels().isEmpty()
                            ? "the training file's labels, sorted: " + data.train() : "data.labels"));
            requireTargets(ev, data.maxLength());
            Batches.evaluation(layout.packing() ? packed(ev, data.maxLength()) : ev, batchSize)
                    .forEachRemaining(eval::add);
        }
        return new TrialData(new TrainingBatches(train, batchSize, seed, layout.groupByLength()), eval,
                Objective.of(task), train.labelNames());
    }

    private static TokenizedDataset packed(TokenizedDataset rows, int maxLength) {
        TokenizedDataset p = rows.packed(maxLength);
        long tokens = rows.stats().tokens();
        LOG.info("{}: {} rows packed into {} sequences of up to {} tokens ({} tokens, {}% of the packed length)",
                rows.source(), rows.size(), p.size(), maxLength, tokens,
                Math.round(100.0 * tokens / Math.max(1, (long) p.size() * maxLength)));
        return p;
    }

    /**
     * A causal-LM set in which no row has a target (every label -100, one-token rows, or a truncation to max_length
     * that cuts them all off) would train on nothing and report a loss of 0, or evaluate to NaN: an error naming the
     * cause. A partial loss of targets to truncation is a warning.
     */
    static void requireTargets(TokenizedDataset d, int maxLength) {
        d.requireTargets("data.max_length");
        TokenizedDataset.Stats s = d.stats();
        if (s.rowsWithoutTargets() > 0) {
            LOG.warn("{}: {} of {} rows have no target token left after truncation to max_length {}; they add"
                    + " nothing to training", d.source(), s.rowsWithoutTargets(), s.rows(), maxLength);
        }
    }

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(TrainingData.class);

    static DataOptions options(DataSpec d, TaskType task) {
        DataOptions o = DataOptions.of(task).withFields(d.textField(), d.labelField()).withMaxLength(d.maxLength());
        if (!d.labels().isEmpty()) {
            o = o.withLabels(d.labels(), "data.labels");
        }
        return d.format() == null ? o : o.withFormat(d.format() == DataFormat.CSV ? Format.CSV : Format.JSONL);
    }
}
