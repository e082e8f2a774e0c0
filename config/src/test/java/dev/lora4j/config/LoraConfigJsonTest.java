package dev.lora4j.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Section B of peft-lora-test-cases.md, round trips of real PEFT files, and the written JSON's shape. */
class LoraConfigJsonTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Jackson tells IntNode 0 and DoubleNode 0.0 apart; PEFT's Python does not. */
    private static final Comparator<JsonNode> NUMERIC = (a, b) -> a.isNumber() && b.isNumber()
            ? Double.compare(a.doubleValue(), b.doubleValue()) : (a.equals(b) ? 0 : 1);

    static Stream<Path> peftFiles() {
        return Fixtures.peftConfigs().stream();
    }

    @Test
    void fixturesHoldTheRealPeftFiles() {
        List<String> names = Fixtures.peftConfigs().stream().map(p -> Fixtures.dir().relativize(p).toString()).toList();
        assertTrue(names.contains("peft-adapters/sanaear-adapter_config.json"), names.toString());
        assertTrue(names.contains("tiny-llama-s3/adapters/rslora-all-linear/adapter_config.json"), names.toString());
        assertTrue(names.contains("tiny-gpt2/adapters/dora/adapter_config.json"), names.toString());
        // the real PEFT files and the Llama fixtures' adapters; every other model family's fixtures add their own
        assertEquals(10, names.stream().filter(n -> n.startsWith("peft-adapters/") || n.startsWith("tiny-llama-"))
                .count(), names.toString());
    }

    @ParameterizedTest
    @MethodSource("peftFiles")
    void roundTripLosesNothing(Path file) throws IOException {
        JsonNode input = JSON.readTree(file.toFile());
        Loaded<LoraConfig> loaded = LoraConfigJson.read(file);
        assertEquals(List.of(), loaded.warnings());
        assertTrue(LoraConfigValidator.validate(loaded.value()).isValid());
        ObjectNode written = (ObjectNode) JSON.readTree(LoraConfigJson.toJson(loaded.value()));
        ObjectNode expected = input.deepCopy();
        expected.put("inference_mode", true);
        assertTrue(expected.equals(NUMERIC, written), "input " + expected + "\nwritten " + written);
        assertEquals(loaded.value(), LoraConfigJson.fromJson(written).value());
    }

    @Test
    void sanaearFileReadsAsPeftWroteIt() {
        LoraConfig c = LoraConfigJson.read(Fixtures.dir().resolve("peft-adapters/sanaear-adapter_config.json")).value();
        assertEquals(8, c.r());
        assertEquals(16.0, c.loraAlpha());
        assertEquals(0.05, c.loraDropout());
        assertEquals(TargetModules.Names.of("c_attn"), c.targetModules().orElseThrow());
        assertEquals(Optional.of("0.18.0"), c.peftVersion());
        assertEquals(Optional.of("distilgpt2"), c.baseModelNameOrPath());
        assertEquals(JsonNodeFactory.instance.textNode("megatron.core"), c.extra().get("megatron_core"));
        assertEquals(JsonNodeFactory.instance.numberNode(16), c.extra().get("qalora_group_size"));
        assertTrue(c.inferenceMode());
    }

    @Test
    void fixtureAdaptersMatchTheirReadme() {
        Path adapters = Fixtures.dir().resolve("tiny-llama-s2/adapters");
        LoraConfig patterns = LoraConfigJson.read(adapters.resolve("patterns")).value();
        assertEquals(new TargetModules.Regex(".*\\.layers\\.1\\.(self_attn\\.o_proj|mlp\\.(gate|up|down)_proj)"),
                patterns.targetModules().orElseThrow());
        assertEquals(Map.of("down_proj", 2), patterns.rankPattern());
        assertEquals(Map.of("gate_proj", 3.0), patterns.alphaPattern());
        assertTrue(patterns.summary().endsWith(" rank_pattern={down_proj=2} alpha_pattern={gate_proj=3} task=CAUSAL_LM"),
                patterns.summary());
        LoraConfig rslora = LoraConfigJson.read(adapters.resolve("rslora-all-linear")).value();
        assertEquals(new TargetModules.AllLinear("all-linear"), rslora.targetModules().orElseThrow());
        assertTrue(rslora.useRslora());
        assertTrue(LoraConfigJson.read(adapters.resolve("dora/adapter_config.json")).value().useDora());
    }

    @Test
    void writesPythonsLayoutSortedWithTwoSpaceIndent() {
        LoraConfig c = LoraConfig.builder().targetModules("q_proj", "v_proj").r(16).loraAlpha(32).loraDropout(0.05)
                .taskType(TaskType.CAUSAL_LM).keysAsRead(java.util.Set.of("r", "lora_alpha", "lora_dropout",
                        "target_modules", "task_type", "peft_type"))
                .peftVersion(null).build();
        assertEquals("{\n"
                + "  \"inference_mode\": true,\n"
                + "  \"lora_alpha\": 32,\n"
                + "  \"lora_dropout\": 0.05,\n"
                + "  \"peft_type\": \"LORA\",\n"
                + "  \"r\": 16,\n"
                + "  \"target_modules\": [\n"
                + "    \"q_proj\",\n"
                + "    \"v_proj\"\n"
                + "  ],\n"
                + "  \"task_type\": \"CAUSAL_LM\"\n"
                + "}", LoraConfigJson.toJson(c));
    }

    @Test
    void b04ConfigBuiltInCodeGetsEveryKeyPeftWrites() throws IOException {
        LoraConfig c = LoraConfig.builder().targetModules("lin0").build();
        assertFalse(c.inferenceMode());
        String text = LoraConfigJson.toJson(c);
        ObjectNode tree = (ObjectNode) JSON.readTree(text);
        List<String> keys = new ArrayList<>();
        tree.fieldNames().forEachRemaining(keys::add);
        List<String> sorted = new ArrayList<>(keys);
        sorted.sort(Comparator.naturalOrder());
        assertEquals(sorted, keys, "keys sorted alphabetically");
        // spec 6.2: the 41 keys of the snapshot minus kasa_config, which v0.20.0 does not have
        assertEquals(40, keys.size(), keys.toString());
        assertFalse(tree.has("kasa_config"));
        assertFalse(tree.has("runtime_config"));
        assertTrue(tree.has("auto_mapping"));
        assertEquals("LORA", tree.get("peft_type").textValue());
        assertTrue(tree.get("inference_mode").booleanValue());
        assertTrue(tree.get("target_modules").isArray());
        assertTrue(tree.get("lora_alpha").isInt());
        assertTrue(text.startsWith("{\n  \"alora_invocation_tokens\": null,\n"), text);
    }

    @Test
    void stringTargetsAreWrittenAsStringsAndFractionalAlphaAsFloat() {
        ObjectNode t = LoraConfigJson.toTree(LoraConfig.builder().targetModulesRegex(".*q_proj").loraAlpha(12.5)
                .alphaPattern(Map.of("gate_proj", 3.0)).build());
        assertEquals(".*q_proj", t.get("target_modules").textValue());
        assertTrue(t.get("lora_alpha").isDouble());
        assertTrue(t.get("alpha_pattern").get("gate_proj").isInt());
        assertEquals("ALL-LINEAR", LoraConfigJson.toTree(LoraConfig.builder().targetModulesRegex("ALL-LINEAR")
                .build()).get("target_modules").textValue());
    }

    @Test
    void layersPatternAndLayersToTransformKeepTheirShape() {
        String in = "{\"peft_type\": \"LORA\", \"target_modules\": [\"q\"], \"layers_to_transform\": [3, 1, 3], "
                + "\"layers_pattern\": [\"layers\", \"h\"]}";
        ObjectNode out = LoraConfigJson.toTree(LoraConfigJson.fromJson(in).value());
        assertEquals("[3,1]", out.get("layers_to_transform").toString());
        assertEquals("[\"layers\",\"h\"]", out.get("layers_pattern").toString());
        ObjectNode empty = LoraConfigJson.toTree(LoraConfigJson.fromJson("{\"peft_type\": \"LORA\", "
                + "\"layers_pattern\": \"\"}").value());
        assertEquals("", empty.get("layers_pattern").textValue());
    }

    @Test
    void b01UnknownKeysWarnAndAreKept() {
        String saved = LoraConfigJson.toJson(LoraConfig.defaults());
        ObjectNode withExtra = (ObjectNode) Documents.parse(saved, true);
        withExtra.put("spam", 123).put("foobar", "baz");
        Loaded<LoraConfig> loaded = LoraConfigJson.fromJson(withExtra);
        assertEquals(1, loaded.warnings().size());
        assertTrue(loaded.warnings().get(0).startsWith("Unexpected keyword arguments ['foobar', 'spam'] for class "
                + "LoraConfig, these are ignored."), loaded.warnings().get(0));
        LoraConfig c = loaded.value();
        assertEquals(LoraConfig.defaults().r(), c.r());
        assertEquals(JsonNodeFactory.instance.numberNode(123), c.extra().get("spam"));
        assertEquals(123, LoraConfigJson.toTree(c).get("spam").intValue());
    }

    @Test
    void obsoleteKeysAreUnknownToPeftButKept() {
        Loaded<LoraConfig> loaded = LoraConfigJson.fromJson("{\"peft_type\": \"LORA\", \"r\": 4, \"enable_lora\": null, "
                + "\"merge_weights\": false}");
        assertEquals(1, loaded.warnings().size());
        assertTrue(loaded.warnings().get(0).startsWith("Unexpected keyword arguments ['enable_lora', 'merge_weights']"));
        assertFalse(LoraConfigJson.toTree(loaded.value()).get("merge_weights").booleanValue());
    }

    @Test
    void b02NotAPeftConfig() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> LoraConfigJson.fromJson("{\"foo\": \"bar\", \"baz\": 123}"));
        assertEquals(1, e.errors().size());
        assertEquals("", e.errors().get(0).path());
        assertTrue(e.errors().get(0).message().startsWith("The LoraConfig config that is trying to be loaded is missing "
                + "required keys: {'peft_type'}. This is not a PEFT adapter config"), e.getMessage());
    }

    @Test
    void otherPeftMethodsAreNamed() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> LoraConfigJson.fromJson("{\"peft_type\": \"IA3\", \"target_modules\": [\"k\"]}"));
        assertEquals("this is a PEFT IA3 adapter; lora4j reads LORA", e.errors().get(0).message());
        ConfigException prefix = assertThrows(ConfigException.class,
                () -> LoraConfigJson.fromJson("{\"peft_type\": \"PREFIX_TUNING\", \"num_virtual_tokens\": 20}"));
        assertEquals("this is a PEFT PREFIX_TUNING adapter; lora4j reads LORA", prefix.errors().get(0).message());
    }

    @Test
    void mlxAdapterConfigIsRecognised(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("adapter_config.json");
        Files.writeString(f, "{\"fine_tune_type\": \"lora\", \"num_layers\": 16, \"lora_parameters\": {\"rank\": 8}}");
        ConfigException e = assertThrows(ConfigException.class, () -> LoraConfigJson.read(dir));
        assertEquals(Optional.of(f), e.file());
        assertTrue(e.errors().get(0).message().startsWith("this is an MLX (mlx-lm) adapter config (keys fine_tune_type, "
                + "lora_parameters, num_layers)"), e.getMessage());
    }

    @Test
    void b03RuntimeConfigIsDroppedWithAWarning() {
        Loaded<LoraConfig> loaded = LoraConfigJson.fromJson("{\"peft_type\": \"LORA\", \"runtime_config\": "
                + "{\"ephemeral_gpu_offload\": false}}");
        assertEquals(List.of("The configuration file contains a `runtime_config` key. This is ignored. Runtime "
                + "configurations are only valid at runtime."), loaded.warnings());
        assertFalse(loaded.value().extra().containsKey("runtime_config"));
        assertFalse(LoraConfigJson.toTree(loaded.value()).has("runtime_config"));
        assertFalse(LoraConfigJson.toTree(LoraConfig.defaults()).has("runtime_config"));
    }

    @Test
    void b05MinimalConfigLoadsWithDefaults() {
        Loaded<LoraConfig> loaded = LoraConfigJson.fromJson("{\"target_modules\": [\"query\", \"value\"], "
                + "\"peft_type\": \"LORA\"}");
        assertEquals(List.of(), loaded.warnings());
        LoraConfig c = loaded.value();
        assertEquals(8, c.r());
        assertEquals(8.0, c.loraAlpha());
        assertEquals(TargetModules.Names.of("query", "value"), c.targetModules().orElseThrow());
        assertEquals(LoraConfig.builder().targetModules("query", "value").peftVersion(null).build(), c);
        assertTrue(LoraConfigValidator.validate(c).isValid());
    }

    @Test
    void wrongTypesAreAllReportedWithPaths() {
        ConfigException e = assertThrows(ConfigException.class, () -> LoraConfigJson.fromJson("{\"peft_type\": "
                + "\"LORA\", \"r\": 2.5, \"lora_alpha\": \"16\", \"target_modules\": 7, \"use_dora\": \"yes\", "
                + "\"rank_pattern\": {\"down_proj\": \"two\"}, \"layers_to_transform\": [0, \"x\"]}"));
        assertEquals(List.of(
                "lora.r: r must be an integer, got 2.5",
                "lora.lora_alpha: lora_alpha must be a number, got \"16\"",
                "lora.target_modules: target_modules must be a list of module names, a regex string or "
                        + "\"all-linear\", got 7",
                "lora.use_dora: use_dora must be true or false, got \"yes\"",
                "lora.layers_to_transform[1]: layer index must be an integer, got \"x\"",
                "lora.rank_pattern.down_proj: a rank must be an integer, got \"two\""),
                e.errors().stream().map(ConfigError::toString).toList());
    }

    @Test
    void loadValidatesAndThrowsWithTheFile(@TempDir Path dir) {
        LoraConfig bad = LoraConfig.builder().r(0).build();
        LoraConfigJson.write(bad, dir.resolve("adapter_config.json"));
        ConfigException e = assertThrows(ConfigException.class, () -> LoraConfigJson.load(dir));
        assertEquals(List.of(new ConfigError("lora.r", "r must be >= 1, got 0")), e.errors());
        assertTrue(e.getMessage().startsWith(dir.resolve("adapter_config.json") + ": lora.r: "), e.getMessage());
    }

    @Test
    void writeIsAtomicAndReplaces(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("sub/adapter_config.json");
        LoraConfigJson.write(LoraConfig.builder().r(4).build(), f);
        LoraConfigJson.write(LoraConfig.builder().r(16).build(), f);
        assertEquals(16, LoraConfigJson.read(f).value().r());
        try (Stream<Path> files = Files.list(f.getParent())) {
            assertEquals(List.of(f), files.toList(), "no temporary file left behind");
        }
    }

    @Test
    void sectionsOfLora4jFilesRejectUnknownKeys() {
        Problems p = new Problems();
        ObjectNode lora = JsonNodeFactory.instance.objectNode().put("r", 8).put("lora_alhpa", 16);
        LoraConfigJson.fromSection(new Section(lora, "lora", p));
        assertEquals(List.of(new ConfigError("lora.lora_alhpa", "unknown key; did you mean 'lora_alpha'?")),
                p.errors());
    }

    @Test
    void extraMustNotShadowModelledKeys() {
        assertThrows(IllegalArgumentException.class,
                () -> LoraConfig.builder().extra("r", JsonNodeFactory.instance.numberNode(4)).build());
    }

    @Test
    void keysAsReadIsProvenanceNotValue() {
        LoraConfig read = LoraConfigJson.fromJson("{\"peft_type\": \"LORA\", \"r\": 8}").value();
        assertTrue(read.keysAsRead().isPresent());
        assertEquals(LoraConfig.builder().peftVersion(null).build(), read);
        Iterator<String> keys = LoraConfigJson.toTree(read).fieldNames();
        List<String> written = new ArrayList<>();
        keys.forEachRemaining(written::add);
        assertEquals(List.of("peft_type", "r", "inference_mode"), written);
        List<String> changed = new ArrayList<>();
        LoraConfigJson.toTree(read.toBuilder().useDora(true).build()).fieldNames().forEachRemaining(changed::add);
        assertTrue(changed.contains("use_dora"), "a field that differs from PEFT's default is always written");
    }
}
