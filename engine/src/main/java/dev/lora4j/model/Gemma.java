package dev.lora4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.config.TaskType;
import dev.lora4j.runtime.Ops;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Gemma ({@code gemma}) and Gemma 2 ({@code gemma2}) as transformers computes them ({@code modeling_gemma.py},
 * {@code modular_gemma2.py}): the Llama layout (rotary embeddings, grouped-query attention, a gated MLP) with
 * Gemma's numerics: RMSNorm scaled by {@code (1 + weight)} in fp32 before the cast, embeddings multiplied by
 * {@code sqrt(hidden_size)} rounded to the embedding dtype, a GELU-gated MLP ({@code gelu_pytorch_tanh}),
 * {@code head_dim} from the config, and an {@code lm_head} tied to the embedding. Gemma 2 adds a norm after
 * attention and around the MLP, {@code query_pre_attn_scalar} for the attention scale, soft-capping of the attention
 * scores and of the final logits, and sliding-window attention on alternate layers. {@code *ForCausalLM}, or
 * {@code *ForSequenceClassification} (a {@code score} head on the last real token, no soft-capping).
 */
public final class Gemma extends Decoder {
    private final String modelType;
    private final boolean gemma2;
    private final int hidden;
    private final int intermediate;
    private final int layers;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final double eps;
    private final boolean attentionBias;
    private final boolean tied;
    private final Activation act;
    private final Rotary rotary;
    private final double attentionScale;
    private final double attentionSoftcap;
    private final double finalSoftcap;
    private final int slidingWindow;
    private final boolean[] sliding;

    public Gemma(HfConfig c, TaskType task, boolean checkpointHasLmHead) {
        // GemmaConfig and Gemma2Config default pad_token_id to 0
        super(c, task, 0);
        this.modelType = c.modelType();
        this.gemma2 = modelType.equals("gemma2");
        this.hidden = c.size("hidden_size");
        this.intermediate = c.size("intermediate_size");
        this.layers = c.count("num_hidden_layers");
        this.heads = c.size("num_attention_heads");
        this.kvHeads = c.sizeOr("num_key_value_heads", heads);
        if (heads % kvHeads != 0) {
            throw new ModelException(c.source() + ": num_key_value_heads must divide num_attention_heads ("
                    + heads + "), got " + kvHeads);
        }
        // GemmaConfig and Gemma2Config default head_dim to 256, not hidden_size / num_attention_heads
        this.headDim = c.sizeOr("head_dim", 256);
        if (headDim % 2 != 0) {
            throw new ModelException(c.source() + ": head_dim " + headDim + " must be even: rotary embeddings rotate"
                    + " pairs of features");
        }
        this.eps = c.numberAtLeast("rms_norm_eps", 1e-6, 0, true);
        this.attentionBias = c.boolOr("attention_bias", false);
        // both configs default to tying; a checkpoint without lm_head can only mean tied
        this.tied = c.boolOr("tie_word_embeddings", true) || (task == TaskType.CAUSAL_LM && !checkpointHasLmHead);
        // GemmaMLP reads ACT2FN[config.hidden_act], Gemma2MLP ACT2FN[config.hidden_activation]
        String actKey = gemma2 ? "hidden_activation" : "hidden_act";
        this.act = Activation.of(c, actKey, "gelu_pytorch_tanh", modelType,
                List.of("gelu_pytorch_tanh", "gelu_new", "gelu"));
        this.rotary = Rotary.of(c, headDim, headDim);
        this.sliding = new boolean[layers];
        if (gemma2) {
            this.attentionScale = 1.0 / Math.sqrt(c.numberAtLeast("query_pre_attn_scalar", 256, 0, false));
            // an absent key takes Gemma2Config's default, an explicit null turns soft-capping off
            this.attentionSoftcap = softcap(c, "attn_logit_softcapping", 50.0);
            this.finalSoftcap = softcap(c, "final_logit_softcapping", 30.0);
            if (c.boolOr("use_bidirectional_attention", false)) {
                throw new ModelException(c.source() + ": use_bidirectional_attention true is not supported for "
                        + modelType + " (lora4j runs Gemma 2 as a causal decoder)");
            }
            boolean anySliding = layerTypes(c);
            this.slidingWindow = anySliding ? c.size("sliding_window") : 0;
        } else {
            this.attentionScale = 1.0 / Math.sqrt(headDim);
            this.attentionSoftcap = 0;
            this.finalSoftcap = 0;
            this.slidingWindow = 0;
        }
        define(new DecoderShape(hidden, intermediate, layers, heads, headDim), buildParams(), buildTree());
    }

    private static double softcap(HfConfig c, String key, double def) {
        return c.raw().has(key) ? c.numberAtLeast(key, 0, 0, false) : def;
    }

    /**
     * Which layers attend in a sliding window: {@code layer_types}, by default {@code "sliding_attention" if
     * bool((i + 1) % 2)} (layers 0, 2, 4, ...), as Gemma2Config; whether there is any.
     */
    private boolean layerTypes(HfConfig c) {
        Optional<JsonNode> types = c.get("layer_types");
        boolean any = false;
        for (int i = 0; i < layers; i++) {
            if (types.isEmpty()) {
                sliding[i] = (i + 1) % 2 != 0;
            } else {
                JsonNode t = types.get();
                if (!t.isArray() || t.size() != layers) {
                    throw c.invalid("layer_types", "a list of " + layers + " (num_hidden_layers) entries, each "
                            + "\"sliding_attention\" or \"full_attention\"", t);
                }
                String kind = t.get(i).asText("");
                if (!kind.equals("sliding_attention") && !kind.equals("full_attention")) {
                    throw c.invalid("layer_types", "a list of \"sliding_attention\" or \"full_attention\" entries",
                            t);
                }
                sliding[i] = kind.equals("sliding_attention");
            }
            any |= sliding[i];
        }
        return any;
    }

    private String layer(int i) {
        return "model.layers." + i;
    }

    private List<String> norms() {
        return gemma2 ? List.of("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                "post_feedforward_layernorm") : List.of("input_layernorm", "post_attention_layernorm");
    }

    private Map<String, long[]> buildParams() {
        Map<String, long[]> p = new LinkedHashMap<>();
        p.put("model.embed_tokens.weight", new long[] {vocab, hidden});
        int q = heads * headDim;
        int kv = kvHeads * headDim;
        for (int i = 0; i < layers; i++) {
            String l = layer(i);
            long[][] attention = {{q, hidden}, {kv, hidden}, {kv, hidden}, {hidden, q}};
            String[] names = {"q_proj", "k_proj", "v_proj", "o_proj"};
            for (int j = 0; j < names.length; j++) {
                p.put(l + ".self_attn." + names[j] + ".weight", attention[j]);
                if (attentionBias) {
                    p.put(l + ".self_attn." + names[j] + ".bias", new long[] {attention[j][0]});
                }
            }
            p.put(l + ".mlp.gate_proj.weight", new long[] {intermediate, hidden});
            p.put(l + ".mlp.up_proj.weight", new long[] {intermediate, hidden});
            p.put(l + ".mlp.down_proj.weight", new long[] {hidden, intermediate});
            for (String n : norms()) {
                p.put(l + "." + n + ".weight", new long[] {hidden});
            }
        }
        p.put("model.norm.weight", new long[] {hidden});
        putHead(p, "lm_head", hidden, tied);
        return p;
    }

    private String family() {
        return gemma2 ? "Gemma2" : "Gemma";
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
            n.add(ModuleNode.linear(l + ".self_attn.q_proj", hidden, q, attentionBias));
            n.add(ModuleNode.linear(l + ".self_attn.k_proj", hidden, kv, attentionBias));
            n.add(ModuleNode.linear(l + ".self_attn.v_proj", hidden, kv, attentionBias));
            n.add(ModuleNode.linear(l + ".self_attn.o_proj", q, hidden, attentionBias));
            n.add(ModuleNode.other(l + ".mlp", cls + "MLP"));
            n.add(ModuleNode.linear(l + ".mlp.gate_proj", hidden, intermediate, false));
            n.add(ModuleNode.linear(l + ".mlp.up_proj", hidden, intermediate, false));
            n.add(ModuleNode.linear(l + ".mlp.down_proj", intermediate, hidden, false));
            n.add(ModuleNode.other(l + ".mlp.act_fn", act.module()));
            for (String norm : norms()) {
                n.add(ModuleNode.other(l + "." + norm, cls + "RMSNorm"));
            }
        }
        n.add(ModuleNode.other("model.norm", cls + "RMSNorm"));
        n.add(ModuleNode.other("model.rotary_emb", cls + "RotaryEmbedding"));
        return treeWithHead(modelType, n, "lm_head", hidden);
    }

    @Override
    public Map<String, String> aliases() {
        return tiedHead(tied, "lm_head", "model.embed_tokens");
    }

    @Override
    public String className() {
        return family() + (task == TaskType.SEQ_CLS ? "ForSequenceClassification" : "ForCausalLM");
    }

    @Override
    public String describe() {
        return String.format("%s: %d layers, hidden %d, %d heads (%d kv), head dim %d, intermediate %d, vocab %d%s%s",
                modelType, layers, hidden, heads, kvHeads, headDim, intermediate, vocab,
                tied ? ", tied lm_head" : "", slidingWindow > 0 ? ", sliding window " + slidingWindow : "");
    }

    @Override
    public NDArray forward(Forward f, ModelInput in) {
        Ops ops = f.ops();
        int b = in.batchSize();
        int t = in.length();
        checkPacking(in);
        NDArray embedded = f.embedding("model.embed_tokens", in.inputIds());
        DataType type = embedded.getDataType();
        // GemmaModel.forward: normalizer = torch.tensor(hidden_size**0.5, dtype=hidden_states.dtype)
        NDArray x = ops.scale(embedded, Math.sqrt(hidden));
        Rotary.Tables tables = rotary.tables(f, in, type);
        NDArray cos = tables.cos();
        NDArray sin = tables.sin();
        Masks masks = masks(f, in, slidingWindow);
        Attention.Spec spec = new Attention.Spec(attentionScale, true, 0, attentionSoftcap);
        for (int i = 0; i < layers; i++) {
            int index = i;
            AttentionMask m = sliding[i] ? masks.windowed() : masks.full();
            x = f.layer(x, (lf, xi) -> decoderLayer(lf, xi, index, cos, sin, m, spec, b, t));
        }
        x = rmsNorm(f, x, "model.norm.weight");
        NDArray logits = head(f, x, in, "lm_head");
        if (task != TaskType.SEQ_CLS && finalSoftcap > 0) {
            // Gemma2ForCausalLM.forward: logits / cap, tanh, * cap
            NDArray cap = ops.scalar(finalSoftcap, logits.getDataType());
            logits = ops.mul(ops.tanh(ops.div(logits, cap)), cap);
        }
        return logits;
    }

    /**
     * One decoder layer ({@code GemmaDecoderLayer.forward}, {@code Gemma2DecoderLayer.forward}), each part in a scope
     * of its own as in {@link Llama}.
     */
    private NDArray decoderLayer(Forward f, NDArray x, int i, NDArray cos, NDArray sin, AttentionMask mask,
            Attention.Spec spec, int b, int t) {
        String l = layer(i);
        NDArray afterAttention = f.scoped(af -> {
            NDArray h = rmsNorm(af, x, l + ".input_layernorm.weight");
            NDArray attended = attention(af, h, l, cos, sin, mask, spec, b, t);
            // Gemma 2 normalises the attention output before the residual sum
            return af.ops().add(x, gemma2 ? rmsNorm(af, attended, l + ".post_attention_layernorm.weight")
                    : attended);
        });
        return f.scoped(mf -> {
            NDArray h = rmsNorm(mf, afterAttention, l + (gemma2 ? ".pre_feedforward_layernorm.weight"
                    : ".post_attention_layernorm.weight"));
            NDArray gated = mf.scoped(af -> af.ops().mul(act.apply(af.ops(), af.linear(l + ".mlp.gate_proj", h)),
                    af.linear(l + ".mlp.up_proj", h)));
            NDArray out = mf.linear(l + ".mlp.down_proj", gated);
            return mf.ops().add(afterAttention, gemma2 ? rmsNorm(mf, out, l + ".post_feedforward_layernorm.weight")
                    : out);
        });
    }

    /** {@code o_proj} of the attention of the normalised input {@code h}. */
    private NDArray attention(Forward f, NDArray h, String l, NDArray cos, NDArray sin, AttentionMask mask,
            Attention.Spec spec, int b, int t) {
        NDArray q = f.scoped(qf -> rotary.apply(qf.ops(), heads(qf.ops(), qf.linear(l + ".self_attn.q_proj", h), b,
                t, heads), cos, sin));
        NDArray k = f.scoped(kf -> repeatKv(kf.ops(), rotary.apply(kf.ops(), heads(kf.ops(),
                kf.linear(l + ".self_attn.k_proj", h), b, t, kvHeads), cos, sin)));
        NDArray v = f.scoped(vf -> repeatKv(vf.ops(), heads(vf.ops(), vf.linear(l + ".self_attn.v_proj", h), b, t,
                kvHeads)));
        NDArray attended = f.attention(q, k, v, mask, spec);
        return f.linear(l + ".self_attn.o_proj", attended);
    }

    /** transformers' {@code repeat_kv}: each key/value head repeated for its group of query heads. */
    private NDArray repeatKv(Ops ops, NDArray x) {
        return kvHeads == heads ? x : ops.repeatInterleave(x, heads / kvHeads, 1);
    }

    private NDArray heads(Ops ops, NDArray y, int b, int t, int n) {
        return ops.transpose(ops.reshape(y, b, t, n, headDim), 1, 2);
    }

    /**
     * transformers' {@code GemmaRMSNorm}: normalise in fp32, multiply by {@code 1 + weight} in fp32, then cast back
     * (Llama casts before scaling by the weight).
     */
    private NDArray rmsNorm(Forward f, NDArray x, String weight) {
        return f.scoped(nf -> {
            Ops ops = nf.ops();
            NDArray xf = ops.toType(x, DataType.FLOAT32);
            NDArray var = ops.mean(ops.square(xf), -1, true);
            NDArray normed = ops.mul(xf, ops.rsqrt(ops.addScalar(var, eps)));
            NDArray scale = ops.addScalar(ops.toType(nf.param(weight), DataType.FLOAT32), 1.0);
            return ops.toType(ops.mul(normed, scale), x.getDataType());
        });
    }
}
