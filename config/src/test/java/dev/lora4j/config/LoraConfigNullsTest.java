package dev.lora4j.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code null} (Python's None) in an adapter_config.json, field by field, as PEFT 0.20.0 treats it: accepted where its
 * code only tests the field for truthiness or has a default for None, refused where its code would fail on it.
 */
class LoraConfigNullsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode file(String extra) throws Exception {
        return (ObjectNode) JSON.readTree("{\"peft_type\": \"LORA\", \"r\": 8, \"lora_alpha\": 16, "
                + "\"target_modules\": [\"q_proj\"]" + extra + "}");
    }

    /** The booleans PEFT only tests for truthiness (layer.py update_layer, model.py _create_new_module, ...). */
    @ParameterizedTest
    @ValueSource(strings = {"fan_in_fan_out", "use_rslora", "use_dora", "lora_bias", "inference_mode"})
    void aNullBooleanIsFalseAndWrittenBackAsNull(String key) throws Exception {
        ObjectNode in = file(", \"" + key + "\": null");
        Loaded<LoraConfig> loaded = LoraConfigJson.fromJson(in);
        LoraConfig c = loaded.value();
        assertTrue(LoraConfigValidator.validate(c).isValid(), LoraConfigValidator.validate(c).toString());
        assertFalse(c.fanInFanOut() || c.useRslora() || c.useDora() || c.loraBias() || c.inferenceMode());
        JsonNode out = LoraConfigJson.toTree(c);
        if (key.equals("inference_mode")) {
            assertTrue(out.get(key).booleanValue(), "PEFT saves every adapter with inference_mode true");
        } else {
            assertTrue(out.get(key).isNull(), out.toString());
        }
    }

    @Test
    void aNullBooleanThatIsChangedIsWrittenWithItsNewValue() throws Exception {
        LoraConfig c = LoraConfigJson.fromJson(file(", \"use_dora\": null")).value().toBuilder().useDora(true)
                .build();
        assertTrue(LoraConfigJson.toTree(c).get("use_dora").booleanValue());
    }

    @Test
    void aFileFullOfNullsRoundTrips() throws Exception {
        ObjectNode in = file(", \"fan_in_fan_out\": null, \"use_rslora\": null, \"use_dora\": null, "
                + "\"lora_bias\": null, \"init_lora_weights\": null, \"task_type\": null, \"modules_to_save\": null, "
                + "\"layers_to_transform\": null, \"layers_pattern\": null, \"exclude_modules\": null, "
                + "\"base_model_name_or_path\": null, \"revision\": null, \"peft_version\": null, "
                + "\"loftq_config\": null, \"eva_config\": null, \"megatron_config\": null, \"megatron_core\": null, "
                + "\"use_qalora\": null, \"qalora_group_size\": null, \"ensure_weight_tying\": null, "
                + "\"layer_replication\": null, \"auto_mapping\": null, \"inference_mode\": true");
        LoraConfig c = LoraConfigJson.fromJson(in).value();
        assertTrue(LoraConfigValidator.validate(c).isValid(), LoraConfigValidator.validate(c).toString());
        assertEquals(in, LoraConfigJson.toTree(c));
        assertEquals(c, LoraConfigJson.fromJson(LoraConfigJson.toTree(c)).value());
    }

    @Test
    void aNullInitIsFalseExceptThatLoraBiasRefusesItAsPeftDoes() throws Exception {
        LoraConfig c = LoraConfigJson.fromJson(file(", \"init_lora_weights\": null")).value();
        assertEquals(InitLoraWeights.Kind.FALSE, c.initLoraWeights().kind());
        assertTrue(LoraConfigJson.toTree(c).get("init_lora_weights").isNull());
        LoraConfig withBias = LoraConfigJson.fromJson(file(", \"init_lora_weights\": null, \"lora_bias\": true"))
                .value();
        assertEquals(List.of(new ConfigError("lora.lora_bias", "The argument lora_bias=True is only supported with "
                + "init_lora_weights=True or False, got init_lora_weights=None instead.")),
                LoraConfigValidator.validate(withBias).errors());
    }

    static Stream<Arguments> refused() {
        return Stream.of(
                Arguments.of("\"r\": null", "lora.r", "r must be an integer >= 1, got null (PEFT compares r with 0"),
                Arguments.of("\"lora_alpha\": null", "lora.lora_alpha", "lora_alpha must be a number > 0, got null"),
                Arguments.of("\"lora_dropout\": null", "lora.lora_dropout",
                        "lora_dropout must be a number >= 0 and < 1, got null"),
                Arguments.of("\"bias\": null", "lora.bias", "bias must be one of \"none\", \"all\", \"lora_only\", "
                        + "got null"),
                Arguments.of("\"rank_pattern\": null", "lora.rank_pattern", "rank_pattern must be a mapping of "
                        + "module-name patterns to ranks ({} for none), got null (PEFT calls rank_pattern.keys()"),
                Arguments.of("\"alpha_pattern\": null", "lora.alpha_pattern", "alpha_pattern must be a mapping"),
                Arguments.of("\"rank_pattern\": {\"q_proj\": null}", "lora.rank_pattern.q_proj",
                        "a rank must be an integer, got null"),
                Arguments.of("\"modules_to_save\": [\"score\", null]", "lora.modules_to_save[1]",
                        "must be a name (a string), got null"),
                Arguments.of("\"layers_pattern\": [null]", "lora.layers_pattern[0]",
                        "must be a name (a string), got null"),
                Arguments.of("\"layers_to_transform\": [0, null]", "lora.layers_to_transform[1]",
                        "layer index must be an integer, got null"),
                Arguments.of("\"exclude_modules\": [null]", "lora.exclude_modules[0]",
                        "must be a name (a string), got null"));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("refused")
    void aNullPeftCannotHandleIsRefusedAtItsField(String json, String path, String message) throws Exception {
        ObjectNode in = file("");
        in.setAll((ObjectNode) JSON.readTree("{" + json + "}"));
        ConfigException e = assertThrows(ConfigException.class, () -> LoraConfigJson.fromJson(in));
        assertEquals(1, e.errors().size(), e.errors().toString());
        assertEquals(path, e.errors().get(0).path());
        assertTrue(e.errors().get(0).message().startsWith(message), e.errors().get(0).message());
    }

    @Test
    void aNullPeftTypeIsRefusedAtItsField() throws Exception {
        ConfigException e = assertThrows(ConfigException.class,
                () -> LoraConfigJson.fromJson(JSON.readTree("{\"peft_type\": null, \"r\": 8}")));
        assertEquals("lora.peft_type", e.errors().get(0).path());
    }

    @Test
    void aLora4jFileReadsANullBooleanAsFalseAndWritesFalse() throws Exception {
        Problems p = new Problems();
        LoraConfig c = LoraConfigJson.fromSection(new Section((ObjectNode) JSON.readTree(
                "{\"target_modules\": [\"q_proj\"], \"use_dora\": null, \"init_lora_weights\": null}"), "lora", p));
        assertEquals(List.of(), p.errors());
        assertFalse(c.useDora());
        assertFalse(LoraConfigJson.toTree(c).get("use_dora").booleanValue());
    }
}
