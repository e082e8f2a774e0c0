package dev.lora4j.bench;

import ai.djl.pytorch.jni.JniUtils;
import dev.lora4j.lora.Adapter;
import dev.lora4j.model.Attention;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.HfModels;
import dev.lora4j.runtime.Torch;
import dev.lora4j.train.Memory;
import dev.lora4j.train.Objective;
import dev.lora4j.train.StepReport;
import dev.lora4j.train.TrainListener;
import dev.lora4j.train.TrialRun;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Times lora4j's training step ({@link TrialRun#step()}: forward, backward, AdamW) on the shape of the PyTorch peer
 * in /work/shared/bench and prints one {@code RESULT} line shaped like the peer's. {@code --xcheck DIR} instead
 * writes a base, an adapter and a batch for the peer and prints lora4j's loss and gradient norms on them.
 */
public final class TrainStepBench {
    private static final long BASE_SEED = 42;
    private static final long ADAPTER_SEED = 7;
    private static final long DATA_SEED = 123;

    /**
     * The command line: {@code --threads K --steps N --warmup W --dropout P [--profile FILE] [--xcheck DIR]}, the
     * shape ({@code --vocab --hidden --layers --heads --kv-heads --inter --seq --batch}, the peer's defaults), and
     * {@code --checkpoint} (gradient checkpointing), {@code --attention whole|blocks|default} (which attention;
     * default: the product's rule) and {@code --model DIR} (a Hugging Face folder instead of random weights).
     */
    record Options(int threads, int steps, int warmup, double dropout, Path profile, Path xcheck, BenchShape shape,
            boolean checkpoint, String attention, Path model) {
        static Options parse(String[] args) {
            int threads = 2;
            int steps = 20;
            int warmup = 5;
            double dropout = 0.05;
            Path profile = null;
            Path xcheck = null;
            BenchShape d = BenchShape.TINY_LLAMA;
            int vocab = d.vocab();
            int hidden = d.hidden();
            int layers = d.layers();
            int heads = d.heads();
            int kvHeads = -1;
            int inter = d.intermediate();
            int seq = d.length();
            int batch = d.batch();
            boolean checkpoint = false;
            String attention = "default";
            Path model = null;
            for (int i = 0; i < args.length; i++) {
                String value = i + 1 < args.length ? args[i + 1] : null;
                switch (args[i]) {
                    case "--threads" -> threads = Integer.parseInt(required(args[i], value));
                    case "--steps" -> steps = Integer.parseInt(required(args[i], value));
                    case "--warmup" -> warmup = Integer.parseInt(required(args[i], value));
                    case "--dropout" -> dropout = Double.parseDouble(required(args[i], value));
                    case "--profile" -> profile = Path.of(required(args[i], value));
                    case "--xcheck" -> xcheck = Path.of(required(args[i], value));
                    case "--vocab" -> vocab = Integer.parseInt(required(args[i], value));
                    case "--hidden" -> hidden = Integer.parseInt(required(args[i], value));
                    case "--layers" -> layers = Integer.parseInt(required(args[i], value));
                    case "--heads" -> heads = Integer.parseInt(required(args[i], value));
                    case "--kv-heads" -> kvHeads = Integer.parseInt(required(args[i], value));
                    case "--inter" -> inter = Integer.parseInt(required(args[i], value));
                    case "--seq" -> seq = Integer.parseInt(required(args[i], value));
                    case "--batch" -> batch = Integer.parseInt(required(args[i], value));
                    case "--attention" -> attention = required(args[i], value);
                    case "--model" -> model = Path.of(required(args[i], value));
                    case "--checkpoint" -> {
                        checkpoint = true;
                        i--;
                    }
                    default -> throw new IllegalArgumentException("unknown option " + args[i] + " (options: --threads K"
                            + " --steps N --warmup W --dropout P --profile FILE --xcheck DIR --vocab V --hidden H"
                            + " --layers L --heads A --kv-heads G --inter I --seq T --batch B --checkpoint"
                            + " --attention whole|blocks|default --model DIR)");
                }
                i++;
            }
            if (threads < 1 || steps < 1 || warmup < 0) {
                throw new IllegalArgumentException("need --threads >= 1, --steps >= 1, --warmup >= 0");
            }
            if (!List.of("whole", "blocks", "default").contains(attention)) {
                throw new IllegalArgumentException("--attention is whole, blocks or default, got " + attention);
            }
            BenchShape shape = new BenchShape(vocab, hidden, layers, heads, kvHeads < 0 ? heads : kvHeads, inter,
                    batch, seq);
            return new Options(threads, steps, warmup, dropout, profile, xcheck, shape, checkpoint, attention, model);
        }

        Attention.Policy policy() {
            return switch (attention) {
                case "whole" -> Attention.Policy.WHOLE;
                case "blocks" -> new Attention.Policy(Attention.Policy.DEFAULT.block(), 0);
                default -> Attention.Policy.DEFAULT;
            };
        }

        private static String required(String option, String value) {
            if (value == null) {
                throw new IllegalArgumentException(option + " needs a value");
            }
            return value;
        }
    }

    private TrainStepBench() {}

    public static void main(String[] args) throws Exception {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("bench: " + e.getMessage());
            System.exit(2);
            return;
        }
        // before the engine starts, so libtorch's pool is sized once; setThreads pins this thread's as well
        System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(o.threads()));
        Torch.setThreads(o.threads());
        BenchShape shape = o.shape();
        if (o.xcheck() != null) {
            CrossCheck.run(shape, BASE_SEED, o.xcheck());
            return;
        }
        System.out.println(run(shape, o));
    }

    static String run(BenchShape shape, Options o) {
        int total = o.warmup() + o.steps();
        double[] millis = new double[o.steps()];
        double first = Double.NaN;
        double last = Double.NaN;
        long start = System.nanoTime();
        try (BaseModel base = o.model() == null ? shape.randomBase(BASE_SEED) : HfModels.load(o.model());
                Adapter adapter = Adapter.create(base, shape.lora(o.dropout(), true), ADAPTER_SEED);
                TrialRun run = new TrialRun(base, adapter, new Objective.CausalLm(), settings(total, o.checkpoint()),
                        new RandomTokens(shape.withVocab(base.architecture().vocabSize()), total, DATA_SEED),
                        List.of(), TrainListener.NONE)) {
            run.attentionPolicy(o.policy());
            long loaded = System.nanoTime();
            System.err.printf(Locale.ROOT, "bench: %s loaded in %.1f s, rss %d MB%n", base.architecture().describe(),
                    (loaded - start) / 1e9, Memory.rssMb());
            for (int i = 0; i < total; i++) {
                if (i == o.warmup() && o.profile() != null) {
                    JniUtils.startProfile(false, true, false);
                }
                long t0 = System.nanoTime();
                StepReport r = run.step();
                double ms = (System.nanoTime() - t0) / 1e6;
                if (i >= o.warmup()) {
                    millis[i - o.warmup()] = ms;
                }
                first = i == 0 ? r.loss() : first;
                last = r.loss();
            }
            if (o.profile() != null) {
                JniUtils.stopProfile(o.profile().toAbsolutePath().toString());
            }
        }
        double[] sorted = millis.clone();
        Arrays.sort(sorted);
        double median = sorted.length % 2 == 1 ? sorted[sorted.length / 2]
                : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
        return String.format(Locale.ROOT, "RESULT lora4j threads=%d median_step_ms=%.2f min=%.2f max=%.2f"
                + " tokens_per_s=%.0f loss %.4f->%.4f rss_mb=%d peak_rss_mb=%d shape=%s checkpoint=%s attention=%s",
                Torch.threads(), median, sorted[0], sorted[sorted.length - 1], shape.tokensPerBatch() / (median / 1000),
                first, last, Memory.rssMb(), Memory.peakRssMb(), shape.describe(), o.checkpoint(), o.attention());
    }

    /** The peer's optimiser: AdamW(lr 1e-4, wd 0.01), constant rate, no clipping, one micro-batch per step. */
    static TrialRun.Settings settings(int steps, boolean checkpoint) {
        return new TrialRun.Settings(1e-4, 0.01, 0.9, 0.999, 1e-8, "constant", 0, 0, 1, steps, 1, 0, 0, 0, 0, 1,
                "eval_loss", false, checkpoint);
    }
}
