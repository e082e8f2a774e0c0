package dev.lora4j.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** TC-C19 (pattern keys), TC-C17 and TC-C18 (ranks, alphas and scalings per module). */
class PatternKeysTest {
    private static final List<String> KEYS = List.of("layers.1.lin0", "layers.11.lin0", "xlin0", "lin0");

    private static List<String> matching(String pattern) {
        return KEYS.stream().filter(k -> PatternKeys.matches(pattern, k)).toList();
    }

    @Test
    void c19PatternKeysAreDotBoundedSuffixRegexes() {
        assertEquals(List.of("layers.1.lin0", "layers.11.lin0", "lin0"), matching("lin0"));
        assertEquals(List.of("layers.1.lin0"), matching("layers.1.lin0"));
        assertEquals(List.of("lin0"), matching("^lin0"));
        assertEquals(List.of("layers.1.lin0"), matching("^layers\\.1\\.lin0"));
    }

    @Test
    void c19FirstMatchingKeyInInsertionOrderWins() {
        Map<String, Integer> ranks = new LinkedHashMap<>();
        ranks.put("lin0", 4);
        ranks.put("layers.1.lin0", 16);
        assertEquals(Optional.of("lin0"), PatternKeys.find(ranks.keySet(), "layers.1.lin0"));
        LoraConfig c = LoraConfig.builder().r(8).rankPattern(ranks).build();
        assertEquals(4, c.rankFor("layers.1.lin0"));
        assertEquals(8, c.rankFor("layers.1.lin1"));
    }

    @Test
    void invalidPatternMatchesNothing() {
        assertFalse(PatternKeys.matches("[bad", "lin0"));
        assertTrue(PatternKeys.matches("lin.", "lin0"));
    }

    @Test
    void c17PatternResolutionAndScalings() {
        Map<String, Integer> ranks = new LinkedHashMap<>();
        ranks.put("embed", 9);
        ranks.put("conv2d", 16);
        Map<String, Double> alphas = new LinkedHashMap<>();
        alphas.put("linear", 11.0);
        alphas.put("conv2d", 13.0);
        LoraConfig c = LoraConfig.builder().targetModules("linear", "embed", "conv2d").r(25).loraAlpha(17)
                .rankPattern(ranks).alphaPattern(alphas).build();
        assertEquals(25, c.rankFor("linear"));
        assertEquals(9, c.rankFor("embed"));
        assertEquals(16, c.rankFor("conv2d"));
        assertEquals(0.44, c.scalingFor("linear"), 1e-12);
        assertEquals(17.0 / 9, c.scalingFor("embed"), 1e-12);
        assertEquals(0.8125, c.scalingFor("conv2d"), 1e-12);
        LoraConfig rs = c.toBuilder().useRslora(true).build();
        assertEquals(2.2, rs.scalingFor("linear"), 1e-12);
        assertEquals(17.0 / 3, rs.scalingFor("embed"), 1e-12);
        assertEquals(3.25, rs.scalingFor("conv2d"), 1e-12);
    }

    @Test
    void c18RankAndAlphaPatternsAreIndependent() {
        LoraConfig c = LoraConfig.builder().targetModules("linear").loraAlpha(1).r(8).rankPattern(Map.of("linear", 8))
                .alphaPattern(Map.of("0.linear", 2.0)).build();
        assertEquals(0.25, c.scalingFor("0.linear"), 1e-12);
        LoraConfig without = c.toBuilder().rankPattern(Map.of()).build();
        assertEquals(without.scalingFor("0.linear"), c.scalingFor("0.linear"));
        assertEquals(1.0 / 8, c.scalingFor("1.linear"), 1e-12);
    }

    @Test
    void c20LayerPatternsDoNotMatchLongerIndices() {
        Map<String, Integer> ranks = new LinkedHashMap<>();
        for (int i = 0; i < 10; i++) {
            for (int j = 0; j < 2; j++) {
                ranks.put("layers." + i + ".lin" + j, 64 / (i + 1));
            }
        }
        LoraConfig c = LoraConfig.builder().r(4).loraAlpha(8).rankPattern(ranks).build();
        assertEquals(64, c.rankFor("layers.0.lin0"));
        assertEquals(32, c.rankFor("layers.1.lin1"));
        assertEquals(6, c.rankFor("layers.9.lin0"));
        assertEquals(4, c.rankFor("layers.10.lin0"));
        assertEquals(4, c.rankFor("layers.11.lin0"));
    }
}
