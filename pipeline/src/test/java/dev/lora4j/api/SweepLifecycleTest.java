package dev.lora4j.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.actors.FakeRuns;
import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.lora.PeftAdapters;
import dev.lora4j.report.SweepFolder;
import dev.lora4j.sweep.SweepSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A sweep's lifecycle on stand-in training: resume, cancel at scale, one writer per folder, faults of the disk. */
class SweepLifecycleTest {

    static List<TrialEvent> run(Lora4j lora4j, SweepSpec spec, SweepOptions options) throws Exception {
        SweepHandle h = lora4j.sweep(spec, options).start();
        CompletionStage<List<TrialEvent>> events = h.events().runWith(Sink.seq(), lora4j.system());
        h.report().toCompletableFuture().get(2, TimeUnit.MINUTES);
        return events.toCompletableFuture().get(1, TimeUnit.MINUTES);
    }

    static <T extends TrialEvent> long count(List<TrialEvent> events, Class<T> type) {
        return events.stream().filter(type::isInstance).count();
    }

    /**
     * Every trial the events mention ended exactly once. (A subscriber that attaches after the start gets the state
     * of each trial so far, so it may see a trial's Ended without its Queued; never a trial without its Ended.)
     */
    static void assertEachTrialEndedOnce(List<TrialEvent> events) {
        Map<String, Long> ended = new HashMap<>();
        java.util.Set<String> mentioned = new java.util.HashSet<>();
        for (TrialEvent e : events) {
            mentioned.add(e.trialId());
            if (e instanceof TrialEvent.Ended) {
                ended.merge(e.trialId(), 1L, Long::sum);
            }
        }
        assertEquals(mentioned, ended.keySet(), "every trial that entered the sweep ended");
        assertTrue(ended.values().stream().allMatch(n -> n == 1), "each once: " + ended);
    }

    /** Each trial's progress.csv: its line count and last-modified time. */
    static Map<String, String> progressFiles(Path run) throws IOException {
        Map<String, String> out = new HashMap<>();
        try (Stream<Path> s = Files.list(run.resolve("trials"))) {
            for (Path t : s.toList()) {
                Path p = t.resolve("progress.csv");
                if (Files.exists(p)) {
                    out.put(t.getFileName().toString(), Files.readAllLines(p).size() + " lines, modified "
                            + Files.getLastModifiedTime(p).toMillis() + ", result "
                            + Files.getLastModifiedTime(t.resolve("result.json")).toMillis());
                }
            }
        }
        return out;
    }

    @Test
    void aCompletedSweepResumedRetrainsNothing(@TempDir Path tmp) throws Exception {
        FakeRuns runs = new FakeRuns();
        SweepSpec spec = Fakes.sweep("done", 6, 2, 3).grid("r", 2, 4, 8, 16).tiedTo("lora_alpha", "r", 1, 2)
                .grid("lora_dropout", 0.0, 0.1).devices("cpu").asha(1, 2).build();
        try (Lora4j lora4j = Lora4j.create(Fakes.parts(runs))) {
            SweepOptions options = SweepOptions.in(tmp).withCpu(2, 1);
            List<TrialEvent> first = run(lora4j, spec, options);
            assertEquals(16, runs.opened());
            assertEachTrialEndedOnce(first);
            assertEquals(16, count(first, TrialEvent.Ended.class));
            Map<String, String> before = progressFiles(tmp);
            String board = Files.readString(tmp.resolve("leaderboard.csv"));
            int opened = runs.opened();
            Thread.sleep(20); // a rewrite would show in the files' times

            long t0 = System.nanoTime();
            List<TrialEvent> again = run(lora4j, spec, options.resuming(true));
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertEquals(0, count(again, TrialEvent.Started.class), "nothing starts again");
            assertEquals(0, count(again, TrialEvent.Queued.class));
            assertEquals(16, again.stream().filter(e -> e instanceof TrialEvent.Ended end && end.kept()).count(),
                    "each kept trial still has its one terminal event");
            assertEquals(16, count(again, TrialEvent.Ended.class), "and no other");
            assertEquals(opened, runs.opened(), "no training run was opened");
            assertEquals(before, progressFiles(tmp), "no progress.csv or result.json was touched");
            assertEquals(board, Files.readString(tmp.resolve("leaderboard.csv")));
            assertTrue(seconds < 5, "a resumed sweep whose trials all ended finishes in seconds: " + seconds);
        }
    }

    @Test
    void aCancelledSweepResumesExactlyAndKeepsWhatEnded(@TempDir Path tmp) throws Exception {
        FakeRuns runs = new FakeRuns().stepMillis(3);
        SweepSpec spec = Fakes.sweep("cut", 40, 5, 0).grid("r", 2, 4, 8, 16, 32, 64).devices("cpu")
                .build();
        try (Lora4j lora4j = Lora4j.create(Fakes.parts(runs))) {
            SweepHandle h = lora4j.sweep(spec, SweepOptions.in(tmp).withCpu(2, 1)).start();
            CompletionStage<List<TrialEvent>> seen = h.events().runWith(Sink.seq(), lora4j.system());
            // cancel once two trials have ended and a third has written a checkpoint
            java.util.Set<String> endedIds = java.util.concurrent.ConcurrentHashMap.newKeySet();
            h.events().filter(e -> {
                if (e instanceof TrialEvent.Ended) {
                    endedIds.add(e.trialId());
                }
                return endedIds.size() >= 2 && e instanceof TrialEvent.Checkpointed c
                        && !endedIds.contains(c.trialId());
            }).take(1).runWith(Sink.ignore(), lora4j.system()).toCompletableFuture().get(1, TimeUnit.MINUTES);
            SweepReport cut = h.cancel().toCompletableFuture().get(1, TimeUnit.MINUTES);
            assertTrue(cut.cancelled());
            List<TrialEvent> events = seen.toCompletableFuture().get(1, TimeUnit.MINUTES);
            assertEachTrialEndedOnce(events);
            long ended = cut.leaderboard().stream().filter(r -> r.status() == TrialResult.Status.FINISHED).count();
            assertTrue(ended >= 2 && ended < 6, cut.leaderboard().toString());

            List<TrialEvent> resumed = run(lora4j, spec, SweepOptions.in(tmp).withCpu(2, 1).resuming(true));
            assertEquals(ended, resumed.stream().filter(e -> e instanceof TrialEvent.Ended x && x.kept()).count());
            assertEquals(6 - ended, count(resumed, TrialEvent.Started.class), "only the others start");
            assertTrue(runs.resumedAt().values().stream().anyMatch(step -> step > 0),
                    "an interrupted trial continues from its checkpoint: " + runs.resumedAt());
            SweepReport done = new SweepFolder(tmp).readReport();
            assertEquals(6, done.count(TrialResult.Status.FINISHED), done.leaderboard().toString());
            for (TrialResult r : done.leaderboard()) {
                assertEquals(FakeRuns.value(r.trialId(), 40), PeftAdapters.readTensors(r.adapter())
                        .get(FakeRuns.KEY).data()[0], "the same adapter as an uninterrupted run: " + r.trialId());
                List<Long> steps = new dev.lora4j.train.RunFolder(tmp.resolve("trials").resolve(r.trialId()))
                        .readProgress().stream().filter(row -> row.containsKey("loss"))
                        .map(row -> row.get("step").longValue()).toList();
                assertEquals(java.util.stream.LongStream.rangeClosed(1, 40).boxed().toList(), steps,
                        "each step once, in order: " + r.trialId());
            }
        }
    }

    @Test
    void oneCancelAfterThousandsOfTrialsStopsWithinSecondsAndStartsNothingNew(@TempDir Path tmp) throws Exception {
        FakeRuns runs = new FakeRuns();
        SweepSpec spec = Fakes.sweep("many", 1, 0, 0).random(100_000, 7).range("learning_rate", 1e-5, 1e-3,
                "log_uniform_values").devices("cpu").build();
        try (Lora4j lora4j = Lora4j.create(Fakes.parts(runs))) {
            SweepHandle h = lora4j.sweep(spec, SweepOptions.in(tmp).withCpu(2, 1), NoFiles.in(tmp)).start();
            CompletionStage<List<TrialEvent>> seen = h.events().runWith(Sink.seq(), lora4j.system());
            h.events().filter(e -> e instanceof TrialEvent.Ended).take(3000).runWith(Sink.ignore(), lora4j.system())
                    .toCompletableFuture().get(3, TimeUnit.MINUTES);
            long t0 = System.nanoTime();
            h.cancel();
            int openedAtCancel = runs.opened();
            SweepReport r = h.report().toCompletableFuture().get(1, TimeUnit.MINUTES);
            double seconds = (System.nanoTime() - t0) / 1e9;
            System.out.printf("cancel after %d ended trials: stopped in %.3f s, %d run(s) opened after it%n",
                    r.leaderboard().size(), seconds, runs.opened() - openedAtCancel);
            assertTrue(seconds < 5, "stopped in " + seconds + " s after " + r.leaderboard().size() + " trials");
            assertTrue(runs.opened() - openedAtCancel <= 2, "at most the trials already leased could still start: "
                    + (runs.opened() - openedAtCancel));
            List<TrialEvent> events = seen.toCompletableFuture().get(1, TimeUnit.MINUTES);
            assertEachTrialEndedOnce(events);
            assertEquals(r.leaderboard().size(), count(events, TrialEvent.Ended.class));
            assertTrue(r.leaderboard().size() >= 3000 && r.leaderboard().size() < 3200, "" + r.leaderboard().size());
        }
    }

    @Test
    void aSecondSweepOnABusyRunFolderIsRefusedAtOnce(@TempDir Path tmp) throws Exception {
        FakeRuns runs = new FakeRuns().stepMillis(5);
        SweepSpec spec = Fakes.sweep("busy", 400, 0, 0).grid("r", 2).devices("cpu").build();
        try (Lora4j lora4j = Lora4j.create(Fakes.parts(runs)); Lora4j other = Lora4j.create(Fakes.parts(runs))) {
            SweepHandle h = lora4j.sweep(spec, SweepOptions.in(tmp)).start();
            RunFolderBusyException e = assertThrows(RunFolderBusyException.class,
                    () -> lora4j.sweep(spec, SweepOptions.in(tmp).resuming(true)));
            assertTrue(e.getMessage().startsWith(tmp + " is in use by another sweep (pid "
                    + ProcessHandle.current().pid()), e.getMessage());
            assertThrows(RunFolderBusyException.class, () -> other.sweep(spec, SweepOptions.in(tmp)));
            h.cancel().toCompletableFuture().get(1, TimeUnit.MINUTES);
            // the lock went with the sweep
            other.sweep(spec, SweepOptions.in(tmp).resuming(true)).start().cancel().toCompletableFuture()
                    .get(1, TimeUnit.MINUTES);
        }
    }

    @Test
    void twoSweepsOnOneInstanceShareItsLanes(@TempDir Path tmp) throws Exception {
        FakeRuns runs = new FakeRuns().stepMillis(2);
        SweepSpec a = Fakes.sweep("a", 20, 0, 0).grid("r", 2, 4, 8).devices("cpu").build();
        SweepSpec b = Fakes.sweep("b", 20, 0, 0).grid("r", 2, 4, 8).devices("cpu").build();
        try (Lora4j lora4j = Lora4j.create(Fakes.parts(runs))) {
            SweepHandle ha = lora4j.sweep(a, SweepOptions.in(tmp.resolve("a")).withCpu(2, 1)).start();
            SweepHandle hb = lora4j.sweep(b, SweepOptions.in(tmp.resolve("b")).withCpu(2, 1)).start();
            int most = 0;
            while (!(ha.report().toCompletableFuture().isDone() && hb.report().toCompletableFuture().isDone())) {
                most = Math.max(most, runs.live());
                Thread.sleep(1);
            }
            assertEquals(3, ha.report().toCompletableFuture().get().count(TrialResult.Status.FINISHED));
            assertEquals(3, hb.report().toCompletableFuture().get().count(TrialResult.Status.FINISHED));
            assertTrue(most <= 2, "two lanes of one trial each for both sweeps together, saw " + most);
        }
    }

    @Test
    void aRunFolderDeletedMidSweepStopsItWithAClearReason(@TempDir Path tmp) throws Exception {
        FakeRuns runs = new FakeRuns().stepMillis(5);
        SweepSpec spec = Fakes.sweep("gone", 100_000, 0, 0).grid("r", 2, 4).devices("cpu").build();
        Path run = tmp.resolve("run");
        try (Lora4j lora4j = Lora4j.create(Fakes.parts(runs))) {
            SweepHandle h = lora4j.sweep(spec, SweepOptions.in(run).withCpu(2, 1)).start();
            h.events().filter(e -> e instanceof TrialEvent.Progress).take(1).runWith(Sink.ignore(), lora4j.system())
                    .toCompletableFuture().get(1, TimeUnit.MINUTES);
            // moved away (as `mv` or a cleanup script would): the sweep must notice rather than write into nothing
            Files.move(run, tmp.resolve("moved"));
            SweepReport r = h.report().toCompletableFuture().get(1, TimeUnit.MINUTES);
            assertTrue(r.cancelled());
            assertTrue(r.stopReason().contains("was removed or moved while the sweep ran"), r.stopReason());
            assertEquals(0, runs.live());
        }
    }

    @Test
    void aHugeStreamOfTrialsIsPulledOnlyAsLanesFree(@TempDir Path tmp) throws Exception {
        FakeRuns runs = new FakeRuns().stepMillis(50);
        SweepSpec spec = Fakes.sweep("lazy", 1_000_000, 0, 0).grid("r", 2).devices("cpu").build();
        try (Lora4j lora4j = Lora4j.create(Fakes.parts(runs))) {
            Pipeline p = lora4j.pipeline(spec, SweepOptions.in(tmp).withCpu(2, 1));
            java.util.concurrent.atomic.AtomicLong pulled = new java.util.concurrent.atomic.AtomicLong();
            java.util.Iterator<dev.lora4j.sweep.TrialSpec> trials = new java.util.Iterator<>() {
                @Override
                public boolean hasNext() {
                    return pulled.get() < 10_000_000;
                }

                @Override
                public dev.lora4j.sweep.TrialSpec next() {
                    return p.trial(Map.of("learning_rate", 1e-4 + pulled.getAndIncrement() * 1e-12));
                }
            };
            org.apache.pekko.stream.javadsl.Source.fromIterator(() -> trials).via(p.stages().all(p.slots()))
                    .runWith(Sink.ignore(), lora4j.system());
            Thread.sleep(1500);
            assertEquals(2, runs.live(), "both lanes busy");
            assertTrue(pulled.get() < 100, "pulled " + pulled.get() + " of 10^7 trials with 2 lanes busy");
            // cancelling stops the app's stream from pulling: the pipeline closes instead of draining 10^7 trials
            p.cancel();
            assertTrue(p.close(java.time.Duration.ofSeconds(30)), "closed after the cancel");
            assertTrue(pulled.get() < 100, "pulled " + pulled.get());
        }
    }
}
