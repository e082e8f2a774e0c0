package dev.lora4j.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.lora4j.Fixtures;
import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.lora.HostTensor;
import dev.lora4j.lora.PeftAdapters;
import dev.lora4j.run.Device;
import dev.lora4j.run.TrainingConfig;
import dev.lora4j.sweep.SweepSpec;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A coordinator and workers as separate actor systems in one JVM, joined over Artery on localhost, with Pekko's
 * {@code serialize-messages} check on: every message between them (and every lora4j message within a node that is
 * not marked node-local) goes through its serializer. Trials train on the workers with the real engine; what they
 * produce must be what the same trials produce on one machine.
 */
class ClusterSweepTest {
    /** Every message serialized and read back, as if it crossed nodes. */
    static final Config CHECKED = ConfigFactory.parseString("pekko.actor.serialize-messages = on");

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static SweepBuilder sweep(String name) {
        Path dir = Fixtures.tinyLlama("s2");
        return SweepBuilder.named(name).model(dir.resolve("model"))
                .data(dir.resolve("data.jsonl"), dir.resolve("data.jsonl"))
                .lora(LoraConfig.builder().targetModules("q_proj", "v_proj").build())
                .training(TrainingConfig.builder().learningRate(5e-3).maxSteps(8).batchSize(4).evalSteps(4)
                        .saveSteps(2).seed(3).build())
                .devices("cpu");
    }

    static Lora4jWorker worker(int coordinatorPort, Path workDir) {
        return Lora4jWorker.join(ClusterOptions.worker("127.0.0.1", coordinatorPort, "127.0.0.1", 0),
                WorkerOptions.in(workDir).withDevices(List.of(Device.CPU)).withCpu(1, 1), EngineParts.engine(),
                CHECKED);
    }

    static Map<String, HostTensor> adapter(Path trialDir) {
        return PeftAdapters.readTensors(trialDir.resolve("adapter"));
    }

    static void assertSameAdapters(Path expected, Path actual, String trialId) {
        Map<String, HostTensor> a = adapter(expected.resolve("trials").resolve(trialId));
        Map<String, HostTensor> b = adapter(actual.resolve("trials").resolve(trialId));
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) {
            float[] x = a.get(k).data();
            float[] y = b.get(k).data();
            for (int i = 0; i < x.length; i++) {
                assertEquals(x[i], y[i], 1e-6, trialId + " " + k + "[" + i + "]");
            }
        }
    }

    static SweepReport runLocally(SweepSpec spec, Path dir) throws Exception {
        try (Lora4j local = Lora4j.create()) {
            return local.sweep(spec, SweepOptions.in(dir).withCpu(1, 1)).start().report().toCompletableFuture()
                    .get(5, TimeUnit.MINUTES);
        }
    }

    @Test
    void workersTrainTheSweepAndItsFilesLandOnTheCoordinator(@TempDir Path tmp) throws Exception {
        SweepSpec spec = sweep("clustered").grid("r", 2, 4, 8).asha(1, 2).build();
        SweepSpec plain = sweep("clustered").grid("r", 2, 4, 8).build();
        int port = freePort();
        Path run = tmp.resolve("cluster");
        List<TrialEvent> events;
        SweepReport report;
        try (Lora4j coordinator = Lora4j.coordinator(ClusterOptions.coordinator("127.0.0.1", port),
                EngineParts.engine(), CHECKED);
                Lora4jWorker a = worker(port, tmp.resolve("worker-a"));
                Lora4jWorker b = worker(port, tmp.resolve("worker-b"))) {
            a.joined().toCompletableFuture().get(60, TimeUnit.SECONDS);
            b.joined().toCompletableFuture().get(60, TimeUnit.SECONDS);
            assertEquals(2, coordinator.workerNodes());
            SweepHandle h = coordinator.sweep(plain, SweepOptions.in(run).withLocalLanes(false)).start();
            CompletionStage<List<TrialEvent>> all = h.events().runWith(Sink.seq(), coordinator.system());
            report = h.report().toCompletableFuture().get(5, TimeUnit.MINUTES);
            events = all.toCompletableFuture().get(1, TimeUnit.MINUTES);
            Set<String> workers = Set.of(a.address(), b.address());
            Set<String> used = new HashSet<>();
            for (TrialResult r : report.leaderboard()) {
                assertEquals(TrialResult.Status.FINISHED, r.status(), r.toString());
                assertTrue(workers.contains(r.node()), r.node() + " is one of the workers " + workers);
                used.add(r.node());
                Path t = run.resolve("trials").resolve(r.trialId());
                // every checkpoint the worker made is in the coordinator's run folder
                for (int step : new int[] {2, 4, 6}) {
                    assertTrue(Files.isRegularFile(t.resolve("checkpoints/step-" + step + "/trainer_state.json")),
                            t + " step " + step);
                }
                assertTrue(Files.readString(t.resolve("result.json")).contains("\"node\" : \"" + r.node() + "\""));
            }
            assertEquals(2, used.size(), "both workers trained: " + used);
            assertTrue(Files.readString(run.resolve("leaderboard.csv")).lines().findFirst().orElseThrow()
                    .endsWith(",node"));
            for (Path w : List.of(tmp.resolve("worker-a"), tmp.resolve("worker-b"))) {
                try (Stream<Path> staged = Files.walk(w.resolve("staging"))) {
                    assertFalse(staged.anyMatch(Files::isRegularFile), "the staged checkpoints were deleted");
                }
                try (Stream<Path> data = Files.walk(w.resolve("data"))) {
                    // the data file (train and eval are one file) was fetched once and shared by the worker's trials
                    assertEquals(1, data.filter(Files::isRegularFile).count());
                }
            }
            // with ASHA the verdicts cross nodes too: the sweep ends with every trial either finished or stopped
            SweepReport asha = coordinator.sweep(spec, SweepOptions.in(tmp.resolve("asha")).withLocalLanes(false))
                    .start().report().toCompletableFuture().get(5, TimeUnit.MINUTES);
            assertEquals(3, asha.count(TrialResult.Status.FINISHED) + asha.count(TrialResult.Status.STOPPED),
                    asha.leaderboard().toString());
        }
        List<TrialEvent.Started> starts = events.stream().filter(e -> e instanceof TrialEvent.Started)
                .map(e -> (TrialEvent.Started) e).toList();
        assertEquals(3, starts.size());
        assertTrue(starts.stream().noneMatch(s -> s.node().equals("local")), starts.toString());
        Path local = tmp.resolve("local");
        runLocally(plain, local);
        for (TrialResult r : report.leaderboard()) {
            assertSameAdapters(local, run, r.trialId());
        }
    }

    @Test
    void aSweepInterruptedOnOneMachineResumesOnWorkersFromItsCheckpoints(@TempDir Path tmp) throws Exception {
        SweepSpec spec = sweep("moved").grid("r", 4, 8).build();
        Path run = tmp.resolve("run");
        // interrupted at its first checkpoint, on this machine
        try (Lora4j local = Lora4j.create()) {
            Sweep s = local.sweep(spec, SweepOptions.in(run).withCpu(1, 1));
            SweepHandle[] handle = new SweepHandle[1];
            s.events().runForeach(e -> {
                if (e instanceof TrialEvent.Checkpointed) {
                    handle[0].cancel();
                }
            }, local.system());
            handle[0] = s.start();
            SweepReport first = handle[0].report().toCompletableFuture().get(5, TimeUnit.MINUTES);
            assertTrue(first.cancelled());
        }
        int port = freePort();
        List<TrialEvent> events = new ArrayList<>();
        try (Lora4j coordinator = Lora4j.coordinator(ClusterOptions.coordinator("127.0.0.1", port),
                EngineParts.engine(), CHECKED);
                Lora4jWorker w = worker(port, tmp.resolve("worker"))) {
            w.joined().toCompletableFuture().get(60, TimeUnit.SECONDS);
            SweepHandle h = coordinator.sweep(spec, SweepOptions.in(run).resuming(true).withLocalLanes(false))
                    .start();
            CompletionStage<List<TrialEvent>> all = h.events().runWith(Sink.seq(), coordinator.system());
            SweepReport report = h.report().toCompletableFuture().get(5, TimeUnit.MINUTES);
            events.addAll(all.toCompletableFuture().get(1, TimeUnit.MINUTES));
            assertEquals(2, report.count(TrialResult.Status.FINISHED), report.leaderboard().toString());
        }
        long resumed = events.stream().filter(e -> e instanceof TrialEvent.Started s && s.resumedAtStep() > 0)
                .count();
        assertTrue(resumed >= 1, "a trial continued on the worker from the checkpoint made here: " + events);
        Path whole = tmp.resolve("whole");
        runLocally(spec, whole);
        for (TrialResult r : SweepReport.read(run).leaderboard()) {
            assertSameAdapters(whole, run, r.trialId());
        }
    }
}
