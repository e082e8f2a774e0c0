package dev.lora4j.model;

import ai.djl.ndarray.NDArray;
import dev.lora4j.runtime.Ops;
import java.util.function.Function;

/**
 * One forward pass: the shared frozen base, what the trial adds to it, training or evaluation mode, and the scope
 * that owns every intermediate. Architectures get their weights and run their layers only through this: each
 * decoder or encoder layer through {@link #layer}, and attention through {@link #attention}, so that gradient
 * checkpointing and attention in query blocks work the same way for every architecture.
 */
public final class Forward {
    /**
     * One decoder or encoder layer as a function of its input: all it reads besides {@code x} are parameters (through
     * {@code f}) and tensors that need no gradient (masks, rotary tables), because with gradient checkpointing it
     * runs again in backward, from {@code x} alone.
     */
    @FunctionalInterface
    public interface Layer {
        NDArray apply(Forward f, NDArray x);
    }

    /** How many times the trial's tensors entered the pass (shared by the pass's copies). */
    private static final class Uses {
        long adapted;
    }

    private final Ops ops;
    private final BaseModel base;
    private final Adaptation adaptation;
    private final Dropout dropout;
    private final LayerTape tape;
    private final int attentionBlock;
    private final Uses uses;

    private Forward(Ops ops, BaseModel base, Adaptation adaptation, Dropout dropout, LayerTape tape,
            int attentionBlock, Uses uses) {
        this.ops = ops;
        this.base = base;
        this.adaptation = adaptation == null ? Adaptation.NONE : adaptation;
        this.dropout = dropout;
        this.tape = tape;
        this.attentionBlock = attentionBlock;
        this.uses = uses;
    }

    /** Evaluation mode: no dropout anywhere. */
    public static Forward eval(Ops ops, BaseModel base, Adaptation adaptation) {
        return new Forward(ops, base, adaptation, null, null, 0, new Uses());
    }

    /** Training mode: dropout (base and LoRA) drawn from {@code dropout}. */
    public static Forward train(Ops ops, BaseModel base, Adaptation adaptation, Dropout dropout) {
        return new Forward(ops, base, adaptation, dropout, null, 0, new Uses());
    }

    /** The same pass writing into another scope (a layer's), sharing the dropout stream. */
    public Forward withOps(Ops other) {
        return new Forward(other, base, adaptation, dropout, tape, attentionBlock, uses);
    }

    /**
     * The same pass with its layers on {@code tape} (null: none; backward is then one {@code loss.backward()}) and
     * attention in blocks of {@code attentionBlock} queries (0: the whole score matrix; see
     * {@link Attention.Policy}).
     */
    public Forward withMemory(LayerTape tape, int attentionBlock) {
        if (attentionBlock < 0) {
            throw new IllegalArgumentException("attention block " + attentionBlock + " must be >= 0");
        }
        return new Forward(ops, base, adaptation, dropout, tape, attentionBlock, uses);
    }

    /** The same pass drawing its masks from {@code other} (a layer recomputed in backward). */
    Forward withDropout(Dropout other) {
        return new Forward(ops, base, adaptation, other, tape, attentionBlock, uses);
    }

    Dropout dropoutState() {
        return dropout;
    }

    LayerTape tape() {
        return tape;
    }

    /** Queries per attention block, or 0 for the whole score matrix. */
    public int attentionBlock() {
        return attentionBlock;
    }

    /** Whether attention over {@code queries} queries runs in blocks (so a whole mask need not be made). */
    public boolean blockwise(int queries) {
        return attentionBlock > 0 && queries > attentionBlock;
    }

    /** How many times a trainable tensor of the trial entered this pass so far. */
    long adaptedSoFar() {
        return uses.adapted;
    }

    /**
     * Runs one layer on {@code x}: in a scope of its own whose intermediates are freed when it returns (autograd
     * keeps what backward needs), or, with a {@link LayerTape}, as a segment the tape back-propagates (and with
     * gradient checkpointing recomputes) on its own. Returns the input of the next layer.
     */
    public NDArray layer(NDArray x, Layer layer) {
        if (tape != null && dropout != null) {
            return tape.layer(this, x, layer);
        }
        try (Ops lo = ops.child()) {
            return lo.keep(layer.apply(withOps(lo), x), ops);
        }
    }

    /**
     * Scaled dot-product attention {@code (B, heads, Tq, head_dim)} of queries {@code q} over keys {@code k} and
     * values {@code v} (all {@code (B, heads, T, head_dim)}, k and v already repeated for grouped queries), with
     * {@code mask} (null: every key visible): over the whole score matrix, or in query blocks (see
     * {@link Attention}).
     */
    /**
     * Scaled dot-product attention of heads {@code q (B, heads, Tq, hd)}, {@code k} and {@code v}, with the heads
     * merged back as the output projection reads them: {@code (B, Tq, heads x hd)}. Its temporaries end with it.
     */
    public NDArray attention(NDArray q, NDArray k, NDArray v, AttentionMask mask, Attention.Spec spec) {
        return scoped(cf -> {
            Ops o = cf.ops();
            NDArray out = Attention.compute(cf, q, k, v, mask, spec);
            long[] s = out.getShape().getShape();
            return o.reshape(o.transpose(out, 1, 2), s[0], s[2], s[1] * s[3]);
        });
    }

    public Ops ops() {
        return ops;
    }

    public BaseModel base() {
        return base;
    }

    public boolean training() {
        return dropout != null;
    }

    /**
     * The tensor for parameter {@code name}: the trial's own if it has one, else the shared base's (a tied name reads
     * the weight it is tied to).
     */
    public NDArray param(String name) {
        NDArray own = adaptation.override(name);
        if (own != null) {
            uses.adapted++;
        }
        return own != null ? inBaseType(own, base.weight(name)) : base.weight(name);
    }

    /** The parameter, or null when the model has none of that name (optional biases). */
    public NDArray paramOrNull(String name) {
        NDArray own = adaptation.override(name);
        NDArray shared = base.weightOrNull(name);
        if (own != null) {
            uses.adapted++;
        }
        return own != null ? inBaseType(own, shared) : shared;
    }

    /** A trial's float32 master copy over a half-precision base is cast in the graph, so gradients reach it. */
    private NDArray inBaseType(NDArray own, NDArray shared) {
        return shared == null || own.getDataType() == shared.getDataType() ? own
                : ops.toType(own, shared.getDataType());
    }

    /** A tensor made once per base model and shared read-only by all passes (see {@link BaseModel#constant}). */
    public NDArray constant(String key, Function<Ops, NDArray> make) {
        return base.constant(key, make);
    }

    /**
     * Linear (or Conv1D) layer at {@code path}, with the trial's adapter if it has one there. Its temporaries (the
     * base output, dropout masks, the rank-r activations) are freed when it returns; autograd keeps what it needs.
     */
    public NDArray linear(String path, NDArray x) {
        ModuleNode m = base.tree().require(path);
        try (Ops lo = ops.child()) {
            Forward f = withOps(lo);
            // by the module's own name: a trial may give a tied lm_head a weight of its own (modules_to_save)
            NDArray w = f.param(m.weightName());
            NDArray b = m.hasBias() ? f.param(m.biasName()) : null;
            NDArray y;
            if (m.kind() == ModuleNode.Kind.CONV1D) {
                // transformers' Conv1D stores (in, out): x · W + b
                y = lo.matmul(x, w);
                y = b == null ? y : lo.add(y, b);
            } else {
                y = lo.linear(x, w, b);
            }
            NDArray out = adaptation.linear(f, m, x, y, w, b);
            if (out != y) {
                uses.adapted++;
            }
            return lo.keep(out, ops);
        }
    }

    /** Runs {@code part} in a scope of its own and keeps only its result: its temporaries are freed at once. */
    public NDArray scoped(java.util.function.Function<Forward, NDArray> part) {
        try (Ops lo = ops.child()) {
            return lo.keep(part.apply(withOps(lo)), ops);
        }
    }

    /** Embedding lookup at {@code path}, with the trial's adapter if it has one there. */
    public NDArray embedding(String path, NDArray ids) {
        ModuleNode m = base.tree().require(path);
        NDArray y = ops.embedding(ids, param(m.weightName()));
        NDArray out = adaptation.embedding(this, m, ids, y);
        if (out != y) {
            uses.adapted++;
        }
        return out;
    }

    /** Dropout with probability {@code p} in training mode; identity in evaluation. */
    public NDArray dropout(NDArray x, double p) {
        return dropout == null || p <= 0 ? x : dropout.apply(ops, x, p);
    }
}
