package dev.lora4j.run;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.config.Choices;
import dev.lora4j.config.Numbers;
import dev.lora4j.config.Problems;
import dev.lora4j.config.Section;
import dev.lora4j.config.Validation;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * How one trial trains: optimizer (AdamW), schedule, batch, accumulation, clipping, evaluation and checkpoint cadence,
 * seed and precision. Keys are those of Hugging Face's {@code TrainingArguments} where one exists ({@code batch_size}
 * stands for {@code per_device_train_batch_size}); other tools write these files, so the names are a contract.
 *
 * <p>Construction never validates, so that {@link #validate} can report every bad value with its path.
 */
public final class TrainingConfig extends TreeValue {
    /** Every key of the {@code training} section, in the order files list them. */
    public static final List<String> KEYS = List.of("learning_rate", "weight_decay", "adam_beta1", "adam_beta2",
            "adam_epsilon", "lr_scheduler_type", "warmup_steps", "warmup_ratio", "num_train_epochs", "max_steps",
            "batch_size", "gradient_accumulation_steps", "max_grad_norm", "eval_steps", "save_steps",
            "save_total_limit", "early_stopping_patience", "seed", "precision", "gradient_checkpointing",
            "group_by_length", "packing");

    /** Keys whose values must be integers. */
    public static final List<String> INTEGER_KEYS = List.of("warmup_steps", "max_steps", "batch_size",
            "gradient_accumulation_steps", "eval_steps", "save_steps", "save_total_limit", "early_stopping_patience",
            "seed");

    private final double learningRate;
    private final double weightDecay;
    private final double adamBeta1;
    private final double adamBeta2;
    private final double adamEpsilon;
    private final LrSchedulerType lrSchedulerType;
    private final int warmupSteps;
    private final double warmupRatio;
    private final double numTrainEpochs;
    private final int maxSteps;
    private final int batchSize;
    private final int gradientAccumulationSteps;
    private final double maxGradNorm;
    private final Integer evalSteps;
    private final Integer saveSteps;
    private final Integer saveTotalLimit;
    private final Integer earlyStoppingPatience;
    private final long seed;
    private final Precision precision;
    private final boolean gradientCheckpointing;
    private final boolean groupByLength;
    private final boolean packing;

    private TrainingConfig(Builder b) {
        learningRate = b.learningRate;
        weightDecay = b.weightDecay;
        adamBeta1 = b.adamBeta1;
        adamBeta2 = b.adamBeta2;
        adamEpsilon = b.adamEpsilon;
        lrSchedulerType = Objects.requireNonNull(b.lrSchedulerType, "lrSchedulerType");
        warmupSteps = b.warmupSteps;
        warmupRatio = b.warmupRatio;
        numTrainEpochs = b.numTrainEpochs;
        maxSteps = b.maxSteps;
        batchSize = b.batchSize;
        gradientAccumulationSteps = b.gradientAccumulationSteps;
        maxGradNorm = b.maxGradNorm;
        evalSteps = b.evalSteps;
        saveSteps = b.saveSteps;
        saveTotalLimit = b.saveTotalLimit;
        earlyStoppingPatience = b.earlyStoppingPatience;
        seed = b.seed;
        precision = Objects.requireNonNull(b.precision, "precision");
        gradientCheckpointing = b.gradientCheckpointing;
        groupByLength = b.groupByLength;
        packing = b.packing;
    }

    public static Builder builder() {
        return new Builder();
    }

    public static TrainingConfig defaults() {
        return builder().build();
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    public double learningRate() {
        return learningRate;
    }

    public double weightDecay() {
        return weightDecay;
    }

    public double adamBeta1() {
        return adamBeta1;
    }

    public double adamBeta2() {
        return adamBeta2;
    }

    public double adamEpsilon() {
        return adamEpsilon;
    }

    public LrSchedulerType lrSchedulerType() {
        return lrSchedulerType;
    }

    public int warmupSteps() {
        return warmupSteps;
    }

    public double warmupRatio() {
        return warmupRatio;
    }

    /** May be fractional, as in Hugging Face. Ignored when {@link #maxSteps()} is positive. */
    public double numTrainEpochs() {
        return numTrainEpochs;
    }

    /** {@code -1}: train for {@link #numTrainEpochs()} instead (Hugging Face's convention). */
    public int maxSteps() {
        return maxSteps;
    }

    public int batchSize() {
        return batchSize;
    }

    public int gradientAccumulationSteps() {
        return gradientAccumulationSteps;
    }

    /** {@code 0} disables clipping. */
    public double maxGradNorm() {
        return maxGradNorm;
    }

    /** Empty: evaluate only at the end. */
    public OptionalInt evalSteps() {
        return optional(evalSteps);
    }

    /** Empty: save only at the end. */
    public OptionalInt saveSteps() {
        return optional(saveSteps);
    }

    /** Empty: keep every checkpoint. */
    public OptionalInt saveTotalLimit() {
        return optional(saveTotalLimit);
    }

    /** Evaluations without improvement before a trial stops; empty: never stop early. */
    public OptionalInt earlyStoppingPatience() {
        return optional(earlyStoppingPatience);
    }

    public long seed() {
        return seed;
    }

    public Precision precision() {
        return precision;
    }

    /**
     * transformers' {@code gradient_checkpointing}: each layer keeps only its input and is recomputed in backward
     * (less memory, about a third more compute).
     */
    public boolean gradientCheckpointing() {
        return gradientCheckpointing;
    }

    /**
     * transformers' {@code group_by_length}: each epoch's shuffled rows are grouped into mega-batches of 50 batches
     * (fewer for small sets), sorted by length within each, so a batch holds rows of similar length.
     */
    public boolean groupByLength() {
        return groupByLength;
    }

    /**
     * TRL's {@code packing} (best-fit decreasing): causal-LM rows are packed whole into sequences of up to
     * {@code data.max_length} tokens; positions and attention restart at each row, so no row sees another.
     */
    public boolean packing() {
        return packing;
    }

    /** Reads a {@code training} mapping; unknown keys are errors with a suggestion. */
    public static TrainingConfig fromSection(Section s) {
        s.rejectUnknown(KEYS);
        Builder b = builder();
        s.number("learning_rate").ifPresent(b::learningRate);
        s.number("weight_decay").ifPresent(b::weightDecay);
        s.number("adam_beta1").ifPresent(b::adamBeta1);
        s.number("adam_beta2").ifPresent(b::adamBeta2);
        s.number("adam_epsilon").ifPresent(b::adamEpsilon);
        Choices.read(s, "lr_scheduler_type", LrSchedulerType.values()).ifPresent(b::lrSchedulerType);
        s.integer("warmup_steps").ifPresent(b::warmupSteps);
        s.number("warmup_ratio").ifPresent(b::warmupRatio);
        s.number("num_train_epochs").ifPresent(b::numTrainEpochs);
        s.integer("max_steps").ifPresent(b::maxSteps);
        s.integer("batch_size").ifPresent(b::batchSize);
        s.integer("gradient_accumulation_steps").ifPresent(b::gradientAccumulationSteps);
        s.number("max_grad_norm").ifPresent(b::maxGradNorm);
        s.integerOrNull("eval_steps").ifPresent(b::evalSteps);
        s.integerOrNull("save_steps").ifPresent(b::saveSteps);
        s.integerOrNull("save_total_limit").ifPresent(b::saveTotalLimit);
        s.integerOrNull("early_stopping_patience").ifPresent(b::earlyStoppingPatience);
        s.longInteger("seed").ifPresent(b::seed);
        Choices.read(s, "precision", Precision.values()).ifPresent(b::precision);
        s.bool("gradient_checkpointing").ifPresent(b::gradientCheckpointing);
        s.bool("group_by_length").ifPresent(b::groupByLength);
        s.bool("packing").ifPresent(b::packing);
        return b.build();
    }

    /** Every key with its value ({@code null} for an unset optional), as {@link #fromSection} reads it. */
    @Override
    public ObjectNode toTree() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("learning_rate", learningRate);
        o.put("weight_decay", weightDecay);
        o.put("adam_beta1", adamBeta1);
        o.put("adam_beta2", adamBeta2);
        o.put("adam_epsilon", adamEpsilon);
        o.put("lr_scheduler_type", lrSchedulerType.json());
        o.put("warmup_steps", warmupSteps);
        o.put("warmup_ratio", warmupRatio);
        o.put("num_train_epochs", numTrainEpochs);
        o.put("max_steps", maxSteps);
        o.put("batch_size", batchSize);
        o.put("gradient_accumulation_steps", gradientAccumulationSteps);
        o.put("max_grad_norm", maxGradNorm);
        o.put("eval_steps", evalSteps);
        o.put("save_steps", saveSteps);
        o.put("save_total_limit", saveTotalLimit);
        o.put("early_stopping_patience", earlyStoppingPatience);
        o.put("seed", seed);
        o.put("precision", precision.json());
        o.put("gradient_checkpointing", gradientCheckpointing);
        o.put("group_by_length", groupByLength);
        o.put("packing", packing);
        return o;
    }

    /** Every out-of-range value, with paths under {@code prefix} (e.g. {@code training.learning_rate}). */
    public Validation validate(String prefix) {
        Ranges r = new Ranges(prefix, new Problems());
        r.above("learning_rate", learningRate, 0);
        r.atLeast("weight_decay", weightDecay, 0);
        r.unit("adam_beta1", adamBeta1);
        r.unit("adam_beta2", adamBeta2);
        r.above("adam_epsilon", adamEpsilon, 0);
        r.atLeast("warmup_steps", warmupSteps, 0);
        r.unit("warmup_ratio", warmupRatio);
        if (warmupSteps > 0 && warmupRatio > 0) {
            r.problems().error(Problems.join(prefix, "warmup_ratio"), "set warmup_steps or warmup_ratio, not both "
                    + "(Hugging Face silently lets warmup_steps win; lora4j asks which one you meant)");
        }
        r.above("num_train_epochs", numTrainEpochs, 0);
        if (maxSteps != -1 && maxSteps < 1) {
            r.problems().error(Problems.join(prefix, "max_steps"), "max_steps must be >= 1, or -1 to train for "
                    + "num_train_epochs, got " + maxSteps);
        }
        r.atLeast("batch_size", batchSize, 1);
        r.atLeast("gradient_accumulation_steps", gradientAccumulationSteps, 1);
        r.atLeast("max_grad_norm", maxGradNorm, 0);
        r.atLeastOrUnset("eval_steps", evalSteps);
        r.atLeastOrUnset("save_steps", saveSteps);
        r.atLeastOrUnset("save_total_limit", saveTotalLimit);
        r.atLeastOrUnset("early_stopping_patience", earlyStoppingPatience);
        r.atLeast("seed", seed, 0);
        return r.problems().toValidation();
    }

    /** Range checks whose messages say what is allowed: {@code batch_size must be >= 1, got 0}. */
    private record Ranges(String prefix, Problems problems) {
        void above(String key, double v, double min) {
            if (!(v > min) || Double.isInfinite(v)) {
                problems.error(Problems.join(prefix, key), key + " must be > " + Numbers.format(min) + ", got "
                        + Numbers.format(v));
            }
        }

        void atLeast(String key, double v, double min) {
            if (!(v >= min) || Double.isInfinite(v)) {
                problems.error(Problems.join(prefix, key), key + " must be >= " + Numbers.format(min) + ", got "
                        + Numbers.format(v));
            }
        }

        void unit(String key, double v) {
            if (!(v >= 0 && v < 1)) {
                problems.error(Problems.join(prefix, key), key + " must be >= 0 and < 1, got " + Numbers.format(v));
            }
        }

        void atLeastOrUnset(String key, Integer v) {
            if (v != null && v < 1) {
                problems.error(Problems.join(prefix, key), key + " must be >= 1, or null to turn it off, got " + v);
            }
        }
    }

    private static OptionalInt optional(Integer v) {
        return v == null ? OptionalInt.empty() : OptionalInt.of(v);
    }

    /** Builder with lora4j's defaults (Hugging Face's, except epochs 1 and batch size 8). */
    public static final class Builder {
        private double learningRate = 2e-4;
        private double weightDecay = 0.0;
        private double adamBeta1 = 0.9;
        private double adamBeta2 = 0.999;
        private double adamEpsilon = 1e-8;
        private LrSchedulerType lrSchedulerType = LrSchedulerType.LINEAR;
        private int warmupSteps = 0;
        private double warmupRatio = 0.0;
        private double numTrainEpochs = 1;
        private int maxSteps = -1;
        private int batchSize = 8;
        private int gradientAccumulationSteps = 1;
        private double maxGradNorm = 1.0;
        private Integer evalSteps;
        private Integer saveSteps;
        private Integer saveTotalLimit;
        private Integer earlyStoppingPatience;
        private long seed = 42;
        private Precision precision = Precision.FP32;
        private boolean gradientCheckpointing;
        private boolean groupByLength;
        private boolean packing;

        private Builder() {}

        private Builder(TrainingConfig c) {
            learningRate = c.learningRate;
            weightDecay = c.weightDecay;
            adamBeta1 = c.adamBeta1;
            adamBeta2 = c.adamBeta2;
            adamEpsilon = c.adamEpsilon;
            lrSchedulerType = c.lrSchedulerType;
            warmupSteps = c.warmupSteps;
            warmupRatio = c.warmupRatio;
            numTrainEpochs = c.numTrainEpochs;
            maxSteps = c.maxSteps;
            batchSize = c.batchSize;
            gradientAccumulationSteps = c.gradientAccumulationSteps;
            maxGradNorm = c.maxGradNorm;
            evalSteps = c.evalSteps;
            saveSteps = c.saveSteps;
            saveTotalLimit = c.saveTotalLimit;
            earlyStoppingPatience = c.earlyStoppingPatience;
            seed = c.seed;
            precision = c.precision;
            gradientCheckpointing = c.gradientCheckpointing;
            groupByLength = c.groupByLength;
            packing = c.packing;
        }

        public Builder learningRate(double v) {
            learningRate = v;
            return this;
        }

        public Builder weightDecay(double v) {
            weightDecay = v;
            return this;
        }

        public Builder adamBeta1(double v) {
            adamBeta1 = v;
            return this;
        }

        public Builder adamBeta2(double v) {
            adamBeta2 = v;
            return this;
        }

        public Builder adamEpsilon(double v) {
            adamEpsilon = v;
            return this;
        }

        public Builder lrSchedulerType(LrSchedulerType v) {
            lrSchedulerType = v;
            return this;
        }

        public Builder warmupSteps(int v) {
            warmupSteps = v;
            return this;
        }

        public Builder warmupRatio(double v) {
            warmupRatio = v;
            return this;
        }

        public Builder numTrainEpochs(double v) {
            numTrainEpochs = v;
            return this;
        }

        public Builder maxSteps(int v) {
            maxSteps = v;
            return this;
        }

        public Builder batchSize(int v) {
            batchSize = v;
            return this;
        }

        public Builder gradientAccumulationSteps(int v) {
            gradientAccumulationSteps = v;
            return this;
        }

        public Builder maxGradNorm(double v) {
            maxGradNorm = v;
            return this;
        }

        /** {@code null}: evaluate only at the end. */
        public Builder evalSteps(Integer v) {
            evalSteps = v;
            return this;
        }

        /** {@code null}: save only at the end. */
        public Builder saveSteps(Integer v) {
            saveSteps = v;
            return this;
        }

        /** {@code null}: keep all checkpoints. */
        public Builder saveTotalLimit(Integer v) {
            saveTotalLimit = v;
            return this;
        }

        /** {@code null}: no early stopping. */
        public Builder earlyStoppingPatience(Integer v) {
            earlyStoppingPatience = v;
            return this;
        }

        public Builder seed(long v) {
            seed = v;
            return this;
        }

        public Builder precision(Precision v) {
            precision = v;
            return this;
        }

        public Builder gradientCheckpointing(boolean v) {
            gradientCheckpointing = v;
            return this;
        }

        public Builder groupByLength(boolean v) {
            groupByLength = v;
            return this;
        }

        public Builder packing(boolean v) {
            packing = v;
            return this;
        }

        public TrainingConfig build() {
            return new TrainingConfig(this);
        }
    }
}
