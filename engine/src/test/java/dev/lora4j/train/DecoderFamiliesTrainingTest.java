package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.Fixtures;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.TargetModules;
import dev.lora4j.lora.Adapter;
import dev.lora4j.lora.PeftAdapters;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.HfModels;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An adapter trained here on Qwen3 (PEFT's default targets, q_proj and v_proj: no target_modules given) and on Phi-3
 * ({@code all-linear}: the fused qkv_proj and gate_up_proj, o_proj and down_proj, not lm_head) lowers the loss and
 * round-trips through PEFT's file format with the same loss.
 */
class DecoderFamiliesTrainingTest {

    @ParameterizedTest
    @ValueSource(strings = {"qwen3", "phi3"})
    void aTrainedAdapterRoundTripsThroughPeftsFormat(String family, @TempDir Path tmp) throws IOException {
        Path dir = Fixtures.tiny(family);
        List<long[]> rows = Fixtures.rows(dir.resolve("data.jsonl"));
        LoraConfig.Builder b = LoraConfig.builder().r(4).loraAlpha(8).loraDropout(0.05);
        LoraConfig lora = family.equals("qwen3") ? b.build()
                : b.targetModules(new TargetModules.AllLinear("all-linear")).build();
        try (BaseModel base = HfModels.load(dir.resolve("model"));
                Adapter ad = Adapter.create(base, lora, 1)) {
            List<String> adapted = new ArrayList<>(ad.config().targetModules().map(t -> ((TargetModules.Names) t)
                    .names()).orElseThrow());
            java.util.Collections.sort(adapted);
            assertEquals(family.equals("qwen3") ? List.of("q_proj", "v_proj")
                    : List.of("model.layers.0.mlp.down_proj", "model.layers.0.mlp.gate_up_proj",
                            "model.layers.0.self_attn.o_proj", "model.layers.0.self_attn.qkv_proj",
                            "model.layers.1.mlp.down_proj", "model.layers.1.mlp.gate_up_proj",
                            "model.layers.1.self_attn.o_proj", "model.layers.1.self_attn.qkv_proj"), adapted,
                    "PEFT's default targets, or all-linear without lm_head");
            double before = CausalLmEval.evaluate(base, ad, rows, 4).loss();
            TrialRun.Settings s = new TrialRun.Settings(2e-2, 0.0, 0.9, 0.999, 1e-8, "constant", 0, 0, 1, 12, 2, 1.0,
                    0, 0, 0, 7, "eval_loss", false);
            try (TrialRun run = new TrialRun(base, ad, new Objective.CausalLm(), s, new RowBatches(rows, 4, 7),
                    RowBatches.inOrder(rows, 4), TrainListener.NONE)) {
                while (!run.finished()) {
                    run.step();
                }
            }
            double trained = CausalLmEval.evaluate(base, ad, rows, 4).loss();
            assertTrue(trained < before - 0.05, before + " -> " + trained);
            Path out = tmp.resolve("adapter");
            PeftAdapters.save(ad, out);
            JsonNode saved = new ObjectMapper().readTree(out.resolve(PeftAdapters.CONFIG).toFile());
            assertFalse(saved.get("target_modules").isNull(), saved.toString());
            try (Adapter loaded = PeftAdapters.load(base, out, false).adapter()) {
                double again = CausalLmEval.evaluate(base, loaded, rows, 4).loss();
                assertEquals(trained, again, Math.abs(trained) * 1e-7, "the saved adapter is the trained one");
                Map<String, ?> keys = PeftAdapters.readTensors(out);
                assertTrue(keys.keySet().stream().allMatch(k -> k.startsWith("base_model.model.model.layers.")),
                        keys.keySet().toString());
            }
        }
    }
}
