package dev.lora4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.lora4j.lora.Parameter;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.runtime.Ops;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * PyTorch's {@code torch.optim.AdamW} (decoupled weight decay, bias correction, eps outside the square root), over
 * the trainable parameters only, with its moments in the trial's own manager (DJL's optimizers never free theirs).
 * Weight decay skips biases, as Hugging Face's Trainer does.
 *
 * <p>The moments of all parameters live end to end in two flat tensors, and the update runs on the flat gradient
 * ({@link #flatten}): a dozen libtorch calls per step plus two per parameter, instead of about fifteen per parameter
 * (LoRA has dozens of small tensors, so the per-call cost dominated the update). Every element sees the same
 * arithmetic as a per-tensor update.
 */
public final class AdamW implements AutoCloseable {
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final NDManager manager;
    private NDArray flatExp;
    private NDArray flatExpSq;
    private Map<String, NDArray> exp = Map.of();
    private Map<String, NDArray> expSq = Map.of();
    private long step;

    public AdamW(NDManager parent, double beta1, double beta2, double eps, double weightDecay) {
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.manager = parent.newSubManager();
    }

    /** Optimizer steps taken so far. */
    public long step() {
        return step;
    }

    /**
     * The gradients of {@code params} end to end in one 1-D tensor (zeros where {@code grads} has null), in
     * {@code params} order: what {@link #update} takes, and what the global norm and clipping need.
     */
    public static NDArray flatten(Ops ops, List<Parameter> params, List<NDArray> grads) {
        NDList parts = new NDList(params.size());
        for (int i = 0; i < params.size(); i++) {
            NDArray g = grads.get(i);
            parts.add(g == null ? ops.zeros(new Shape(params.get(i).size()), params.get(i).tensor().getDataType())
                    : ops.reshape(g, -1));
        }
        return parts.isEmpty() ? ops.zeros(new Shape(0), DataType.FLOAT32) : ops.concat(parts, 0);
    }

    /**
     * Applies one update with learning rate {@code lr}. {@code flatGrad} is {@link #flatten} of {@code grads},
     * already scaled (clipped, averaged); a parameter whose entry in {@code grads} is null is left as it is, as
     * PyTorch skips a parameter without a gradient (its moments stay zero).
     */
    public void update(List<Parameter> params, List<NDArray> grads, NDArray flatGrad, double lr) {
        step++;
        double bc1 = 1 - Math.pow(beta1, step);
        double bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
        double stepSize = lr / bc1;
        if (flatExp == null) {
            allocate(params, null, null, flatGrad.getDataType());
        }
        try (GradMode g = GradMode.off(); Ops ops = Ops.scope(manager)) {
            DataType type = flatExp.getDataType();
            Ops.mulInPlace(flatExp, ops.scalar(beta1, type));
            Ops.addInPlace(flatExp, ops.scale(flatGrad, 1 - beta1));
            Ops.mulInPlace(flatExpSq, ops.scalar(beta2, type));
            Ops.addInPlace(flatExpSq, ops.scale(ops.mul(flatGrad, flatGrad), 1 - beta2));
            NDArray denom = ops.addScalar(ops.div(ops.sqrt(flatExpSq), ops.scalar(bc2Sqrt, type)), eps);
            NDArray delta = ops.scale(ops.div(flatExp, denom), stepSize);
            long offset = 0;
            for (int i = 0; i < params.size(); i++) {
                Parameter p = params.get(i);
                long n = p.size();
                if (grads.get(i) != null) {
                    NDArray w = p.tensor();
                    if (weightDecay != 0 && !p.name().contains("bias")) {
                        Ops.mulInPlace(w, ops.scalar(1 - lr * weightDecay, w.getDataType()));
                    }
                    Ops.subInPlace(w, ops.reshape(ops.slice(delta, 0, offset, offset + n), shapeOf(p)));
                }
                offset += n;
            }
        }
    }

    /** Zeroed (or restored) flat moments for {@code params}, and per-parameter views of them for checkpoints. */
    private void allocate(List<Parameter> params, Map<String, float[]> first, Map<String, float[]> second,
            DataType type) {
        release();
        Ops keep = Ops.into(manager);
        long total = params.stream().mapToLong(Parameter::size).sum();
        if (first == null) {
            flatExp = keep.zeros(new Shape(total), type);
            flatExpSq = keep.zeros(new Shape(total), type);
        } else {
            flatExp = keep.floats(concat(params, first, total), new Shape(total));
            flatExpSq = keep.floats(concat(params, second, total), new Shape(total));
        }
        Map<String, NDArray> firsts = new LinkedHashMap<>();
        Map<String, NDArray> seconds = new LinkedHashMap<>();
        long offset = 0;
        for (Parameter p : params) {
            long n = p.size();
            firsts.put(p.name(), keep.reshape(keep.slice(flatExp, 0, offset, offset + n), shapeOf(p)));
            seconds.put(p.name(), keep.reshape(keep.slice(flatExpSq, 0, offset, offset + n), shapeOf(p)));
            offset += n;
        }
        exp = Collections.unmodifiableMap(firsts);
        expSq = Collections.unmodifiableMap(seconds);
    }

    private static float[] concat(List<Parameter> params, Map<String, float[]> byName, long total) {
        float[] flat = new float[Math.toIntExact(total)];
        int offset = 0;
        for (Parameter p : params) {
            float[] v = byName.get(p.name());
            if (v != null) {
                if (v.length != p.size()) {
                    throw new IllegalArgumentException("optimizer state for " + p.name() + " has " + v.length
                            + " values, the parameter has " + p.size());
                }
                System.arraycopy(v, 0, flat, offset, v.length);
            }
            offset += Math.toIntExact(p.size());
        }
        return flat;
    }

    private static long[] shapeOf(Parameter p) {
        return p.tensor().getShape().getShape();
    }

    private void release() {
        exp.values().forEach(NDArray::close);
        expSq.values().forEach(NDArray::close);
        if (flatExp != null) {
            flatExp.close();
            flatExpSq.close();
        }
    }

    /** First moments by parameter name (views of the flat state, for checkpoints); empty before the first step. */
    public Map<String, NDArray> firstMoments() {
        return exp;
    }

    /** Second moments by parameter name (for checkpoints). */
    public Map<String, NDArray> secondMoments() {
        return expSq;
    }

    /** Restores moments (by parameter name; missing ones start at zero) and the step count a checkpoint saved. */
    public void restore(List<Parameter> params, long steps, Map<String, float[]> first, Map<String, float[]> second) {
        allocate(params, first, second, DataType.FLOAT32);
        this.step = steps;
    }

    @Override
    public void close() {
        manager.close();
    }
}
