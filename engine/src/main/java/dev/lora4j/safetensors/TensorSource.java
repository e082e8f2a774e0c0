package dev.lora4j.safetensors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Named tensors read from one safetensors file or from all shards of a checkpoint. */
public sealed interface TensorSource extends AutoCloseable permits SafetensorsFile, SafetensorsCheckpoint {

    /** The header's {@code __metadata__} (or the index's {@code metadata}), in file order. */
    Map<String, String> metadata();

    /** Every tensor name, in the order their bytes appear (shard by shard for a checkpoint). */
    List<String> names();

    boolean contains(String name);

    /** @throws IllegalArgumentException naming the file when there is no such tensor */
    TensorInfo info(String name);

    /** The file holding the tensor's bytes. */
    Path fileOf(String name);

    /**
     * The tensor's bytes as a read-only little-endian buffer mapped from the file. The mapping stays valid after
     * {@link #close()} for as long as the buffer is reachable; copy the values out if the file may be rewritten.
     */
    ByteBuffer data(String name) throws IOException;

    /** The values as float32; F16, BF16 and F64 are converted (F64 rounds to nearest). */
    default float[] floats(String name) throws IOException {
        TensorInfo info = info(name);
        if (!info.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException(fileOf(name) + ": tensor '" + name + "' is " + info.dtype()
                    + ", not a floating-point type; read it with longs()");
        }
        ByteBuffer bytes = data(name).order(ByteOrder.LITTLE_ENDIAN);
        // a region is below 2 GiB, so the element count fits an int
        float[] out = new float[Math.toIntExact(info.numel())];
        switch (info.dtype()) {
            case F32 -> bytes.asFloatBuffer().get(out);
            case F64 -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = (float) bytes.getDouble(i * 8);
                }
            }
            case F16 -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = HalfFloats.f16ToFloat(bytes.getShort(i * 2));
                }
            }
            case BF16 -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = HalfFloats.bf16ToFloat(bytes.getShort(i * 2));
                }
            }
            default -> throw new AssertionError(info.dtype());
        }
        return out;
    }

    /** The values of an integer tensor (I64, I32, I16, I8, U8) widened to long; U8 is read as unsigned. */
    default long[] longs(String name) throws IOException {
        TensorInfo info = info(name);
        ByteBuffer bytes = data(name).order(ByteOrder.LITTLE_ENDIAN);
        long[] out = new long[Math.toIntExact(info.numel())];
        switch (info.dtype()) {
            case I64 -> bytes.asLongBuffer().get(out);
            case I32 -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = bytes.getInt(i * 4);
                }
            }
            case I16 -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = bytes.getShort(i * 2);
                }
            }
            case I8 -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = bytes.get(i);
                }
            }
            case U8 -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = bytes.get(i) & 0xFF;
                }
            }
            default -> throw new IllegalArgumentException(fileOf(name) + ": tensor '" + name + "' is " + info.dtype()
                    + ", not an integer type; read it with floats() or data()");
        }
        return out;
    }

    /** Closes the file(s); buffers already returned by {@link #data} stay readable. */
    @Override
    void close() throws IOException;
}
