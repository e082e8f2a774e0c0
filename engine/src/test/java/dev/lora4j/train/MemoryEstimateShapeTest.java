package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.Fixtures;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.TaskType;
import dev.lora4j.model.HfConfig;
import dev.lora4j.run.TrainingConfig;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The estimate sizes a decoder as the model that runs does: its family's defaults, not config.json's keys alone. */
class MemoryEstimateShapeTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static long activations(ObjectNode config) {
        return MemoryEstimate.of(HfConfig.of(config), Set.of(), TaskType.CAUSAL_LM, LoraConfig.builder().build(),
                TrainingConfig.defaults(), 64, false).activationBytes();
    }

    @Test
    void gemmasHeadDimDefaultsTo256AsGemmaConfigDoes() throws Exception {
        ObjectNode config = (ObjectNode) JSON.readTree(Fixtures.tiny("gemma").resolve("model/config.json").toFile());
        ObjectNode without = config.deepCopy();
        without.remove("head_dim");
        ObjectNode explicit = config.deepCopy().put("head_dim", 256);
        assertEquals(activations(explicit), activations(without));
        assertTrue(activations(without) > activations(config), "256 is wider than the fixture's head_dim 16");
    }
}
