package dev.lora4j.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.lora4j.Fixtures;
import dev.lora4j.api.trial.Failure;
import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.lora.PeftAdapters;
import dev.lora4j.model.HfModels;
import dev.lora4j.sweep.TrialSpec;
import dev.lora4j.train.RunFolder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One trial's owner against the real pool, injector and lanes, on stand-in training. */
class TrialSessionTest {
    static final ActorTestKit kit = ActorTestKit.create(ConfigFactory.load());
    static final Duration WAIT = Duration.ofSeconds(30);

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
    }

    /** Every event of one trial until (and including) its one Ended; then nothing more for it. */
    static List<TrialEvent> eventsUntilEnded(TestProbe<TrialEvent> events) {
        List<TrialEvent> seen = new java.util.ArrayList<>();
        events.fishForMessage(WAIT, e -> {
            seen.add(e);
            return e instanceof TrialEvent.Ended
                    ? org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes.complete()
                    : org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes.continueAndIgnore();
        });
        events.expectNoMessage(Duration.ofMillis(200));
        return seen;
    }

    @Test
    void aTrialEndsOnceWithItsResultAndFiles(@TempDir Path dir) throws IOException {
        Rig rig = new Rig(kit, new FakeRuns());
        TestProbe<TrialResult> done = kit.createTestProbe();
        TrialSpec spec = Specs.trial("ok", 6, 2, 3);
        rig.session(spec, rig.plan(1, 1, 0, false), Rig.folder(dir, "ok"), done.getRef());
        TrialResult r = done.receiveMessage(WAIT);
        assertEquals(TrialResult.Status.FINISHED, r.status());
        assertEquals(6, r.steps());
        assertEquals(1, r.attempts());
        List<TrialEvent> events = eventsUntilEnded(rig.events);
        assertEquals(1, events.stream().filter(e -> e instanceof TrialEvent.Started).count());
        assertEquals(6, events.stream().filter(e -> e instanceof TrialEvent.Progress).count());
        Path t = dir.resolve("trials/ok");
        assertEquals(FakeRuns.value("ok", 6),
                PeftAdapters.readTensors(t.resolve("adapter")).get(FakeRuns.KEY).data()[0]);
        String json = Files.readString(t.resolve("result.json"));
        assertTrue(json.contains("\"status\" : \"finished\"") && json.contains("\"attempts\" : 1"), json);
        assertEquals(0, rig.runs.live(), "the lane closed the run");
    }

    @Test
    void aLaneThatDiesBecomesARetryOnAFreshLaneFromTheLastCheckpoint(@TempDir Path dir) {
        FakeRuns runs = new FakeRuns().fault("phoenix", 5, FakeRuns.Fault.KILL_LANE);
        Rig rig = new Rig(kit, runs);
        TestProbe<TrialResult> done = kit.createTestProbe();
        rig.session(Specs.trial("phoenix", 8, 2, 0), rig.plan(1, 1, 1, false), Rig.folder(dir, "phoenix"),
                done.getRef());
        TrialResult r = done.receiveMessage(WAIT);
        assertEquals(TrialResult.Status.FINISHED, r.status(), r.toString());
        assertEquals(2, r.attempts());
        List<TrialEvent> events = eventsUntilEnded(rig.events);
        TrialEvent.Retried retried = events.stream().filter(e -> e instanceof TrialEvent.Retried)
                .map(e -> (TrialEvent.Retried) e).findFirst().orElseThrow();
        assertInstanceOf(Failure.DeviceLost.class, retried.failure());
        List<TrialEvent.Started> starts = events.stream().filter(e -> e instanceof TrialEvent.Started)
                .map(e -> (TrialEvent.Started) e).toList();
        assertEquals(List.of(0L, 4L), starts.stream().map(TrialEvent.Started::resumedAtStep).toList(),
                "the retry continues from the checkpoint at step 4");
        TestProbe<DevicePool.Status> status = kit.createTestProbe();
        rig.pool.tell(new DevicePool.GetStatus(status.getRef()));
        DevicePool.LaneStatus lane = status.receiveMessage().lanes().get(0);
        assertEquals(1, lane.replaced(), "a fresh lane took the dead one's place");
        assertTrue(lane.trials().isEmpty(), "the lease was given back");
        assertEquals(FakeRuns.value("phoenix", 8), PeftAdapters.readTensors(dir.resolve("trials/phoenix/adapter"))
                .get(FakeRuns.KEY).data()[0], "the same adapter as a run that never failed");
    }

    @Test
    void aLaneThatDiesWithNoRetriesLeftFailsTheTrialWithTheReason(@TempDir Path dir) {
        Rig rig = new Rig(kit, new FakeRuns().fault("once", 2, FakeRuns.Fault.KILL_LANE));
        TestProbe<TrialResult> done = kit.createTestProbe();
        rig.session(Specs.trial("once", 4, 0, 0), rig.plan(1, 1, 0, false), Rig.folder(dir, "once"),
                done.getRef());
        TrialResult r = done.receiveMessage(WAIT);
        assertEquals(TrialResult.Status.FAILED, r.status());
        assertInstanceOf(Failure.DeviceLost.class, r.failure());
        assertEquals("lane cpu-0 stopped unexpectedly", r.reason());
        assertEquals(1, eventsUntilEnded(rig.events).stream().filter(e -> e instanceof TrialEvent.Ended).count());
    }

    @Test
    void aDyingInjectorFailsTheWaitingTrialInsteadOfHangingIt(@TempDir Path dir) throws Exception {
        CountDownLatch loading = new CountDownLatch(1);
        CountDownLatch never = new CountDownLatch(1);
        Rig rig = new Rig(kit, new FakeRuns(), (key, spec) -> {
            loading.countDown();
            try {
                never.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return null;
        });
        TestProbe<TrialResult> done = kit.createTestProbe();
        rig.session(Specs.trial("stuck", 4, 0, 0), rig.plan(1, 1, 0, false), Rig.folder(dir, "stuck"),
                done.getRef());
        assertTrue(loading.await(30, TimeUnit.SECONDS));
        kit.stop(rig.injector);
        TrialResult r = done.receiveMessage(WAIT);
        assertEquals(TrialResult.Status.FAILED, r.status());
        assertEquals("the model injector stopped unexpectedly", r.reason());
        never.countDown();
        TestProbe<DevicePool.Status> status = kit.createTestProbe();
        rig.pool.tell(new DevicePool.GetStatus(status.getRef()));
        assertTrue(status.receiveMessage().lanes().get(0).trials().isEmpty(), "the lane was given back");
    }

    @Test
    void anInjectorThatRestartsAnswersWhatWasPending(@TempDir Path dir) throws Exception {
        // a loader that returns nothing for one model makes the injector fail while another trial waits
        CountDownLatch release = new CountDownLatch(1);
        Rig rig = new Rig(kit, new FakeRuns(), (key, spec) -> {
            if (spec.id().equals("slow")) {
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return HfModels.load(Fixtures.tinyLlama("s2").resolve("model"));
        });
        TestProbe<ModelInjector.InjectResult> probe = kit.createTestProbe();
        rig.injector.tell(new ModelInjector.Inject(Specs.trial("slow", 4, 0, 0), "cpu", probe.getRef()));
        ActorRef<ModelInjector.Command> injector = rig.injector;
        crash(injector);
        ModelInjector.InjectFailed f = assertInstanceOf(ModelInjector.InjectFailed.class,
                probe.receiveMessage(WAIT));
        assertEquals("the model injector restarted after a failure", f.failure().message());
        release.countDown();
        injector.tell(new ModelInjector.Inject(Specs.trial("after", 4, 0, 0), "cpu", probe.getRef()));
        ModelInjector.Injected ok = assertInstanceOf(ModelInjector.Injected.class, probe.receiveMessage(WAIT));
        ok.model().release();
    }

    /** Makes the injector's handler throw (its blocking work cannot: it runs in futures), a stand-in for a bug. */
    private static void crash(ActorRef<ModelInjector.Command> injector) {
        // an Inject whose spec is null throws inside the handler (keyOf dereferences it): a stand-in for a bug
        injector.tell(new ModelInjector.Inject(null, "cpu", kit.<ModelInjector.InjectResult>createTestProbe()
                .getRef()));
    }

    @Test
    void outOfMemoryRetriesWithHalfTheBatchAndTwiceTheAccumulation(@TempDir Path dir) {
        Rig rig = new Rig(kit, new FakeRuns().fault("big", 1, FakeRuns.Fault.OUT_OF_MEMORY));
        TestProbe<TrialResult> done = kit.createTestProbe();
        rig.session(Specs.trial("big", 3, 0, 0), rig.plan(1, 1, 0, false), Rig.folder(dir, "big"),
                done.getRef());
        TrialResult r = done.receiveMessage(WAIT);
        assertEquals(TrialResult.Status.FINISHED, r.status(), "max_failures 0, but a back-off is not a failure");
        assertEquals(2, r.attempts());
        TrialEvent.Retried retried = eventsUntilEnded(rig.events).stream()
                .filter(e -> e instanceof TrialEvent.Retried).map(e -> (TrialEvent.Retried) e).findFirst()
                .orElseThrow();
        assertEquals(2, retried.batchSize());
        assertEquals(2, retried.accumulation());
        assertInstanceOf(Failure.OutOfMemory.class, retried.failure());
    }

    @Test
    void cancelWhileWaitingForALaneEndsAtOnceAndWithdrawsTheLease(@TempDir Path dir) {
        Rig rig = new Rig(kit, new FakeRuns().stepMillis(20));
        TestProbe<TrialResult> done = kit.createTestProbe();
        TrialSession.Plan plan = rig.plan(1, 1, 0, false);
        ActorRef<TrialSession.Command> first = rig.session(Specs.trial("first", 10_000, 0, 0), plan,
                Rig.folder(dir, "first"), done.getRef());
        rig.events.fishForMessage(WAIT, e -> e instanceof TrialEvent.Started
                ? org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes.complete()
                : org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes.continueAndIgnore());
        ActorRef<TrialSession.Command> second = rig.session(Specs.trial("second", 4, 0, 0), plan,
                Rig.folder(dir, "second"), done.getRef());
        TestProbe<DevicePool.Status> waiting = kit.createTestProbe();
        waiting.awaitAssert(WAIT, () -> {
            rig.pool.tell(new DevicePool.GetStatus(waiting.getRef()));
            assertEquals(1, waiting.receiveMessage().waiting());
            return null;
        });
        second.tell(new TrialSession.Cancel("sweep cancelled"));
        TrialResult r = done.receiveMessage(WAIT);
        assertEquals("second", r.trialId());
        assertEquals(TrialResult.Status.CANCELLED, r.status());
        assertEquals(0, r.steps());
        TestProbe<DevicePool.Status> status = kit.createTestProbe();
        rig.pool.tell(new DevicePool.GetStatus(status.getRef()));
        assertEquals(0, status.receiveMessage().waiting(), "the waiting lease was withdrawn");
        first.tell(new TrialSession.Cancel("test over"));
        assertEquals(TrialResult.Status.CANCELLED, done.receiveMessage(WAIT).status());
    }

    @Test
    void aFullDiskInterruptsTheTrialInsteadOfFailingIt(@TempDir Path dir) {
        Rig rig = new Rig(kit, new FakeRuns());
        TestProbe<TrialResult> done = kit.createTestProbe();
        // the disk stays full: every attempt meets it, so the retries run out
        TrialFiles full = new Faults().planEveryTime("full", Faults.Kind.DISK_FULL, 3)
                .files(id -> Rig.folder(dir, id)).of("full");
        rig.session(Specs.trial("full", 10, 2, 0), rig.plan(1, 1, 2, false), full, done.getRef());
        TrialResult r = done.receiveMessage(WAIT);
        assertEquals(TrialResult.Status.CANCELLED, r.status(), "resumable, not failed");
        assertInstanceOf(Failure.Storage.class, r.failure());
        assertTrue(r.reason().contains("No space left on device"), r.reason());
        assertEquals(0, rig.runs.live(), "the lane let go of the run");
    }

    @Test
    void aCorruptNewestCheckpointFallsBackToThePreviousOne(@TempDir Path dir) throws IOException {
        Rig rig = new Rig(kit, new FakeRuns().fault("torn", 7, FakeRuns.Fault.EXCEPTION));
        TestProbe<TrialResult> done = kit.createTestProbe();
        rig.session(Specs.trial("torn", 10, 2, 0), rig.plan(1, 1, 0, false), Rig.folder(dir, "torn"),
                done.getRef());
        assertEquals(TrialResult.Status.FAILED, done.receiveMessage(WAIT).status());
        Path checkpoints = dir.resolve("trials/torn/checkpoints");
        Files.writeString(checkpoints.resolve("step-6/optimizer.safetensors"), "torn");
        eventsUntilEnded(rig.events);
        rig.session(Specs.trial("torn", 10, 2, 0), rig.plan(1, 1, 0, true), Rig.folder(dir, "torn"),
                done.getRef());
        TrialResult r = done.receiveMessage(WAIT);
        assertEquals(TrialResult.Status.FINISHED, r.status());
        TrialEvent.Started resumed = eventsUntilEnded(rig.events).stream()
                .filter(e -> e instanceof TrialEvent.Started).map(e -> (TrialEvent.Started) e).findFirst()
                .orElseThrow();
        assertEquals(4, resumed.resumedAtStep(), "step-6 is unreadable: step-4 is the newest good one");
        List<Double> steps = new RunFolder(dir.resolve("trials/torn")).readProgress().stream()
                .filter(m -> m.containsKey("loss")).map(m -> m.get("step")).toList();
        assertEquals(10, steps.size(), "progress.csv holds each step once: " + steps);
    }

    @Test
    void anOwnerThatStopsMakesTheLaneDropItsTrial(@TempDir Path dir) {
        Rig rig = new Rig(kit, new FakeRuns().stepMillis(5));
        TestProbe<TrialResult> done = kit.createTestProbe();
        ActorRef<TrialSession.Command> s = rig.session(Specs.trial("orphan", 100_000, 0, 0), rig.plan(1, 1, 0, false),
                Rig.folder(dir, "orphan"), done.getRef());
        rig.events.fishForMessage(WAIT, e -> e instanceof TrialEvent.Progress
                ? org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes.complete()
                : org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes.continueAndIgnore());
        kit.stop(s);
        TestProbe<DevicePool.Status> status = kit.createTestProbe();
        status.awaitAssert(WAIT, () -> {
            rig.pool.tell(new DevicePool.GetStatus(status.getRef()));
            assertTrue(status.receiveMessage().lanes().get(0).trials().isEmpty());
            assertEquals(0, rig.runs.live(), "the lane closed the orphaned run");
            return null;
        });
    }
}
