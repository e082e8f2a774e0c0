package dev.lora4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.runtime.Ops;
import java.util.ArrayList;
import java.util.List;

/**
 * Scaled dot-product attention, {@code dropout(softmax(q kᵀ · scale + mask)) v}, over the whole score matrix or in
 * blocks of queries.
 *
 * <p>In blocks, each block of {@link Policy#block()} queries computes its scores against the keys it can see
 * (a causal block skips the keys after its last query), so the largest scores held are
 * {@code batch x heads x block x length}, not {@code length x length}. Each block's rows are the same function as the
 * whole matrix's rows: the same dot products, the same full-row softmax, the same dropout mask (drawn block by block
 * from the same stream, see {@link Dropout#applyRows}).
 *
 * <p>Under autograd, blocks alone would still keep every block's probabilities for backward. So in a training pass
 * with a {@link LayerTape}, attention is a cut in the graph: q, k and v become leaves, the blocks run without a
 * graph, and the output is a leaf the rest of the layer builds on. When the tape back-propagates the layer, it
 * reaches the output leaf's gradient first; then each block is recomputed with a graph and back-propagated at once
 * (one block's probabilities alive at a time), the leaves' gradients summed, and those handed to the graph that made
 * q, k and v (see {@link Cut#backward}).
 */
public final class Attention {
    /**
     * What the attention computes besides q, k and v.
     *
     * @param scale       multiplies the scores ({@code 1 / sqrt(head_dim)})
     * @param softmaxFp32 softmax in float32 and the probabilities cast back (Llama), else in the scores' type (BERT)
     * @param dropout     dropout on the probabilities in training (BERT's {@code attention_probs_dropout_prob})
     * @param softcap     when {@code > 0}, the scaled scores become {@code tanh(scores / softcap) * softcap} before
     *                    the mask is added (Gemma 2's {@code attn_logit_softcapping}); 0 leaves them as they are
     */
    public record Spec(double scale, boolean softmaxFp32, double dropout, double softcap) {
        public Spec {
            if (!(softcap >= 0)) {
                throw new IllegalArgumentException("attention soft-capping " + softcap + " must be >= 0");
            }
        }

        /** Without soft-capping. */
        public Spec(double scale, boolean softmaxFp32, double dropout) {
            this(scale, softmaxFp32, dropout, 0);
        }
    }

    /**
     * When attention runs in query blocks: with gradient checkpointing always (a recomputed layer would otherwise
     * hold its whole score matrix in backward), and for sequences longer than {@code longSequence} tokens (training
     * and evaluation), where the score matrices dominate memory. Shorter sequences without checkpointing use the
     * whole matrix, which is faster there.
     *
     * @param block        queries per block
     * @param longSequence the longest sequence computed whole without checkpointing
     */
    public record Policy(int block, int longSequence) {
        /** Blocks of 256 queries; whole matrices up to 1,024 tokens. */
        public static final Policy DEFAULT = new Policy(256, 1024);
        /** Always the whole matrix (for comparisons). */
        public static final Policy WHOLE = new Policy(0, Integer.MAX_VALUE);

        public Policy {
            if (block < 0 || longSequence < 0) {
                throw new IllegalArgumentException("attention block " + block + " and long-sequence length "
                        + longSequence + " must be >= 0");
            }
        }

        /** The query block for a pass over {@code length} tokens, or 0 for the whole matrix. */
        public int blockFor(int length, boolean checkpointing) {
            return block > 0 && (checkpointing || length > longSequence) ? block : 0;
        }
    }

    private Attention() {}

    /** {@code (B, heads, Tq, head_dim)}: attention of queries q over keys k and values v, all four-dimensional. */
    static NDArray compute(Forward f, NDArray q, NDArray k, NDArray v, AttentionMask mask, Spec spec) {
        int tq = (int) q.getShape().get(2);
        int block = f.attentionBlock();
        if (!f.blockwise(tq) || f.training() && spec.dropout() >= 1) {
            return whole(f, q, k, v, mask, spec);
        }
        int call = f.training() && spec.dropout() > 0 ? f.dropoutState().reserve() : -1;
        LayerTape tape = f.tape();
        if (!GradMode.enabled() || tape == null || !tape.inLayer()) {
            // no graph to keep (evaluation, a checkpointed layer's forward pass), or a graph but no tape to take it
            // apart: blocks side by side, each block's graph kept if there is one
            return blocks(f, q, k, v, mask, spec, call, block);
        }
        Cut cut = new Cut(f.withOps(tape.layerScope()), q, k, v, mask, spec, call, block);
        tape.cut(cut);
        return cut.output;
    }

    private static NDArray whole(Forward f, NDArray q, NDArray k, NDArray v, AttentionMask mask, Spec spec) {
        Ops ops = f.ops();
        NDArray scores = scores(ops, q, k, spec);
        NDArray m = mask == null ? null : mask.full() != null ? mask.full()
                : mask.block(ops, 0, (int) q.getShape().get(2), 0, (int) k.getShape().get(2));
        if (m != null) {
            scores = ops.add(scores, m);
        }
        NDArray probs = probabilities(ops, scores, q.getDataType(), spec);
        return ops.matmul(f.dropout(probs, spec.dropout()), v);
    }

    /**
     * {@code q kᵀ · scale}, soft-capped when the spec asks for it, as Gemma 2's {@code eager_attention_forward}:
     * {@code scores / softcap}, {@code tanh}, {@code * softcap}, all before the mask.
     */
    private static NDArray scores(Ops ops, NDArray q, NDArray k, Spec spec) {
        NDArray scores = ops.scale(ops.matmul(q, ops.transpose(k, 2, 3)), spec.scale());
        if (spec.softcap() > 0) {
            NDArray cap = ops.scalar(spec.softcap(), scores.getDataType());
            scores = ops.mul(ops.tanh(ops.div(scores, cap)), cap);
        }
        return scores;
    }

    private static NDArray probabilities(Ops ops, NDArray scores, DataType type, Spec spec) {
        if (spec.softmaxFp32()) {
            return ops.toType(ops.softmax(ops.toType(scores, DataType.FLOAT32), -1), type);
        }
        return ops.softmax(scores, -1);
    }

    /** Every block, concatenated along the queries, in {@code f}'s scope. */
    private static NDArray blocks(Forward f, NDArray q, NDArray k, NDArray v, AttentionMask mask, Spec spec,
            int call, int block) {
        Ops ops = f.ops();
        int tq = (int) q.getShape().get(2);
        NDList parts = new NDList();
        for (int q0 = 0; q0 < tq; q0 += block) {
            int q1 = Math.min(tq, q0 + block);
            try (Ops bo = ops.child()) {
                parts.add(bo.keep(block(f.withOps(bo), q, k, v, mask, spec, call, q0, q1), ops));
            }
        }
        NDArray out = ops.concat(parts, 2);
        parts.forEach(NDArray::close);
        return out;
    }

    /** Queries {@code [q0, q1)} over the keys they can see: {@code (B, heads, q1 - q0, head_dim)}. */
    private static NDArray block(Forward f, NDArray q, NDArray k, NDArray v, AttentionMask mask, Spec spec, int call,
            int q0, int q1) {
        Ops ops = f.ops();
        int tq = (int) q.getShape().get(2);
        int tk = (int) k.getShape().get(2);
        int k0 = mask == null ? 0 : mask.firstKey(q0);
        int k1 = mask == null ? tk : mask.endKey(q1);
        NDArray qb = ops.slice(q, 2, q0, q1);
        NDArray kb = k0 == 0 && k1 == tk ? k : ops.slice(k, 2, k0, k1);
        NDArray vb = k0 == 0 && k1 == tk ? v : ops.slice(v, 2, k0, k1);
        NDArray scores = scores(ops, qb, kb, spec);
        NDArray m = mask == null ? null : mask.block(ops, q0, q1, k0, k1);
        if (m != null) {
            scores = ops.add(scores, m);
        }
        NDArray probs = probabilities(ops, scores, q.getDataType(), spec);
        if (call >= 0) {
            probs = f.dropoutState().applyRows(ops, probs, spec.dropout(), call, tq, tk, q0, k0);
        }
        return ops.matmul(probs, vb);
    }

    /**
     * Attention as a cut in a training pass's graph: made under autograd by {@link #compute}, back-propagated by the
     * {@link LayerTape} when it reaches the layer.
     */
    static final class Cut {
        private final Forward forward;
        private final NDArray q;
        private final NDArray k;
        private final NDArray v;
        private final NDArray qLeaf;
        private final NDArray kLeaf;
        private final NDArray vLeaf;
        private final NDArray output;
        private final AttentionMask mask;
        private final Spec spec;
        private final int call;
        private final int block;

        /** {@code f} writes into the layer's scope, which lives until the tape has back-propagated the layer. */
        private Cut(Forward f, NDArray q, NDArray k, NDArray v, AttentionMask mask, Spec spec, int call, int block) {
            Ops ops = f.ops();
            this.forward = f;
            // q, k and v were made by a part of the layer whose scope closes first; backward needs their graph
            this.q = ops.adopt(q);
            this.k = ops.adopt(k);
            this.v = ops.adopt(v);
            this.qLeaf = ops.leaf(q);
            this.kLeaf = ops.leaf(k);
            this.vLeaf = ops.leaf(v);
            this.mask = mask;
            this.spec = spec;
            this.call = call;
            this.block = block;
            try (GradMode g = GradMode.off()) {
                this.output = ops.leaf(blocks(f, qLeaf, kLeaf, vLeaf, mask, spec, call, block));
            }
        }

        /**
         * After the rest of the layer has been back-propagated into the output leaf: each block recomputed with a
         * graph and back-propagated at once, then the summed gradients of q, k and v handed on to the graph that
         * made them, in one backward pass (as {@code sum(q * dq) + sum(k * dk) + sum(v * dv)}, whose gradient with
         * respect to q is exactly dq).
         */
        void backward(Ops ops) {
            NDArray g = ops.grad(output);
            if (g == null) {
                return;
            }
            int tq = (int) q.getShape().get(2);
            for (int q0 = 0; q0 < tq; q0 += block) {
                int q1 = Math.min(tq, q0 + block);
                try (Ops bo = ops.child()) {
                    NDArray out = block(forward.withOps(bo), qLeaf, kLeaf, vLeaf, mask, spec, call, q0, q1);
                    bo.backward(out, bo.slice(g, 2, q0, q1));
                }
            }
            List<NDArray> terms = new ArrayList<>(3);
            NDArray[][] pairs = {{q, qLeaf}, {k, kLeaf}, {v, vLeaf}};
            for (NDArray[] p : pairs) {
                NDArray grad = ops.grad(p[1]);
                if (grad != null) {
                    terms.add(ops.sum(ops.mul(p[0], grad)));
                }
            }
            if (terms.isEmpty()) {
                return;
            }
            NDArray root = terms.get(0);
            for (int i = 1; i < terms.size(); i++) {
                root = ops.add(root, terms.get(i));
            }
            ops.backward(root);
        }
    }
}
