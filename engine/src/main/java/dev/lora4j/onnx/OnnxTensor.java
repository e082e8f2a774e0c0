package dev.lora4j.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One initializer of an ONNX graph: its name, element type, dimensions and little-endian element bytes (a slice of
 * the model file when it was stored as {@code raw_data}).
 */
public final class OnnxTensor {
    private final String name;
    private final OnnxType type;
    private final long[] dims;
    private final ByteBuffer data;

    public OnnxTensor(String name, OnnxType type, long[] dims, ByteBuffer data) {
        this.name = name;
        this.type = type;
        this.dims = dims.clone();
        this.data = data.slice().asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
        long expected = Math.multiplyExact(numel(), (long) type.bytes());
        if (this.data.remaining() != expected) {
            throw new OnnxFormatException("tensor '" + name + "' is " + type + " " + Arrays.toString(dims) + " = "
                    + expected + " bytes, but holds " + this.data.remaining());
        }
    }

    /** A FLOAT tensor from Java values (tests, small synthetic graphs). */
    public static OnnxTensor ofFloats(String name, long[] dims, float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return new OnnxTensor(name, OnnxType.FLOAT, dims, b);
    }

    public String name() {
        return name;
    }

    public OnnxType type() {
        return type;
    }

    public long[] dims() {
        return dims.clone();
    }

    public long numel() {
        long n = 1;
        for (long d : dims) {
            if (d < 0) {
                throw new OnnxFormatException("tensor '" + name + "' has a negative dimension: "
                        + Arrays.toString(dims));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** The element bytes, little-endian, read-only; a new view on each call. */
    public ByteBuffer data() {
        return data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The values of a FLOAT tensor. */
    public float[] floats() {
        if (type != OnnxType.FLOAT) {
            throw new IllegalStateException("tensor '" + name + "' is " + type + ", not FLOAT");
        }
        float[] v = new float[Math.toIntExact(numel())];
        data().asFloatBuffer().get(v);
        return v;
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(dims);
    }
}
