package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.TargetModules;
import dev.lora4j.model.ModuleNode;
import dev.lora4j.model.ModuleTree;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Spec section 4 and test cases TC-C01 to TC-C21 (matching only; layer math is in LoraLayerTest). */
class TargetMatcherTest {

    private static LoraConfig cfg(Object targets, List<Integer> layers, Object pattern) {
        LoraConfig.Builder b = LoraConfig.builder();
        if (targets instanceof String s) {
            b.targetModulesRegex(s);
        } else {
            @SuppressWarnings("unchecked")
            List<String> l = (List<String>) targets;
            b.targetModules(new TargetModules.Names(l));
        }
        if (layers != null) {
            b.layersToTransform(layers);
        }
        if (pattern instanceof String s) {
            b.layersPattern(s);
        } else if (pattern != null) {
            @SuppressWarnings("unchecked")
            List<String> l = (List<String>) pattern;
            b.layersPattern(l);
        }
        return b.build();
    }

    static Stream<Arguments> regexCases() {
        List<String> none = null;
        return Stream.of(
                Arguments.of(1, "", List.of(), null, null, false),
                Arguments.of(2, "", List.of("foo"), null, null, false),
                Arguments.of(3, "foo", List.of(), null, null, false),
                Arguments.of(4, "foo", List.of("foo"), null, null, true),
                Arguments.of(5, "foo", List.of("bar"), null, null, false),
                Arguments.of(6, "foo", List.of("foo", "bar"), null, null, true),
                Arguments.of(7, "foo", "foo", null, null, true),
                Arguments.of(8, "foo", ".*oo", null, null, true),
                Arguments.of(9, "foo", "fo.*", null, null, true),
                Arguments.of(10, "foo", ".*bar.*", null, null, false),
                Arguments.of(11, "foobar", ".*oba.*", null, null, true),
                Arguments.of(12, "foo.bar.1.baz", List.of("baz"), List.of(1), List.of("bar"), true),
                Arguments.of(13, "foo.bar.1.baz", List.of("baz"), List.of(0), List.of("bar"), false),
                Arguments.of(14, "foo.bar.1.baz", List.of("baz"), List.of(2), List.of("bar"), false),
                Arguments.of(15, "foo.bar.10.baz", List.of("baz"), List.of(0), List.of("bar"), false),
                Arguments.of(16, "foo.bar.10.baz", List.of("baz"), List.of(1), List.of("bar"), false),
                Arguments.of(17, "foo.bar.1.baz", List.of("baz"), List.of(0, 1, 2), List.of("bar"), true),
                Arguments.of(18, "foo.bar.1.baz", List.of("baz", "spam"), List.of(1), List.of("bar"), true),
                Arguments.of(19, "foo.whatever.1.baz", List.of("baz"), List.of(1), List.of(), true),
                Arguments.of(20, "foo.whatever.1.baz", List.of("baz"), List.of(0), List.of(), false),
                Arguments.of(21, "foo.whatever.1.baz", List.of("baz"), List.of(1), "", true),
                Arguments.of(22, "foo.whatever.1.baz", List.of("baz"), List.of(1), none, true),
                Arguments.of(23, "foo.whatever.1.baz", List.of("baz"), List.of(0), none, false),
                Arguments.of(24, "transformer.h.1.attn.attention.q_proj.foo", List.of("q_proj"), null, null, false),
                Arguments.of(25, "transformer.h.1.attn.attention.q_proj", List.of(), null, null, false),
                Arguments.of(26, "transformer.h.1.attn.attention.q_proj", List.of("q_proj", "v_proj"), null, null,
                        true),
                Arguments.of(27, "transformer.h.1.attn.attention.resid_dropout", List.of("q_proj", "v_proj"), null,
                        null, false),
                Arguments.of(28, "transformer.h.1.attn.attention.q_proj", List.of("q_proj"), List.of(1),
                        List.of("h"), true),
                Arguments.of(29, "transformer.h.1.attn.attention.q_proj", List.of("q_proj"), List.of(0),
                        List.of("h"), false),
                Arguments.of(30, "transformer.h.1.attn.attention.q_proj", List.of("q_proj", "v_proj"),
                        List.of(0, 1, 2), List.of("h"), true),
                Arguments.of(31, "foo.bar.q_proj", List.of("q_proj"), null, null, true),
                Arguments.of(32, "foo.bar.1.baz", List.of("baz"), List.of(1), List.of("foo"), false),
                Arguments.of(33, "foo.bar.1.baz", List.of("baz"), List.of(1), List.of("baz"), false),
                Arguments.of(34, "bar.1.baz", List.of("baz"), List.of(1), List.of("bar"), false),
                Arguments.of(35, "foo.bar.001.baz", List.of("baz"), List.of(1), List.of("bar"), true),
                Arguments.of(36, "foo.bar.1.spam.2.baz", List.of("baz"), List.of(1), List.of("bar"), true),
                Arguments.of(37, "foo.bar.2.spam.1.baz", List.of("baz"), List.of(1), List.of("bar"), false),
                Arguments.of(38, "blocks.1.weight", List.of("weight"), List.of(1), List.of("blocks"), false),
                Arguments.of(39, "blocks.1.bias", List.of("weight"), List.of(1), List.of("blocks"), false),
                Arguments.of(40, "mlp.blocks.1.weight", List.of("weight"), List.of(1), List.of("blocks"), true),
                Arguments.of(41, "mlp.blocks.1.bias", List.of("weight"), List.of(1), List.of("blocks"), false));
    }

    @ParameterizedTest(name = "TC-C01 #{0}: {1}")
    @MethodSource("regexCases")
    void matchingTable(int n, String key, Object targets, List<Integer> layers, Object pattern, boolean expected) {
        TargetMatcher.Result r = TargetMatcher.check(cfg(targets, layers, pattern), key);
        assertEquals(expected, r == TargetMatcher.Result.TARGETED, "case " + n);
    }

    @Test
    void dotBoundedSuffixAndFullMatchRegex() {
        LoraConfig q = cfg(List.of("q"), null, null);
        assertEquals(TargetMatcher.Result.TARGETED, TargetMatcher.check(q, "model.layers.0.attn.q"));
        assertEquals(TargetMatcher.Result.UNMATCHED, TargetMatcher.check(q, "model.layers.0.attn.qq"));
        assertEquals(TargetMatcher.Result.UNMATCHED, TargetMatcher.check(q, "model.layers.0.attnq"));
        assertEquals(TargetMatcher.Result.TARGETED, TargetMatcher.check(q, "q"));
        assertEquals(TargetMatcher.Result.TARGETED,
                TargetMatcher.check(cfg(List.of("attn.q"), null, null), "model.layers.0.attn.q"));
        String key = "model.layers.0.self_attn.q_proj";
        assertEquals(TargetMatcher.Result.UNMATCHED, TargetMatcher.check(cfg("q_proj", null, null), key));
        assertEquals(TargetMatcher.Result.TARGETED, TargetMatcher.check(cfg(".*q_proj", null, null), key));
        LoraConfig layer0 = cfg(".*\\.layers\\.0\\..*q_proj", null, null);
        assertEquals(TargetMatcher.Result.TARGETED, TargetMatcher.check(layer0, key));
        assertEquals(TargetMatcher.Result.UNMATCHED,
                TargetMatcher.check(layer0, "model.layers.1.self_attn.q_proj"));
    }

    @Test
    void exactKeyBypassesLayerFilter() {
        assertEquals(TargetMatcher.Result.TARGETED, TargetMatcher.check(
                cfg(List.of("foo.bar.1.baz"), List.of(0), List.of("bar")), "foo.bar.1.baz"));
        assertEquals(TargetMatcher.Result.UNMATCHED, TargetMatcher.check(
                cfg(List.of("baz"), List.of(0), List.of("bar")), "foo.bar.1.baz"));
    }

    static ModuleTree mlp() {
        return new ModuleTree("custom", List.of(ModuleNode.linear("lin0", 10, 20, true),
                ModuleNode.other("relu", "ReLU"), ModuleNode.other("drop", "Dropout"),
                ModuleNode.linear("lin1", 20, 2, true), ModuleNode.other("sm", "LogSoftmax")), null, false);
    }

    private static List<String> targeted(LoraConfig c, ModuleTree tree) {
        return TargetMatcher.select(c, tree).targeted().stream().map(ModuleNode::path).toList();
    }

    @Test
    void targetedNamesOnMlp() {
        ModuleTree mlp = mlp();
        assertEquals(List.of("lin0"), targeted(cfg("lin0", null, null), mlp));
        assertEquals(List.of("lin0", "lin1"), targeted(cfg("lin.*", null, null), mlp));
        assertEquals(List.of("lin0"), targeted(cfg(List.of("lin0"), null, null), mlp));
        assertEquals(List.of("lin0", "lin1"), targeted(cfg(List.of("lin0", "lin1"), null, null), mlp));
    }

    @Test
    void moeLayerIndexUsesFirstNumber() {
        List<ModuleNode> nodes = new java.util.ArrayList<>();
        for (int i = 0; i < 4; i++) {
            String l = "model.layers." + i;
            nodes.add(ModuleNode.linear(l + ".self_attn.q_proj", 4, 4, false));
            nodes.add(ModuleNode.linear(l + ".mlp.experts.0.up_proj", 4, 4, false));
            nodes.add(ModuleNode.linear(l + ".mlp.experts.1.up_proj", 4, 4, false));
        }
        ModuleTree tree = new ModuleTree("custom", nodes, null, false);
        for (Object pattern : Arrays.asList(null, "layers", List.of("h", "layers"))) {
            LoraConfig c = cfg(List.of("q_proj", "up_proj"), List.of(1), pattern);
            assertEquals(List.of("model.layers.1.self_attn.q_proj", "model.layers.1.mlp.experts.0.up_proj",
                    "model.layers.1.mlp.experts.1.up_proj"), targeted(c, tree), "pattern " + pattern);
        }
    }

    @Test
    void excludeModules() {
        ModuleTree mlp = mlp();
        LoraConfig a = cfg("lin.*", null, null).toBuilder().excludeModules(TargetModules.ofString("lin0")).build();
        assertEquals(List.of("lin1"), targeted(a, mlp));
        LoraConfig b = cfg(List.of("lin0", "lin1"), null, null).toBuilder()
                .excludeModules(TargetModules.ofString("lin0")).build();
        assertEquals(List.of("lin1"), targeted(b, mlp));
        LoraConfig c = cfg(List.of("lin0", "lin1"), null, null).toBuilder()
                .excludeModules(TargetModules.Names.of("lin0")).build();
        assertEquals(List.of("lin1"), targeted(c, mlp));
    }

    @Test
    void nothingTargetedErrors() {
        ModuleTree mlp = mlp();
        List<String> all = List.of("lin0", "lin1", "relu", "drop", "sm");
        LoraConfig allExcluded = cfg(all, null, null).toBuilder().excludeModules(new TargetModules.Names(all)).build();
        assertTrue(assertThrows(LoraException.class, () -> TargetMatcher.select(allExcluded, mlp)).getMessage()
                .startsWith("All modules were excluded"));
        String notFound = assertThrows(LoraException.class,
                () -> TargetMatcher.select(cfg(List.of("non_existent_module"), null, null), mlp)).getMessage();
        assertTrue(notFound.matches("Target modules .* not found in the base model.*"), notFound);
        assertTrue(notFound.contains("[lin0, lin1]"), "lists the linear modules: " + notFound);
        LoraConfig mixed = cfg(List.of("lin0", "non_existent_module"), null, null).toBuilder()
                .excludeModules(TargetModules.Names.of("lin0")).build();
        assertTrue(assertThrows(LoraException.class, () -> TargetMatcher.select(mixed, mlp)).getMessage()
                .contains("No modules were targeted for adaptation"));
        LoraConfig noExclusion = cfg(List.of("lin1"), null, null).toBuilder()
                .excludeModules(TargetModules.Names.of("non_existent_module")).build();
        TargetMatcher.Selection s = TargetMatcher.select(noExclusion, mlp);
        assertEquals(1, s.targeted().size());
        assertTrue(s.warnings().get(0).startsWith("You have passed exclude_modules="));
    }

    @Test
    void noDefaultTargetsForCustomModels() {
        assertTrue(assertThrows(LoraException.class, () -> TargetMatcher.select(LoraConfig.defaults(), mlp()))
                .getMessage().contains("Please specify `target_modules`"));
    }

    @Test
    void allLinearOnCustomModelIncludesOutputLayer() {
        TargetMatcher.Selection s = TargetMatcher.select(cfg("all-linear", null, null), mlp());
        assertEquals(List.of("lin0", "lin1"), s.targeted().stream().map(ModuleNode::path).toList());
        assertEquals(new TargetModules.Names(List.of("lin0", "lin1")), s.config().targetModules().orElseThrow());
        assertEquals(List.of("lin0", "lin1"), targeted(cfg("ALL-LINEAR", null, null), mlp()));
        String msg = assertThrows(LoraException.class,
                () -> TargetMatcher.select(cfg(List.of("all-linear"), null, null), mlp())).getMessage();
        assertTrue(msg.startsWith("Target modules {'all-linear'} not found in the base model."), msg);
    }

    @Test
    void unsupportedModuleType() {
        String msg = assertThrows(LoraException.class,
                () -> TargetMatcher.select(cfg(List.of("relu"), null, null), mlp())).getMessage();
        assertTrue(msg.startsWith("Target module ReLU() at relu is not supported."), msg);
    }

    @Test
    void modulesToSaveShieldsItsSubtree() {
        ModuleTree tree = new ModuleTree("custom", List.of(ModuleNode.linear("layer1", 10, 20, true),
                ModuleNode.linear("layer2", 20, 5, true), ModuleNode.other("layer3", "Plain"),
                ModuleNode.linear("layer3.layer1", 5, 10, true)), null, false);
        LoraConfig c = cfg(List.of("layer1"), null, null).toBuilder().modulesToSave(List.of("layer3")).build();
        assertEquals(List.of("layer1"), targeted(c, tree));
        LoraConfig same = cfg(List.of("layer1"), null, null).toBuilder().modulesToSave(List.of("layer1")).build();
        assertTrue(assertThrows(LoraException.class, () -> TargetMatcher.select(same, tree)).getMessage()
                .startsWith("No modules were targeted for adaptation"));
    }
}
