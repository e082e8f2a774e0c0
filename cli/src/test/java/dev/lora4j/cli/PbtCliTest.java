package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Population-based training on the tiny Llama, one lane: exploit copies the exact checkpoint; kill -9 + resume. */
class PbtCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** progress.csv columns that do not depend on time or memory. */
    private static final List<Integer> EXACT = List.of(0, 1, 2, 3, 4, 9, 10, 11, 12, 13);

    private static Path spec(Path dir, String name, int steps, String learningRates, String scheduler)
            throws IOException {
        Path s2 = Cli.FIXTURES.resolve("tiny-llama-s2");
        Path f = dir.resolve(name + ".yaml");
        Files.writeString(f, String.join("\n",
                "name: " + name,
                "model: " + s2.resolve("model"),
                "data: {train: " + s2.resolve("data.jsonl") + ", eval: " + s2.resolve("data.jsonl") + "}",
                "training: {max_steps: " + steps + ", batch_size: 4, eval_steps: 10, save_steps: 10, seed: 11}",
                "lora: {target_modules: [q_proj, v_proj], lora_dropout: 0.0}",
                "method: grid",
                "parameters:",
                "  learning_rate: {values: " + learningRates + "}",
                "scheduler: " + scheduler,
                "resources: {devices: [cpu], max_failures: 0}", ""));
        return f;
    }

    /** Each trial's folder by its index in the sweep. */
    private static Map<Long, Path> byIndex(Path run) throws IOException {
        Map<Long, Path> out = new LinkedHashMap<>();
        for (Path t : SweepEndToEndTest.trials(run)) {
            out.put(JSON.readTree(t.resolve("params.json").toFile()).path("index").asLong(), t);
        }
        return out;
    }

    private static List<String> rowsAfter(Path trial, long step) throws IOException {
        List<String> out = new ArrayList<>();
        List<String> lines = Files.readAllLines(trial.resolve("progress.csv"));
        for (String row : lines.subList(1, lines.size())) {
            String[] cells = row.split(",", -1);
            if (Long.parseLong(cells[0]) > step) {
                out.add(String.join(",", EXACT.stream().map(i -> i < cells.length ? cells[i] : "").toList()));
            }
        }
        return out;
    }

    @Test
    void theBottomTrialCopiesTheTopTrialsExactCheckpoint(@TempDir Path tmp) throws Exception {
        // the same hyperparameters after the copy (weight_decay can only stay 0.0): the child must train on exactly
        // as the parent did from that checkpoint
        Path spec = spec(tmp, "exact", 30, "[3.0e-3, 1.0e-6]", "{type: pbt, perturbation_interval: 10, "
                + "quantile_fraction: 0.5, hyperparam_mutations: {weight_decay: [0.0]}}");
        Path run = tmp.resolve("run");
        Cli.Result r = Cli.run("sweep", spec, "--out", run, "--cpu-lanes", 1);
        assertEquals(0, r.code(), r.toString());
        Map<Long, Path> trials = byIndex(run);
        Path parent = trials.get(0L);
        Path child = trials.get(1L);
        JsonNode result = JSON.readTree(child.resolve("result.json").toFile());
        JsonNode lineage = result.path("lineage");
        assertEquals(1, lineage.size(), result.toString());
        assertEquals(10, lineage.get(0).path("step").asLong());
        assertEquals(parent.getFileName().toString(), lineage.get(0).path("from").asText());
        assertEquals(3e-3, lineage.get(0).path("parameters").path("training.learning_rate").asDouble());
        assertEquals(0.0, lineage.get(0).path("parameters").path("training.weight_decay").asDouble());
        assertEquals(1e-6, result.path("parameters").path("training.learning_rate").asDouble(),
                "result.json keeps the parameters the trial started with");
        assertEquals(1, result.path("attempts").asInt(), "a copy is not a retry");
        // steps 11..30 of the child are the parent's, bit for bit (loss, learning rate, gradient norm, evaluations)
        List<String> parentRows = rowsAfter(parent, 10);
        assertTrue(parentRows.size() >= 20, parentRows.toString());
        assertEquals(parentRows, rowsAfter(child, 10));
        assertFalse(Files.exists(parent.resolve("lineage.jsonl")), "the top trial copies nobody");
        // its own first ten steps stay its own (a learning rate of 1e-6): it went on from step 10, not from scratch
        List<String> parentFirst = rowsAfter(parent, 0).subList(0, 10);
        List<String> childFirst = rowsAfter(child, 0).subList(0, 10);
        assertNotEquals(parentFirst, childFirst);
        assertTrue(Double.parseDouble(childFirst.get(5).split(",")[3]) < 1e-5, childFirst.get(5));
        // the checkpoint it took is the parent's, file for file
        Path copied = child.resolve("checkpoints/step-10");
        try (var files = Files.list(parent.resolve("checkpoints/step-10"))) {
            for (Path f : files.toList()) {
                assertTrue(Arrays.equals(Files.readAllBytes(f), Files.readAllBytes(copied.resolve(f.getFileName()))),
                        f.getFileName() + " differs");
            }
        }
        String report = Files.readString(run.resolve("report.html"));
        String childId = child.getFileName().toString();
        String parentId = parent.getFileName().toString();
        assertTrue(report.contains("<table id=\"lineage\">") && report.contains("<tr data-trial=\"" + childId + "\">")
                && report.contains("data-from=\"" + parentId + "\"") && !report.contains("<tr data-trial=\""
                + parentId + "\"><td><a href=\"#trial-" + parentId + "\">"), "report.html draws the lineage");
    }

    @Test
    void resumeAfterKillOrCtrlCMakesTheSameDecisions(@TempDir Path tmp) throws Exception {
        Path spec = spec(tmp, "kill", 30, "[3.0e-3, 1.0e-6, 1.0e-3, 2.0e-6]", "{type: pbt, perturbation_interval: "
                + "10, resample_probability: 0.5, seed: 5, hyperparam_mutations: {learning_rate: {distribution: "
                + "log_uniform_values, min: 1.0e-4, max: 1.0e-2}, weight_decay: [0.0, 0.01, 0.1]}}");
        Path straight = tmp.resolve("straight");
        assertEquals(0, Cli.run("sweep", spec, "--out", straight, "--cpu-lanes", 1).code());
        String expected = lineages(straight);
        assertTrue(expected.contains("\"from\""), "some trial copied another: " + expected);

        // kill -9 mid-trial once two trials ended
        Path killed = interrupt(tmp, spec, "killed", "-9",
                run -> ended(run) >= 2 && SweepEndToEndTest.midTrial(run, "checkpoints/step-20"));
        assertEquals(expected, lineages(killed));
        assertEquals(SweepEndToEndTest.withoutTimes(straight), SweepEndToEndTest.withoutTimes(killed));
        // Ctrl-C (the sweep is cancelled) once a running trial has copied another
        Path cancelled = interrupt(tmp, spec, "cancelled", "-INT",
                run -> SweepEndToEndTest.midTrial(run, "lineage.jsonl"));
        assertEquals(expected, lineages(cancelled));
        assertEquals(SweepEndToEndTest.withoutTimes(straight), SweepEndToEndTest.withoutTimes(cancelled));
    }

    @FunctionalInterface
    private interface RunCondition {
        boolean test(Path run) throws IOException;
    }

    /** Runs the sweep, sends {@code signal} once {@code when} holds, then resumes it to the end. */
    private static Path interrupt(Path tmp, Path spec, String name, String signal, RunCondition when)
            throws Exception {
        Path run = tmp.resolve(name);
        Path log = tmp.resolve(name + ".log");
        Process p = Cli.spawn(log, "sweep", spec, "--out", run, "--cpu-lanes", 1);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline && !when.test(run)) {
            Thread.sleep(5);
        }
        new ProcessBuilder("kill", signal, Long.toString(p.pid())).start().waitFor();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), name + " ends");
        assertTrue(ended(run) < 4, "interrupted before the end: " + Files.readString(log));
        Cli.Result resumed = Cli.run("sweep", spec, "--out", run, "--resume", "--cpu-lanes", 1);
        assertEquals(0, resumed.code(), resumed.toString());
        return run;
    }

    private static String lineages(Path run) throws IOException {
        StringBuilder b = new StringBuilder();
        for (Map.Entry<Long, Path> t : byIndex(run).entrySet()) {
            b.append(t.getKey()).append(": ").append(JSON.readTree(t.getValue().resolve("result.json").toFile())
                    .path("lineage")).append('\n');
        }
        return b.toString();
    }

    private static long ended(Path run) throws IOException {
        if (!Files.isDirectory(run.resolve("trials"))) {
            return 0;
        }
        long n = 0;
        for (Path t : SweepEndToEndTest.trials(run)) {
            Path r = t.resolve("result.json");
            // a cancelled trial has a result too, but a resumed sweep runs it on
            n += Files.exists(r) && !JSON.readTree(r.toFile()).path("status").asText().equals("cancelled") ? 1 : 0;
        }
        return n;
    }
}
