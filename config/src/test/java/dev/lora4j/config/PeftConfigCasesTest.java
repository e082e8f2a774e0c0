package dev.lora4j.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Section A of peft-lora-test-cases.md: config construction and validation, with PEFT's messages. */
class PeftConfigCasesTest {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private static Validation validate(LoraConfig.Builder b) {
        return LoraConfigValidator.validate(b.build());
    }

    private static List<String> messages(Validation v) {
        return v.errors().stream().map(ConfigError::toString).toList();
    }

    @Test
    void a01Defaults() {
        LoraConfig c = LoraConfig.defaults();
        assertEquals(8, c.r());
        assertEquals(8.0, c.loraAlpha());
        assertEquals(0.0, c.loraDropout());
        assertEquals("none", c.bias());
        assertFalse(c.useRslora());
        assertFalse(c.useDora());
        assertFalse(c.fanInFanOut());
        assertEquals(InitLoraWeights.Kind.TRUE, c.initLoraWeights().kind());
        assertEquals(Optional.empty(), c.targetModules());
        assertEquals(Optional.empty(), c.excludeModules());
        assertEquals(Optional.empty(), c.modulesToSave());
        assertEquals(Map.of(), c.rankPattern());
        assertEquals(Map.of(), c.alphaPattern());
        assertEquals(Optional.empty(), c.layersToTransform());
        assertEquals(Optional.empty(), c.layersPattern());
        assertFalse(c.loraBias());
        assertFalse(c.inferenceMode());
        assertEquals(Optional.empty(), c.taskType());
        assertEquals("LORA", c.peftType());
        assertEquals(Optional.of(LoraConfig.PEFT_VERSION), c.peftVersion());
        ObjectNode written = LoraConfigJson.toTree(c);
        assertEquals(F.objectNode(), written.get("loftq_config"));
        assertTrue(LoraConfigValidator.validate(c).isValid());
    }

    @Test
    void a02ListTargetModulesBecomeASet() {
        LoraConfig c = LoraConfig.builder().targetModules("a", "list", "a").build();
        assertEquals(List.of("a", "list"), ((TargetModules.Names) c.targetModules().orElseThrow()).names());
        LoraConfig reloaded = LoraConfigJson.fromJson(LoraConfigJson.toJson(c)).value();
        assertEquals(c.targetModules(), reloaded.targetModules());
        assertEquals(LoraConfigJson.toTree(c), LoraConfigJson.toTree(reloaded));
        LoraConfig fromFile = LoraConfigJson.fromJson("{\"peft_type\": \"LORA\", \"target_modules\": [\"a\", \"list\", "
                + "\"a\"], \"exclude_modules\": [\"x\", \"x\"], \"modules_to_save\": [\"s\", \"s\"]}").value();
        assertEquals(new TargetModules.Names(List.of("a", "list")), fromFile.targetModules().orElseThrow());
        assertEquals(new TargetModules.Names(List.of("x")), fromFile.excludeModules().orElseThrow());
        assertEquals(List.of("s"), fromFile.modulesToSave().orElseThrow());
    }

    @Test
    void a03RegexWithLayersToTransform() {
        Validation v = validate(LoraConfig.builder().targetModulesRegex(".*foo").layersToTransform(List.of(0)));
        assertEquals(List.of("lora.layers_to_transform: `layers_to_transform` cannot be used when `target_modules` is "
                + "a str."), messages(v));
    }

    @Test
    void a04RegexWithLayersPattern() {
        Validation v = validate(LoraConfig.builder().targetModulesRegex(".*foo").layersPattern(List.of("bar")));
        assertTrue(messages(v).contains("lora.layers_pattern: `layers_pattern` cannot be used when `target_modules` is "
                + "a str."), messages(v).toString());
        Validation control = validate(LoraConfig.builder().targetModules("foo").layersPattern(List.of("bar"))
                .layersToTransform(List.of(0)));
        assertTrue(control.isValid(), messages(control).toString());
    }

    @Test
    void a05AllLinearWithLayersToTransform() {
        Validation v = validate(LoraConfig.builder().targetModulesRegex("all-linear").layersToTransform(List.of(0)));
        assertEquals(List.of("lora.layers_to_transform: `layers_to_transform` cannot be used when `target_modules` is "
                + "a str."), messages(v));
    }

    @Test
    void a06LayersPatternNeedsLayersToTransform() {
        Validation v = validate(LoraConfig.builder().targetModules("query", "value").layersPattern("model.layers"));
        assertEquals(List.of("lora.layers_pattern: When `layers_pattern` is specified, `layers_to_transform` must also "
                + "be specified."), messages(v));
        assertTrue(validate(LoraConfig.builder().targetModules("query", "value").layersPattern("model.layers")
                .layersToTransform(List.of(0, 1, 2))).isValid());
        assertTrue(validate(LoraConfig.builder().targetModules("query", "value")).isValid());
    }

    @Test
    void a07IndexZeroIsValid() {
        LoraConfig c = LoraConfigJson.fromJson("{\"peft_type\": \"LORA\", \"target_modules\": [\"q\"], "
                + "\"layers_to_transform\": 0, \"layers_pattern\": \"model.layers\"}").value();
        assertTrue(LoraConfigValidator.validate(c).isValid());
        assertEquals(Optional.of(List.of(0)), c.layersToTransform());
        assertTrue(c.layersToTransformScalar());
        assertEquals(Optional.of(List.of("model.layers")), c.layersPattern());
        ObjectNode out = LoraConfigJson.toTree(c);
        assertEquals(F.numberNode(0), out.get("layers_to_transform"));
        assertEquals(F.textNode("model.layers"), out.get("layers_pattern"));
    }

    @Test
    void a08InvalidTaskType() {
        Validation v = validate(LoraConfig.builder().taskType("causal_lm"));
        assertEquals(List.of("lora.task_type: Invalid task type: 'causal_lm'. Must be one of the following task types: "
                + "SEQ_CLS, SEQ_2_SEQ_LM, CAUSAL_LM, TOKEN_CLS, QUESTION_ANS, FEATURE_EXTRACTION."), messages(v));
        assertTrue(validate(LoraConfig.builder().taskType("CAUSAL_LM")).isValid());
    }

    @Test
    void a09DoraWithMegatron() {
        ObjectNode megatron = F.objectNode().put("does-not", "matter-here");
        Validation v = validate(LoraConfig.builder().targetModules("linear").useDora(true)
                .extra("megatron_config", megatron));
        assertEquals(List.of("lora.use_dora: DoRA does not support megatron_core, please set `use_dora=False`."),
                messages(v));
    }

    @Test
    void a10LoftqNeedsLoftqConfig() {
        Validation v = validate(LoraConfig.builder().initLoraWeights("loftq"));
        assertEquals(List.of("lora.loftq_config: `loftq_config` must be specified when `init_lora_weights` is "
                + "'loftq'."), messages(v));
        ObjectNode loftq = F.objectNode().put("loftq_bits", 4).put("loftq_iter", 1);
        assertTrue(validate(LoraConfig.builder().initLoraWeights("loftq").extra("loftq_config", loftq)).isValid());
        Validation stray = validate(LoraConfig.builder().extra("loftq_config", loftq));
        assertTrue(stray.isValid());
        assertEquals(1, stray.warnings().size());
        assertTrue(stray.warnings().get(0).startsWith("`loftq_config` specified but will be ignored"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"eva", "gaussian", "olora", "pissa", "pissa_niter_3", "orthogonal", "loftq"})
    void a11LoraBiasNeedsDefaultInit(String init) {
        LoraConfig.Builder b = LoraConfig.builder().loraBias(true).initLoraWeights(init);
        if (init.equals("loftq")) {
            b.extra("loftq_config", F.objectNode().put("loftq_bits", 4));
        }
        List<String> m = messages(validate(b));
        assertEquals(List.of("lora.lora_bias: The argument lora_bias=True is only supported with init_lora_weights=True "
                + "or False, got init_lora_weights=" + init + " instead."), m);
    }

    @Test
    void a11LoraBiasWithDora() {
        List<String> m = messages(validate(LoraConfig.builder().loraBias(true).useDora(true)));
        assertEquals(List.of("lora.lora_bias: The argument lora_bias=True is not supported for DoRA, please pass "
                + "use_dora=False"), m);
        assertTrue(validate(LoraConfig.builder().loraBias(true).initLoraWeights(false)).isValid());
    }

    @Test
    void a12TargetParametersMustNotBeAString() {
        LoraConfig c = LoraConfigJson.fromJson("{\"peft_type\": \"LORA\", \"target_parameters\": \"linear.weight\"}")
                .value();
        assertEquals(List.of("lora.target_parameters: `target_parameters` must be a list of strings or None."),
                messages(LoraConfigValidator.validate(c)));
    }

    @Test
    void a13EvaConfig() {
        assertEquals(List.of("lora.eva_config.rho: `rho` must be >= 1.0"), messages(validate(LoraConfig.builder()
                .initLoraWeights("eva").extra("eva_config", F.objectNode().put("rho", 0.5)))));
        assertEquals(List.of("lora.eva_config.tau: `tau` must be between 0.0 and 1.0."), messages(validate(
                LoraConfig.builder().initLoraWeights("eva").extra("eva_config", F.objectNode().put("tau", 1.5)))));
        Validation noConfig = validate(LoraConfig.builder().initLoraWeights("eva"));
        assertTrue(noConfig.isValid());
        assertEquals(1, noConfig.warnings().size());
        assertTrue(noConfig.warnings().get(0).contains("rho=2.0, tau=0.99"), noConfig.warnings().toString());
        Validation unused = validate(LoraConfig.builder().extra("eva_config", F.objectNode().put("rho", 2.0)));
        assertTrue(unused.isValid());
        assertEquals(List.of("`eva_config` specified but will be ignored when `init_lora_weights` is not 'eva'."),
                unused.warnings());
    }

    @ParameterizedTest
    @ValueSource(strings = {"pissa", "pissa_niter_3", "olora"})
    void a14RsloraWithPatternsAndConversionWarns(String init) {
        LoraConfig.Builder b = LoraConfig.builder().initLoraWeights(init).rankPattern(Map.of("linear", 8))
                .alphaPattern(Map.of("linear", 8.0));
        Validation with = validate(b.useRslora(true));
        assertEquals(1, with.warnings().size());
        assertTrue(with.warnings().get(0).contains("Using Rank-Stabilized LoRA with rank_pattern/alpha_pattern and "
                + "post-training conversion"));
        assertTrue(validate(b.useRslora(false)).warnings().isEmpty());
        assertTrue(validate(LoraConfig.builder().initLoraWeights(init).useRslora(true)).warnings().isEmpty());
    }

    @Test
    void a15RankMustBePositiveReportedEagerly() {
        assertEquals(List.of("lora.r: r must be >= 1, got 0"), messages(validate(LoraConfig.builder().r(0)
                .targetModules("lin0"))));
        assertEquals(List.of("lora.r: r must be >= 1, got -1"), messages(validate(LoraConfig.builder().r(-1))));
        assertEquals(List.of("lora.rank_pattern.lin0: rank must be >= 1, got 0"), messages(validate(
                LoraConfig.builder().r(8).rankPattern(Map.of("lin0", 0)))));
    }

    @Test
    void a16DropoutBounds() {
        assertEquals(List.of("lora.lora_dropout: lora_dropout must be >= 0 and < 1, got 1.5"),
                messages(validate(LoraConfig.builder().loraDropout(1.5))));
        assertEquals(List.of("lora.lora_dropout: lora_dropout must be >= 0 and < 1, got -0.1"),
                messages(validate(LoraConfig.builder().loraDropout(-0.1))));
        assertTrue(validate(LoraConfig.builder().loraDropout(0.0)).isValid());
        assertTrue(validate(LoraConfig.builder().loraDropout(0.1)).isValid());
    }

    @Test
    void a17InvalidBias() {
        assertEquals(List.of("lora.bias: bias must be one of \"none\", \"all\", \"lora_only\", got \"invalid\""),
                messages(validate(LoraConfig.builder().targetModules("linear", "conv2d").bias("invalid"))));
        for (Bias b : Bias.values()) {
            assertTrue(validate(LoraConfig.builder().bias(b)).isValid());
        }
    }

    @Test
    void a18PeftVersionIsKept() {
        LoraConfig c = LoraConfigJson.fromJson("{\"peft_type\": \"LORA\", \"r\": 8, \"peft_version\": \"0.17.0\"}")
                .value();
        assertEquals(Optional.of("0.17.0"), c.peftVersion());
        assertEquals("0.17.0", LoraConfigJson.toTree(c).get("peft_version").textValue());
        LoraConfig dev = LoraConfigJson.fromJson("{\"peft_type\": \"LORA\", \"peft_version\": "
                + "\"0.15.0.dev7@abcdef012345\"}").value();
        assertEquals("0.15.0.dev7@abcdef012345",
                LoraConfigJson.fromJson(LoraConfigJson.toJson(dev)).value().peftVersion().orElseThrow());
        assertEquals(LoraConfig.PEFT_VERSION, LoraConfigJson.toTree(LoraConfig.builder().peftVersion(null).build())
                .get("peft_version").textValue());
    }

    @Test
    void a19UnknownInitString() {
        assertEquals(List.of("lora.init_lora_weights: Unknown initialization init_lora_weights='foo'; allowed: "
                + LoraConfigValidator.INIT_ALLOWED), messages(validate(LoraConfig.builder().targetModules("lin0")
                .initLoraWeights("foo"))));
        assertEquals(1, validate(LoraConfig.builder().initLoraWeights("PISSA")).errors().size());
        assertEquals(1, validate(LoraConfig.builder().initLoraWeights("pissa_niter_x")).errors().size());
        for (String known : List.of("gaussian", "pissa", "pissa_niter_16", "olora", "eva", "corda", "lora_ga", "mica")) {
            assertTrue(validate(LoraConfig.builder().initLoraWeights(known)).errors().isEmpty(), known);
        }
    }

    @Test
    void errorsAreCollectedNotFirstOnly() {
        Validation v = validate(LoraConfig.builder().r(0).loraAlpha(-8).loraDropout(1).bias("foo")
                .taskType("causal_lm").initLoraWeights("nope").layersToTransform(List.of(1, -2))
                .rankPattern(Map.of("down_proj", 0)).alphaPattern(Map.of("gate_proj", 0.0))
                .targetModulesRegex("(unclosed"));
        assertEquals(List.of("lora.task_type", "lora.layers_to_transform", "lora.r", "lora.lora_alpha",
                "lora.lora_dropout", "lora.bias", "lora.init_lora_weights", "lora.target_modules",
                "lora.layers_to_transform[1]", "lora.rank_pattern.down_proj", "lora.alpha_pattern.gate_proj"),
                v.errors().stream().map(ConfigError::path).toList());
        assertTrue(messages(v).contains("lora.target_modules: \"(unclosed\" is not a valid regular expression: "
                + "missing ), unterminated subpattern at position 0 (PEFT compiles it with Python's re)"),
                messages(v).toString());
    }

    @Test
    void patternKeysMustCompile() {
        assertEquals(List.of("lora.rank_pattern.[bad: \"[bad\" is not a valid regular expression: unterminated "
                + "character set at position 0 (PEFT compiles it with Python's re)"),
                messages(validate(LoraConfig.builder().rankPattern(Map.of("[bad", 4)))));
    }

    @Test
    void allLinearInAListIsAnError() {
        assertEquals(List.of("lora.target_modules: \"all-linear\" only works as a string (target_modules: "
                + "\"all-linear\"); in a list it is an ordinary module name that matches nothing"),
                messages(validate(LoraConfig.builder().targetModules("all-linear"))));
    }

    @Test
    void orthogonalNeedsAnEvenRank() {
        assertEquals(List.of("lora.r: Orthogonal initialization requires the LoRA rank to be even, got 7 instead."),
                messages(validate(LoraConfig.builder().r(7).initLoraWeights("orthogonal"))));
    }
}
