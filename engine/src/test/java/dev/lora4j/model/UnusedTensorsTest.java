package dev.lora4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Fixtures;
import dev.lora4j.config.TaskType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.safetensors.SafetensorsFile;
import dev.lora4j.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** transformers' "Some weights of the model checkpoint at X were not used when initializing Y" warning. */
class UnusedTensorsTest {
    private static final Path S2 = Fixtures.tinyLlama("s2").resolve("model");

    @TempDir Path tmp;

    /** The s2 model with config.json edited; the checkpoint is the fixture's. */
    private static Path variant(Path dir, Consumer<ObjectNode> edit) {
        try {
            ObjectMapper json = new ObjectMapper();
            Files.createDirectories(dir);
            ObjectNode c = (ObjectNode) json.readTree(S2.resolve("config.json").toFile());
            edit.accept(c);
            json.writeValue(dir.resolve("config.json").toFile(), c);
            Files.createSymbolicLink(dir.resolve("model.safetensors"), S2.resolve("model.safetensors")
                    .toAbsolutePath());
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String layer(int i, String... names) {
        StringBuilder sb = new StringBuilder();
        for (String n : names) {
            sb.append(sb.length() == 0 ? "" : ", ").append("'model.layers.").append(i).append('.').append(n)
                    .append(".weight'");
        }
        return sb.toString();
    }

    private static final String[] LAYER = {"input_layernorm", "mlp.down_proj", "mlp.gate_proj", "mlp.up_proj",
        "post_attention_layernorm", "self_attn.k_proj", "self_attn.o_proj", "self_attn.q_proj", "self_attn.v_proj"};

    @Test
    void aCheckpointTheConfigUsesWhollyLoadsWithoutAWarning() {
        try (BaseModel base = HfModels.load(S2)) {
            assertEquals(List.of(), base.warnings());
        }
    }

    @Test
    void fewerLayersThanTheCheckpointNamesTheUnusedTensorsShortened() {
        Path zero = variant(tmp.resolve("zero"), c -> c.put("num_hidden_layers", 0));
        try (BaseModel base = HfModels.load(zero)) {
            assertEquals(List.of("Some weights of the model checkpoint at " + zero + " were not used when"
                    + " initializing LlamaForCausalLM: [" + layer(0, LAYER) + ", 'model.layers.1.input_layernorm"
                    + ".weight', ... (8 more)]; this IS expected if the checkpoint is of another task or"
                    + " architecture, NOT if it should be this very model (check config.json against the"
                    + " checkpoint)"), base.warnings());
        }
        Path one = variant(tmp.resolve("one"), c -> c.put("num_hidden_layers", 1));
        try (BaseModel base = HfModels.load(one)) {
            assertEquals(1, base.warnings().size());
            assertTrue(base.warnings().get(0).contains("initializing LlamaForCausalLM: [" + layer(1, LAYER) + "];"),
                    base.warnings().get(0));
        }
    }

    @Test
    void anotherTasksHeadGoesUnusedQuietlyAsInTransformers() {
        // architectures says LlamaForCausalLM: a classifier built from it drops lm_head, which is expected
        try (BaseModel base = HfModels.load(S2, HfModels.Options.cpu().withTask(TaskType.SEQ_CLS))) {
            assertEquals(List.of(), base.warnings());
        }
        // but a layer it drops is not
        Path one = variant(tmp.resolve("one"), c -> c.put("num_hidden_layers", 1));
        try (BaseModel base = HfModels.load(one, HfModels.Options.cpu().withTask(TaskType.SEQ_CLS))) {
            assertEquals(1, base.warnings().size());
            assertTrue(base.warnings().get(0).contains("initializing LlamaForSequenceClassification: ['lm_head"
                    + ".weight', 'model.layers.1.input_layernorm.weight'"), base.warnings().get(0));
        }
    }

    @Test
    void buffersOldCheckpointsCarryAreNotWeights() throws IOException {
        Path dir = tmp.resolve("buffers");
        Files.createDirectories(dir);
        Files.copy(S2.resolve("config.json"), dir.resolve("config.json"));
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(S2.resolve("model.safetensors"))) {
            for (String n : f.names()) {
                w.add(n, f.info(n).shape(), f.floats(n));
            }
        }
        w.add("model.layers.0.self_attn.rotary_emb.inv_freq", new long[] {8}, new float[8]);
        w.write(dir.resolve("model.safetensors"));
        try (BaseModel base = HfModels.load(dir)) {
            assertEquals(List.of(), base.warnings());
        }
    }
}
