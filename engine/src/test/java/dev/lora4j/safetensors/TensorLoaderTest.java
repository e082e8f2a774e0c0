package dev.lora4j.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The DJL bridge on the PyTorch engine (CPU). */
class TensorLoaderTest {

    private static NDManager manager;

    @TempDir
    Path dir;

    @BeforeAll
    static void engine() {
        System.setProperty("ai.djl.offline", "true");
        manager = NDManager.newBaseManager("PyTorch");
    }

    @AfterAll
    static void closeEngine() {
        manager.close();
    }

    @Test
    void f16LoadsAsFloat32OrKeepsItsType() throws IOException {
        String name = "base_model.model.gpt_neox.layers.3.attention.query_key_value.lora_B.weight";
        try (SafetensorsFile f = SafetensorsFile.open(TestFiles.peftAdapter("bk7195"))) {
            NDArray widened = TensorLoader.load(manager, f, name, DataType.FLOAT32);
            assertEquals(DataType.FLOAT32, widened.getDataType());
            assertEquals(new Shape(6144, 1), widened.getShape());
            assertEquals(name, widened.getName());
            assertArrayEquals(f.floats(name), widened.toFloatArray(), "torch's half->float agrees with ours");

            NDArray half = TensorLoader.load(manager, f, name);
            assertEquals(DataType.FLOAT16, half.getDataType());
            assertArrayEquals(TestFiles.bytesOf(f.data(name)), TestFiles.bytesOf(half.toByteBuffer()));
        }
    }

    @Test
    void bf16IsWidenedToFloat32BecauseTheEngineHasNoBfloat16() throws IOException {
        ByteBuffer bits = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
                .putShort((short) 0x3F80).putShort((short) 0xC049).putShort((short) 0x0001).putShort((short) 0x7F80)
                .flip();
        Path file = dir.resolve("bf16.safetensors");
        new SafetensorsWriter().add("w", DType.BF16, new long[] {2, 2}, bits).write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            float[] expected = {1f, -3.140625f, 0x1p-133f, Float.POSITIVE_INFINITY};
            assertArrayEquals(expected, f.floats("w"));
            NDArray widened = TensorLoader.load(manager, f, "w", DataType.FLOAT32);
            assertEquals(new Shape(2, 2), widened.getShape());
            assertArrayEquals(expected, widened.toFloatArray());
            NDArray natural = TensorLoader.load(manager, f, "w");
            assertEquals(DataType.FLOAT32, natural.getDataType());
            assertArrayEquals(expected, natural.toFloatArray());
            NDArray doubles = TensorLoader.load(manager, f, "w", DataType.FLOAT64);
            assertArrayEquals(new double[] {1, -3.140625, 0x1p-133, Double.POSITIVE_INFINITY}, doubles.toDoubleArray());

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> TensorLoader.load(manager, f, "w", DataType.BFLOAT16));
            assertEquals("cannot load tensor 'w' as bfloat16: DJL's PyTorch engine supports only [float32, float64,"
                    + " float16, uint8, int32, int8, int64, boolean] (other types abort the JVM)", e.getMessage());
        }
    }

    @Test
    void everyDtypeLoads() throws IOException {
        SafetensorsWriter writer = new SafetensorsWriter();
        for (DType t : DType.values()) {
            byte[] bytes = new byte[4 * t.bytes()];
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = t == DType.BOOL ? (byte) (i % 2) : (byte) (37 * i + 129);
            }
            writer.add(t.name(), t, new long[] {2, 2}, ByteBuffer.wrap(bytes));
        }
        Path file = dir.resolve("all.safetensors");
        writer.write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (DType t : DType.values()) {
                NDArray array = TensorLoader.load(manager, f, t.name());
                assertEquals(new Shape(2, 2), array.getShape());
                switch (t) {
                    case BF16 -> assertArrayEquals(f.floats(t.name()), array.toFloatArray());
                    case I16 -> {
                        assertEquals(DataType.INT32, array.getDataType());
                        assertArrayEquals(f.longs(t.name()), array.toType(DataType.INT64, true).toLongArray());
                    }
                    default -> {
                        assertEquals(t.dataType(), array.getDataType(), t.name());
                        assertArrayEquals(TestFiles.bytesOf(f.data(t.name())),
                                TestFiles.bytesOf(array.toByteBuffer()), t.name());
                    }
                }
            }
        }
    }

    @Test
    void loadedArraysDoNotAliasTheMappedFile() throws IOException {
        Path file = dir.resolve("alias.safetensors");
        new SafetensorsWriter().add("w", new long[] {4}, new float[] {1, 2, 3, 4}).write(file);
        long dataStart;
        NDArray same;
        NDArray converted;
        NDArray aliasing;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            same = TensorLoader.load(manager, f, "w");
            converted = TensorLoader.load(manager, f, "w", DataType.FLOAT64);
            // the control: what manager.create does with the mapped buffer on its own
            aliasing = manager.create(f.data("w"), new Shape(4), DataType.FLOAT32);
            dataStart = Files.size(file) - 16;
        }
        // rewrite the tensor's bytes in place (same inode), after the file was closed
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putFloat(-1).putFloat(-1).putFloat(-1)
                    .putFloat(-1).flip(), dataStart);
        }
        assertArrayEquals(new float[] {-1, -1, -1, -1}, aliasing.toFloatArray(), "from_blob aliases the mapping");
        assertArrayEquals(new float[] {1, 2, 3, 4}, same.toFloatArray(), "load copies");
        assertArrayEquals(new double[] {1, 2, 3, 4}, converted.toDoubleArray());
        same.addi(1); // writable: a view of the read-only mapping would crash here
        assertArrayEquals(new float[] {2, 3, 4, 5}, same.toFloatArray());
        aliasing.close();
    }

    @Test
    void emptyTensorsLoad() throws IOException {
        Path file = dir.resolve("empty.safetensors");
        new SafetensorsWriter().add("e", new long[] {0, 3}, new float[0]).write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            NDArray e = TensorLoader.load(manager, f, "e", DataType.FLOAT16);
            assertEquals(new Shape(0, 3), e.getShape());
            assertEquals(DataType.FLOAT16, e.getDataType());
        }
    }

    @Test
    void djlsOwnDecoderAgrees() throws IOException {
        Path adapter = TestFiles.peftAdapter("sanaear");
        NDList decoded;
        try (InputStream in = Files.newInputStream(adapter)) {
            decoded = NDList.decode(manager, in);
        }
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(adapter)) {
            assertEquals(checkpoint.names().size(), decoded.size());
            for (NDArray theirs : decoded) {
                NDArray ours = TensorLoader.load(manager, checkpoint, theirs.getName());
                assertEquals(theirs.getShape(), ours.getShape(), theirs.getName());
                assertEquals(theirs.getDataType(), ours.getDataType());
                assertArrayEquals(theirs.toFloatArray(), ours.toFloatArray(), theirs.getName());
            }
        }
    }

    @Test
    void ndArraysAreWrittenWithTheirDtype() throws IOException {
        NDArray f32 = manager.arange(6f).reshape(2, 3);
        NDArray transposed = f32.transpose(); // not contiguous
        NDArray f16 = f32.toType(DataType.FLOAT16, true).div(3);
        NDArray f64 = f32.toType(DataType.FLOAT64, true).mul(-1.5);
        NDArray i64 = manager.create(new long[] {Long.MIN_VALUE, 0, Long.MAX_VALUE});
        Path file = dir.resolve("nd.safetensors");
        new SafetensorsWriter()
                .add("f32", f32).add("t", transposed).add("f16", f16).add("f64", f64).add("i64", i64)
                .write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(DType.F32, f.info("f32").dtype());
            assertArrayEquals(new long[] {2, 3}, f.info("f32").shape());
            assertArrayEquals(f32.toFloatArray(), f.floats("f32"));
            assertArrayEquals(new long[] {3, 2}, f.info("t").shape());
            assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, f.floats("t"));
            assertEquals(DType.F16, f.info("f16").dtype());
            assertArrayEquals(f16.toType(DataType.FLOAT32, true).toFloatArray(), f.floats("f16"));
            assertEquals(DType.F64, f.info("f64").dtype());
            assertArrayEquals(new float[] {-0f, -1.5f, -3f, -4.5f, -6f, -7.5f}, f.floats("f64"));
            assertEquals(DType.I64, f.info("i64").dtype());
            assertArrayEquals(new long[] {Long.MIN_VALUE, 0, Long.MAX_VALUE}, f.longs("i64"));
        }
    }
}
