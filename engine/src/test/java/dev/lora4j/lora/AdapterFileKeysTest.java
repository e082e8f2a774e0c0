package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.Fixtures;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.HfModels;
import dev.lora4j.safetensors.SafetensorsWriter;
import dev.lora4j.train.CausalLmEval;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Keys of an adapter file that its config does not account for, as PEFT's {@code set_peft_model_state_dict} treats
 * them: LoRA tensors of modules the config does not target are unexpected (lora4j warns, as transformers'
 * {@code load_adapter} does), a full tensor naming a base parameter is loaded into it, a missing
 * {@code modules_to_save} tensor is an error (PEFT: KeyError).
 */
class AdapterFileKeysTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path S2 = Fixtures.tinyLlama("s2");
    private static final String P = "base_model.model.";

    @TempDir Path tmp;

    /** The qv fixture adapter with its config edited and {@code extra} tensors added to its file. */
    private Path adapter(Consumer<ObjectNode> config, Map<String, HostTensor> extra) throws IOException {
        Path src = S2.resolve("adapters/qv");
        Path dir = tmp.resolve("adapter");
        Files.createDirectories(dir);
        ObjectNode c = (ObjectNode) JSON.readTree(src.resolve(PeftAdapters.CONFIG).toFile());
        config.accept(c);
        JSON.writeValue(dir.resolve(PeftAdapters.CONFIG).toFile(), c);
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
        PeftAdapters.readTensors(src).forEach((k, v) -> w.add(k, v.shape(), v.data()));
        extra.forEach((k, v) -> w.add(k, v.shape(), v.data()));
        w.write(dir.resolve(PeftAdapters.WEIGHTS));
        return dir;
    }

    private static HostTensor zeros(long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return new HostTensor(shape, new float[(int) n]);
    }

    @Test
    void loraTensorsOfModulesTheConfigDoesNotTargetAreUnexpectedAndWarned() throws IOException {
        Path dir = adapter(c -> c.putArray("target_modules").add("q_proj"), Map.of());
        try (BaseModel base = HfModels.load(S2.resolve("model"))) {
            PeftAdapters.LoadedAdapter loaded = PeftAdapters.load(base, dir, false);
            try (Adapter ad = loaded.adapter()) {
                List<String> v = List.of(P + "model.layers.0.self_attn.v_proj.lora_A.weight",
                        P + "model.layers.0.self_attn.v_proj.lora_B.weight",
                        P + "model.layers.1.self_attn.v_proj.lora_A.weight",
                        P + "model.layers.1.self_attn.v_proj.lora_B.weight");
                assertEquals(v, loaded.unexpectedKeys());
                assertEquals(List.of("Loading adapter weights from " + dir + " led to unexpected keys not found in"
                        + " the model: ['" + String.join("', '", v) + "'] (adapter_config.json does not target or"
                        + " save these modules; lora4j ignores these tensors, as PEFT does)"), loaded.warnings());
                assertEquals(List.of("model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.q_proj"),
                        List.copyOf(ad.keys()));
            }
        }
    }

    @Test
    void aFullTensorNamingABaseParameterReplacesItAsPeftLoadsItIntoTheBase() throws IOException {
        // lm_head is not wrapped: its plain key is the base parameter; q_proj is: its base weight is under base_layer
        Path dir = adapter(c -> { }, Map.of(P + "lm_head.weight", zeros(101, 64),
                P + "model.layers.0.self_attn.k_proj.base_layer.weight", zeros(32, 64)));
        try (BaseModel base = HfModels.load(S2.resolve("model"))) {
            float[] head = base.weight("lm_head.weight").toFloatArray();
            PeftAdapters.LoadedAdapter loaded = PeftAdapters.load(base, dir, false);
            try (Adapter ad = loaded.adapter()) {
                assertEquals(List.of(P + "model.layers.0.self_attn.k_proj.base_layer.weight"),
                        loaded.unexpectedKeys(), "k_proj is not wrapped: it has no base_layer");
                assertArrayEquals(new float[101 * 64], ad.override("lm_head.weight").toFloatArray());
                assertArrayEquals(head, base.weight("lm_head.weight").toFloatArray(), "the shared base is intact");
                assertEquals(Math.log(101), CausalLmEval.evaluate(base, ad, Fixtures.rows(S2.resolve("data.jsonl")),
                        4).loss(), 1e-5, "a zero head: uniform logits");
            }
        }
    }

    @Test
    void aFullTensorOfTheWrongShapeIsASizeMismatch() throws IOException {
        Path dir = adapter(c -> { }, Map.of(P + "lm_head.weight", zeros(100, 64)));
        try (BaseModel base = HfModels.load(S2.resolve("model"))) {
            LoraException e = assertThrows(LoraException.class, () -> PeftAdapters.load(base, dir, false));
            assertTrue(e.getMessage().contains("size mismatch for base_model.model.lm_head.weight: copying a param"
                    + " with shape [100, 64] from checkpoint, the shape in current model is [101, 64]"),
                    e.getMessage());
        }
    }

    @Test
    void aModulesToSaveTensorTheFileLacksIsAnError() throws IOException {
        Path dir = adapter(c -> c.putArray("modules_to_save").add("lm_head"), Map.of());
        try (BaseModel base = HfModels.load(S2.resolve("model"))) {
            LoraException e = assertThrows(LoraException.class, () -> PeftAdapters.load(base, dir, false));
            assertEquals(dir.resolve(PeftAdapters.WEIGHTS) + " has no base_model.model.lm_head.weight, which"
                    + " adapter_config.json asks for (modules_to_save [lm_head]): the file is incomplete or belongs"
                    + " to another config", e.getMessage());
        }
    }
}
