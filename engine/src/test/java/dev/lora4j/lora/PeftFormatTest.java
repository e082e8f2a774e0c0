package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.TestModels;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.model.BaseModel;
import dev.lora4j.safetensors.SafetensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The saved format of PEFT test cases TC-B04 and TC-G01 to TC-G05 (keys, shapes, metadata, config shape). */
class PeftFormatTest {

    private static Map<String, List<Long>> keys(Path dir) throws IOException {
        Map<String, List<Long>> out = new TreeMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(PeftAdapters.WEIGHTS))) {
            for (String n : f.names()) {
                out.put(n, java.util.Arrays.stream(f.info(n).shape()).boxed().toList());
            }
            assertEquals(Map.of("format", "pt"), f.metadata());
        }
        return out;
    }

    private static Map<String, List<Long>> saved(LoraConfig c, Path dir) throws IOException {
        try (BaseModel mlp = TestModels.mlp(); Adapter ad = Adapter.create(mlp, c, 0)) {
            PeftAdapters.save(ad, dir);
        }
        return keys(dir);
    }

    @Test
    void loraKeysHaveNoAdapterName(@TempDir Path tmp) throws IOException {
        assertEquals(Map.of("base_model.model.lin0.lora_A.weight", List.of(8L, 10L),
                "base_model.model.lin0.lora_B.weight", List.of(20L, 8L)),
                saved(LoraConfig.builder().targetModules("lin0").build(), tmp.resolve("a")));
    }

    @Test
    void modulesToSaveAreSavedUnderTheirOwnKeys(@TempDir Path tmp) throws IOException {
        Map<String, List<Long>> k = saved(LoraConfig.builder().targetModules("lin0").modulesToSave(List.of("lin1"))
                .build(), tmp.resolve("a"));
        assertEquals(List.of(2L, 20L), k.get("base_model.model.lin1.weight"));
        assertEquals(List.of(2L), k.get("base_model.model.lin1.bias"));
        assertEquals(4, k.size());
    }

    @Test
    void doraMagnitudeHasNoWeightSuffixAndRoundTrips(@TempDir Path tmp) throws IOException {
        Map<String, List<Long>> k = saved(LoraConfig.builder().targetModules("lin0").useDora(true)
                .initLoraWeights(false).build(), tmp.resolve("a"));
        assertEquals(List.of(20L), k.get("base_model.model.lin0.lora_magnitude_vector"));
        try (BaseModel mlp = TestModels.mlp();
                Adapter back = PeftAdapters.load(mlp, tmp.resolve("a"), false).adapter()) {
            Map<String, HostTensor> file = PeftAdapters.readTensors(tmp.resolve("a"));
            assertArrayEquals(file.get("base_model.model.lin0.lora_magnitude_vector").data(),
                    back.layers().get("lin0").magnitude().toFloatArray());
        }
    }

    @Test
    void biasModesSaveTheirBiases(@TempDir Path tmp) throws IOException {
        assertTrue(saved(LoraConfig.builder().targetModules("lin0").bias("lora_only").build(), tmp.resolve("a"))
                .containsKey("base_model.model.lin0.base_layer.bias"));
        Map<String, List<Long>> all = saved(LoraConfig.builder().targetModules("lin0").bias("all").build(),
                tmp.resolve("b"));
        assertTrue(all.containsKey("base_model.model.lin0.base_layer.bias"));
        assertTrue(all.containsKey("base_model.model.lin1.bias"));
    }

    @Test
    void savedConfigHasPeftsShape(@TempDir Path tmp) throws IOException {
        saved(LoraConfig.builder().targetModules("lin0").build(), tmp.resolve("a"));
        String text = Files.readString(tmp.resolve("a/adapter_config.json"));
        JsonNode c = new ObjectMapper().readTree(text);
        assertTrue(c.get("inference_mode").asBoolean(), "always saved as true");
        assertEquals("LORA", c.get("peft_type").asText());
        assertTrue(c.get("target_modules").isArray());
        assertTrue(text.startsWith("{\n  \""), "2-space indent");
        List<String> names = new java.util.ArrayList<>();
        c.fieldNames().forEachRemaining(names::add);
        List<String> sorted = new java.util.ArrayList<>(names);
        java.util.Collections.sort(sorted);
        assertEquals(sorted, names, "keys sorted");
        assertTrue(Files.isRegularFile(tmp.resolve("a/README.md")));
        assertFalse(Files.exists(tmp.resolve("a/model.safetensors")));
        assertFalse(Files.exists(tmp.resolve("a/config.json")));
    }

    @Test
    void missingKeysAreWarnedAboutAndKeepTheirInit(@TempDir Path tmp) throws IOException {
        saved(LoraConfig.builder().targetModules("lin0").build(), tmp.resolve("a"));
        Map<String, HostTensor> t = PeftAdapters.readTensors(tmp.resolve("a"));
        dev.lora4j.safetensors.SafetensorsWriter w = new dev.lora4j.safetensors.SafetensorsWriter()
                .metadata("format", "pt");
        HostTensor a = t.get("base_model.model.lin0.lora_A.weight");
        w.add("base_model.model.lin0.lora_A.weight", a.shape(), a.data());
        w.write(tmp.resolve("a").resolve(PeftAdapters.WEIGHTS));
        try (BaseModel mlp = TestModels.mlp()) {
            PeftAdapters.LoadedAdapter l = PeftAdapters.load(mlp, tmp.resolve("a"), false);
            try (Adapter ad = l.adapter()) {
                assertEquals(List.of("Found missing adapter keys while loading the checkpoint:"
                        + " [base_model.model.lin0.lora_B.default.weight]"), l.warnings());
                for (float v : ad.layers().get("lin0").b().toFloatArray()) {
                    assertEquals(0f, v, "a missing B keeps its fresh init (zeros)");
                }
            }
        }
    }
}
