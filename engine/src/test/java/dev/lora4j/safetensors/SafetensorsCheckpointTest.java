package dev.lora4j.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsCheckpointTest {

    private static final String SHARD_1 = "model-00001-of-00002.safetensors";
    private static final String SHARD_2 = "model-00002-of-00002.safetensors";

    @TempDir
    Path dir;

    @BeforeEach
    void twoShards() throws IOException {
        new SafetensorsWriter()
                .metadata("format", "pt")
                .add("layers.0.w", new long[] {2, 2}, new float[] {1, 2, 3, 4})
                .add("embed", new long[] {3}, new float[] {5, 6, 7})
                .add("stray", new long[] {1}, new float[] {0})
                .write(dir.resolve(SHARD_1));
        new SafetensorsWriter()
                .add("layers.1.w", new long[] {2}, new float[] {8, 9})
                .add("positions", new long[] {2}, new long[] {10, 11})
                .write(dir.resolve(SHARD_2));
    }

    private Path index(String weightMap) throws IOException {
        return Files.writeString(dir.resolve(SafetensorsCheckpoint.INDEX_FILE),
                "{\"metadata\": {\"total_size\": 48, \"format\": \"pt\"}, \"weight_map\": {" + weightMap + "}}");
    }

    private Path fullIndex() throws IOException {
        return index("\"layers.1.w\": \"" + SHARD_2 + "\", \"positions\": \"" + SHARD_2 + "\", \"layers.0.w\": \""
                + SHARD_1 + "\", \"embed\": \"" + SHARD_1 + "\"");
    }

    @Test
    void shardedIndexGivesOneViewOverAllShards() throws IOException {
        fullIndex();
        SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(dir);
        try (checkpoint) {
            assertEquals(List.of("embed", "layers.0.w", "layers.1.w", "positions"), checkpoint.names(),
                    "shards in order, each in its data order");
            assertEquals(Map.of("total_size", "48", "format", "pt"), checkpoint.metadata());
            assertEquals(List.of(dir.resolve(SHARD_1).toAbsolutePath(), dir.resolve(SHARD_2).toAbsolutePath()),
                    checkpoint.files());
            assertArrayEquals(new float[] {1, 2, 3, 4}, checkpoint.floats("layers.0.w"));
            assertArrayEquals(new float[] {8, 9}, checkpoint.floats("layers.1.w"));
            assertArrayEquals(new long[] {10, 11}, checkpoint.longs("positions"));
            assertArrayEquals(new long[] {2, 2}, checkpoint.info("layers.0.w").shape());
            assertEquals(8, checkpoint.data("layers.1.w").remaining());
            assertEquals(dir.resolve(SHARD_2).toAbsolutePath(), checkpoint.fileOf("positions"));
            assertTrue(checkpoint.contains("embed"));
            assertFalse(checkpoint.contains("stray"), "a tensor the index does not list is not part of the checkpoint");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> checkpoint.info("stray"));
            assertEquals(dir.resolve(SafetensorsCheckpoint.INDEX_FILE) + ": no tensor 'stray' (the checkpoint has 4"
                    + " tensors in 2 file(s))", e.getMessage());
        }
        assertThrows(IllegalStateException.class, () -> checkpoint.data("embed"), "close closes every shard");
        assertThrows(IllegalStateException.class, () -> checkpoint.data("positions"));
    }

    @Test
    void theIndexFileCanBeOpenedDirectly() throws IOException {
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(fullIndex())) {
            assertEquals(4, checkpoint.names().size());
        }
    }

    @Test
    void missingShard() throws IOException {
        Path index = index("\"embed\": \"" + SHARD_1 + "\", \"head\": \"model-00003-of-00003.safetensors\"");
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class,
                () -> SafetensorsCheckpoint.open(dir));
        assertEquals(index + " lists shard model-00003-of-00003.safetensors (for 1 tensors, e.g. 'head') but "
                + dir.toAbsolutePath().resolve("model-00003-of-00003.safetensors") + " does not exist", e.getMessage());
    }

    @Test
    void indexNamingATensorItsShardLacks() throws IOException {
        Path index = index("\"embed\": \"" + SHARD_2 + "\"");
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class,
                () -> SafetensorsCheckpoint.open(dir));
        assertEquals(index + " maps tensor 'embed' to " + SHARD_2 + ", which has no such tensor", e.getMessage());
    }

    @Test
    void shardOutsideTheIndexFolder() throws IOException {
        Path index = index("\"embed\": \"../" + SHARD_1 + "\"");
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class,
                () -> SafetensorsCheckpoint.open(dir));
        assertEquals(index + ": tensor 'embed' maps to \"../" + SHARD_1 + "\", which is not a file name in the index's"
                + " folder", e.getMessage());
    }

    @Test
    void malformedIndex() throws IOException {
        Path index = Files.writeString(dir.resolve(SafetensorsCheckpoint.INDEX_FILE), "{\"metadata\": {}}");
        assertEquals(index + ": weight_map is missing, empty or not a JSON object",
                assertThrows(SafetensorsFormatException.class, () -> SafetensorsCheckpoint.open(dir)).getMessage());
        Files.writeString(index, "{\"weight_map\": {\"a\": \"x\", \"a\": \"y\"}}");
        assertTrue(assertThrows(SafetensorsFormatException.class, () -> SafetensorsCheckpoint.open(dir)).getMessage()
                .startsWith(index + ": not valid JSON: Duplicate field 'a'"));
    }

    @Test
    void folderWithASingleModelFile() throws IOException {
        Path model = TestFiles.fixtures().resolve("tiny-llama-s2/model");
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(model)) {
            assertEquals(List.of(model.resolve(SafetensorsCheckpoint.SINGLE_FILE)), checkpoint.files());
            assertEquals(21, checkpoint.names().size());
            assertArrayEquals(new long[] {101, 64}, checkpoint.info("model.embed_tokens.weight").shape());
        }
    }

    @Test
    void adapterFolderNeedsTheExplicitFilePath() throws IOException {
        Path adapter = TestFiles.fixtures().resolve("tiny-llama-s2/adapters/qv");
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class,
                () -> SafetensorsCheckpoint.open(adapter));
        assertEquals(adapter + " has neither model.safetensors.index.json nor model.safetensors (for a PEFT adapter"
                + " pass the path of its adapter_model.safetensors)", e.getMessage());
        Path file = adapter.resolve("adapter_model.safetensors");
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(file)) {
            assertFalse(checkpoint.names().isEmpty());
            assertTrue(checkpoint.names().stream().allMatch(n -> n.contains("lora_")), checkpoint.names().toString());
        }
    }

    @Test
    void folderWithOnlyPickles() throws IOException {
        Path folder = Files.createDirectory(dir.resolve("old"));
        Files.write(folder.resolve("pytorch_model.bin"), new byte[] {'P', 'K', 3, 4});
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class,
                () -> SafetensorsCheckpoint.open(folder));
        assertEquals(folder + " has neither model.safetensors.index.json nor model.safetensors; it has"
                + " pytorch_model.bin, PyTorch pickles: convert it to safetensors (e.g. with Python:"
                + " `safetensors.torch.save_file(torch.load(path), 'adapter_model.safetensors')`) (for a PEFT adapter"
                + " pass the path of its adapter_model.safetensors)", e.getMessage());
    }

    @Test
    void lfsPointerShardIsReportedAsSuch() throws IOException {
        fullIndex();
        Files.writeString(dir.resolve(SHARD_2), "version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 9\n");
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class,
                () -> SafetensorsCheckpoint.open(dir));
        assertEquals(dir.toAbsolutePath().resolve(SHARD_2) + " is a Git LFS pointer, not the tensor file: run"
                + " `git lfs pull`", e.getMessage());
    }
}
