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
 * GPT-2 ({@code model_type: gpt2}) as transformers' {@code modeling_gpt2.py} computes it: token plus learned position
 * embeddings ({@code wte}, {@code wpe}), pre-LN blocks whose projections are {@code Conv1D} layers (weights stored
 * (in, out), so PEFT's LoRA there runs with {@code fan_in_fan_out}), a fused {@code c_attn} whose output is
 * {@code [q | k | v]}, scores scaled by {@code 1/sqrt(head_dim)} ({@code scale_attn_weights}) and by
 * {@code 1/(layer_idx + 1)} ({@code scale_attn_by_inverse_layer_idx}), {@code gelu_new}, and {@code lm_head} tied to
 * {@code wte}; {@code GPT2LMHeadModel}, or {@code GPT2ForSequenceClassification} (a {@code score} head on the
 * rightmost token that is not {@code pad_token_id}). Parameters under {@code transformer.}; checkpoints saved
 * without the prefix (the original {@code gpt2}) load as well.
 */
public final class Gpt2 extends Decoder {
    private final int positions;
    private final int embd;
    private final int layers;
    private final int heads;
    private final int inner;
    private final double eps;
    private final Activation act;
    private final boolean scaleWeights;
    private final boolean inverseLayerScale;
    private final boolean upcast;
    private final double embdDropout;
    private final double attnDropout;
    private final double residDropout;
    private final boolean tied;

    public Gpt2(HfConfig c, TaskType task, boolean checkpointHasLmHead) {
        super(c, task, null); // GPT2Config and GPTNeoXConfig: pad_token_id None
        this.positions = c.sizeOr("n_positions", 1024);
        this.embd = c.size("n_embd");
        this.layers = c.count("n_layer");
        this.heads = c.size("n_head");
        if (embd % heads != 0) {
            throw new ModelException(c.source() + ": n_head " + heads + " does not divide n_embd " + embd
                    + " (the head size is n_embd / n_head); use a divisor of n_embd");
        }
        // GPT2MLP: inner_dim = n_inner if n_inner is not None else 4 * hidden_size
        this.inner = c.sizeOr("n_inner", 4 * embd);
        this.eps = c.numberAtLeast("layer_norm_epsilon", 1e-5, 0, true);
        this.act = Activation.of(c, "activation_function", "gelu_new", "gpt2");
        this.scaleWeights = c.boolOr("scale_attn_weights", true);
        this.inverseLayerScale = c.boolOr("scale_attn_by_inverse_layer_idx", false);
        // _upcast_and_reordered_attn: the same scores with the product and softmax in float32, which lora4j's
        // float32 softmax gives (the q k product stays in the model's dtype: the same numbers in fp32)
        this.upcast = c.boolOr("reorder_and_upcast_attn", false);
        if (c.boolOr("add_cross_attention", false)) {
            throw new ModelException(c.source() + ": add_cross_attention true (a GPT-2 decoder of an encoder-decoder"
                    + " model) is not supported; lora4j runs GPT-2 as a causal LM or classifier");
        }
        this.embdDropout = c.probabilityOr("embd_pdrop", 0.1);
        this.attnDropout = c.probabilityOr("attn_pdrop", 0.1);
        this.residDropout = c.probabilityOr("resid_pdrop", 0.1);
        // GPT2Config leaves tie_word_embeddings at PretrainedConfig's True; a checkpoint without lm_head is tied
        this.tied = c.boolOr("tie_word_embeddings", true) || (task == TaskType.CAUSAL_LM && !checkpointHasLmHead);
        define(new DecoderShape(embd, inner, layers, heads, embd / heads), buildParams(), buildTree());
    }

    private static String layer(int i) {
        return "transformer.h." + i;
    }

    private Map<String, long[]> buildParams() {
        Map<String, long[]> p = new LinkedHashMap<>();
        p.put("transformer.wte.weight", new long[] {vocab, embd});
        p.put("transformer.wpe.weight", new long[] {positions, embd});
        for (int i = 0; i < layers; i++) {
            String l = layer(i);
            p.put(l + ".ln_1.weight", new long[] {embd});
            p.put(l + ".ln_1.bias", new long[] {embd});
            // Conv1D weights are stored (in, out)
            p.put(l + ".attn.c_attn.weight", new long[] {embd, 3L * embd});
            p.put(l + ".attn.c_attn.bias", new long[] {3L * embd});
            p.put(l + ".attn.c_proj.weight", new long[] {embd, embd});
            p.put(l + ".attn.c_proj.bias", new long[] {embd});
            p.put(l + ".ln_2.weight", new long[] {embd});
            p.put(l + ".ln_2.bias", new long[] {embd});
            p.put(l + ".mlp.c_fc.weight", new long[] {embd, inner});
            p.put(l + ".mlp.c_fc.bias", new long[] {inner});
            p.put(l + ".mlp.c_proj.weight", new long[] {inner, embd});
            p.put(l + ".mlp.c_proj.bias", new long[] {embd});
        }
        p.put("transformer.ln_f.weight", new long[] {embd});
        p.put("transformer.ln_f.bias", new long[] {embd});
        putHead(p, "lm_head", embd, tied);
        return p;
    }

    private ModuleTree buildTree() {
        List<ModuleNode> n = new ArrayList<>();
        n.add(ModuleNode.other("transformer", "GPT2Model"));
        n.add(ModuleNode.embedding("transformer.wte", vocab, embd));
        n.add(ModuleNode.embedding("transformer.wpe", positions, embd));
        n.add(ModuleNode.other("transformer.drop", "Dropout"));
        n.add(ModuleNode.other("transformer.h", "ModuleList"));
        for (int i = 0; i < layers; i++) {
            String l = layer(i);
            n.add(ModuleNode.other(l, "GPT2Block"));
            n.add(ModuleNode.other(l + ".ln_1", "LayerNorm"));
            n.add(ModuleNode.other(l + ".attn", "GPT2Attention"));
            n.add(ModuleNode.conv1d(l + ".attn.c_attn", embd, 3L * embd));
            n.add(ModuleNode.conv1d(l + ".attn.c_proj", embd, embd));
            n.add(ModuleNode.other(l + ".attn.attn_dropout", "Dropout"));
            n.add(ModuleNode.other(l + ".attn.resid_dropout", "Dropout"));
            n.add(ModuleNode.other(l + ".ln_2", "LayerNorm"));
            n.add(ModuleNode.other(l + ".mlp", "GPT2MLP"));
            n.add(ModuleNode.conv1d(l + ".mlp.c_fc", embd, inner));
            n.add(ModuleNode.conv1d(l + ".mlp.c_proj", inner, embd));
            n.add(ModuleNode.other(l + ".mlp.act", act.module()));
            n.add(ModuleNode.other(l + ".mlp.dropout", "Dropout"));
        }
        n.add(ModuleNode.other("transformer.ln_f", "LayerNorm"));
        return treeWithHead("gpt2", n, "lm_head", embd);
    }

    @Override
    public Map<String, String> aliases() {
        return tiedHead(tied, "lm_head", "transformer.wte");
    }

    @Override
    public String className() {
        return task == TaskType.SEQ_CLS ? "GPT2ForSequenceClassification" : "GPT2LMHeadModel";
    }

    @Override
    public String describe() {
        return String.format("gpt2: %d layers, n_embd %d, %d heads, inner %d, vocab %d, %d positions%s", layers, embd,
                heads, inner, vocab, positions, task == TaskType.SEQ_CLS ? ", classifier with " + numLabels
                        + " labels" : tied ? ", tied lm_head" : "");
    }

    @Override
    public NDArray forward(Forward f, ModelInput in) {
        Ops ops = f.ops();
        int b = in.batchSize();
        int t = in.length();
        checkPacking(in);
        if (t > positions) {
            throw new ModelException("sequence of " + t + " tokens is longer than gpt2's n_positions " + positions
                    + " (its learned position embeddings)");
        }
        NDArray positionIds = in.positionIds() != null ? in.positionIds() : ops.toType(ops.unsqueeze(ops.arange(t), 0),
                DataType.INT64);
        NDArray x = ops.add(f.embedding("transformer.wte", in.inputIds()),
                f.embedding("transformer.wpe", positionIds));
        x = f.dropout(x, embdDropout);
        AttentionMask mask = masks(f, in, 0).full();
        for (int i = 0; i < layers; i++) {
            int index = i;
            x = f.layer(x, (lf, xi) -> block(lf, xi, index, mask, b, t));
        }
        return head(f, layerNorm(f, x, "transformer.ln_f", eps), in, "lm_head");
    }

    /** GPT2Block: {@code h + attn(ln_1(h))}, then {@code h + mlp(ln_2(h))}, each half in a scope of its own. */
    private NDArray block(Forward f, NDArray x, int i, AttentionMask mask, int b, int t) {
        String l = layer(i);
        int hd = embd / heads;
        // GPT2Attention._attn: / sqrt(head_dim) when scale_attn_weights, / (layer_idx + 1) when
        // scale_attn_by_inverse_layer_idx
        double scale = (scaleWeights ? 1.0 / Math.sqrt(hd) : 1.0) / (inverseLayerScale ? i + 1 : 1);
        NDArray afterAttention = f.scoped(af -> {
            Ops ops = af.ops();
            NDArray qkv = af.linear(l + ".attn.c_attn", layerNorm(af, x, l + ".ln_1", eps));
            // c_attn(h).split(n_embd, dim=2): [q | k | v], each head's features contiguous within its part
            NDArray q = heads(ops, ops.slice(qkv, -1, 0, embd), b, t, hd);
            NDArray k = heads(ops, ops.slice(qkv, -1, embd, 2L * embd), b, t, hd);
            NDArray v = heads(ops, ops.slice(qkv, -1, 2L * embd, 3L * embd), b, t, hd);
            NDArray attended = af.attention(q, k, v, mask, new Attention.Spec(scale, upcast, attnDropout));
            return ops.add(x, af.dropout(af.linear(l + ".attn.c_proj", attended), residDropout));
        });
        return f.scoped(mf -> {
            Ops ops = mf.ops();
            NDArray h = mf.scoped(hf -> act.apply(hf.ops(), hf.linear(l + ".mlp.c_fc",
                    layerNorm(hf, afterAttention, l + ".ln_2", eps))));
            return ops.add(afterAttention, mf.dropout(mf.linear(l + ".mlp.c_proj", h), residDropout));
        });
    }

    private NDArray heads(Ops ops, NDArray y, int b, int t, int hd) {
        return ops.transpose(ops.reshape(y, b, t, heads, hd), 1, 2);
    }
}
