package dev.lora4j.api;

import dev.lora4j.Fixtures;
import dev.lora4j.actors.FakeRuns;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.model.HfModels;
import dev.lora4j.run.TrainingConfig;
import dev.lora4j.train.Objective;
import dev.lora4j.train.TrialData;
import java.nio.file.Path;
import java.util.List;

/** Sweeps on stand-in engine parts: the tiny fixture as base (loaded once per device), no tensors trained. */
final class Fakes {
    private Fakes() {}

    static EngineParts parts(FakeRuns runs) {
        return new EngineParts((key, spec) -> HfModels.load(Fixtures.tinyLlama("s2").resolve("model")),
                (base, spec) -> null, system -> (spec, base, batch) -> new TrialData(null, List.of(),
                        new Objective.CausalLm()), runs);
    }

    /** A sweep over the tiny fixture's files (validation checks they exist), on the CPU. */
    static SweepBuilder sweep(String name, int steps, int saveSteps, int evalSteps) {
        Path dir = Fixtures.tinyLlama("s2");
        TrainingConfig.Builder t = TrainingConfig.builder().maxSteps(steps).batchSize(4).seed(3);
        if (saveSteps > 0) {
            t.saveSteps(saveSteps);
        }
        if (evalSteps > 0) {
            t.evalSteps(evalSteps);
        }
        return SweepBuilder.named(name).model(dir.resolve("model"))
                .data(dir.resolve("data.jsonl"), dir.resolve("data.jsonl"))
                .lora(LoraConfig.builder().targetModules("q_proj", "v_proj").build())
                .training(t.build());
    }
}
