package dev.lora4j.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsRoundTripTest {

    @TempDir
    Path dir;

    private static byte[] pattern(int length, int seed) {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = (byte) (seed + 37 * i);
        }
        return bytes;
    }

    @Test
    void everyDtypeRoundTripsItsBytesShapeAndName() throws IOException {
        long[] shape = {2, 3};
        SafetensorsWriter writer = new SafetensorsWriter();
        for (DType t : DType.values()) {
            writer.add("t_" + t, t, shape, ByteBuffer.wrap(pattern(6 * t.bytes(), t.ordinal())));
        }
        Path file = dir.resolve("all.safetensors");
        writer.write(file);

        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(DType.values().length, f.names().size());
            for (DType t : DType.values()) {
                TensorInfo info = f.info("t_" + t);
                assertEquals(t, info.dtype());
                assertArrayEquals(shape, info.shape());
                assertEquals(6, info.numel());
                assertEquals(6L * t.bytes(), info.byteSize());
                ByteBuffer data = f.data("t_" + t);
                assertTrue(data.isReadOnly());
                assertEquals(ByteOrder.LITTLE_ENDIAN, data.order());
                assertArrayEquals(pattern(6 * t.bytes(), t.ordinal()), TestFiles.bytesOf(data), t.toString());
            }
        }
    }

    @Test
    void typedValuesRoundTripThroughFloatsAndLongs() throws IOException {
        float[] f32 = {1.5f, -0.0f, Float.MIN_VALUE, Float.MAX_VALUE, Float.NaN, Float.NEGATIVE_INFINITY};
        long[] i64 = {Long.MIN_VALUE, -1, 0, 1, Long.MAX_VALUE, 42};
        ByteBuffer f64 = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putDouble(0.1).putDouble(-1e300).flip();
        ByteBuffer f16 = ByteBuffer.allocate(6).order(ByteOrder.LITTLE_ENDIAN)
                .putShort((short) 0x3C00).putShort((short) 0x0001).putShort((short) 0xFC00).flip();
        ByteBuffer bf16 = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN)
                .putShort((short) 0x3F80).putShort((short) 0xC049).flip();
        ByteBuffer i32 = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(-7).putInt(Integer.MAX_VALUE).flip();
        ByteBuffer i16 = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN)
                .putShort((short) -300).putShort((short) 300).flip();
        ByteBuffer i8 = ByteBuffer.wrap(new byte[] {-128, 127});
        ByteBuffer u8 = ByteBuffer.wrap(new byte[] {(byte) 255, 1});

        Path file = dir.resolve("typed.safetensors");
        new SafetensorsWriter()
                .add("f32", new long[] {2, 3}, f32)
                .add("i64", new long[] {6}, i64)
                .add("f64", DType.F64, new long[] {2}, f64)
                .add("f16", DType.F16, new long[] {3}, f16)
                .add("bf16", DType.BF16, new long[] {2}, bf16)
                .add("i32", DType.I32, new long[] {2}, i32)
                .add("i16", DType.I16, new long[] {2}, i16)
                .add("i8", DType.I8, new long[] {2}, i8)
                .add("u8", DType.U8, new long[] {2}, u8)
                .write(file);

        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertArrayEquals(f32, f.floats("f32"));
            assertEquals(DType.F32, f.info("f32").dtype());
            assertArrayEquals(i64, f.longs("i64"));
            assertEquals(DType.I64, f.info("i64").dtype());
            assertArrayEquals(new float[] {0.1f, Float.NEGATIVE_INFINITY}, f.floats("f64"));
            assertArrayEquals(new float[] {1.0f, 0x1p-24f, Float.NEGATIVE_INFINITY}, f.floats("f16"));
            assertArrayEquals(new float[] {1.0f, -3.140625f}, f.floats("bf16"));
            assertArrayEquals(new long[] {-7, Integer.MAX_VALUE}, f.longs("i32"));
            assertArrayEquals(new long[] {-300, 300}, f.longs("i16"));
            assertArrayEquals(new long[] {-128, 127}, f.longs("i8"));
            assertArrayEquals(new long[] {255, 1}, f.longs("u8"));

            IllegalArgumentException notFloat = assertThrows(IllegalArgumentException.class, () -> f.floats("i64"));
            assertEquals(file + ": tensor 'i64' is I64, not a floating-point type; read it with longs()",
                    notFloat.getMessage());
            IllegalArgumentException notInt = assertThrows(IllegalArgumentException.class, () -> f.longs("f32"));
            assertEquals(file + ": tensor 'f32' is F32, not an integer type; read it with floats() or data()",
                    notInt.getMessage());
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> f.info("nope"));
            assertEquals(file + ": no tensor 'nope' (the file has 9 tensors)", missing.getMessage());
        }
    }

    @Test
    void namesAreSortedByDefaultOrKeptInInsertionOrderAndMetadataKeepsItsOrder() throws IOException {
        Path sorted = dir.resolve("sorted.safetensors");
        Path asAdded = dir.resolve("added.safetensors");
        for (Path file : List.of(sorted, asAdded)) {
            new SafetensorsWriter()
                    .order(file == sorted ? SafetensorsWriter.Order.BY_NAME : SafetensorsWriter.Order.AS_ADDED)
                    .metadata("zeta", "1")
                    .metadata(Map.of("alpha", "2"))
                    .add("b", new long[] {1}, new float[] {2})
                    .add("c", new long[] {2}, new long[] {3, 4})
                    .add("a", new long[] {}, new float[] {1})
                    .write(file);
        }
        try (SafetensorsFile s = SafetensorsFile.open(sorted); SafetensorsFile a = SafetensorsFile.open(asAdded)) {
            assertEquals(List.of("a", "b", "c"), s.names());
            assertEquals(List.of("b", "c", "a"), a.names());
            assertEquals(List.of("zeta", "alpha"), List.copyOf(s.metadata().keySet()));
            assertEquals("2", s.metadata().get("alpha"));
            assertEquals(0, s.info("a").shape().length, "scalar");
            assertEquals(1, s.info("a").numel());
            assertArrayEquals(new float[] {1}, s.floats("a"));
            assertEquals(new TensorInfo("a", DType.F32, new long[] {}, 0, 4), s.info("a"));
        }
    }

    @Test
    void headerIsCompactJsonPaddedWithSpacesToEightBytes() throws IOException {
        Path file = dir.resolve("padded.safetensors");
        new SafetensorsWriter().metadata("format", "pt").add("w", new long[] {1}, new float[] {1}).write(file);
        byte[] bytes = Files.readAllBytes(file); // the test may: it checks the writer's exact output
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, n % 8);
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        String json = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        assertEquals(json + " ".repeat((int) n - json.length()), header);
        assertEquals(8 + n + 4, bytes.length);
    }

    @Test
    void zeroElementTensorsAreAllowed() throws IOException {
        Path file = dir.resolve("empty.safetensors");
        new SafetensorsWriter()
                .add("empty", new long[] {0, 4}, new float[0])
                .add("x", new long[] {2}, new float[] {5, 6})
                .write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(0, f.info("empty").numel());
            assertEquals(0, f.data("empty").remaining());
            assertArrayEquals(new float[0], f.floats("empty"));
            assertArrayEquals(new float[] {5, 6}, f.floats("x"));
        }
    }

    @Test
    void headerLengthThatLooksLikeAPickleMagicIsStillSafetensors() throws IOException {
        // 640 = 0x280: the file starts with 0x80 0x02, a pickle protocol-2 signature
        String json = "{\"x\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]}}";
        Path file = TestFiles.raw(dir.resolve("640.safetensors"), json + " ".repeat(640 - json.length()), 3);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertArrayEquals(new long[] {0, 1, 2}, f.longs("x"));
        }
    }

    @Test
    void rewritingAPeftFileReproducesItByteForByte() throws IOException {
        for (String adapter : List.of("sanaear", "bk7195", "deepbiolab", "weijun124", "shahidmo")) {
            Path original = TestFiles.peftAdapter(adapter);
            Path copy = dir.resolve(adapter + ".safetensors");
            try (SafetensorsFile f = SafetensorsFile.open(original)) {
                SafetensorsWriter writer = new SafetensorsWriter().metadata(f.metadata());
                for (String name : f.names()) {
                    TensorInfo info = f.info(name);
                    writer.add(name, info.dtype(), info.shape(), f.data(name));
                }
                writer.write(copy);
            }
            assertTrue(Arrays.equals(Files.readAllBytes(original), Files.readAllBytes(copy)), adapter);
        }
    }

    @Test
    void regionsOfTwoGibibytesOrMoreAreRefusedClearly() throws IOException {
        long bytes = 3L << 30;
        String json = "{\"huge\":{\"dtype\":\"U8\",\"shape\":[" + bytes + "],\"data_offsets\":[0," + bytes + "]}}";
        Path file = TestFiles.raw(dir.resolve("huge.safetensors"), json, 0);
        try (RandomAccessFile sparse = new RandomAccessFile(file.toFile(), "rw")) {
            sparse.setLength(sparse.length() + bytes); // sparse: no disk space used
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(bytes, f.info("huge").byteSize());
            IOException e = assertThrows(IOException.class, () -> f.data("huge"));
            assertEquals(file + ": tensor 'huge' is 3221225472 bytes; tensors of 2 GiB or more cannot be mapped as one"
                    + " buffer", e.getMessage());
        }
    }

    @Test
    void closedFileRefusesDataButBuffersAlreadyMappedStayReadable() throws IOException {
        Path file = dir.resolve("closed.safetensors");
        new SafetensorsWriter().add("x", new long[] {2}, new float[] {7, 8}).write(file);
        SafetensorsFile f = SafetensorsFile.open(file);
        ByteBuffer mapped = f.data("x");
        f.close();
        assertEquals(8f, mapped.getFloat(4));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> f.data("x"));
        assertEquals(file + " is closed", e.getMessage());
        assertFalse(f.names().isEmpty(), "the header stays available");
    }

    @Test
    void writerRejectsInconsistentInput() {
        SafetensorsWriter w = new SafetensorsWriter().add("a", new long[] {1}, new float[] {1});
        assertEquals("tensor 'a' was already added",
                assertThrows(IllegalArgumentException.class, () -> w.add("a", new long[] {1}, new float[] {1}))
                        .getMessage());
        assertEquals("tensor 'b' has shape [2, 2] = 4 elements, but the array has 3",
                assertThrows(IllegalArgumentException.class, () -> w.add("b", new long[] {2, 2}, new float[3]))
                        .getMessage());
        assertEquals("tensor 'c' is F16 [3] = 6 bytes, but the buffer has 4",
                assertThrows(IllegalArgumentException.class,
                        () -> w.add("c", DType.F16, new long[] {3}, ByteBuffer.allocate(4))).getMessage());
        assertEquals("'__metadata__' is reserved and cannot name a tensor",
                assertThrows(IllegalArgumentException.class,
                        () -> w.add("__metadata__", new long[] {1}, new float[1])).getMessage());
        assertThrows(IllegalArgumentException.class, () -> w.add("d", new long[] {-1}, new float[0]));
    }
}
