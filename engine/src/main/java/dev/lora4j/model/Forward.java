package dev.lora4j.model;

import ai.djl.ndarray.NDArray;
import dev.lora4j.runtime.Ops;
import java.util.function.Function;

/**
 * One forward pass: the shared frozen base, what the trial adds to it, training or evaluation mode, and the scope
 * that owns every intermediate. Architectures get their weights and run their layers only through this.
 */
public final class Forward {
    private final Ops ops;
    private final BaseModel base;
    private final Adaptation adaptation;
    private final Dropout dropout;

    private Forward(Ops ops, BaseModel base, Adaptation adaptation, Dropout dropout) {
        this.ops = ops;
        this.base = base;
        this.adaptation = adaptation == null ? Adaptation.NONE : adaptation;
        this.dropout = dropout;
    }

    /** Evaluation mode: no dropout anywhere. */
    public static Forward eval(Ops ops, BaseModel base, Adaptation adaptation) {
        return new Forward(ops, base, adaptation, null);
    }

    /** Training mode: dropout (base and LoRA) drawn from {@code dropout}. */
    public static Forward train(Ops ops, BaseModel base, Adaptation adaptation, Dropout dropout) {
        return new Forward(ops, base, adaptation, dropout);
    }

    /** The same pass writing into another scope (a layer's), sharing the dropout stream. */
    public Forward withOps(Ops other) {
        return new Forward(other, base, adaptation, dropout);
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
        return own != null ? inBaseType(own, base.weight(name)) : base.weight(name);
    }

    /** The parameter, or null when the model has none of that name (optional biases). */
    public NDArray paramOrNull(String name) {
        NDArray own = adaptation.override(name);
        NDArray shared = base.weightOrNull(name);
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

    /** Linear (or Conv1D) layer at {@code path}, with the trial's adapter if it has one there. */
    public NDArray linear(String path, NDArray x) {
        ModuleNode m = base.tree().require(path);
        // by the module's own name: a trial may give a tied lm_head a weight of its own (modules_to_save)
        NDArray w = param(m.weightName());
        NDArray b = m.hasBias() ? param(m.biasName()) : null;
        NDArray y;
        if (m.kind() == ModuleNode.Kind.CONV1D) {
            // transformers' Conv1D stores (in, out): x · W + b
            y = ops.matmul(x, w);
            y = b == null ? y : ops.add(y, b);
        } else {
            y = ops.linear(x, w, b);
        }
        return adaptation.linear(this, m, x, y, w, b);
    }

    /** Embedding lookup at {@code path}, with the trial's adapter if it has one there. */
    public NDArray embedding(String path, NDArray ids) {
        ModuleNode m = base.tree().require(path);
        NDArray y = ops.embedding(ids, param(m.weightName()));
        return adaptation.embedding(this, m, ids, y);
    }

    /** Dropout with probability {@code p} in training mode; identity in evaluation. */
    public NDArray dropout(NDArray x, double p) {
        return dropout == null || p <= 0 ? x : dropout.apply(ops, x, p);
    }
}
