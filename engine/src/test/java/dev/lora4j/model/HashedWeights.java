package dev.lora4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * A random base model that is never written to disk: each tensor's values come from an integer hash of its name, a
 * seed and the index, exactly as {@code hashed()} in fixtures/reference/peft_reference.py makes them, so a test can
 * load a model of hundreds of MB (the real shapes a PEFT adapter needs) and compare with the float64 reference.
 */
final class HashedWeights implements WeightSource {
    private static final long M = 0xFFFFFFFFL;

    private final Map<String, long[]> shapes;
    private final long seed;
    private final String dtype;
    private final Predicate<String> norm;

    /** Tensors {@code shapes}, stored as {@code dtype} (F32 or F16); names {@code norm} accepts are 1 +- 0.2. */
    HashedWeights(Map<String, long[]> shapes, long seed, String dtype, Predicate<String> norm) {
        this.shapes = shapes;
        this.seed = seed;
        this.dtype = dtype;
        this.norm = norm;
    }

    @Override
    public List<String> names() {
        return new ArrayList<>(shapes.keySet());
    }

    @Override
    public long[] shape(String name) {
        return shapes.get(name);
    }

    @Override
    public String dtype(String name) {
        return dtype;
    }

    /** FNV-1a (32 bit) of the name, xor the seed. */
    private long key(String name) {
        long h = 0x811C9DC5L;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h = ((h ^ (b & 0xFF)) * 0x01000193L) & M;
        }
        return h ^ (seed & M);
    }

    static float value(long i, long key, double offset, double std) {
        long x = (i * 2654435761L + key) & M;
        x ^= x >>> 16;
        x = (x * 0x45D9F3BL) & M;
        x ^= x >>> 16;
        x = (x * 0x45D9F3BL) & M;
        x ^= x >>> 16;
        double u = x / 4294967296.0;
        return (float) (offset + (2 * u - 1) * std);
    }

    @Override
    public NDArray load(NDManager manager, String name, DataType type) {
        long[] shape = shapes.get(name);
        int n = (int) new Shape(shape).size();
        boolean isNorm = norm.test(name);
        double offset = isNorm ? 1.0 : 0.0;
        double std = isNorm ? 0.2 : 0.05;
        long key = key(name);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = value(i, key, offset, std);
        }
        try (NDArray f32 = manager.create(v, new Shape(shape))) {
            if (dtype.equals("F16")) {
                // round to float16 as the reference does, then widen
                try (NDArray half = f32.toType(DataType.FLOAT16, true)) {
                    return half.toType(type, true);
                }
            }
            return type == DataType.FLOAT32 ? f32.duplicate() : f32.toType(type, true);
        }
    }

    @Override
    public String describe() {
        return "hashed weights (seed " + seed + ")";
    }

    @Override
    public void close() {}
}
