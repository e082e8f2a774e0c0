package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.lora.HostTensor;
import dev.lora4j.lora.PeftAdapters;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Whole sweeps through the CLI on the tiny Llama fixture. */
class SweepEndToEndTest {

    static Path sweepFile(Path dir, String name, int maxSteps, String extraParameters) throws IOException {
        Path s2 = Cli.FIXTURES.resolve("tiny-llama-s2");
        Path f = dir.resolve(name + ".yaml");
        Files.writeString(f, String.join("\n",
                "name: " + name,
                "model: " + s2.resolve("model"),
                "task: CAUSAL_LM",
                "data: {train: " + s2.resolve("data.jsonl") + ", eval: " + s2.resolve("data.jsonl") + "}",
                "training: {learning_rate: 5.0e-3, max_steps: " + maxSteps + ", batch_size: 4, eval_steps: 5,"
                        + " save_steps: 5, seed: 11}",
                "lora: {target_modules: [q_proj, v_proj], lora_dropout: 0.1}",
                "method: grid",
                "parameters:",
                "  r: {values: [2, 4, 8]}",
                "  lora_alpha: {ratio_to: r, values: [1, 2]}",
                extraParameters,
                "resources: {devices: [cpu], max_failures: 0}", ""));
        return f;
    }

    static List<Path> trials(Path run) throws IOException {
        try (Stream<Path> s = Files.list(run.resolve("trials"))) {
            return s.sorted().toList();
        }
    }

    @Test
    void everyTrialOfASweepEqualsTheSameConfigTrainedAlone(@TempDir Path tmp) throws IOException {
        Path spec = sweepFile(tmp, "grid6", 10, "");
        Path run = tmp.resolve("run");
        Cli.Result r = Cli.run("sweep", spec, "--out", run, "--cpu-lanes", 2);
        assertEquals(0, r.code(), r.toString());
        List<String> board = Files.readAllLines(run.resolve("leaderboard.csv"));
        assertEquals(7, board.size(), "header + 6 trials");
        assertTrue(board.get(0).startsWith("rank,trial_id,name,status,lora.r,lora.lora_alpha,eval_loss"), board.get(0));
        List<Path> trials = trials(run);
        assertEquals(6, trials.size());
        String report = Files.readString(run.resolve("report.html"));
        int from = report.indexOf("id=\"loss-curves\"");
        String lossChart = report.substring(from, report.indexOf("</svg>", from));
        assertEquals(6, lossChart.split("class=\"curve\"").length - 1, "one loss curve per trial");
        for (Path t : trials) {
            assertTrue(lossChart.contains("data-trial=\"" + t.getFileName() + "\""), t.toString());
        }
        for (Path t : trials) {
            Path alone = tmp.resolve("alone-" + t.getFileName());
            Cli.Result single = Cli.run("train", t.resolve("train.json"), "--out", alone, "--threads", 1, "--json");
            assertEquals(0, single.code(), single.toString());
            Map<String, HostTensor> swept = PeftAdapters.readTensors(t.resolve("adapter"));
            Map<String, HostTensor> trained = PeftAdapters.readTensors(alone.resolve("adapter"));
            assertEquals(swept.keySet(), trained.keySet());
            swept.forEach((k, v) -> assertArrayEquals(v.data(), trained.get(k).data(), 1e-6f, t + " " + k));
        }
    }

    @Test
    void aFailingTrialDoesNotStopTheOthers(@TempDir Path tmp) throws IOException {
        Path spec = sweepFile(tmp, "with-failure", 4,
                "  target_modules: {values: [[q_proj, v_proj], [no_such_module]]}");
        Path run = tmp.resolve("run");
        Cli.Result r = Cli.run("sweep", spec, "--out", run, "--cpu-lanes", 2);
        assertEquals(1, r.code(), "a failed trial makes the exit code 1: " + r);
        List<String> board = Files.readAllLines(run.resolve("leaderboard.csv"));
        long finished = board.stream().filter(l -> l.contains(",finished,")).count();
        long failed = board.stream().filter(l -> l.contains(",failed,")).count();
        assertEquals(6, finished, String.join("\n", board));
        assertEquals(6, failed, String.join("\n", board));
        assertTrue(board.stream().filter(l -> l.contains(",failed,")).allMatch(l -> l.contains("no_such_module")));
        for (Path t : trials(run)) {
            String result = Files.readString(t.resolve("result.json"));
            if (result.contains("\"status\" : \"failed\"")) {
                assertTrue(result.contains("\"failure\" : \"bad_config\"") && result.contains("no_such_module")
                        && result.contains("\"attempts\" : 1"), result);
            } else {
                assertTrue(result.contains("\"status\" : \"finished\""), result);
            }
        }
    }

    @Test
    void resumeAfterAKillEndsWithTheSameLeaderboard(@TempDir Path tmp) throws Exception {
        Path spec = sweepFile(tmp, "resumable", 40, "");
        Path straight = tmp.resolve("straight");
        assertEquals(0, Cli.run("sweep", spec, "--out", straight, "--cpu-lanes", 2).code());

        Path killed = tmp.resolve("killed");
        Process p = Cli.spawn(tmp.resolve("killed.log"), "sweep", spec, "--out", killed, "--cpu-lanes", 2);
        // kill -9 in the middle of a trial: after its second checkpoint, before it ends
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline && !midTrial(killed)) {
            Thread.sleep(20);
        }
        p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        assertTrue(midTrial(killed), "the sweep was killed mid-trial: " + Files.readString(tmp.resolve("killed.log")));

        Cli.Result resumed = Cli.run("sweep", spec, "--out", killed, "--resume", "--cpu-lanes", 2);
        assertEquals(0, resumed.code(), resumed.toString());
        assertEquals(withoutTimes(straight), withoutTimes(killed));
    }

    /** Some trial has written a checkpoint at step 10 or later but no result yet. */
    private static boolean midTrial(Path run) throws IOException {
        return midTrial(run, "checkpoints/step-10");
    }

    /** Some trial has written {@code file} (relative to its folder) but no result yet. */
    static boolean midTrial(Path run, String file) throws IOException {
        if (!Files.isDirectory(run.resolve("trials"))) {
            return false;
        }
        for (Path t : trials(run)) {
            if (Files.exists(t.resolve(file)) && !Files.exists(t.resolve("result.json"))) {
                return true;
            }
        }
        return false;
    }

    /** The leaderboard without its wall-time column (that one depends on the interruption). */
    static List<String> withoutTimes(Path run) throws IOException {
        List<String> rows = Files.readAllLines(run.resolve("leaderboard.csv"));
        int time = Arrays.asList(rows.get(0).split(",")).indexOf("time_s");
        List<String> out = new ArrayList<>();
        for (String row : rows) {
            List<String> cells = new ArrayList<>(Arrays.asList(row.split(",", -1)));
            cells.remove(time);
            out.add(String.join(",", cells).replace(run.toString(), "RUN"));
        }
        return out;
    }

    @Test
    void ctrlCStopsAtAStepBoundaryWithACheckpointAndAResumeHint(@TempDir Path tmp) throws Exception {
        Path spec = sweepFile(tmp, "interrupted", 400, "");
        Path run = tmp.resolve("run");
        Process p = Cli.spawn(tmp.resolve("out.log"), "sweep", spec, "--out", run, "--cpu-lanes", 2);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline && !midTrial(run)) {
            Thread.sleep(20);
        }
        new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "stopped after one Ctrl-C");
        String out = Files.readString(tmp.resolve("out.log"));
        assertEquals(1, p.exitValue(), out);
        assertTrue(out.contains("interrupted; resume with: bin/lora4j sweep " + spec + " --out " + run + " --resume"),
                out);
        List<String> board = Files.readAllLines(run.resolve("leaderboard.csv"));
        assertTrue(board.stream().skip(1).allMatch(l -> l.contains(",cancelled,")), String.join("\n", board));
    }
}
