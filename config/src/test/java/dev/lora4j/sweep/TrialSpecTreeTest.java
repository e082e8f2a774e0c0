package dev.lora4j.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.config.ConfigException;
import dev.lora4j.config.LoraConfigJson;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A trial travels to another node as its tree: read back there, it is the same trial. */
class TrialSpecTreeTest {
    @Test
    void aTrialReadBackFromItsTreeIsTheSameTrial(@TempDir Path dir) throws Exception {
        SweepSpec sweep = TinySweeps.read(dir, String.join("\n",
                "training: {max_steps: 7, batch_size: 2, eval_steps: 3, seed: 5, learning_rate: 3.0e-3}",
                "lora: {target_modules: [q_proj, v_proj], lora_dropout: 0.1, use_rslora: true}",
                "method: {type: random, trials: 3, seed: 9}",
                "parameters:",
                "  r: {values: [4, 8]}",
                "  learning_rate: {min: 1.0e-4, max: 1.0e-2, distribution: log_uniform_values}", ""));
        List<TrialSpec> trials = sweep.trials().stream().toList();
        for (TrialSpec t : trials) {
            TrialSpec back = TrialSpec.fromTree(t.toTree());
            assertEquals(t.id(), back.id());
            assertEquals(t.name(), back.name());
            assertEquals(t.index(), back.index());
            assertEquals(t.parameters(), back.parameters());
            assertEquals(LoraConfigJson.toTree(t.lora()), LoraConfigJson.toTree(back.lora()));
            assertEquals(t.training().toTree(), back.training().toTree());
            assertEquals(t.data().toTree(), back.data().toTree());
            assertEquals(t.model().text(), back.model().text());
            assertEquals(t.task(), back.task());
        }
    }

    @Test
    void aTreeWhoseFilesAreNotHereIsRefusedNamingThem(@TempDir Path dir) throws Exception {
        TrialSpec t = TinySweeps.read(dir, "lora: {target_modules: [q_proj]}\nmethod: grid\n"
                + "parameters:\n  r: {values: [4]}\n").trials().iterator().next();
        ObjectNode tree = t.toTree();
        ((ObjectNode) tree.path("run").path("data")).put("train", dir.resolve("elsewhere.jsonl").toString());
        ConfigException e = assertThrows(ConfigException.class, () -> TrialSpec.fromTree(tree));
        assertTrue(e.getMessage().contains("elsewhere.jsonl"), e.getMessage());
    }
}
