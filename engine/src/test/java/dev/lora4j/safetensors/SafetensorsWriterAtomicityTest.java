package dev.lora4j.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A write that fails midway must leave the target as it was and no temporary file behind. */
class SafetensorsWriterAtomicityTest {

    @TempDir
    Path dir;

    private List<Path> folderContents() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.sorted().toList();
        }
    }

    @Test
    void aFailingTensorSourceLeavesTheExistingFileIntact() throws IOException {
        Path target = dir.resolve("adapter_model.safetensors");
        new SafetensorsWriter().metadata("format", "pt").add("old", new long[] {3}, new float[] {1, 2, 3})
                .write(target);
        byte[] before = Files.readAllBytes(target);

        IOException boom = new IOException("disk on fire");
        SafetensorsWriter failing = new SafetensorsWriter()
                .add("a", new long[] {1024}, new float[1024])
                .add("b", DType.F32, new long[] {4}, () -> {
                    throw boom;
                })
                .add("c", new long[] {1}, new float[] {1});
        IOException thrown = assertThrows(IOException.class, () -> failing.write(target));
        assertSame(boom, thrown);

        assertArrayEquals(before, Files.readAllBytes(target));
        assertEquals(List.of(target), folderContents(), "the temporary file is removed");
        try (SafetensorsFile f = SafetensorsFile.open(target)) {
            assertArrayEquals(new float[] {1, 2, 3}, f.floats("old"));
        }
    }

    @Test
    void aSourceGivingTheWrongSizeFailsWithoutCreatingTheTarget() {
        Path target = dir.resolve("new.safetensors");
        SafetensorsWriter wrong = new SafetensorsWriter()
                .add("w", DType.F16, new long[] {2, 2}, () -> ByteBuffer.allocate(6));
        IOException e = assertThrows(IOException.class, () -> wrong.write(target));
        assertEquals(target + ": tensor 'w' is F16 [2, 2] = 8 bytes, but its source gave 6", e.getMessage());
        assertFalse(Files.exists(target));
    }

    @Test
    void aMissingFolderIsReportedAsSuch() {
        Path target = dir.resolve("no/such/folder/model.safetensors");
        NoSuchFileException e = assertThrows(NoSuchFileException.class,
                () -> new SafetensorsWriter().add("w", new long[] {1}, new float[] {1}).write(target));
        assertEquals(target.getParent() + ": cannot write " + target + ": no such folder", e.getMessage());
    }

    @Test
    void aSuccessfulWriteReplacesTheTarget() throws IOException {
        Path target = dir.resolve("model.safetensors");
        new SafetensorsWriter().add("v1", new long[] {1}, new float[] {1}).write(target);
        new SafetensorsWriter().add("v2", new long[] {1}, new float[] {2}).write(target);
        try (SafetensorsFile f = SafetensorsFile.open(target)) {
            assertEquals(List.of("v2"), f.names());
        }
        assertEquals(List.of(target), folderContents());
    }

    @Test
    void largeArraysAreWrittenInChunks() throws IOException {
        float[] big = new float[(1 << 16) * 3 + 5];
        long[] ids = new long[(1 << 16) + 1];
        for (int i = 0; i < big.length; i++) {
            big[i] = i * 0.5f;
        }
        for (int i = 0; i < ids.length; i++) {
            ids[i] = -i;
        }
        Path target = dir.resolve("big.safetensors");
        new SafetensorsWriter().add("big", new long[] {big.length}, big).add("ids", new long[] {ids.length}, ids)
                .write(target);
        try (SafetensorsFile f = SafetensorsFile.open(target)) {
            assertArrayEquals(big, f.floats("big"));
            assertArrayEquals(ids, f.longs("ids"));
        }
    }
}
