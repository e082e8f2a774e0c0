package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** method: bayes killed with kill -9 mid-trial and resumed: the same trials as an uninterrupted sweep, one lane. */
class BayesKillResumeCliTest {
    private static Path spec(Path dir) throws IOException {
        Path s2 = Cli.FIXTURES.resolve("tiny-llama-s2");
        Path f = dir.resolve("bayes.yaml");
        Files.writeString(f, String.join("\n",
                "name: bayes",
                "model: " + s2.resolve("model"),
                "data: {train: " + s2.resolve("data.jsonl") + ", eval: " + s2.resolve("data.jsonl") + "}",
                "training: {max_steps: 60, batch_size: 4, eval_steps: 10, save_steps: 10, seed: 11}",
                "lora: {target_modules: [q_proj, v_proj]}",
                "method: {type: bayes, trials: 6, seed: 3, startup_trials: 2}",
                "parameters:",
                "  learning_rate: {min: 1.0e-4, max: 1.0e-2, distribution: log_uniform_values}",
                "  r: {min: 2, max: 16}",
                "  lora_alpha: {ratio_to: r, values: [1, 2]}",
                "resources: {devices: [cpu], max_failures: 0}", ""));
        return f;
    }

    @Test
    void resumeAfterKillProposesTheSameTrials(@TempDir Path tmp) throws Exception {
        Path spec = spec(tmp);
        Path straight = tmp.resolve("straight");
        assertEquals(0, Cli.run("sweep", spec, "--out", straight, "--cpu-lanes", 1).code());

        Path killed = tmp.resolve("killed");
        Process p = Cli.spawn(tmp.resolve("killed.log"), "sweep", spec, "--out", killed, "--cpu-lanes", 1);
        // kill -9 once three trials ended (so the sampler learned) and the next one wrote a checkpoint
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline
                && !(ended(killed) >= 3 && SweepEndToEndTest.midTrial(killed, "checkpoints/step-10"))) {
            Thread.sleep(10);
        }
        p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        assertTrue(ended(killed) < 6, "killed before the end: " + Files.readString(tmp.resolve("killed.log")));

        Cli.Result resumed = Cli.run("sweep", spec, "--out", killed, "--resume", "--cpu-lanes", 1);
        assertEquals(0, resumed.code(), resumed.toString());
        assertEquals(Files.readAllLines(straight.resolve("search.jsonl")),
                Files.readAllLines(killed.resolve("search.jsonl")), "the same proposals, in the same order");
        assertEquals(SweepEndToEndTest.withoutTimes(straight), SweepEndToEndTest.withoutTimes(killed));
    }

    private static long ended(Path run) throws IOException {
        if (!Files.isDirectory(run.resolve("trials"))) {
            return 0;
        }
        return SweepEndToEndTest.trials(run).stream().filter(t -> Files.exists(t.resolve("result.json"))).count();
    }
}
