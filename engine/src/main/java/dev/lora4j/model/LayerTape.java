package dev.lora4j.model;

import ai.djl.ndarray.NDArray;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.runtime.Ops;
import java.util.ArrayList;
import java.util.List;

/**
 * The backward pass of one training pass, taken layer by layer: gradient checkpointing and attention cuts for every
 * architecture, written once.
 *
 * <p>An architecture runs each decoder or encoder layer through {@link Forward#layer}. With a tape, each layer is a
 * segment of its own graph: its input is a leaf, and what it returns is a leaf the next layer (or the head) builds on.
 * {@link #backward} first back-propagates the loss through the head into the last layer's output leaf, then walks
 * the layers from the last to the first: the gradient of a layer's output leaf is back-propagated through the layer
 * ({@code out.backward(grad)}), its attention cuts are back-propagated ({@link Attention.Cut#backward}), and the
 * gradient that arrives at its input is the previous layer's output gradient. DJL has no custom autograd functions;
 * this is the same chain rule, applied by hand at the layer boundaries.
 *
 * <ul>
 *   <li><b>Recomputing</b> ({@code gradient_checkpointing}): a layer's forward pass runs without a graph and keeps
 *       only its output; in backward the layer is run again from its input with a graph, with the dropout stream
 *       positioned where the first run started ({@link Dropout#at}), so it redraws exactly the same masks, and
 *       back-propagated at once. One layer's activations are alive at a time.
 *   <li><b>Keeping</b> (long sequences without checkpointing): each layer keeps its graph, as without a tape; the
 *       tape exists for the attention cuts, whose backward must run between the layer's and the previous layer's.
 * </ul>
 *
 * The gradients are those of one backward pass through the whole graph, up to the order in which floating-point
 * contributions are summed.
 */
public final class LayerTape {
    private final Ops ops;
    private final boolean recompute;
    private final List<Segment> segments = new ArrayList<>();
    private Segment current;
    private boolean prologueInGraph;

    /** One layer: what it was given, how to run it again, and what it returned. */
    private static final class Segment {
        final NDArray input;
        final boolean inputIsLeaf;
        final Forward.Layer layer;
        final Forward forward;
        final int dropoutAt;
        final List<Attention.Cut> cuts = new ArrayList<>();
        Ops scope;
        NDArray inputLeaf;
        NDArray output;
        NDArray outputLeaf;

        Segment(NDArray input, boolean inputIsLeaf, Forward.Layer layer, Forward forward, int dropoutAt) {
            this.input = input;
            this.inputIsLeaf = inputIsLeaf;
            this.layer = layer;
            this.forward = forward;
            this.dropoutAt = dropoutAt;
        }
    }

    private LayerTape(Ops ops, boolean recompute) {
        this.ops = ops;
        this.recompute = recompute;
    }

    /** Gradient checkpointing: layers recomputed in backward. {@code ops} must outlive {@link #backward}. */
    public static LayerTape recomputing(Ops ops) {
        return new LayerTape(ops, true);
    }

    /** Layers keep their graphs; only attention cuts are taken apart. */
    public static LayerTape keeping(Ops ops) {
        return new LayerTape(ops, false);
    }

    /** Whether a layer is running with a graph now (an attention cut belongs to it). */
    boolean inLayer() {
        return current != null;
    }

    void cut(Attention.Cut cut) {
        current.cuts.add(cut);
    }

    /** The scope of the layer running now: what a cut keeps for backward lives there. */
    Ops layerScope() {
        return current.scope;
    }

    /** Runs {@code layer} on {@code x} as the next segment (see {@link Forward#layer}). */
    NDArray layer(Forward f, NDArray x, Forward.Layer layer) {
        if (segments.isEmpty()) {
            // the input is in the graph only if something trainable made it (an adapted embedding)
            prologueInGraph = f.adaptedSoFar() > 0;
        }
        boolean leafInput = !segments.isEmpty() && segments.get(segments.size() - 1).outputLeaf == x;
        Segment s = new Segment(x, leafInput, layer, f, f.dropoutState() == null ? 0 : f.dropoutState().position());
        if (recompute) {
            NDArray out;
            try (GradMode g = GradMode.off(); Ops lo = ops.child()) {
                out = lo.keep(layer.apply(f.withOps(lo), x), ops);
            }
            s.outputLeaf = ops.leaf(out);
        } else {
            s.scope = ops.child();
            s.inputLeaf = leafInput ? x : s.scope.leaf(x);
            current = s;
            try {
                s.output = layer.apply(f.withOps(s.scope), s.inputLeaf);
            } finally {
                current = null;
            }
            s.outputLeaf = ops.leaf(s.output);
        }
        segments.add(s);
        return s.outputLeaf;
    }

    /**
     * Back-propagates {@code loss} (a scalar, already scaled for fp16) through the whole pass: the head, then every
     * layer from the last, then what came before the first. The trainable tensors' gradients accumulate as one
     * {@code loss.backward()} would make them.
     */
    public void backward(NDArray loss) {
        try (GradMode g = GradMode.on()) {
            ops.backward(loss);
            for (int i = segments.size() - 1; i >= 0; i--) {
                Segment s = segments.get(i);
                try {
                    backward(s, i == 0);
                } finally {
                    if (s.scope != null) {
                        s.scope.close();
                    }
                    s.outputLeaf.close();
                }
            }
        }
    }

    private void backward(Segment s, boolean first) {
        Ops lo = s.scope != null ? s.scope : ops.child();
        s.scope = lo;
        NDArray grad = lo.grad(s.outputLeaf);
        if (grad == null) {
            return; // nothing after this layer used it
        }
        NDArray out = s.output;
        NDArray in = s.inputLeaf;
        if (recompute) {
            in = s.inputIsLeaf ? s.input : lo.leaf(s.input);
            Forward f = s.forward.withOps(lo);
            if (f.dropoutState() != null) {
                f = f.withDropout(f.dropoutState().at(s.dropoutAt));
            }
            current = s;
            try {
                out = s.layer.apply(f, in);
            } finally {
                current = null;
            }
        }
        lo.backward(out, grad);
        for (int c = s.cuts.size() - 1; c >= 0; c--) {
            s.cuts.get(c).backward(lo);
        }
        // the first layer's input came from the embeddings: in the graph only if something trainable made it; a
        // later layer's input that is not the previous layer's output leaf was made from that leaf
        if (!s.inputIsLeaf && (!first || prologueInGraph)) {
            NDArray inGrad = lo.grad(in);
            if (inGrad != null) {
                lo.backward(s.input, inGrad);
            }
        }
    }
}
