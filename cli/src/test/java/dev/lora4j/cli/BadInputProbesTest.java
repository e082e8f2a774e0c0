package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11's probes that lora4j already handled well, kept as a corpus so they stay handled: a billion-laughs YAML,
 * a 2^62-byte safetensors header, path traversal in shard names and in {@code modules_to_save}, YAML type tags,
 * markup in what the report shows, symbolic-link loops, and a grid of 10^9 points. Each goes through the CLI and
 * checks the bad-input contract (exit code, one line naming the file and the problem, no stack trace, nothing on
 * disk changed), or for the ones that are not bad input, that nothing escapes where it should not.
 */
class BadInputProbesTest {
    private static final Path S2 = Cli.FIXTURES.resolve("tiny-llama-s2");

    @TempDir Path tmp;

    private Path write(String name, String... lines) throws IOException {
        Path f = tmp.resolve(name);
        Files.createDirectories(f.getParent());
        Files.writeString(f, String.join("\n", lines) + "\n");
        return f;
    }

    /** A training config for the s2 model with {@code lora} as its lora section. */
    private Path trainConfig(String name, String lora) throws IOException {
        return write(name + ".yaml", "name: " + name, "model: " + S2.resolve("model"), "task: CAUSAL_LM",
                "data: {train: " + S2.resolve("data.jsonl") + "}", "training: {max_steps: 2, batch_size: 4}",
                "lora: " + lora);
    }

    // ---------------------------------------------------------------- YAML

    @Test
    void aBillionLaughsYamlIsRefusedAtOnceWithoutExpandingAnything() throws IOException {
        String[] bomb = new String[10];
        bomb[0] = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]";
        for (int i = 1; i < 9; i++) {
            char prev = (char) ('a' + i - 1);
            char cur = (char) ('a' + i);
            bomb[i] = cur + ": &" + cur + " [" + IntStream.range(0, 9).mapToObj(k -> "*" + prev)
                    .collect(Collectors.joining(", ")) + "]";
        }
        bomb[9] = "name: laughs";
        Path laughs = write("laughs.yaml", bomb);
        // the same bomb inside a field of an otherwise valid config
        Path inField = trainConfig("in-field", "{target_modules: [[&a [lol, lol, lol], &b [*a, *a, *a],"
                + " &c [*b, *b, *b]], *c]}");
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"train", laughs, "--out", tmp.resolve("run")},
                    laughs.toString(), "YAML alias *a at line 2, column 8", "does not expand YAML anchors and"
                            + " aliases");
            BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"sweep", laughs, "--out", tmp.resolve("run")},
                    laughs.toString(), "YAML alias *a");
            BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"train", inField, "--out", tmp.resolve("run")},
                    inField.toString(), "YAML alias *a at line 6, column 50");
            Cli.Result v = Cli.run("validate", laughs);
            assertEquals(2, v.code(), v.toString());
            String all = (v.out() + v.err()).strip();
            assertEquals(1, all.lines().count(), all);
            assertTrue(all.contains(laughs + ": YAML alias *a"), all);
        });
    }

    @Test
    void yamlTypeTagsNeverBuildObjectsAndTheFieldIsCheckedAsWritten() throws IOException {
        Path marker = tmp.resolve("pwned");
        Path python = trainConfig("python", "{target_modules: [q_proj], r: !!python/object/apply:os.system"
                + " [\"touch " + marker + "\"]}");
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"train", python, "--out", tmp.resolve("run")},
                python.toString(), "lora.r: r must be an integer, got [\"touch " + marker + "\"]");
        Path java = trainConfig("java", "{target_modules: [q_proj], lora_dropout: !!java.io.File /etc}");
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"train", java, "--out", tmp.resolve("run")},
                java.toString(), "lora.lora_dropout", "\"/etc\"");
        Path binary = trainConfig("binary", "{target_modules: [q_proj], r: !!binary aGVsbG8=}");
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"train", binary, "--out", tmp.resolve("run")},
                binary.toString(), "lora.r: r must be an integer, got \"aGVsbG8=\"");
        assertFalse(Files.exists(marker), "nothing ran");
    }

    // ---------------------------------------------------------------- safetensors

    private static byte[] header(long length) {
        return ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN).putLong(length).put((byte) '{')
                .put((byte) '}').array();
    }

    @Test
    void aSafetensorsHeaderOf2To62BytesIsRefusedBeforeAnyAllocation() throws IOException {
        Path adapter = tmp.resolve("adapter");
        Files.createDirectories(adapter);
        Files.copy(S2.resolve("adapters/qv/adapter_config.json"), adapter.resolve("adapter_config.json"));
        Path weights = Files.write(adapter.resolve("adapter_model.safetensors"), header(1L << 62));
        Path model = tmp.resolve("model");
        Files.createDirectories(model);
        Files.copy(S2.resolve("model/config.json"), model.resolve("config.json"));
        Path modelWeights = Files.write(model.resolve("model.safetensors"), header(1L << 62));
        String what = "header length 4611686018427387904 is larger than the file (10 bytes)";
        Path merged = tmp.resolve("merged");
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            for (Object[] args : List.of(
                    new Object[] {"eval", "--model", S2.resolve("model"), "--adapter", adapter, "--data",
                        S2.resolve("data.jsonl")},
                    new Object[] {"merge", "--model", S2.resolve("model"), "--adapter", adapter, "--out", merged},
                    new Object[] {"inspect", "--adapter", adapter})) {
                String line = BadInput.assertRefusedLeaving(tmp, 2, args, weights.toString(), what);
                assertEquals(line.indexOf(weights.toString()), line.lastIndexOf(weights.toString()),
                        "the file is named once: " + line);
            }
            BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"eval", "--model", model, "--data",
                S2.resolve("data.jsonl")}, modelWeights.toString(), what);
        });
        assertFalse(Files.exists(merged), "a refused merge leaves no folder");
    }

    @Test
    void shardNamesThatLeaveTheModelFolderAreRefused() throws IOException {
        // a real checkpoint outside the folder: the index must not be able to reach it
        Files.copy(S2.resolve("model/model.safetensors"), tmp.resolve("outside.safetensors"));
        for (String shard : List.of("../outside.safetensors", tmp.resolve("outside.safetensors").toString(),
                "sub/../../outside.safetensors")) {
            Path model = tmp.resolve("model");
            Files.createDirectories(model);
            Files.copy(S2.resolve("model/config.json"), model.resolve("config.json"),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Path index = model.resolve("model.safetensors.index.json");
            Files.writeString(index, "{\"metadata\": {}, \"weight_map\": {\"model.embed_tokens.weight\": \""
                    + shard.replace("\\", "\\\\") + "\"}}");
            BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"eval", "--model", model, "--data",
                S2.resolve("data.jsonl")}, index.toString(), "tensor 'model.embed_tokens.weight' maps to \""
                    + shard + "\", which is not a file name in the index's folder");
            BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"merge", "--model", model, "--adapter",
                S2.resolve("adapters/qv"), "--out", tmp.resolve("merged")}, "which is not a file name in the"
                    + " index's folder");
        }
    }

    @Test
    void modulesToSaveNamesThatLookLikePathsWriteNothingOutsideTheRunFolder() throws IOException {
        Path work = tmp.resolve("work");
        Path out = work.resolve("run");
        Path config = write("work/mts.yaml", "name: mts", "model: " + S2.resolve("model"), "task: CAUSAL_LM",
                "data: {train: " + S2.resolve("data.jsonl") + "}", "training: {max_steps: 1, batch_size: 4}",
                "lora: {target_modules: [q_proj], modules_to_save: [\"../../escaped\", \"" + tmp.resolve("abs")
                        + "\", \"..\"]}");
        Cli.Result r = Cli.run("train", config, "--out", out, "--threads", 1);
        assertEquals(0, r.code(), "names that match no module are ignored, as PEFT ignores them: " + r);
        try (Stream<Path> s = Files.walk(tmp)) {
            List<String> outside = s.filter(Files::isRegularFile).filter(p -> !p.startsWith(out))
                    .map(p -> tmp.relativize(p).toString()).sorted().toList();
            assertEquals(List.of("work/mts.yaml"), outside, "nothing written outside --out");
        }
        String saved = Files.readString(out.resolve("adapter/adapter_config.json"));
        assertTrue(saved.contains("\"../../escaped\""), saved);
    }

    // ---------------------------------------------------------------- report

    @Test
    void markupInWhatTheReportShowsIsEscaped() throws IOException {
        Path spec = write("hostile.yaml", "name: hostile", "model: " + S2.resolve("model"), "task: CAUSAL_LM",
                "data: {train: " + S2.resolve("data.jsonl") + ", eval: " + S2.resolve("data.jsonl") + "}",
                "training: {max_steps: 1, eval_steps: 1, batch_size: 4}", "lora: {target_modules: [q_proj]}",
                "method: grid", "parameters:",
                "  modules_to_save: {values: [[\"<img src=x onerror=alert(1)>\"], [lm_head]]}",
                "  target_modules: {values: [[q_proj], [\"<svg onload=alert(2)>\"]]}",
                "resources: {devices: [cpu], max_failures: 0}");
        Path run = tmp.resolve("run");
        Cli.Result r = Cli.run("sweep", spec, "--out", run, "--cpu-lanes", 2);
        assertEquals(1, r.code(), "the trials with a target that matches nothing fail: " + r);
        Path report = run.resolve("report.html");
        assertEscaped(Files.readString(report, StandardCharsets.UTF_8));
        Files.delete(report);
        Cli.Result rebuilt = Cli.run("report", run);
        assertEquals(0, rebuilt.code(), rebuilt.toString());
        assertEscaped(Files.readString(report, StandardCharsets.UTF_8));
        // a sweep name is a folder name: markup there is refused up front
        Path named = write("named.yaml", Files.readString(spec).replace("name: hostile",
                "name: \"x<script>alert(3)</script>\"").split("\n"));
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"sweep", named, "--out", tmp.resolve("run2")},
                named.toString(), "name: name must start with a letter or digit");
    }

    private static void assertEscaped(String html) {
        assertFalse(html.contains("<img src=x") || html.contains("<svg onload") || html.contains("<script>alert"),
                "user text is never markup");
        assertTrue(html.contains("&lt;img src=x onerror=alert(1)&gt;"), "it is shown, as text");
        assertTrue(html.contains("&lt;svg onload=alert(2)&gt;"), "the failure reason too");
    }

    // ---------------------------------------------------------------- symbolic links

    @Test
    void symbolicLinkLoopsAreNamedNotFollowedForever() throws IOException {
        Path loop = Files.createSymbolicLink(tmp.resolve("loop"), tmp.resolve("loop"));
        Path a = tmp.resolve("a");
        Files.createSymbolicLink(a, tmp.resolve("b"));
        Files.createSymbolicLink(tmp.resolve("b"), a);
        Path loopData = Files.createSymbolicLink(tmp.resolve("loop.jsonl"), tmp.resolve("loop.jsonl"));
        String leads = "a symbolic link that leads to no";
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"eval", "--model", loop, "--data",
                S2.resolve("data.jsonl")}, loop + ": " + leads + " folder");
            BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"eval", "--model", S2.resolve("model"), "--data",
                loopData}, loopData + ": " + leads + " file");
            BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"eval", "--model", S2.resolve("model"), "--adapter",
                a, "--data", S2.resolve("data.jsonl")}, a + ": " + leads + " folder");
            BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"merge", "--model", S2.resolve("model"), "--adapter",
                a, "--out", tmp.resolve("merged")}, a + ": " + leads + " folder");
            BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"train", loop}, loop.toString(),
                    "Too many levels of symbolic links");
            Path config = write("links.yaml", "name: links", "model: " + loop, "task: CAUSAL_LM",
                    "data: {train: " + loopData + "}", "lora: {target_modules: [q_proj]}");
            Cli.Result r = Cli.run("train", config, "--out", tmp.resolve("run"));
            assertEquals(2, r.code(), r.toString());
            assertEquals(List.of("lora4j: " + config + ": model: " + loop + " is " + leads + " folder (a loop of"
                    + " links, or its target is missing)", config + ": data.train: " + loopData + " is " + leads
                    + " file (a loop of links, or its target is missing)"), r.err().lines().toList(),
                    "every problem of the file at once");
            // a run folder whose trials/ holds loops: the report skips what it cannot read
            Path run = Files.createDirectories(tmp.resolve("sweep-run/trials"));
            Files.createSymbolicLink(run.resolve("up"), tmp);
            Files.createSymbolicLink(run.resolve("self"), run.resolve("self"));
            Cli.Result report = Cli.run("report", tmp.resolve("sweep-run"));
            assertEquals(0, report.code(), report.toString());
        });
    }

    // ---------------------------------------------------------------- a huge grid

    @Test
    void aGridOf10To9PointsValidatesAtOnceAndItsSweepStartsWithoutExpandingIt() throws Exception {
        String thousand = IntStream.rangeClosed(1, 1000).mapToObj(Integer::toString)
                .collect(Collectors.joining(", ", "[", "]"));
        String rates = IntStream.rangeClosed(1, 1000).mapToObj(i -> i + ".0e-6")
                .collect(Collectors.joining(", ", "[", "]"));
        Path spec = write("huge.yaml", "name: huge", "model: " + S2.resolve("model"), "task: CAUSAL_LM",
                "data: {train: " + S2.resolve("data.jsonl") + "}", "training: {max_steps: 100000, batch_size: 4}",
                "lora: {target_modules: [q_proj, v_proj]}", "method: grid",
                "metric: {name: train_loss, goal: minimize}", "parameters:", "  r: {values: " + thousand + "}",
                "  lora_alpha: {values: " + thousand + "}", "  learning_rate: {values: " + rates + "}",
                "resources: {devices: [cpu], max_failures: 0}");
        long t0 = System.nanoTime();
        Cli.Result v = Cli.run("validate", spec);
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertEquals(0, v.code(), v.toString());
        assertTrue(v.out().contains("OK sweep huge: 1000000000 trials (grid over r, lora_alpha, learning_rate)"),
                v.out());
        assertTrue(seconds < 10, "validate took " + seconds + " s");

        Path run = tmp.resolve("run");
        Path log = tmp.resolve("sweep.log");
        Process p = Cli.spawn(log, "sweep", spec, "--out", run, "--cpu-lanes", 1);
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (System.nanoTime() < deadline && !Files.readString(log).contains("started r1-alpha1-lr1e-6")) {
                assertTrue(p.isAlive(), "the sweep runs: " + Files.readString(log));
                Thread.sleep(20);
            }
            assertTrue(Files.readString(log).contains("started r1-alpha1-lr1e-6 on cpu-0"), Files.readString(log));
            new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "one Ctrl-C ends the sweep");
            String out = Files.readString(log);
            assertEquals(1, p.exitValue(), out);
            assertTrue(out.contains("interrupted; resume with: bin/lora4j sweep " + spec + " --out " + run
                    + " --resume"), out);
            assertFalse(out.contains("\tat "), "no stack trace: " + out);
            try (Stream<Path> trials = Files.list(run.resolve("trials"))) {
                long n = trials.count();
                assertTrue(n >= 1 && n <= 10, "only the trials that were reached have folders: " + n);
            }
        } finally {
            p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
    }
}
