package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.lora.HostTensor;
import dev.lora4j.lora.PeftAdapters;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A coordinator and worker JVMs on localhost, started as a user starts them ({@code sweep --cluster --no-local},
 * {@code worker --join}), with Pekko's {@code serialize-messages} check on in every JVM. One worker is killed with
 * SIGKILL while it trains; a third joins mid-sweep. Nothing trained may be lost beyond the last checkpoint, and every
 * adapter must equal the one the same sweep file gives on one machine.
 */
class ClusterCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern JOINING = Pattern.compile("worker (\\S+) joining");
    private static final String PASSWORD = "lora4j-test";

    private final List<Process> processes = new ArrayList<>();

    @AfterEach
    void killLeftovers() {
        processes.forEach(Process::destroyForcibly);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** The CLI in a JVM of its own, every message serialized as if it crossed nodes. */
    private Process spawn(Path log, Map<String, String> env, Object... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "-Dai.djl.offline=true",
                "-Dai.djl.pytorch.num_threads=1", "-Dpekko.actor.serialize-messages=on",
                // a killed worker is downed sooner than lora4j's default allows, so the test leaves trials for the
                // worker that joins after it (members that join while one is unreachable wait for its downing)
                "-Dpekko.cluster.split-brain-resolver.stable-after=3s", Main.class.getName()));
        for (Object a : args) {
            cmd.add(String.valueOf(a));
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    private Process worker(Path tmp, String name, int port, List<Object> tls, Map<String, String> env)
            throws IOException {
        List<Object> args = new ArrayList<>(List.of("worker", "--join", "127.0.0.1:" + port, "--devices", "cpu",
                "--cpu-lanes", 1, "--work-dir", tmp.resolve(name)));
        args.addAll(tls);
        return spawn(tmp.resolve(name + ".log"), env, args.toArray());
    }

    /** The address a worker announced in its log. */
    private static String address(Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (Files.exists(log)) {
                Matcher m = JOINING.matcher(Files.readString(log));
                if (m.find()) {
                    return m.group(1);
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no address in " + log + ":\n" + (Files.exists(log) ? Files.readString(log) : ""));
    }

    /** A trial training on {@code worker} that has a checkpoint at step 10 or later and no result yet. */
    private static Optional<String> midTrialOn(String worker, Path coordinatorLog, Path run) throws IOException {
        if (!Files.exists(coordinatorLog) || !Files.isDirectory(run.resolve("trials"))) {
            return Optional.empty();
        }
        String log = Files.readString(coordinatorLog);
        for (Path t : SweepEndToEndTest.trials(run)) {
            Path params = t.resolve("params.json");
            if (!Files.isRegularFile(params) || Files.exists(t.resolve("result.json"))) {
                continue;
            }
            String name = JSON.readTree(params.toFile()).path("name").asText();
            boolean there = log.lines().filter(l -> l.contains("started " + name + " on ")).reduce((a, b) -> b)
                    .map(l -> l.contains("@" + worker)).orElse(false);
            if (there && Files.isDirectory(t.resolve("checkpoints/step-10"))) {
                return Optional.of(t.getFileName().toString());
            }
        }
        return Optional.empty();
    }

    /** Keystores for mutual TLS: one self-signed key every node presents and trusts. */
    private static List<Object> keystores(Path dir, String name) throws Exception {
        Files.createDirectories(dir);
        Path ks = dir.resolve(name + "-keystore.p12");
        Path cert = dir.resolve(name + ".cer");
        Path ts = dir.resolve(name + "-truststore.p12");
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        run(keytool, "-genkeypair", "-alias", name, "-keyalg", "RSA", "-keysize", "2048", "-validity", "2",
                "-dname", "CN=" + name, "-keystore", ks.toString(), "-storetype", "PKCS12", "-storepass", PASSWORD,
                "-keypass", PASSWORD);
        run(keytool, "-exportcert", "-alias", name, "-keystore", ks.toString(), "-storepass", PASSWORD, "-file",
                cert.toString());
        run(keytool, "-importcert", "-noprompt", "-alias", name, "-file", cert.toString(), "-keystore", ts.toString(),
                "-storetype", "PKCS12", "-storepass", PASSWORD);
        return List.of("--tls-keystore", ks, "--tls-truststore", ts);
    }

    private static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, String.join(" ", cmd) + "\n" + out);
    }

    @TempDir static Path shared;
    private static Path single;

    /** The sweep on one machine (two lanes of one thread: the same numbers as one lane), run once for both tests. */
    private static synchronized Path singleMachineRun(Path spec) {
        if (single == null) {
            Path out = shared.resolve("single");
            Cli.Result r = Cli.run("sweep", spec, "--out", out, "--cpu-lanes", 2);
            assertEquals(0, r.code(), r.toString());
            single = out;
        }
        return single;
    }

    @Test
    void aWorkerKilledMidTrialLosesNothingAndAWorkerJoiningLateTakesTrials(@TempDir Path tmp) throws Exception {
        scenario(tmp, false);
    }

    @Test
    void theSameOverMutualTls(@TempDir Path tmp) throws Exception {
        scenario(tmp, true);
    }

    @Test
    void aCoordinatorKilledIsResumedAndItsWorkerRejoins(@TempDir Path tmp) throws Exception {
        Path spec = SweepEndToEndTest.sweepFile(tmp, "cluster", 100, "");
        Path run = tmp.resolve("run");
        int port = freePort();
        Object[] coordinatorArgs = {"sweep", spec, "--out", run, "--cluster", "--bind", "127.0.0.1:" + port,
            "--no-local", "--min-workers", 1};
        Path firstLog = tmp.resolve("coordinator-1.log");
        Process first = spawn(firstLog, Map.of(), coordinatorArgs);
        Process w = worker(tmp, "worker", port, List.of(), Map.of());
        String worker = address(tmp.resolve("worker.log"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (System.nanoTime() < deadline && midTrialOn(worker, firstLog, run).isEmpty() && first.isAlive()) {
            Thread.sleep(20);
        }
        String firstText = Files.readString(firstLog);
        String victim = midTrialOn(worker, firstLog, run).orElseThrow(() -> new AssertionError("no trial trained:\n"
                + firstText));
        first.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        List<String> endedBefore = new ArrayList<>();
        for (Path t : SweepEndToEndTest.trials(run)) {
            if (Files.exists(t.resolve("result.json"))) {
                endedBefore.add(JSON.readTree(t.resolve("params.json").toFile()).path("name").asText());
            }
        }

        // the worker notices, waits, and joins the coordinator that comes back at the same address
        Path workerLog = tmp.resolve("worker.log");
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline && !Files.readString(workerLog).contains("lost the coordinator")) {
            Thread.sleep(50);
        }
        assertTrue(w.isAlive() && Files.readString(workerLog).contains("lost the coordinator"),
                Files.readString(workerLog));
        List<Object> resumeArgs = new ArrayList<>(List.of(coordinatorArgs));
        resumeArgs.add("--resume");
        Path secondLog = tmp.resolve("coordinator-2.log");
        Process second = spawn(secondLog, Map.of(), resumeArgs.toArray());
        assertTrue(second.waitFor(5, TimeUnit.MINUTES), "the resumed sweep ended");
        String log = Files.readString(secondLog);
        assertEquals(0, second.exitValue(), log);
        assertTrue(w.waitFor(60, TimeUnit.SECONDS), Files.readString(workerLog));
        assertEquals(0, w.exitValue(), Files.readString(workerLog));
        assertEquals(2, Files.readString(workerLog).split(" joined;").length - 1, "joined twice: "
                + Files.readString(workerLog));

        List<String> board = Files.readAllLines(run.resolve("leaderboard.csv"));
        assertEquals(7, board.size(), String.join("\n", board));
        assertTrue(board.stream().skip(1).allMatch(l -> l.contains(",finished,")), String.join("\n", board));
        String name = JSON.readTree(run.resolve("trials").resolve(victim).resolve("params.json").toFile())
                .path("name").asText();
        Matcher resumed = Pattern.compile("started " + Pattern.quote(name) + " on \\S+ \\(resumed at step (\\d+)\\)")
                .matcher(log);
        assertTrue(resumed.find() && Integer.parseInt(resumed.group(1)) >= 10, log);
        // what ended under the first coordinator is kept, never trained again
        for (String ended : endedBefore) {
            assertFalse(log.contains("started " + ended + " on"), ended + " redone:\n" + log);
        }
        Path local = singleMachineRun(spec);
        for (Path t : SweepEndToEndTest.trials(run)) {
            Map<String, HostTensor> clustered = PeftAdapters.readTensors(t.resolve("adapter"));
            Map<String, HostTensor> alone = PeftAdapters.readTensors(local.resolve("trials")
                    .resolve(t.getFileName()).resolve("adapter"));
            alone.forEach((k, v) -> assertArrayEquals(v.data(), clustered.get(k).data(), 1e-6f, t + " " + k));
        }
    }

    private void scenario(Path tmp, boolean tls) throws Exception {
        Path spec = SweepEndToEndTest.sweepFile(tmp, "cluster", 100, "");
        Path run = tmp.resolve("run");
        int port = freePort();
        List<Object> tlsArgs = tls ? keystores(tmp.resolve("tls"), "lora4j") : List.of();
        Map<String, String> env = new HashMap<>();
        if (tls) {
            env.put(TlsOptions.KEYSTORE_PASSWORD, PASSWORD);
            env.put(TlsOptions.TRUSTSTORE_PASSWORD, PASSWORD);
        }
        List<Object> args = new ArrayList<>(List.of("sweep", spec, "--out", run, "--cluster", "--bind",
                "127.0.0.1:" + port, "--no-local", "--min-workers", 2));
        args.addAll(tlsArgs);
        Path coordinatorLog = tmp.resolve("coordinator.log");
        Process coordinator = spawn(coordinatorLog, env, args.toArray());
        Process a = worker(tmp, "worker-a", port, tlsArgs, env);
        Process b = worker(tmp, "worker-b", port, tlsArgs, env);
        Process rogue = null;
        if (tls) {
            // a node whose key the others do not trust never gets in
            rogue = worker(tmp, "rogue", port, keystores(tmp.resolve("rogue-tls"), "rogue"), env);
        }
        String addressA = address(tmp.resolve("worker-a.log"));

        // SIGKILL worker A while it trains a trial that has checkpointed
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        Optional<String> victim = Optional.empty();
        while (System.nanoTime() < deadline && victim.isEmpty() && coordinator.isAlive()) {
            victim = midTrialOn(addressA, coordinatorLog, run);
            Thread.sleep(20);
        }
        assertTrue(victim.isPresent(), "a trial trained on worker A: " + Files.readString(coordinatorLog));
        a.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        Process c = worker(tmp, "worker-c", port, tlsArgs, env);
        String addressC = address(tmp.resolve("worker-c.log"));

        assertTrue(coordinator.waitFor(5, TimeUnit.MINUTES), "the sweep ended");
        String log = Files.readString(coordinatorLog);
        assertEquals(0, coordinator.exitValue(), log);
        // the workers that stayed see their coordinator leave and end on their own
        assertTrue(b.waitFor(60, TimeUnit.SECONDS) && c.waitFor(60, TimeUnit.SECONDS),
                Files.readString(tmp.resolve("worker-b.log")));
        assertEquals(0, b.exitValue(), Files.readString(tmp.resolve("worker-b.log")));
        assertEquals(0, c.exitValue(), Files.readString(tmp.resolve("worker-c.log")));

        List<String> board = Files.readAllLines(run.resolve("leaderboard.csv"));
        assertEquals(7, board.size(), String.join("\n", board));
        assertTrue(board.stream().skip(1).allMatch(l -> l.contains(",finished,")), String.join("\n", board));
        assertTrue(board.get(0).endsWith(",node"), board.get(0));

        JsonNode killed = JSON.readTree(run.resolve("trials").resolve(victim.get()).resolve("result.json").toFile());
        assertTrue(killed.path("attempts").asInt() >= 2, killed.toString());
        // the retry continued from a checkpoint the coordinator held, not from the start
        String name = killed.path("name").asText();
        Matcher resumed = Pattern.compile("started " + Pattern.quote(name) + " on \\S+ \\(resumed at step (\\d+)\\)")
                .matcher(log);
        assertTrue(resumed.find() && Integer.parseInt(resumed.group(1)) >= 10, log);
        assertFalse(killed.path("node").asText().equals(addressA), killed.toString());

        int onC = 0;
        for (Path t : SweepEndToEndTest.trials(run)) {
            if (JSON.readTree(t.resolve("result.json").toFile()).path("node").asText().equals(addressC)) {
                onC++;
            }
        }
        assertTrue(onC >= 1, "the worker that joined mid-sweep trained trials:\n" + log);

        // the same sweep file on one machine gives the same adapters
        Path local = singleMachineRun(spec);
        for (Path t : SweepEndToEndTest.trials(run)) {
            Map<String, HostTensor> clustered = PeftAdapters.readTensors(t.resolve("adapter"));
            Map<String, HostTensor> alone = PeftAdapters.readTensors(local.resolve("trials")
                    .resolve(t.getFileName()).resolve("adapter"));
            assertEquals(alone.keySet(), clustered.keySet());
            alone.forEach((k, v) -> assertArrayEquals(v.data(), clustered.get(k).data(), 1e-6f, t + " " + k));
        }
        if (rogue != null) {
            String rogueLog = Files.readString(tmp.resolve("rogue.log"));
            assertFalse(rogueLog.contains(" joined"), rogueLog);
            assertTrue(rogue.isAlive(), "the untrusted worker is still waiting to get in");
        }
    }
}
