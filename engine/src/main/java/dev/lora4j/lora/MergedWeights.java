package dev.lora4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.lora4j.model.BaseModel;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.runtime.Ops;
import dev.lora4j.runtime.Torch;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A private, writable copy of a base model's weights with one adapter merged in or out (spec 5.4): PEFT's
 * {@code merge_adapter}/{@code unmerge_adapter}/{@code merge_and_unload}, without ever writing to the shared base.
 * The copy starts as the weights the trial sees (residuals of base-rewriting inits, trained biases and
 * {@code modules_to_save} copies applied), so merging gives exactly the adapted model.
 */
public final class MergedWeights implements AutoCloseable {
    private final Adapter adapter;
    private final NDManager manager;
    private final Map<String, NDArray> weights = new LinkedHashMap<>();
    private final Map<String, NDArray> doraNorms = new HashMap<>();
    private boolean merged;
    private boolean untied;

    private MergedWeights(Adapter adapter) {
        this.adapter = adapter;
        BaseModel base = adapter.base();
        this.manager = Torch.newManager(base.device());
        try (GradMode g = GradMode.off()) {
            Ops keep = Ops.into(manager);
            for (Map.Entry<String, NDArray> w : base.weights().entrySet()) {
                NDArray own = adapter.overrides().get(w.getKey());
                NDArray copy = keep.detachedCopy(own != null ? own : w.getValue());
                copy.setName(w.getKey());
                weights.put(w.getKey(), copy);
            }
            // tied weights the trial gave different tensors (a tied lm_head or embed_tokens in modules_to_save,
            // without ensure_weight_tying) are two weights now, as after PEFT's merge_and_unload
            for (Map.Entry<String, String> a : base.architecture().aliases().entrySet()) {
                NDArray own = adapter.overrides().get(a.getKey());
                if (own != adapter.overrides().get(a.getValue())) {
                    NDArray copy = keep.detachedCopy(own != null ? own : base.weight(a.getValue()));
                    copy.setName(a.getKey());
                    weights.put(a.getKey(), copy);
                    untied = true;
                }
            }
        }
    }

    /** The adapted model's weights, not yet merged. */
    public static MergedWeights of(Adapter adapter) {
        return new MergedWeights(adapter);
    }

    /** Merges the adapter; {@code safe} checks every merged weight is finite before changing anything. */
    public MergedWeights merge(boolean safe) {
        if (merged) {
            throw new IllegalStateException("All adapters are already merged, nothing to do.");
        }
        try (GradMode g = GradMode.off(); Ops ops = Ops.scope(manager)) {
            Map<String, NDArray> updated = new LinkedHashMap<>();
            Map<String, NDArray> updatedBias = new LinkedHashMap<>();
            Ops keep = Ops.into(manager);
            for (LoraLayer l : adapter.layers().values()) {
                String name = l.module().weightName();
                if (!weights.containsKey(name)) {
                    // a tied lm_head gets its own weight: merging into the shared table would change the embeddings
                    NDArray own = keep.detachedCopy(weights.get(adapter.base().weightNameOf(l.module())));
                    own.setName(name);
                    weights.put(name, own);
                    untied = true;
                }
                NDArray w = weights.get(name);
                NDArray delta = ops.toType(l.delta(ops), DataType.FLOAT32);
                NDArray wf = ops.toType(w, DataType.FLOAT32);
                NDArray next;
                if (l.isDora()) {
                    NDArray sum = ops.add(wf, delta);
                    NDArray rows = l.fanInFanOut() ? ops.transpose(sum, 0, 1) : sum;
                    NDArray norm = ops.rowNorm(rows);
                    doraNorms.put(l.key(), keep.detachedCopy(norm));
                    NDArray factor = ops.div(ops.toType(l.magnitude(), DataType.FLOAT32), norm);
                    next = l.fanInFanOut() ? ops.mul(sum, factor) : ops.mul(sum, ops.unsqueeze(factor, 1));
                } else {
                    next = ops.add(wf, delta);
                }
                updated.put(name, next);
                if (l.bBias() != null) {
                    String biasName = l.module().biasName();
                    NDArray b = weights.get(biasName);
                    if (b == null) {
                        throw new LoraException("Impossible to merge LoRA with `lora_bias=True` because the base"
                                + " layer has no bias.");
                    }
                    updatedBias.put(biasName, ops.add(ops.toType(b, DataType.FLOAT32),
                            ops.scale(ops.toType(l.bBias(), DataType.FLOAT32), l.scaling())));
                }
            }
            if (safe) {
                for (NDArray n : updated.values()) {
                    if (!n.isInfinite().logicalOr(n.isNaN()).none().getBoolean()) {
                        throw new LoraException("NaNs detected in the merged weights. The adapter default seems to"
                                + " be broken");
                    }
                }
            }
            replace(updated, ops, keep);
            replace(updatedBias, ops, keep);
            merged = true;
        }
        return this;
    }

    /** Subtracts the adapter again (DoRA uses the norms cached at merge time, as PEFT does). */
    public MergedWeights unmerge() {
        if (!merged) {
            throw new IllegalStateException("Already unmerged. Nothing to do.");
        }
        try (GradMode g = GradMode.off(); Ops ops = Ops.scope(manager)) {
            Map<String, NDArray> updated = new LinkedHashMap<>();
            Map<String, NDArray> updatedBias = new LinkedHashMap<>();
            List<LoraLayer> reversed = new ArrayList<>(adapter.layers().values());
            Collections.reverse(reversed);
            for (LoraLayer l : reversed) {
                String name = l.module().weightName();
                NDArray wf = ops.toType(weights.get(name), DataType.FLOAT32);
                NDArray delta = ops.toType(l.delta(ops), DataType.FLOAT32);
                if (l.isDora()) {
                    NDArray factor = ops.div(ops.toType(l.magnitude(), DataType.FLOAT32), doraNorms.get(l.key()));
                    NDArray unscaled = l.fanInFanOut() ? ops.div(wf, factor) : ops.div(wf, ops.unsqueeze(factor, 1));
                    updated.put(name, ops.sub(unscaled, delta));
                } else {
                    updated.put(name, ops.sub(wf, delta));
                }
                if (l.bBias() != null) {
                    String biasName = l.module().biasName();
                    updatedBias.put(biasName, ops.sub(ops.toType(weights.get(biasName), DataType.FLOAT32),
                            ops.scale(ops.toType(l.bBias(), DataType.FLOAT32), l.scaling())));
                }
            }
            Ops keep = Ops.into(manager);
            replace(updated, ops, keep);
            replace(updatedBias, ops, keep);
            merged = false;
        }
        return this;
    }

    private void replace(Map<String, NDArray> updated, Ops ops, Ops keep) {
        for (Map.Entry<String, NDArray> e : updated.entrySet()) {
            NDArray old = weights.get(e.getKey());
            // cast in the merge's scope: a cast in keep would leave a second copy per weight per merge/unmerge
            NDArray next = keep.detachedCopy(ops.toType(e.getValue(), old.getDataType()));
            next.setName(e.getKey());
            weights.put(e.getKey(), next);
            old.close();
        }
    }

    public boolean merged() {
        return merged;
    }

    /** Whether a tied output layer had to get its own weight (the saved config then says it is not tied). */
    public boolean untied() {
        return untied;
    }

    /** The weights by base parameter name (a tied alias is one entry). */
    public Map<String, NDArray> weights() {
        return Collections.unmodifiableMap(weights);
    }

    /** A base model over these weights (for evaluating the merged model); it shares this object's tensors. */
    public BaseModel asBaseModel() {
        NDManager view = manager.newSubManager();
        Map<String, NDArray> w = new LinkedHashMap<>(weights);
        return BaseModel.of(adapter.base().config(), adapter.base().architecture(), view, w);
    }

    @Override
    public void close() {
        manager.close();
    }
}
