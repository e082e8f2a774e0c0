package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bad-input corpus for what lora4j writes (issue 11, part A): a merge never writes into its model's folder or
 * over a non-empty folder without --force, an --out that is a file or read-only is refused before any model is
 * loaded, thread and lane counts outside 1..cores and other out-of-range numbers are refused naming the option,
 * and every file and folder lora4j writes has the user's modes (umask), like any file the user creates.
 */
class BadInputFilesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path S2 = Cli.FIXTURES.resolve("tiny-llama-s2");
    private static final int CORES = Runtime.getRuntime().availableProcessors();

    @TempDir
    Path tmp;

    /** A read-only tmpfs this test mounted (as root), unmounted after it. */
    private Path mounted;
    /** A folder this test made read-only with permissions, made writable again after it. */
    private Path chmodded;

    @AfterEach
    void undoReadOnly() throws Exception {
        if (mounted != null) {
            new ProcessBuilder("umount", mounted.toString()).inheritIO().start().waitFor();
        }
        if (chmodded != null) {
            Files.setPosixFilePermissions(chmodded, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    private Path model() throws IOException {
        Path m = Files.createDirectories(tmp.resolve("m"));
        for (String f : List.of("config.json", "model.safetensors")) {
            Files.copy(S2.resolve("model").resolve(f), m.resolve(f));
        }
        return m;
    }

    private Path trainConfig(String name, String training) throws IOException {
        Path config = tmp.resolve(name + ".yaml");
        Files.writeString(config, String.join("\n", "name: " + name, "model: " + S2.resolve("model"),
                "task: CAUSAL_LM", "data: {train: " + S2.resolve("data.jsonl") + ", eval: " + S2.resolve("data.jsonl")
                        + "}",
                "training: {learning_rate: 5.0e-3, " + training + "}",
                "lora: {target_modules: [q_proj, v_proj], r: 4, lora_alpha: 8}", ""));
        return config;
    }

    private Path sweepFile(String name) throws IOException {
        Path f = tmp.resolve(name + ".yaml");
        Files.writeString(f, String.join("\n", "name: " + name, "model: " + S2.resolve("model"), "task: CAUSAL_LM",
                "data: {train: " + S2.resolve("data.jsonl") + ", eval: " + S2.resolve("data.jsonl") + "}",
                "training: {learning_rate: 5.0e-3, max_steps: 4, batch_size: 4, eval_steps: 2, save_steps: 2,"
                        + " seed: 11}",
                "lora: {target_modules: [q_proj, v_proj]}", "method: grid", "parameters:",
                "  r: {values: [2, 4]}", "resources: {devices: [cpu], max_failures: 0}", ""));
        return f;
    }

    private static double expected(String adapter) throws IOException {
        return JSON.readTree(S2.resolve("expected.json").toFile()).get(adapter).asDouble();
    }

    private static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }

    // ---- merge: never into its model's folder, never over a non-empty folder without --force ----

    @Test
    void aMergeNeverWritesIntoItsModelFolderEvenWithForce() throws IOException {
        Path m = model();
        Path link = Files.createSymbolicLink(tmp.resolve("link"), m);
        Path adapter = S2.resolve("adapters/qv");
        Object[][] cases = {
            {m, m, "is the model folder"},
            {m, m.resolve("merged"), "is inside the model folder"},
            {m, tmp, "contains the model folder"},
            {link, m, "is the model folder"},             // the same folder through a symbolic link
            {m, link.resolve("merged"), "is inside the model folder"},
            {m, tmp.resolve("m/../m/./"), "is the model folder"},
        };
        for (Object[] c : cases) {
            for (boolean force : new boolean[] {false, true}) {
                List<Object> args = new ArrayList<>(List.of("merge", "--model", c[0], "--adapter", adapter, "--out",
                        c[1]));
                if (force) {
                    args.add("--force");
                }
                BadInput.assertRefusedLeaving(tmp, 2, args.toArray(), "--out " + c[1], (String) c[2],
                        "a merge never writes into its base model's folder", "choose another --out");
            }
        }
        assertFalse(Files.exists(m.resolve("merged")));
        assertEquals(List.of("config.json", "model.safetensors"), names(m));
    }

    @Test
    void aMergeNeverWritesIntoItsAdapterFolder() throws IOException {
        Path qv = Files.createDirectories(tmp.resolve("qv"));
        for (String f : List.of("adapter_config.json", "adapter_model.safetensors")) {
            Files.copy(S2.resolve("adapters/qv").resolve(f), qv.resolve(f));
        }
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"merge", "--model", S2.resolve("model"), "--adapter", qv,
            "--out", qv, "--force"}, "--out " + qv, "is the adapter folder", "choose another --out");
    }

    @Test
    void aNonEmptyOutIsRefusedWithoutForce() throws IOException {
        Path out = Files.createDirectories(tmp.resolve("out"));
        Files.writeString(out.resolve("notes.txt"), "mine");
        Files.writeString(out.resolve("config.json"), "{\"mine\": true}");
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"merge", "--model", S2.resolve("model"), "--adapter",
            S2.resolve("adapters/qv"), "--out", out}, "--out " + out, "is not empty (holds config.json, notes.txt)",
                "pass --force");
    }

    @Test
    void forceReplacesOnlyWhatAMergeWrites() throws IOException {
        Path out = Files.createDirectories(tmp.resolve("out"));
        Files.writeString(out.resolve("notes.txt"), "mine");
        Files.writeString(out.resolve("config.json"), "{\"mine\": true}");
        Map<String, String> before = BadInput.snapshot(out);
        Cli.Result r = Cli.run("merge", "--model", S2.resolve("model"), "--adapter", S2.resolve("adapters/qv"),
                "--out", out, "--force");
        assertEquals(0, r.code(), r.toString());
        Map<String, String> after = BadInput.snapshot(out);
        assertEquals(before.get("notes.txt"), after.get("notes.txt"), "what a merge does not write is kept");
        assertEquals("mine", Files.readString(out.resolve("notes.txt")));
        assertNotEquals(before.get("config.json"), after.get("config.json"));
        assertEquals(List.of("config.json", "model.safetensors", "notes.txt"), names(out), "no staging left");
        Cli.Result e = Cli.run("eval", "--model", out, "--data", S2.resolve("data.jsonl"), "--json");
        assertEquals(expected("qv"), JSON.readTree(e.out()).get("eval_loss").asDouble(), expected("qv") * 1e-5);
        // a sharded model's index would be read instead of the merged weights: refused even with --force
        Files.writeString(out.resolve("model.safetensors.index.json"), "{}");
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"merge", "--model", S2.resolve("model"), "--adapter",
            S2.resolve("adapters/qv"), "--out", out, "--force"}, "--out " + out,
                "holds a sharded model (model.safetensors.index.json)");
    }

    // ---- --out that is a file or read-only: refused before any model is loaded ----

    private List<Object[]> writers(Path out) throws IOException {
        return List.of(
                new Object[] {"train", trainConfig("t", "max_steps: 2, batch_size: 4"), "--out", out},
                new Object[] {"sweep", sweepFile("s"), "--out", out, "--cpu-lanes", 1},
                new Object[] {"merge", "--model", S2.resolve("model"), "--adapter", S2.resolve("adapters/qv"),
                    "--out", out},
                new Object[] {"merge", "--model", S2.resolve("model"), "--adapter", S2.resolve("adapters/qv"),
                    "--out", out, "--force"});
    }

    @Test
    void anOutThatIsAFileIsRefusedBeforeAnyModelIsLoaded() throws IOException {
        Path file = Files.writeString(tmp.resolve("afile"), "mine");
        for (Object[] args : writers(file)) {
            BadInput.assertRefusedLeaving(tmp, 2, args, "--out " + file + " is a file, not a folder");
            assertTrue(Cli.run(args).out().isEmpty(), "nothing was loaded or trained: " + args[0]);
        }
        for (Object[] args : writers(file.resolve("run"))) {
            BadInput.assertRefusedLeaving(tmp, 2, args, "--out " + file.resolve("run") + ": " + file
                    + " is a file, not a folder");
        }
        assertEquals("mine", Files.readString(file));
    }

    /**
     * A folder nothing may be written in. As root (permissions are not enforced for root) it is a read-only tmpfs
     * mount; where root cannot mount, the case is skipped.
     */
    private Path readOnlyFolder() throws Exception {
        Path ro = Files.createDirectories(tmp.resolve("ro"));
        Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("r-xr-xr-x"));
        chmodded = ro;
        if (!Files.isWritable(ro)) {
            return ro;
        }
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", ro.toString())
                .redirectErrorStream(true).start();
        boolean ok = p.waitFor() == 0;
        assumeTrue(ok, "permissions are not enforced for this user and it cannot mount a read-only tmpfs: "
                + new String(p.getInputStream().readAllBytes()));
        mounted = ro;
        return ro;
    }

    @Test
    void aReadOnlyOutIsRefusedBeforeAnyModelIsLoaded() throws Exception {
        Path ro = readOnlyFolder();
        for (Path out : List.of(ro, ro.resolve("run"))) {
            for (Object[] args : writers(out)) {
                String line = BadInput.assertRefusedLeaving(tmp, 2, args, "--out " + out, "cannot write in " + ro);
                assertTrue(line.endsWith("(read-only file system)") || line.endsWith("(no write permission)"), line);
            }
        }
    }

    // ---- numbers: threads and lanes 1..cores, sizes >= 1 ----

    @Test
    void threadsOutsideOneToTheCoresAreRefused() throws IOException {
        Path config = trainConfig("t", "max_steps: 2, batch_size: 4");
        for (int n : new int[] {0, -5, CORES + 1, 100_000}) {
            BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"train", config, "--out", tmp.resolve("run"),
                "--threads", n}, "--threads must be 1 to " + CORES + " (this machine's cores), got " + n);
        }
        Path spec = sweepFile("s");
        for (String option : List.of("--cpu-lanes", "--threads-per-lane")) {
            for (int n : new int[] {0, -1, CORES + 1, 100_000}) {
                BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"sweep", spec, "--out", tmp.resolve("run"),
                    option, n}, option + " must be 1 to " + CORES + " (this machine's cores), got " + n);
            }
        }
        assertFalse(Files.exists(tmp.resolve("run")));
    }

    @Test
    void aNumberThatIsNotAnIntIsOneLineNotTheUsage() throws IOException {
        Path config = trainConfig("t", "max_steps: 2, batch_size: 4");
        for (String n : List.of("abc", "99999999999", "1.5")) {
            BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"train", config, "--out", tmp.resolve("run"),
                "--threads", n}, "Invalid value for option '--threads': '" + n + "' is not an int",
                    "(lora4j train --help lists the options)");
        }
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"sweep", sweepFile("s"), "--cpu-lanes", "two"},
                "Invalid value for option '--cpu-lanes': 'two' is not an int", "lora4j sweep --help");
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"merge", "--model", S2.resolve("model"), "--out",
            tmp.resolve("out")}, "Missing required option: '--adapter=DIR'", "lora4j merge --help");
    }

    @Test
    void evalSizesBelowOneAreRefusedNamingTheOption() {
        for (String option : List.of("--batch-size", "--max-length")) {
            for (int n : new int[] {0, -3}) {
                BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"eval", "--model", S2.resolve("model"), "--data",
                    S2.resolve("data.jsonl"), option, n}, option + " must be >= 1, got " + n);
            }
        }
    }

    @Test
    void aBatchLargerThanTheDataIsOneBatchOfEveryRowAsInTransformers() throws IOException {
        // "cursor ... is past the 0 batches" before: (rows + batch_size - 1) overflowed
        Cli.Result e = Cli.run("eval", "--model", S2.resolve("model"), "--adapter", S2.resolve("adapters/qv"),
                "--data", S2.resolve("data.jsonl"), "--batch-size", Integer.MAX_VALUE, "--json");
        assertEquals(0, e.code(), e.toString());
        assertEquals(expected("qv"), JSON.readTree(e.out()).get("eval_loss").asDouble(), expected("qv") * 1e-5);
        Path config = trainConfig("big", "max_steps: 2, batch_size: 2147483647");
        Cli.Result t = Cli.run("train", config, "--out", tmp.resolve("big"), "--json");
        assertEquals(0, t.code(), t.toString());
        assertEquals(2, JSON.readTree(t.out()).get("steps").asInt());
    }

    // ---- modes: everything written as the user's umask makes it ----

    /** Every file and folder under {@code dir} with its mode, and the modes a plain write gives beside it. */
    private static void assertUsersModes(Path dir, Path probes, int atLeast) throws IOException {
        String file = mode(Files.writeString(probes.resolve("probe.txt"), "x"));
        String folder = mode(Files.createDirectory(probes.resolve("probe")));
        Map<String, String> wrong = new TreeMap<>();
        int seen = 0;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.toList()) {
                String want = Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) ? folder : file;
                seen++;
                if (!mode(p).equals(want)) {
                    wrong.put(dir.relativize(p).toString(), mode(p) + " (expected " + want + ")");
                }
            }
        }
        assertTrue(seen >= atLeast, "files and folders written: " + seen);
        assertEquals(Map.of(), wrong, "files and folders with other modes than a plain write gives");
    }

    @Test
    void everyFileATrainASweepAndAMergeWriteHasTheUsersModes() throws IOException {
        Path train = tmp.resolve("train");
        Cli.Result t = Cli.run("train", trainConfig("t", "max_steps: 4, batch_size: 4, eval_steps: 2, save_steps: 2,"
                + " save_total_limit: 1"), "--out", train, "--threads", 1);
        assertEquals(0, t.code(), t.toString());
        assertTrue(Files.isDirectory(train.resolve("checkpoints")), "checkpoints are checked too");
        assertUsersModes(train, tmp, 10);

        Path sweep = tmp.resolve("sweep");
        Cli.Result s = Cli.run("sweep", sweepFile("s"), "--out", sweep, "--cpu-lanes", 1);
        assertEquals(0, s.code(), s.toString());
        for (String f : List.of("leaderboard.csv", "report.html", "sweep.yaml")) {
            assertTrue(Files.isRegularFile(sweep.resolve(f)), f);
        }
        Files.deleteIfExists(tmp.resolve("probe.txt"));
        Files.deleteIfExists(tmp.resolve("probe"));
        assertUsersModes(sweep, tmp, 20);

        Path merged = tmp.resolve("merged");
        Cli.Result m = Cli.run("merge", "--model", S2.resolve("model"), "--adapter", S2.resolve("adapters/qv"),
                "--out", merged);
        assertEquals(0, m.code(), m.toString());
        Files.deleteIfExists(tmp.resolve("probe.txt"));
        Files.deleteIfExists(tmp.resolve("probe"));
        assertUsersModes(merged, tmp, 3);
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
