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
import dev.lora4j.run.DataFormat;
import dev.lora4j.run.DataSpec;
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
        DataOptions options = options(data, task);
        TokenizedDataset train = DatasetCache.shared().get(data.train(), tokenizer, options);
        requireTargets(train, data.maxLength());
        if (batchSize > train.size()) {
            // transformers' drop_last=False: a batch larger than the data set is one batch of every row
            LOG.warn("training.batch_size {} is more than the {} rows of {}: each step takes all {} rows", batchSize,
                    train.size(), data.train(), train.size());
        }
        List<Batch> eval = new ArrayList<>();
        if (data.eval().isPresent()) {
            TokenizedDataset ev = DatasetCache.shared().get(data.eval().get(), tokenizer,
                    options.withLabels(train.labelNames()));
            Batches.evaluation(ev, batchSize).forEachRemaining(eval::add);
        }
        return new TrialData(new TrainingBatches(train, batchSize, seed), eval, Objective.of(task));
    }

    /**
     * A causal-LM set whose targets were all cut off by truncation (long prompts, short max_length) would train on
     * nothing and report a loss of 0; that is an error, and a partial loss of targets is a warning.
     */
    static void requireTargets(TokenizedDataset d, int maxLength) {
        TokenizedDataset.Stats s = d.stats();
        if (s.targetTokens() == 0) {
            throw new DataException(d.source() + ": no row has a target token left after truncation to max_length "
                    + maxLength + " (the prompts are longer than that); raise data.max_length or shorten the"
                    + " prompts");
        }
        if (s.rowsWithoutTargets() > 0) {
            LOG.warn("{}: {} of {} rows have no target token left after truncation to max_length {}; they add"
                    + " nothing to training", d.source(), s.rowsWithoutTargets(), s.rows(), maxLength);
        }
    }

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(TrainingData.class);

    static DataOptions options(DataSpec d, TaskType task) {
        DataOptions o = DataOptions.of(task).withFields(d.textField(), d.labelField()).withMaxLength(d.maxLength());
        if (!d.labels().isEmpty()) {
            o = o.withLabels(d.labels());
        }
        return d.format() == null ? o : o.withFormat(d.format() == DataFormat.CSV ? Format.CSV : Format.JSONL);
    }
}
