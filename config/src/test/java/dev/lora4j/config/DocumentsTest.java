package dev.lora4j.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every way a file can fail to be a config becomes one error that says what the file is. */
class DocumentsTest {
    @TempDir Path dir;

    private String error(String name, String content) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, content);
        ConfigException e = assertThrows(ConfigException.class, () -> Documents.read(f));
        assertEquals(1, e.errors().size());
        assertEquals(Optional.of(f), e.file());
        return e.errors().get(0).message();
    }

    @Test
    void missingFile() {
        ConfigException e = assertThrows(ConfigException.class, () -> Documents.read(dir.resolve("nope.yaml")));
        assertEquals("no such file", e.errors().get(0).message());
        assertEquals(dir.resolve("nope.yaml") + ": no such file", e.getMessage());
    }

    @Test
    void emptyFile() throws IOException {
        assertEquals("empty file: expected a JSON or YAML config", error("e.json", ""));
        assertEquals("empty file: expected a JSON or YAML config", error("e.yaml", "  \n\n"));
        assertEquals("empty document: expected a JSON or YAML config", error("c.yaml", "# just a comment\n"));
    }

    @Test
    void invalidJsonGivesLineAndColumn() throws IOException {
        assertEquals("invalid JSON at line 2, column 16: Unexpected character ('}' (code 125)): expected a valid value "
                + "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')",
                error("a.json", "{\"r\": 8,\n \"lora_alpha\": }"));
        assertEquals("invalid JSON at line 1, column 9: Unexpected end-of-input: expected close marker for Object",
                error("b.json", "{\"r\": 8 "));
        assertEquals("invalid JSON at line 1, column 13: Duplicate field 'r'", error("c.json", "{\"r\": 8, \"r\": 16}"));
    }

    @Test
    void invalidYamlGivesLineAndColumn() throws IOException {
        assertEquals("invalid YAML at line 1, column 5: mapping values are not allowed here", error("a.yaml", "a: b: c"));
        assertTrue(error("b.yaml", "lora:\n  r: 8\n  r: 16\n").startsWith("invalid YAML at line 3, column 4: Duplicate "
                + "field 'r'"));
    }

    @Test
    void gitLfsPointer() throws IOException {
        assertEquals("this is a Git LFS pointer file, not the file's content (sha256:abc123, 5012 bytes): fetch the "
                + "content with `git lfs pull` (or download the file itself)", error("adapter_config.json",
                "version https://git-lfs.github.com/spec/v1\noid sha256:abc123\nsize 5012\n"));
    }

    @Test
    void safetensorsAndBinaryFiles() throws IOException {
        byte[] header = "{\"__metadata__\":{}}".getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header);
        Path f = dir.resolve("adapter_model.safetensors");
        Files.write(f, b.array());
        ConfigException e = assertThrows(ConfigException.class, () -> Documents.read(f));
        assertTrue(e.errors().get(0).message().startsWith("this is a safetensors weights file, not a config"));
        Path bin = dir.resolve("x.bin");
        Files.write(bin, new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1});
        assertEquals("binary file (not UTF-8 text), not a JSON or YAML config",
                assertThrows(ConfigException.class, () -> Documents.read(bin)).errors().get(0).message());
    }

    @Test
    void readsJsonAndYaml() throws IOException {
        Path y = dir.resolve("s.yaml");
        Files.writeString(y, "training:\n  learning_rate: 5e-4\n");
        assertEquals(5e-4, Documents.read(y).get("training").get("learning_rate").doubleValue());
        Path j = dir.resolve("noext");
        Files.writeString(j, "\uFEFF{\"r\": 8}");
        assertEquals(8, Documents.read(j).get("r").intValue());
    }
}
