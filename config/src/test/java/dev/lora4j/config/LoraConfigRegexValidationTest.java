package dev.lora4j.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every PEFT pattern is checked as PEFT compiles it (Python's re, inside PEFT's own wrapping), with the message
 * pointing into what the user wrote.
 */
class LoraConfigRegexValidationTest {

    private static List<String> errors(LoraConfig.Builder b) {
        return LoraConfigValidator.validate(b.build()).errors().stream().map(ConfigError::toString).toList();
    }

    @Test
    void pythonOnlySyntaxIsValid() {
        assertEquals(List.of(), errors(LoraConfig.builder().targetModulesRegex(".*(?P<proj>q_proj|v_proj)")
                .excludeModules(TargetModules.ofString("(?P<l>.*)\\.0\\.(?P=l)"))
                .rankPattern(Map.of("(?P<x_y>q)_proj", 4)).alphaPattern(Map.of("(?i:Q)_proj\\Z", 8.0))
                .modulesToSave(List.of("(?P<head>score)"))));
    }

    @Test
    void javaSyntaxIsRefusedWithPythonsMessageAndAHint() {
        assertEquals(List.of("lora.target_modules: \".*(?<proj>q_proj)\" is not a valid regular expression: unknown "
                + "extension ?<p (Python writes a named group as (?P<name>...)) at position 3 (PEFT compiles it with "
                + "Python's re)"), errors(LoraConfig.builder().targetModulesRegex(".*(?<proj>q_proj)")));
    }

    @Test
    void positionsAreInTheKeyNotInPeftsWrapping() {
        assertEquals(List.of("lora.rank_pattern.a): \"a)\" is not a valid regular expression: unbalanced parenthesis "
                + "at position 1 (PEFT compiles it with Python's re)"),
                errors(LoraConfig.builder().rankPattern(Map.of("a)", 4))));
        // fine alone, but PEFT wraps the key in (.*\.)?(...)$, where a global flag is no longer at the start
        assertEquals(List.of("lora.alpha_pattern.(?i)q_proj: \"(?i)q_proj\" is not a valid regular expression: "
                + "global flags not at the start of the expression at position 0; PEFT puts it inside (.*\\.)?(...)$, "
                + "so flags must be scoped: (?i:...) (PEFT compiles it with Python's re)"),
                errors(LoraConfig.builder().alphaPattern(Map.of("(?i)q_proj", 8.0))));
    }

    @Test
    void whatJavaCannotRunIsRefusedAsSuch() {
        assertEquals(List.of("lora.modules_to_save[0]: \"(s)(?(1)core)\" at position 3 uses a conditional group "
                + "(?(...)...), which Python accepts but Java's regex engine cannot run; rewrite the pattern without "
                + "it"), errors(LoraConfig.builder().modulesToSave(List.of("(s)(?(1)core)"))));
    }

    @Test
    void layersPatternIsCheckedAsPeftUsesIt() {
        LoraConfig.Builder b = LoraConfig.builder().targetModules("q_proj").layersToTransform(List.of(0))
                .layersPattern(List.of("(layers|h)", "h|layers", "la(yers", "(?:layers|h)", ""));
        List<String> errors = errors(b);
        assertEquals(3, errors.size(), errors.toString());
        assertTrue(errors.get(0).startsWith("lora.layers_pattern[0]: layers_pattern \"(layers|h)\" has a capturing "
                + "group: PEFT reads the layer index from group 1 of .*?\\.(layers|h)\\.(\\d+)\\."), errors.get(0));
        assertTrue(errors.get(1).startsWith("lora.layers_pattern[1]: layers_pattern \"h|layers\" has a | outside "
                + "any group"), errors.get(1));
        assertEquals("lora.layers_pattern[2]: \"la(yers\" is not a valid regular expression: missing ), "
                + "unterminated subpattern at position 2 (PEFT compiles it with Python's re)", errors.get(2));
        List<String> warnings = LoraConfigValidator.validate(b.build()).warnings();
        assertEquals(List.of("lora.layers_pattern[4] is \"\": in a list an empty name matches no layer (PEFT looks "
                + "for \"..<index>.\" in the key); leave layers_pattern out, or write layers_pattern: \"\", to accept "
                + "any layer name"), warnings);
    }

    @Test
    void anEmptyLayersPatternStringMeansAnyLayerAndIsNotWarnedAbout() {
        Validation v = LoraConfigValidator.validate(LoraConfig.builder().targetModules("q_proj")
                .layersToTransform(List.of(0)).layersPattern("").build());
        assertTrue(v.isValid());
        assertEquals(List.of(), v.warnings());
    }
}
