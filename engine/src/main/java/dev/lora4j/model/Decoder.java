package dev.lora4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.config.TaskType;
import dev.lora4j.runtime.Ops;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the decoder-only families share around their layers: a causal-LM head or a {@code score} head read at the
 * rightmost non-pad token (transformers' {@code *ForSequenceClassification}), LayerNorm with biases (GPT-2,
 * GPT-NeoX), and the accessors of {@link Architecture}. A subclass builds its parameters and module tree last, in its
 * constructor, through {@link #define}.
 */
abstract class Decoder implements Architecture {
    private static final float MASKED = AttentionMask.HIDDEN;

    protected final TaskType task;
    protected final int vocab;
    protected final int numLabels;
    /** transformers' {@code pad_token_id} for the classifier's pooling, or null when config.json has none. */
    protected final Integer padTokenId;
    private Map<String, long[]> params;
    private ModuleTree tree;
    private DecoderShape shape;

    /** {@code defaultPad}: the config class's {@code pad_token_id} when config.json has none (null: None). */
    Decoder(HfConfig c, TaskType task, Integer defaultPad) {
        this.task = task;
        this.vocab = c.size("vocab_size");
        this.numLabels = numLabels(c, task);
        this.padTokenId = poolingPadId(c, vocab, defaultPad);
    }

    /** Sets the sizes, the parameters and the module tree (at the end of the subclass's constructor). */
    protected final void define(DecoderShape sizes, Map<String, long[]> parameters, ModuleTree modules) {
        this.shape = sizes;
        this.params = parameters;
        this.tree = modules;
    }

    @Override
    public Optional<DecoderShape> decoderShape() {
        return Optional.of(shape);
    }

    /** {@code nn.LayerNorm} at {@code module} (weight and bias). */
    protected static NDArray layerNorm(Forward f, NDArray x, String module, double eps) {
        return f.ops().layerNorm(x, f.param(module + ".weight"), f.param(module + ".bias"), eps);
    }

    /**
     * The head on the final hidden states: {@code lmHead}'s logits {@code (B, T, vocab)}, or for a classifier
     * {@code score}'s logits at each row's rightmost token that is not {@code pad_token_id} {@code (B, labels)}.
     */
    protected final NDArray head(Forward f, NDArray x, ModelInput in, String lmHead) {
        if (task == TaskType.SEQ_CLS) {
            return lastTokenLogits(f.ops(), f.linear("score", x), in, padTokenId);
        }
        return f.linear(lmHead, x);
    }

    /** The head's parameters: a classifier's {@code score}, else {@code lmHead} unless it is tied to the embedding. */
    protected final void putHead(Map<String, long[]> p, String lmHead, int hidden, boolean tied) {
        if (task == TaskType.SEQ_CLS) {
            p.put("score.weight", new long[] {numLabels, hidden});
        } else if (!tied) {
            p.put(lmHead + ".weight", new long[] {vocab, hidden});
        }
    }

    /**
     * The module tree {@code n} ends with the head: {@code score} for a classifier, else {@code lmHead}, which is the
     * tree's output layer (the one {@code all-linear} leaves out, as PEFT does; a classifier's {@code score} has none).
     */
    protected final ModuleTree treeWithHead(String modelType, List<ModuleNode> n, String lmHead, int hidden) {
        if (task == TaskType.SEQ_CLS) {
            n.add(ModuleNode.linear("score", hidden, numLabels, false));
            return new ModuleTree(modelType, n, null, true);
        }
        n.add(ModuleNode.linear(lmHead, hidden, vocab, false));
        return new ModuleTree(modelType, n, lmHead, true);
    }

    /** A tied causal-LM head is the embedding under a second name. */
    protected final Map<String, String> tiedHead(boolean tied, String lmHead, String embedding) {
        return tied && task != TaskType.SEQ_CLS ? Map.of(lmHead + ".weight", embedding + ".weight") : Map.of();
    }

    /** Packed sequences are for causal LMs. */
    protected final void checkPacking(ModelInput in) {
        if (in.packed() && task == TaskType.SEQ_CLS) {
            throw new ModelException("packed sequences are for causal LMs; a classifier reads one row per sequence");
        }
    }

    @Override
    public ModuleTree tree() {
        return tree;
    }

    @Override
    public Map<String, long[]> parameters() {
        return params;
    }

    @Override
    public TaskType task() {
        return task;
    }

    @Override
    public int vocabSize() {
        return vocab;
    }

    @Override
    public int numLabels() {
        return task == TaskType.SEQ_CLS ? numLabels : 0;
    }

    @Override
    public Optional<String> transformersClass() {
        return Optional.of(className());
    }

    /** The classifier's outputs: num_labels, else the size of id2label, else 2; a classifier needs at least one. */
    static int numLabels(HfConfig c, TaskType task) {
        Optional<JsonNode> explicit = c.get("num_labels");
        int n = explicit.isPresent()
                ? c.intInRange("num_labels", 2, 0, Integer.MAX_VALUE, "a positive integer")
                : c.get("id2label").map(JsonNode::size).orElse(2);
        if (task == TaskType.SEQ_CLS && n < 1) {
            throw explicit.isPresent() ? c.invalid("num_labels", "a positive integer", explicit.get())
                    : c.invalid("id2label", "a mapping with at least one label", c.get("id2label").orElseThrow());
        }
        return n;
    }

    /** transformers' nn.Embedding(vocab_size, hidden_size, padding_idx=pad_token_id) accepts -vocab..vocab-1. */
    static int padTokenId(HfConfig c, int vocab, int def) {
        return c.intInRange("pad_token_id", def, -(long) vocab, vocab - 1L, "an integer from " + -vocab + " to "
                + (vocab - 1) + " (vocab_size is " + vocab + "), or null");
    }

    /** A pass's causal mask, and its sliding-window mask ({@code full} itself where the window hides nothing). */
    record Masks(AttentionMask full, AttentionMask windowed) {}

    /**
     * The masks of a decoder pass over {@code in}: causal, with its padding and packed rows hidden, and the same with
     * keys {@code window} or more before the query hidden too ({@code window} 0: none); a window at least as long as
     * the sequence hides nothing the causal mask does not.
     */
    static Masks masks(Forward f, ModelInput in, int window) {
        Ops ops = f.ops();
        int t = in.length();
        NDArray pad = in.attentionMask() == null ? null : padMask(ops, in.attentionMask(), in.batchSize(), t);
        NDArray segments = in.segmentIds() == null ? null : ops.toType(in.segmentIds(), DataType.FLOAT32);
        AttentionMask full = decoderMask(f, t, 0, pad, segments);
        return new Masks(full, window > 0 && t > window ? decoderMask(f, t, window, pad, segments) : full);
    }

    /**
     * The causal mask of a pass over {@code t} tokens, keys {@code window} or more before the query hidden when
     * {@code window > 0}, plus the additive key padding {@code pad} and the packed rows' {@code segments} (each
     * optional): made block by block when attention runs in blocks (no {@code (t, t)} mask at all), else whole.
     */
    static AttentionMask decoderMask(Forward f, int t, int window, NDArray pad, NDArray segments) {
        if (f.blockwise(t)) {
            return AttentionMask.blockwise(true, window, pad, segments, t);
        }
        Ops ops = f.ops();
        NDArray whole = causalMask(f, t, window);
        if (pad != null) {
            // padded keys are never attended, as transformers does for any padding side
            whole = ops.add(whole, pad);
        }
        if (segments != null) {
            whole = ops.add(whole, AttentionMask.segmentMask(ops, segments));
        }
        return AttentionMask.whole(whole, true, window, t);
    }

    /**
     * A classifier's logits {@code (B, labels)}: each row's at its last token, as transformers'
     * {@code *ForSequenceClassification} picks it: the rightmost token that is not {@code pad_token_id}
     * ({@code (token_indices * non_pad_mask).argmax(-1)}, 0 when there is none), among the tokens the attention mask
     * keeps. The mask only adds to transformers' rule where the batch pads with another id than the config's (which
     * transformers would pool as real tokens); without {@code pad_token_id} it is the last kept token (transformers
     * then takes the last token, and refuses batches of more than one row).
     *
     * @param padTokenId the config's {@code pad_token_id}, or null
     */
    static NDArray lastTokenLogits(Ops ops, NDArray logits, ModelInput in, Integer padTokenId) {
        int b = in.batchSize();
        int t = in.length();
        // cast in the caller's scope, not in the manager of the inputs (which may outlive this pass)
        long[] ids = padTokenId == null ? null : ops.toType(in.inputIds(), DataType.INT64).toLongArray();
        float[] kept = in.attentionMask() == null ? null
                : ops.toType(in.attentionMask(), DataType.FLOAT32).toFloatArray();
        long[] last = new long[b];
        for (int r = 0; r < b; r++) {
            for (int j = 0; j < t; j++) {
                boolean real = (ids == null || ids[r * t + j] != padTokenId) && (kept == null || kept[r * t + j] > 0);
                last[r] = real ? j : last[r];
            }
        }
        long labels = logits.getShape().get(2);
        NDArray idx = ops.broadcast(ops.longs(last, new Shape(b, 1, 1)), new Shape(b, 1, labels));
        return ops.reshape(ops.gather(logits, idx, 1), b, labels);
    }

    /**
     * The config's {@code pad_token_id} for the classifier's pooling: the value when set (null when null), else the
     * family config's default ({@code def}, null for none).
     */
    static Integer poolingPadId(HfConfig c, int vocab, Integer def) {
        if (c.get("pad_token_id").isEmpty()) {
            return def;
        }
        return c.get("pad_token_id").get().isNull() ? null : padTokenId(c, vocab, 0);
    }

    /**
     * The additive mask {@code (1, 1, t, t)}: 0 where key j is visible from query i, the most negative float
     * elsewhere; the top-left corner of a shared mask built for a power-of-two length.
     */
    private static NDArray causalMask(Forward f, int t, int window) {
        int capacity = capacity(t);
        NDArray mask = f.constant("llama.causal." + capacity + "." + window, ops -> {
            float[] m = new float[capacity * capacity];
            for (int i = 0; i < capacity; i++) {
                for (int j = 0; j < capacity; j++) {
                    boolean visible = j <= i && (window <= 0 || i - j < window);
                    m[i * capacity + j] = visible ? 0f : MASKED;
                }
            }
            return ops.floats(m, new Shape(1, 1, capacity, capacity));
        });
        Ops ops = f.ops();
        return ops.slice(ops.slice(mask, 2, 0, t), 3, 0, t);
    }

    /** The length shared tables are built for: a power of two, at least 64. */
    static int capacity(int t) {
        return Math.max(64, Integer.highestOneBit(Math.max(1, t - 1)) << 1);
    }

    static NDArray padMask(Ops ops, NDArray attentionMask, int b, int t) {
        NDArray keep = ops.toType(attentionMask, DataType.FLOAT32);
        // (1 - mask) * most-negative, shaped to broadcast over heads and queries
        NDArray masked = ops.scale(ops.sub(ops.ones(keep.getShape(), DataType.FLOAT32), keep), MASKED);
        return ops.reshape(masked, b, 1, 1, t);
    }
}
