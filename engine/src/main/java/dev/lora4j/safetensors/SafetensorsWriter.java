package dev.lora4j.safetensors;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Collects tensors and metadata, then {@link #write}s a safetensors file. Tensor data is only read when the file is
 * written, one tensor at a time, straight into the file after the header; arrays and buffers handed to {@code add}
 * must therefore stay unchanged (and NDArrays open) until then.
 *
 * <p>The write is atomic: it goes to a temporary file in the target's folder, which is forced to disk and then renamed
 * over the target, so a crash or a failing tensor leaves either the old file or the complete new one, never a part.
 */
public final class SafetensorsWriter {

    /** Order of the tensors in the file. */
    public enum Order {
        /**
         * Sorted by name, like files PEFT writes. (The Python library sorts by dtype alignment first and then by name;
         * for files with one dtype, such as PEFT adapters, the two agree byte for byte.)
         */
        BY_NAME,
        /** The order of the {@code add} calls. */
        AS_ADDED
    }

    /** Produces one tensor's bytes (little-endian) when the writer reaches that tensor. */
    @FunctionalInterface
    public interface TensorBytes {
        ByteBuffer get() throws IOException;
    }

    private static final Logger LOG = LoggerFactory.getLogger(SafetensorsWriter.class);
    private static final int CHUNK_ELEMENTS = 1 << 16;
    private static final SecureRandom TEMP_NAMES = new SecureRandom();

    /** Writes the tensor's bytes at the channel's position. */
    private interface Body {
        void writeTo(FileChannel out) throws IOException;
    }

    private record Entry(String name, DType dtype, long[] shape, long bytes, Body body) {}

    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private Order order = Order.BY_NAME;

    public SafetensorsWriter order(Order order) {
        this.order = Objects.requireNonNull(order, "order");
        return this;
    }

    /** Adds a {@code __metadata__} entry; PEFT writes {@code "format": "pt"}. */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
        return this;
    }

    public SafetensorsWriter metadata(Map<String, String> entries) {
        entries.forEach(this::metadata);
        return this;
    }

    /** Raw little-endian bytes: the buffer's remaining bytes, read when the file is written. */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, ByteBuffer data) {
        ByteBuffer bytes = data.slice();
        long expected = byteSize(name, dtype, shape);
        if (bytes.remaining() != expected) {
            throw new IllegalArgumentException("tensor '" + name + "' is " + dtype + " " + Arrays.toString(shape)
                    + " = " + expected + " bytes, but the buffer has " + bytes.remaining());
        }
        return put(name, dtype, shape, out -> writeFully(out, bytes.duplicate()));
    }

    /** An F32 tensor. */
    public SafetensorsWriter add(String name, long[] shape, float[] data) {
        checkLength(name, shape, data.length);
        return put(name, DType.F32, shape, out -> writeChunked(out, data.length, DType.F32,
                (chunk, from, count) -> chunk.asFloatBuffer().put(data, from, count)));
    }

    /** An I64 tensor. */
    public SafetensorsWriter add(String name, long[] shape, long[] data) {
        checkLength(name, shape, data.length);
        return put(name, DType.I64, shape, out -> writeChunked(out, data.length, DType.I64,
                (chunk, from, count) -> chunk.asLongBuffer().put(data, from, count)));
    }

    /** An NDArray, stored with the matching dtype (FLOAT32 as F32, FLOAT16 as F16, INT64 as I64, ...). */
    public SafetensorsWriter add(String name, NDArray array) {
        DType dtype = DType.of(array.getDataType()).orElseThrow(() -> new IllegalArgumentException("tensor '" + name
                + "': NDArray data type " + array.getDataType() + " has no safetensors dtype here"));
        return put(name, dtype, array.getShape().getShape(), out -> {
            requireLittleEndianPlatform();
            // a contiguous CPU copy of this one tensor, in native (little-endian) order
            writeFully(out, array.toByteBuffer());
        });
    }

    /** A tensor whose bytes are produced only when the file is written, e.g. converted from another source. */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, TensorBytes source) {
        return put(name, dtype, shape, out -> writeFully(out, source.get().slice()));
    }

    private void checkLength(String name, long[] shape, int length) {
        long numel = TensorInfo.numel(shape);
        if (numel != length) {
            throw new IllegalArgumentException("tensor '" + name + "' has shape " + Arrays.toString(shape) + " = "
                    + numel + " elements, but the array has " + length);
        }
    }

    private SafetensorsWriter put(String name, DType dtype, long[] shape, Body body) {
        long bytes = byteSize(name, dtype, shape);
        if (entries.containsKey(name)) {
            throw new IllegalArgumentException("tensor '" + name + "' was already added");
        }
        entries.put(name, new Entry(name, dtype, shape.clone(), bytes, body));
        return this;
    }

    private static long byteSize(String name, DType dtype, long[] shape) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        if ("__metadata__".equals(name)) {
            throw new IllegalArgumentException("'__metadata__' is reserved and cannot name a tensor");
        }
        // validates the dimensions and the element count the same way a reader will
        return Math.multiplyExact(new TensorInfo(name, dtype, shape, 0, 0).numel(), dtype.bytes());
    }

    /** Writes the file atomically: a temporary file in the same folder, forced to disk, renamed over the target. */
    public void write(Path target) throws IOException {
        List<Entry> ordered = new ArrayList<>(entries.values());
        if (order == Order.BY_NAME) {
            ordered.sort(Comparator.comparing(Entry::name));
        }
        byte[] header = header(ordered);
        Path absolute = target.toAbsolutePath();
        Path folder = absolute.getParent();
        if (!Files.isDirectory(folder)) {
            throw new NoSuchFileException(folder.toString(), null, "cannot write " + target + ": no such folder");
        }
        Path temp = folder.resolve(
                "." + absolute.getFileName() + "." + Long.toHexString(TEMP_NAMES.nextLong()) + ".tmp");
        try {
            try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                writeFully(out, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length));
                writeFully(out, ByteBuffer.wrap(header));
                for (Entry e : ordered) {
                    long start = out.position();
                    e.body().writeTo(out);
                    long written = out.position() - start;
                    if (written != e.bytes()) {
                        throw new IOException(target + ": tensor '" + e.name() + "' is " + e.dtype() + " "
                                + Arrays.toString(e.shape()) + " = " + e.bytes() + " bytes, but its source gave "
                                + written);
                    }
                }
                out.force(true);
            }
            Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE);
        } catch (Throwable t) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException suppressed) {
                t.addSuppressed(suppressed);
            }
            throw t;
        }
        syncFolder(folder);
    }

    /** Compact JSON as the reference implementation writes it, padded with spaces to a multiple of 8 bytes. */
    private byte[] header(List<Entry> ordered) throws IOException {
        ObjectNode root = SafetensorsFile.JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = root.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Entry e : ordered) {
            ObjectNode tensor = root.putObject(e.name());
            tensor.put("dtype", e.dtype().name());
            ArrayNode shape = tensor.putArray("shape");
            for (long d : e.shape()) {
                shape.add(d);
            }
            tensor.putArray("data_offsets").add(offset).add(offset + e.bytes());
            offset += e.bytes();
        }
        byte[] json = SafetensorsFile.JSON.writeValueAsBytes(root);
        byte[] padded = Arrays.copyOf(json, (json.length + 7) / 8 * 8);
        Arrays.fill(padded, json.length, padded.length, (byte) ' ');
        return padded;
    }

    /** Puts {@code count} elements into a little-endian buffer that starts at element {@code from}. */
    private interface ChunkFill {
        void fill(ByteBuffer chunk, int from, int count);
    }

    /** Converts a Java array in bounded chunks, so a large tensor is never copied whole. */
    private static void writeChunked(FileChannel out, int length, DType dtype, ChunkFill fill) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocate(Math.min(length, CHUNK_ELEMENTS) * dtype.bytes())
                .order(ByteOrder.LITTLE_ENDIAN);
        for (int from = 0; from < length; from += CHUNK_ELEMENTS) {
            int count = Math.min(CHUNK_ELEMENTS, length - from);
            chunk.clear();
            fill.fill(chunk, from, count);
            chunk.limit(count * dtype.bytes());
            writeFully(out, chunk);
        }
    }

    private static void writeFully(FileChannel out, ByteBuffer bytes) throws IOException {
        while (bytes.hasRemaining()) {
            out.write(bytes);
        }
    }

    static void requireLittleEndianPlatform() {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new UnsupportedOperationException("safetensors data is little-endian and NDArray bytes are in"
                    + " native order; big-endian platforms are not supported");
        }
    }

    /** Makes the rename itself durable; where a folder cannot be opened (Windows) the rename is still atomic. */
    private static void syncFolder(Path folder) {
        try (FileChannel dir = FileChannel.open(folder, StandardOpenOption.READ)) {
            dir.force(true);
        } catch (IOException e) {
            LOG.debug("could not fsync folder {}: {}", folder, e.toString());
        }
    }
}
