package dev.lora4j.pipeline;

import dev.lora4j.model.BaseModel;
import dev.lora4j.sweep.TrialSpec;
import dev.lora4j.train.TrialData;
import java.util.concurrent.CompletionStage;

/** Opens a trial's data (tokenised once per sweep, batched per trial) for a base model's tokenizer. */
@FunctionalInterface
public interface DataOpener {
    CompletionStage<TrialData> open(TrialSpec spec, BaseModel base, int batchSize);
}
