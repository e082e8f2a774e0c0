package dev.lora4j.train;

import ai.djl.Device;
import ai.djl.util.cuda.CudaUtils;
import com.sun.management.OperatingSystemMXBean;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.TaskType;
import dev.lora4j.lora.Adapter;
import dev.lora4j.lora.TargetMatcher;
import dev.lora4j.model.Architecture;
import dev.lora4j.model.Attention;
import dev.lora4j.model.DecoderShape;
import dev.lora4j.model.HfConfig;
import dev.lora4j.model.HfModels;
import dev.lora4j.model.ModuleNode;
import dev.lora4j.model.WeightSource;
import dev.lora4j.model.WeightSources;
import dev.lora4j.run.ModelSpec;
import dev.lora4j.run.Precision;
import dev.lora4j.run.RunSpec;
import dev.lora4j.run.TrainingConfig;
import dev.lora4j.sweep.SweepSpec;
import dev.lora4j.sweep.TrialSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * The peak memory of one trial, before running it: the runtime (JVM, libtorch and its math libraries on the CPU; a
 * CUDA context on a GPU), the base weights (once per device, shared by its trials), and per trial the adapter, its
 * gradients and AdamW's moments, and the activations of one micro-batch at the configured batch size, length
 * ({@code data.max_length}, what a batch of long rows pads to), precision and checkpointing.
 *
 * <p>The activations are counted the way autograd keeps them in lora4j's layers (what each operation saves for
 * backward, per token and layer), plus what is alive at the moment of the peak: the head's log-probabilities and
 * their gradients when backward starts, one layer's attention gradients, or with gradient checkpointing each layer's
 * input and one recomputed layer with its attention blocks. The coefficients were checked against measured peak
 * resident memory (docs/performance.md): within 20% on the shapes measured there.
 */
public final class MemoryEstimate {
    /**
     * What a CPU process holds before any trial: the JVM with lora4j's classes, libtorch and MKL with their thread
     * pools and buffers after a first step. Measured: {@code bin/lora4j train} of the tiny fixture Llama on
     * pre-tokenised rows peaks at 231-237 MiB (2 threads; docs/performance.md).
     */
    public static final long CPU_RUNTIME_BYTES = 235L << 20;
    /**
     * What a model with a tokenizer reading text rows adds to the process: the tokenizer library with its threads,
     * tokenisation's garbage in the Java heap. Measured: the demo's model and data at 1 x 8 tokens hold 397 MiB after
     * the first step, of which 87 MiB are the weights and {@link #CPU_RUNTIME_BYTES} the runtime.
     */
    public static final long TOKENIZER_BYTES = 75L << 20;
    /** A CUDA context and libtorch's kernels on a GPU (not measured here: no GPU; the usual 0.5 GiB). */
    public static final long GPU_RUNTIME_BYTES = 512L << 20;
    /** The share of a device's free memory that trials may plan to use. */
    public static final double SAFETY = 0.85;

    /**
     * One trial's memory.
     *
     * @param runtimeBytes    the process (once per process)
     * @param baseBytes       the base weights (once per device)
     * @param adapterBytes    the trainable tensors
     * @param optimizerBytes  their gradients, AdamW's two moments and the flat copies of an update
     * @param activationBytes one micro-batch's forward and backward at the peak
     * @param batch           rows per micro-batch
     * @param length          tokens per row
     */
    public record Estimate(long runtimeBytes, long baseBytes, long adapterBytes, long optimizerBytes,
                           long activationBytes, int batch, int length) {
        /** What one more trial on the device adds. */
        public long perTrialBytes() {
            return adapterBytes + optimizerBytes + activationBytes;
        }

        /** The peak of a process running this one trial. */
        public long peakBytes() {
            return runtimeBytes + baseBytes + perTrialBytes();
        }

        /**
         * How many such trials fit in {@code deviceBytes} of free memory ({@link #SAFETY} of it), the base and the
         * runtime counted once; 0 when not even one does.
         */
        public int trialsPerDevice(long deviceBytes) {
            double room = deviceBytes * SAFETY - runtimeBytes - baseBytes;
            return room < perTrialBytes() ? 0 : (int) Math.min(Integer.MAX_VALUE, (long) (room / perTrialBytes()));
        }
    }

    private MemoryEstimate() {}

    /**
     * The estimate for one trial of {@code run}: its model's {@code config.json} and checkpoint header are read (no
     * weights), rows are taken to pad to {@code data.max_length}.
     */
    public static Estimate forRun(RunSpec run, boolean gpu) {
        Header h = Header.read(run.model());
        return h.withTokenizer(of(h.config(), h.names(), run.task(), run.lora(), run.training(),
                run.data().maxLength(), gpu));
    }

    /** What an estimate reads of a model folder: its config.json, its tensors' names, whether it has a tokenizer. */
    private record Header(HfConfig config, Set<String> names, boolean tokenizer) {
        static Header read(ModelSpec model) {
            Path folder = HfModels.folderOf(model);
            try (WeightSource source = WeightSources.open(folder)) {
                return new Header(HfConfig.read(folder), new HashSet<>(source.names()),
                        Files.isRegularFile(folder.resolve("tokenizer.json")));
            } catch (IOException e) {
                throw new UncheckedIOException(folder + ": " + e.getMessage(), e);
            }
        }

        /** Adds {@link #TOKENIZER_BYTES} to the runtime when the model reads text rows through a tokenizer. */
        Estimate withTokenizer(Estimate e) {
            return !tokenizer ? e : new Estimate(e.runtimeBytes() + TOKENIZER_BYTES, e.baseBytes(), e.adapterBytes(),
                    e.optimizerBytes(), e.activationBytes(), e.batch(), e.length());
        }
    }

    /** The most trials of a sweep that {@link #forSweep} looks at (a grid may have millions). */
    public static final int SWEEP_TRIALS_LOOKED_AT = 10_000;

    /**
     * The largest estimate among a sweep's trials (the first {@link #SWEEP_TRIALS_LOOKED_AT}; trials whose own
     * combination is invalid are skipped, as the sweep rejects them): the trial that needs the most decides how many
     * fit.
     */
    public static Estimate forSweep(SweepSpec sweep, boolean gpu) {
        Header h = Header.read(sweep.base().model());
        // the architecture depends on the task alone: built once per task, not once per trial
        Map<TaskType, Architecture> byTask = new EnumMap<>(TaskType.class);
        Estimate largest = null;
        Iterator<TrialSpec> it = sweep.trials().iterator();
        for (int i = 0; i < SWEEP_TRIALS_LOOKED_AT && it.hasNext(); i++) {
            TrialSpec t = it.next();
            if (!t.isValid()) {
                continue;
            }
            Architecture arch = byTask.computeIfAbsent(t.task(),
                    task -> HfModels.architecture(h.config(), task, h.names()));
            Estimate e = of(arch, h.config(), t.task(), t.lora(), t.training(), t.data().maxLength(), gpu);
            if (largest == null || e.peakBytes() > largest.peakBytes()) {
                largest = e;
            }
        }
        if (largest == null) {
            RunSpec base = sweep.base();
            largest = of(h.config(), h.names(), base.task(), base.lora(), base.training(), base.data().maxLength(),
                    gpu);
        }
        return h.withTokenizer(largest);
    }

    /**
     * What {@code device} can still hold, in bytes: on the CPU the memory the kernel reports available
     * ({@code MemAvailable}, else the machine's total), on a GPU its total less what is in use.
     */
    public static long freeBytes(Device device) {
        if (device.isGpu()) {
            MemoryUsage m = CudaUtils.getGpuMemory(device);
            return m.getMax() - m.getUsed();
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux: the machine's total below
        }
        if (ManagementFactory.getOperatingSystemMXBean() instanceof OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return Runtime.getRuntime().maxMemory();
    }

    /**
     * The estimate for a model of {@code config} (whose checkpoint holds tensors {@code names}) trained as
     * {@code task} with {@code lora} and {@code training}, rows of {@code length} tokens, on a GPU or not.
     */
    public static Estimate of(HfConfig config, Set<String> names, TaskType task, LoraConfig lora,
            TrainingConfig training, int length, boolean gpu) {
        return of(HfModels.architecture(config, task, names), config, task, lora, training, length, gpu);
    }

    private static Estimate of(Architecture arch, HfConfig config, TaskType task, LoraConfig lora,
            TrainingConfig training, int length, boolean gpu) {
        boolean half = training.precision() == Precision.FP16 && gpu;
        int e = half ? 2 : 4;
        long base = 0;
        for (long[] shape : arch.parameters().values()) {
            base += e * count(shape);
        }
        LoraConfig withTask = lora.taskType().isPresent() ? lora : lora.toBuilder().taskType(task).build();
        long trainable = Adapter.trainableValues(arch.tree(), arch.parameters(), withTask);
        long adapter = 4 * trainable;
        // the gradient on each tensor, AdamW's two moments, and the flat gradient with the update's temporaries
        long optimizer = 4 * trainable * 6;
        int batch = training.batchSize();
        long activations = switch (config.modelType()) {
            case "bert", "roberta" -> bert(config, arch, withTask, training, batch, length, e);
            default -> llama(arch, withTask, training, batch, length, e);
        };
        return new Estimate(gpu ? GPU_RUNTIME_BYTES : CPU_RUNTIME_BYTES, base, adapter, optimizer, activations,
                batch, length);
    }

    private static long count(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** Bytes per token the LoRA paths keep: {@code [0]} in one layer (the average), {@code [1]} outside layers. */
    private static long[] loraPerToken(Architecture arch, LoraConfig lora, int layers, boolean half) {
        TargetMatcher.Selection sel = TargetMatcher.select(lora, arch.tree());
        long inLayers = 0;
        long outside = 0;
        for (ModuleNode m : sel.targeted()) {
            if (m.kind() == ModuleNode.Kind.EMBEDDING) {
                continue; // a lookup keeps no input
            }
            long bytes = loraPerToken(m, sel.config(), half);
            if (m.path().contains(".layers.") || m.path().contains(".layer.") || m.path().contains(".h.")) {
                inLayers += bytes;
            } else {
                outside += bytes;
            }
        }
        return new long[] {layers == 0 ? 0 : inLayers / layers, outside};
    }

    /** Bytes per token that the LoRA path of {@code module} keeps for backward. */
    private static long loraPerToken(ModuleNode m, LoraConfig c, boolean half) {
        long in = m.inFeatures();
        long out = m.outFeatures();
        long r = c.rankFor(m.path());
        long kept = 4 * 2 * r; // the rank-r activations
        if (c.loraDropout() > 0) {
            kept += 4 * 2 * in; // the mask and the dropped-out input
        } else if (half) {
            kept += 4 * in; // the input cast to float32
        }
        if (c.useDora()) {
            kept += 4 * 2 * out; // the base result and the LoRA result the magnitude scales
        }
        return kept;
    }

    /**
     * Llama's coefficients (SwiGLU keeps two MLP projections of width {@code inter} and their product; GPT-2's and
     * GPT-NeoX's GELU MLP keeps one and its activation, with LayerNorm inputs in place of RMSNorm's: within the
     * estimate's 20%).
     */
    private static long llama(Architecture arch, LoraConfig lora, TrainingConfig t, int batch, int length, int e) {
        DecoderShape shape = arch.decoderShape().orElseThrow();
        long h = shape.hidden();
        long inter = shape.intermediate();
        int layers = shape.layers();
        long heads = shape.heads();
        long vocab = arch.task() == TaskType.SEQ_CLS ? arch.numLabels() : arch.vocabSize();
        long tokens = (long) batch * length;
        boolean half = e == 2;
        long[] loraBytes = loraPerToken(arch, lora, layers, half);
        long loraLayer = loraBytes[0];
        // heads x head_dim: hidden_size but where head_dim says otherwise (Qwen3, Gemma: wider or narrower)
        long width = heads * shape.headDim();
        // what one layer keeps per token: rotated q, repeated k and v, the attention output that o_proj reads, the
        // residual after attention, the output, the MLP's gate, sigmoid, SiLU and up projections
        long layerKept = e * (4 * width + 2 * h + 4 * inter) + loraLayer;
        long scores = 4L * batch * heads * length * length; // one layer's probabilities, float32
        boolean checkpointing = t.gradientCheckpointing();
        int block = Attention.Policy.DEFAULT.blockFor(length, checkpointing);
        // the head: float32 log-probabilities and, when backward starts, their gradient and the logits'
        long head = 3 * 4 * tokens * vocab + e * tokens * vocab + tokens * loraBytes[1];
        if (!checkpointing) {
            long attentionKept = block > 0 ? 0 : scores + (half ? scores / 2 : 0);
            long all = layers * (tokens * layerKept + attentionKept);
            // backward of the last layer: gradients of the scores (whole) or of one block's
            long passing = block > 0 ? blockTransient(batch, heads, block, length)
                    : 2 * scores + tokens * 4 * (3 * inter + 3 * h);
            return all + Math.max(head, passing) + e * tokens * h * 2;
        }
        long inputs = (layers + 1L) * tokens * h * e;
        long recomputed = tokens * (layerKept + 4 * h + 4 * (3 * inter + 3 * h))
                + (block > 0 ? blockTransient(batch, heads, block, length) : 3 * scores);
        return inputs + Math.max(head, recomputed);
    }

    /** One attention block's scores, mask, probabilities and their gradients, float32. */
    private static long blockTransient(int batch, long heads, int block, int length) {
        return 5L * 4 * batch * heads * Math.min(block, length) * length;
    }

    private static long bert(HfConfig c, Architecture arch, LoraConfig lora, TrainingConfig t, int batch,
            int length, int e) {
        long h = c.size("hidden_size");
        long inter = c.size("intermediate_size");
        int layers = c.count("num_hidden_layers");
        long heads = c.size("num_attention_heads");
        long tokens = (long) batch * length;
        boolean half = e == 2;
        long[] loraBytes = loraPerToken(arch, lora, layers, half);
        long loraLayer = loraBytes[0];
        // q and k, v, the two dropout masks, both LayerNorms' inputs, the GELU's input, the output
        long layerKept = e * (6 * h + inter) + 4 * 2 * h + loraLayer;
        boolean checkpointing = t.gradientCheckpointing();
        int block = Attention.Policy.DEFAULT.blockFor(length, checkpointing);
        // probabilities, their dropout mask and the dropped-out probabilities
        long scores = 3L * 4 * batch * heads * length * length;
        long embeddings = tokens * (3 * e * h + 4 * h + loraBytes[1]);
        // a classifier's last layer computes queries, attention output and MLP for the first token only
        double fullLayers = arch.task() == TaskType.SEQ_CLS ? layers - 0.7 : layers;
        if (!checkpointing) {
            long attentionKept = block > 0 ? 0 : scores;
            long all = (long) (fullLayers * (tokens * layerKept + attentionKept));
            long passing = block > 0 ? blockTransient(batch, heads, block, length)
                    : 2 * scores / 3 + tokens * 4 * (2 * inter + 3 * h);
            return embeddings + all + passing;
        }
        long inputs = (layers + 1L) * tokens * h * e;
        long recomputed = tokens * (layerKept + 4 * h + 4 * (2 * inter + 3 * h))
                + (block > 0 ? blockTransient(batch, heads, block, length) : scores);
        return embeddings + inputs + recomputed;
    }
}
