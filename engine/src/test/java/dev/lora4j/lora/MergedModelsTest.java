package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.lora4j.Fixtures;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.HfModels;
import dev.lora4j.runtime.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where a merge may write, and that a merge that fails leaves its folder as it was. */
class MergedModelsTest {
    @TempDir
    Path tmp;

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void foldersAreComparedAfterResolvingLinks() throws IOException {
        Path model = Files.createDirectories(tmp.resolve("models/m"));
        Path link = Files.createSymbolicLink(tmp.resolve("link"), model);
        assertEquals(MergedModels.Overlap.SAME, MergedModels.overlap(model, model));
        assertEquals(MergedModels.Overlap.SAME, MergedModels.overlap(link, model));
        assertEquals(MergedModels.Overlap.SAME, MergedModels.overlap(tmp.resolve("models/./m/"), link));
        assertEquals(MergedModels.Overlap.INSIDE, MergedModels.overlap(link.resolve("merged"), model));
        assertEquals(MergedModels.Overlap.INSIDE, MergedModels.overlap(tmp.resolve("models/m/a/../b"), link));
        assertEquals(MergedModels.Overlap.CONTAINS, MergedModels.overlap(tmp.resolve("models"), link));
        assertEquals(MergedModels.Overlap.NONE, MergedModels.overlap(tmp.resolve("models/m2"), model));
        assertEquals(MergedModels.Overlap.NONE, MergedModels.overlap(tmp.resolve("merged"), link));
    }

    @Test
    void forceReplacesOnlyAMergesOwnFiles() throws IOException {
        Path model = Files.createDirectories(tmp.resolve("m"));
        Path out = Files.createDirectories(tmp.resolve("out"));
        MergedModels.checkOut(model, null, out, false, "--out", "--force");
        Files.writeString(out.resolve("notes.txt"), "mine");
        String refused = assertThrows(IllegalArgumentException.class,
                () -> MergedModels.checkOut(model, null, out, false, "--out", "--force")).getMessage();
        assertEquals("--out " + out + " is not empty (holds notes.txt): a merge writes into a new or empty folder;"
                + " choose another --out, or pass --force to replace the files a merge writes (config.json,"
                + " model.safetensors, the tokenizer files) and keep the rest", refused);
        MergedModels.checkOut(model, null, out, true, "--out", "--force");
        Files.createDirectory(out.resolve("config.json"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> MergedModels.checkOut(model, null, out, true, "--out", "--force")).getMessage()
                .contains("config.json is a folder, where a merge writes a file"));
        Files.delete(out.resolve("config.json"));
        Files.writeString(out.resolve("model.safetensors.index.json"), "{}");
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> MergedModels.checkOut(model, null, out, true, "--out", "--force")).getMessage()
                .contains("holds a sharded model (model.safetensors.index.json)"));
    }

    @Test
    void aMergeThatFailsWhileWritingLeavesTheFolderAsItWas() throws IOException {
        Path out = tmp.resolve("merged");
        Path forced = Files.createDirectories(tmp.resolve("forced"));
        Files.writeString(forced.resolve("config.json"), "{\"old\": true}");
        Files.writeString(forced.resolve("notes.txt"), "mine");
        FileTime before = Files.getLastModifiedTime(forced.resolve("config.json"));
        try (BaseModel base = HfModels.load(Fixtures.tinyLlama("s2").resolve("model"));
                NDManager m = Torch.newManager(base.device())) {
            Map<String, NDArray> weights = new LinkedHashMap<>(base.weights());
            NDArray gone = m.ones(new Shape(4));
            gone.close(); // its bytes cannot be read: the write fails half-way through model.safetensors
            weights.put("zzz.broken", gone);
            assertThrows(RuntimeException.class, () -> MergedModels.write(base, weights, false, out, false));
            assertFalse(Files.exists(out), "no half-written (or empty) folder");
            assertThrows(RuntimeException.class, () -> MergedModels.write(base, weights, false, forced, true));
        }
        assertEquals(List.of("forced"), names(tmp), "no staging folder left beside it");
        assertEquals(List.of("config.json", "notes.txt"), names(forced), "no staging folder left inside it");
        assertEquals("{\"old\": true}", Files.readString(forced.resolve("config.json")));
        assertEquals(before, Files.getLastModifiedTime(forced.resolve("config.json")));
    }
}
