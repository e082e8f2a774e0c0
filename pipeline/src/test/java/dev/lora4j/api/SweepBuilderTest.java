package dev.lora4j.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Fixtures;
import dev.lora4j.config.ConfigError;
import dev.lora4j.config.ConfigException;
import dev.lora4j.config.TaskType;
import dev.lora4j.sweep.SweepSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A sweep built in code fails at build(), naming fields, as a file would; setters come in any order. */
class SweepBuilderTest {
    static final Path S2 = Fixtures.tinyLlama("s2");

    static SweepBuilder tiny() {
        return SweepBuilder.named("b").model(S2.resolve("model")).data(S2.resolve("data.jsonl"),
                S2.resolve("data.jsonl")).lora(l -> l.targetModules("q_proj", "v_proj")).grid("r", 4, 8);
    }

    static List<String> errors(SweepBuilder b) {
        ConfigException e = assertThrows(ConfigException.class, b::build);
        assertFalse(e.getMessage().contains("sweep.yaml"), "no file is named: " + e.getMessage());
        assertTrue(e.file().isEmpty());
        return e.errors().stream().map(ConfigError::toString).toList();
    }

    @Test
    void everyMistakeIsReportedAtBuildByItsField() {
        List<String> errs = errors(tiny().lora(l -> l.targetModules("q_proj").r(0))
                .training(t -> t.learningRate(-1.0).maxSteps(10)).minimize("eval_los"));
        assertTrue(errs.contains("lora.r: r must be >= 1, got 0"), errs.toString());
        assertTrue(errs.contains("training.learning_rate: learning_rate must be > 0, got -1"), errs.toString());
        assertTrue(errs.stream().anyMatch(x -> x.startsWith("metric.name: eval_los is not something a CAUSAL_LM"
                + " trial reports") && x.endsWith("did you mean 'eval_loss'?")), errs.toString());
    }

    @Test
    void aBuiltinThatDoesNotExistIsRefusedAndABuiltinEncoderClassifies() {
        assertEquals(List.of("model: unknown builtin model 'builtin:gpt5' (available: builtin:all-minilm-l6-v2; or the "
                + "path of a Hugging Face model folder)"),
                errors(tiny().model("builtin:gpt5").lora(l -> l.targetModules("query", "value"))).subList(0, 1));
        SweepSpec spec = tiny().model("builtin:all-minilm-l6-v2").lora(l -> l.targetModules("query", "value"))
                .labels("a", "b")
                .maximize("eval_accuracy").build();
        assertEquals(TaskType.SEQ_CLS, spec.base().task());
    }

    @Test
    void aMetricNoTrialOfTheTaskReportsIsRefusedWithTheNearestName() {
        List<String> errs = errors(tiny().model("builtin:all-minilm-l6-v2").lora(l -> l.targetModules("query"))
                .labels("ham", "spam").maximize("eval_acc"));
        assertTrue(errs.stream().anyMatch(x -> x.startsWith("metric.name: eval_acc is not something a SEQ_CLS"
                + " trial reports") && x.endsWith("did you mean 'eval_accuracy'?")), errs.toString());
    }

    @Test
    void settersComeInAnyOrderAndGridsTakeAnyValue() {
        SweepSpec spec = SweepBuilder.named("order").labels("ham", "spam").maxLength(32)
                .grid("lr_scheduler_type", "linear", "cosine").grid("use_rslora", true, false)
                .model("builtin:all-minilm-l6-v2").data(S2.resolve("data.jsonl"), S2.resolve("data.jsonl"))
                .lora(l -> l.targetModules("query", "value")).devices("cpu").trialsPerDevice(2).maxFailures(1)
                .maximize("eval_accuracy").build();
        assertEquals(List.of("ham", "spam"), spec.base().data().labels());
        assertEquals(32, spec.base().data().maxLength());
        assertEquals(4, spec.size());
        assertEquals(Map.of("training.lr_scheduler_type", "cosine", "lora.use_rslora", "false"),
                Map.of("training.lr_scheduler_type", spec.trials().get(3).parameters()
                        .get("training.lr_scheduler_type").asText(), "lora.use_rslora",
                        spec.trials().get(3).parameters().get("lora.use_rslora").asText()));
        assertEquals(2, spec.base().resources().trialsPerDevice());
        assertEquals(1, spec.base().resources().maxFailures().getAsInt());
    }
}
