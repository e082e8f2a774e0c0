package dev.lora4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BuiltinsTest {
    @TempDir
    Path home;

    @Test
    void unknownNamesListTheBuiltins() {
        ModelException e = assertThrows(ModelException.class, () -> Builtins.resolve("builtin:bert-huge", home));
        assertEquals("unknown builtin model 'builtin:bert-huge' (available: builtin:all-minilm-l6-v2)", e.getMessage());
        assertEquals(List.of("builtin:all-minilm-l6-v2"), Builtins.names());
    }

    @Test
    void anyOtherSpecIsAFolder() {
        assertFalse(Builtins.isBuiltin("models/bert"));
        assertEquals(Path.of("models/bert"), Builtins.resolve("models/bert", home));
    }

    @Test
    void theCacheRootComesFromTheSystemPropertyFirst() {
        String before = System.getProperty(Builtins.HOME_PROPERTY);
        try {
            System.setProperty(Builtins.HOME_PROPERTY, home.toString());
            assertEquals(home, Builtins.home());
            System.clearProperty(Builtins.HOME_PROPERTY);
            String env = System.getenv(Builtins.HOME_ENV);
            Path expected = env != null && !env.isBlank() ? Path.of(env)
                    : Path.of(System.getProperty("user.home"), ".cache", "lora4j");
            assertEquals(expected, Builtins.home());
        } finally {
            if (before == null) {
                System.clearProperty(Builtins.HOME_PROPERTY);
            } else {
                System.setProperty(Builtins.HOME_PROPERTY, before);
            }
        }
    }

    @Test
    void aFolderMissingAFileIsNotComplete() throws Exception {
        assertFalse(Builtins.isComplete(home));
        for (String f : List.of("config.json", "model.safetensors", "tokenizer.json")) {
            Files.writeString(home.resolve(f), "{}");
        }
        assertFalse(Builtins.isComplete(home));
        Files.writeString(home.resolve("tokenizer_config.json"), "{}");
        assertTrue(Builtins.isComplete(home));
    }
}
