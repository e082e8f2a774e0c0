package dev.lora4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.lora4j.lora.Parameter;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.runtime.Ops;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * PyTorch's {@code torch.optim.AdamW} (decoupled weight decay, bias correction, eps outside the square root), over
 * the trainable parameters only, with its moments in the trial's own manager (DJL's optimizers never free theirs).
 * Weight decay skips biases, as Hugging Face's Trainer does.
 */
public final class AdamW implements AutoCloseable {
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final NDManager manager;
    private final Map<String, NDArray> exp = new LinkedHashMap<>();
    private final Map<String, NDArray> expSq = new LinkedHashMap<>();
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

    /** Applies one update with learning rate {@code lr}; {@code grads} are already scaled (clipped, averaged). */
    public void update(List<Parameter> params, Map<String, NDArray> grads, double lr) {
        step++;
        double bc1 = 1 - Math.pow(beta1, step);
        double bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
        double stepSize = lr / bc1;
        try (GradMode g = GradMode.off(); Ops ops = Ops.scope(manager)) {
            for (Parameter p : params) {
                NDArray grad = grads.get(p.name());
                if (grad == null) {
                    continue;
                }
                NDArray w = p.tensor();
                NDArray m = exp.computeIfAbsent(p.name(), k -> zerosLike(w));
                NDArray v = expSq.computeIfAbsent(p.name(), k -> zerosLike(w));
                if (weightDecay != 0 && !p.name().contains("bias")) {
                    Ops.mulInPlace(w, ops.scalar(1 - lr * weightDecay, w.getDataType()));
                }
                Ops.mulInPlace(m, ops.scalar(beta1, m.getDataType()));
                Ops.addInPlace(m, ops.scale(grad, 1 - beta1));
                Ops.mulInPlace(v, ops.scalar(beta2, v.getDataType()));
                Ops.addInPlace(v, ops.scale(ops.mul(grad, grad), 1 - beta2));
                NDArray denom = ops.addScalar(ops.div(ops.sqrt(v), ops.scalar(bc2Sqrt, v.getDataType())), eps);
                Ops.subInPlace(w, ops.scale(ops.div(m, denom), stepSize));
            }
        }
    }

    private NDArray zerosLike(NDArray w) {
        return Ops.into(manager).zeros(w.getShape(), w.getDataType());
    }

    /** First moments by parameter name (for checkpoints). */
    public Map<String, NDArray> firstMoments() {
        return exp;
    }

    /** Second moments by parameter name (for checkpoints). */
    public Map<String, NDArray> secondMoments() {
        return expSq;
    }

    /** Restores moments and the step count saved by a checkpoint. */
    public void restore(long steps, Map<String, float[]> first, Map<String, float[]> second,
            Map<String, long[]> shapes) {
        Ops keep = Ops.into(manager);
        exp.values().forEach(NDArray::close);
        expSq.values().forEach(NDArray::close);
        exp.clear();
        expSq.clear();
        for (Map.Entry<String, float[]> e : first.entrySet()) {
            exp.put(e.getKey(), keep.floats(e.getValue(), new ai.djl.ndarray.types.Shape(shapes.get(e.getKey()))));
        }
        for (Map.Entry<String, float[]> e : second.entrySet()) {
            expSq.put(e.getKey(), keep.floats(e.getValue(), new ai.djl.ndarray.types.Shape(shapes.get(e.getKey()))));
        }
        this.step = steps;
    }

    @Override
    public void close() {
        manager.close();
    }
}
