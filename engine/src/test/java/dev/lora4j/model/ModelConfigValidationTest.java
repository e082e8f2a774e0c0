package dev.lora4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.config.TaskType;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * The sizes and numbers of a model's config.json are checked when the architecture is built: one message naming the
 * file, the field and what is allowed, instead of a NegativeArraySizeException, a division by zero, an empty model or
 * NaN losses.
 */
class ModelConfigValidationTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode llama() throws Exception {
        return (ObjectNode) JSON.readTree("{\"model_type\": \"llama\", \"vocab_size\": 101, \"hidden_size\": 64, "
                + "\"intermediate_size\": 176, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, "
                + "\"num_key_value_heads\": 2}");
    }

    private static ObjectNode bert() throws Exception {
        return (ObjectNode) JSON.readTree("{\"model_type\": \"bert\", \"vocab_size\": 30522, \"hidden_size\": 384, "
                + "\"intermediate_size\": 1536, \"num_hidden_layers\": 6, \"num_attention_heads\": 12}");
    }

    static Stream<Arguments> llamaCases() {
        return Stream.of(
                Arguments.of("hidden_size", "-64", "hidden_size must be a positive integer, got -64"),
                Arguments.of("hidden_size", "\"64\"", "hidden_size must be a positive integer, got \"64\""),
                Arguments.of("hidden_size", "null", "hidden_size is missing; it must be a positive integer"),
                Arguments.of("num_hidden_layers", "-1", "num_hidden_layers must be an integer >= 0, got -1"),
                Arguments.of("vocab_size", "3000000000", "vocab_size must be a positive integer up to 2147483647, "
                        + "got 3000000000"),
                Arguments.of("num_attention_heads", "5", "num_attention_heads 5 does not divide hidden_size 64 (the "
                        + "head size is hidden_size / num_attention_heads); use a divisor of hidden_size, or set "
                        + "head_dim"),
                Arguments.of("head_dim", "0", "head_dim must be a positive integer, got 0"),
                Arguments.of("pad_token_id", "-102", "pad_token_id must be an integer from -101 to 100 (vocab_size "
                        + "is 101), or null, got -102"),
                Arguments.of("rope_theta", "\"big\"", "rope_theta must be a number > 0, got \"big\""),
                Arguments.of("num_labels", "0", "num_labels must be a positive integer, got 0"));
    }

    @ParameterizedTest(name = "[{index}] {0}: {1}")
    @MethodSource("llamaCases")
    void llama(String key, String value, String message) throws Exception {
        ObjectNode c = llama();
        c.set(key, JSON.readTree(value));
        ModelException e = assertThrows(ModelException.class,
                () -> new Llama(HfConfig.of(c), TaskType.SEQ_CLS, false));
        assertEquals("config.json: " + message, e.getMessage());
    }

    static Stream<Arguments> bertCases() {
        return Stream.of(
                Arguments.of("num_attention_heads", "-12", "num_attention_heads must be a positive integer, got -12"),
                Arguments.of("num_attention_heads", "5", "num_attention_heads 5 does not divide hidden_size 384 (the "
                        + "head size is hidden_size / num_attention_heads); use a divisor of hidden_size"),
                Arguments.of("max_position_embeddings", "0", "max_position_embeddings must be a positive integer, got "
                        + "0"),
                Arguments.of("type_vocab_size", "-2", "type_vocab_size must be a positive integer, got -2"),
                Arguments.of("layer_norm_eps", "-1e-12", "layer_norm_eps must be a number >= 0, got -1.0E-12"),
                Arguments.of("hidden_dropout_prob", "1.5", "hidden_dropout_prob must be a probability from 0 to 1, "
                        + "got 1.5"),
                Arguments.of("attention_probs_dropout_prob", "-0.1", "attention_probs_dropout_prob must be a "
                        + "probability from 0 to 1, got -0.1"),
                Arguments.of("pad_token_id", "30522", "pad_token_id must be an integer from -30522 to 30521 "
                        + "(vocab_size is 30522), or null, got 30522"));
    }

    @ParameterizedTest(name = "[{index}] {0}: {1}")
    @MethodSource("bertCases")
    void bert(String key, String value, String message) throws Exception {
        ObjectNode c = bert();
        c.set(key, JSON.readTree(value));
        ModelException e = assertThrows(ModelException.class, () -> new Bert(HfConfig.of(c), TaskType.SEQ_CLS));
        assertEquals("config.json: " + message, e.getMessage());
    }

    @Test
    void integralFloatsAndNullsForOptionalFieldsAreAccepted() throws Exception {
        ObjectNode c = llama();
        c.put("hidden_size", 64.0);
        c.putNull("pad_token_id");
        c.putNull("num_key_value_heads");
        new Llama(HfConfig.of(c), TaskType.CAUSAL_LM, true);
        ObjectNode b = bert();
        b.putNull("classifier_dropout");
        new Bert(HfConfig.of(b), TaskType.SEQ_CLS);
    }

    @Test
    void builtinsShipExactlyTheNamesConfigFilesMayUse() {
        assertEquals(dev.lora4j.run.ModelSpec.BUILTINS.stream().map(n -> "builtin:" + n).toList(), Builtins.names());
    }

    /**
     * Qwen2Config (as Qwen3Config) slides the layers from max_window_layers on, 28 by default, or as layer_types says;
     * use_sliding_window false leaves every layer full.
     */
    @Test
    void qwen2SlidesTheLayersQwen2ConfigSays() throws Exception {
        ObjectNode c = llama().put("model_type", "qwen2").put("num_hidden_layers", 30).put("use_sliding_window", true)
                .put("sliding_window", 8);
        boolean[] expected = new boolean[30];
        expected[28] = true;
        expected[29] = true;
        assertArrayEquals(expected, new Llama(HfConfig.of(c), TaskType.CAUSAL_LM, true).slidingLayers());
        c.put("max_window_layers", 29);
        expected[28] = false;
        assertArrayEquals(expected, new Llama(HfConfig.of(c), TaskType.CAUSAL_LM, true).slidingLayers());
        c.put("num_hidden_layers", 2).putArray("layer_types").add("sliding_attention").add("full_attention");
        assertArrayEquals(new boolean[] {true, false}, new Llama(HfConfig.of(c), TaskType.CAUSAL_LM, true)
                .slidingLayers());
        c.remove("layer_types");
        c.put("use_sliding_window", false);
        assertArrayEquals(new boolean[2], new Llama(HfConfig.of(c), TaskType.CAUSAL_LM, true).slidingLayers());
    }
}
