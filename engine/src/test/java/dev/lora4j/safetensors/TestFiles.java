package dev.lora4j.safetensors;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Fixture locations and hand-built files, including malformed ones the writer would never produce. */
final class TestFiles {
    private TestFiles() {}

    static Path fixtures() {
        String folder = System.getProperty("lora4j.fixtures");
        assertNotNull(folder, "system property lora4j.fixtures (set by surefire)");
        return Path.of(folder);
    }

    static Path peftAdapter(String prefix) throws IOException {
        try (var files = Files.list(fixtures().resolve("peft-adapters"))) {
            return files.filter(f -> f.getFileName().toString().startsWith(prefix)
                            && f.getFileName().toString().endsWith(".safetensors"))
                    .findFirst()
                    .orElseThrow();
        }
    }

    /** The buffer's remaining bytes, leaving its position alone. */
    static byte[] bytesOf(ByteBuffer buffer) {
        byte[] out = new byte[buffer.remaining()];
        buffer.duplicate().get(out);
        return out;
    }

    /** A file made of the 8-byte little-endian header length, the header text and {@code dataBytes} bytes. */
    static Path raw(Path file, String header, int dataBytes) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(json.length).put(json);
        for (int i = 0; i < dataBytes; i++) {
            b.put((byte) i);
        }
        return Files.write(file, b.array());
    }
}
