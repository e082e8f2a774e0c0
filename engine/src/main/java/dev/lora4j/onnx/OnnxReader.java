package dev.lora4j.onnx;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * Reads the main graph of an ONNX model straight from protobuf wire format ({@code onnx.proto}'s ModelProto ->
 * GraphProto -> NodeProto / TensorProto / ValueInfoProto), without a protobuf or ONNX library. Only the fields an
 * importer needs are decoded; all others are skipped.
 */
public final class OnnxReader {
    // ModelProto
    private static final int MODEL_GRAPH = 7;
    // GraphProto
    private static final int GRAPH_NODE = 1;
    private static final int GRAPH_NAME = 2;
    private static final int GRAPH_INITIALIZER = 5;
    private static final int GRAPH_INPUT = 11;
    private static final int GRAPH_OUTPUT = 12;
    private static final int GRAPH_SPARSE_INITIALIZER = 15;
    // NodeProto
    private static final int NODE_INPUT = 1;
    private static final int NODE_OUTPUT = 2;
    private static final int NODE_NAME = 3;
    private static final int NODE_OP_TYPE = 4;
    // ValueInfoProto
    private static final int VALUE_NAME = 1;
    // TensorProto
    private static final int TENSOR_DIMS = 1;
    private static final int TENSOR_DATA_TYPE = 2;
    private static final int TENSOR_SEGMENT = 3;
    private static final int TENSOR_FLOAT_DATA = 4;
    private static final int TENSOR_INT32_DATA = 5;
    private static final int TENSOR_STRING_DATA = 6;
    private static final int TENSOR_INT64_DATA = 7;
    private static final int TENSOR_NAME = 8;
    private static final int TENSOR_RAW_DATA = 9;
    private static final int TENSOR_DOUBLE_DATA = 10;
    private static final int TENSOR_UINT64_DATA = 11;
    private static final int TENSOR_DATA_LOCATION = 14;
    private static final int DATA_LOCATION_EXTERNAL = 1;

    private OnnxReader() {}

    /** Memory-maps {@code file}; raw tensor data stays in the mapping rather than on the heap. */
    public static OnnxGraph read(Path file) throws IOException {
        return read(file, file.toString());
    }

    /** As {@link #read(Path)}, naming the model {@code source} in errors (a file extracted from a jar, say). */
    public static OnnxGraph read(Path file, String source) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > Integer.MAX_VALUE) {
                throw new OnnxFormatException(source + ": " + size + " bytes is more than a protobuf message can hold"
                        + " (2 GiB); models this large keep their weights in external data files, which this reader"
                        + " does not read");
            }
            return parse(ch.map(FileChannel.MapMode.READ_ONLY, 0, size), source);
        }
    }

    /** Parses a serialized ModelProto; {@code source} names it in errors. */
    public static OnnxGraph parse(ByteBuffer model, String source) {
        ProtoReader r = new ProtoReader(model, source);
        OnnxGraph graph = null;
        while (r.next()) {
            if (r.field() == MODEL_GRAPH) {
                r.expect(ProtoReader.LENGTH_DELIMITED, "ModelProto.graph");
                graph = graph(r.message());
            } else {
                r.skip();
            }
        }
        if (graph == null) {
            throw new OnnxFormatException(source + ": no graph (expected an ONNX ModelProto with field 7, graph)");
        }
        return graph;
    }

    private static OnnxGraph graph(ProtoReader r) {
        String name = "";
        List<OnnxNode> nodes = new ArrayList<>();
        Map<String, OnnxTensor> initializers = new LinkedHashMap<>();
        List<String> inputs = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        while (r.next()) {
            switch (r.field()) {
                case GRAPH_NODE -> nodes.add(node(message(r, "GraphProto.node")));
                case GRAPH_NAME -> name = string(r, "GraphProto.name");
                case GRAPH_INITIALIZER -> {
                    OnnxTensor t = tensor(message(r, "GraphProto.initializer"));
                    if (initializers.put(t.name(), t) != null) {
                        throw r.error("initializer '" + t.name() + "' appears twice");
                    }
                }
                case GRAPH_INPUT -> inputs.add(valueName(message(r, "GraphProto.input")));
                case GRAPH_OUTPUT -> outputs.add(valueName(message(r, "GraphProto.output")));
                case GRAPH_SPARSE_INITIALIZER -> throw r.error("the graph has sparse initializers, which this reader"
                        + " does not read");
                default -> r.skip();
            }
        }
        // before IR version 4 every initializer was also listed as a graph input
        inputs.removeIf(initializers::containsKey);
        return new OnnxGraph(name, nodes, initializers, inputs, outputs);
    }

    private static OnnxNode node(ProtoReader r) {
        String name = "";
        String op = "";
        List<String> in = new ArrayList<>();
        List<String> out = new ArrayList<>();
        while (r.next()) {
            switch (r.field()) {
                case NODE_INPUT -> in.add(string(r, "NodeProto.input"));
                case NODE_OUTPUT -> out.add(string(r, "NodeProto.output"));
                case NODE_NAME -> name = string(r, "NodeProto.name");
                case NODE_OP_TYPE -> op = string(r, "NodeProto.op_type");
                default -> r.skip();
            }
        }
        return new OnnxNode(name, op, in, out);
    }

    private static String valueName(ProtoReader r) {
        String name = "";
        while (r.next()) {
            if (r.field() == VALUE_NAME) {
                name = string(r, "ValueInfoProto.name");
            } else {
                r.skip();
            }
        }
        return name;
    }

    private static OnnxTensor tensor(ProtoReader r) {
        String name = "";
        List<Long> dims = new ArrayList<>();
        int code = 0;
        ByteBuffer raw = null;
        TypedValues typed = null;
        while (r.next()) {
            int f = r.field();
            switch (f) {
                case TENSOR_DIMS -> repeatedVarints(r, dims::add);
                case TENSOR_DATA_TYPE -> code = (int) r.varint();
                case TENSOR_NAME -> name = string(r, "TensorProto.name");
                case TENSOR_RAW_DATA -> raw = bytes(r, "TensorProto.raw_data");
                case TENSOR_FLOAT_DATA, TENSOR_INT32_DATA, TENSOR_INT64_DATA, TENSOR_DOUBLE_DATA,
                        TENSOR_UINT64_DATA -> {
                    if (typed == null) {
                        typed = new TypedValues(f);
                    } else if (typed.field != f) {
                        throw r.error("tensor '" + name + "' has values in two fields (" + typed.field + " and "
                                + f + ")");
                    }
                    typed.read(r);
                }
                case TENSOR_STRING_DATA -> throw r.error("tensor '" + name + "' holds strings, which this reader"
                        + " does not read");
                case TENSOR_SEGMENT -> throw r.error("tensor '" + name + "' is segmented, which this reader does"
                        + " not read");
                case TENSOR_DATA_LOCATION -> {
                    if (r.varint() == DATA_LOCATION_EXTERNAL) {
                        throw r.error("tensor '" + name + "' is stored in an external data file, which this"
                                + " reader does not read");
                    }
                }
                default -> r.skip();
            }
        }
        final String tensorName = name;
        final int typeCode = code;
        OnnxType type = OnnxType.of(code).orElseThrow(() -> r.error("tensor '" + tensorName + "' has data type "
                + typeCode + ", expected one of fixed element size (1-7, 9-16)"));
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        ByteBuffer data;
        if (raw != null) {
            if (typed != null) {
                throw r.error("tensor '" + name + "' has both raw_data and typed values");
            }
            data = raw;
        } else if (typed != null) {
            data = typed.toBytes(type);
        } else {
            data = ByteBuffer.allocate(0);
        }
        try {
            return new OnnxTensor(name, type, shape, data);
        } catch (OnnxFormatException | ArithmeticException e) {
            throw r.error(e.getMessage());
        }
    }

    /** The values of one of TensorProto's typed fields, packed or not, as raw bits until the type is known. */
    private static final class TypedValues {
        final int field;
        long[] values = new long[16];
        int count;

        TypedValues(int field) {
            this.field = field;
        }

        void read(ProtoReader r) {
            boolean fixed32 = field == TENSOR_FLOAT_DATA;
            boolean fixed64 = field == TENSOR_DOUBLE_DATA;
            if (r.wireType() == ProtoReader.LENGTH_DELIMITED) {
                ProtoReader packed = r.message();
                while (packed.hasRemaining()) {
                    add(fixed32 ? packed.fixed32() : fixed64 ? packed.fixed64() : packed.varint());
                }
            } else {
                r.expect(fixed32 ? ProtoReader.FIXED32 : fixed64 ? ProtoReader.FIXED64 : ProtoReader.VARINT,
                        "TensorProto typed data");
                add(fixed32 ? r.fixed32() : fixed64 ? r.fixed64() : r.varint());
            }
        }

        private void add(long v) {
            if (count == values.length) {
                values = Arrays.copyOf(values, count * 2);
            }
            values[count++] = v;
        }

        /** Little-endian element bytes: each value contributes its low bytes (a float, a half in an int32, ...). */
        ByteBuffer toBytes(OnnxType type) {
            int width = switch (field) {
                case TENSOR_FLOAT_DATA -> 4;
                case TENSOR_DOUBLE_DATA, TENSOR_INT64_DATA -> 8;
                // 8- and 16-bit types, float16 and bfloat16 bits included, each take one int32
                case TENSOR_INT32_DATA -> Math.min(type.bytes(), 4);
                default -> type.bytes();
            };
            ByteBuffer b = ByteBuffer.allocate(count * width).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < count; i++) {
                long v = values[i];
                for (int k = 0; k < width; k++) {
                    b.put((byte) (v >>> (8 * k)));
                }
            }
            return b.flip();
        }
    }

    private static void repeatedVarints(ProtoReader r, LongConsumer sink) {
        if (r.wireType() == ProtoReader.LENGTH_DELIMITED) {
            ProtoReader packed = r.message();
            while (packed.hasRemaining()) {
                sink.accept(packed.varint());
            }
        } else {
            r.expect(ProtoReader.VARINT, "repeated int64");
            sink.accept(r.varint());
        }
    }

    private static ProtoReader message(ProtoReader r, String what) {
        r.expect(ProtoReader.LENGTH_DELIMITED, what);
        return r.message();
    }

    private static String string(ProtoReader r, String what) {
        r.expect(ProtoReader.LENGTH_DELIMITED, what);
        return r.string();
    }

    private static ByteBuffer bytes(ProtoReader r, String what) {
        r.expect(ProtoReader.LENGTH_DELIMITED, what);
        return r.bytes();
    }
}
