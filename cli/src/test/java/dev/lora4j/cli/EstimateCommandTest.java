package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lora4j estimate}: the JSON keys tools read, a sweep's largest trial, and bad input in one line. */
class EstimateCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path S2 = Cli.FIXTURES.resolve("tiny-llama-s2");

    private static Path config(Path dir, String name, String training) throws IOException {
        return Files.writeString(dir.resolve(name), "model: " + S2.resolve("model").toAbsolutePath() + "\n"
                + "data: {train: " + S2.resolve("data.jsonl").toAbsolutePath() + ", max_length: 1024}\n"
                + "training: " + training + "\nlora: {r: 8, lora_alpha: 16, target_modules: [q_proj, v_proj]}\n");
    }

    private static JsonNode estimate(Object... args) throws IOException {
        Cli.Result r = Cli.run(args);
        assertEquals(0, r.code(), r.toString());
        return JSON.readTree(r.out());
    }

    @Test
    void jsonHasThePeakTheBaseThePerTrialPartAndHowManyFit(@TempDir Path tmp) throws IOException {
        JsonNode o = estimate("estimate", config(tmp, "c.yaml", "{batch_size: 4}"), "--json");
        for (String k : new String[] {"peak_bytes", "base_bytes", "per_trial_bytes", "trials_per_device"}) {
            assertTrue(o.has(k), k + " in " + o);
        }
        // the fixture's float32 weights, exactly: vocab 101 x 64 twice, two layers of 4 x 64 x 64 + 2 x 64 x 32 (kv)
        // + 3 x 64 x 176 (MLP) + 2 x 64 (norms), the final norm
        long params = 2L * 101 * 64 + 2L * (2 * 64 * 64 + 2 * 64 * 32 + 3 * 64 * 176 + 2 * 64) + 64;
        assertEquals(4 * params, o.get("base_bytes").asLong());
        assertEquals(o.get("runtime_bytes").asLong() + o.get("base_bytes").asLong()
                + o.get("per_trial_bytes").asLong(), o.get("peak_bytes").asLong());
        assertEquals("cpu", o.get("device").asText());
        assertTrue(o.get("trials_per_device").asInt() >= 1, o.toString());
        // a larger batch needs more per trial; checkpointing needs less at long sequences
        JsonNode bigger = estimate("estimate", config(tmp, "d.yaml", "{batch_size: 16}"), "--json");
        assertTrue(bigger.get("per_trial_bytes").asLong() > 3 * o.get("per_trial_bytes").asLong(), bigger.toString());
        JsonNode lean = estimate("estimate", config(tmp, "e.yaml", "{batch_size: 16, gradient_checkpointing: true}"),
                "--json");
        assertTrue(lean.get("per_trial_bytes").asLong() < bigger.get("per_trial_bytes").asLong() / 2, lean.toString());
        Cli.Result text = Cli.run("estimate", config(tmp, "c.yaml", "{batch_size: 4}"));
        assertTrue(text.out().contains("peak of a trial") && text.out().contains("fit"), text.out());
    }

    @Test
    void aSweepIsEstimatedByItsLargestTrial(@TempDir Path tmp) throws IOException {
        Path sweep = Files.writeString(tmp.resolve("s.yaml"), Files.readString(config(tmp, "b.yaml",
                "{batch_size: 2}")) + "method: grid\nmetric: {name: train_loss}\nparameters:\n  batch_size: {values: [2, 8]}\n");
        JsonNode s = estimate("estimate", sweep, "--json");
        JsonNode eight = estimate("estimate", config(tmp, "c8.yaml", "{batch_size: 8}"), "--json");
        assertEquals(eight.get("peak_bytes").asLong(), s.get("peak_bytes").asLong());
        assertEquals(2, s.get("trials").asInt());
    }

    @Test
    void badInputIsOneLineWithExitCode2(@TempDir Path tmp) throws IOException {
        Cli.Result adapter = Cli.run("estimate", S2.resolve("adapters/qv/adapter_config.json"));
        assertEquals(2, adapter.code());
        assertTrue(adapter.err().contains("not a training config or a sweep"), adapter.err());
        Cli.Result device = Cli.run("estimate", config(tmp, "c.yaml", "{batch_size: 4}"), "--device", "tpu");
        assertEquals(2, device.code());
        assertEquals("lora4j: device 'tpu': expected cpu, gpu or gpu:N", device.err().strip());
        Cli.Result field = Cli.run("estimate", config(tmp, "f.yaml", "{batch_size: 0}"));
        assertEquals(2, field.code());
        assertTrue(field.err().contains("training.batch_size: batch_size must be >= 1, got 0"), field.err());
    }
}
