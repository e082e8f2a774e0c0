package dev.lora4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.config.TaskType;
import dev.lora4j.runtime.Ops;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The Llama family ({@code llama}, {@code mistral}, {@code qwen2}) as transformers computes it: RMSNorm in fp32,
 * rotary embeddings with {@code rotate_half}, grouped-query attention with a causal (and optionally sliding-window)
 * mask and fp32 softmax, SwiGLU MLP, tied or untied {@code lm_head}; {@code LlamaForCausalLM} or
 * {@code LlamaForSequenceClassification} (a {@code score} head on the last real token).
 */
public final class Llama implements Architecture {
    private static final float MASKED = AttentionMask.HIDDEN;

    private final String modelType;
    private final TaskType task;
    private final int vocab;
    private final int hidden;
    private final int intermediate;
    private final int layers;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final double eps;
    private final boolean qkvBias;
    private final boolean oBias;
    private final boolean mlpBias;
    private final boolean tied;
    private final int numLabels;
    private final float[] invFreq;
    private final double attentionScale;
    private final int slidingWindow;
    private final int firstSlidingLayer;
    private final int padTokenId;
    private final String hiddenAct;
    private final ModuleTree tree;
    private final Map<String, long[]> params;

    public Llama(HfConfig c, TaskType task, boolean checkpointHasLmHead) {
        this.modelType = c.modelType();
        this.task = task;
        this.vocab = c.size("vocab_size");
        this.hidden = c.size("hidden_size");
        this.intermediate = c.size("intermediate_size");
        this.layers = c.count("num_hidden_layers");
        this.heads = c.size("num_attention_heads");
        this.kvHeads = c.sizeOr("num_key_value_heads", heads);
        if (c.get("head_dim").isEmpty() && hidden % heads != 0) {
            throw new ModelException(c.source() + ": num_attention_heads " + heads + " does not divide hidden_size "
                    + hidden + " (the head size is hidden_size / num_attention_heads); use a divisor of hidden_size,"
                    + " or set head_dim");
        }
        this.headDim = c.sizeOr("head_dim", hidden / heads);
        if (headDim % 2 != 0) {
            throw new ModelException(c.source() + ": the head size " + headDim + (c.get("head_dim").isPresent()
                    ? " (head_dim)" : " (hidden_size / num_attention_heads)") + " must be even: rotary embeddings "
                    + "rotate pairs of features");
        }
        this.eps = c.numberAtLeast("rms_norm_eps", 1e-6, 0, true);
        boolean attentionBias = c.boolOr("attention_bias", false);
        this.qkvBias = modelType.equals("qwen2") || attentionBias;
        this.oBias = !modelType.equals("qwen2") && attentionBias;
        this.mlpBias = c.boolOr("mlp_bias", false);
        // transformers' PretrainedConfig defaults to tying, LlamaConfig to not tying; a checkpoint without lm_head
        // can only mean tied
        this.tied = c.boolOr("tie_word_embeddings", !modelType.equals("llama") && !modelType.equals("mistral"))
                || (task == TaskType.CAUSAL_LM && !checkpointHasLmHead);
        this.numLabels = numLabels(c, task);
        this.hiddenAct = c.stringOr("hidden_act", "silu");
        if (!hiddenAct.equals("silu") && !hiddenAct.equals("swish")) {
            throw new ModelException(c.source() + ": hidden_act " + hiddenAct + " is not supported for " + modelType
                    + " (supported: silu)");
        }
        if (heads % kvHeads != 0) {
            throw new ModelException(c.source() + ": num_key_value_heads must divide num_attention_heads ("
                    + heads + "), got " + kvHeads);
        }
        this.invFreq = inverseFrequencies(c, headDim);
        this.attentionScale = 1.0 / Math.sqrt(headDim);
        int window = 0;
        int firstSliding = Integer.MAX_VALUE;
        if (modelType.equals("mistral") && c.get("sliding_window").isPresent()) {
            window = c.sizeOr("sliding_window", 0);
            firstSliding = 0;
        } else if (modelType.equals("qwen2") && c.boolOr("use_sliding_window", false)) {
            window = c.sizeOr("sliding_window", 0);
            firstSliding = c.intInRange("max_window_layers", layers, 0, Integer.MAX_VALUE,
                    "an integer >= 0");
        }
        this.slidingWindow = window;
        this.firstSlidingLayer = firstSliding;
        this.padTokenId = padTokenId(c, vocab, -1);
        this.params = buildParams();
        this.tree = buildTree();
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

    /** transformers' default RoPE, with the {@code linear} and {@code llama3} scalings. */
    static float[] inverseFrequencies(HfConfig c, int dim) {
        return inverseFrequencies(c, dim, c.numberAtLeast("rope_theta", 10000.0, 0, false));
    }

    /** {@link #inverseFrequencies(HfConfig, int)} for a base read elsewhere (GPT-NeoX's {@code rotary_emb_base}). */
    static float[] inverseFrequencies(HfConfig c, int dim, double theta) {
        float[] inv = new float[dim / 2];
        for (int i = 0; i < inv.length; i++) {
            // transformers computes base ** (arange(0, dim, 2) / dim) in fp32, then its reciprocal
            float pow = (float) Math.pow(theta, (float) (2 * i) / (float) dim);
            inv[i] = 1.0f / pow;
        }
        JsonNode scaling = c.get("rope_scaling").orElse(null);
        if (scaling == null || scaling.isNull()) {
            return inv;
        }
        String type = scaling.has("rope_type") ? scaling.get("rope_type").asText()
                : scaling.path("type").asText("default");
        switch (type.toLowerCase(Locale.ROOT)) {
            case "default":
                return inv;
            case "linear": {
                double factor = scaling.path("factor").asDouble(1.0);
                for (int i = 0; i < inv.length; i++) {
                    inv[i] = (float) (inv[i] / factor);
                }
                return inv;
            }
            case "llama3": {
                double factor = scaling.path("factor").asDouble(8.0);
                double low = scaling.path("low_freq_factor").asDouble(1.0);
                double high = scaling.path("high_freq_factor").asDouble(4.0);
                double original = scaling.path("original_max_position_embeddings").asDouble(8192);
                double lowWavelen = original / low;
                double highWavelen = original / high;
                for (int i = 0; i < inv.length; i++) {
                    double wavelen = 2 * Math.PI / inv[i];
                    double f = inv[i];
                    if (wavelen > lowWavelen) {
                        f = f / factor;
                    } else if (wavelen >= highWavelen) {
                        double smooth = (original / wavelen - low) / (high - low);
                        f = (1 - smooth) * f / factor + smooth * f;
                    }
                    inv[i] = (float) f;
                }
                return inv;
            }
            default:
                throw new ModelException(c.source() + ": rope_scaling type '" + type
                        + "' is not supported (supported: default, linear, llama3)");
        }
    }

    private String layer(int i) {
        return "model.layers." + i;
    }

    private Map<String, long[]> buildParams() {
        Map<String, long[]> p = new LinkedHashMap<>();
        p.put("model.embed_tokens.weight", new long[] {vocab, hidden});
        int q = heads * headDim;
        int kv = kvHeads * headDim;
        for (int i = 0; i < layers; i++) {
            String l = layer(i);
            p.put(l + ".self_attn.q_proj.weight", new long[] {q, hidden});
            if (qkvBias) {
                p.put(l + ".self_attn.q_proj.bias", new long[] {q});
            }
            p.put(l + ".self_attn.k_proj.weight", new long[] {kv, hidden});
            if (qkvBias) {
                p.put(l + ".self_attn.k_proj.bias", new long[] {kv});
            }
            p.put(l + ".self_attn.v_proj.weight", new long[] {kv, hidden});
            if (qkvBias) {
                p.put(l + ".self_attn.v_proj.bias", new long[] {kv});
            }
            p.put(l + ".self_attn.o_proj.weight", new long[] {hidden, q});
            if (oBias) {
                p.put(l + ".self_attn.o_proj.bias", new long[] {hidden});
            }
            for (String proj : new String[] {"gate_proj", "up_proj"}) {
                p.put(l + ".mlp." + proj + ".weight", new long[] {intermediate, hidden});
                if (mlpBias) {
                    p.put(l + ".mlp." + proj + ".bias", new long[] {intermediate});
                }
            }
            p.put(l + ".mlp.down_proj.weight", new long[] {hidden, intermediate});
            if (mlpBias) {
                p.put(l + ".mlp.down_proj.bias", new long[] {hidden});
            }
            p.put(l + ".input_layernorm.weight", new long[] {hidden});
            p.put(l + ".post_attention_layernorm.weight", new long[] {hidden});
        }
        p.put("model.norm.weight", new long[] {hidden});
        if (task == TaskType.SEQ_CLS) {
            p.put("score.weight", new long[] {numLabels, hidden});
        } else if (!tied) {
            p.put("lm_head.weight", new long[] {vocab, hidden});
        }
        return p;
    }

    private ModuleTree buildTree() {
        String cls = switch (modelType) {
            case "mistral" -> "Mistral";
            case "qwen2" -> "Qwen2";
            default -> "Llama";
        };
        List<ModuleNode> n = new ArrayList<>();
        n.add(ModuleNode.other("model", cls + "Model"));
        n.add(ModuleNode.embedding("model.embed_tokens", vocab, hidden));
        n.add(ModuleNode.other("model.layers", "ModuleList"));
        int q = heads * headDim;
        int kv = kvHeads * headDim;
        for (int i = 0; i < layers; i++) {
            String l = layer(i);
            n.add(ModuleNode.other(l, cls + "DecoderLayer"));
            n.add(ModuleNode.other(l + ".self_attn", cls + "Attention"));
            n.add(ModuleNode.linear(l + ".self_attn.q_proj", hidden, q, qkvBias));
            n.add(ModuleNode.linear(l + ".self_attn.k_proj", hidden, kv, qkvBias));
            n.add(ModuleNode.linear(l + ".self_attn.v_proj", hidden, kv, qkvBias));
            n.add(ModuleNode.linear(l + ".self_attn.o_proj", q, hidden, oBias));
            n.add(ModuleNode.other(l + ".mlp", cls + "MLP"));
            n.add(ModuleNode.linear(l + ".mlp.gate_proj", hidden, intermediate, mlpBias));
            n.add(ModuleNode.linear(l + ".mlp.up_proj", hidden, intermediate, mlpBias));
            n.add(ModuleNode.linear(l + ".mlp.down_proj", intermediate, hidden, mlpBias));
            n.add(ModuleNode.other(l + ".mlp.act_fn", "SiLU"));
            n.add(ModuleNode.other(l + ".input_layernorm", cls + "RMSNorm"));
            n.add(ModuleNode.other(l + ".post_attention_layernorm", cls + "RMSNorm"));
        }
        n.add(ModuleNode.other("model.norm", cls + "RMSNorm"));
        n.add(ModuleNode.other("model.rotary_emb", cls + "RotaryEmbedding"));
        String output;
        if (task == TaskType.SEQ_CLS) {
            n.add(ModuleNode.linear("score", hidden, numLabels, false));
            output = null;
        } else {
            n.add(ModuleNode.linear("lm_head", hidden, vocab, false));
            output = "lm_head";
        }
        return new ModuleTree(modelType, n, output, true);
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
    public Map<String, String> aliases() {
        return tied && task != TaskType.SEQ_CLS ? Map.of("lm_head.weight", "model.embed_tokens.weight") : Map.of();
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
        String family = switch (modelType) {
            case "llama" -> "Llama";
            case "mistral" -> "Mistral";
            case "qwen2" -> "Qwen2";
            default -> null;
        };
        return Optional.ofNullable(family).map(f -> f + (task == TaskType.SEQ_CLS
                ? "ForSequenceClassification" : "ForCausalLM"));
    }

    public boolean tiedEmbeddings() {
        return tied;
    }

    @Override
    public String className() {
        String cls = switch (modelType) {
            case "mistral" -> "Mistral";
            case "qwen2" -> "Qwen2";
            default -> "Llama";
        };
        return cls + (task == TaskType.SEQ_CLS ? "ForSequenceClassification" : "ForCausalLM");
    }

    @Override
    public String describe() {
        return String.format("%s: %d layers, hidden %d, %d heads (%d kv), head dim %d, intermediate %d, vocab %d%s",
                modelType, layers, hidden, heads, kvHeads, headDim, intermediate, vocab, tied ? ", tied lm_head" : "");
    }

    @Override
    public NDArray forward(Forward f, ModelInput in) {
        Ops ops = f.ops();
        int b = in.batchSize();
        int t = in.length();
        if (in.packed() && task == TaskType.SEQ_CLS) {
            throw new ModelException("packed sequences are for causal LMs; a classifier reads one row per sequence");
        }
        NDArray x = f.embedding("model.embed_tokens", in.inputIds());
        DataType type = x.getDataType();
        NDArray cos = rotary(f, in, invFreq, headDim, type, true);
        NDArray sin = rotary(f, in, invFreq, headDim, type, false);
        boolean windowed = slidingWindow > 0 && t > slidingWindow;
        AttentionMask mask = decoderMask(f, in, 0);
        AttentionMask windowMask = windowed ? decoderMask(f, in, slidingWindow) : null;
        for (int i = 0; i < layers; i++) {
            int index = i;
            AttentionMask m = i >= firstSlidingLayer && windowMask != null ? windowMask : mask;
            x = f.layer(x, (lf, xi) -> decoderLayer(lf, xi, index, cos, sin, m, b, t));
        }
        x = rmsNorm(f, x, "model.norm.weight");
        if (task == TaskType.SEQ_CLS) {
            NDArray logits = f.linear("score", x); // (B, T, labels)
            return lastTokenLogits(ops, logits, in, null);
        }
        return f.linear("lm_head", x);
    }

    /**
     * {@code (B, labels)}: each row's logits at its last token. With {@code padTokenId} transformers' rule for GPT-2
     * and GPT-NeoX (and Llama in transformers): the rightmost token that is not {@code pad_token_id}, found in the
     * ids ({@code (token_indices * non_pad_mask).argmax(-1)}: 0 when every token is padding); without it the last
     * token the attention mask keeps ({@code sum(mask) - 1}), the same token whenever no real token is the pad id.
     */
    static NDArray lastTokenLogits(Ops ops, NDArray logits, ModelInput in, Integer padTokenId) {
        int b = in.batchSize();
        int t = in.length();
        long[] last = new long[b];
        if (padTokenId != null) {
            long[] ids = ops.toType(in.inputIds(), DataType.INT64).toLongArray();
            for (int r = 0; r < b; r++) {
                for (int j = 0; j < t; j++) {
                    last[r] = ids[r * t + j] != padTokenId ? j : last[r];
                }
            }
        } else if (in.attentionMask() != null) {
            // cast in the caller's scope, not in the manager of the mask (which may outlive this pass)
            float[] m = ops.toType(in.attentionMask(), DataType.FLOAT32).toFloatArray();
            for (int r = 0; r < b; r++) {
                int cnt = 0;
                for (int j = 0; j < t; j++) {
                    cnt += m[r * t + j] > 0 ? 1 : 0;
                }
                last[r] = Math.max(cnt - 1, 0);
            }
        } else {
            java.util.Arrays.fill(last, t - 1);
        }
        long labels = logits.getShape().get(2);
        NDArray idx = ops.broadcast(ops.longs(last, new Shape(b, 1, 1)), new Shape(b, 1, labels));
        return ops.reshape(ops.gather(logits, idx, 1), b, labels);
    }

    /**
     * A decoder's attention mask for one pass: causal (within {@code window} keys when positive), padded keys never
     * attended (as transformers does for any padding side), packed rows kept apart; built block by block when the
     * pass computes attention in blocks, else the whole {@code (B, 1, T, T)} matrix.
     */
    static AttentionMask decoderMask(Forward f, ModelInput in, int window) {
        Ops ops = f.ops();
        int t = in.length();
        NDArray pad = in.attentionMask() == null ? null : padMask(ops, in.attentionMask(), in.batchSize(), t);
        NDArray segments = in.segmentIds() == null ? null : ops.toType(in.segmentIds(), DataType.FLOAT32);
        if (f.blockwise(t)) {
            // made block by block: no (t, t) mask at all
            return AttentionMask.blockwise(true, window, pad, segments, t);
        }
        NDArray whole = causalMask(f, t, window);
        if (pad != null) {
            whole = ops.add(whole, pad);
        }
        if (segments != null) {
            whole = ops.add(whole, AttentionMask.segmentMask(ops, segments));
        }
        return AttentionMask.whole(whole, true, window, t);
    }

    /**
     * One decoder layer. Each part runs in a scope of its own ({@link Forward#scoped}) so that its temporaries are
     * freed as soon as it ends, as PyTorch frees a tensor nothing refers to: without a graph (evaluation, a
     * checkpointed layer's forward pass) the layer then holds a few of its tensors at a time, not all of them.
     */
    private NDArray decoderLayer(Forward f, NDArray x, int i, NDArray cos, NDArray sin, AttentionMask mask, int b,
            int t) {
        String l = layer(i);
        NDArray afterAttention = f.scoped(af -> {
            Ops ops = af.ops();
            NDArray h = rmsNorm(af, x, l + ".input_layernorm.weight");
            NDArray q = af.scoped(qf -> rope(qf.ops(), heads(qf.ops(), qf.linear(l + ".self_attn.q_proj", h), b, t,
                    heads), cos, sin));
            NDArray k = af.scoped(kf -> {
                NDArray rotated = rope(kf.ops(), heads(kf.ops(), kf.linear(l + ".self_attn.k_proj", h), b, t,
                        kvHeads), cos, sin);
                return kvHeads == heads ? rotated : kf.ops().repeatInterleave(rotated, heads / kvHeads, 1);
            });
            NDArray v = af.scoped(vf -> {
                NDArray values = heads(vf.ops(), vf.linear(l + ".self_attn.v_proj", h), b, t, kvHeads);
                return kvHeads == heads ? values : vf.ops().repeatInterleave(values, heads / kvHeads, 1);
            });
            NDArray attended = af.scoped(cf -> cf.ops().reshape(cf.ops().transpose(
                    cf.attention(q, k, v, mask, new Attention.Spec(attentionScale, true, 0)), 1, 2), b, t,
                    (long) heads * headDim));
            return ops.add(x, af.linear(l + ".self_attn.o_proj", attended));
        });
        return f.scoped(mf -> {
            Ops ops = mf.ops();
            NDArray h = rmsNorm(mf, afterAttention, l + ".post_attention_layernorm.weight");
            NDArray act = mf.scoped(af -> af.ops().mul(af.ops().silu(af.linear(l + ".mlp.gate_proj", h)),
                    af.linear(l + ".mlp.up_proj", h)));
            return ops.add(afterAttention, mf.linear(l + ".mlp.down_proj", act));
        });
    }

    private NDArray heads(Ops ops, NDArray y, int b, int t, int n) {
        return ops.transpose(ops.reshape(y, b, t, n, headDim), 1, 2);
    }

    /** transformers' LlamaRMSNorm: normalise in fp32, cast back, then scale. */
    private NDArray rmsNorm(Forward f, NDArray x, String weight) {
        return f.scoped(nf -> {
            Ops ops = nf.ops();
            DataType type = x.getDataType();
            NDArray xf = ops.toType(x, DataType.FLOAT32);
            NDArray var = ops.mean(ops.square(xf), -1, true);
            NDArray normed = ops.mul(xf, ops.rsqrt(ops.addScalar(var, eps)));
            return ops.mul(nf.param(weight), ops.toType(normed, type));
        });
    }

    /** transformers' {@code apply_rotary_pos_emb}: {@code x * cos + rotate_half(x) * sin} over x's last axis. */
    static NDArray rope(Ops ops, NDArray x, NDArray cos, NDArray sin) {
        long dim = x.getShape().get(x.getShape().dimension() - 1);
        long half = dim / 2;
        NDArray x1 = ops.slice(x, -1, 0, half);
        NDArray x2 = ops.slice(x, -1, half, dim);
        NDArray rotated = ops.concat(ops.neg(x2), x1, -1);
        return ops.add(ops.mul(x, cos), ops.mul(rotated, sin));
    }

    /**
     * The cos or sin table of a pass over {@code dim} rotated features: rows {@code 0..T-1} {@code (T, dim)}, or for
     * packed rows (each with positions from 0, as transformers' {@code position_ids}) {@code (B, 1, T, dim)}.
     */
    static NDArray rotary(Forward f, ModelInput in, float[] invFreq, int dim, DataType type, boolean cos) {
        NDArray table = rotary(f, invFreq, dim, in.length(), type, cos);
        if (in.positionIds() == null) {
            return table;
        }
        Ops ops = f.ops();
        return ops.unsqueeze(ops.embedding(in.positionIds(), table), 1);
    }

    /**
     * Rows {@code 0..t-1} of the cos or sin table in {@code type}, a view of a table shared by all passes. Tables are
     * built for power-of-two lengths, so varying batch lengths make a handful of tables, not one per length.
     */
    private static NDArray rotary(Forward f, float[] invFreq, int dim, int t, DataType type, boolean cos) {
        int capacity = capacity(t);
        NDArray table = f.constant("rope." + dim + "." + (cos ? "cos." : "sin.") + capacity + "." + type, ops -> {
            float[] values = new float[capacity * dim];
            int half = dim / 2;
            for (int p = 0; p < capacity; p++) {
                for (int j = 0; j < half; j++) {
                    float angle = invFreq[j] * (float) p;
                    float v = cos ? (float) Math.cos(angle) : (float) Math.sin(angle);
                    values[p * dim + j] = v;
                    values[p * dim + j + half] = v;
                }
            }
            return ops.toType(ops.floats(values, new Shape(capacity, dim)), type);
        });
        return f.ops().slice(table, 0, 0, t);
    }

    /**
     * The additive mask {@code (1, 1, t, t)}: 0 where key j is visible from query i, the most negative float
     * elsewhere; the top-left corner of a shared mask built for a power-of-two length.
     */
    static NDArray causalMask(Forward f, int t, int window) {
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

    private static int capacity(int t) {
        return Math.max(64, Integer.highestOneBit(Math.max(1, t - 1)) << 1);
    }

    static NDArray padMask(Ops ops, NDArray attentionMask, int b, int t) {
        NDArray keep = ops.toType(attentionMask, DataType.FLOAT32);
        // (1 - mask) * most-negative, shaped to broadcast over heads and queries
        NDArray masked = ops.scale(ops.sub(ops.ones(keep.getShape(), DataType.FLOAT32), keep), MASKED);
        return ops.reshape(masked, b, 1, 1, t);
    }
}
