package dev.lora4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.lora4j.config.TaskType;
import dev.lora4j.runtime.Ops;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * GPT-NeoX ({@code model_type: gpt_neox}: Pythia, GPT-NeoX-20B, open-calm, RedPajama-INCITE, Dolly v2) as
 * transformers' {@code modeling_gpt_neox.py} computes it: a fused {@code query_key_value} whose output is laid out per
 * head as {@code [heads, 3, head_size]}, rotary embeddings on the first {@code int(head_size * rotary_pct)} features
 * of each head, LayerNorm, exact-erf GELU, a parallel ({@code use_parallel_residual}) or sequential residual, and an
 * untied {@code embed_out}; {@code GPTNeoXForCausalLM}, or {@code GPTNeoXForSequenceClassification} (a {@code score}
 * head on the rightmost token that is not {@code pad_token_id}). Parameters under {@code gpt_neox.}.
 */
public final class GptNeoX extends Decoder {
    private final int hidden;
    private final int intermediate;
    private final int layers;
    private final int heads;
    private final int headSize;
    private final int rotaryDims;
    private final Rotary rotary;
    private final double eps;
    private final Activation act;
    private final boolean parallelResidual;
    private final boolean attentionBias;
    private final double attentionDropout;
    private final double hiddenDropout;
    private final boolean tied;

    public GptNeoX(HfConfig c, TaskType task, boolean checkpointHasEmbedOut) {
        super(c, task, null); // GPT2Config and GPTNeoXConfig: pad_token_id None
        this.hidden = c.size("hidden_size");
        this.intermediate = c.size("intermediate_size");
        this.layers = c.count("num_hidden_layers");
        this.heads = c.size("num_attention_heads");
        if (hidden % heads != 0) {
            throw new ModelException(c.source() + ": num_attention_heads " + heads + " does not divide hidden_size "
                    + hidden + " (the head size is hidden_size / num_attention_heads); use a divisor of hidden_size");
        }
        this.headSize = hidden / heads;
        // GPTNeoXConfig sets partial_rotary_factor from rotary_pct and rope_theta from rotary_emb_base; a config saved
        // by a newer transformers may hold only the new names
        String pctKey = c.get("rotary_pct").isPresent() || c.get("partial_rotary_factor").isEmpty() ? "rotary_pct"
                : "partial_rotary_factor";
        double pct = c.numberAtLeast(pctKey, 0.25, 0, true);
        if (pct > 1) {
            throw c.invalid(pctKey, "a number from 0 to 1 (the share of each head's features that rotate)",
                    c.get(pctKey).orElseThrow());
        }
        // rotary_ndims = int(head_size * rotary_pct)
        this.rotaryDims = (int) Math.floor(headSize * pct);
        if (rotaryDims % 2 != 0) {
            throw new ModelException(c.source() + ": " + pctKey + " " + pct + " rotates " + rotaryDims + " of the "
                    + headSize + " features of each head (int(head_size * " + pctKey + ")); rotary embeddings"
                    + " rotate pairs of features, so that must be even");
        }
        String baseKey = c.get("rotary_emb_base").isPresent() || c.get("rope_theta").isEmpty() ? "rotary_emb_base"
                : "rope_theta";
        this.rotary = rotaryDims == 0 ? null : new Rotary(Llama.inverseFrequencies(c, rotaryDims,
                c.numberAtLeast(baseKey, 10000.0, 0, false)), rotaryDims, headSize);
        this.eps = c.numberAtLeast("layer_norm_eps", 1e-5, 0, true);
        this.act = Activation.of(c, "hidden_act", "gelu", "gpt_neox");
        this.parallelResidual = c.boolOr("use_parallel_residual", true);
        this.attentionBias = c.boolOr("attention_bias", true);
        this.attentionDropout = c.probabilityOr("attention_dropout", 0.0);
        this.hiddenDropout = c.probabilityOr("hidden_dropout", 0.0);
        // GPTNeoXConfig defaults tie_word_embeddings to False; a checkpoint without embed_out can only mean tied
        this.tied = c.boolOr("tie_word_embeddings", false) || (task == TaskType.CAUSAL_LM && !checkpointHasEmbedOut);
        define(new DecoderShape(hidden, intermediate, layers, heads, headSize), buildParams(), buildTree());
    }

    private static String layer(int i) {
        return "gpt_neox.layers." + i;
    }

    private Map<String, long[]> buildParams() {
        Map<String, long[]> p = new LinkedHashMap<>();
        p.put("gpt_neox.embed_in.weight", new long[] {vocab, hidden});
        for (int i = 0; i < layers; i++) {
            String l = layer(i);
            for (String norm : new String[] {".input_layernorm", ".post_attention_layernorm"}) {
                p.put(l + norm + ".weight", new long[] {hidden});
                p.put(l + norm + ".bias", new long[] {hidden});
            }
            p.put(l + ".attention.query_key_value.weight", new long[] {3L * hidden, hidden});
            if (attentionBias) {
                p.put(l + ".attention.query_key_value.bias", new long[] {3L * hidden});
            }
            p.put(l + ".attention.dense.weight", new long[] {hidden, hidden});
            if (attentionBias) {
                p.put(l + ".attention.dense.bias", new long[] {hidden});
            }
            p.put(l + ".mlp.dense_h_to_4h.weight", new long[] {intermediate, hidden});
            p.put(l + ".mlp.dense_h_to_4h.bias", new long[] {intermediate});
            p.put(l + ".mlp.dense_4h_to_h.weight", new long[] {hidden, intermediate});
            p.put(l + ".mlp.dense_4h_to_h.bias", new long[] {hidden});
        }
        p.put("gpt_neox.final_layer_norm.weight", new long[] {hidden});
        p.put("gpt_neox.final_layer_norm.bias", new long[] {hidden});
        putHead(p, "embed_out", hidden, tied);
        return p;
    }

    private ModuleTree buildTree() {
        List<ModuleNode> n = new ArrayList<>();
        n.add(ModuleNode.other("gpt_neox", "GPTNeoXModel"));
        n.add(ModuleNode.embedding("gpt_neox.embed_in", vocab, hidden));
        n.add(ModuleNode.other("gpt_neox.emb_dropout", "Dropout"));
        n.add(ModuleNode.other("gpt_neox.layers", "ModuleList"));
        for (int i = 0; i < layers; i++) {
            String l = layer(i);
            n.add(ModuleNode.other(l, "GPTNeoXLayer"));
            n.add(ModuleNode.other(l + ".input_layernorm", "LayerNorm"));
            n.add(ModuleNode.other(l + ".post_attention_layernorm", "LayerNorm"));
            n.add(ModuleNode.other(l + ".post_attention_dropout", "Dropout"));
            n.add(ModuleNode.other(l + ".post_mlp_dropout", "Dropout"));
            n.add(ModuleNode.other(l + ".attention", "GPTNeoXAttention"));
            n.add(ModuleNode.linear(l + ".attention.query_key_value", hidden, 3L * hidden, attentionBias));
            n.add(ModuleNode.linear(l + ".attention.dense", hidden, hidden, attentionBias));
            n.add(ModuleNode.other(l + ".attention.attention_dropout", "Dropout"));
            n.add(ModuleNode.other(l + ".mlp", "GPTNeoXMLP"));
            n.add(ModuleNode.linear(l + ".mlp.dense_h_to_4h", hidden, intermediate, true));
            n.add(ModuleNode.linear(l + ".mlp.dense_4h_to_h", intermediate, hidden, true));
            n.add(ModuleNode.other(l + ".mlp.act", act.module()));
        }
        n.add(ModuleNode.other("gpt_neox.final_layer_norm", "LayerNorm"));
        n.add(ModuleNode.other("gpt_neox.rotary_emb", "GPTNeoXRotaryEmbedding"));
        return treeWithHead("gpt_neox", n, "embed_out", hidden);
    }

    @Override
    public Map<String, String> aliases() {
        return tiedHead(tied, "embed_out", "gpt_neox.embed_in");
    }

    @Override
    public String className() {
        return task == TaskType.SEQ_CLS ? "GPTNeoXForSequenceClassification" : "GPTNeoXForCausalLM";
    }

    @Override
    public String describe() {
        return String.format("gpt_neox: %d layers, hidden %d, %d heads, %d of %d head features rotary, intermediate"
                + " %d, vocab %d, %s residual%s", layers, hidden, heads, rotaryDims, headSize, intermediate, vocab,
                parallelResidual ? "parallel" : "sequential", task == TaskType.SEQ_CLS ? ", classifier with "
                        + numLabels + " labels" : tied ? ", tied embed_out" : "");
    }

    @Override
    public NDArray forward(Forward f, ModelInput in) {
        int b = in.batchSize();
        int t = in.length();
        checkPacking(in);
        NDArray x = f.dropout(f.embedding("gpt_neox.embed_in", in.inputIds()), hiddenDropout);
        DataType type = x.getDataType();
        Rotary.Tables tables = rotary == null ? null : rotary.tables(f, in, type);
        NDArray cos = tables == null ? null : tables.cos();
        NDArray sin = tables == null ? null : tables.sin();
        AttentionMask mask = masks(f, in, 0).full();
        for (int i = 0; i < layers; i++) {
            String l = layer(i);
            x = f.layer(x, (lf, xi) -> decoderLayer(lf, xi, l, cos, sin, mask, b, t));
        }
        return head(f, layerNorm(f, x, "gpt_neox.final_layer_norm", eps), in, "embed_out");
    }

    /**
     * GPTNeoXLayer.forward: {@code attn = dropout(attention(input_layernorm(h)))}; parallel:
     * {@code mlp(post_attention_layernorm(h)) + attn + h}; sequential: {@code a = attn + h},
     * {@code mlp(post_attention_layernorm(a)) + a}.
     */
    private NDArray decoderLayer(Forward f, NDArray x, String l, NDArray cos, NDArray sin, AttentionMask mask, int b,
            int t) {
        NDArray attn = f.scoped(af -> af.dropout(attention(af, layerNorm(af, x, l + ".input_layernorm", eps), l, cos,
                sin, mask, b, t), hiddenDropout));
        NDArray residual = parallelResidual ? x : f.ops().add(attn, x);
        NDArray mlp = f.scoped(mf -> {
            NDArray h = layerNorm(mf, residual, l + ".post_attention_layernorm", eps);
            NDArray up = mf.scoped(uf -> act.apply(uf.ops(), uf.linear(l + ".mlp.dense_h_to_4h", h)));
            return mf.dropout(mf.linear(l + ".mlp.dense_4h_to_h", up), hiddenDropout);
        });
        Ops ops = f.ops();
        return parallelResidual ? ops.add(ops.add(mlp, attn), x) : ops.add(mlp, residual);
    }

    /**
     * GPTNeoXAttention.forward: the fused projection viewed as {@code (B, T, heads, 3 * head_size)} and cut into
     * q, k and v per head; rotary on the first {@code rotary_ndims} features of q and k; {@code dense} on the result.
     */
    private NDArray attention(Forward f, NDArray h, String l, NDArray cos, NDArray sin, AttentionMask mask, int b,
            int t) {
        Ops ops = f.ops();
        NDArray qkv = ops.transpose(ops.reshape(f.linear(l + ".attention.query_key_value", h), b, t, heads,
                3L * headSize), 1, 2);
        NDArray q = rotate(f, ops.slice(qkv, -1, 0, headSize), cos, sin);
        NDArray k = rotate(f, ops.slice(qkv, -1, headSize, 2L * headSize), cos, sin);
        NDArray v = ops.slice(qkv, -1, 2L * headSize, 3L * headSize);
        NDArray attended = f.attention(q, k, v, mask, new Attention.Spec(Math.pow(headSize, -0.5), true,
                attentionDropout));
        return f.linear(l + ".attention.dense", attended);
    }

    /** {@code cat(apply_rotary_pos_emb(x[..., :rotary_ndims]), x[..., rotary_ndims:])}. */
    private NDArray rotate(Forward f, NDArray x, NDArray cos, NDArray sin) {
        return rotary == null ? x : f.scoped(rf -> rotary.apply(rf.ops(), x, cos, sin));
    }
}
