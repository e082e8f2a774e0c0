package dev.lora4j.model;

import ai.djl.ndarray.NDArray;
import dev.lora4j.config.TaskType;
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
        this.numLabels = Llama.numLabels(c, task);
        this.padTokenId = Llama.poolingPadId(c, vocab, defaultPad);
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
            return Llama.lastTokenLogits(f.ops(), f.linear("score", x), in, padTokenId);
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
}
