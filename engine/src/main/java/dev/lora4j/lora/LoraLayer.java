package dev.lora4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.lora4j.model.Forward;
import dev.lora4j.model.ModuleNode;
import dev.lora4j.runtime.Ops;

/**
 * The LoRA state of one wrapped module (spec section 5): A, B, the scaling, dropout, and optionally B's bias
 * ({@code lora_bias}) and the DoRA magnitude. The tensors are the trial's own; the base weight arrives per call.
 */
public final class LoraLayer {
    private final ModuleNode module;
    private final int r;
    private final double alpha;
    private final double scaling;
    private final double dropout;
    private final boolean fanInFanOut;
    private final NDArray a;
    private final NDArray b;
    private final NDArray bBias;
    private final NDArray magnitude;
    private final boolean powerOfTwoScaling;

    LoraLayer(ModuleNode module, int r, double alpha, double scaling, double dropout, boolean fanInFanOut,
            NDArray a, NDArray b, NDArray bBias, NDArray magnitude) {
        this.module = module;
        this.r = r;
        this.alpha = alpha;
        this.scaling = scaling;
        this.dropout = dropout;
        this.fanInFanOut = fanInFanOut;
        this.a = a;
        this.b = b;
        this.bBias = bBias;
        this.magnitude = magnitude;
        this.powerOfTwoScaling = scaling > 0 && scaling == Math.scalb(1.0, Math.getExponent(scaling));
    }

    public ModuleNode module() {
        return module;
    }

    public String key() {
        return module.path();
    }

    public int r() {
        return r;
    }

    public double alpha() {
        return alpha;
    }

    /** {@code alpha / r}, or {@code alpha / sqrt(r)} with rsLoRA, after rank/alpha patterns. */
    public double scaling() {
        return scaling;
    }

    public double dropout() {
        return dropout;
    }

    public boolean fanInFanOut() {
        return fanInFanOut;
    }

    public boolean isEmbedding() {
        return module.kind() == ModuleNode.Kind.EMBEDDING;
    }

    public boolean isDora() {
        return magnitude != null;
    }

    /** {@code lora_A} (r, in), or {@code lora_embedding_A} (r, num_embeddings). */
    public NDArray a() {
        return a;
    }

    /** {@code lora_B} (out, r), or {@code lora_embedding_B} (dim, r). */
    public NDArray b() {
        return b;
    }

    /** {@code lora_B.bias} (out,) with {@code lora_bias}, else null. */
    public NDArray bBias() {
        return bBias;
    }

    /** The DoRA magnitude {@code m} (out,), else null. */
    public NDArray magnitude() {
        return magnitude;
    }

    /** {@code y = base + s * B(A(dropout(x)))} (+ s * b_B), or the DoRA form; spec 5.3 and 5.5. */
    NDArray linear(Forward f, NDArray x, NDArray baseOut, NDArray weight, NDArray bias) {
        Ops ops = f.ops();
        // a half-precision base keeps float32 adapter weights (PEFT's autocast_adapter_dtype): the adapter path
        // runs in float32 and the sum is rounded back to the base's dtype once
        DataType io = x.getDataType();
        boolean mixed = io != a.getDataType();
        NDArray xd = f.dropout(mixed ? ops.toType(x, a.getDataType()) : x, dropout);
        NDArray lora = scaledLora(ops, xd);
        if (magnitude == null) {
            return ops.toType(ops.add(baseOut, lora), io);
        }
        NDArray w = mixed ? ops.toType(weight, a.getDataType()) : weight;
        NDArray v = fanInFanOut ? ops.transpose(w, 0, 1) : w;
        // the norm is recomputed from the current A, B every call and kept out of the graph (DoRA paper, 4.3)
        NDArray norm = ops.detach(ops.rowNorm(ops.add(v, ops.scale(ops.matmul(b, a), scaling))));
        NDArray factor = ops.div(magnitude, norm);
        NDArray baseResult;
        if (f.training() && dropout > 0) {
            baseResult = ops.linear(xd, v, null);
        } else {
            baseResult = ops.toType(bias == null ? baseOut : ops.sub(baseOut, bias), a.getDataType());
        }
        NDArray one = ops.scalar(1.0, factor.getDataType());
        NDArray dora = ops.add(ops.mul(ops.sub(factor, one), baseResult), ops.mul(factor, lora));
        return ops.toType(ops.add(baseOut, dora), io);
    }

    /**
     * {@code s * B(A(x))} (+ {@code s * b_B}). PEFT scales B's output; a power-of-two {@code s} (alpha = r, 2r, r/2)
     * scales the rank-r activations instead, with the same bits (a power of two only shifts exponents, barring
     * subnormals) for r/out of the work, forward and backward. {@code s = 1} is not multiplied at all.
     *
     * <p>The products are laid out so that every one of them, forward and backward, has r as its row count or inner
     * dimension, never as its column count: {@code A·xᵀ} transposed rather than {@code x·Aᵀ}, and B transposed into
     * a row-major copy. libtorch's backward keeps the layout of what it differentiates, and MKL is slow on
     * products with r (8) columns.
     */
    private NDArray scaledLora(Ops ops, NDArray x) {
        long[] shape = x.getShape().getShape().clone();
        NDArray rows = ops.reshape(x, -1, shape[shape.length - 1]);
        NDArray afterA = ops.transpose(ops.matmul(a, ops.transpose(rows, 0, 1)), 0, 1);
        boolean early = bBias == null && powerOfTwoScaling;
        if (early && scaling != 1) {
            afterA = ops.scale(afterA, scaling);
        }
        long out = b.getShape().get(0);
        NDArray bRows = ops.reshape(ops.reshape(ops.transpose(b, 0, 1), -1), r, out);
        NDArray lora = ops.matmul(afterA, bRows);
        if (bBias != null) {
            lora = ops.add(lora, bBias);
        }
        if (!early && scaling != 1) {
            lora = ops.scale(lora, scaling);
        }
        shape[shape.length - 1] = out;
        return ops.reshape(lora, shape);
    }

    /** {@code y = E[ids] + s * (A^T[ids] · B^T)}; never dropout (spec 5.3). */
    NDArray embedding(Forward f, NDArray ids, NDArray baseOut) {
        Ops ops = f.ops();
        NDArray afterA = ops.embedding(ids, ops.transpose(a, 0, 1));
        return ops.toType(ops.add(baseOut, ops.scale(ops.linear(afterA, b, null), scaling)), baseOut.getDataType());
    }

    /** {@code ΔW = s · T(B·A)} in the stored layout of the base weight (spec 5.4), owned by {@code ops}. */
    public NDArray delta(Ops ops) {
        NDArray ba = ops.scale(ops.matmul(b, a), scaling);
        if (isEmbedding()) {
            return ops.transpose(ba, 0, 1);
        }
        return fanInFanOut ? ops.transpose(ba, 0, 1) : ba;
    }
}
