package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.config.ConfigError;
import dev.lora4j.config.ConfigException;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.model.ModuleNode;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which ranks a model can hold: refused before anything is allocated, naming lora.r or the rank_pattern key. */
class AdapterSizeTest {
    private static final long GIB = 1L << 30;
    private static final List<ModuleNode> LLAMA = List.of(
            ModuleNode.linear("model.layers.0.self_attn.q_proj", 4096, 4096, false),
            ModuleNode.linear("model.layers.0.self_attn.v_proj", 4096, 1024, false),
            ModuleNode.linear("model.layers.0.mlp.down_proj", 14336, 4096, false));

    private static ConfigError refused(LoraConfig c, List<ModuleNode> targets, long memory, long heap) {
        ConfigException e = assertThrows(ConfigException.class, () -> AdapterSize.check(c, targets, memory, heap));
        assertEquals(1, e.errors().size());
        return e.errors().get(0);
    }

    @Test
    void anyRankThatFitsIsAcceptedEvenAboveTheWeightsRankAsInPeft() {
        // r > min(in, out) is legal in PEFT and trains; only what cannot be held is refused
        AdapterSize.check(LoraConfig.builder().r(8192).build(), LLAMA, 64 * GIB, 8 * GIB);
    }

    @Test
    void aTensorLargerThanAJavaArrayIsRefusedWithTheLargestRankThatFits() {
        ConfigError e = refused(LoraConfig.builder().r(2_000_000_000).build(), LLAMA, Long.MAX_VALUE, Long.MAX_VALUE);
        assertEquals("lora.r", e.path());
        assertTrue(e.message().startsWith("r=2000000000 cannot be allocated: model.layers.0.self_attn.q_proj "
                + "(Linear(in_features=4096, out_features=4096, bias=False)) would get a lora_A of 2000000000 x 4096"),
                e.message());
        assertTrue(e.message().contains("r may be at most 524287 for this module"), e.message());
        AdapterSize.check(LoraConfig.builder().r(524287).build(), LLAMA.subList(0, 1), Long.MAX_VALUE,
                Long.MAX_VALUE);
    }

    @Test
    void theRankPatternKeyThatSetTheRankIsNamed() {
        LoraConfig c = LoraConfig.builder().r(8).rankPattern(Map.of("down_proj", 1_000_000)).build();
        ConfigError e = refused(c, LLAMA, Long.MAX_VALUE, Long.MAX_VALUE);
        assertEquals("lora.rank_pattern.down_proj", e.path());
        assertTrue(e.message().startsWith("rank 1000000 cannot be allocated: model.layers.0.mlp.down_proj"),
                e.message());
    }

    @Test
    void aTensorLargerThanTheHeapIsRefused() {
        ConfigError e = refused(LoraConfig.builder().r(100_000).build(), LLAMA, Long.MAX_VALUE, GIB);
        assertEquals("lora.r", e.path());
        assertTrue(e.message().contains("more than the Java heap (1.0 GiB, -Xmx); r may be at most 65536"),
                e.message());
    }

    @Test
    void anAdapterLargerThanTheMachinesMemoryIsRefused() {
        // 3 modules, r = 65536: (4096+4096 + 4096+1024 + 14336+4096) * 65536 values, 7.75 GiB as float32
        ConfigError e = refused(LoraConfig.builder().r(65536).build(), LLAMA, 7 * GIB, 64 * GIB);
        assertEquals("lora.r", e.path());
        AdapterSize.check(LoraConfig.builder().r(65536).build(), LLAMA, 8 * GIB, 64 * GIB);
        assertTrue(e.message().startsWith("the adapter would hold 2080374784 parameters (7.8 GiB as float32"),
                e.message());
        assertTrue(e.message().endsWith("more than this machine's 7.0 GiB of memory; lower r (or the rank_pattern "
                + "ranks) or target fewer modules"), e.message());
    }

    @Test
    void pissaAndOloraCannotTakeMoreVectorsThanTheWeightHas() {
        LoraConfig c = LoraConfig.builder().r(2048).initLoraWeights("pissa").build();
        ConfigError e = refused(c, LLAMA, Long.MAX_VALUE, Long.MAX_VALUE);
        assertEquals("lora.r", e.path());
        assertTrue(e.message().startsWith("r=2048 is larger than model.layers.0.self_attn.v_proj allows with "
                + "init_lora_weights \"pissa\""), e.message());
        assertTrue(e.message().contains("r may be at most min(in_features, out_features) = 1024"), e.message());
        AdapterSize.check(c.toBuilder().initLoraWeights("orthogonal").build(), LLAMA, Long.MAX_VALUE, Long.MAX_VALUE);
    }

    @Test
    void embeddingsCountTheirTableSize() {
        ConfigError e = refused(LoraConfig.builder().r(100_000).build(),
                List.of(ModuleNode.embedding("model.embed_tokens", 128_256, 4096)), Long.MAX_VALUE, Long.MAX_VALUE);
        assertTrue(e.message().startsWith("r=100000 cannot be allocated: model.embed_tokens"), e.message());
    }
}
