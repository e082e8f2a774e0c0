package dev.lora4j.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.config.ConfigError;
import dev.lora4j.config.Documents;
import dev.lora4j.config.Problems;
import dev.lora4j.config.Section;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class TrainingConfigTest {
    private static TrainingConfig read(String yaml, Problems p) {
        return TrainingConfig.fromSection(new Section((ObjectNode) Documents.parse(yaml, false), "training", p));
    }

    private static List<String> errors(String yaml) {
        Problems p = new Problems();
        TrainingConfig t = read(yaml, p);
        p.addAll(t.validate("training"));
        return p.errors().stream().map(ConfigError::toString).toList();
    }

    @Test
    void defaults() {
        TrainingConfig t = TrainingConfig.defaults();
        assertEquals(2e-4, t.learningRate());
        assertEquals(0.0, t.weightDecay());
        assertEquals(0.9, t.adamBeta1());
        assertEquals(0.999, t.adamBeta2());
        assertEquals(1e-8, t.adamEpsilon());
        assertEquals(LrSchedulerType.LINEAR, t.lrSchedulerType());
        assertEquals(0, t.warmupSteps());
        assertEquals(0.0, t.warmupRatio());
        assertEquals(1.0, t.numTrainEpochs());
        assertEquals(-1, t.maxSteps());
        assertEquals(8, t.batchSize());
        assertEquals(1, t.gradientAccumulationSteps());
        assertEquals(1.0, t.maxGradNorm());
        assertEquals(OptionalInt.empty(), t.evalSteps());
        assertEquals(OptionalInt.empty(), t.saveSteps());
        assertEquals(OptionalInt.empty(), t.saveTotalLimit());
        assertEquals(OptionalInt.empty(), t.earlyStoppingPatience());
        assertEquals(42, t.seed());
        assertEquals(Precision.FP32, t.precision());
        assertTrue(t.validate("training").isValid());
    }

    @Test
    void keyNamesAreTheContract() {
        List<String> keys = new ArrayList<>();
        TrainingConfig.defaults().toTree().fieldNames().forEachRemaining(keys::add);
        assertEquals(List.of("learning_rate", "weight_decay", "adam_beta1", "adam_beta2", "adam_epsilon",
                "lr_scheduler_type", "warmup_steps", "warmup_ratio", "num_train_epochs", "max_steps", "batch_size",
                "gradient_accumulation_steps", "max_grad_norm", "eval_steps", "save_steps", "save_total_limit",
                "early_stopping_patience", "seed", "precision", "gradient_checkpointing", "group_by_length", "packing"),
                keys);
        assertEquals(TrainingConfig.KEYS, keys);
    }

    @Test
    void readsEveryKeyAndRoundTrips() {
        Problems p = new Problems();
        TrainingConfig t = read("learning_rate: 5e-4\nweight_decay: 0.01\nadam_beta1: 0.8\nadam_beta2: 0.99\n"
                + "adam_epsilon: 1e-6\nlr_scheduler_type: cosine\nwarmup_ratio: 0.1\nnum_train_epochs: 2.5\n"
                + "max_steps: 100\nbatch_size: 4\ngradient_accumulation_steps: 2\nmax_grad_norm: 0\neval_steps: 10\n"
                + "save_steps: 20\nsave_total_limit: 2\nearly_stopping_patience: 3\nseed: 7\nprecision: bf16\n", p);
        assertEquals(List.of(), p.errors());
        assertEquals(5e-4, t.learningRate());
        assertEquals(LrSchedulerType.COSINE, t.lrSchedulerType());
        assertEquals(2.5, t.numTrainEpochs());
        assertEquals(OptionalInt.of(10), t.evalSteps());
        assertEquals(OptionalInt.of(3), t.earlyStoppingPatience());
        assertEquals(Precision.BF16, t.precision());
        assertEquals(7, t.seed());
        assertTrue(t.validate("training").isValid());
        assertEquals(t, read(t.toTree().toString(), new Problems()));
        assertEquals(t, t.toBuilder().build());
    }

    @Test
    void memoryAndLayoutSwitchesAreBooleans() {
        Problems p = new Problems();
        TrainingConfig t = read("gradient_checkpointing: true\ngroup_by_length: true\npacking: true\n", p);
        assertEquals(List.of(), p.errors());
        assertTrue(t.gradientCheckpointing() && t.groupByLength() && t.packing());
        assertEquals(t, read(t.toTree().toString(), new Problems()));
        TrainingConfig off = TrainingConfig.defaults();
        assertTrue(!off.gradientCheckpointing() && !off.groupByLength() && !off.packing());
        assertEquals(List.of("training.gradient_checkpointing: gradient_checkpointing must be true or false, got"
                + " \"yes please\""), errors("gradient_checkpointing: yes please\n"));
    }

    @Test
    void nullMeansOff() {
        Problems p = new Problems();
        TrainingConfig t = read("eval_steps: null\nsave_total_limit: null\n", p);
        assertEquals(List.of(), p.errors());
        assertEquals(OptionalInt.empty(), t.evalSteps());
    }

    @Test
    void everyRangeIsCheckedWithItsPath() {
        assertEquals(List.of(
                "training.learning_rate: learning_rate must be > 0, got 0",
                "training.weight_decay: weight_decay must be >= 0, got -0.1",
                "training.adam_beta1: adam_beta1 must be >= 0 and < 1, got 1",
                "training.adam_beta2: adam_beta2 must be >= 0 and < 1, got -0.5",
                "training.adam_epsilon: adam_epsilon must be > 0, got 0",
                "training.warmup_steps: warmup_steps must be >= 0, got -1",
                "training.warmup_ratio: warmup_ratio must be >= 0 and < 1, got 1",
                "training.num_train_epochs: num_train_epochs must be > 0, got 0",
                "training.max_steps: max_steps must be >= 1, or -1 to train for num_train_epochs, got 0",
                "training.batch_size: batch_size must be >= 1, got 0",
                "training.gradient_accumulation_steps: gradient_accumulation_steps must be >= 1, got 0",
                "training.max_grad_norm: max_grad_norm must be >= 0, got -1",
                "training.eval_steps: eval_steps must be >= 1, or null to turn it off, got 0",
                "training.save_steps: save_steps must be >= 1, or null to turn it off, got -5",
                "training.save_total_limit: save_total_limit must be >= 1, or null to turn it off, got 0",
                "training.early_stopping_patience: early_stopping_patience must be >= 1, or null to turn it off, got 0",
                "training.seed: seed must be >= 0, got -3"),
                errors("learning_rate: 0\nweight_decay: -0.1\nadam_beta1: 1\nadam_beta2: -0.5\nadam_epsilon: 0\n"
                        + "warmup_steps: -1\nwarmup_ratio: 1.0\nnum_train_epochs: 0\nmax_steps: 0\nbatch_size: 0\n"
                        + "gradient_accumulation_steps: 0\nmax_grad_norm: -1\neval_steps: 0\nsave_steps: -5\n"
                        + "save_total_limit: 0\nearly_stopping_patience: 0\nseed: -3\n"));
    }

    @Test
    void warmupStepsAndRatioTogetherAreAnError() {
        assertEquals(List.of("training.warmup_ratio: set warmup_steps or warmup_ratio, not both (Hugging Face silently "
                + "lets warmup_steps win; lora4j asks which one you meant)"),
                errors("warmup_steps: 10\nwarmup_ratio: 0.1\n"));
    }

    @Test
    void badTypesEnumsAndUnknownKeys() {
        assertEquals(List.of(
                "training.lerning_rate: unknown key; did you mean 'learning_rate'?",
                "training.lr_scheduler_type: lr_scheduler_type must be one of \"constant\", \"linear\", \"cosine\", "
                        + "got \"cosin\"; did you mean 'cosine'?",
                "training.batch_size: batch_size must be an integer, got 4.5",
                "training.precision: precision must be one of \"fp32\", \"bf16\", \"fp16\", got \"float16\""),
                errors("lerning_rate: 1e-4\nlr_scheduler_type: cosin\nbatch_size: 4.5\nprecision: float16\n"));
    }
}
