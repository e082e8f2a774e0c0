package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lora4j.lora.HostTensor;
import dev.lora4j.lora.PeftAdapters;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The trial lifecycle through the doors users use: resume, a busy run folder, a full disk, Ctrl-C in train. */
class LifecycleCliTest {

    /** Per trial: progress.csv's lines and time, result.json's time. */
    static Map<String, String> trialFiles(Path run) throws IOException {
        Map<String, String> out = new TreeMap<>();
        for (Path t : SweepEndToEndTest.trials(run)) {
            Path p = t.resolve("progress.csv");
            out.put(t.getFileName().toString(), Files.readAllLines(p).size() + " lines @"
                    + Files.getLastModifiedTime(p).toMillis() + ", result @"
                    + Files.getLastModifiedTime(t.resolve("result.json")).toMillis());
        }
        return out;
    }

    static void assertSameAdapters(Path a, Path b) throws IOException {
        List<Path> ta = SweepEndToEndTest.trials(a);
        assertEquals(ta.size(), SweepEndToEndTest.trials(b).size());
        for (Path t : ta) {
            Map<String, HostTensor> x = PeftAdapters.readTensors(t.resolve("adapter"));
            Map<String, HostTensor> y = PeftAdapters.readTensors(b.resolve("trials").resolve(t.getFileName())
                    .resolve("adapter"));
            assertEquals(x.keySet(), y.keySet());
            x.forEach((k, v) -> assertArrayEquals(v.data(), y.get(k).data(), 1e-6f, t.getFileName() + " " + k));
        }
    }

    @Test
    void aCompletedSweepResumedRetrainsNothing(@TempDir Path tmp) throws Exception {
        Path spec = SweepEndToEndTest.sweepFile(tmp, "complete", 10, "");
        Path run = tmp.resolve("run");
        assertEquals(0, Cli.run("sweep", spec, "--out", run, "--cpu-lanes", 2).code());
        Map<String, String> before = trialFiles(run);
        String board = Files.readString(run.resolve("leaderboard.csv"));
        Thread.sleep(20);
        long t0 = System.nanoTime();
        Cli.Result again = Cli.run("sweep", spec, "--out", run, "--cpu-lanes", 2, "--resume");
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertEquals(0, again.code(), again.toString());
        assertEquals(0, again.lines().stream().filter(l -> l.startsWith("started ")).count(), again.out());
        assertEquals(before, trialFiles(run), "no progress.csv or result.json was rewritten");
        assertEquals(board, Files.readString(run.resolve("leaderboard.csv")));
        assertTrue(seconds < 10, "resuming a finished sweep took " + seconds + " s");
    }

    @Test
    void aSecondProcessOnABusyRunFolderIsRefused(@TempDir Path tmp) throws Exception {
        Path spec = SweepEndToEndTest.sweepFile(tmp, "busy", 400, "");
        Path run = tmp.resolve("run");
        Process first = Cli.spawn(tmp.resolve("first.log"), "sweep", spec, "--out", run, "--cpu-lanes", 2);
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (System.nanoTime() < deadline && !Files.exists(run.resolve("trials"))) {
                Thread.sleep(20);
            }
            Cli.Result second = Cli.run("sweep", spec, "--out", run, "--resume");
            assertEquals(2, second.code(), second.toString());
            assertTrue(second.err().startsWith("lora4j: " + run + " is in use by another sweep (pid " + first.pid()),
                    second.err());
            assertFalse(second.err().contains("\tat "), "no stack trace");
        } finally {
            first.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
        // killed with -9, the first process holds nothing any more
        Cli.Result resumed = Cli.run("sweep", spec, "--out", run, "--resume", "--cpu-lanes", 2);
        assertTrue(resumed.code() == 0, resumed.toString());
    }

    @Test
    void aFullDiskStopsTheSweepCleanlyAndResumeContinuesOnceThereIsSpace(@TempDir Path tmp) throws Exception {
        Path spec = SweepEndToEndTest.sweepFile(tmp, "disk", 20, "");
        Path straight = tmp.resolve("straight");
        assertEquals(0, Cli.run("sweep", spec, "--out", straight, "--cpu-lanes", 2).code());
        long needed;
        try (Stream<Path> s = Files.walk(straight)) {
            needed = s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
        Path disk = tmp.resolve("disk");
        Files.createDirectories(disk);
        assumeTrue(mount(disk, needed / 3), "a tmpfs can be mounted here (root on Linux)");
        try {
            Path run = disk.resolve("run");
            Process p = Cli.spawn(tmp.resolve("full.log"), "sweep", spec, "--out", run, "--cpu-lanes", 2);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "a full disk ends the sweep, it does not hang it");
            String out = Files.readString(tmp.resolve("full.log"));
            assertEquals(1, p.exitValue(), out);
            assertTrue(out.contains("lora4j: the sweep stopped: ") && out.contains("No space left on device")
                    && out.contains("resume with: bin/lora4j sweep " + spec + " --out " + run + " --resume"), out);
            assertFalse(out.contains("\tat ") || out.contains("Exception in thread"), "no stack trace: " + out);
            try (Stream<Path> s = Files.list(Path.of("."))) {
                assertTrue(s.noneMatch(f -> f.getFileName().toString().startsWith("hs_err_pid" + p.pid())),
                        "the JVM did not abort");
            }
            // free space, then resume: the sweep ends as if nothing happened
            assertTrue(remount(disk, needed * 4));
            Cli.Result resumed = Cli.run("sweep", spec, "--out", run, "--resume", "--cpu-lanes", 2);
            assertEquals(0, resumed.code(), resumed.toString());
            List<String> board = Files.readAllLines(run.resolve("leaderboard.csv"));
            assertEquals(7, board.size());
            assertTrue(board.stream().skip(1).allMatch(l -> l.contains(",finished,")), String.join("\n", board));
            assertSameAdapters(straight, run);
        } finally {
            new ProcessBuilder("umount", "-l", disk.toString()).start().waitFor(30, TimeUnit.SECONDS);
        }
    }

    static boolean mount(Path dir, long bytes) throws Exception {
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=" + Math.max(4096, bytes), "tmpfs",
                dir.toString()).redirectErrorStream(true).start();
        return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    }

    static boolean remount(Path dir, long bytes) throws Exception {
        Process p = new ProcessBuilder("mount", "-o", "remount,size=" + bytes, dir.toString())
                .redirectErrorStream(true).start();
        return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    }

    @Test
    void oneCtrlCInTrainCheckpointsAndResumeContinuesExactly(@TempDir Path tmp) throws Exception {
        Path s2 = Cli.FIXTURES.resolve("tiny-llama-s2");
        Path config = tmp.resolve("train.yaml");
        Files.writeString(config, String.join("\n", "name: ctrl-c", "model: " + s2.resolve("model"),
                "task: CAUSAL_LM", "data: {train: " + s2.resolve("data.jsonl") + "}",
                "training: {learning_rate: 5.0e-3, max_steps: 300, batch_size: 4, seed: 5}",
                "lora: {target_modules: [q_proj, v_proj], lora_dropout: 0.1}", ""));
        Path straight = tmp.resolve("straight");
        assertEquals(0, Cli.run("train", config, "--out", straight, "--threads", 1).code());

        Path run = tmp.resolve("run");
        Process p = Cli.spawn(tmp.resolve("train.log"), "train", config, "--out", run, "--threads", 1);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline && progressRows(run) < 20) {
            Thread.sleep(10);
        }
        new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "one Ctrl-C ends train");
        String out = Files.readString(tmp.resolve("train.log"));
        assertEquals(1, p.exitValue(), out);
        assertTrue(out.contains("lora4j: interrupted at step ") && out.contains("resume with: bin/lora4j train "
                + config + " --out " + run + " --resume"), out);
        List<Path> checkpoints;
        try (Stream<Path> s = Files.list(run.resolve("checkpoints"))) {
            checkpoints = s.toList();
        }
        assertEquals(1, checkpoints.size(), "the checkpoint of the step it stopped at (save_steps is unset)");
        Cli.Result resumed = Cli.run("train", config, "--out", run, "--resume", "--threads", 1);
        assertEquals(0, resumed.code(), resumed.toString());
        Map<String, HostTensor> x = PeftAdapters.readTensors(straight.resolve("adapter"));
        Map<String, HostTensor> y = PeftAdapters.readTensors(run.resolve("adapter"));
        x.forEach((k, v) -> assertArrayEquals(v.data(), y.get(k).data(), 1e-6f, k));
        assertEquals(301, Files.readAllLines(run.resolve("progress.csv")).size(), "each step once, plus the header");
    }

    private static long progressRows(Path run) throws IOException {
        Path p = run.resolve("progress.csv");
        return Files.exists(p) ? Files.readAllLines(p).size() - 1 : 0;
    }

    @Test
    void trainResumeSkipsATornNewestCheckpointWithAWarning(@TempDir Path tmp) throws Exception {
        Path s2 = Cli.FIXTURES.resolve("tiny-llama-s2");
        Path config = tmp.resolve("train.yaml");
        Files.writeString(config, String.join("\n", "name: torn", "model: " + s2.resolve("model"),
                "task: CAUSAL_LM", "data: {train: " + s2.resolve("data.jsonl") + "}",
                "training: {learning_rate: 5.0e-3, max_steps: 6, batch_size: 4, save_steps: 2, seed: 5}",
                "lora: {target_modules: [q_proj, v_proj]}", ""));
        Path run = tmp.resolve("run");
        assertEquals(0, Cli.run("train", config, "--out", run, "--threads", 1).code());
        Map<String, HostTensor> straight = PeftAdapters.readTensors(run.resolve("adapter"));
        Files.writeString(run.resolve("checkpoints/step-4/optimizer.safetensors"), "torn");
        Cli.Result resumed = Cli.run("train", config, "--out", run, "--resume", "--threads", 1);
        assertEquals(0, resumed.code(), resumed.toString());
        assertTrue(resumed.err().contains("lora4j: warning: checkpoint " + run.resolve("checkpoints/step-4")
                + " cannot be read"), resumed.err());
        assertTrue(resumed.out().contains("resumed from " + run.resolve("checkpoints/step-2") + " (step 2)"),
                resumed.out());
        Map<String, HostTensor> again = PeftAdapters.readTensors(run.resolve("adapter"));
        straight.forEach((k, v) -> assertArrayEquals(v.data(), again.get(k).data(), 1e-6f, k));
    }
}
