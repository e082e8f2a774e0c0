package dev.lora4j.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One safetensors file, open for reading. Only the header is read onto the heap; {@link #data} maps the tensor's own
 * byte range on each call, so files larger than the heap load tensor by tensor. The header is validated strictly on
 * {@link #open}: every tensor's byte size must match its shape and dtype, and the tensors must tile the data buffer
 * exactly (no gaps, no overlaps, nothing after the last one), as the reference implementation requires.
 */
public final class SafetensorsFile implements TensorSource {

    /** The reference implementation's bound; a longer "header" means a corrupt or foreign file. */
    static final long MAX_HEADER_BYTES = 100_000_000L;

    static final ObjectMapper JSON =
            new ObjectMapper().enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY);

    /** How to get from a PyTorch pickle to a file this package reads. */
    static final String PICKLE_ADVICE = "convert it to safetensors (e.g. with Python:"
            + " `safetensors.torch.save_file(torch.load(path), 'adapter_model.safetensors')`)";

    private static final String METADATA_KEY = "__metadata__";
    private static final byte[] LFS_POINTER =
            "version https://git-lfs.github.com/spec/v1".getBytes(StandardCharsets.US_ASCII);

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, String> metadata;
    private final Map<String, TensorInfo> tensors;
    private final List<String> names;
    private volatile boolean closed;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, Map<String, String> metadata,
            List<TensorInfo> inOffsetOrder) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.metadata = metadata;
        Map<String, TensorInfo> byName = new LinkedHashMap<>();
        for (TensorInfo t : inOffsetOrder) {
            byName.put(t.name(), t);
        }
        this.tensors = Collections.unmodifiableMap(byName);
        this.names = List.copyOf(byName.keySet());
    }

    /** Opens the file and validates its header. */
    public static SafetensorsFile open(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            throw new SafetensorsFormatException(path, path + " is a folder, not a safetensors file;"
                    + " open a checkpoint folder with SafetensorsCheckpoint.open");
        }
        FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
        try {
            return read(path, channel);
        } catch (IOException | RuntimeException e) {
            try {
                channel.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private static SafetensorsFile read(Path path, FileChannel channel) throws IOException {
        long fileSize = channel.size();
        ByteBuffer prefix = readFully(channel, 0, (int) Math.min(fileSize, 64));
        long headerLength = fileSize >= 8 ? prefix.order(ByteOrder.LITTLE_ENDIAN).getLong(0) : -1;
        boolean plausible = fileSize > 8 && headerLength > 0 && headerLength <= fileSize - 8 && prefix.get(8) == '{';
        // sniff only files that cannot be safetensors: a real 640-byte header starts with the pickle bytes 0x80 0x02
        if (!plausible) {
            rejectForeignFormats(path, prefix);
        }
        if (fileSize < 8) {
            throw new SafetensorsFormatException(path, path + ": the file is truncated: it is " + fileSize
                    + " bytes, shorter than the 8-byte header length that starts a safetensors file");
        }
        if (Long.compareUnsigned(headerLength, fileSize - 8) > 0) {
            throw new SafetensorsFormatException(path, path + ": header length " + Long.toUnsignedString(headerLength)
                    + " is larger than the file (" + fileSize + " bytes): the file is truncated or not safetensors");
        }
        if (headerLength > MAX_HEADER_BYTES) {
            throw new SafetensorsFormatException(path, path + ": header length " + headerLength
                    + " exceeds the " + MAX_HEADER_BYTES + "-byte limit: the file is corrupt or not safetensors");
        }
        byte[] header = new byte[(int) headerLength];
        readFully(channel, 8, header.length).get(header);
        long dataStart = 8 + headerLength;
        long dataLength = fileSize - dataStart;

        HeaderParser parsed = new HeaderParser(path, dataLength);
        parsed.parse(header);
        List<TensorInfo> ordered = new ArrayList<>(parsed.tensors.values());
        ordered.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        checkTiling(path, ordered, dataLength);
        return new SafetensorsFile(path, channel, dataStart, Collections.unmodifiableMap(parsed.metadata), ordered);
    }

    /** Git LFS pointers and PyTorch pickles are the usual wrong files: say what they are and how to fix that. */
    private static void rejectForeignFormats(Path path, ByteBuffer prefix) throws SafetensorsFormatException {
        byte[] head = new byte[prefix.limit()];
        prefix.get(0, head);
        if (startsWith(head, LFS_POINTER)) {
            throw new SafetensorsFormatException(path,
                    path + " is a Git LFS pointer, not the tensor file: run `git lfs pull`");
        }
        boolean zip = startsWith(head, new byte[] {'P', 'K', 3, 4});
        boolean pickle = head.length >= 2 && (head[0] & 0xFF) == 0x80 && head[1] >= 2 && head[1] <= 5;
        if (zip || pickle) {
            throw new SafetensorsFormatException(path, path + " is a PyTorch pickle (.bin); " + PICKLE_ADVICE);
        }
    }

    private static boolean startsWith(byte[] bytes, byte[] prefix) {
        return bytes.length >= prefix.length && Arrays.equals(bytes, 0, prefix.length, prefix, 0, prefix.length);
    }

    private static ByteBuffer readFully(FileChannel channel, long position, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, position + buffer.position()) < 0) {
                throw new EOFException("file ended while reading " + length + " bytes at " + position);
            }
        }
        return buffer.flip();
    }

    private static void checkTiling(Path path, List<TensorInfo> ordered, long dataLength)
            throws SafetensorsFormatException {
        long covered = 0;
        TensorInfo previous = null;
        for (TensorInfo t : ordered) {
            if (t.begin() < covered) {
                throw new SafetensorsFormatException(path, path + ": tensors '" + previous.name() + "' "
                        + range(previous) + " and '" + t.name() + "' " + range(t) + " overlap");
            }
            if (t.begin() > covered) {
                throw new SafetensorsFormatException(path, path + ": data bytes [" + covered + ", " + t.begin()
                        + ") belong to no tensor (gap before '" + t.name() + "')");
            }
            covered = t.end();
            previous = t;
        }
        if (covered != dataLength) {
            throw new SafetensorsFormatException(path, path + ": the data after the header is " + dataLength
                    + " bytes but the tensors cover " + covered + ": the file is truncated or has trailing bytes");
        }
    }

    private static String range(TensorInfo t) {
        return "[" + t.begin() + ", " + t.end() + "]";
    }

    /** Reads the header JSON; a streaming parse keeps the key order and sees duplicate tensor names. */
    private static final class HeaderParser {
        private final Path path;
        private final long dataLength;
        private final Map<String, String> metadata = new LinkedHashMap<>();
        private final Map<String, TensorInfo> tensors = new LinkedHashMap<>();

        HeaderParser(Path path, long dataLength) {
            this.path = path;
            this.dataLength = dataLength;
        }

        void parse(byte[] header) throws SafetensorsFormatException {
            boolean sawMetadata = false;
            try (JsonParser p = JSON.createParser(header)) {
                if (p.nextToken() != JsonToken.START_OBJECT) {
                    throw fail("header is not a JSON object");
                }
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String key = p.currentName();
                    p.nextToken();
                    JsonNode value = p.readValueAsTree();
                    if (METADATA_KEY.equals(key)) {
                        if (sawMetadata) {
                            throw fail("duplicate " + METADATA_KEY + " in the header");
                        }
                        sawMetadata = true;
                        readMetadata(value);
                    } else {
                        if (tensors.containsKey(key)) {
                            throw fail("duplicate tensor name '" + key + "' in the header");
                        }
                        tensors.put(key, tensor(key, value));
                    }
                }
                if (p.nextToken() != null) {
                    throw fail("header has content after its JSON object");
                }
            } catch (SafetensorsFormatException e) {
                throw e;
            } catch (JsonProcessingException e) {
                throw new SafetensorsFormatException(path,
                        path + ": header is not valid JSON: " + e.getOriginalMessage(), e);
            } catch (IOException e) {
                // parsing an in-memory array: only malformed input gets here
                throw new SafetensorsFormatException(path, path + ": header is not valid JSON: " + e.getMessage(), e);
            }
        }

        private void readMetadata(JsonNode value) throws SafetensorsFormatException {
            if (value.isNull()) {
                return;
            }
            if (!value.isObject()) {
                throw fail(METADATA_KEY + " is not a JSON object of strings");
            }
            for (Map.Entry<String, JsonNode> e : value.properties()) {
                if (!e.getValue().isTextual()) {
                    throw fail(METADATA_KEY + " value of '" + e.getKey() + "' is not a string: " + e.getValue());
                }
                metadata.put(e.getKey(), e.getValue().textValue());
            }
        }

        private TensorInfo tensor(String name, JsonNode entry) throws SafetensorsFormatException {
            String where = "tensor '" + name + "'";
            if (!entry.isObject()) {
                throw fail(where + ": entry is not a JSON object: " + entry);
            }
            JsonNode dtypeNode = entry.path("dtype");
            if (!dtypeNode.isTextual()) {
                throw fail(where + ": dtype is missing or not a string");
            }
            DType dtype = DType.fromHeader(dtypeNode.textValue()).orElseThrow(() -> fail(where + " has unknown dtype '"
                    + dtypeNode.textValue() + "' (supported: " + DType.supported() + ")"));
            long[] shape = naturals(entry.path("shape"));
            if (shape == null) {
                throw fail(where + ": shape must be an array of non-negative integers, got " + entry.get("shape"));
            }
            long[] offsets = naturals(entry.path("data_offsets"));
            if (offsets == null || offsets.length != 2 || offsets[0] > offsets[1]) {
                throw fail(where + ": data_offsets must be [begin, end] with 0 <= begin <= end, got "
                        + entry.get("data_offsets"));
            }
            long bytes;
            try {
                bytes = Math.multiplyExact(TensorInfo.numel(shape), dtype.bytes());
            } catch (ArithmeticException e) {
                throw fail(where + ": shape " + Arrays.toString(shape) + " has too many elements");
            }
            if (bytes != offsets[1] - offsets[0]) {
                throw fail(where + " is " + dtype + " " + Arrays.toString(shape) + " = " + bytes
                        + " bytes, but its data_offsets " + Arrays.toString(offsets) + " span "
                        + (offsets[1] - offsets[0]) + " bytes");
            }
            if (offsets[1] > dataLength) {
                throw fail(where + ": data_offsets " + Arrays.toString(offsets)
                        + " run past the end of the data (" + dataLength + " bytes after the header)");
            }
            return new TensorInfo(name, dtype, shape, offsets[0], offsets[1]);
        }

        /** The array's values, or null unless it is an array of non-negative integers that fit a long. */
        private static long[] naturals(JsonNode node) {
            if (!node.isArray()) {
                return null;
            }
            long[] values = new long[node.size()];
            for (int i = 0; i < values.length; i++) {
                JsonNode n = node.get(i);
                if (!n.isIntegralNumber() || !n.canConvertToLong() || n.longValue() < 0) {
                    return null;
                }
                values[i] = n.longValue();
            }
            return values;
        }

        private SafetensorsFormatException fail(String problem) {
            return new SafetensorsFormatException(path, path + ": " + problem);
        }
    }

    public Path path() {
        return path;
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public List<String> names() {
        return names;
    }

    @Override
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    @Override
    public TensorInfo info(String name) {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw new IllegalArgumentException(path + ": no tensor '" + name + "' (the file has " + tensors.size()
                    + " tensors)");
        }
        return info;
    }

    @Override
    public Path fileOf(String name) {
        info(name);
        return path;
    }

    @Override
    public ByteBuffer data(String name) throws IOException {
        TensorInfo info = info(name);
        if (closed) {
            throw new IllegalStateException(path + " is closed");
        }
        if (info.byteSize() > Integer.MAX_VALUE) {
            // one MappedByteBuffer is int-indexed; larger tensors would need chunked mapping
            throw new IOException(path + ": tensor '" + name + "' is " + info.byteSize()
                    + " bytes; tensors of 2 GiB or more cannot be mapped as one buffer");
        }
        return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + info.begin(), info.byteSize())
                .order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public void close() throws IOException {
        closed = true;
        channel.close();
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + tensors.size() + " tensors]";
    }
}
