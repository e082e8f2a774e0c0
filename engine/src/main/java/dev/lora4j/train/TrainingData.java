package dev.lora4j.train;

import dev.lora4j.config.TaskType;
import dev.lora4j.data.Batch;
import dev.lora4j.data.Batches;
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
        List<Batch> eval = new ArrayList<>();
        if (data.eval().isPresent()) {
            TokenizedDataset ev = DatasetCache.shared().get(data.eval().get(), tokenizer,
                    options.withLabels(train.labelNames()));
            Batches.evaluation(ev, batchSize).forEachRemaining(eval::add);
        }
        return new TrialData(new TrainingBatches(train, batchSize, seed), eval, Objective.of(task));
    }

    static DataOptions options(DataSpec d, TaskType task) {
        DataOptions o = DataOptions.of(task).withFields(d.textField(), d.labelField()).withMaxLength(d.maxLength());
        if (!d.labels().isEmpty()) {
            o = o.withLabels(d.labels());
        }
        return d.format() == null ? o : o.withFormat(d.format() == DataFormat.CSV ? Format.CSV : Format.JSONL);
    }
}
