package dev.lora4j.actors;

import dev.lora4j.Fixtures;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.TaskType;
import dev.lora4j.config.Validation;
import dev.lora4j.run.DataSpec;
import dev.lora4j.run.ModelSpec;
import dev.lora4j.run.TrainingConfig;
import dev.lora4j.sweep.TrialSpec;
import java.nio.file.Path;
import java.util.Map;

/** Trial specs on the tiny Llama fixture. */
public final class Specs {
    private Specs() {}

    public static TrialSpec trial(String id, LoraConfig lora) {
        return trial(id, lora, TrainingConfig.builder().maxSteps(4).batchSize(4).build());
    }

    public static TrialSpec trial(String id, LoraConfig lora, TrainingConfig training) {
        Path dir = Fixtures.tinyLlama("s2");
        return new TrialSpec(id, id, 0, Map.of(), lora, training,
                new ModelSpec.Local("model", dir.resolve("model")),
                DataSpec.builder(dir.resolve("data.jsonl")).build(), TaskType.CAUSAL_LM, Validation.ok());
    }

    /** A trial of {@code steps} steps, checkpointing every {@code saveSteps} and evaluating every {@code evalSteps}. */
    public static TrialSpec trial(String id, int steps, int saveSteps, int evalSteps) {
        TrainingConfig.Builder t = TrainingConfig.builder().maxSteps(steps).batchSize(4);
        if (saveSteps > 0) {
            t.saveSteps(saveSteps);
        }
        if (evalSteps > 0) {
            t.evalSteps(evalSteps);
        }
        return trial(id, LoraConfig.builder().targetModules("q_proj").build(), t.build());
    }
}
