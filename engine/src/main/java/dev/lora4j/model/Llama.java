package dev.lora4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
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
 * The Llama family ({@code llama}, {@code mistral}, {@code qwen2}, {@code qwen3}, {@code phi3}) as transformers
 * computes it: RMSNorm in fp32, rotary embeddings with {@code rotate_half}, grouped-query attention with a causal (and
 * optionally sliding-window) mask and fp32 softmax, SwiGLU MLP, tied or untied {@code lm_head};
 * {@code LlamaForCausalLM} or {@code LlamaForSequenceClassification} (a {@code score} head on the last real token).
 *
 * <p>Two variants differ only inside the decoder layer. Qwen3 ({@code modeling_qwen3.py}) normalises each query and
 * key head ({@code q_norm}, {@code k_norm}: RMSNorm over {@code head_dim}) before the rotation, and may slide a window
 * over some layers ({@code layer_types}). Phi-3 ({@code modeling_phi3.py}) fuses the projections into one
 * {@code qkv_proj} (queries, then keys, then values) and one {@code gate_up_proj} (gate, then up), rotates only the
 * first {@code partial_rotary_factor} of each head, drops out each residual branch ({@code resid_pdrop}) and may use
 * LongRoPE. PEFT puts LoRA on a fused projection as on any Linear: one A and one B over all of its outputs.
 */
public final class Llama extends Decoder {

    private final String modelType;
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
    private final boolean qkNorm;
    private final boolean fused;
    private final int rotaryDim;
    private final Rotary rotary;
    private final double attentionScale;
    private final double attentionDropout;
    private final double residDropout;
    private final int slidingWindow;
    private final boolean[] slidingLayers;
    private final String hiddenAct;

    public Llama(HfConfig c, TaskType task, boolean checkpointHasLmHead) {
        // Phi3Config's pad_token_id defaults to 32000; LlamaConfig's, MistralConfig's and the Qwen configs' to None
        super(c, task, c.modelType().equals("phi3") ? 32000 : null);
        this.modelType = c.modelType();
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
        this.eps = c.numberAtLeast("rms_norm_eps", modelType.equals("phi3") ? 1e-5 : 1e-6, 0, true);
        this.qkNorm = modelType.equals("qwen3");
        // Phi3Attention and Phi3MLP have no biases whatever the config says
        this.fused = modelType.equals("phi3");
        boolean attentionBias = !fused && c.boolOr("attention_bias", false);
        this.qkvBias = modelType.equals("qwen2") || attentionBias;
        this.oBias = !modelType.equals("qwen2") && attentionBias;
        this.mlpBias = !fused && c.boolOr("mlp_bias", false);
        // transformers' PretrainedConfig defaults to tying, LlamaConfig (and Mistral, Qwen3, Phi3) to not tying; a
        // checkpoint without lm_head can only mean tied
        this.tied = c.boolOr("tie_word_embeddings", modelType.equals("qwen2"))
                || (task == TaskType.CAUSAL_LM && !checkpointHasLmHead);
        this.hiddenAct = c.stringOr("hidden_act", "silu");
        if (!hiddenAct.equals("silu") && !hiddenAct.equals("swish")) {
            throw new ModelException(c.source() + ": hidden_act " + hiddenAct + " is not supported for " + modelType
                    + " (supported: silu)");
        }
        if (heads % kvHeads != 0) {
            throw new ModelException(c.source() + ": num_key_value_heads must divide num_attention_heads ("
                    + heads + "), got " + kvHeads);
        }
        this.rotaryDim = rotaryDim(c, headDim);
        this.rotary = Rotary.of(c, rotaryDim, headDim);
        this.attentionScale = 1.0 / Math.sqrt(headDim);
        // every family's *Attention drops attention probabilities out in training (attention_dropout, default 0)
        this.attentionDropout = c.probabilityOr("attention_dropout", 0);
        this.residDropout = fused ? c.probabilityOr("resid_pdrop", 0) : 0;
        this.slidingLayers = new boolean[layers];
        int window = 0;
        if ((modelType.equals("mistral") || fused) && c.get("sliding_window").isPresent()) {
            // MistralModel and Phi3Model: create_sliding_window_causal_mask on every layer when sliding_window is set
            window = c.sizeOr("sliding_window", 0);
            java.util.Arrays.fill(slidingLayers, true);
        } else if (modelType.equals("qwen2") || qkNorm) {
            window = qwenSlidingLayers(c, slidingLayers);
        }
        this.slidingWindow = window;
        define(new DecoderShape(hidden, intermediate, layers, heads, headDim), buildParams(), buildTree());
    }

    /**
     * Qwen2Config's and Qwen3Config's {@code layer_types}: given, or from {@code use_sliding_window} and
     * {@code max_window_layers} (layers from that index on slide, 28 by default as in both configs); fills
     * {@code sliding} and returns the window (0: none).
     */
    private static int qwenSlidingLayers(HfConfig c, boolean[] sliding) {
        // Qwen2Config and Qwen3Config: sliding_window is None unless use_sliding_window
        boolean use = c.boolOr("use_sliding_window", false);
        int window = use ? c.sizeOr("sliding_window", 4096) : 0;
        Optional<JsonNode> types = c.get("layer_types");
        if (types.isEmpty()) {
            int first = c.intInRange("max_window_layers", 28, 0, Integer.MAX_VALUE, "an integer >= 0");
            for (int i = first; window > 0 && i < sliding.length; i++) {
                sliding[i] = true;
            }
            return window;
        }
        JsonNode t = types.get();
        String allowed = "a list of " + sliding.length + " (num_hidden_layers) entries, each \"full_attention\" or"
                + " \"sliding_attention\"";
        if (!t.isArray() || t.size() != sliding.length) {
            throw c.invalid("layer_types", allowed, t);
        }
        for (int i = 0; i < sliding.length; i++) {
            String type = t.get(i).asText("");
            if (!type.equals("full_attention") && !type.equals("sliding_attention")) {
                throw c.invalid("layer_types", allowed, t);
            }
            sliding[i] = type.equals("sliding_attention");
            if (sliding[i] && window == 0) {
                // create_sliding_window_causal_mask raises the same way in transformers
                throw new ModelException(c.source() + ": layer_types has sliding_attention layers but"
                        + " use_sliding_window is not true (Qwen2Config and Qwen3Config then set sliding_window to"
                        + " None); set use_sliding_window: true and sliding_window, or make every layer"
                        + " full_attention");
            }
        }
        return window;
    }

    /**
     * The rotated features of each head: all of them, except Phi-3's {@code partial_rotary_factor} (top level or in
     * {@code rope_parameters}), whose {@code int(head_dim * factor)} first features rotate and the rest pass through
     * ({@code Phi3RotaryEmbedding.compute_default_rope_parameters}, {@code apply_rotary_pos_emb}).
     */
    private static int rotaryDim(HfConfig c, int headDim) {
        if (!c.modelType().equals("phi3")) {
            return headDim;
        }
        String key = "partial_rotary_factor";
        double factor = c.get(key).isPresent() ? c.numberAtLeast(key, 1.0, 0, false)
                : ropeParameters(c).map(r -> r.get(key)).filter(JsonNode::isNumber).map(JsonNode::asDouble)
                        .orElse(1.0);
        int dim = (int) (headDim * factor);
        if (factor > 1 || dim < 2 || dim % 2 != 0) {
            throw new ModelException(c.source() + ": partial_rotary_factor " + factor + " gives " + dim + " rotated"
                    + " features of a head of " + headDim + "; it must be at most 1 and give an even number >= 2");
        }
        return dim;
    }

    /** {@code rope_scaling} (transformers 4) or {@code rope_parameters} (transformers 5), when either is set. */
    static Optional<JsonNode> ropeParameters(HfConfig c) {
        Optional<JsonNode> scaling = c.get("rope_scaling");
        return (scaling.isPresent() ? scaling : c.get("rope_parameters")).filter(JsonNode::isObject);
    }

    static String ropeType(JsonNode r) {
        if (r == null) {
            return "default";
        }
        return (r.hasNonNull("rope_type") ? r.get("rope_type").asText() : r.path("type").asText("default"))
                .toLowerCase(Locale.ROOT);
    }

    /** {@code rope_theta}: top level (transformers 4) or in {@code rope_parameters} (transformers 5). */
    static double ropeTheta(HfConfig c) {
        if (c.get("rope_theta").isEmpty()) {
            JsonNode inner = ropeParameters(c).map(r -> r.get("rope_theta")).orElse(null);
            if (inner != null && !inner.isNull()) {
                if (!inner.isNumber() || !(inner.asDouble() > 0) || !Double.isFinite(inner.asDouble())) {
                    throw c.invalid("rope_parameters.rope_theta", "a number > 0", inner);
                }
                return inner.asDouble();
            }
        }
        return c.numberAtLeast("rope_theta", 10000.0, 0, false);
    }

    /** transformers' default RoPE, with the {@code linear} and {@code llama3} scalings. */
    static float[] inverseFrequencies(HfConfig c, int dim) {
        return inverseFrequencies(c, dim, ropeTheta(c));
    }

    /** {@link #inverseFrequencies(HfConfig, int)} for a base read elsewhere (GPT-NeoX's {@code rotary_emb_base}). */
    static float[] inverseFrequencies(HfConfig c, int dim, double theta) {
        float[] inv = new float[dim / 2];
        for (int i = 0; i < inv.length; i++) {
            // transformers computes base ** (arange(0, dim, 2) / dim) in fp32, then its reciprocal
            float pow = (float) Math.pow(theta, (float) (2 * i) / (float) dim);
            inv[i] = 1.0f / pow;
        }
        JsonNode scaling = ropeParameters(c).orElse(null);
        String type = ropeType(scaling);
        switch (type) {
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
                        + "' is not supported (supported: default, linear, llama3, longrope)");
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
            if (fused) {
                // Phi3Attention.qkv_proj: (heads + 2 kv heads) * head_dim outputs; Phi3MLP.gate_up_proj:
                // 2 * intermediate
                p.put(l + ".self_attn.qkv_proj.weight", new long[] {q + 2L * kv, hidden});
                p.put(l + ".self_attn.o_proj.weight", new long[] {hidden, q});
                p.put(l + ".mlp.gate_up_proj.weight", new long[] {2L * intermediate, hidden});
                p.put(l + ".mlp.down_proj.weight", new long[] {hidden, intermediate});
                p.put(l + ".input_layernorm.weight", new long[] {hidden});
                p.put(l + ".post_attention_layernorm.weight", new long[] {hidden});
                continue;
            }
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
            if (qkNorm) {
                p.put(l + ".self_attn.q_norm.weight", new long[] {headDim});
                p.put(l + ".self_attn.k_norm.weight", new long[] {headDim});
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
        putHead(p, "lm_head", hidden, tied);
        return p;
    }

    /** The transformers class prefix ({@code Qwen3} of {@code Qwen3ForCausalLM}). */
    private String family() {
        return switch (modelType) {
            case "mistral" -> "Mistral";
            case "qwen2" -> "Qwen2";
            case "qwen3" -> "Qwen3";
            case "phi3" -> "Phi3";
            default -> "Llama";
        };
    }

    private ModuleTree buildTree() {
        String cls = family();
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
            if (fused) {
                n.add(ModuleNode.linear(l + ".self_attn.o_proj", q, hidden, false));
                n.add(ModuleNode.linear(l + ".self_attn.qkv_proj", hidden, q + 2L * kv, false));
                n.add(ModuleNode.other(l + ".mlp", cls + "MLP"));
                n.add(ModuleNode.linear(l + ".mlp.gate_up_proj", hidden, 2L * intermediate, false));
                n.add(ModuleNode.linear(l + ".mlp.down_proj", intermediate, hidden, false));
                n.add(ModuleNode.other(l + ".mlp.activation_fn", "SiLU"));
                n.add(ModuleNode.other(l + ".input_layernorm", cls + "RMSNorm"));
                n.add(ModuleNode.other(l + ".post_attention_layernorm", cls + "RMSNorm"));
                n.add(ModuleNode.other(l + ".resid_attn_dropout", "Dropout"));
                n.add(ModuleNode.other(l + ".resid_mlp_dropout", "Dropout"));
                continue;
            }
            n.add(ModuleNode.linear(l + ".self_attn.q_proj", hidden, q, qkvBias));
            n.add(ModuleNode.linear(l + ".self_attn.k_proj", hidden, kv, qkvBias));
            n.add(ModuleNode.linear(l + ".self_attn.v_proj", hidden, kv, qkvBias));
            n.add(ModuleNode.linear(l + ".self_attn.o_proj", q, hidden, oBias));
            if (qkNorm) {
                n.add(ModuleNode.other(l + ".self_attn.q_norm", cls + "RMSNorm"));
                n.add(ModuleNode.other(l + ".self_attn.k_norm", cls + "RMSNorm"));
            }
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
        return treeWithHead(modelType, n, "lm_head", hidden);
    }

    @Override
    public Map<String, String> aliases() {
        return tiedHead(tied, "lm_head", "model.embed_tokens");
    }

    /** Which layers attend through the sliding window (none when the model has no window). */
    boolean[] slidingLayers() {
        return slidingWindow > 0 ? slidingLayers.clone() : new boolean[layers];
    }

    public boolean tiedEmbeddings() {
        return tied;
    }

    @Override
    public String className() {
        return family() + (task == TaskType.SEQ_CLS ? "ForSequenceClassification" : "ForCausalLM");
    }

    @Override
    public String describe() {
        return String.format("%s: %d layers, hidden %d, %d heads (%d kv), head dim %d%s, intermediate %d, vocab %d%s",
                modelType, layers, hidden, heads, kvHeads, headDim, rotaryDim < headDim ? " (" + rotaryDim
                        + " rotated)" : "", intermediate, vocab, tied ? ", tied lm_head" : "");
    }

    @Override
    public NDArray forward(Forward f, ModelInput in) {
        int b = in.batchSize();
        int t = in.length();
        checkPacking(in);
        NDArray x = f.embedding("model.embed_tokens", in.inputIds());
        DataType type = x.getDataType();
        Rotary.Tables tables = rotary.tables(f, in, type);
        NDArray cos = tables.cos();
        NDArray sin = tables.sin();
        Masks masks = masks(f, in, slidingWindow);
        for (int i = 0; i < layers; i++) {
            int index = i;
            AttentionMask m = slidingLayers[i] ? masks.windowed() : masks.full();
            x = f.layer(x, (lf, xi) -> decoderLayer(lf, xi, index, cos, sin, m, b, t));
        }
        x = rmsNorm(f, x, "model.norm.weight");
        return head(f, x, in, "lm_head");
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
            // Phi-3's fused projection, split as Phi3Attention.forward does: queries, keys, values
            NDArray qkv = fused ? af.linear(l + ".self_attn.qkv_proj", h) : null;
            long qEnd = (long) heads * headDim;
            long kEnd = qEnd + (long) kvHeads * headDim;
            NDArray q = af.scoped(qf -> rope(qf.ops(), normedHeads(qf, fused ? qf.ops().slice(qkv, -1, 0, qEnd)
                    : qf.linear(l + ".self_attn.q_proj", h), l + ".self_attn.q_norm.weight", b, t, heads), cos, sin));
            NDArray k = af.scoped(kf -> {
                NDArray rotated = rope(kf.ops(), normedHeads(kf, fused ? kf.ops().slice(qkv, -1, qEnd, kEnd)
                        : kf.linear(l + ".self_attn.k_proj", h), l + ".self_attn.k_norm.weight", b, t, kvHeads), cos,
                        sin);
                return kvHeads == heads ? rotated : kf.ops().repeatInterleave(rotated, heads / kvHeads, 1);
            });
            NDArray v = af.scoped(vf -> {
                NDArray values = heads(vf.ops(), fused ? vf.ops().slice(qkv, -1, kEnd, kEnd + (kEnd - qEnd))
                        : vf.linear(l + ".self_attn.v_proj", h), b, t, kvHeads);
                return kvHeads == heads ? values : vf.ops().repeatInterleave(values, heads / kvHeads, 1);
            });
            NDArray attended = af.attention(q, k, v, mask, new Attention.Spec(attentionScale, true,
                    attentionDropout));
            // Phi3DecoderLayer: residual + resid_attn_dropout(attention)
            return ops.add(x, af.dropout(af.linear(l + ".self_attn.o_proj", attended), residDropout));
        });
        return f.scoped(mf -> {
            Ops ops = mf.ops();
            NDArray h = rmsNorm(mf, afterAttention, l + ".post_attention_layernorm.weight");
            NDArray act = mf.scoped(af -> {
                Ops o = af.ops();
                if (fused) {
                    // Phi3MLP.forward: gate, up = gate_up_proj(x).chunk(2, dim=-1); up * act(gate)
                    NDArray gateUp = af.linear(l + ".mlp.gate_up_proj", h);
                    return o.mul(o.slice(gateUp, -1, intermediate, 2L * intermediate),
                            o.silu(o.slice(gateUp, -1, 0, intermediate)));
                }
                return o.mul(o.silu(af.linear(l + ".mlp.gate_proj", h)), af.linear(l + ".mlp.up_proj", h));
            });
            return ops.add(afterAttention, mf.dropout(mf.linear(l + ".mlp.down_proj", act), residDropout));
        });
    }

    /** Heads {@code (B, n, T, head_dim)} of a projection; Qwen3 normalises each over head_dim (q_norm, k_norm). */
    private NDArray normedHeads(Forward f, NDArray y, String norm, int b, int t, int n) {
        NDArray split = heads(f.ops(), y, b, t, n);
        // Qwen3Attention normalises (B, T, n, head_dim) before the transpose: the same, as it acts on the last axis
        return qkNorm ? rmsNorm(f, split, norm) : split;
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

    /** apply_rotary_pos_emb: the first {@code rotaryDim} features rotate, the rest (Phi-3's partial) pass. */
    private NDArray rope(Ops ops, NDArray x, NDArray cos, NDArray sin) {
        return rotary.apply(ops, x, cos, sin);
    }

}
