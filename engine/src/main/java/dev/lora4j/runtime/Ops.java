package dev.lora4j.runtime;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The tensor operations lora4j's models and trainers use, bound to one scope (a step, an evaluation batch).
 *
 * <p>Two DJL pitfalls are made impossible here rather than avoided by care:
 * <ul>
 *   <li>Every result is owned by this scope's manager, whatever the operands: an op on a shared frozen weight can
 *       never leak its result into the weight's long-lived manager.
 *   <li>There is no {@code Number} overload: DJL builds such scalars over a buffer it frees at once while autograd
 *       may still read it in backward (wrong gradients after a GC). Scalars come from {@link #scalar(double)}, which
 *       keeps them alive as long as the scope. A bytecode test forbids {@code NDArray}'s Number methods in the
 *       engine.
 *   <li>Arrays made from Java data are copied into libtorch-owned storage, so nothing autograd saves can point into
 *       a Java buffer that the GC may reclaim.
 * </ul>
 */
public final class Ops implements AutoCloseable {
    private final NDManager manager;
    private final boolean owner;
    private final Map<Double, PtNDArray> scalars = new HashMap<>();
    private final Map<DataType, Map<Double, PtNDArray>> typedScalars = new HashMap<>();

    private Ops(NDManager manager, boolean owner) {
        this.manager = manager;
        this.owner = owner;
    }

    /** A new scope under {@code parent}; closing it frees every tensor made in it. */
    public static Ops scope(NDManager parent) {
        return new Ops(parent.newSubManager(), true);
    }

    /** Ops writing into an existing manager that someone else closes. */
    public static Ops into(NDManager manager) {
        return new Ops(manager, false);
    }

    /** A nested scope: intermediates of one layer, freed when it closes (see {@link #keep}). */
    public Ops child() {
        return new Ops(manager.newSubManager(), true);
    }

    public NDManager manager() {
        return manager;
    }

    /**
     * Moves {@code a} into {@code outer}, so it survives this scope's close. A tensor this scope does not own (an
     * operand handed back unchanged, a parameter) is left where it is.
     */
    public NDArray keep(NDArray a, Ops outer) {
        if (a.getManager() == manager) {
            a.attach(outer.manager);
        }
        return a;
    }

    /**
     * Moves {@code a} into this scope when it belongs to a scope nested in this one (made by a part of the pass that
     * closes earlier), so it lives as long as this scope; anything else is left where it is.
     */
    public NDArray adopt(NDArray a) {
        for (NDManager m = a.getManager(); m != null; m = m.getParentManager()) {
            if (m == manager) {
                a.attach(manager);
                break;
            }
            if (m.getParentManager() == m) {
                break;
            }
        }
        return a;
    }

    @Override
    public void close() {
        if (owner) {
            manager.close();
        }
    }

    private PtNDArray own(PtNDArray a) {
        if (a.getManager() != manager) {
            a.attach(manager);
        }
        return a;
    }

    private static PtNDArray pt(NDArray a) {
        return (PtNDArray) a;
    }

    // ---------------------------------------------------------------- creation

    /** A float32 scalar kept alive as long as this scope (safe to use inside the autograd graph). */
    public NDArray scalar(double v) {
        return scalars.computeIfAbsent(v, k -> owned(manager.create((float) v)));
    }

    /** A scalar of the given dtype (e.g. to scale bf16 activations without upcasting them). */
    public NDArray scalar(double v, DataType type) {
        if (type == DataType.FLOAT32) {
            return scalar(v);
        }
        return typedScalars.computeIfAbsent(type, t -> new HashMap<>())
                .computeIfAbsent(v, k -> own(JniUtils.to(pt(scalar(v)), type, manager.getDevice())));
    }

    private PtNDArray owned(NDArray fromJava) {
        // from_blob aliases the Java buffer: clone into libtorch-owned storage, then drop the alias
        PtNDArray copy = JniUtils.clone(pt(fromJava));
        fromJava.close();
        return own(copy);
    }

    public NDArray floats(float[] data, Shape shape) {
        return owned(manager.create(data, shape));
    }

    /**
     * A float32 tensor whose values {@code fill} writes, in order, from Java (dropout masks). On the CPU it writes
     * straight into the tensor's libtorch-owned storage: no Java array, no staging buffer, no copy. The buffer is a
     * view of that storage, valid only during the call: {@code fill} must not keep it.
     */
    public NDArray floats(Shape shape, Consumer<FloatBuffer> fill) {
        if (shape.size() == 0 || Device.Type.CPU.equals(manager.getDevice().getDeviceType())) {
            PtNDArray out = own(pt(manager.create(shape, DataType.FLOAT32)));
            if (shape.size() > 0) {
                fill.accept(JniUtils.getByteBuffer(out, true).asFloatBuffer());
            }
            return out;
        }
        ByteBuffer staged = ByteBuffer.allocateDirect(Math.toIntExact(shape.size() * Float.BYTES))
                .order(ByteOrder.nativeOrder());
        fill.accept(staged.asFloatBuffer());
        return fromBytes(staged, shape, DataType.FLOAT32);
    }

    public NDArray longs(long[] data, Shape shape) {
        return owned(manager.create(data, shape));
    }

    public NDArray ints(int[] data, Shape shape) {
        return owned(manager.create(data, shape));
    }

    public NDArray booleans(boolean[] data, Shape shape) {
        return owned(manager.create(data, shape));
    }

    /** From little-endian bytes of the given dtype (a mask, a tensor read from a file). */
    public NDArray fromBytes(ByteBuffer data, Shape shape, DataType type) {
        ByteBuffer direct = data.isDirect() ? data : ByteBuffer.allocateDirect(data.remaining())
                .order(ByteOrder.nativeOrder()).put(data.duplicate()).flip();
        return owned(manager.create(direct, shape, type));
    }

    public NDArray zeros(Shape shape, DataType type) {
        return own(pt(manager.zeros(shape, type)));
    }

    public NDArray ones(Shape shape, DataType type) {
        return own(pt(manager.ones(shape, type)));
    }

    /** {@code 0, 1, ..., n-1} as float32. */
    public NDArray arange(int n) {
        return own(pt(manager.arange(0f, (float) n, 1f, DataType.FLOAT32)));
    }

    /** {@code from, from + 1, ..., to - 1} as float32 (exact below 2^24). */
    public NDArray arange(int from, int to) {
        return own(pt(manager.arange((float) from, (float) to, 1f, DataType.FLOAT32)));
    }

    /** A copy owned by this scope, cut from the autograd graph. */
    public NDArray detachedCopy(NDArray a) {
        // each JNI result starts in its operand's manager: own every step, or the clone stays behind in a's
        PtNDArray view = own(JniUtils.detachGradient(pt(a)));
        PtNDArray copy = own(JniUtils.clone(view));
        view.close();
        return copy;
    }

    /** A view of {@code a} cut from the autograd graph (no copy). */
    public NDArray detach(NDArray a) {
        return own(JniUtils.detachGradient(pt(a)));
    }

    public NDArray copy(NDArray a) {
        return own(JniUtils.clone(pt(a)));
    }

    public NDArray toType(NDArray a, DataType type) {
        if (a.getDataType() == type) {
            return a;
        }
        if (type.isFloating() && a.getDataType().isFloating() && JniUtils.isGradMode()) {
            // DJL casts under a NoGradGuard, which silently cuts the graph (an fp16 model would train nothing
            // before the cast); a cumulative product over a new unit axis with an output dtype is the same cast,
            // recorded by autograd. (DJL's requiresGrad reads false even for graph tensors, so grad mode decides.)
            PtNDArray unit = own(JniUtils.unsqueeze(pt(a), -1));
            return own(JniUtils.squeeze(own(JniUtils.cumProd(unit, -1, type)), -1));
        }
        return own(JniUtils.to(pt(a), type, a.getDevice()));
    }

    // ---------------------------------------------------------------- arithmetic

    public NDArray add(NDArray a, NDArray b) {
        return own(JniUtils.add(pt(a), pt(b)));
    }

    public NDArray sub(NDArray a, NDArray b) {
        return own(JniUtils.sub(pt(a), pt(b)));
    }

    public NDArray mul(NDArray a, NDArray b) {
        return own(JniUtils.mul(pt(a), pt(b)));
    }

    public NDArray div(NDArray a, NDArray b) {
        return own(JniUtils.div(pt(a), pt(b)));
    }

    /** {@code a * s} with a scope-lived scalar of a's dtype. */
    public NDArray scale(NDArray a, double s) {
        return mul(a, scalar(s, a.getDataType()));
    }

    public NDArray addScalar(NDArray a, double s) {
        return add(a, scalar(s, a.getDataType()));
    }

    public NDArray neg(NDArray a) {
        return own(JniUtils.neg(pt(a)));
    }

    public NDArray square(NDArray a) {
        return own(JniUtils.square(pt(a)));
    }

    public NDArray sqrt(NDArray a) {
        return own(JniUtils.sqrt(pt(a)));
    }

    /** {@code 1 / sqrt(a)}; DJL's engine has no rsqrt. */
    public NDArray rsqrt(NDArray a) {
        return div(scalar(1.0, a.getDataType()), sqrt(a));
    }

    public NDArray exp(NDArray a) {
        return own(JniUtils.exp(pt(a)));
    }

    public NDArray log(NDArray a) {
        return own(JniUtils.log(pt(a)));
    }

    public NDArray abs(NDArray a) {
        return own(JniUtils.abs(pt(a)));
    }

    public NDArray maximum(NDArray a, NDArray b) {
        return own(JniUtils.max(pt(a), pt(b)));
    }

    public NDArray sigmoid(NDArray a) {
        return own(JniUtils.sigmoid(pt(a)));
    }

    public NDArray tanh(NDArray a) {
        return own(JniUtils.tanh(pt(a)));
    }

    /** {@code x * sigmoid(x)}; DJL's engine has no silu. */
    public NDArray silu(NDArray a) {
        return mul(a, sigmoid(a));
    }

    /** The exact (erf) GELU, as BERT's {@code hidden_act: gelu}. */
    public NDArray gelu(NDArray a) {
        return own(JniUtils.gelu(pt(a)));
    }

    /** The tanh approximation ({@code gelu_new}, {@code gelu_pytorch_tanh}). */
    public NDArray geluTanh(NDArray a) {
        // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        NDArray inner = scale(add(a, scale(mul(square(a), a), 0.044715)), Math.sqrt(2.0 / Math.PI));
        return mul(scale(a, 0.5), addScalar(tanh(inner), 1.0));
    }

    public NDArray relu(NDArray a) {
        return own(JniUtils.relu(pt(a)));
    }

    // ---------------------------------------------------------------- reductions

    public NDArray sum(NDArray a) {
        return own(JniUtils.sum(pt(a)));
    }

    public NDArray sum(NDArray a, int axis, boolean keep) {
        return own(JniUtils.sum(pt(a), new long[] {axis}, keep));
    }

    public NDArray mean(NDArray a) {
        return own(JniUtils.mean(pt(a)));
    }

    public NDArray mean(NDArray a, int axis, boolean keep) {
        return own(JniUtils.mean(pt(a), axis, keep));
    }

    public NDArray max(NDArray a, int axis, boolean keep) {
        return own(JniUtils.max(pt(a), axis, keep));
    }

    /**
     * What non-finite value {@code a} holds: "NaN", "infinite values" or null when every element is finite. Two
     * full reductions (max and min propagate NaN and reach +-inf), so no temporary the size of {@code a} is made:
     * cheap enough to run on every base weight as it loads.
     */
    public String nonFinite(NDArray a) {
        if (!a.getDataType().isFloating() || a.size() == 0) {
            return null;
        }
        float max = toType(own(JniUtils.max(pt(a))), DataType.FLOAT32).toFloatArray()[0];
        float min = toType(own(JniUtils.min(pt(a))), DataType.FLOAT32).toFloatArray()[0];
        if (Float.isNaN(max) || Float.isNaN(min)) {
            return "NaN";
        }
        return Float.isInfinite(max) || Float.isInfinite(min) ? "infinite values" : null;
    }

    public NDArray argMax(NDArray a, int axis) {
        return own(JniUtils.argMax(pt(a), axis, false));
    }

    /** Euclidean norm of each row of a 2-D array (over the last axis), shape {@code (rows,)}. */
    public NDArray rowNorm(NDArray a) {
        return sqrt(sum(square(a), -1, false));
    }

    // ---------------------------------------------------------------- shapes

    public NDArray reshape(NDArray a, long... shape) {
        return own(JniUtils.reshape(pt(a), shape));
    }

    public NDArray transpose(NDArray a, int d0, int d1) {
        return own(JniUtils.transpose(pt(a), d0, d1));
    }

    public NDArray permute(NDArray a, long... dims) {
        return own(JniUtils.permute(pt(a), dims));
    }

    /** Makes the storage contiguous (after a transpose, before a reshape that needs it). */
    public NDArray contiguous(NDArray a) {
        return own(JniUtils.clone(pt(a)));
    }

    public NDArray unsqueeze(NDArray a, int dim) {
        return own(JniUtils.unsqueeze(pt(a), dim));
    }

    public NDArray squeeze(NDArray a, int dim) {
        return own(JniUtils.squeeze(pt(a), dim));
    }

    public NDArray concat(NDList parts, int axis) {
        PtNDArray[] arr = parts.stream().map(Ops::pt).toArray(PtNDArray[]::new);
        return own(JniUtils.cat(arr, axis));
    }

    public NDArray concat(NDArray a, NDArray b, int axis) {
        return own(JniUtils.cat(new PtNDArray[] {pt(a), pt(b)}, axis));
    }

    public NDArray stack(NDList parts, int axis) {
        PtNDArray[] arr = parts.stream().map(Ops::pt).toArray(PtNDArray[]::new);
        return own(JniUtils.stack(arr, axis));
    }

    /** {@code a[..., start:stop]} along {@code axis} (a view). */
    public NDArray slice(NDArray a, int axis, long start, long stop) {
        int ax = axis < 0 ? axis + a.getShape().dimension() : axis;
        return own(JniUtils.slice(pt(a), ax, start, stop, 1));
    }

    /** Each of {@code repeats} copies of every entry along {@code axis}, adjacent (grouped-query attention). */
    public NDArray repeatInterleave(NDArray a, long repeats, int axis) {
        return own(JniUtils.repeat(pt(a), repeats, axis));
    }

    public NDArray broadcast(NDArray a, Shape shape) {
        return own(JniUtils.broadcast(pt(a), shape));
    }

    // ---------------------------------------------------------------- nn

    /** {@code x · wᵀ + b} (b may be null). */
    public NDArray linear(NDArray x, NDArray w, NDArray b) {
        return own(JniUtils.linear(pt(x), pt(w), b == null ? null : pt(b)));
    }

    public NDArray matmul(NDArray a, NDArray b) {
        return own(JniUtils.matmul(pt(a), pt(b)));
    }

    /** Rows of {@code table} picked by integer {@code ids}. */
    public NDArray embedding(NDArray ids, NDArray table) {
        return own(JniUtils.embedding(pt(ids), pt(table), false));
    }

    public NDArray softmax(NDArray a, int axis) {
        return own(JniUtils.softmax(pt(a), axis, a.getDataType()));
    }

    public NDArray logSoftmax(NDArray a, int axis) {
        return own(JniUtils.logSoftmax(pt(a), axis, a.getDataType()));
    }

    public NDArray layerNorm(NDArray x, NDArray gamma, NDArray beta, double eps) {
        long last = x.getShape().get(x.getShape().dimension() - 1);
        return own(JniUtils.layerNorm(pt(x), new Shape(last), pt(gamma), pt(beta), eps));
    }

    /** {@code a[idx]} along {@code axis}, index an int64 array of the same rank. */
    public NDArray gather(NDArray a, NDArray index, int axis) {
        return own(JniUtils.gather(pt(a), pt(index), axis));
    }

    public NDArray where(NDArray condition, NDArray a, NDArray b) {
        return own(JniUtils.where(pt(condition), pt(a), pt(b)));
    }

    /** {@code a > b} elementwise (broadcasting), as a boolean array. */
    public NDArray gt(NDArray a, NDArray b) {
        return own(JniUtils.gt(pt(a), pt(b)));
    }

    /** {@code a || b} elementwise (broadcasting) on boolean arrays. */
    public NDArray or(NDArray a, NDArray b) {
        return own(JniUtils.logicalOr(pt(a), pt(b)));
    }

    public NDArray eq(NDArray a, NDArray b) {
        return own(JniUtils.eq(pt(a), pt(b)));
    }

    public NDArray neq(NDArray a, NDArray b) {
        return own(JniUtils.neq(pt(a), pt(b)));
    }

    /** Running sums along {@code dim}. */
    public NDArray cumSum(NDArray a, int dim) {
        return own(JniUtils.cumSum(pt(a), dim));
    }

    /** {@code labels != -100} as a boolean array. */
    public NDArray isNotIgnored(NDArray labels) {
        return own(JniUtils.neq(pt(labels), pt(toType(scalar(-100), labels.getDataType()))));
    }

    public NDArray isFinite(NDArray a) {
        PtNDArray bad = own(JniUtils.logicalOr(own(JniUtils.isNaN(pt(a))), own(JniUtils.isInf(pt(a)))));
        return own(JniUtils.logicalNot(bad));
    }

    /** Uniform(lo, hi) from libtorch's global generator (only for seeded, single-threaded initialisation). */
    public NDArray uniform(double lo, double hi, Shape shape) {
        return own(pt(manager.randomUniform((float) lo, (float) hi, shape)));
    }

    public NDArray normal(double mean, double std, Shape shape) {
        return own(pt(manager.randomNormal((float) mean, (float) std, shape, DataType.FLOAT32)));
    }

    // ---------------------------------------------------------------- autograd

    /** Runs backward from a scalar loss on the calling thread (no JVM-wide GradientCollector). */
    public void backward(NDArray loss) {
        JniUtils.backward(pt(loss), pt(ones(new Shape(), loss.getDataType())), false, false);
    }

    /**
     * Back-propagates {@code gradient} (shaped as {@code out}) from {@code out} through the graph that made it,
     * accumulating into the leaves' gradients: PyTorch's {@code out.backward(gradient)}. On a leaf it only adds
     * {@code gradient} to the leaf's own.
     */
    public void backward(NDArray out, NDArray gradient) {
        JniUtils.backward(pt(out), pt(gradient), false, false);
    }

    /**
     * A view of {@code a}'s values cut from the graph that made it and starting a graph of its own: a leaf whose
     * gradient backward accumulates (PyTorch's {@code a.detach().requires_grad_()}).
     */
    public NDArray leaf(NDArray a) {
        PtNDArray view = own(JniUtils.detachGradient(pt(a)));
        JniUtils.attachGradient(view, true);
        return view;
    }

    /** The gradient of a leaf, owned by this scope (DJL makes a new handle per call), or null if none. */
    public NDArray grad(NDArray leaf) {
        PtNDArray g = JniUtils.getGradient(pt(leaf));
        return g == null ? null : own(g);
    }

    /** Resets a leaf's accumulated gradient to zero (after an optimizer step). */
    public static void zeroGrad(NDArray leaf) {
        JniUtils.zeroGrad(pt(leaf));
    }

    // ---------------------------------------------------------------- in place (parameters, optimizer state)

    /** {@code target += a} in place. */
    public static void addInPlace(NDArray target, NDArray a) {
        JniUtils.addi(pt(target), pt(a));
    }

    public static void subInPlace(NDArray target, NDArray a) {
        JniUtils.subi(pt(target), pt(a));
    }

    public static void mulInPlace(NDArray target, NDArray a) {
        JniUtils.muli(pt(target), pt(a));
    }

    /**
     * Overwrites {@code target}'s values with {@code src}'s (same shape and dtype), copying into target's own
     * storage. (DJL's {@code set(Buffer)} instead points the tensor at the Java buffer, which the GC later frees: a
     * restored parameter would then read freed memory. A bytecode test bans it.)
     */
    public static void assign(NDArray target, NDArray src) {
        if (!target.getShape().equals(src.getShape()) || target.getDataType() != src.getDataType()) {
            throw new IllegalArgumentException("assign " + src.getShape() + " " + src.getDataType() + " to "
                    + target.getShape() + " " + target.getDataType());
        }
        long[] dims = target.getShape().getShape();
        if (dims.length == 0) {
            try (NDArray flat = src.reshape(1); NDArray view = target.reshape(1)) {
                assign(view, flat);
            }
            return;
        }
        long[] from = new long[dims.length];
        long[] step = new long[dims.length];
        java.util.Arrays.fill(step, 1);
        // a full-slice index_put_ is tensor[...] = src: a copy into the existing storage
        JniUtils.indexSet(pt(target), pt(src), from, dims.clone(), step);
    }
}
