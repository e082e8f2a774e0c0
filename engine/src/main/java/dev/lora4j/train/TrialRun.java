package dev.lora4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.lora4j.checkpoint.Checkpoint;
import dev.lora4j.checkpoint.TrainerState;
import dev.lora4j.data.Batch;
import dev.lora4j.data.Cursor;
import dev.lora4j.lora.Adapter;
import dev.lora4j.lora.HostTensor;
import dev.lora4j.lora.Parameter;
import dev.lora4j.model.Attention;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.Dropout;
import dev.lora4j.model.Forward;
import dev.lora4j.model.LayerTape;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.run.TrainingConfig;
import dev.lora4j.runtime.Ops;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One trial's training as a state machine advanced one optimizer step at a time, so a device's trainer can
 * interleave several trials fairly. A step runs the accumulation window's forward/backward passes, clips the global
 * gradient norm, and applies AdamW with the scheduled rate; evaluation and checkpoints come at their cadence and the
 * caller decides where checkpoints are written.
 */
public final class TrialRun implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TrialRun.class);

    /**
     * Everything a run needs besides the model: hyper-parameters resolved to numbers.
     *
     * @param gradientCheckpointing each layer recomputed in backward instead of keeping its activations
     *                              (transformers' {@code gradient_checkpointing}; see {@link LayerTape})
     */
    public record Settings(double learningRate, double weightDecay, double beta1, double beta2, double epsilon,
            String scheduler, int warmupSteps, double warmupRatio, double epochs, int maxSteps,
            int gradientAccumulation, double maxGradNorm, int evalSteps, int saveSteps, int earlyStoppingPatience,
            long seed, String metric, boolean maximize, boolean gradientCheckpointing) {

        /** Settings without gradient checkpointing. */
        public Settings(double learningRate, double weightDecay, double beta1, double beta2, double epsilon,
                String scheduler, int warmupSteps, double warmupRatio, double epochs, int maxSteps,
                int gradientAccumulation, double maxGradNorm, int evalSteps, int saveSteps, int earlyStoppingPatience,
                long seed, String metric, boolean maximize) {
            this(learningRate, weightDecay, beta1, beta2, epsilon, scheduler, warmupSteps, warmupRatio, epochs,
                    maxSteps, gradientAccumulation, maxGradNorm, evalSteps, saveSteps, earlyStoppingPatience, seed,
                    metric, maximize, false);
        }

        /** A trial's training config with the metric that decides the best adapter and early stopping. */
        public static Settings of(TrainingConfig t, String metric, boolean maximize) {
            return new Settings(t.learningRate(), t.weightDecay(), t.adamBeta1(), t.adamBeta2(), t.adamEpsilon(),
                    t.lrSchedulerType().json(), t.warmupSteps(), t.warmupRatio(), t.numTrainEpochs(), t.maxSteps(),
                    t.gradientAccumulationSteps(), t.maxGradNorm(), t.evalSteps().orElse(0),
                    t.saveSteps().orElse(0), t.earlyStoppingPatience().orElse(0), t.seed(), metric, maximize,
                    t.gradientCheckpointing());
        }

        /** The same settings with a different accumulation (the out-of-memory back-off). */
        public Settings withAccumulation(int steps) {
            return new Settings(learningRate, weightDecay, beta1, beta2, epsilon, scheduler, warmupSteps, warmupRatio,
                    epochs, maxSteps, steps, maxGradNorm, evalSteps, saveSteps, earlyStoppingPatience, seed, metric,
                    maximize, gradientCheckpointing);
        }

        /** The same settings with gradient checkpointing on or off. */
        public Settings withGradientCheckpointing(boolean on) {
            return new Settings(learningRate, weightDecay, beta1, beta2, epsilon, scheduler, warmupSteps, warmupRatio,
                    epochs, maxSteps, gradientAccumulation, maxGradNorm, evalSteps, saveSteps, earlyStoppingPatience,
                    seed, metric, maximize, on);
        }
    }

    private final BaseModel base;
    private final Adapter adapter;
    private final Objective objective;
    private final Settings settings;
    private final BatchSource train;
    private final List<Batch> eval;
    private final AdamW optimizer;
    private final LrSchedule schedule;
    private final long totalSteps;
    private TrainListener listener;
    private java.util.function.LongPredicate extraEvaluations = s -> false;
    private final List<Parameter> trainable;
    private LossScaler scaler;
    private long skippedSteps;
    private Attention.Policy attention = Attention.Policy.DEFAULT;

    private long step;
    private long microBatches;
    private double trainLossSum;
    private long tokensSeen;
    private long examplesSeen;
    private double elapsed;
    private Double bestMetric;
    private long bestStep = -1;
    private int evalsWithoutImprovement;
    private Map<String, Double> lastEval = Map.of();
    private Map<String, HostTensor> bestTensors;
    private Map<String, Double> bestEval = Map.of();
    private boolean stoppedEarly;
    private long evaluatedAt = -1;

    public TrialRun(BaseModel base, Adapter adapter, Objective objective, Settings settings, BatchSource train,
            List<Batch> eval, TrainListener listener) {
        this.base = base;
        this.adapter = adapter;
        this.objective = objective;
        this.settings = settings;
        this.train = train;
        this.eval = eval == null ? List.of() : List.copyOf(eval);
        this.listener = listener == null ? TrainListener.NONE : listener;
        this.trainable = adapter.trainableParameters();
        this.optimizer = new AdamW(adapter.manager(), settings.beta1(), settings.beta2(), settings.epsilon(),
                settings.weightDecay());
        this.totalSteps = totalSteps(settings, train.batchesPerEpoch());
        this.schedule = new LrSchedule(settings.scheduler(), settings.learningRate(),
                LrSchedule.warmup(settings.warmupSteps(), settings.warmupRatio(), (int) totalSteps), (int) totalSteps);
        this.scaler = base.dataType() == DataType.FLOAT16 ? LossScaler.dynamic() : null;
    }

    /**
     * Replaces the loss scaler (fp16 bases get GradScaler's defaults; null turns scaling off). Set before the first
     * step; a restored checkpoint's scale then overrides the initial one.
     */
    public void lossScaler(LossScaler s) {
        this.scaler = s;
    }

    /** The loss scaler in use, if the base computes in fp16. */
    public Optional<LossScaler> lossScaler() {
        return Optional.ofNullable(scaler);
    }

    /** Optimizer steps skipped because fp16 gradients overflowed (they count as steps, as in transformers). */
    public long skippedSteps() {
        return skippedSteps;
    }

    /** When attention runs in query blocks (tests and benchmarks compare policies); set before the first step. */
    public void attentionPolicy(Attention.Policy p) {
        this.attention = java.util.Objects.requireNonNull(p, "policy");
    }

    /** Also evaluates after the steps {@code when} accepts (the sweep's early-termination rungs). */
    public void alsoEvaluateAt(java.util.function.LongPredicate when) {
        this.extraEvaluations = when;
    }

    /** Replaces the listener (set after a restore, so restored history is not reported twice). */
    public void listen(TrainListener l) {
        this.listener = l == null ? TrainListener.NONE : l;
    }

    /** transformers' count: max_steps if set, else ceil(batches / accumulation) updates per epoch times epochs. */
    public static long totalSteps(Settings s, int batchesPerEpoch) {
        if (s.maxSteps() > 0) {
            return s.maxSteps();
        }
        long ga = s.gradientAccumulation();
        long perEpoch = Math.max(1, (batchesPerEpoch + ga - 1) / ga);
        return (long) Math.ceil(s.epochs() * perEpoch);
    }

    public long totalSteps() {
        return totalSteps;
    }

    /** Optimizer steps done so far. */
    public long completedSteps() {
        return step;
    }

    public Adapter adapter() {
        return adapter;
    }

    public boolean finished() {
        return step >= totalSteps || stoppedEarly;
    }

    public boolean stoppedEarly() {
        return stoppedEarly;
    }

    /** One optimizer step, then evaluation if due. Throws {@link NonFiniteLossException} if the loss diverges. */
    public StepReport step() {
        if (finished()) {
            throw new IllegalStateException("trial already finished at step " + step);
        }
        long t0 = System.nanoTime();
        int perEpoch = train.batchesPerEpoch();
        int left = perEpoch - train.cursor().index();
        int windowSize = Math.min(settings.gradientAccumulation(), left);
        List<Batch> window = new ArrayList<>(windowSize);
        for (int i = 0; i < windowSize; i++) {
            window.add(train.next());
        }
        long counted = window.stream().mapToLong(Batch::labelTokens).sum();
        double lossScale = scaler == null ? 1 : scaler.scale();
        double lr = schedule.rate(optimizer.step());
        double loss = 0;
        long tokens = 0;
        long padded = 0;
        long rows = 0;
        boolean checkpointing = settings.gradientCheckpointing();
        try (GradMode g = GradMode.on()) {
            for (Batch mb : window) {
                try (Ops ops = Ops.scope(adapter.manager())) {
                    int block = attention.blockFor(mb.length(), checkpointing);
                    LayerTape tape = checkpointing ? LayerTape.recomputing(ops)
                            : block > 0 ? LayerTape.keeping(ops) : null;
                    Forward f = Forward.train(ops, base, adapter, Dropout.forStep(settings.seed(), microBatches++))
                            .withMemory(tape, block);
                    NDArray out = base.architecture().forward(f, mb.modelInput(ops));
                    NDArray l = ops.scale(objective.lossSum(ops, out, mb), 1.0 / Math.max(1, counted));
                    // the logits are as large as batch x length x vocab: autograd keeps what it needs of them
                    out.close();
                    float v = l.getFloat();
                    if (!Float.isFinite(v)) {
                        throw new NonFiniteLossException(step + 1, v);
                    }
                    NDArray root = lossScale == 1 ? l : ops.scale(l, lossScale);
                    if (tape == null) {
                        ops.backward(root);
                    } else {
                        tape.backward(root);
                    }
                    loss += v;
                }
                tokens += mb.tokens();
                padded += mb.paddedTokens();
                rows += mb.rows();
            }
        }
        double gradNorm = applyUpdate(lossScale, lr);
        step++;
        trainLossSum += loss;
        tokensSeen += tokens;
        examplesSeen += rows;
        double seconds = (System.nanoTime() - t0) / 1e9;
        elapsed += seconds;
        StepReport report = new StepReport(step, totalSteps, epoch(), loss, lr, gradNorm,
                tokens / seconds, rows / seconds, Memory.peakRssMb(), elapsed, tokens, padded);
        listener.onStep(report);
        boolean due = settings.evalSteps() > 0 && step % settings.evalSteps() == 0 || extraEvaluations.test(step);
        if (!eval.isEmpty() && due && !finished()) {
            evaluateNow();
        }
        return report;
    }

    /**
     * Gradients of the window: unscaling (fp16), global-norm clipping, the AdamW update, then zeroed for the next
     * window. With a loss scaler, gradients that overflowed skip the update (NaN is reported as the norm).
     */
    private double applyUpdate(double lossScale, double lr) {
        try (GradMode g = GradMode.off(); Ops ops = Ops.scope(adapter.manager())) {
            List<NDArray> grads = new ArrayList<>(trainable.size());
            for (Parameter p : trainable) {
                grads.add(ops.grad(p.tensor()));
            }
            // one tensor for the norm, the clipping and the update: a few calls per step, not a few per parameter
            NDArray flat = AdamW.flatten(ops, trainable, grads);
            if (lossScale != 1) {
                flat = ops.scale(flat, 1 / lossScale);
            }
            double norm = Math.sqrt(ops.sum(ops.square(ops.toType(flat, DataType.FLOAT32))).getFloat());
            if (scaler != null) {
                boolean finite = Double.isFinite(norm);
                scaler.update(finite);
                if (!finite) {
                    skippedSteps++;
                    LOG.info("step {}: fp16 gradients overflowed; update skipped, loss scale lowered to {}",
                            step + 1, scaler.scale());
                    for (Parameter p : trainable) {
                        Ops.zeroGrad(p.tensor());
                    }
                    return Double.NaN;
                }
            }
            if (settings.maxGradNorm() > 0) {
                double coef = settings.maxGradNorm() / (norm + 1e-6);
                if (coef < 1) {
                    flat = ops.scale(flat, coef);
                }
            }
            optimizer.update(trainable, grads, flat, lr);
            for (Parameter p : trainable) {
                Ops.zeroGrad(p.tensor());
            }
            return norm;
        }
    }

    /** Fractional epochs done, as transformers logs them. */
    public double epoch() {
        Cursor c = train.cursor();
        return c.epoch() + (double) c.index() / Math.max(1, train.batchesPerEpoch());
    }

    /** Evaluates now (and remembers the adapter if it is the best so far). */
    public Map<String, Double> evaluateNow() {
        Map<String, Double> m = Evaluator.evaluate(base, adapter, objective, eval.iterator(), attention);
        m.put("epoch", epoch());
        lastEval = m;
        evaluatedAt = step;
        Double value = m.get(settings.metric());
        boolean best = value != null && !value.isNaN() && (bestMetric == null
                || (settings.maximize() ? value > bestMetric : value < bestMetric));
        if (best) {
            bestMetric = value;
            bestStep = step;
            bestEval = m;
            bestTensors = adapter.snapshot().tensors();
            evalsWithoutImprovement = 0;
        } else {
            evalsWithoutImprovement++;
            if (settings.earlyStoppingPatience() > 0 && evalsWithoutImprovement >= settings.earlyStoppingPatience()) {
                stoppedEarly = true;
            }
        }
        listener.onEvaluated(step, m, best);
        return m;
    }

    /** Whether a checkpoint is due after the current step. */
    public boolean checkpointDue() {
        return settings.saveSteps() > 0 && step > 0 && step % settings.saveSteps() == 0 && !finished();
    }

    /** A copy of the trial's state for a checkpoint (can be written on another thread). */
    public Checkpoint checkpoint() {
        Map<String, HostTensor> first = new LinkedHashMap<>();
        Map<String, HostTensor> second = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : optimizer.firstMoments().entrySet()) {
            first.put(e.getKey(), host(e.getValue()));
        }
        for (Map.Entry<String, NDArray> e : optimizer.secondMoments().entrySet()) {
            second.put(e.getKey(), host(e.getValue()));
        }
        Cursor c = train.cursor();
        TrainerState state = new TrainerState(step, microBatches, c.epoch(), c.index(), train.batchSize(),
                trainLossSum, tokensSeen,
                examplesSeen, elapsed, bestMetric, bestStep, evalsWithoutImprovement, lastEval,
                scaler == null ? null : scaler.scale(), scaler == null ? 0 : scaler.growthTracker(), skippedSteps);
        return new Checkpoint(state, adapter.snapshot(), first, second);
    }

    private static HostTensor host(NDArray a) {
        return new HostTensor(a.getShape().getShape(), a.toFloatArray());
    }

    /** Continues from a checkpoint: adapter tensors, optimizer moments, data position and bookkeeping. */
    public void restore(Checkpoint c) {
        adapter.restore(c.adapter().tensors());
        Map<String, float[]> first = new LinkedHashMap<>();
        Map<String, float[]> second = new LinkedHashMap<>();
        c.firstMoments().forEach((k, v) -> first.put(k, v.data()));
        c.secondMoments().forEach((k, v) -> second.put(k, v.data()));
        TrainerState s = c.state();
        optimizer.restore(trainable, s.step() - s.skippedSteps(), first, second);
        skippedSteps = s.skippedSteps();
        if (scaler != null && s.lossScale() != null) {
            scaler.restore(s.lossScale(), s.lossScaleGrowthTracker());
        }
        // a checkpoint counts batches of its own size; a retry with smaller micro-batches starts at the same row
        long rowsDone = (long) s.index() * (s.batchSize() > 0 ? s.batchSize() : train.batchSize());
        train.seek(new Cursor(s.epoch(), (int) (rowsDone / train.batchSize())));
        step = s.step();
        microBatches = s.microBatches();
        trainLossSum = s.trainLossSum();
        tokensSeen = s.tokensSeen();
        examplesSeen = s.examplesSeen();
        elapsed = s.elapsedSeconds();
        bestMetric = s.bestMetric();
        bestStep = s.bestStep();
        evalsWithoutImprovement = s.evalsWithoutImprovement();
        lastEval = s.lastEval();
        if (bestStep == step && bestMetric != null) {
            bestTensors = c.adapter().tensors();
            bestEval = lastEval;
        }
    }

    /** The step whose adapter is best by the metric, or -1 before any evaluation. */
    public long bestStep() {
        return bestStep;
    }

    /**
     * Ends the run: a final evaluation (unless one just happened), and the adapter set to the best evaluated one.
     * Returns the metrics of the adapter that remains in place.
     */
    public Map<String, Double> finish() {
        Map<String, Double> result = new LinkedHashMap<>();
        if (!eval.isEmpty() && evaluatedAt != step) {
            evaluateNow();
        }
        if (bestTensors != null && bestStep != step) {
            adapter.restore(bestTensors);
        }
        result.put("train_loss", step == 0 ? Double.NaN : trainLossSum / step);
        result.putAll(bestTensors != null ? bestEval : lastEval);
        result.put("steps", (double) step);
        result.put("best_step", (double) bestStep);
        result.put("tokens_per_s", elapsed > 0 ? tokensSeen / elapsed : 0);
        result.put("examples_per_s", elapsed > 0 ? examplesSeen / elapsed : 0);
        result.put("train_runtime_s", elapsed);
        return result;
    }


    @Override
    public void close() {
        optimizer.close();
        train.close();
    }
}
