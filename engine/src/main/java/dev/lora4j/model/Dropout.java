package dev.lora4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.lora4j.runtime.Ops;

/**
 * Inverted dropout whose masks come from the trial's own counter-based random stream, not libtorch's process-wide
 * generator: trials running side by side on one device draw exactly the masks they would draw alone, and a resumed
 * run redraws the masks of step N from (seed, step) alone.
 *
 * <p>Every call of a step (every dropout site, in the order the forward pass reaches them) has a stream of its own,
 * keyed by (seed, micro-batch, call). Element {@code e} of a call's mask is a function of the key and {@code e}
 * alone: the stream is {@link java.util.SplittableRandom}'s (SplitMix64), whose {@code k}-th value is
 * {@code mix64(start + (k + 1) * GOLDEN_GAMMA)}, and element {@code e} takes the high (even {@code e}) or low (odd
 * {@code e}) 32 bits of value {@code e / 2}. So a layer recomputed in backward ({@link #at}) redraws exactly the masks
 * it drew in the forward pass, and attention computed in query blocks draws, block by block, the same mask as a
 * whole-matrix pass ({@link #applyRows}).
 */
public final class Dropout {
    /** Elements drawn between two bulk writes into the mask (even, so draws pair up as in one pass). */
    private static final int CHUNK = 1 << 14;
    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

    private final long seed;
    private final long step;
    private int calls;

    private Dropout(long seed, long step, int calls) {
        this.seed = seed;
        this.step = step;
        this.calls = calls;
    }

    /** The masks of one training step. */
    public static Dropout forStep(long seed, long step) {
        return new Dropout(seed, step, 0);
    }

    /** The number of the next call: how many masks this step has drawn so far. */
    public int position() {
        return calls;
    }

    /**
     * The same step's masks from call {@code call} on: what a layer recomputed in backward draws, so that it redraws
     * the masks it drew in the forward pass. This dropout's own position is not moved.
     */
    public Dropout at(int call) {
        return new Dropout(seed, step, call);
    }

    /**
     * Takes the next call's number without drawing (a site that draws its mask later, in parts, with
     * {@link #applyRows}); only for {@code 0 < p < 1}, as {@link #apply} takes a number only then.
     */
    public int reserve() {
        return calls++;
    }

    /** {@code x} with each element zeroed with probability {@code p} and the rest scaled by {@code 1/(1-p)}. */
    public NDArray apply(Ops ops, NDArray x, double p) {
        if (p <= 0) {
            return x;
        }
        if (p >= 1) {
            return ops.mul(x, ops.zeros(new Shape(), x.getDataType()));
        }
        long start = mix(seed, step, calls++);
        long threshold = threshold(p);
        int keptBits = keptBits(p);
        long n = x.getShape().size();
        // the mask carries the 1/(1-p) scale: one multiply forward and one backward, and x * kept rounds as
        // (x * 1) * kept did
        NDArray mask = ops.floats(x.getShape(), out -> {
            float[] chunk = new float[(int) Math.min(n, CHUNK)];
            long done = 0;
            while (done < n) {
                int len = (int) Math.min(chunk.length, n - done);
                fill(chunk, len, start, done, threshold, keptBits);
                out.put(chunk, 0, len);
                done += len;
            }
        });
        return ops.mul(x, ops.toType(mask, x.getDataType()));
    }

    /**
     * Part of call {@code call}'s mask applied to {@code x}: the whole mask has shape {@code (outer, rows, cols)}
     * (row-major, as {@link #apply} draws it for a tensor of that shape), and {@code x} is its rows
     * {@code [row0, row0 + x.rows)} and columns {@code [col0, col0 + x.cols)} for every outer index, shaped
     * {@code (..., x.rows, x.cols)} with {@code outer} elements in front.
     *
     * @param call  a number from {@link #reserve}
     * @param rows  the whole mask's rows (attention: queries)
     * @param cols  the whole mask's columns (attention: keys)
     * @param row0  the first row {@code x} covers
     * @param col0  the first column {@code x} covers
     */
    public NDArray applyRows(Ops ops, NDArray x, double p, int call, long rows, long cols, long row0, long col0) {
        if (p <= 0) {
            return x;
        }
        if (p >= 1) {
            return ops.mul(x, ops.zeros(new Shape(), x.getDataType()));
        }
        long start = mix(seed, step, call);
        long threshold = threshold(p);
        int keptBits = keptBits(p);
        Shape shape = x.getShape();
        int d = shape.dimension();
        int bRows = (int) shape.get(d - 2);
        int bCols = (int) shape.get(d - 1);
        long outer = shape.size() / ((long) bRows * bCols);
        NDArray mask = ops.floats(shape, out -> {
            float[] row = new float[bCols];
            for (long o = 0; o < outer; o++) {
                for (int i = 0; i < bRows; i++) {
                    long from = (o * rows + row0 + i) * cols + col0;
                    fill(row, bCols, start, from, threshold, keptBits);
                    out.put(row, 0, bCols);
                }
            }
        });
        return ops.mul(x, ops.toType(mask, x.getDataType()));
    }

    /** Elements {@code [from, from + len)} of the stream that starts at {@code start}, as mask values. */
    private static void fill(float[] into, int len, long start, long from, long threshold, int keptBits) {
        int i = 0;
        long e = from;
        if ((e & 1) == 1 && len > 0) {
            // an odd element takes the low half of the value the element before it took the high half of
            into[i++] = masked(value(start, e >>> 1) & 0xFFFFFFFFL, threshold, keptBits);
            e++;
        }
        long k = e >>> 1;
        long z = start + (k + 1) * GOLDEN_GAMMA;
        for (; i + 1 < len; i += 2, z += GOLDEN_GAMMA) {
            long r = mix64(z);
            into[i] = masked(r >>> 32, threshold, keptBits);
            into[i + 1] = masked(r & 0xFFFFFFFFL, threshold, keptBits);
        }
        if (i < len) {
            into[i] = masked(mix64(z) >>> 32, threshold, keptBits);
        }
    }

    /** Value {@code k} (0-based) of {@code new SplittableRandom(start)}: {@code nextLong()} called k + 1 times. */
    static long value(long start, long k) {
        return mix64(start + (k + 1) * GOLDEN_GAMMA);
    }

    /** SplittableRandom's {@code mix64} (Stafford's variant 13). */
    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Two 32-bit uniforms per draw; p is resolved to 2^-32, far below float precision. */
    private static long threshold(double p) {
        return (long) Math.ceil(p * 4294967296.0);
    }

    private static int keptBits(double p) {
        return Float.floatToIntBits((float) (1.0 / (1.0 - p)));
    }

    /**
     * {@code uniform >= threshold ? kept : 0f} without a branch: the sign of {@code uniform - threshold} (both below
     * 2^32) selects all or none of kept's bits. A branch mispredicted on every dropped element made the masks
     * 1.4x slower to draw.
     */
    private static float masked(long uniform, long threshold, int keptBits) {
        return Float.intBitsToFloat(keptBits & ~(int) ((uniform - threshold) >> 63));
    }

    static long mix(long seed, long step, long call) {
        long h = seed * 0x9E3779B97F4A7C15L;
        h ^= (step + 0x632BE59BD9B4E019L) * 0xC2B2AE3D27D4EB4FL;
        h = Long.rotateLeft(h, 31) ^ (call * 0x165667B19E3779F9L);
        return h;
    }
}
