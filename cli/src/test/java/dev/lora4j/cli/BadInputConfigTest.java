package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Issue 11 part C through the CLI: config values PEFT accepts that were refused (null fields, Python regex syntax,
 * {@code layers_pattern} lists), and user mistakes that came out as "internal error (please report it)" (a rank that
 * cannot be allocated, bad sizes in a model's config.json, NaN in base weights, an unknown builtin model). Config
 * files go through {@code validate}, model problems through {@code eval} and {@code train}.
 */
class BadInputConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path S2 = Cli.FIXTURES.resolve("tiny-llama-s2");
    private static final Path DATA = S2.resolve("data.jsonl");

    @TempDir Path tmp;

    // ------------------------------------------------------------------ helpers

    /** The qv fixture adapter (PEFT-written), with {@code changes} applied to its adapter_config.json. */
    private Path adapter(String name, String changes) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Path src = S2.resolve("adapters/qv");
        Files.copy(src.resolve("adapter_model.safetensors"), dir.resolve("adapter_model.safetensors"));
        ObjectNode config = (ObjectNode) JSON.readTree(src.resolve("adapter_config.json").toFile());
        config.setAll((ObjectNode) JSON.readTree(changes));
        Files.writeString(dir.resolve("adapter_config.json"), JSON.writerWithDefaultPrettyPrinter()
                .writeValueAsString(config));
        return dir;
    }

    private Path write(String name, String text) throws IOException {
        Path f = tmp.resolve(name);
        Files.createDirectories(f.getParent());
        Files.writeString(f, text);
        return f;
    }

    /** A training config on the tiny Llama fixture with {@code lora} as its lora mapping. */
    private Path training(String name, String model, String lora) throws IOException {
        return write(name, String.join("\n", "name: t", "model: " + model, "task: CAUSAL_LM",
                "data: {train: " + DATA + "}", "training: {max_steps: 2, batch_size: 2}", "lora: " + lora, ""));
    }

    /** A copy of the tiny Llama model whose config.json has {@code key} set to {@code value} (JSON). */
    private Path modelWith(String key, String value) throws IOException {
        Path dir = copyModel("model-" + key);
        ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        config.set(key, JSON.readTree(value));
        Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(config));
        return dir;
    }

    private Path copyModel(String name) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        for (String f : List.of("config.json", "model.safetensors")) {
            Files.copy(S2.resolve("model").resolve(f), dir.resolve(f));
        }
        return dir;
    }

    /** Overwrites one float32 element of {@code tensor} in the copy's model.safetensors. */
    private static void poison(Path model, String tensor, float value) throws IOException {
        Path file = model.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int headerLength = (int) b.getLong(0);
        JsonNode header = JSON.readTree(new String(bytes, 8, headerLength, StandardCharsets.UTF_8));
        JsonNode info = header.get(tensor);
        assertEquals("F32", info.get("dtype").asText());
        b.putFloat(8 + headerLength + info.get("data_offsets").get(0).asInt() + 4 * 17, value);
        Files.write(file, bytes);
    }

    /**
     * {@code validate FILE} refused it: exit 2, one line on stdout that names the file and holds every fragment,
     * nothing on stderr, no internal error, and the file's folder unchanged.
     */
    private static String validateRefuses(Path file, String... fragments) {
        Map<String, String> before = BadInput.snapshot(file.getParent());
        Cli.Result r = Cli.run("validate", file);
        assertEquals(2, r.code(), r.toString());
        assertEquals(1, r.out().strip().lines().count(), "one line:\n" + r.out());
        String line = r.out().strip();
        assertTrue(line.startsWith(file + ": "), line);
        assertFalse(line.contains("internal error"), line);
        assertEquals("", r.err(), r.toString());
        for (String f : fragments) {
            assertTrue(line.contains(f), "'" + f + "' in: " + line);
        }
        assertEquals(before, BadInput.snapshot(file.getParent()), "nothing on disk changed");
        return line;
    }

    /** {@code validate FILE} accepted it: exit 0, an OK line and then the warnings; the file unchanged. */
    private static List<String> validateAccepts(Path file) {
        Map<String, String> before = BadInput.snapshot(file.getParent());
        Cli.Result r = Cli.run("validate", file);
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.lines().get(0).startsWith(file + ": OK "), r.toString());
        assertEquals(before, BadInput.snapshot(file.getParent()), "nothing on disk changed");
        return r.lines();
    }

    private static double evalLoss(Path adapter) throws IOException {
        Cli.Result r = Cli.run("eval", "--model", S2.resolve("model"), "--adapter", adapter, "--data", DATA,
                "--json");
        assertEquals(0, r.code(), r.toString());
        return JSON.readTree(r.out()).get("eval_loss").asDouble();
    }

    private static double expected(String adapter) throws IOException {
        return JSON.readTree(S2.resolve("expected.json").toFile()).get(adapter).asDouble();
    }

    // ------------------------------------------------------------------ null, as PEFT reads it

    @Test
    void nullWherePeftOnlyTestsTruthinessIsFalseAndTheAdapterLoads() throws IOException {
        // what axolotl writes; PEFT's layers test these fields for truthiness only
        Path dir = adapter("axolotl", "{\"fan_in_fan_out\": null, \"use_rslora\": null, \"use_dora\": null, "
                + "\"lora_bias\": null, \"init_lora_weights\": null, \"inference_mode\": null}");
        validateAccepts(dir.resolve("adapter_config.json"));
        assertEquals(expected("qv"), evalLoss(dir), expected("qv") * 1e-5);
    }

    static Stream<Arguments> nullsPeftCannotHandle() {
        return Stream.of(
                Arguments.of("r", "r must be an integer >= 1, got null", "TypeError"),
                Arguments.of("lora_alpha", "lora_alpha must be a number > 0, got null", "TypeError"),
                Arguments.of("lora_dropout", "lora_dropout must be a number >= 0 and < 1, got null", "TypeError"),
                Arguments.of("bias", "bias must be one of \"none\", \"all\", \"lora_only\", got null",
                        "AttributeError"),
                Arguments.of("rank_pattern", "rank_pattern must be a mapping of module-name patterns to ranks ({} for "
                        + "none), got null", "AttributeError"),
                Arguments.of("alpha_pattern", "alpha_pattern must be a mapping of module-name patterns to alphas ({} "
                        + "for none), got null", "AttributeError"));
    }

    @ParameterizedTest(name = "[{index}] {0}: null")
    @MethodSource("nullsPeftCannotHandle")
    void nullWherePeftWouldFailIsRefusedAtItsField(String key, String allowed, String peftError) throws IOException {
        Path dir = adapter("null-" + key, "{\"" + key + "\": null}");
        validateRefuses(dir.resolve("adapter_config.json"), "lora." + key + ": " + allowed, peftError);
    }

    // ------------------------------------------------------------------ Python regex syntax

    @Test
    void pythonNamedGroupsInTargetModulesAreTranslatedAndTargetTheSameModules() throws IOException {
        Path dir = adapter("named-group", "{\"target_modules\": \".*\\\\.(?P<proj>q|v)_proj\", "
                + "\"exclude_modules\": \"(?P<l>lm_head)|(?P=l)x\"}");
        validateAccepts(dir.resolve("adapter_config.json"));
        // the same modules as the fixture's [q_proj, v_proj]: the same loss
        assertEquals(expected("qv"), evalLoss(dir), expected("qv") * 1e-5);
    }

    @Test
    void javaOnlyRegexSyntaxIsRefusedWithPythonsMessage() throws IOException {
        Path dir = adapter("java-group", "{\"target_modules\": \".*(?<proj>q|v)_proj\"}");
        validateRefuses(dir.resolve("adapter_config.json"), "lora.target_modules: \".*(?<proj>q|v)_proj\" is not a "
                + "valid regular expression: unknown extension ?<p (Python writes a named group as (?P<name>...)) at "
                + "position 3");
    }

    @Test
    void pythonSyntaxJavaCannotRunIsRefusedAsSuch() throws IOException {
        Path dir = adapter("conditional", "{\"exclude_modules\": \"(lm)(?(1)_head)\"}");
        validateRefuses(dir.resolve("adapter_config.json"), "lora.exclude_modules: \"(lm)(?(1)_head)\" at position "
                + "4 uses a conditional group", "which Python accepts but Java's regex engine cannot run");
    }

    @Test
    void aRankPatternKeyIsCheckedInsidePeftsWrapping() throws IOException {
        Path dir = adapter("flags", "{\"rank_pattern\": {\"(?i)Q_PROJ\": 2}}");
        validateRefuses(dir.resolve("adapter_config.json"), "lora.rank_pattern.(?i)Q_PROJ", "global flags not at the "
                + "start of the expression", "so flags must be scoped: (?i:...)");
    }

    // ------------------------------------------------------------------ layers_pattern as PEFT uses it

    @Test
    void aListOfEmptyLayerPatternsMatchesNoLayerAsInPeft() throws IOException {
        Path dir = adapter("empty-patterns", "{\"layers_to_transform\": [0], \"layers_pattern\": [\"\", \"\"]}");
        List<String> lines = validateAccepts(dir.resolve("adapter_config.json"));
        assertEquals(2, lines.size(), lines.toString());
        assertTrue(lines.get(1).contains("warning: lora.layers_pattern[0] is \"\": in a list an empty name matches "
                + "no layer"), lines.toString());
        // PEFT looks for ".." + index in each key: nothing is targeted, which PEFT reports as targets not found
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"eval", "--model", S2.resolve("model"), "--adapter", dir,
            "--data", DATA}, "Target modules {'q_proj', 'v_proj'} not found in the base model",
                "'layers_to_transform': [0]", "'layers_pattern': ['']");
        // "" alone (not in a list) means any layer name
        Path any = adapter("any-pattern", "{\"layers_to_transform\": [0], \"layers_pattern\": \"\"}");
        Cli.Result r = Cli.run("inspect", "--model", S2.resolve("model"), "--lora", any.resolve("adapter_config.json"));
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("model.layers.0.self_attn.q_proj") && !r.out().contains("model.layers.1.self_attn"
                + ".q_proj  Linear"), r.out());
    }

    @Test
    void aLayersPatternWhoseGroupWouldHideTheIndexIsRefused() throws IOException {
        Path dir = adapter("grouped", "{\"layers_to_transform\": [0], \"layers_pattern\": \"(layers|h)\"}");
        validateRefuses(dir.resolve("adapter_config.json"), "lora.layers_pattern: layers_pattern \"(layers|h)\" has "
                + "a capturing group", "write (?:...) instead of (...)");
    }

    // ------------------------------------------------------------------ builtin models

    @Test
    void validateRefusesAnUnknownBuiltinModel() throws IOException {
        Path train = training("train.yaml", "builtin:gpt5", "{target_modules: [query, value]}");
        validateRefuses(train, "model: unknown builtin model 'builtin:gpt5' (available: builtin:all-minilm-l6-v2");
        Path sweep = write("sweep.yaml", Files.readString(train) + "method: grid\nparameters: {r: {values: [4]}}\n"
                + "metric: {name: train_loss, goal: minimize}\n");
        validateRefuses(sweep, "model: unknown builtin model 'builtin:gpt5'");
        Path typo = training("typo.yaml", "builtin:all-minilm-l6", "{target_modules: [query]}");
        validateRefuses(typo, "model: unknown builtin model 'builtin:all-minilm-l6'; did you mean "
                + "'builtin:all-minilm-l6-v2'?");
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"train", train, "--out", tmp.resolve("out")},
                train + ": model: unknown builtin model 'builtin:gpt5'");
    }

    // ------------------------------------------------------------------ ranks that cannot be allocated

    @Test
    void aRankThatCannotBeAllocatedIsRefusedNamingLoraR() throws IOException {
        Path train = training("huge-r.yaml", S2.resolve("model").toString(), "{target_modules: [q_proj], "
                + "r: 2000000000}");
        validateAccepts(train); // PEFT accepts any r >= 1; only the model says how much fits
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"train", train, "--out", tmp.resolve("out")},
                train + ": lora.r: r=2000000000 cannot be allocated: model.layers.0.self_attn.q_proj",
                "2000000000 x 64 = 128000000000 values", "r may be at most 33554431 for this module");
        Path pattern = training("huge-pattern.yaml", S2.resolve("model").toString(), "{target_modules: [q_proj], "
                + "rank_pattern: {q_proj: 40000000}}");
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"train", pattern, "--out", tmp.resolve("out")},
                "lora.rank_pattern.q_proj: rank 40000000 cannot be allocated");
    }

    @Test
    void aSweepTrialWithAnImpossibleRankFailsAsABadConfigOnceNotAsOutOfMemory() throws IOException {
        Path sweep = write("sweep-r.yaml", Files.readString(training("x.yaml", S2.resolve("model").toString(),
                "{target_modules: [q_proj]}")) + "method: grid\nmetric: {name: train_loss, goal: minimize}\n"
                + "parameters: {r: {values: [2000000000]}}\n");
        Cli.Result r = Cli.run("sweep", sweep, "--out", tmp.resolve("runs"));
        assertEquals(1, r.code(), r.toString()); // every trial failed: the sweep's own contract
        assertFalse(r.err().contains("internal error") || r.out().contains("internal error"), r.toString());
        try (Stream<Path> results = Files.walk(tmp.resolve("runs/trials"))) {
            List<Path> files = results.filter(f -> f.getFileName().toString().equals("result.json")).toList();
            assertEquals(1, files.size());
            JsonNode result = JSON.readTree(files.get(0).toFile());
            assertEquals("bad_config", result.get("failure").asText(), result.toString());
            assertEquals(1, result.get("attempts").asInt(), "a config is not retried: " + result);
            assertTrue(result.get("reason").asText().startsWith("lora.r: r=2000000000 cannot be allocated"),
                    result.toString());
        }
    }

    @Test
    void aPeftAdapterWithAnImpossibleRankNamesItsConfigFile() throws IOException {
        Path dir = adapter("huge", "{\"r\": 2000000000}");
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"eval", "--model", S2.resolve("model"), "--adapter", dir,
            "--data", DATA}, dir.resolve("adapter_config.json") + ": lora.r: r=2000000000 cannot be allocated");
    }

    @Test
    void pissaRankAboveTheWeightsRankIsRefused() throws IOException {
        Path train = training("pissa.yaml", S2.resolve("model").toString(), "{target_modules: [q_proj], r: 128, "
                + "init_lora_weights: pissa}");
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"train", train, "--out", tmp.resolve("out")},
                train + ": lora.r: r=128 is larger than model.layers.0.self_attn.q_proj allows with init_lora_weights"
                        + " \"pissa\"", "r may be at most min(in_features, out_features) = 64");
    }

    // ------------------------------------------------------------------ a model's config.json

    static Stream<Arguments> badModelConfigs() {
        return Stream.of(
                Arguments.of("hidden_size", "-64", "hidden_size must be a positive integer, got -64"),
                Arguments.of("hidden_size", "64.5", "hidden_size must be a positive integer, got 64.5"),
                Arguments.of("num_attention_heads", "0", "num_attention_heads must be a positive integer, got 0"),
                Arguments.of("num_attention_heads", "3", "num_attention_heads 3 does not divide hidden_size 64"),
                Arguments.of("num_hidden_layers", "-1", "num_hidden_layers must be an integer >= 0, got -1"),
                Arguments.of("intermediate_size", "-5", "intermediate_size must be a positive integer, got -5"),
                Arguments.of("vocab_size", "0", "vocab_size must be a positive integer, got 0"),
                Arguments.of("num_key_value_heads", "0", "num_key_value_heads must be a positive integer, got 0"),
                Arguments.of("num_key_value_heads", "3", "num_key_value_heads must divide num_attention_heads (4), "
                        + "got 3"),
                Arguments.of("head_dim", "15", "the head size 15 (head_dim) must be even"),
                Arguments.of("pad_token_id", "5000", "pad_token_id must be an integer from -101 to 100 (vocab_size is "
                        + "101), or null, got 5000"),
                Arguments.of("rms_norm_eps", "-1", "rms_norm_eps must be a number >= 0, got -1"),
                Arguments.of("rope_theta", "0", "rope_theta must be a number > 0, got 0"));
    }

    @ParameterizedTest(name = "[{index}] {0}: {1}")
    @MethodSource("badModelConfigs")
    void aBadSizeInConfigJsonIsRefusedNamingTheFileAndField(String key, String value, String message)
            throws IOException {
        Path model = modelWith(key, value);
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"eval", "--model", model, "--data", DATA},
                model.resolve("config.json") + ": " + message);
    }

    // ------------------------------------------------------------------ NaN in base weights

    @Test
    void nanInABaseWeightIsRefusedNamingTheFileAndTensorNotBlamedOnTheLearningRate() throws IOException {
        Path model = copyModel("nan-model");
        poison(model, "model.layers.1.mlp.down_proj.weight", Float.NaN);
        String expected = model.resolve("model.safetensors") + ": tensor model.layers.1.mlp.down_proj.weight holds "
                + "NaN; the checkpoint is damaged";
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"eval", "--model", model, "--data", DATA}, expected);
        Path train = training("nan.yaml", model.toString(), "{target_modules: [q_proj]}");
        String line = BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"train", train, "--out",
            tmp.resolve("out")}, expected);
        assertFalse(line.contains("learning_rate"), line);
        Path inf = copyModel("inf-model");
        poison(inf, "model.embed_tokens.weight", Float.NEGATIVE_INFINITY);
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"eval", "--model", inf, "--data", DATA},
                "tensor model.embed_tokens.weight holds infinite values");
    }
}
