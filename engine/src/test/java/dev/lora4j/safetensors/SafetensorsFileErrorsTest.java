package dev.lora4j.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every malformed-file case, checked by its exact message: the message is what a user sees. */
class SafetensorsFileErrorsTest {

    @TempDir
    Path dir;

    private static final String A_F32_6 = "\"a\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24]}";

    private String failure(Path file) {
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(file));
        assertEquals(file, e.file());
        assertTrue(e.getMessage().startsWith(file.toString()), "the message names the file: " + e.getMessage());
        return e.getMessage().substring(file.toString().length());
    }

    private String failure(String header, int dataBytes) throws IOException {
        return failure(TestFiles.raw(dir.resolve("bad.safetensors"), header, dataBytes));
    }

    @Test
    void truncatedBeforeTheHeaderLength() throws IOException {
        Path file = Files.write(dir.resolve("short.safetensors"), new byte[] {1, 2, 3, 4, 5});
        assertEquals(": the file is truncated: it is 5 bytes, shorter than the 8-byte header length that starts a"
                + " safetensors file", failure(file));
    }

    @Test
    void emptyFile() throws IOException {
        Path file = Files.write(dir.resolve("empty.safetensors"), new byte[0]);
        assertEquals(": the file is truncated: it is 0 bytes, shorter than the 8-byte header length that starts a"
                + " safetensors file", failure(file));
    }

    @Test
    void headerLengthLargerThanTheFile() throws IOException {
        Path file = TestFiles.raw(dir.resolve("cut.safetensors"), "{" + A_F32_6 + "}", 24);
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(bytes, 30));
        assertEquals(": header length 55 is larger than the file (30 bytes): the file is truncated or not safetensors",
                failure(file));
    }

    @Test
    void hugeHeaderLength() throws IOException {
        byte[] bytes = new byte[16];
        java.util.Arrays.fill(bytes, (byte) 0xFF);
        Path file = Files.write(dir.resolve("ff.safetensors"), bytes);
        assertEquals(": header length 18446744073709551615 is larger than the file (16 bytes): the file is truncated"
                + " or not safetensors", failure(file));
    }

    @Test
    void headerLengthAboveTheLimit() throws IOException {
        Path file = dir.resolve("sparse.safetensors");
        try (java.io.RandomAccessFile sparse = new java.io.RandomAccessFile(file.toFile(), "rw")) {
            sparse.write(java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                    .putLong(100_000_001L).array());
            sparse.setLength(8 + 100_000_001L + 64); // sparse: no disk space used
        }
        assertEquals(": header length 100000001 exceeds the 100000000-byte limit: the file is corrupt or not"
                + " safetensors", failure(file));
    }

    @Test
    void dataShorterThanTheTensors() throws IOException {
        assertEquals(": tensor 'a': data_offsets [0, 24] run past the end of the data (10 bytes after the header)",
                failure("{" + A_F32_6 + "}", 10));
    }

    @Test
    void trailingBytesAfterTheLastTensor() throws IOException {
        assertEquals(": the data after the header is 30 bytes but the tensors cover 24: the file is truncated or has"
                + " trailing bytes", failure("{" + A_F32_6 + "}", 30));
    }

    @Test
    void headerThatIsNotJson() throws IOException {
        assertTrue(failure("{not json}", 0).startsWith(": header is not valid JSON: Unexpected character ('n'"));
        assertTrue(failure("{\"a\":{\"dtype\":\"F32\"", 0)
                .startsWith(": header is not valid JSON: Unexpected end-of-input"));
        assertEquals(": header is not a JSON object", failure("[1, 2]", 0));
        assertEquals(": header has content after its JSON object", failure("{}{}", 0));
    }

    @Test
    void headerThatIsNotUtf8() throws IOException {
        byte[] latin1 = "{\"caf\u00e9\":1}".getBytes(StandardCharsets.ISO_8859_1);
        Path file = TestFiles.raw(dir.resolve("latin1.safetensors"), "", 0);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 + latin1.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        Files.write(file, b.putLong(latin1.length).put(latin1).array());
        assertTrue(failure(file).startsWith(": header is not valid JSON: Invalid UTF-8"), failure(file));
    }

    @Test
    void offsetsThatOverlap() throws IOException {
        String b = "\"b\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[16,40]}";
        assertEquals(": tensors 'a' [0, 24] and 'b' [16, 40] overlap", failure("{" + b + "," + A_F32_6 + "}", 40));
    }

    @Test
    void offsetsWithAGap() throws IOException {
        String b = "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[32,40]}";
        assertEquals(": data bytes [24, 32) belong to no tensor (gap before 'b')",
                failure("{" + A_F32_6 + "," + b + "}", 40));
        String late = "\"c\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[1,3]}";
        assertEquals(": data bytes [0, 1) belong to no tensor (gap before 'c')", failure("{" + late + "}", 3));
    }

    @Test
    void badOffsetsOrShapes() throws IOException {
        assertEquals(": tensor 'a': data_offsets must be [begin, end] with 0 <= begin <= end, got [8,0]",
                failure("{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[8,0]}}", 8));
        assertEquals(": tensor 'a': data_offsets must be [begin, end] with 0 <= begin <= end, got [-1,7]",
                failure("{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[-1,7]}}", 8));
        assertEquals(": tensor 'a': data_offsets must be [begin, end] with 0 <= begin <= end, got null",
                failure("{\"a\":{\"dtype\":\"U8\",\"shape\":[8]}}", 8));
        assertEquals(": tensor 'a': shape must be an array of non-negative integers, got [2,-4]",
                failure("{\"a\":{\"dtype\":\"U8\",\"shape\":[2,-4],\"data_offsets\":[0,8]}}", 8));
        assertEquals(": tensor 'a': shape must be an array of non-negative integers, got [2.5]",
                failure("{\"a\":{\"dtype\":\"U8\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8));
        assertEquals(": tensor 'a': entry is not a JSON object: 3", failure("{\"a\":3}", 0));
        assertEquals(": tensor 'a': dtype is missing or not a string",
                failure("{\"a\":{\"shape\":[8],\"data_offsets\":[0,8]}}", 8));
        assertEquals(": tensor 'a': shape [9223372036854775807, 2] has too many elements",
                failure("{\"a\":{\"dtype\":\"U8\",\"shape\":[9223372036854775807,2],\"data_offsets\":[0,8]}}", 8));
    }

    @Test
    void byteSizeThatDoesNotMatchTheShape() throws IOException {
        assertEquals(": tensor 'a' is F32 [2, 3] = 24 bytes, but its data_offsets [0, 20] span 20 bytes",
                failure("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 20));
    }

    @Test
    void duplicateNames() throws IOException {
        String second = "\"a\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[24,48]}";
        assertEquals(": duplicate tensor name 'a' in the header", failure("{" + A_F32_6 + "," + second + "}", 48));
        assertEquals(": duplicate __metadata__ in the header",
                failure("{\"__metadata__\":{},\"__metadata__\":{}}", 0));
        assertTrue(failure("{\"a\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1)
                .startsWith(": header is not valid JSON: Duplicate field 'dtype'"));
    }

    @Test
    void unknownDtypeNamesTheTensor() throws IOException {
        assertEquals(": tensor 'a' has unknown dtype 'F8_E4M3' (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8,"
                + " BOOL)", failure("{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1));
        assertEquals(": tensor 'a' has unknown dtype 'f32' (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8,"
                + " BOOL)", failure("{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4));
    }

    @Test
    void metadataMustBeStrings() throws IOException {
        assertEquals(": __metadata__ value of 'n' is not a string: 3", failure("{\"__metadata__\":{\"n\":3}}", 0));
        assertEquals(": __metadata__ is not a JSON object of strings", failure("{\"__metadata__\":[]}", 0));
    }

    @Test
    void gitLfsPointer() throws IOException {
        Path file = Files.writeString(dir.resolve("adapter_model.safetensors"), """
                version https://git-lfs.github.com/spec/v1
                oid sha256:a67391b4486d5c23a36619c72401b7443449a3c6051d7b9ee640bcab981b716f
                size 591352
                """);
        assertEquals(" is a Git LFS pointer, not the tensor file: run `git lfs pull`", failure(file));
    }

    @Test
    void pytorchPickles() throws IOException {
        String advice = " is a PyTorch pickle (.bin); convert it to safetensors (e.g. with Python:"
                + " `safetensors.torch.save_file(torch.load(path), 'adapter_model.safetensors')`)";
        // torch.save since 1.6 writes a zip archive
        Path zip = Files.write(dir.resolve("adapter_model.bin"),
                new byte[] {'P', 'K', 3, 4, 20, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0});
        assertEquals(advice, failure(zip));
        // older torch.save: a bare pickle, protocol 2
        Path legacy = Files.write(dir.resolve("pytorch_model.bin"),
                new byte[] {(byte) 0x80, 2, (byte) 0x8a, 10, 0x6c, (byte) 0xfc, (byte) 0x9c, 0x46, (byte) 0xf9, 0x20});
        assertEquals(advice, failure(legacy));
    }

    @Test
    void folderInsteadOfFile() {
        assertEquals(" is a folder, not a safetensors file; open a checkpoint folder with SafetensorsCheckpoint.open",
                failure(dir));
    }
}
