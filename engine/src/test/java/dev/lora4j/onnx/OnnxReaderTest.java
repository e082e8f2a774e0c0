package dev.lora4j.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxReaderTest {
    // onnx.proto field numbers, spelled out again so the test does not trust the reader's own constants
    private static final int MODEL_IR_VERSION = 1;
    private static final int MODEL_PRODUCER = 2;
    private static final int MODEL_GRAPH = 7;
    private static final int MODEL_OPSET = 8;
    private static final int GRAPH_NODE = 1;
    private static final int GRAPH_NAME = 2;
    private static final int GRAPH_INITIALIZER = 5;
    private static final int GRAPH_DOC = 10;
    private static final int GRAPH_INPUT = 11;
    private static final int GRAPH_OUTPUT = 12;
    private static final int NODE_INPUT = 1;
    private static final int NODE_OUTPUT = 2;
    private static final int NODE_NAME = 3;
    private static final int NODE_OP = 4;
    private static final int NODE_ATTRIBUTE = 5;
    private static final int DIMS = 1;
    private static final int DATA_TYPE = 2;
    private static final int FLOAT_DATA = 4;
    private static final int INT32_DATA = 5;
    private static final int INT64_DATA = 7;
    private static final int NAME = 8;
    private static final int RAW_DATA = 9;
    private static final int DOUBLE_DATA = 10;
    private static final int DATA_LOCATION = 14;

    private static Proto tensor(String name, int type, long... dims) {
        Proto t = new Proto();
        for (long d : dims) {
            t.varint(DIMS, d); // unpacked, as onnx writes dims
        }
        return t.varint(DATA_TYPE, type).string(NAME, name);
    }

    private static Proto node(String name, String op, List<String> in, List<String> out) {
        Proto n = new Proto();
        in.forEach(i -> n.string(NODE_INPUT, i));
        out.forEach(o -> n.string(NODE_OUTPUT, o));
        return n.string(NODE_NAME, name).string(NODE_OP, op)
                .message(NODE_ATTRIBUTE, new Proto().string(1, "transA").varint(3, 0).varint(20, 2));
    }

    private static Proto valueInfo(String name) {
        return new Proto().string(1, name).message(2, new Proto().message(1, new Proto().varint(1, 1)));
    }

    private static OnnxGraph parse(Proto graph) {
        Proto model = new Proto().varint(MODEL_IR_VERSION, 8).string(MODEL_PRODUCER, "pytorch")
                .message(MODEL_OPSET, new Proto().string(1, "").varint(2, 14))
                .message(MODEL_GRAPH, graph)
                .varint(99, 7); // a field from a future version: skipped
        return OnnxReader.parse(model.buffer(), "tiny.onnx");
    }

    private static OnnxGraph single(Proto tensor) {
        return parse(new Proto().message(GRAPH_INITIALIZER, tensor));
    }

    @Test
    void varintsOfEveryLength() {
        long[] values = {0, 1, 127, 128, 300, 16_383, 16_384, Integer.MAX_VALUE, Long.MAX_VALUE, -1, Long.MIN_VALUE};
        Proto p = new Proto();
        for (long v : values) {
            p.rawVarint(v);
        }
        ProtoReader r = new ProtoReader(p.buffer(), "varints");
        for (long v : values) {
            assertEquals(v, r.varint());
        }
        assertTrue(!r.hasRemaining());
        assertEquals(10, new Proto().rawVarint(-1).toBytes().length, "negative int64 takes ten bytes");
    }

    @Test
    void graphNodesInputsAndOutputs() {
        Proto g = new Proto()
                .string(GRAPH_NAME, "main")
                .message(GRAPH_NODE, node("/mm", "MatMul", List.of("x", "onnx::MatMul_7"), List.of("/mm_out")))
                .message(GRAPH_NODE, node("/add", "Add", List.of("lin.bias", "/mm_out"), List.of("y")))
                .string(GRAPH_DOC, "skipped")
                .message(GRAPH_INITIALIZER, tensor("onnx::MatMul_7", 1, 2, 1).packedFloats(FLOAT_DATA, 1f, 2f))
                .message(GRAPH_INITIALIZER, tensor("lin.bias", 1, 1).float32(FLOAT_DATA, 0.5f))
                .message(GRAPH_INPUT, valueInfo("x"))
                // before IR version 4 initializers were listed as inputs too; they are not real inputs
                .message(GRAPH_INPUT, valueInfo("lin.bias"))
                .message(GRAPH_OUTPUT, valueInfo("y"));
        OnnxGraph graph = parse(g);
        assertEquals("main", graph.name());
        assertEquals(List.of(new OnnxNode("/mm", "MatMul", List.of("x", "onnx::MatMul_7"), List.of("/mm_out")),
                new OnnxNode("/add", "Add", List.of("lin.bias", "/mm_out"), List.of("y"))), graph.nodes());
        assertEquals(List.of("onnx::MatMul_7", "lin.bias"), List.copyOf(graph.initializers().keySet()));
        assertEquals(List.of("x"), graph.inputs());
        assertEquals(List.of("y"), graph.outputs());
    }

    @Test
    void rawData() {
        ByteBuffer raw = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 6; i++) {
            raw.putFloat(i * 1.5f);
        }
        OnnxTensor t = single(tensor("w", 1, 2, 3).bytes(RAW_DATA, raw.array())).initializers().get("w");
        assertEquals(OnnxType.FLOAT, t.type());
        assertArrayEquals(new long[] {2, 3}, t.dims());
        assertArrayEquals(new float[] {0f, 1.5f, 3f, 4.5f, 6f, 7.5f}, t.floats());
    }

    @Test
    void multiByteDimsAndPackedDims() {
        byte[] raw = new byte[300];
        raw[299] = 42;
        OnnxTensor t = single(new Proto().packedVarints(DIMS, 1, 300).varint(DATA_TYPE, 2).string(NAME, "u8")
                .bytes(RAW_DATA, raw)).initializers().get("u8");
        assertEquals(OnnxType.UINT8, t.type());
        assertArrayEquals(new long[] {1, 300}, t.dims());
        assertEquals(42, t.data().get(299));
    }

    @Test
    void packedAndUnpackedFloatData() {
        OnnxTensor packed = single(tensor("p", 1, 3).packedFloats(FLOAT_DATA, 1f, -2f, 3.25f))
                .initializers().get("p");
        assertArrayEquals(new float[] {1f, -2f, 3.25f}, packed.floats());
        OnnxTensor unpacked = single(tensor("u", 1, 2).float32(FLOAT_DATA, 0.125f).float32(FLOAT_DATA, -7f))
                .initializers().get("u");
        assertArrayEquals(new float[] {0.125f, -7f}, unpacked.floats());
        // a writer may split one repeated field into several packed runs
        OnnxTensor split = single(tensor("s", 1, 3).packedFloats(FLOAT_DATA, 1f).packedFloats(FLOAT_DATA, 2f, 3f))
                .initializers().get("s");
        assertArrayEquals(new float[] {1f, 2f, 3f}, split.floats());
    }

    @Test
    void integerAndDoubleData() {
        OnnxTensor longs = single(tensor("i64", 7, 3).packedVarints(INT64_DATA, -1, 300, Long.MAX_VALUE))
                .initializers().get("i64");
        assertEquals(-1, longs.data().getLong(0));
        assertEquals(300, longs.data().getLong(8));
        assertEquals(Long.MAX_VALUE, longs.data().getLong(16));

        // float16 bits travel in int32_data, two bytes each
        OnnxTensor halves = single(tensor("h", 10, 2).varint(INT32_DATA, 0x3c00).varint(INT32_DATA, 0xc000))
                .initializers().get("h");
        assertEquals(4, halves.data().remaining());
        assertEquals((short) 0x3c00, halves.data().getShort(0));
        assertEquals((short) 0xc000, halves.data().getShort(2));

        OnnxTensor doubles = single(tensor("d", 11, 1).fixed64(DOUBLE_DATA, Double.doubleToRawLongBits(Math.PI)))
                .initializers().get("d");
        assertEquals(Math.PI, doubles.data().getDouble(0));
    }

    @Test
    void unknownFieldsOfEveryWireTypeAreSkipped() {
        Proto t = tensor("w", 1, 1).fixed32(50, 123).fixed64(51, 456).varint(52, 789).string(12, "doc")
                .float32(FLOAT_DATA, 9f);
        assertArrayEquals(new float[] {9f}, single(t).initializers().get("w").floats());
    }

    @Test
    void readsFromAFile(@TempDir Path dir) throws Exception {
        Proto model = new Proto().message(MODEL_GRAPH, new Proto().message(GRAPH_INITIALIZER,
                tensor("w", 1, 2).packedFloats(FLOAT_DATA, 4f, 5f)));
        Path f = Files.write(dir.resolve("m.onnx"), model.toBytes());
        assertArrayEquals(new float[] {4f, 5f}, OnnxReader.read(f).initializers().get("w").floats());
    }

    @Test
    void errorsNameTheSourceAndTheProblem() {
        OnnxFormatException wrongSize = assertThrows(OnnxFormatException.class,
                () -> single(tensor("w", 1, 2, 2).packedFloats(FLOAT_DATA, 1f, 2f, 3f)));
        assertTrue(wrongSize.getMessage().startsWith("tiny.onnx: "), wrongSize.getMessage());
        assertTrue(wrongSize.getMessage().contains("'w'") && wrongSize.getMessage().contains("[2, 2]"),
                wrongSize.getMessage());

        OnnxFormatException external = assertThrows(OnnxFormatException.class,
                () -> single(tensor("big", 1, 1).varint(DATA_LOCATION, 1)));
        assertTrue(external.getMessage().contains("external data"), external.getMessage());

        byte[] whole = new Proto().message(MODEL_GRAPH, new Proto().message(GRAPH_INITIALIZER,
                tensor("w", 1, 1).float32(FLOAT_DATA, 1f))).toBytes();
        ByteBuffer cut = ByteBuffer.wrap(whole, 0, whole.length - 2);
        OnnxFormatException truncated = assertThrows(OnnxFormatException.class,
                () -> OnnxReader.parse(cut, "cut.onnx"));
        assertTrue(truncated.getMessage().startsWith("cut.onnx: ") && truncated.getMessage().contains("byte"),
                truncated.getMessage());

        OnnxFormatException group = assertThrows(OnnxFormatException.class,
                () -> OnnxReader.parse(new Proto().tag(3, 3).buffer(), "group.onnx"));
        assertTrue(group.getMessage().contains("wire type 3"), group.getMessage());

        OnnxFormatException noGraph = assertThrows(OnnxFormatException.class,
                () -> OnnxReader.parse(new Proto().varint(MODEL_IR_VERSION, 8).buffer(), "empty.onnx"));
        assertTrue(noGraph.getMessage().contains("no graph"), noGraph.getMessage());

        OnnxFormatException strings = assertThrows(OnnxFormatException.class,
                () -> single(tensor("s", 8, 1).string(6, "text")));
        assertTrue(strings.getMessage().contains("strings"), strings.getMessage());
    }
}
