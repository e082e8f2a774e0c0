package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.TargetModules;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * {@code layers_to_transform} with {@code layers_pattern} exactly as PEFT 0.20.0's
 * {@code tuners_utils.check_target_module_exists}: None, {@code ""} and {@code []} mean any layer name, and every
 * pattern of a non-empty list is used as given ({@code ["", ""]} looks for {@code ".."} and matches no ordinary
 * key). The expected rows were produced by running that function (copied verbatim from PEFT v0.20.0) on each key.
 */
class TargetMatcherLayersPatternTest {

    private static final List<String> KEYS = List.of("model.layers.0.self_attn.q_proj",
            "model.layers.1.self_attn.q_proj", "model.layers.1.mlp.experts.0.up_proj", "layers.0.q_proj",
            "foo.bar.1.baz", "foo.bar.001.baz", "transformer.h.1.attn.q_proj", "model..1.q_proj",
            "model.layers.\u0663.q_proj", "model.layers.99999999999999999999.q_proj");

    private static LoraConfig cfg(List<String> targets, Object layers, Object pattern) {
        LoraConfig.Builder b = LoraConfig.builder().targetModules(new TargetModules.Names(targets));
        if (layers instanceof Integer i) {
            b.layersToTransform(i);
        } else {
            @SuppressWarnings("unchecked")
            List<Integer> l = (List<Integer>) layers;
            b.layersToTransform(l);
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

    static Stream<Arguments> peftRows() {
        List<String> q = List.of("q_proj");
        return Stream.of(
                Arguments.of(q, List.of(1), null, "F T F F F F T T F F"),
                Arguments.of(q, List.of(1), "", "F T F F F F T T F F"),
                Arguments.of(q, List.of(1), List.of(), "F T F F F F T T F F"),
                Arguments.of(q, List.of(1), List.of("", ""), "F F F F F F F T F F"),
                Arguments.of(q, List.of(1), List.of(""), "F F F F F F F T F F"),
                Arguments.of(q, List.of(0, 1), List.of("", "layers"), "T T F F F F F T F F"),
                Arguments.of(q, List.of(1), "layers", "F T F F F F F F F F"),
                Arguments.of(q, List.of(1), List.of("h", "layers"), "F T F F F F T F F F"),
                Arguments.of(q, 1, "h", "F F F F F F T F F F"),
                Arguments.of(q, List.of(3), "layers", "F F F F F F F F T F"),
                Arguments.of(q, List.of(1), "(?:layers|h)", "F T F F F F T F F F"),
                Arguments.of(q, List.of(1), "lay.rs", "F T F F F F F F F F"),
                Arguments.of(List.of("up_proj"), List.of(1), null, "F F T F F F F F F F"),
                Arguments.of(List.of("up_proj"), List.of(0), "experts", "F F T F F F F F F F"),
                Arguments.of(List.of("baz"), List.of(1), List.of("bar"), "F F F F T T F F F F"),
                Arguments.of(q, List.of(), List.of("nope"), "T T F T F F T T T T"));
    }

    @ParameterizedTest(name = "[{index}] targets={0} layers={1} pattern={2}")
    @MethodSource("peftRows")
    void matchesLikePeft(List<String> targets, Object layers, Object pattern, String expected) {
        LoraConfig c = cfg(targets, layers, pattern);
        List<String> got = new ArrayList<>();
        for (String key : KEYS) {
            got.add(TargetMatcher.check(c, key) == TargetMatcher.Result.TARGETED ? "T" : "F");
        }
        assertEquals(expected, String.join(" ", got));
    }

    @Test
    void aPatternWhoseGroupHidesTheLayerIndexIsRefusedNotACrash() {
        // validation refuses these up front; a config built in code without validation still gets a clear error
        LoraConfig grouped = cfg(List.of("q_proj"), List.of(1), "(layers|h)");
        LoraException e = assertThrows(LoraException.class,
                () -> TargetMatcher.check(grouped, "model.layers.1.self_attn.q_proj"));
        assertTrue(e.getMessage().startsWith("lora.layers_pattern: \"(layers|h)\" matched"), e.getMessage());
        LoraConfig split = cfg(List.of("q_proj"), List.of(1), "h|layers");
        assertThrows(LoraException.class, () -> TargetMatcher.check(split, "transformer.h.1.attn.q_proj"));
    }

    @Test
    void pythonSyntaxInTargetModulesIsTranslated() {
        LoraConfig c = LoraConfig.builder().targetModulesRegex(".*\\.(?P<proj>q|v)_proj").build();
        assertEquals(TargetMatcher.Result.TARGETED, TargetMatcher.check(c, "model.layers.0.self_attn.q_proj"));
        assertEquals(TargetMatcher.Result.UNMATCHED, TargetMatcher.check(c, "model.layers.0.self_attn.k_proj"));
        LoraConfig backref = LoraConfig.builder().targetModulesRegex("(?P<x_y>\\w+)\\.(?P=x_y)").build();
        assertEquals(TargetMatcher.Result.TARGETED, TargetMatcher.check(backref, "ab.ab"));
        assertEquals(TargetMatcher.Result.UNMATCHED, TargetMatcher.check(backref, "ab.ac"));
        LoraConfig bad = LoraConfig.builder().targetModulesRegex("(?<n>q)_proj").build();
        LoraException e = assertThrows(LoraException.class, () -> TargetMatcher.check(bad, "q_proj"));
        assertTrue(e.getMessage().startsWith("lora.target_modules: \"(?<n>q)_proj\" is not a valid regular expression"),
                e.getMessage());
    }
}
