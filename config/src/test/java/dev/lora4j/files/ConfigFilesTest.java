package dev.lora4j.files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.config.ConfigError;
import dev.lora4j.config.Documents;
import dev.lora4j.config.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files are recognised by what they hold, not by their names. */
class ConfigFilesTest {
    @TempDir Path dir;

    private static FileKind kind(String json) {
        return ConfigFiles.kindOf(Documents.parse(json, true));
    }

    @Test
    void kindsByContent() {
        assertEquals(FileKind.ADAPTER, kind("{\"peft_type\": \"LORA\"}"));
        assertEquals(FileKind.ADAPTER, kind("{\"r\": 8, \"lora_alpha\": 16}"));
        assertEquals(FileKind.ADAPTER, kind("{\"target_modules\": [\"q\"]}"));
        assertEquals(FileKind.SWEEP, kind("{\"parameters\": {}, \"model\": \"x\"}"));
        assertEquals(FileKind.SWEEP, kind("{\"method\": \"grid\"}"));
        assertEquals(FileKind.TRAIN, kind("{\"model\": \"x\", \"data\": {}}"));
        assertEquals(FileKind.TRAIN, kind("{\"lora\": {}}"));
        assertEquals(FileKind.UNKNOWN, kind("{\"fine_tune_type\": \"lora\", \"model\": \"m\", \"data\": \"d\"}"));
        assertEquals(FileKind.UNKNOWN, kind("{\"model_type\": \"llama\", \"architectures\": []}"));
        assertEquals(FileKind.UNKNOWN, kind("[1, 2]"));
        assertEquals(FileKind.UNKNOWN, kind("{\"foo\": 1}"));
    }

    @Test
    void adapterFolderAndFixtureFiles() {
        FileReport r = ConfigFiles.check(Fixtures.dir().resolve("tiny-llama-s2/adapters/qv").toString());
        assertEquals(FileKind.ADAPTER, r.kind());
        assertTrue(r.valid());
        assertEquals("LORA r=4 alpha=8 targets=[q_proj, v_proj] dropout=0.05 task=CAUSAL_LM", r.summary());
        FileReport model = ConfigFiles.check(Fixtures.dir().resolve("tiny-llama-s2/model/config.json").toString());
        assertFalse(model.valid());
        assertTrue(model.errors().get(0).message().startsWith("not a lora4j or PEFT config: this is a Hugging Face "
                + "model config (model_type \"llama\")"), model.errors().toString());
    }

    @Test
    void folderWithoutAdapterConfig() {
        FileReport r = ConfigFiles.check(dir.toString());
        assertEquals(List.of(ConfigError.ofFile("is a folder without an adapter_config.json; pass a config file, or a "
                + "PEFT adapter folder")), r.errors());
    }

    @Test
    void unknownJsonSaysWhatWasExpected() throws IOException {
        Path f = dir.resolve("x.json");
        Files.writeString(f, "{\"foo\": 1, \"bar\": 2}");
        assertEquals(List.of(ConfigError.ofFile("not a lora4j or PEFT config: expected a PEFT adapter_config.json "
                + "(peft_type, r, target_modules), a sweep (parameters, method) or a training config (model, data, "
                + "training, lora); found keys: foo, bar")), ConfigFiles.check(f.toString()).errors());
        Path named = dir.resolve("adapter_config.json");
        Files.writeString(named, "{\"foo\": 1}");
        assertTrue(ConfigFiles.check(named.toString()).errors().get(0).message()
                .startsWith("The LoraConfig config that is trying to be loaded is missing required keys"));
    }
}
