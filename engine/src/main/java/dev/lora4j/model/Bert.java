package dev.lora4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.lora4j.config.TaskType;
import dev.lora4j.runtime.Ops;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * BERT as transformers computes it: word + absolute position + token type embeddings, post-LN encoder layers with
 * exact GELU, a tanh pooler, and for {@code SEQ_CLS} a linear {@code classifier} on the pooled output
 * ({@code BertForSequenceClassification}, parameters under {@code bert.}); otherwise {@code BertModel} (no prefix)
 * returning the last hidden state.
 *
 * <p>RoBERTa ({@code model_type: roberta}) is the same encoder with two differences: positions count only real
 * tokens and start after the padding index ({@code create_position_ids_from_input_ids}), and
 * {@code RobertaForSequenceClassification} has no pooler but a two-layer head on the first token
 * ({@code classifier.dense}, tanh, {@code classifier.out_proj}); parameters under {@code roberta.}.
 */
public final class Bert implements Architecture {
    private final TaskType task;
    private final boolean roberta;
    private final long paddingIdx;
    private final String family;
    private final String prefix;
    private final int vocab;
    private final int hidden;
    private final int intermediate;
    private final int layers;
    private final int heads;
    private final int maxPositions;
    private final int typeVocab;
    private final double eps;
    private final double hiddenDropout;
    private final double attentionDropout;
    private final double classifierDropout;
    private final int numLabels;
    private final Activation act;
    private final ModuleTree tree;
    private final Map<String, long[]> params;

    public Bert(HfConfig c, TaskType task) {
        this.task = task;
        this.roberta = c.modelType().equals("roberta");
        this.family = roberta ? "roberta" : "bert";
        this.prefix = task == TaskType.SEQ_CLS ? family + "." : "";
        this.vocab = c.size("vocab_size");
        this.hidden = c.size("hidden_size");
        this.intermediate = c.size("intermediate_size");
        this.layers = c.count("num_hidden_layers");
        this.heads = c.size("num_attention_heads");
        this.paddingIdx = Decoder.padTokenId(c, vocab, roberta ? 1 : 0);
        this.maxPositions = c.sizeOr("max_position_embeddings", 512);
        this.typeVocab = c.sizeOr("type_vocab_size", 2);
        this.eps = c.numberAtLeast("layer_norm_eps", 1e-12, 0, true);
        this.hiddenDropout = c.probabilityOr("hidden_dropout_prob", 0.1);
        this.attentionDropout = c.probabilityOr("attention_probs_dropout_prob", 0.1);
        this.classifierDropout = c.probabilityOr("classifier_dropout", hiddenDropout);
        this.numLabels = Decoder.numLabels(c, task);
        this.act = Activation.of(c, "hidden_act", "gelu", family);
        String pos = c.stringOr("position_embedding_type", "absolute");
        if (!pos.equals("absolute")) {
            throw new ModelException(c.source() + ": position_embedding_type " + pos
                    + " is not supported (supported: absolute)");
        }
        if (roberta && maxPositions <= paddingIdx + 1) {
            throw new ModelException(c.source() + ": max_position_embeddings " + maxPositions + " leaves no"
                    + " position after pad_token_id " + paddingIdx + " (RoBERTa numbers positions from pad + 1)");
        }
        if (hidden % heads != 0) {
            throw new ModelException(c.source() + ": num_attention_heads " + heads + " does not divide hidden_size "
                    + hidden + " (the head size is hidden_size / num_attention_heads); use a divisor of hidden_size");
        }
        this.params = buildParams();
        this.tree = buildTree();
    }

    /** {@code bert.} (or {@code roberta.}) for the classifier, nothing for the bare encoder. */
    public String prefix() {
        return prefix;
    }

    @Override
    public TaskType task() {
        return task;
    }

    @Override
    public int numLabels() {
        return task == TaskType.SEQ_CLS ? numLabels : 0;
    }

    @Override
    public int vocabSize() {
        return vocab;
    }

    @Override
    public Optional<String> transformersClass() {
        String name = roberta ? "Roberta" : "Bert";
        return Optional.of(task == TaskType.SEQ_CLS ? name + "ForSequenceClassification" : name + "Model");
    }

    private String layer(int i) {
        return prefix + "encoder.layer." + i;
    }

    private Map<String, long[]> buildParams() {
        Map<String, long[]> p = new LinkedHashMap<>();
        String e = prefix + "embeddings.";
        p.put(e + "word_embeddings.weight", new long[] {vocab, hidden});
        p.put(e + "position_embeddings.weight", new long[] {maxPositions, hidden});
        p.put(e + "token_type_embeddings.weight", new long[] {typeVocab, hidden});
        p.put(e + "LayerNorm.weight", new long[] {hidden});
        p.put(e + "LayerNorm.bias", new long[] {hidden});
        for (int i = 0; i < layers; i++) {
            String l = layer(i);
            for (String n : new String[] {"query", "key", "value"}) {
                p.put(l + ".attention.self." + n + ".weight", new long[] {hidden, hidden});
                p.put(l + ".attention.self." + n + ".bias", new long[] {hidden});
            }
            p.put(l + ".attention.output.dense.weight", new long[] {hidden, hidden});
            p.put(l + ".attention.output.dense.bias", new long[] {hidden});
            p.put(l + ".attention.output.LayerNorm.weight", new long[] {hidden});
            p.put(l + ".attention.output.LayerNorm.bias", new long[] {hidden});
            p.put(l + ".intermediate.dense.weight", new long[] {intermediate, hidden});
            p.put(l + ".intermediate.dense.bias", new long[] {intermediate});
            p.put(l + ".output.dense.weight", new long[] {hidden, intermediate});
            p.put(l + ".output.dense.bias", new long[] {hidden});
            p.put(l + ".output.LayerNorm.weight", new long[] {hidden});
            p.put(l + ".output.LayerNorm.bias", new long[] {hidden});
        }
        if (robertaHead()) {
            p.put("classifier.dense.weight", new long[] {hidden, hidden});
            p.put("classifier.dense.bias", new long[] {hidden});
            p.put("classifier.out_proj.weight", new long[] {numLabels, hidden});
            p.put("classifier.out_proj.bias", new long[] {numLabels});
            return p;
        }
        p.put(prefix + "pooler.dense.weight", new long[] {hidden, hidden});
        p.put(prefix + "pooler.dense.bias", new long[] {hidden});
        if (task == TaskType.SEQ_CLS) {
            p.put("classifier.weight", new long[] {numLabels, hidden});
            p.put("classifier.bias", new long[] {numLabels});
        }
        return p;
    }

    /** RobertaForSequenceClassification: no pooler, a dense + out_proj head. */
    private boolean robertaHead() {
        return roberta && task == TaskType.SEQ_CLS;
    }

    private ModuleTree buildTree() {
        List<ModuleNode> n = new ArrayList<>();
        String cls = roberta ? "Roberta" : "Bert";
        if (!prefix.isEmpty()) {
            n.add(ModuleNode.other(family, cls + "Model"));
        }
        String e = prefix + "embeddings";
        n.add(ModuleNode.other(e, cls + "Embeddings"));
        n.add(ModuleNode.embedding(e + ".word_embeddings", vocab, hidden));
        n.add(ModuleNode.embedding(e + ".position_embeddings", maxPositions, hidden));
        n.add(ModuleNode.embedding(e + ".token_type_embeddings", typeVocab, hidden));
        n.add(ModuleNode.other(e + ".LayerNorm", "LayerNorm"));
        n.add(ModuleNode.other(e + ".dropout", "Dropout"));
        n.add(ModuleNode.other(prefix + "encoder", cls + "Encoder"));
        n.add(ModuleNode.other(prefix + "encoder.layer", "ModuleList"));
        for (int i = 0; i < layers; i++) {
            String l = layer(i);
            n.add(ModuleNode.other(l, cls + "Layer"));
            n.add(ModuleNode.other(l + ".attention", cls + "Attention"));
            n.add(ModuleNode.other(l + ".attention.self", cls + "SelfAttention"));
            n.add(ModuleNode.linear(l + ".attention.self.query", hidden, hidden, true));
            n.add(ModuleNode.linear(l + ".attention.self.key", hidden, hidden, true));
            n.add(ModuleNode.linear(l + ".attention.self.value", hidden, hidden, true));
            n.add(ModuleNode.other(l + ".attention.self.dropout", "Dropout"));
            n.add(ModuleNode.other(l + ".attention.output", cls + "SelfOutput"));
            n.add(ModuleNode.linear(l + ".attention.output.dense", hidden, hidden, true));
            n.add(ModuleNode.other(l + ".attention.output.LayerNorm", "LayerNorm"));
            n.add(ModuleNode.other(l + ".attention.output.dropout", "Dropout"));
            n.add(ModuleNode.other(l + ".intermediate", cls + "Intermediate"));
            n.add(ModuleNode.linear(l + ".intermediate.dense", hidden, intermediate, true));
            n.add(ModuleNode.other(l + ".intermediate.intermediate_act_fn", "GELUActivation"));
            n.add(ModuleNode.other(l + ".output", cls + "Output"));
            n.add(ModuleNode.linear(l + ".output.dense", intermediate, hidden, true));
            n.add(ModuleNode.other(l + ".output.LayerNorm", "LayerNorm"));
            n.add(ModuleNode.other(l + ".output.dropout", "Dropout"));
        }
        if (robertaHead()) {
            n.add(ModuleNode.other("classifier", "RobertaClassificationHead"));
            n.add(ModuleNode.linear("classifier.dense", hidden, hidden, true));
            n.add(ModuleNode.other("classifier.dropout", "Dropout"));
            n.add(ModuleNode.linear("classifier.out_proj", hidden, numLabels, true));
            return new ModuleTree(family, n, null, true);
        }
        n.add(ModuleNode.other(prefix + "pooler", cls + "Pooler"));
        n.add(ModuleNode.linear(prefix + "pooler.dense", hidden, hidden, true));
        n.add(ModuleNode.other(prefix + "pooler.activation", "Tanh"));
        if (task == TaskType.SEQ_CLS) {
            n.add(ModuleNode.other("dropout", "Dropout"));
            n.add(ModuleNode.linear("classifier", hidden, numLabels, true));
        }
        // BertForSequenceClassification has no output embeddings: all-linear + SEQ_CLS skips `classifier`
        return new ModuleTree(family, n, null, true);
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
    public String className() {
        return (roberta ? "Roberta" : "Bert") + (task == TaskType.SEQ_CLS ? "ForSequenceClassification" : "Model");
    }

    @Override
    public String describe() {
        return String.format("%s: %d layers, hidden %d, %d heads, intermediate %d, vocab %d%s", family, layers, hidden,
                heads, intermediate, vocab, task == TaskType.SEQ_CLS ? ", classifier with " + numLabels + " labels"
                        : "");
    }

    /** The encoder's last hidden state {@code (B, T, hidden)}. */
    public NDArray encode(Forward f, ModelInput in) {
        return encode(f, in, false);
    }

    /**
     * The last hidden state; with {@code firstTokenOnly}, of the first token only {@code (B, 1, hidden)}: the last
     * layer then computes queries, attention output and feed-forward for that token alone (each token's output
     * depends on the others only through keys and values), a sixth of the work of a 6-layer classifier saved.
     */
    private NDArray encode(Forward f, ModelInput in, boolean firstTokenOnly) {
        Ops ops = f.ops();
        int b = in.batchSize();
        int t = in.length();
        if (in.packed()) {
            throw new ModelException("packed sequences are for causal LMs; " + family + " reads one row per sequence");
        }
        if (t > maxPositions) {
            throw new ModelException("sequence of " + t + " tokens is longer than max_position_embeddings "
                    + maxPositions);
        }
        String e = prefix + "embeddings.";
        NDArray x = f.embedding(e + "word_embeddings", in.inputIds());
        x = ops.add(x, f.embedding(e + "position_embeddings", positionIds(ops, in, t)));
        NDArray types = in.tokenTypeIds() != null ? in.tokenTypeIds() : ops.zeros(new Shape(b, t), DataType.INT64);
        x = ops.add(x, f.embedding(e + "token_type_embeddings", types));
        x = ops.layerNorm(x, f.param(e + "LayerNorm.weight"), f.param(e + "LayerNorm.bias"), eps);
        x = f.dropout(x, hiddenDropout);
        NDArray pad = in.attentionMask() == null ? null : padMask(ops, in.attentionMask(), b, t, x.getDataType());
        AttentionMask mask = pad == null ? null : f.blockwise(t) ? AttentionMask.blockwise(false, 0, pad, null, t)
                : AttentionMask.whole(pad, false, 0, t);
        for (int i = 0; i < layers; i++) {
            String l = layer(i);
            boolean firstOnly = firstTokenOnly && i == layers - 1;
            x = f.layer(x, (lf, xi) -> encoderLayer(lf, xi, l, mask, b, t, firstOnly));
        }
        return x;
    }

    /**
     * transformers' extended attention mask: {@code (1 - mask) * finfo(dtype).min} in the model's dtype, so that an
     * fp16 model's scores stay fp16 (a float32 mask would promote them, and the probabilities would meet fp16 values).
     */
    private static NDArray padMask(Ops ops, NDArray attentionMask, int b, int t, DataType type) {
        if (type != DataType.FLOAT16) {
            return Decoder.padMask(ops, attentionMask, b, t);
        }
        // -FLT_MAX would round to -inf in fp16; transformers uses the finite fp16 minimum
        NDArray keep = ops.toType(attentionMask, DataType.FLOAT16);
        NDArray masked = ops.scale(ops.sub(ops.ones(keep.getShape(), DataType.FLOAT16), keep), -65504.0);
        return ops.reshape(masked, b, 1, 1, t);
    }

    /**
     * BERT: 0..T-1 for every row. RoBERTa: transformers' {@code create_position_ids_from_input_ids}, a running count
     * of non-padding tokens offset by the padding index, and the padding index itself at padding (so a left- or
     * right-padded row gets the same positions for its tokens).
     */
    private NDArray positionIds(Ops ops, ModelInput in, int t) {
        if (!roberta) {
            long[] positions = new long[t];
            for (int i = 0; i < t; i++) {
                positions[i] = i;
            }
            return ops.longs(positions, new Shape(1, t));
        }
        // the longest row of a right-padded batch has no padding, so t decides the largest position
        if (t + paddingIdx >= maxPositions) {
            throw new ModelException("sequence of " + t + " tokens needs position " + (t + paddingIdx)
                    + "; roberta's max_position_embeddings is " + maxPositions);
        }
        // on the device: (cumsum(ids != pad) * (ids != pad)) + pad, no copy to the host
        NDArray pad = ops.longs(new long[] {paddingIdx}, new Shape(1));
        NDArray real = ops.toType(ops.neq(in.inputIds(), pad), DataType.INT64);
        return ops.add(ops.mul(ops.cumSum(real, 1), real), pad);
    }

    /** One encoder layer; its two halves in scopes of their own, so temporaries are freed as each ends. */
    private NDArray encoderLayer(Forward f, NDArray x, String l, AttentionMask mask, int b, int t,
            boolean firstOnly) {
        int hd = hidden / heads;
        int tq = firstOnly ? 1 : t;
        NDArray attn = f.scoped(af -> {
            Ops ops = af.ops();
            NDArray xq = firstOnly ? ops.slice(x, 1, 0, 1) : x;
            NDArray q = heads(ops, af.linear(l + ".attention.self.query", xq), b, tq, hd);
            NDArray k = heads(ops, af.linear(l + ".attention.self.key", x), b, t, hd);
            NDArray v = heads(ops, af.linear(l + ".attention.self.value", x), b, t, hd);
            NDArray ctx = af.attention(q, k, v, mask, new Attention.Spec(1.0 / Math.sqrt(hd), false,
                    attentionDropout));
            NDArray dense = af.dropout(af.linear(l + ".attention.output.dense", ctx), hiddenDropout);
            return ops.layerNorm(ops.add(dense, xq), af.param(l + ".attention.output.LayerNorm.weight"),
                    af.param(l + ".attention.output.LayerNorm.bias"), eps);
        });
        return f.scoped(mf -> {
            Ops ops = mf.ops();
            NDArray inter = mf.scoped(inf -> act.apply(inf.ops(), inf.linear(l + ".intermediate.dense", attn)));
            NDArray out = mf.dropout(mf.linear(l + ".output.dense", inter), hiddenDropout);
            return ops.layerNorm(ops.add(out, attn), mf.param(l + ".output.LayerNorm.weight"),
                    mf.param(l + ".output.LayerNorm.bias"), eps);
        });
    }

    private NDArray heads(Ops ops, NDArray y, int b, int t, int hd) {
        return ops.transpose(ops.reshape(y, b, t, heads, hd), 1, 2);
    }

    @Override
    public NDArray forward(Forward f, ModelInput in) {
        if (task != TaskType.SEQ_CLS) {
            return encode(f, in);
        }
        Ops ops = f.ops();
        NDArray first = ops.squeeze(encode(f, in, true), 1);
        if (robertaHead()) {
            NDArray h = ops.tanh(f.linear("classifier.dense", f.dropout(first, classifierDropout)));
            return f.linear("classifier.out_proj", f.dropout(h, classifierDropout));
        }
        NDArray pooled = ops.tanh(f.linear(prefix + "pooler.dense", first));
        return f.linear("classifier", f.dropout(pooled, classifierDropout));
    }
}
